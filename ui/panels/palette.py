"""The palette: every node type by category, the file's blocks, and templates; drag items onto the canvas.

Types come from the layer registry, so a new layer declaration appears here by
itself; `set_blocks` lists the open file's block types (a use of one is dropped
like any node). A drag carries the type name (or template name) as MIME data
that the canvas scene understands; double-click (or Enter) adds the item at the
view centre.
"""
from __future__ import annotations

from PySide6.QtCore import QMimeData, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from nodetrainer.layers import CATEGORIES, REGISTRY
from nodetrainer.templates import TEMPLATES

from .. import theme
from ..editor.scene import MIME_TEMPLATE, MIME_TYPE

CATEGORY_TITLES = {
    "io": "Inputs and outputs", "layers": "Layers", "activations": "Activations",
    "normalization": "Normalization and regularization", "reshape": "Reshape and pooling", "merge": "Merges",
    "blocks": "Blocks of this file", "templates": "Templates",
}
ROLE = Qt.ItemDataRole.UserRole


def matches(query: str, name: str, doc: str = "") -> int | None:
    """A rank for how well `query` matches (0 best), or None: prefix, substring, letters in order, doc text."""
    q = query.strip().lower()
    if not q:
        return 0
    n = name.lower()
    if n.startswith(q):
        return 0
    if q in n:
        return 1
    it = iter(n)
    if all(ch in it for ch in q if ch not in " -_"):
        return 2
    if doc and q in doc.lower():
        return 3
    return None


def dot_icon(category: str, size: int = 16) -> QIcon:
    """A dot in the category colour, drawn at twice the size so it stays sharp at 200 %."""
    ratio = 2.0
    pixmap = QPixmap(int(size * ratio), int(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(theme.current().category(category)))
    painter.drawRoundedRect(QRectF(3, 3, size - 6, size - 6), 3, 3)
    painter.end()
    return QIcon(pixmap)


class PaletteTree(QTreeWidget):
    def mimeData(self, items) -> QMimeData:
        mime = QMimeData()
        for item in items:
            data = item.data(0, ROLE)
            if data:
                kind, name = data
                mime.setData(MIME_TEMPLATE if kind == "template" else MIME_TYPE, name.encode())
                mime.setText(name)
                break
        return mime

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE, MIME_TEMPLATE]


class Palette(QWidget):
    activated = Signal(str, str)  # kind ("node"/"template"), name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.tree = PaletteTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragDropMode.DragOnly)
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(12)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.categories: dict[str, QTreeWidgetItem] = {}
        self.items: dict[tuple[str, str], QTreeWidgetItem] = {}
        self.block_docs: dict[str, str] = {}
        self._build()
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._activate_first)
        self.tree.itemActivated.connect(self._activated)
        theme.manager().changed.connect(self._recolour)

    def _build(self) -> None:
        for category in list(CATEGORIES) + ["blocks", "templates"]:
            top = QTreeWidgetItem([CATEGORY_TITLES.get(category, category)])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            self.tree.addTopLevelItem(top)
            self.categories[category] = top
        for spec in REGISTRY.values():
            self._add_item(spec.category, "node", spec.name, spec.doc)
        for template in TEMPLATES.values():
            self._add_item("templates", "template", template.name, template.doc)
        self.categories["blocks"].setHidden(True)
        self.tree.expandAll()

    def set_blocks(self, blocks: dict[str, str]) -> None:
        """List the file's blocks (name -> doc); they are dragged like node types."""
        if blocks == self.block_docs:
            return
        top = self.categories["blocks"]
        for name in self.block_docs:
            self.items.pop(("node", name), None)
        top.takeChildren()
        self.block_docs = dict(blocks)
        for name, doc in blocks.items():
            self._add_item("blocks", "node", name, doc)
        self.filter(self.search.text())

    def _add_item(self, category: str, kind: str, name: str, doc: str) -> None:
        parent = self.categories.get(category) or self.categories["layers"]
        item = QTreeWidgetItem([name])
        item.setData(0, ROLE, (kind, name))
        item.setToolTip(0, f"<b>{name}</b><br>{doc}<br><i>Drag onto the canvas, or double-click to add.</i>")
        item.setIcon(0, dot_icon(category))
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
        parent.addChild(item)
        self.items[(kind, name)] = item

    def _recolour(self) -> None:
        for category, top in self.categories.items():
            for i in range(top.childCount()):
                top.child(i).setIcon(0, dot_icon(category))

    def filter(self, text: str) -> None:
        for top in self.categories.values():
            shown = 0
            for i in range(top.childCount()):
                item = top.child(i)
                kind, name = item.data(0, ROLE)
                doc = (REGISTRY[name].doc if name in REGISTRY else self.block_docs.get(name, "")) if kind == "node" \
                    else TEMPLATES[name].doc
                hide = matches(text, name, doc) is None
                item.setHidden(hide)
                shown += not hide
            top.setHidden(shown == 0)
        self.tree.expandAll()

    def visible_names(self) -> list[str]:
        return [item.data(0, ROLE)[1] for item in self.items.values()
                if not item.isHidden() and not item.parent().isHidden()]

    def item(self, name: str, kind: str = "node") -> QTreeWidgetItem:
        return self.items[(kind, name)]

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        data = item.data(0, ROLE)
        if data:
            self.activated.emit(*data)

    def _activate_first(self) -> None:
        for top in self.categories.values():
            for i in range(top.childCount()):
                item = top.child(i)
                if not item.isHidden() and not top.isHidden():
                    self._activated(item)
                    return
