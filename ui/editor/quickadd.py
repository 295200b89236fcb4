"""Quick-add: Tab on the canvas opens a search box at the cursor; Enter adds the chosen node or template."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QListWidgetItem, QWidget

from nodetrainer.layers import REGISTRY
from nodetrainer.templates import TEMPLATES

from ..panels.palette import dot_icon, matches
from .search_popup import SearchPopup


class QuickAdd(SearchPopup):
    chosen = Signal(str, str)  # kind ("node" or "template"), name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Add node…", parent)
        self.resize(260, 300)
        self.base: list[tuple[str, str, str]] = (
            [("node", t.name, f"{t.name} — {t.category}") for t in REGISTRY.values()]
            + [("template", name, f"{name} — template") for name in TEMPLATES])
        self.entries = list(self.base)
        self.blocks: dict[str, str] = {}  # the open file's blocks: name -> doc
        self.search.textChanged.connect(self.refilter)
        self.search.returnPressed.connect(self.accept_current)
        self.list.itemActivated.connect(lambda _item: self.accept_current())
        self.refilter("")

    def refilter(self, text: str) -> None:
        self.list.clear()
        ranked = []
        for kind, name, label in self.entries:
            score = matches(text, name)
            if score is not None:
                ranked.append((score, label, kind, name))
        for _score, label, kind, name in sorted(ranked):
            block = kind == "node" and name not in REGISTRY
            category = "blocks" if block else REGISTRY[name].category if kind == "node" else "templates"
            item = QListWidgetItem(dot_icon(category), label)
            item.setData(Qt.ItemDataRole.UserRole, (kind, name))
            doc = self.blocks.get(name, "") if block else REGISTRY[name].doc if kind == "node" else TEMPLATES[name].doc
            item.setToolTip(doc)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def set_blocks(self, blocks: dict[str, str]) -> None:
        """Offer the open file's blocks (name -> doc) too."""
        self.blocks = dict(blocks)
        self.entries = [("node", name, f"{name} — block") for name in blocks] + self.base

    def popup_at(self, global_pos: QPoint) -> None:
        self.search.clear()
        self.refilter("")
        self.move(global_pos)
        self.show()
        self.search.setFocus()

    def accept_current(self) -> None:
        item = self.list.currentItem()
        self.hide()
        if item is not None:
            kind, name = item.data(Qt.ItemDataRole.UserRole)
            self.chosen.emit(kind, name)
