"""The breadcrumb over the canvas while a block is open: the file, then each open block; click to go back.

It shows `Document.breadcrumb()` (the graph's name, then `use: block` for each
block opened from a use) as buttons; the last is where the view is. Hidden at
the file's top level. Esc on the canvas goes one level back (the view's key
handling calls `back`).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from .. import theme
from ..document import Document


class Breadcrumb(QFrame):
    def __init__(self, document: Document, parent: QWidget) -> None:
        super().__init__(parent)
        self.doc = document
        self.setObjectName("breadcrumb")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(6, 2, 6, 2)
        self.row.setSpacing(2)
        self.buttons: list[QToolButton] = []
        document.viewChanged.connect(self.refresh)
        document.graph.subscribe_weakly(self, lambda me, event: me._on_event(event), _alive)
        self.refresh()

    def _on_event(self, event) -> None:
        if event.kind in ("block_changed", "replaced") or (event.kind == "settings_changed" and event.other == "name"):
            self.refresh()

    def refresh(self) -> None:
        while self.row.count():
            widget = self.row.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.buttons = []
        parts = self.doc.breadcrumb()
        for depth, text in enumerate(parts):
            if depth:
                arrow = QLabel("›")
                arrow.setStyleSheet(f"color: {theme.current().muted.name()};")
                self.row.addWidget(arrow)
            button = QToolButton()
            button.setText(text)
            button.setAutoRaise(True)
            last = depth == len(parts) - 1
            font = button.font()
            font.setBold(last)
            button.setFont(font)
            if last:
                button.setStyleSheet("QToolButton { font-weight: bold; }")
            button.setToolTip("the block being edited: a change here changes every use" if last and depth else
                              "back to the whole graph" if depth == 0 else "back to this block")
            button.clicked.connect(lambda _c=False, d=depth: self.doc.close_to(d))
            self.row.addWidget(button)
            self.buttons.append(button)
        self.setVisible(len(parts) > 1)
        self.adjustSize()
        self.move(12, 12)
        self.raise_()

    def back(self) -> bool:
        """One level back; False at the top level."""
        if not self.doc.trail:
            return False
        self.doc.close_to(len(self.doc.trail) - 1)
        return True


def _alive(widget: QWidget) -> bool:
    try:
        import shiboken6
        return shiboken6.isValid(widget)
    except ImportError:
        return True
