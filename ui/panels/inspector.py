"""The inspector: editors generated from the selected node's parameter schema.

The editors come from `ui.widgets.params` (the one place a `Param` becomes a
widget): spin boxes whose arrows keep to the schema's range, combo boxes for choices,
check boxes for flags, and text fields for numbers and tuples (`1e-3`, `3`,
`3, 5`, `same`, `1, 8, 8`). Docs are the tooltips; a value the file sets is
bold. Every change goes through `Document.set_param` (checked by the schema,
undoable; consecutive changes of one field merge into one undo step); a refused
value stays as typed, in red, with the reason under its field. Ctrl+Z after a
committed edit undoes the document's step, also with the focus still in the
field. The id field renames with validation (`Document.rename`). With nothing
selected the inspector edits the graph's name (`Document.set_name`) and
description. A right-click on a number or choice offers "Tune this…": a range
dialog (proposing one around the value) whose answer lands in the graph's
`tune` section as one undo step.

Blocks: a use of a block shows the block's parameters and `repeat`, and an Open
button. Inside an open block, nothing selected shows the block itself (its
name, description and parameters with their defaults, a new parameter's name
and default); a node's value that names a block parameter (`$channels`) shows as
a choice of the block's parameters, and right-clicking a parameter's name
offers to take it from a block parameter (a new one starts with the value).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QAbstractSpinBox, QFrame, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget,
                               QMenu, QPlainTextEdit, QPushButton, QScrollArea, QToolButton, QVBoxLayout, QWidget)

from nodetrainer.graph import GraphEvent
from nodetrainer.schema import Param
from nodetrainer.tune import values as tune_values
from nodetrainer.tune.section import with_range
from nodetrainer.tune.space import suggested_range

from .. import theme
from ..document import Document
from ..editor import commands as cmd
from ..editor.items import fmt_count
from ..widgets.params import ChoiceEdit, ParamForm, TextEdit
from ..widgets.tune_range import RangeDialog

NODE_ID = Param("id", "str", doc="the node's id: a name such as conv1; it becomes the attribute name in generated code")
GRAPH_NAME = Param("name", "str", doc="the graph's name: used for run folders and the exported class")
BLOCK_NAME = Param("block", "str", doc="the block's name: the node type its uses have, and its class in generated code")
NEW_PARAM = Param("new", "str", doc="a new block parameter: its name and default, e.g. channels = 64")


class Inspector(QScrollArea):
    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.node_id: str | None = None
        self.selection_size = 0
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}  # the reason a value was refused, under its field
        self.form: ParamForm | None = None
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._body: QWidget | None = None
        self.graph = document.view
        self._unsubscribe = self.graph.subscribe(self._on_event)
        self._top = document.graph.subscribe(self._on_top_event)
        document.viewChanged.connect(self._view_changed)
        document.validated.connect(self._refresh_status)
        document.loaded.connect(self._loaded)
        self._pending = False
        self.ask_range = RangeDialog.ask  # the range dialog of "Tune this…" (tests answer it themselves)
        self.show_node(None)

    # -- building -------------------------------------------------------------------------
    def show_selection(self, ids: list[str]) -> None:
        self.selection_size = len(ids)
        self.show_node(ids[0] if len(ids) == 1 else None)

    def _view_changed(self) -> None:
        if self.doc.view is not self.graph:
            self._unsubscribe()
            self.graph = self.doc.view
            self._unsubscribe = self.graph.subscribe(self._on_event)
        self.show_node(None)

    def _on_top_event(self, event: GraphEvent) -> None:
        if event.kind == "block_changed" and (self.node_id is None and self.doc.view_block is not None
                                              or self.node_id is not None):
            self._schedule(rebuild=True)  # a block's parameters or name: the forms show them

    def show_node(self, node_id: str | None) -> None:
        if node_id is not None and node_id not in self.graph.nodes:
            node_id = None
        self.node_id = node_id
        self.editors, self.errors, self.form = {}, {}, None
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(10, 10, 10, 10)
        outer.setSpacing(8)
        if node_id is None:
            self._build_graph(outer)
        else:
            self._build_node(outer, node_id)
        outer.addStretch(1)
        self.setWidget(body)
        self._body = body

    def _title(self, layout: QVBoxLayout, text: str, sub: str = "") -> None:
        title = QLabel(text)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        if sub:
            doc = QLabel(sub)
            doc.setWordWrap(True)
            doc.setForegroundRole(doc.foregroundRole())
            doc.setStyleSheet(f"color: {theme.current().muted.name()};")
            layout.addWidget(doc)

    def _build_graph(self, layout: QVBoxLayout) -> None:
        g = self.doc.graph
        if self.selection_size > 1:
            self._title(layout, f"{self.selection_size} nodes selected",
                        "Select one node to edit its parameters. Delete, copy, duplicate, auto-layout and Group into "
                        "block (Ctrl+G) apply to the whole selection.")
            return
        if self.doc.view_block is not None:
            self._build_block(layout, self.doc.view_block)
            return
        self._title(layout, "Graph", "Select a node to edit it. The name is used for run folders and the "
                                     "exported class.")
        form = self._form({})
        name = form.add("name", TextEdit(GRAPH_NAME), "name")
        assert isinstance(name, TextEdit)
        name.set_value(g.name)
        name.setObjectName("graph_name")
        name.edited.connect(self._set_name)
        description = QPlainTextEdit(g.description or "")
        description.setObjectName("graph_description")
        description.setFixedHeight(70)
        description.setTabChangesFocus(True)
        timer = QTimer(description)
        timer.setSingleShot(True)
        timer.setInterval(600)
        timer.timeout.connect(lambda: self._set_description(description))
        description.textChanged.connect(timer.start)
        form.layout_.addRow("description", description)
        self.editors.update(form.editors)
        self.editors["description"] = description
        layout.addWidget(form)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self._refresh_status()

    def _build_block(self, layout: QVBoxLayout, name: str) -> None:
        """The open block: its name, description and parameters (their defaults), and a new parameter."""
        from nodetrainer.blocks import block_param, param_uses
        block = self.doc.graph.blocks[name]
        uses = param_uses(block)
        self._title(layout, f"Block {name}", "Edits here change every use of the block. A node takes a value from "
                                             "a parameter as $name: right-click the value's name to choose one.")
        params = {p: block_param(p, v, f"used as {', '.join(uses.get(p, [])) or 'nothing yet'}")
                  for p, v in block.params.items()}
        form = self._form(params)
        name_edit = form.add("block", TextEdit(BLOCK_NAME), "name", row=0)
        assert isinstance(name_edit, TextEdit)
        name_edit.set_value(name)
        form.set_values(block.params)
        new = form.add("new", TextEdit(NEW_PARAM), "new parameter")
        assert isinstance(new, TextEdit)
        new.setPlaceholderText("name = default, e.g. width = 64")
        form.edited.connect(lambda key, value: self._edit_block(name, key, value))
        self.editors.update(form.editors)
        layout.addWidget(form)
        description = QPlainTextEdit(block.description or "")
        description.setObjectName("block_description")
        description.setPlaceholderText("what the block does (its class's docstring in generated code)")
        description.setFixedHeight(60)
        timer = QTimer(description)
        timer.setSingleShot(True)
        timer.setInterval(600)
        timer.timeout.connect(lambda: self._set_block_description(name, description.toPlainText()))
        description.textChanged.connect(timer.start)
        layout.addWidget(QLabel("description"))
        layout.addWidget(description)
        self.editors["block_description"] = description
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self._refresh_status()

    def _edit_block(self, name: str, key: str, value: Any) -> None:
        assert self.form is not None
        if key == "block":
            problem = self.doc.rename_block(name, (value or "").strip())
        elif key == "new":
            import yaml
            text = (value or "").strip()
            pname, _, default = text.partition("=")
            try:
                parsed = yaml.safe_load(default.strip()) if default.strip() else None
            except yaml.YAMLError:
                parsed = default.strip()
            problem = self.doc.set_block_param(name, pname.strip(), parsed) if text else None
        else:
            problem = self.doc.set_block_param(name, key, value)
        self.form.set_problem(key, problem or "")

    def _set_block_description(self, name: str, text: str) -> None:
        block = self.doc.graph.blocks.get(name)
        new = text if text.strip() else None
        if block is not None and new != block.description:
            self.doc.undo_stack.push(cmd.SetBlock(self.doc.graph, name, block.params, new))

    def _bindable(self, key: str) -> None:
        """Inside a block: right-click a value's name to take it from a block parameter."""
        label = self.form.labels.get(key) if self.form is not None else None
        if label is None or self.doc.view_block is None:
            return
        label.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        label.customContextMenuRequested.connect(lambda pos, k=key, w=label: self._bind_menu(k, w.mapToGlobal(pos)))

    def _bind_menu(self, key: str, at) -> None:
        block = self.doc.graph.blocks[self.doc.view_block]
        menu = QMenu(self)
        for name in block.params:
            menu.addAction(f"${name}", lambda n=name: self._bind(key, n))
        menu.addAction("New block parameter…", lambda: self._bind(key, None))
        menu.exec(at)

    def _bind(self, key: str, name: str | None) -> None:
        if self.node_id is None:
            return
        if name is None:
            name, ok = QInputDialog.getText(self, "New block parameter", f"Name of the parameter for {key}:", text=key)
            if not ok or not name.strip():
                return
        problem = self.doc.use_parameter(self.node_id, key, name.strip())
        if self.form is not None:
            self.form.set_problem(key, problem or "")

    def _form(self, params: dict[str, Param]) -> ParamForm:
        form = ParamForm(params, labels={name: name for name in params})  # the names the file uses
        form.layout_.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.form, self.errors = form, form.errors
        return form

    def _set_name(self, value: str | None) -> None:
        assert self.form is not None
        problem = self.doc.set_name((value or "").strip())
        self.form.set_problem("name", problem or "")

    def _set_description(self, edit: QPlainTextEdit) -> None:
        text = edit.toPlainText()
        old = self.doc.graph.description
        new = text if text.strip() else None
        if new != old:
            self.doc.undo_stack.push(cmd.SetSection(self.doc.graph, "description", old, new))

    def _build_node(self, layout: QVBoxLayout, node_id: str) -> None:
        node = self.graph.nodes[node_id]
        spec = self.graph.spec_of(node)
        is_block = bool(spec and spec.extra.get("block"))
        self._title(layout, f"{'Block ' if is_block else ''}{node.type}", spec.doc if spec else "unknown node type")
        if node.type == "Input" and self.doc.view_block is not None:
            params: dict[str, Param] = {}  # a block's Input takes the caller's tensor
        else:
            params = {p.name: p for p in spec.params} if spec is not None else {}
        refs = {k: v for k, v in node.params.items() if isinstance(v, str) and v.startswith("$")}
        if refs and self.doc.view_block is not None:  # values from block parameters: a choice of them
            names = tuple(f"${n}" for n in self.doc.graph.blocks[self.doc.view_block].params)
            for key in refs:
                if key in params:
                    params[key] = Param(key, "choice", refs[key], params[key].doc + " (a block parameter)",
                                        choices=names or (refs[key],))
        form = self._form(params)
        id_edit = form.add("id", TextEdit(NODE_ID), "id", row=0)
        assert isinstance(id_edit, TextEdit)
        id_edit.set_value(node_id)
        form.edited.connect(lambda key, value: self._rename(value) if key == "id" else self._commit(key, value))
        self.editors.update(form.editors)
        self._add_tune_menus(form)
        layout.addWidget(form)
        for key in params:
            self._bindable(key)
        if is_block:
            button = QPushButton(f"Open block {node.type}")
            button.setObjectName("open_block")
            button.setToolTip("edit the block: a change there changes every use (Esc or the breadcrumb: back)")
            button.clicked.connect(lambda: self.doc.open_block(node.type, via=node_id))
            layout.addWidget(button)
        if spec is not None and spec.multi_input:
            self._build_inputs(layout, node_id)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.status)
        self._load_values()
        self._refresh_status()

    def _build_inputs(self, layout: QVBoxLayout, node_id: str) -> None:
        """The node's inputs in order (Concat joins them in this order), with buttons to reorder."""
        label = QLabel("inputs, in order")
        label.setToolTip("the order of the incoming edges; Concat joins its inputs in this order")
        layout.addWidget(label)
        row = QHBoxLayout()
        inputs = QListWidget()
        inputs.setObjectName("inputs")
        inputs.setMaximumHeight(90)
        inputs.addItems(self.graph.inputs.get(node_id, []))
        buttons = QVBoxLayout()
        for text, delta in (("↑", -1), ("↓", 1)):
            button = QToolButton()
            button.setText(text)
            button.setObjectName("input_up" if delta < 0 else "input_down")
            button.setToolTip("move the selected input " + ("up" if delta < 0 else "down"))
            button.clicked.connect(lambda _c=False, d=delta: self._move_input(d))
            buttons.addWidget(button)
        buttons.addStretch(1)
        row.addWidget(inputs)
        row.addLayout(buttons)
        layout.addLayout(row)
        self.editors["inputs"] = inputs

    def _move_input(self, delta: int) -> None:
        inputs = self.editors.get("inputs")
        if self.node_id is None or not isinstance(inputs, QListWidget) or inputs.currentItem() is None:
            return
        source = inputs.currentItem().text()
        if self.doc.move_input(self.node_id, source, delta):
            self._load_inputs(select=source)

    def _load_inputs(self, select: str | None = None) -> None:
        inputs = self.editors.get("inputs")
        if self.node_id is None or not isinstance(inputs, QListWidget):
            return
        current = select or (inputs.currentItem().text() if inputs.currentItem() else None)
        sources = self.graph.inputs.get(self.node_id, [])
        if [inputs.item(i).text() for i in range(inputs.count())] != sources:
            inputs.clear()
            inputs.addItems(sources)
        for i in range(inputs.count()):
            if inputs.item(i).text() == current:
                inputs.setCurrentRow(i)

    # -- "Tune this…" ----------------------------------------------------------------------
    def _add_tune_menus(self, form: ParamForm) -> None:
        """A right-click on a parameter's field or label offers "Tune this…" (with the field's own edit menu)."""
        for key, editor in form.editors.items():
            if key not in form.params:
                continue
            widgets: list[QWidget] = [editor]
            if self.doc.view_block is None:  # inside a block a label's menu binds it to a block parameter
                widgets.append(form.labels[key])
            if isinstance(editor, QAbstractSpinBox):
                widgets.append(editor.lineEdit())
            for widget in widgets:
                widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
                widget.customContextMenuRequested.connect(
                    lambda pos, k=key, w=widget: self.tune_menu(k, w).exec(w.mapToGlobal(pos)))

    def tune_menu(self, key: str, widget: QWidget | None = None) -> QMenu:
        """The context menu of parameter `key`: the field's own edit actions, then "Tune this…"."""
        edit = widget if isinstance(widget, QLineEdit) else None
        menu = edit.createStandardContextMenu() if edit is not None else QMenu(self)
        menu.setParent(self, menu.windowFlags())
        if menu.actions():
            menu.addSeparator()
        action = menu.addAction("Tune this…")
        action.setObjectName("tune_this")
        path, param, value = self._tuned_value(key)
        space = (self.doc.graph.tune or {}).get("space") or {} if isinstance(self.doc.graph.tune, dict) else {}
        if param is None or suggested_range(param, value) is None:
            action.setEnabled(False)
            action.setText("Tune this… (numbers and choices only)")
        elif path in space:
            action.setText("Tune this… (tuned: edit its range)")
        action.triggered.connect(lambda _c=False: self.tune_param(key))
        return menu

    def _tuned_value(self, key: str) -> tuple[str, Param | None, Any]:
        """The tune path of the selected node's `key` (inside an open block, the block's node for every use),
        the Param that checks it (None when it cannot be tuned) and its value now."""
        block = self.doc.view_block
        path = f"blocks.{block}.nodes.{self.node_id}.{key}" if block else f"nodes.{self.node_id}.{key}"
        try:
            return path, tune_values.param_for(self.doc.graph, path), tune_values.get_value(self.doc.graph, path)
        except tune_values.PathError:
            return path, None, None

    def tune_param(self, key: str) -> bool:
        """Asks for the range the selected node's `key` is tuned over and puts it in the graph's tune section
        (one undo step); False when cancelled."""
        graph = self.doc.graph
        if self.node_id is None:
            return False
        path, param, value = self._tuned_value(key)
        if param is None:
            return False
        space = (graph.tune or {}).get("space") or {} if isinstance(graph.tune, dict) else {}
        initial = space.get(path) if isinstance(space.get(path), dict) else suggested_range(param, value)
        rng = self.ask_range(self, graph, path, param, initial)
        if rng is None:
            return False
        self.doc.undo_stack.push(cmd.SetSection(graph, "tune", graph.tune, with_range(graph.tune, path, rng)))
        self.doc.message.emit(f"{path} will be tuned: run the study from the Training dock's Tune tab")
        return True

    # -- values --------------------------------------------------------------------------
    def _load_values(self) -> None:
        """Show the node's current values (without sending edits back)."""
        if self.node_id is None:
            return
        node = self.graph.nodes[self.node_id]
        spec = self.graph.spec_of(node)
        if spec is None:
            return
        assert self.form is not None
        self.form.set_values(node.params)

    def _load_graph_values(self) -> None:
        g = self.doc.graph
        name, description = self.editors.get("name"), self.editors.get("description")
        if isinstance(name, TextEdit):
            name.set_value(g.name)
        if isinstance(description, QPlainTextEdit) and description.toPlainText() != (g.description or ""):
            description.blockSignals(True)
            description.setPlainText(g.description or "")
            description.blockSignals(False)

    def _commit(self, key: str, value: Any) -> None:
        if self.node_id is None:
            return
        problem = self.doc.set_param(self.node_id, key, value)
        if self.form is not None:
            self.form.set_problem(key, problem or "")

    def _rename(self, value: str | None) -> None:
        if self.node_id is None or self.form is None:
            return
        problem = self.doc.rename(self.node_id, (value or "").strip())
        self.form.set_problem("id", problem or "")

    def _loaded(self) -> None:
        self.show_node(None)

    def _refresh_status(self, *_args) -> None:
        status = getattr(self, "status", None)
        if status is None:
            return
        try:
            status.objectName()
        except RuntimeError:  # deleted with an old body
            return
        doc = self.doc
        if self.node_id is None and doc.view_block is not None:
            result = self._shown_result()
            total = result.total() if result is not None else None
            uses = sum(len(g.uses_of(doc.view_block)) for g in [doc.graph] + [b.body for b in doc.graph.blocks.values()])
            status.setText(f"{len(self.graph.nodes)} nodes · used {uses} time{'s' * (uses != 1)}"
                           + (f" · {total.params:,} parameters in the use shown" if total else ""))
            return
        if self.node_id is None:
            g = doc.graph
            count = len(doc.problems)
            summary = doc.summary()
            if not g.nodes:
                status.setText("An empty graph: add nodes from the palette to start.")
                return
            parts = [f"{len(g.nodes)} nodes, {len(g.edges())} edges",
                     f"{fmt_count(summary.total_params)} parameters" if summary.rows else "",
                     "valid" if not count else f"{count} problem" + "s" * (count != 1)]
            status.setText(" · ".join(p for p in parts if p))
            return
        from nodetrainer.blocks import problem_nodes
        scene_result = self._shown_result()
        tensor = scene_result.tensors.get(self.node_id) if scene_result is not None else None
        lines = []
        if tensor is not None:
            lines.append("output: <b>" + "×".join(str(d) for d in tensor.shape) + f"</b> {tensor.dtype}")
            cost = scene_result.cost(self.node_id)
            lines.append(f"parameters: {cost.params:,} · multiply-adds: {fmt_count(cost.macs)}")
        color = theme.current().error.name()
        for problem in doc.problems:
            if self.node_id in problem_nodes(problem, doc.graph, doc.view_block, doc.view_path):
                where = f"{problem.node}: " if problem.node and problem.node != self.node_id else ""
                text = (where + problem.message).replace("&", "&amp;").replace("<", "&lt;")
                lines.append(f"<span style='color:{color}'>⚠ {text}</span>")
        status.setText("<br>".join(lines))

    def _shown_result(self):
        doc = self.doc
        if doc.view_block is None:
            return doc.report.shapes
        instance = doc.report.shapes.instance(doc.view_path) if doc.view_path else None
        if instance is None or instance.graph is not self.graph:
            instance = doc.report.shapes.first_instance(doc.view_block)
        return instance

    # -- following the model --------------------------------------------------------------
    def _on_event(self, event: GraphEvent) -> None:
        if event.kind == "replaced":
            self.node_id = None
            self._schedule(rebuild=True)
        elif self.node_id is None:
            if event.kind == "settings_changed":
                self._load_graph_values()
        elif event.kind == "node_renamed" and event.other == self.node_id:
            self.node_id = event.node
            edit = self.editors.get("id")
            if isinstance(edit, TextEdit):
                edit.set_value(event.node)
        elif event.kind == "node_removed" and event.node == self.node_id:
            self.node_id = None
            self._schedule(rebuild=True)
        elif event.kind == "node_changed" and event.node == self.node_id:
            self._load_values()
        elif event.kind in ("edge_added", "edge_removed", "node_renamed") and "inputs" in self.editors:
            self._load_inputs()

    def _schedule(self, rebuild: bool) -> None:
        if not self._pending:
            self._pending = True
            QTimer.singleShot(0, self._rebuild_now)

    def _rebuild_now(self) -> None:
        self._pending = False
        self.show_node(self.node_id)
