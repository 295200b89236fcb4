"""The inspector: editors generated from the selected node's parameter schema.

Each `Param` kind gets a widget: spin boxes bounded by the schema's range, combo
boxes for choices, check boxes for flags, and a text field for tuples (`3`,
`3, 5`, `same`, `1, 8, 8`). Docs are the tooltips. Every change goes through
`Document.set_param` (checked by the schema, undoable; consecutive changes of
one field merge into one undo step); a refused value is shown under its field.
The id field renames with validation. With nothing selected the inspector edits
the graph's name and description.
"""
from __future__ import annotations

import math
from typing import Any

import yaml
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QPlainTextEdit, QScrollArea, QSpinBox,
                               QToolButton, QVBoxLayout, QWidget)

from nodetrainer.graph import GraphEvent
from nodetrainer.graphfile import NAME_RE
from nodetrainer.schema import Param

from .. import theme
from ..document import Document
from ..editor import commands as cmd
from ..editor.items import fmt_count

INT_MAX = 2**31 - 1


class FloatBox(QDoubleSpinBox):
    """A spin box that shows floats the way a person writes them (0.001, 1e-05), not with fixed decimals."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setDecimals(12)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        from PySide6.QtGui import QValidator
        stripped = text.strip()
        if stripped in ("", "-", ".", "-.", "e", "1e") or stripped.endswith(("e", "e-", "E", "E-")):
            return QValidator.State.Intermediate, text, pos
        try:
            float(stripped)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            return QValidator.State.Invalid, text, pos


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_text_of(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_tuple(text: str, kind: str) -> Any:
    """'3' -> 3, '3, 5' -> [3, 5], 'same' -> 'same', '' -> None; lists for ints/floats kinds."""
    text = text.strip().strip("[]()")
    if not text:
        return None
    try:
        value = yaml.safe_load(f"[{text}]")
    except yaml.YAMLError:
        return text
    if kind in ("size", "padding") and isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


class Inspector(QScrollArea):
    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.node_id: str | None = None
        self.selection_size = 0
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._body: QWidget | None = None
        self._unsubscribe = document.graph.subscribe(self._on_event)
        document.validated.connect(self._refresh_status)
        document.loaded.connect(self._loaded)
        self._pending = False
        self.show_node(None)

    # -- building -------------------------------------------------------------------------
    def show_selection(self, ids: list[str]) -> None:
        self.selection_size = len(ids)
        self.show_node(ids[0] if len(ids) == 1 else None)

    def show_node(self, node_id: str | None) -> None:
        if node_id is not None and node_id not in self.doc.graph.nodes:
            node_id = None
        self.node_id = node_id
        self.editors.clear()
        self.errors.clear()
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
                        "Select one node to edit its parameters. Delete, copy, duplicate and auto-layout apply to "
                        "the whole selection.")
            return
        self._title(layout, "Graph", "Select a node to edit it. The name is used for run folders and the "
                                     "exported class.")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        name = QLineEdit(g.name)
        name.setObjectName("graph_name")
        name.editingFinished.connect(lambda: self._set_name(name))
        form.addRow("name", name)
        self.editors["name"] = name
        self._error_row(form, "name")
        description = QPlainTextEdit(g.description or "")
        description.setObjectName("graph_description")
        description.setFixedHeight(70)
        description.setTabChangesFocus(True)
        timer = QTimer(description)
        timer.setSingleShot(True)
        timer.setInterval(600)
        timer.timeout.connect(lambda: self._set_description(description))
        description.textChanged.connect(timer.start)
        form.addRow("description", description)
        self.editors["description"] = description
        layout.addLayout(form)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self._refresh_status()

    def _set_name(self, edit: QLineEdit) -> None:
        text = edit.text().strip()
        if text == self.doc.graph.name:
            self._show_error("name", "")
            return
        if not NAME_RE.match(text):
            self._show_error("name", "up to 64 letters, digits, spaces, '_', '-' or '.', starting with a letter or digit")
            return
        self._show_error("name", "")
        self.doc.undo_stack.push(cmd.SetSection(self.doc.graph, "name", self.doc.graph.name, text))

    def _set_description(self, edit: QPlainTextEdit) -> None:
        text = edit.toPlainText()
        old = self.doc.graph.description
        new = text if text.strip() else None
        if new != old:
            self.doc.undo_stack.push(cmd.SetSection(self.doc.graph, "description", old, new))

    def _build_node(self, layout: QVBoxLayout, node_id: str) -> None:
        node = self.doc.graph.nodes[node_id]
        spec = node.spec
        self._title(layout, f"{node.type}", spec.doc if spec else "unknown node type")
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        id_edit = QLineEdit(node_id)
        id_edit.setObjectName("id")
        id_edit.setToolTip("the node's id: a name such as conv1; it becomes the attribute name in generated code")
        id_edit.editingFinished.connect(lambda: self._rename(id_edit))
        form.addRow("id", id_edit)
        self.editors["id"] = id_edit
        self._error_row(form, "id")
        if spec is not None:
            for param in spec.params:
                if not param.editable:
                    continue
                widget = self._editor(param)
                widget.setObjectName(param.name)
                widget.setToolTip(param.doc)
                label = QLabel(param.name + (" *" if param.required else ""))
                label.setToolTip(param.doc + (" (required)" if param.required else f" (default: {_text_of(param.default) or 'none'})"))
                form.addRow(label, widget)
                self.editors[param.name] = widget
                self._error_row(form, param.name)
        layout.addLayout(form)
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
        inputs.addItems(self.doc.graph.inputs.get(node_id, []))
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
        sources = self.doc.graph.inputs.get(self.node_id, [])
        if [inputs.item(i).text() for i in range(inputs.count())] != sources:
            inputs.clear()
            inputs.addItems(sources)
        for i in range(inputs.count()):
            if inputs.item(i).text() == current:
                inputs.setCurrentRow(i)

    def _error_row(self, form: QFormLayout, key: str) -> None:
        label = QLabel()
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {theme.current().error.name()};")
        label.hide()
        form.addRow("", label)
        self.errors[key] = label

    def _show_error(self, key: str, message: str) -> None:
        label = self.errors.get(key)
        if label is not None:
            label.setText(message)
            label.setVisible(bool(message))

    def _editor(self, param: Param) -> QWidget:
        name = param.name
        if param.kind in ("int", "int_or_null"):
            box = QSpinBox()
            lo = int(param.lo) + (1 if param.lo_open else 0) if param.lo is not None else -INT_MAX
            hi = int(param.hi) - (1 if param.hi_open else 0) if param.hi is not None else INT_MAX
            if param.kind == "int_or_null" or param.required:
                lo -= 1
                box.setSpecialValueText("none" if param.kind == "int_or_null" else "required")
            box.setRange(lo, hi)
            box.setKeyboardTracking(False)
            box.setAccelerated(True)
            box.valueChanged.connect(lambda v, b=box, p=param: self._commit(
                p.name, None if (b.specialValueText() and v == b.minimum()) else v))
            return box
        if param.kind == "float":
            box = FloatBox()
            lo = param.lo if param.lo is not None else -1e12
            hi = param.hi if param.hi is not None else 1e12
            box.setRange(lo, hi)
            box.setKeyboardTracking(False)
            box.valueChanged.connect(lambda v, p=param: self._commit(p.name, v))
            return box
        if param.kind == "bool":
            check = QCheckBox()
            check.toggled.connect(lambda v, p=param: self._commit(p.name, bool(v)))
            return check
        if param.kind == "choice":
            combo = QComboBox()
            for choice in param.choices:
                combo.addItem(str(choice), choice)
            combo.activated.connect(lambda i, c=combo, p=param: self._commit(p.name, c.itemData(i)))
            return combo
        edit = QLineEdit()
        hints = {"size": "e.g. 3 or 3, 5", "padding": "e.g. 1, 1, 2 or same", "ints": "e.g. 1, 8, 8",
                 "floats": "e.g. 0.9, 0.999", "str": ""}
        placeholder = hints.get(param.kind, "")
        if not param.required and param.default is not None:
            placeholder = f"default: {_text_of(param.default)}"
        elif not param.required:
            placeholder = "default"
        edit.setPlaceholderText(placeholder)
        if param.kind == "str":
            edit.editingFinished.connect(lambda e=edit, p=param: self._commit(p.name, e.text() or None))
        else:
            edit.editingFinished.connect(lambda e=edit, p=param: self._commit(p.name, parse_tuple(e.text(), p.kind)))
        return edit

    # -- values --------------------------------------------------------------------------
    def _load_values(self) -> None:
        """Show the node's current values (without sending edits back)."""
        if self.node_id is None:
            return
        node = self.doc.graph.nodes[self.node_id]
        spec = node.spec
        if spec is None:
            return
        values = node.resolved()
        for param in spec.params:
            widget = self.editors.get(param.name)
            if widget is None:
                continue
            value = values.get(param.name)
            widget.blockSignals(True)
            try:
                if isinstance(widget, QSpinBox):
                    widget.setValue(widget.minimum() if value is None or not isinstance(value, int) else value)
                elif isinstance(widget, QDoubleSpinBox):
                    widget.setValue(float(value) if isinstance(value, (int, float)) else 0.0)
                elif isinstance(widget, QCheckBox):
                    widget.setChecked(bool(value))
                elif isinstance(widget, QComboBox):
                    index = widget.findData(value)
                    widget.setCurrentIndex(max(index, 0))
                elif isinstance(widget, QLineEdit):
                    shown = _text_of(node.params.get(param.name)) if param.name in node.params else (
                        "" if not param.required else "")
                    if widget.text() != shown:
                        widget.setText(shown)
                font = QFont(widget.font())
                font.setBold(param.name in node.params)
                widget.setFont(font)
            finally:
                widget.blockSignals(False)

    def _load_graph_values(self) -> None:
        g = self.doc.graph
        name, description = self.editors.get("name"), self.editors.get("description")
        if isinstance(name, QLineEdit) and name.text() != g.name:
            name.setText(g.name)
        if isinstance(description, QPlainTextEdit) and description.toPlainText() != (g.description or ""):
            description.blockSignals(True)
            description.setPlainText(g.description or "")
            description.blockSignals(False)

    def _commit(self, key: str, value: Any) -> None:
        if self.node_id is None:
            return
        problem = self.doc.set_param(self.node_id, key, value)
        self._show_error(key, problem or "")

    def _rename(self, edit: QLineEdit) -> None:
        if self.node_id is None:
            return
        new = edit.text().strip()
        problem = self.doc.rename(self.node_id, new)
        self._show_error("id", problem or "")

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
        if self.node_id is None:
            g = doc.graph
            count = len(doc.problems)
            summary = doc.summary()
            parts = [f"{len(g.nodes)} nodes, {len(g.edges())} edges",
                     f"{fmt_count(summary.total_params)} parameters" if summary.rows else "",
                     "valid" if not count else f"{count} problem" + "s" * (count != 1)]
            status.setText(" · ".join(p for p in parts if p))
            return
        tensor = doc.report.shapes.tensors.get(self.node_id)
        lines = []
        if tensor is not None:
            lines.append("output: <b>" + "×".join(str(d) for d in tensor.shape) + f"</b> {tensor.dtype}")
            row = next((r for r in doc.summary().rows if r.id == self.node_id), None)
            if row is not None:
                lines.append(f"parameters: {row.params:,} · multiply-adds: {fmt_count(row.macs)}")
        color = theme.current().error.name()
        for problem in doc.problems:
            if problem.node == self.node_id:
                text = problem.message.replace("&", "&amp;").replace("<", "&lt;")
                lines.append(f"<span style='color:{color}'>⚠ {text}</span>")
        status.setText("<br>".join(lines))

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
            if edit is not None:
                edit.setText(event.node)
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
