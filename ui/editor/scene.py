"""The canvas scene: mirrors the document's Graph as items and turns mouse gestures into document edits.

The scene subscribes to the Graph and updates only the items an event touches
(a 1,000-node graph is rebuilt only on open). After each validation it refreshes
node labels (output shape, parameter count) and problem badges from the report,
touching only items whose text changed. Flags set from outside the editor
(`set_node_flag`: the training dock's gradient warnings, the node a run failed
in, an Input shape that disagrees with the data) share that badge, orange for
warnings and red for errors; they follow their node through renames, go with
it when it is deleted, and are all dropped when another graph is opened. Gestures: a palette drop adds a node (on
an edge: inserts it), a drag from a port connects on release, dragging nodes is
one Move step on release, and a lone unconnected node dropped on an edge is
inserted into it. Where new nodes land is decided by `nodetrainer.placement`
(through the document), so no insert leaves nodes on top of each other.
`contentChanged` and `badgesChanged` tell overviews such as the minimap what to
redraw.
"""
from __future__ import annotations

from PySide6.QtCore import QLineF, QMimeData, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsScene

from nodetrainer.graph import GraphEvent
from nodetrainer.validate import Report

from ..document import Document
from .items import ABBREVIATIONS, NODE_H, NODE_W, EdgeItem, NodeItem, PortItem, WireItem, fmt_count, fmt_value

MIME_TYPE = "application/x-nodetrainer-type"
MIME_TEMPLATE = "application/x-nodetrainer-template"
SNAP_RADIUS = 24.0


class GraphScene(QGraphicsScene):
    fileDropped = Signal(str)
    nodeDoubleClicked = Signal(str)  # a node was double-clicked (a use of a block opens it)
    wireDroppedOnEmpty = Signal(str, bool, QPointF)  # node id, from its output?, where
    contentChanged = Signal()  # nodes, edges or positions changed (for overviews such as the minimap)
    badgesChanged = Signal(list)  # ids of nodes whose badge appeared, went or changed level

    def __init__(self, document: Document, parent=None) -> None:
        super().__init__(parent)
        self.doc = document
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, str], EdgeItem] = {}
        self.wire: WireItem | None = None
        self.wire_port: PortItem | None = None
        self._press_positions: dict[str, QPointF] | None = None
        self._edge_hint: EdgeItem | None = None
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.detailed = True  # ports shown; the view turns them off when zoomed far out
        self._graph_rect: QRectF | None = None  # every node's bounds, until the graph changes
        self._edge_drawing: tuple[list[QLineF], list[QPainterPath]] | None = None
        self.flags: dict[str, dict[str, tuple[str, str]]] = {}  # node id -> category -> (level, message)
        self.graph = document.view  # the graph shown: the file's, or an open block's body
        self._unsubscribe = self.graph.subscribe(self._on_event)
        document.graph.subscribe(self._on_top_event)
        document.validated.connect(self.apply_report)
        document.viewChanged.connect(self._view_changed)
        self.rebuild()

    def _view_changed(self) -> None:
        """Another graph in view (a block opened, or back): mirror it instead."""
        if self.doc.view is self.graph:
            return
        self._unsubscribe()
        self.graph = self.doc.view
        self._unsubscribe = self.graph.subscribe(self._on_event)
        self.rebuild()

    def _on_top_event(self, event: GraphEvent) -> None:
        """The file's own events while a block's body is shown, and changes of blocks at the top level."""
        if event.kind == "block_changed":
            for node_id in [n for n, node in self.graph.nodes.items() if node.type in (event.node, event.other)]:
                self._replace_item(node_id)  # its Inputs (ports) or parameters may have changed
        elif event.kind == "replaced" and self.graph is not self.doc.graph:
            self.flags.clear()

    def _replace_item(self, node_id: str) -> None:
        item = self.nodes.get(node_id)
        if item is None:
            return
        keys = [edge.key for edge in list(item.edges)]
        for key in keys:
            self._remove_edge_item(key)
        selected = item.isSelected()
        self.removeItem(item)
        del self.nodes[node_id]
        new = self._add_node_item(node_id)
        new.setSelected(selected)
        for source, target in keys:
            self._add_edge_item(source, target)

    # -- mirroring the graph ----------------------------------------------------------------
    def rebuild(self) -> None:
        self.wire = None
        self.wire_port = None
        self._edge_hint = None
        self.nodes.clear()  # first: clearing the scene changes the selection, and views may ask
        self.edges.clear()
        self.clear()
        g = self.graph
        for node_id in g.nodes:
            self._add_node_item(node_id)
        for source, target in g.edges():
            self._add_edge_item(source, target)
        self.apply_report(self.doc.report)
        self._fit_rect()
        self._changed()

    def _changed(self) -> None:
        self._graph_rect = None
        self._edge_drawing = None
        self.contentChanged.emit()

    def _fit_rect(self) -> None:
        rect = self.itemsBoundingRect() if self.nodes else QRectF(-400, -300, 800, 600)
        self.setSceneRect(rect.adjusted(-2000, -2000, 2000, 2000))

    def _add_node_item(self, node_id: str) -> NodeItem:
        node = self.graph.nodes[node_id]
        spec = self.graph.spec_of(node)
        item = NodeItem(node_id, node.type, spec.category if spec else "unknown",
                        multi_input=bool(spec and spec.multi_input), has_input=not (spec and spec.max_inputs == 0),
                        is_block=bool(spec and spec.extra.get("block")))
        item.set_content(params_text=self._params_text(node_id))
        x, y = self.graph.layout.get(node_id, (0.0, 0.0))
        item.setPos(x, y)
        if not self.detailed:
            item.set_ports_visible(False)
        self.addItem(item)
        self.nodes[node_id] = item
        return item

    def _add_edge_item(self, source: str, target: str) -> None:
        if source in self.nodes and target in self.nodes and (source, target) not in self.edges:
            edge = EdgeItem(self.nodes[source], self.nodes[target])
            edge.setVisible(self.detailed)
            self.addItem(edge)
            self.edges[(source, target)] = edge
            self._edge_drawing = None

    def _remove_edge_item(self, key: tuple[str, str]) -> None:
        edge = self.edges.pop(key, None)
        if edge is not None:
            if edge is self._edge_hint:
                self._edge_hint = None
            edge.detach()
            self.removeItem(edge)
            self._edge_drawing = None

    def _params_text(self, node_id: str) -> str:
        node = self.graph.nodes[node_id]
        spec = self.graph.spec_of(node)
        if spec is None:
            return "unknown type"
        if spec.extra.get("block"):  # the values the use gives, and its copies
            parts = [f"{k} {fmt_value(v)}" for k, v in node.params.items() if k != "repeat"]
            if node.params.get("repeat", 1) != 1:
                parts.insert(0, f"×{node.params['repeat']}")
            if parts:
                return "  ".join(parts)
            body = self.graph.blocks[node.type].body
            return f"{sum(1 for n in body.nodes.values() if n.type not in ('Input', 'Output'))} nodes"
        shown = [k for k in spec.key_params] + [k for k in node.params if k not in spec.key_params and k != "init"]
        parts = []
        for key in shown:
            if key in node.params:
                parts.append(f"{ABBREVIATIONS.get(key, key)} {fmt_value(node.params[key])}")
            elif key in spec.key_params:
                param = spec.param_map[key]
                parts.append(f"{ABBREVIATIONS.get(key, key)} " + ("?" if param.required else fmt_value(param.default)))
        if "init" in node.params:
            parts.append(f"init {node.params['init']}")
        return "  ".join(parts) if parts else spec.doc.split(":")[0].split(".")[0]

    def _on_event(self, event: GraphEvent) -> None:
        kind, node_id, other = event.kind, event.node, event.other
        if kind == "replaced":
            self.flags.clear()  # they were about the graph that was there before
            self.rebuild()
            return
        if kind == "settings_changed":
            return
        if kind == "node_added":
            self._add_node_item(node_id)
        elif kind == "node_removed":
            self.flags.pop(node_id, None)
            item = self.nodes.pop(node_id, None)
            if item is not None:
                for edge in list(item.edges):
                    self._remove_edge_item(edge.key)
                self.removeItem(item)
        elif kind == "node_changed":
            if node_id in self.nodes:
                self.nodes[node_id].set_content(params_text=self._params_text(node_id))
            return  # nothing an overview shows
        elif kind == "node_renamed":
            item = self.nodes.pop(other, None)
            if other in self.flags:
                self.flags[node_id] = self.flags.pop(other)
            if item is not None:
                self.nodes[node_id] = item
                item.set_id(node_id)
                for edge in item.edges:
                    self.edges.pop((other if edge.source is item else edge.source.node_id,
                                    other if edge.target is item else edge.target.node_id), None)
                    self.edges[edge.key] = edge
        elif kind == "edge_added":
            self._add_edge_item(other, node_id)
        elif kind == "edge_removed":
            self._remove_edge_item((other, node_id))
        elif kind == "moved":
            item = self.nodes.get(node_id)
            if item is not None:
                x, y = self.graph.layout[node_id]
                if item.pos() != QPointF(x, y):
                    item.setPos(x, y)
        self._changed()

    def shown_result(self, report: Report):
        """The inference whose shapes the view shows: the file's, or the open block's instance (the use it
        was opened from, else its first use); None for a block no use reaches."""
        if self.graph is self.doc.graph:
            return report.shapes
        block = self.doc.view_block
        instance = report.shapes.instance(self.doc.view_path) if self.doc.view_path else None
        if instance is None or instance.graph is not self.graph:
            instance = report.shapes.first_instance(block) if block else None
        return instance

    def apply_report(self, report: Report) -> None:
        """Output shapes, parameter counts and problem badges from the latest validation."""
        from nodetrainer.blocks import problem_nodes
        result = self.shown_result(report)
        tensors = result.tensors if result is not None else {}
        counts = {n: result.cost(n).params for n in tensors} if result is not None else {}
        by_node: dict[str, list[str]] = {}
        for problem in self.doc.problems:
            for node_id in problem_nodes(problem, self.doc.graph, self.doc.view_block, self.doc.view_path):
                inner = problem.node if problem.node and problem.node != node_id else ""
                by_node.setdefault(node_id, []).append(f"{inner}: {problem.message}" if inner and "/" in inner
                                                       else problem.message)
        restyled = []
        for node_id, item in self.nodes.items():
            badge = item.badge_level if item.problems or item.flags else None
            tensor = tensors.get(node_id)
            shape = "×".join(str(d) for d in tensor.shape) if tensor is not None else ""
            if tensor is not None and tensor.dtype != "float32":
                shape += f" {tensor.dtype}"
            count = counts.get(node_id, 0)
            item.set_content(shape_text=shape, count_text=f"{fmt_count(count)} params" if count else "",
                             problems=by_node.get(node_id, []), flags=self._item_flags(node_id))
            if (item.badge_level if item.problems or item.flags else None) != badge:
                restyled.append(node_id)
        if restyled:
            self.badgesChanged.emit(restyled)

    # -- flags from outside the editor (training, data) --------------------------------------------
    def set_node_flag(self, category: str, node_id: str, level: str, message: str) -> None:
        """Flag a node (category e.g. "training" or "data"; level "error" or "warning"): a badge with the
        message in its tooltip, next to its validation problems. An empty message clears that flag; a node
        the graph does not have is ignored."""
        if not message:
            flags = self.flags.get(node_id)
            if flags is None or flags.pop(category, None) is None:
                return
            if not flags:
                del self.flags[node_id]
        elif node_id in self.nodes:
            self.flags.setdefault(node_id, {})[category] = ("error" if level == "error" else "warning", message)
        else:
            return
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_content(flags=self._item_flags(node_id))
            self.badgesChanged.emit([node_id])

    def clear_node_flags(self, category: str | None = None) -> None:
        """Drop every flag of `category` (None: of every category)."""
        restyled = list(self.flags)
        for node_id in restyled:
            flags = self.flags[node_id]
            if category is None:
                flags.clear()
            else:
                flags.pop(category, None)
            if not flags:
                del self.flags[node_id]
            item = self.nodes.get(node_id)
            if item is not None:
                item.set_content(flags=self._item_flags(node_id))
        if restyled:
            self.badgesChanged.emit(restyled)

    def node_flags(self, node_id: str) -> dict[str, tuple[str, str]]:
        """The flags on a node: category -> (level, message)."""
        return dict(self.flags.get(node_id, {}))

    def _item_flags(self, node_id: str) -> list[tuple[str, str, str]]:
        flags = self.flags.get(node_id, {})
        return [(category, level, message) for category, (level, message) in sorted(flags.items())]

    def set_detailed(self, detailed: bool) -> None:
        """Show or hide the ports of every node and the edge items (hidden when zoomed out so far that
        they cannot be hit; the view then draws every edge in one batch, see `edge_drawing`)."""
        if detailed != self.detailed:
            self.detailed = detailed
            for item in self.nodes.values():
                item.set_ports_visible(detailed)
            for edge in self.edges.values():
                edge.setVisible(detailed)

    def edge_drawing(self) -> tuple[list[QLineF], list[QPainterPath]]:
        """Every edge as a straight line (forward edges) or its path (edges back to the next band), in
        scene coordinates, kept until an edge or a node moves: one batch for the view to draw when zoomed
        far out, and for the minimap."""
        if self._edge_drawing is None:
            lines, paths = [], []
            for edge in self.edges.values():
                if edge.straight_when_far:
                    lines.append(QLineF(edge.start, edge.end))
                else:
                    paths.append(edge.path())
            self._edge_drawing = (lines, paths)
        return self._edge_drawing

    def edges_moved(self) -> None:
        self._edge_drawing = None

    # -- queries -------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.graph.nodes if n in chosen]

    def selected_edges(self) -> list[tuple[str, str]]:
        return [i.key for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_ids(self, ids) -> None:
        ids = set(ids)
        self.clearSelection()
        for node_id in ids:
            item = self.nodes.get(node_id)
            if item is not None:
                item.setSelected(True)

    def edge_at(self, pos: QPointF, exclude: str | None = None) -> EdgeItem | None:
        for item in self.items(QRectF(pos.x() - 6, pos.y() - 6, 12, 12), Qt.ItemSelectionMode.IntersectsItemShape):
            if isinstance(item, EdgeItem) and exclude not in item.key:
                return item
        return None

    def port_near(self, pos: QPointF, want_output: bool) -> PortItem | None:
        """The port of the wanted kind under `pos`, the nearest within the snap radius, or the matching
        port of the node under `pos`."""
        best, best_d = None, SNAP_RADIUS
        area = QRectF(pos.x() - SNAP_RADIUS, pos.y() - SNAP_RADIUS, 2 * SNAP_RADIUS, 2 * SNAP_RADIUS)
        for item in self.items(area):
            if isinstance(item, PortItem) and item.is_output == want_output:
                d = (item.scenePos() - pos).manhattanLength()
                if d < best_d:
                    best, best_d = item, d
        if best is None:
            for item in self.items(pos):
                if isinstance(item, NodeItem):
                    return item.output_port if want_output else item.input_port
        return best

    # -- adding from the palette ------------------------------------------------------------
    def drop_mime(self, mime: QMimeData, pos: QPointF) -> list[str]:
        """What a drop from the palette does: a node type, or a template. Returns the new ids."""
        ids: list[str] = []
        if mime.hasFormat(MIME_TYPE):
            node_type = bytes(mime.data(MIME_TYPE)).decode()
            top_left = (pos.x() - NODE_W / 2, pos.y() - NODE_H / 2)
            edge = self.edge_at(pos)
            if edge is not None and self.graph.spec_of(node_type) is not None:
                node_id = self.doc.add_on_edge(node_type, top_left, *edge.key)
            else:
                node_id = self.doc.add_node(node_type, top_left)
            ids = [node_id] if node_id else []
        elif mime.hasFormat(MIME_TEMPLATE):
            name = bytes(mime.data(MIME_TEMPLATE)).decode()
            ids = self.doc.insert_template(name, (pos.x() - NODE_W / 2, pos.y() - NODE_H / 2)) or []
        if ids:
            self.select_ids(ids)
        return ids

    def _accepts(self, mime: QMimeData) -> bool:
        return mime.hasFormat(MIME_TYPE) or mime.hasFormat(MIME_TEMPLATE) or mime.hasUrls()

    def dragEnterEvent(self, event) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if self._accepts(event.mimeData()):
            if event.mimeData().hasFormat(MIME_TYPE):
                self._set_edge_hint(self.edge_at(event.scenePos()))
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self._set_edge_hint(None)

    def dropEvent(self, event) -> None:
        self._set_edge_hint(None)
        mime = event.mimeData()
        if mime.hasUrls():
            for url in mime.urls():
                if url.isLocalFile():
                    self.fileDropped.emit(url.toLocalFile())
                    break
            event.acceptProposedAction()
            return
        self.drop_mime(mime, event.scenePos())
        event.acceptProposedAction()

    def _set_edge_hint(self, edge: EdgeItem | None) -> None:
        if edge is self._edge_hint:
            return
        if self._edge_hint is not None:
            self._edge_hint.highlight = False
            self._edge_hint.update()
        self._edge_hint = edge
        if edge is not None:
            edge.highlight = True
            edge.update()

    # -- wiring ----------------------------------------------------------------------------
    def begin_wire(self, port: PortItem) -> None:
        self.cancel_wire()
        self.wire_port = port
        self.wire = WireItem()
        self.addItem(self.wire)
        start = port.scenePos()
        self.wire.set_ends(start, start, port.is_output)

    def update_wire(self, pos: QPointF) -> None:
        if self.wire is None or self.wire_port is None:
            return
        target = self.port_near(pos, not self.wire_port.is_output)
        end = target.scenePos() if target is not None else pos
        self.wire.set_ends(self.wire_port.scenePos(), end, self.wire_port.is_output)

    def cancel_wire(self) -> None:
        if self.wire is not None:
            self.removeItem(self.wire)
        self.wire = None
        self.wire_port = None

    def end_wire(self, pos: QPointF) -> bool:
        """Connect from the port the wire started at to the port (or node) at `pos`."""
        port = self.wire_port
        self.cancel_wire()
        if port is None:
            return False
        other = self.port_near(pos, not port.is_output)
        if other is not None:
            node_id = other.node.node_id
        else:  # on a node without that kind of port (an Input's missing input): let the model say why
            node = next((i for i in self.items(pos) if isinstance(i, NodeItem)), None)
            if node is None:  # on empty canvas: offer to add a node connected to this port
                self.wireDroppedOnEmpty.emit(port.node.node_id, port.is_output, pos)
                return False
            node_id = node.node_id
        if port.is_output:
            return self.doc.connect(port.node.node_id, node_id)
        return self.doc.connect(node_id, port.node.node_id)

    # -- moving ----------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self.wire is None:
            self._press_positions = {i.node_id: i.pos() for i in self.selectedItems() if isinstance(i, NodeItem)}

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        if self._press_positions and event.buttons() & Qt.MouseButton.LeftButton:
            lone = self._lone_free_node()
            self._set_edge_hint(self.edge_at(lone.center(), lone.node_id) if lone else None)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self._press_positions is not None:
            self.finish_move()

    def _lone_free_node(self) -> NodeItem | None:
        """The one node being dragged, when it has no edges (so it can go into an edge)."""
        if not self._press_positions or len(self._press_positions) != 1:
            return None
        item = self.nodes.get(next(iter(self._press_positions)))
        return item if item is not None and not item.edges else None

    def finish_move(self) -> None:
        """Turn where the dragged nodes ended up into one undoable step (or an insertion into an edge)."""
        pressed, self._press_positions = self._press_positions or {}, None
        hint = self._edge_hint
        self._set_edge_hint(None)
        moved = {n: (self.nodes[n].pos().x(), self.nodes[n].pos().y())
                 for n, p in pressed.items() if n in self.nodes and self.nodes[n].pos() != p}
        if not moved:
            return
        if len(moved) == 1 and hint is not None and len(pressed) == 1:
            node_id = next(iter(moved))
            if self.doc.insert_on_edge(node_id, *hint.key, position=moved[node_id]):
                return
        self.doc.move(moved)
        # snapping may leave an item off its model position when nothing changed in the model
        for n in moved:
            if n in self.nodes:
                x, y = self.graph.layout[n]
                self.nodes[n].setPos(x, y)

    def items_rect(self, ids=None) -> QRectF:
        """The bounds of the given nodes' bodies (default: every node; kept until the graph changes)."""
        if ids is None and self._graph_rect is not None:
            return QRectF(self._graph_rect)
        items = [self.nodes[n] for n in (ids if ids is not None else self.nodes) if n in self.nodes]
        if not items:
            return QRectF()
        xs = [item.pos().x() for item in items]
        ys = [item.pos().y() for item in items]
        rect = QRectF(min(xs), min(ys), max(xs) - min(xs) + NODE_W, max(ys) - min(ys) + NODE_H)
        if ids is None:
            self._graph_rect = QRectF(rect)
        return rect
