"""Quick-add: Tab on the canvas opens a search box at the cursor; Enter adds the chosen node or template."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from nodetrainer.layers import REGISTRY
from nodetrainer.templates import TEMPLATES

from ..panels.palette import dot_icon, matches


class QuickAdd(QFrame):
    chosen = Signal(str, str)  # kind ("node" or "template"), name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add node…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(260, 300)
        self.base: list[tuple[str, str, str]] = (
            [("node", t.name, f"{t.name} — {t.category}") for t in REGISTRY.values()]
            + [("template", name, f"{name} — template") for name in TEMPLATES])
        self.entries = list(self.base)
        self.blocks: dict[str, str] = {}  # the open file's blocks: name -> doc
        self.search.textChanged.connect(self.refilter)
        self.search.returnPressed.connect(self.accept_current)
        self.list.itemActivated.connect(lambda _item: self.accept_current())
        self.search.installEventFilter(self)
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

    def eventFilter(self, obj, event) -> bool:
        from PySide6.QtCore import QEvent
        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                if 0 <= row < self.list.count():
                    self.list.setCurrentRow(row)
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(obj, event)
