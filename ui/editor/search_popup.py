"""The popup both Tab (quick-add) and Ctrl+F (find) open: a search line over a list of matches.

Up and Down move through the list while the cursor stays in the search line;
Escape hides the popup and calls `escaped()`, which subclasses override.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QVBoxLayout, QWidget


class SearchPopup(QFrame):
    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(4, 4, 4, 4)
        self.column.setSpacing(4)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(placeholder)
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.column.addWidget(self.search)
        self.column.addWidget(self.list)
        self.search.installEventFilter(self)

    def escaped(self) -> None:
        """Escape was pressed (the popup is already hidden)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                if 0 <= row < self.list.count():
                    self.list.setCurrentRow(row)
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                self.escaped()
                return True
        return super().eventFilter(obj, event)
