"""The open document: one Graph, its undo stack, its file, and its latest validation report.

Every edit the editor offers is a method here that checks the edit with the
core (e.g. `Graph.connection_problem`), then pushes QUndoCommands that call the
Graph's methods. A refused edit emits `refused` with the reason, which the window
shows in its status bar. Views never edit the graph directly: they observe it
(`graph.subscribe`) and this object's `validated` signal, which carries the
report of `nodetrainer.validate.check_graph` after every undo-stack step, so the
editor shows exactly what `nodetrainer check` would say.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from nodetrainer import placement
from nodetrainer.autolayout import VIEW, layered_layout, layout_missing
from nodetrainer.errors import GraphError, Problem
from nodetrainer.fragments import Fragment, copy_fragment, parse_fragment
from nodetrainer.graph import Graph, GraphEvent, id_problem
from nodetrainer.graph import name_problem
from nodetrainer.graphfile import dump_graph, read_graph, save_graph
from nodetrainer.layers import REGISTRY
from nodetrainer.summary import Summary, summarize
from nodetrainer.templates import id_stem, starter_graph, starter_params, template_fragment
from nodetrainer.validate import Report, check_graph, check_settings

from .editor import commands as cmd

GRID = 10


def snap(pos: tuple[float, float]) -> tuple[float, float]:
    return (float(round(pos[0] / GRID) * GRID), float(round(pos[1] / GRID) * GRID))


class Document(QObject):
    validated = Signal(object)  # Report
    refused = Signal(str)  # why an edit was not made
    message = Signal(str)  # what an edit did, for the status bar
    loaded = Signal()  # a different graph was opened (or New)
    pathChanged = Signal()
    viewChanged = Signal()  # a block was opened, or the view went back (see `view`, `breadcrumb`)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.graph = starter_graph()
        self.view = self.graph  # the graph being edited: the file's, or the body of an open block
        self.trail: list[tuple[str, str | None]] = []  # open blocks: (block, the use it was opened from)
        self.undo_stack = QUndoStack(self)
        self.path: Path | None = None
        self.origin: Path | None = None  # the file a recovered, broken or example document came from
        self.origin_label = "not saved"
        self.read_problems: list[Problem] = []
        self.report: Report = Report()
        self._summary: Summary | None = None
        self._stale = True
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.revalidate)
        self.graph.subscribe(self._on_event)
        self.undo_stack.indexChanged.connect(self._on_step)
        self.revalidate()

    # -- validation ---------------------------------------------------------------
    def _on_event(self, event: GraphEvent) -> None:
        if event.kind == "replaced" and (self.trail or self.view is not self.graph):
            self.close_to(0) if self.trail else self._set_view()
        elif event.kind == "block_changed" and self.trail:
            self._keep_view(event)
        if self.read_problems and event.kind in ("node_changed", "node_removed", "node_renamed"):
            # a problem found reading a node is settled once the user edits, deletes or renames that node
            gone = {event.node, event.other}
            self.read_problems = [p for p in self.read_problems if p.node is None or p.node not in gone]
        if event.kind != "moved":
            self._stale = True
            self._summary = None
            if not self._timer.isActive():
                self._timer.start()

    def _on_step(self, _index: int) -> None:
        if self._stale:
            self.revalidate()

    def revalidate(self) -> Report:
        """Run the one validation path now and tell the views."""
        self._timer.stop()
        self.report = check_graph(self.graph)
        self._stale = False
        self._summary = None
        self.validated.emit(self.report)
        return self.report

    @property
    def problems(self) -> list[Problem]:
        """Everything wrong: problems found reading the file (until it is saved, or their node is edited),
        then validation's, without repeating one both found. An empty graph is not started rather than
        wrong: its missing Input and Output are not listed (the canvas shows how to begin; training it
        still reports them)."""
        if self.is_empty:
            return self.read_problems + [p for p in check_settings(self.graph) if p not in self.read_problems]
        if not self.read_problems:
            return self.report.problems
        seen = {(p.line, p.node, p.message) for p in self.read_problems}
        return self.read_problems + [p for p in self.report.problems if (p.line, p.node, p.message) not in seen]

    @property
    def is_empty(self) -> bool:
        """No nodes yet: a new graph (or everything deleted)."""
        return not self.graph.nodes

    def summary(self) -> Summary:
        if self._stale:
            self.revalidate()
        if self._summary is None:
            self._summary = summarize(self.graph, self.report, partial=True)
        return self._summary

    # -- files --------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def load(self, graph: Graph | None, path: Path | None, problems: Iterable[Problem] = (),
             modified: bool = False) -> None:
        """Show `graph` (None: a new graph, with the starting data and training sections) as the document;
        `path` is where Save writes."""
        graph = graph or starter_graph()
        graph.layout.update(layout_missing(graph))
        for block in graph.blocks.values():  # a block's body opens laid out too
            block.body.layout.update(layout_missing(block.body))
        self.undo_stack.clear()
        self.read_problems = list(problems)
        self.trail = []
        self.graph.replace_with(graph)
        self.graph.path = path
        self.path = path
        self.origin = None
        self.origin_label = "not saved"
        self.undo_stack.setClean()
        if modified:
            self.undo_stack.resetClean()
        self.revalidate()
        self.loaded.emit()
        self.pathChanged.emit()

    def new(self) -> None:
        self.load(None, None)

    def open(self, path: str | Path, bind: bool = True) -> list[Problem]:
        """Open a graph file. A file with problems opens as far as it can be read, unbound from its path
        (Save asks where), and its problems are listed; returns them. With `bind` false (an example),
        the document is a copy: Save asks where."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems = [Problem(f"cannot read the file: {exc.strerror or exc}", str(path))]
            return problems
        graph, problems = read_graph(data, str(path))
        if graph is not None and not problems:
            self.load(graph, path if bind else None)
            if not bind:
                self.origin, self.origin_label = path, "example"
                self.pathChanged.emit()
        else:
            self.load(graph, None, problems)
            self.origin = path
            self.pathChanged.emit()
        return problems

    def load_text(self, text: str, path: Path | None, origin: Path | None = None, modified: bool = True) -> list[Problem]:
        """Open graph text (a recovery file); bound to `path`, marked modified."""
        graph, problems = read_graph(text, str(path) if path else None)
        self.load(graph, path if not problems else None, problems, modified=modified)
        self.origin = origin
        self.pathChanged.emit()
        return problems

    def text(self) -> str:
        return dump_graph(self.graph)

    def save(self, path: str | Path | None = None) -> Path:
        """Save atomically to `path` (default: the document's own); the document then belongs to it."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise GraphError("the document has no file yet; use Save As")
        self.graph.path = target
        save_graph(self.graph, target)
        saved, _ = read_graph(dump_graph(self.graph), str(target))
        if saved is not None:  # problems now point at lines of the file just written
            self.graph.lines = saved.lines
        self.path = target
        self.origin = None
        self.read_problems = []
        self.undo_stack.setClean()
        self.revalidate()
        self.pathChanged.emit()
        return target

    @property
    def display_name(self) -> str:
        if self.path is not None:
            return self.path.name
        if self.origin is not None:
            return f"{self.origin.name} ({self.origin_label})"
        return "untitled"

    # -- blocks: the view -------------------------------------------------------------------------
    @property
    def view_block(self) -> str | None:
        """The block being edited, or None at the file's top level."""
        return self.trail[-1][0] if self.trail else None

    @property
    def view_path(self) -> tuple[str, ...]:
        """The uses that lead to the open block's instance shown (shapes and counts come from it)."""
        path = []
        for _block, use in self.trail:
            if use is None:
                return ()
            path.append(use)
        return tuple(path)

    def breadcrumb(self) -> list[str]:
        """What the view shows, from the top: the graph's name, then each open block (and its use)."""
        return [self.graph.name] + [f"{use}: {block}" if use else block for block, use in self.trail]

    def open_block(self, name: str, via: str | None = None) -> bool:
        """Edit block `name` (opened from the use `via` in the current view, whose shapes it then shows)."""
        if name not in self.graph.blocks:
            self.refused.emit(f"No block named '{name}'")
            return False
        if via is not None and (via not in self.view.nodes or self.view.nodes[via].type != name):
            via = None
        self.trail.append((name, via))
        self._set_view()
        return True

    def close_to(self, depth: int = 0) -> None:
        """Go back to the breadcrumb's level `depth` (0: the file's top level)."""
        if depth < len(self.trail):
            del self.trail[depth:]
            self._set_view()

    def _set_view(self) -> None:
        self.view = self.graph.blocks[self.trail[-1][0]].body if self.trail else self.graph
        if self.view is not self.graph:
            self.view.layout.update(layout_missing(self.view))  # a block made elsewhere opens laid out
        self.viewChanged.emit()

    def _keep_view(self, event: GraphEvent) -> None:
        """After a change of blocks: the open blocks that still exist stay open, a renamed one followed."""
        if event.other is not None:  # renamed
            self.trail = [(event.node if b == event.other else b, u) for b, u in self.trail]
        for depth, (name, _use) in enumerate(self.trail):
            if name not in self.graph.blocks:
                self.close_to(depth)
                return
        if self.view is not self.graph.blocks[self.trail[-1][0]].body:
            self._set_view()

    # -- blocks: edits ------------------------------------------------------------------------------
    def group(self, ids: Iterable[str], name: str | None = None) -> str | None:
        """Group the nodes `ids` of the view into a new block, used where they were; one undo step.
        Returns the new use's id."""
        from nodetrainer.grouping import group_plan, use_values
        try:
            plan = group_plan(self.view, list(ids), name)
        except GraphError as exc:
            self.refused.emit(f"Cannot group: {exc}")
            return None
        g = self.view
        with self._macro(f"Group into block {plan.block.name}"):
            self._push(cmd.AddBlock(self.graph, plan.block))
            for node_id in reversed(plan.removed):
                self._push(cmd.RemoveNode(g, node_id))
            self._push(cmd.AddNode(g, plan.use, plan.block.name, use_values(plan), plan.position, plan.index))
            for source in plan.sources:
                self._push(cmd.Connect(g, source, plan.use))
            for consumer, index in plan.consumers:
                self._push(cmd.Connect(g, plan.use, consumer, index))
        self.message.emit(f"Grouped {len(plan.removed)} nodes into block {plan.block.name}; double-click "
                          f"{plan.use} to open it")
        return plan.use

    def ungroup(self, use_id: str) -> list[str] | None:
        """Replace a use of a block by the block's nodes (the block goes too when nothing else uses it);
        one undo step. Returns the new ids."""
        from nodetrainer.grouping import ungroup_plan
        try:
            plan = ungroup_plan(self.view, use_id)
        except GraphError as exc:
            self.refused.emit(f"Cannot ungroup: {exc}")
            return None
        g = self.view
        block = g.nodes[use_id].type
        with self._macro(f"Ungroup {use_id}"):
            self._push(cmd.RemoveNode(g, use_id))
            for node_id, node_type, params, position in plan.nodes:
                self._push(cmd.AddNode(g, node_id, node_type, params, position))
            for source, target in plan.edges:
                self._push(cmd.Connect(g, source, target))
            for source, consumer, index in plan.outputs:
                self._push(cmd.Connect(g, source, consumer, index))
            if plan.block_unused:
                self._push(cmd.RemoveBlock(self.graph, block))
        return [n for n, *_ in plan.nodes]

    def set_block_param(self, block: str, key: str, value: Any) -> str | None:
        """Set a block parameter's default (adding the parameter when it is new); the reason when refused."""
        problem, value = self._block_param_problem(block, key, value)
        if problem:
            return problem
        b = self.graph.blocks[block]
        if key in b.params and _same(b.params[key], value):
            return None
        self._push(cmd.SetBlock(self.graph, block, {**b.params, key: value}, b.description,
                                f"Edit block {block}.{key}"))
        return None

    def _block_param_problem(self, block: str, key: str, value: Any) -> tuple[str | None, Any]:
        """(why `value` cannot be `key`'s default in `block`, or None; the value as checked)."""
        from nodetrainer.blocks import block_param, default_problem
        b = self.graph.blocks.get(block)
        if b is None:
            return f"no block named '{block}'", value
        if key not in b.params:
            problem = id_problem(key)
            if problem is None and key in ("type", "repeat"):
                problem = f"'{key}' cannot name a block parameter"
            if problem:
                return problem.replace("node id", "parameter name"), value
        else:
            try:
                value = block_param(key, b.params[key]).check(value)
            except ValueError as exc:
                return str(exc), value
        return default_problem(key, value), value

    def remove_block_param(self, block: str, key: str) -> str | None:
        from nodetrainer.blocks import param_uses
        b = self.graph.blocks.get(block)
        if b is None or key not in b.params:
            return f"block {block} has no parameter '{key}'"
        used = param_uses(b).get(key)
        if used:
            return f"${key} is used by {', '.join(used)}; give those a value first"
        self._push(cmd.SetBlock(self.graph, block, {k: v for k, v in b.params.items() if k != key}, b.description))
        return None

    def rename_block(self, old: str, new: str) -> str | None:
        from nodetrainer.graph import block_name_problem
        if old == new:
            return None
        problem = block_name_problem(new, self.graph)
        if problem:
            return problem
        self._push(cmd.RenameBlock(self.graph, old, new))
        return None

    def use_parameter(self, node_id: str, key: str, name: str) -> str | None:
        """Inside an open block: give a node's `key` the block parameter `name` (`$name`); a new parameter
        starts with the node's current value as its default. One undo step."""
        block = self.view_block
        if block is None:
            return "open a block to give its nodes parameters"
        node = self.view.nodes.get(node_id)
        spec = self.view.spec_of(node) if node is not None else None
        if spec is None or key not in spec.param_map:
            return f"{node_id} has no parameter '{key}'"
        b = self.graph.blocks[block]
        current = None
        if name not in b.params:
            problem, current = self._block_param_problem(block, name, self.view.resolved(node).get(key))
            if problem:
                return problem
        with self._macro(f"{node_id}.{key} = ${name}"):
            if name not in b.params:
                self._push(cmd.SetBlock(self.graph, block, {**b.params, name: current}, b.description))
            self._push(cmd.SetParams(self.view, node_id, node.params, {**node.params, key: f"${name}"}, key))
        return None

    # -- edits --------------------------------------------------------------------
    def _push(self, command) -> None:
        self.undo_stack.push(command)

    def _macro(self, text: str):
        stack = self.undo_stack

        class _Macro:
            def __enter__(self_inner):
                stack.beginMacro(text)

            def __exit__(self_inner, *exc):
                stack.endMacro()
                return False

        return _Macro()

    def new_id(self, node_type: str) -> str:
        stem = id_stem(node_type)
        return self.view.unused_id(stem if node_type in ("Input", "Output") else f"{stem}1")

    def _use_problem(self, node_type: str) -> str | None:
        """Why a use of `node_type` cannot go into the open block (a block may not use itself), or None."""
        block = self.view_block
        if block is None or node_type not in self.graph.blocks:
            return None
        from nodetrainer.blocks import _reaches
        if node_type == block or _reaches(self.graph, node_type, block):
            return f"Block {block} cannot use {node_type}: {node_type} would then use itself"
        return None

    def add_node(self, node_type: str, position: tuple[float, float], params: dict[str, Any] | None = None,
                 node_id: str | None = None, connect_from: str | None = None,
                 connect_to: str | None = None, beside_source: bool = True) -> str | None:
        """Add a node (with starter parameters); optionally fed from `connect_from` or feeding `connect_to`
        (where the model allows it). Fed from a node, it goes beside it (see `placement.after`) unless
        `beside_source` is false; otherwise to the free spot nearest `position`. Returns its id."""
        if self.view.spec_of(node_type) is None:
            self.refused.emit(f"Unknown node type '{node_type}'")
            return None
        problem = self._use_problem(node_type)
        if problem:
            self.refused.emit(problem)
            return None
        node_id = node_id or self.new_id(node_type)
        if params is None:
            params = starter_params(node_type) if node_type in REGISTRY else {}
        link = (connect_from, node_id) if connect_from in self.view.nodes else (
            (node_id, connect_to) if connect_to in self.view.nodes else None)
        if beside_source and connect_from in self.view.nodes and self.view.layout.get(connect_from) is not None:
            position, room = placement.after(self.view, connect_from)
        else:
            position, room = placement.free_position(self.view.layout, snap(position)), {}
        with self._macro(f"Add {node_id}"):
            self._make_room(room)
            self._push(cmd.AddNode(self.view, node_id, node_type, params, position))
            if link is not None:
                problem = self.view.connection_problem(*link)
                if problem is None:
                    self._push(cmd.Connect(self.view, *link))
                else:
                    self.refused.emit(f"Added {node_id} but did not connect {link[0]} → {link[1]}: {problem}")
        return node_id

    def _make_room(self, positions: dict[str, tuple[float, float]]) -> None:
        """Move nodes to where placement put them (already on the grid), inside the caller's macro."""
        moves = {n: (self.view.layout.get(n), p) for n, p in positions.items()
                 if n in self.view.nodes and self.view.layout.get(n) != p}
        if moves:
            self._push(cmd.Move(self.view, moves))

    def connect(self, source: str, target: str) -> bool:
        problem = self.view.connection_problem(source, target)
        if problem:
            self.refused.emit(f"Cannot connect {source} → {target}: {problem}")
            return False
        self._push(cmd.Connect(self.view, source, target))
        return True

    def move_input(self, node_id: str, source: str, delta: int) -> bool:
        """Move `source` up (-1) or down (+1) among `node_id`'s inputs (the order Concat joins them in)."""
        sources = self.view.inputs.get(node_id, [])
        if source not in sources:
            return False
        index = sources.index(source)
        new = index + delta
        if not 0 <= new < len(sources) or new == index:
            return False
        with self._macro(f"Reorder inputs of {node_id}"):
            self._push(cmd.Disconnect(self.view, source, node_id))
            self._push(cmd.Connect(self.view, source, node_id, new))
        return True

    def remove(self, nodes: Iterable[str] = (), edges: Iterable[tuple[str, str]] = ()) -> None:
        nodes = [n for n in self.view.nodes if n in set(nodes)]
        edges = [(s, t) for s, t in edges if t in self.view.inputs and s in self.view.inputs[t]
                 and s not in nodes and t not in nodes]
        if not nodes and not edges:
            return
        what = (f"Delete {nodes[0]}" if len(nodes) == 1 and not edges else
                f"Delete {len(nodes)} nodes" if nodes and not edges else
                f"Delete {len(nodes) + len(edges)} items")
        with self._macro(what):
            for s, t in edges:
                self._push(cmd.Disconnect(self.view, s, t))
            for n in reversed(nodes):
                self._push(cmd.RemoveNode(self.view, n))

    def set_param(self, node_id: str, key: str, value: Any) -> str | None:
        """Set one parameter (checked by its schema); a value equal to the default is left out of the
        file. Returns the problem when the value is refused."""
        node = self.view.nodes.get(node_id)
        spec = self.view.spec_of(node) if node is not None else None
        if node is None or spec is None:
            return f"no node named '{node_id}'"
        param = spec.param_map.get(key)
        if param is None:
            return f"{node.type} has no parameter '{key}'"
        params = copy.deepcopy(node.params)
        if value is None and not param.required:
            params.pop(key, None)
        elif isinstance(value, str) and value.startswith("$") and self.view_block is not None:
            from nodetrainer.blocks import reference_problem
            problem = reference_problem(value, self.graph.blocks[self.view_block])
            if problem:
                return problem
            params[key] = value
        else:
            try:
                value = param.check(value)
            except ValueError as exc:
                return str(exc)
            if not param.required and _same(value, param.default):
                params.pop(key, None)
            else:
                params[key] = value
        if params == node.params:
            return None
        self._push(cmd.SetParams(self.view, node_id, node.params, params, key))
        return None

    def apply_values(self, values: dict[str, Any], text: str = "Apply tuned values") -> bool:
        """Writes values at dotted paths (a tuning trial's, `nodes.drop.p` -> 0.3) into the graph as one
        undo step; False when they change nothing."""
        from nodetrainer.tune.values import apply_values
        graph = self.graph
        new = apply_values(graph, values)
        nodes = [n for n, node in new.nodes.items() if node.params != graph.nodes[n].params]
        sections = [s for s in ("data", "training") if getattr(new, s) != getattr(graph, s)]
        if not nodes and not sections:
            return False
        with self._macro(text):
            for node_id in nodes:
                self._push(cmd.SetParams(graph, node_id, graph.nodes[node_id].params, new.nodes[node_id].params))
            for section in sections:
                self._push(cmd.SetSection(graph, section, getattr(graph, section), getattr(new, section)))
        return True

    def rename(self, old: str, new: str) -> str | None:
        """Rename a node; returns why not when the new id is refused."""
        if old == new:
            return None
        problem = id_problem(new)
        if problem is None and new in self.view.nodes:
            problem = f"a node named '{new}' already exists"
        if problem:
            return problem
        self._push(cmd.Rename(self.view, old, new))
        return None

    def set_name(self, name: str) -> str | None:
        """Rename the graph (the core's rule: `graph.name_problem`); returns why not when refused."""
        if name == self.graph.name:
            return None
        problem = name_problem(name)
        if problem:
            return problem
        self._push(cmd.SetSection(self.graph, "name", self.graph.name, name))
        return None

    def move(self, positions: dict[str, tuple[float, float]], text: str = "") -> None:
        """Move nodes in one undo step (positions snapped to the grid)."""
        moves = {}
        for node_id, pos in positions.items():
            new = snap(pos)
            old = self.view.layout.get(node_id)
            if node_id in self.view.nodes and old != new:
                moves[node_id] = (old, new)
        if moves:
            self._push(cmd.Move(self.view, moves, text))

    def insert_problem(self, node_id: str, source: str, target: str,
                       new_type: str | None = None) -> str | None:
        """Why `node_id` cannot go into the edge source -> target, or None (tried on a copy). With
        `new_type`, `node_id` is a node of that type about to be added."""
        if node_id in (source, target):
            return "a node cannot be inserted into its own edge"
        if self.view.inputs.get(node_id) or self.view.successors(node_id):
            return f"{node_id} is already connected"
        trial = Graph(self.view.name)  # the structure only: a deep copy of a 1,000-node graph takes 50 ms
        trial.blocks = self.view.blocks  # read only: the types of uses of blocks
        trial.nodes = dict(self.view.nodes)
        trial.inputs = {n: list(sources) for n, sources in self.view.inputs.items()}
        try:
            if new_type is not None:
                trial.add_node(node_id, new_type, starter_params(new_type) if new_type in REGISTRY else {})
            trial.disconnect(source, target)
            index = None
            for s, t in ((source, node_id), (node_id, target)):
                problem = trial.connection_problem(s, t)
                if problem:
                    return problem
                trial.connect(s, t, index)
        except GraphError as exc:
            return str(exc)
        return None

    def insert_on_edge(self, node_id: str, source: str, target: str,
                       position: tuple[float, float] | None = None) -> bool:
        """Put an unconnected node into the edge source -> target (keeping target's input order). It goes
        beside the source and the nodes in its way move aside (see `placement.into_edge`); `position` is
        where it was dropped, kept only when the source has no position."""
        problem = self.insert_problem(node_id, source, target)
        if problem:
            self.refused.emit(f"Cannot insert {node_id} into {source} → {target}: {problem}")
            return False
        with self._macro(f"Insert {node_id} into {source} → {target}"):
            self._insert(node_id, source, target, position)
        return True

    def _insert(self, node_id: str, source: str, target: str, position: tuple[float, float] | None) -> None:
        if self.view.layout.get(source) is not None:
            spot, room = placement.into_edge(self.view, source, target, node_id)
            self._make_room({**room, node_id: spot})
        elif position is not None:
            self.move({node_id: position})
        self._rewire(node_id, source, target)

    def _rewire(self, node_id: str, source: str, target: str) -> None:
        """source -> target becomes source -> node -> target, in the place source had among target's inputs."""
        index = self.view.inputs[target].index(source)
        self._push(cmd.Disconnect(self.view, source, target))
        self._push(cmd.Connect(self.view, source, node_id))
        self._push(cmd.Connect(self.view, node_id, target, index))

    def add_on_edge(self, node_type: str, position: tuple[float, float], source: str, target: str) -> str | None:
        """A new node dropped onto an edge: added beside the source and inserted, as one step (just added,
        at the free spot nearest `position`, if it cannot go in)."""
        if self.view.spec_of(node_type) is None or self._use_problem(node_type):
            return self.add_node(node_type, position)  # says why not
        node_id = self.new_id(node_type)
        problem = self.insert_problem(node_id, source, target, new_type=node_type)
        if problem is not None or self.view.layout.get(source) is None:
            with self._macro(f"Insert {node_type}"):
                self.add_node(node_type, position, node_id=node_id)
                if problem is None:
                    self._insert(node_id, source, target, None)
            if problem is not None:
                self.refused.emit(f"Added {node_id} but not into {source} → {target}: {problem}")
            return node_id
        spot, room = placement.into_edge(self.view, source, target)
        with self._macro(f"Insert {node_type}"):
            self._make_room(room)
            self._push(cmd.AddNode(self.view, node_id, node_type,
                                   starter_params(node_type) if node_type in REGISTRY else {}, spot))
            self._rewire(node_id, source, target)
        return node_id

    # -- fragments ------------------------------------------------------------------
    def copy_text(self, ids: Iterable[str]) -> str:
        return copy_fragment(self.view, ids)

    def apply_fragment(self, fragment: Fragment, at: tuple[float, float] | None, text: str) -> list[str]:
        """Add a fragment's nodes and edges as one step, at `at` (its top left) or at the free place
        nearest to it, so it lands on no node."""
        if at is not None:
            fragment = fragment.moved_to(*snap(at))
        dx, dy = placement.free_offset(self.view.layout, fragment.layout)
        if dx or dy:
            fragment = fragment.moved_to(*snap((min(x for x, _ in fragment.layout.values()) + dx,
                                                min(y for _, y in fragment.layout.values()) + dy)))
        with self._macro(text):
            for block in fragment.blocks:  # a block the file lacks comes with the nodes using it
                if block.name not in self.graph.blocks:
                    self._push(cmd.AddBlock(self.graph, block))
            for node in fragment.nodes:
                self._push(cmd.AddNode(self.view, node.id, node.type, node.params, fragment.layout.get(node.id)))
            for source, target in fragment.edges:
                self._push(cmd.Connect(self.view, source, target))
        return fragment.ids

    def paste_text(self, text: str, at: tuple[float, float] | None = None) -> list[str] | None:
        """Paste format-1 text (from the clipboard) as new nodes with fresh ids; None when refused."""
        fragment, problems = parse_fragment(text, self.view.nodes)
        if fragment is None:
            first = problems[0] if problems else None
            where = f"line {first.line}: " if first and first.line else ""
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.refused.emit(f"Cannot paste: {where}{first.message if first else 'not a graph'}{more}")
            return None
        ids = self.apply_fragment(fragment, at, f"Paste {len(fragment.nodes)} node" + "s" * (len(fragment.nodes) > 1))
        if fragment.renamed:
            self.message.emit("Pasted with new ids: " + ", ".join(f"{a} → {b}" for a, b in fragment.renamed.items()))
        return ids

    def duplicate(self, ids: Iterable[str], offset: tuple[float, float] = (40, 40)) -> list[str] | None:
        ids = [n for n in self.view.nodes if n in set(ids)]
        if not ids:
            return None
        fragment, _ = parse_fragment(self.copy_text(ids), self.view.nodes)
        if fragment is None:
            return None
        left = min(self.view.layout.get(n, (0, 0))[0] for n in ids) + offset[0]
        top = min(self.view.layout.get(n, (0, 0))[1] for n in ids) + offset[1]
        return self.apply_fragment(fragment, (left, top), f"Duplicate {len(ids)} node" + "s" * (len(ids) > 1))

    def insert_template(self, name: str, at: tuple[float, float]) -> list[str] | None:
        try:
            fragment = template_fragment(name, self.view.nodes)
        except GraphError as exc:
            self.refused.emit(str(exc))
            return None
        return self.apply_fragment(fragment, at, f"Insert {name}")

    def auto_layout(self, ids: Iterable[str] | None = None, view: tuple[float, float] | None = VIEW) -> None:
        """Lay out the graph (wrapped into bands that fit a canvas of `view` pixels) or the given nodes
        (one strip, at their place), left to right, as one undo step."""
        if ids is None:
            positions = layered_layout(self.view, view=view)
        else:
            chosen = list(ids)
            if not chosen:
                return
            xs = [self.view.layout.get(n, (0, 0)) for n in chosen]
            positions = layered_layout(self.view, chosen, (min(x for x, _ in xs), min(y for _, y in xs)))
        self.move(positions, "Auto-layout")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b and type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)
