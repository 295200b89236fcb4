"""Find a node (Ctrl+F): a search box over the graph's node ids and types, with the matches listed under it.

Typing narrows the list (an exact id first, then ids that start with the text, ids
that contain it, types that match); moving through the list shows each match on the
canvas, Enter or a click selects it and centres it at a readable zoom, and Escape
puts the view back where it was.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidgetItem, QWidget

from nodetrainer.graph import Graph

from ..panels.palette import dot_icon, matches
from .search_popup import SearchPopup

MAX_LISTED = 200


def find_nodes(graph: Graph, query: str) -> list[str]:
    """Ids of the nodes matching `query` by id or by type, best first (file order among equals)."""
    q = query.strip()
    ranked = []
    for index, (node_id, node) in enumerate(graph.nodes.items()):
        by_id = matches(q, node_id)
        by_type = matches(q, node.type)
        if q and node_id.lower() == q.lower():
            score = -1.0
        elif by_id is None and by_type is None:
            continue
        else:
            score = min(by_id if by_id is not None else 9, (by_type + 0.5) if by_type is not None else 9)
        ranked.append((score, index, node_id))
    return [node_id for _s, _i, node_id in sorted(ranked)]


class FindBar(SearchPopup):
    highlighted = Signal(str)  # the match the list is on: show it
    chosen = Signal(str)  # Enter or a click: select it
    cancelled = Signal()  # Escape

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Find node by id or type…", parent)
        self.count_label = QLabel(self)
        self.count_label.setContentsMargins(4, 0, 4, 0)
        self.column.addWidget(self.count_label)
        self.resize(300, 320)
        self.graph: Graph | None = None
        self.search.textChanged.connect(self.refilter)
        self.search.returnPressed.connect(self.accept_current)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemActivated.connect(lambda _item: self.accept_current())
        self.list.itemClicked.connect(lambda _item: self.accept_current())

    def popup_at(self, global_pos: QPoint, graph: Graph) -> None:
        self.graph = graph
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.refilter("", show=False)
        self.move(global_pos)
        self.show()
        self.search.setFocus()

    def refilter(self, text: str, show: bool = True) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        found = find_nodes(self.graph, text) if self.graph is not None else []
        for node_id in found[:MAX_LISTED]:
            node = self.graph.nodes[node_id]
            spec = self.graph.spec_of(node)
            item = QListWidgetItem(dot_icon(spec.category if spec else "unknown"), f"{node_id}  ·  {node.type}")
            item.setData(Qt.ItemDataRole.UserRole, node_id)
            item.setToolTip(node_id)
            self.list.addItem(item)
        more = f" (first {MAX_LISTED} shown)" if len(found) > MAX_LISTED else ""
        self.count_label.setText(f"{len(found)} match{'es' * (len(found) != 1)}{more}" if text.strip() else
                                 f"{len(found)} nodes")
        if self.list.count():
            self.list.setCurrentRow(0)
        self.list.blockSignals(False)
        if show and text.strip() and self.list.count():
            self.highlighted.emit(self.current_id())

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _current_changed(self, current, _previous) -> None:
        if current is not None:
            self.highlighted.emit(current.data(Qt.ItemDataRole.UserRole))

    def accept_current(self) -> None:
        node_id = self.current_id()
        self.hide()
        if node_id is not None:
            self.chosen.emit(node_id)

    def escaped(self) -> None:
        self.cancelled.emit()
