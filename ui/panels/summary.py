"""The Summary panel: every node's output shape, parameters and multiply-adds, and the totals.

Rows come from `nodetrainer.summary.summarize` (the same numbers as
`nodetrainer summary`). The table refreshes shortly after an edit, and only while
it is visible, so a large graph costs nothing while the panel is hidden.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from nodetrainer.summary import human

from ..document import Document
from .lazy import RefreshWhenVisible

HEADERS = ("node", "type", "output shape", "parameters", "multiply-adds")


class SummaryPanel(RefreshWhenVisible, QWidget):
    nodeActivated = Signal(str)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # ids and numbers stay together
        header.setStretchLastSection(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.totals = QLabel(self)
        self.totals.setContentsMargins(6, 2, 6, 4)
        layout.addWidget(self.table)
        layout.addWidget(self.totals)
        self.follow(document.validated, 120)
        self.table.cellClicked.connect(lambda row, _col: self._clicked(row))

    def refresh(self) -> None:
        summary = self.doc.summary()
        rows = summary.rows
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(len(rows))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for i, r in enumerate(rows):
            cells = (r.id, r.type, "×".join(map(str, r.output_shape)), f"{r.params:,}", human(r.macs))
            for j, text in enumerate(cells):
                item = self.table.item(i, j)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(i, j, item)
                if item.text() != text:
                    item.setText(text)
                if j >= 3:
                    item.setTextAlignment(right)
        self.table.setUpdatesEnabled(True)
        missing = len(self.doc.graph.nodes) - len(rows)
        note = f" · {missing} node{'s' * (missing != 1)} without a shape yet" if missing else ""
        self.totals.setText(f"<b>Total</b>: {summary.total_params:,} parameters · "
                            f"{human(summary.total_macs)} multiply-adds per sample{note}")

    def _clicked(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.nodeActivated.emit(item.text())
