"""Small views of data: labelled thumbnails, the class balance of the splits, per-column statistics, rows.

They only draw what the core computed (`nodetrainer.data.preview`, `Predictions`):
- `SampleGrid`: thumbnails (uint8 [K, H, W, 3], enlarged without smoothing) with a caption each, wrapping
  into a grid.
- `BalanceTable`: samples per class in each split, each cell with a bar of its share of the split.
- `ColumnStatsTable`: a CSV file's columns with type, min, max, mean, std, missing and distinct values.
- `RowsTable`: feature rows (tabular samples) with leading caption columns (true, predicted, confidence).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QListView, QListWidget, QListWidgetItem,
                               QStyledItemDelegate, QStyleOptionViewItem, QTableWidget, QTableWidgetItem, QWidget)

from .plots import PALETTE

THUMB = 56  # thumbnail side in pixels
SPLIT_COLORS = {"train": PALETTE[0], "val": PALETTE[1], "test": PALETTE[2]}
SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}
SHARE_ROLE = Qt.ItemDataRole.UserRole + 1


def pixmap_of(pixels: np.ndarray, side: int = THUMB) -> QPixmap:
    """A uint8 [H, W, 3] picture as a pixmap about `side` pixels across (small images enlarged with hard edges)."""
    data = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = data.shape[:2]
    image = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # copy: owns its bytes
    mode = Qt.TransformationMode.FastTransformation if max(h, w) < side else Qt.TransformationMode.SmoothTransformation
    return QPixmap.fromImage(image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode))


class SampleGrid(QListWidget):
    """Thumbnails with captions, wrapping into rows."""

    def __init__(self, side: int = THUMB, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self.pixels: np.ndarray | None = None
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(side, side))
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setGridSize(QSize(side + 34, side + 34))
        self.setWordWrap(True)
        self.setSpacing(2)

    def set_samples(self, pixels: np.ndarray, captions: Sequence[str], tooltips: Sequence[str] | None = None) -> None:
        self.clear()
        self.pixels = pixels  # what is shown (tests compare draws)
        for i, caption in enumerate(captions):
            item = QListWidgetItem(QIcon(pixmap_of(pixels[i], self.side)), caption)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            if tooltips is not None:
                item.setToolTip(tooltips[i])
            self.addItem(item)

    def captions(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count())]


class ShareBar(QStyledItemDelegate):
    """Draws a cell's share (SHARE_ROLE, 0..1, times `scale`) as a bar of its colour (UserRole) behind its text."""

    def __init__(self, parent: QWidget | None = None, scale: float = 4.0) -> None:
        super().__init__(parent)
        self.scale = scale

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Any) -> None:
        share = index.data(SHARE_ROLE)
        color = index.data(Qt.ItemDataRole.UserRole)
        if isinstance(share, float) and color:
            rect: QRect = option.rect.adjusted(2, 3, -2, -3)
            bar = QColor(color)
            bar.setAlpha(80)
            painter.fillRect(QRect(rect.left(), rect.top(), round(rect.width() * min(share * self.scale, 1.0)),
                                   rect.height()), bar)
        super().paint(painter, option, index)


class BalanceTable(QTableWidget):
    """Rows: classes; columns: the splits that exist; a cell: samples of the class in the split, and its share."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 0, parent)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.bars = ShareBar(self)
        self.setItemDelegate(self.bars)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setDefaultSectionSize(20)

    def set_balance(self, balance: dict[str, np.ndarray], class_names: Sequence[str] | None) -> None:
        splits = list(balance)
        n = max((len(c) for c in balance.values()), default=0)
        names = list(class_names or [str(i) for i in range(n)])
        self.clear()
        self.setColumnCount(len(splits))
        self.setRowCount(n)
        self.setHorizontalHeaderLabels([SPLIT_NAMES.get(s, s) for s in splits])
        largest = max((float(c.max()) / max(float(c.sum()), 1.0) for c in balance.values() if len(c)), default=1.0)
        self.bars.scale = 1.0 / largest if largest > 0 else 1.0  # the largest share fills its cell
        self.setVerticalHeaderLabels(names[:n])
        for c, split in enumerate(splits):
            counts = balance[split]
            total = max(int(counts.sum()), 1)
            for r in range(n):
                share = int(counts[r]) / total
                item = QTableWidgetItem(f"{int(counts[r]):,}  ({100 * share:.1f} %)")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setData(SHARE_ROLE, share)
                item.setData(Qt.ItemDataRole.UserRole, SPLIT_COLORS.get(split, PALETTE[3]))
                self.setItem(r, c, item)
        self.setFixedHeight(min(26 + 20 * n, 240))

    def counts(self, split: str) -> list[int]:
        """The counts shown for `split` (tests)."""
        labels = [self.horizontalHeaderItem(c).text() for c in range(self.columnCount())]
        c = labels.index(SPLIT_NAMES.get(split, split))
        return [int(self.item(r, c).text().split()[0].replace(",", "")) for r in range(self.rowCount())]


STAT_HEADERS = ["column", "type", "min", "max", "mean", "std", "missing", "distinct"]


def _num(value: float) -> str:
    return "" if value != value else f"{value:.4g}"  # NaN: empty


class ColumnStatsTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(STAT_HEADERS), parent)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setHorizontalHeaderLabels(STAT_HEADERS)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(20)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

    def set_columns(self, columns: Sequence[Any]) -> None:
        self.setRowCount(len(columns))
        for r, col in enumerate(columns):
            cells = [col.name + (" (target)" if col.target else ""), col.kind, _num(col.minimum), _num(col.maximum),
                     _num(col.mean), _num(col.std), f"{col.missing:,}", f"{col.distinct:,}"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 6 and col.missing:
                    item.setForeground(QColor("#d93636"))
                if col.target:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(r, c, item)
        bar = self.horizontalScrollBar().sizeHint().height()
        self.setFixedHeight(min(30 + bar + 20 * len(columns), 280))

    def row(self, name: str) -> dict[str, str]:
        """The cells of column `name` by header (tests)."""
        for r in range(self.rowCount()):
            if self.item(r, 0).text().split(" (")[0] == name:
                return {h: self.item(r, c).text() for c, h in enumerate(STAT_HEADERS)}
        raise KeyError(name)


class RowsTable(QTableWidget):
    """Samples as rows: caption columns first (e.g. true, predicted, confidence), then the features."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 0, parent)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.verticalHeader().setDefaultSectionSize(20)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

    def set_rows(self, captions: dict[str, Sequence[str]], features: np.ndarray,
                 feature_names: Sequence[str] | None = None, row_names: Sequence[str] | None = None) -> None:
        x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
        names = list(feature_names or [f"x{i}" for i in range(x.shape[1])])
        heads = list(captions) + names[: x.shape[1]]
        self.clear()
        self.setColumnCount(len(heads))
        self.setRowCount(len(x))
        self.setHorizontalHeaderLabels(heads)
        if row_names is not None:
            self.setVerticalHeaderLabels(list(row_names))
        for r in range(len(x)):
            for c, key in enumerate(captions):
                item = QTableWidgetItem(captions[key][r])
                font = item.font()
                font.setBold(True)
                item.setFont(font)
                self.setItem(r, c, item)
            for j in range(x.shape[1]):
                item = QTableWidgetItem(f"{x[r, j]:.4g}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, len(captions) + j, item)


__all__ = ["SampleGrid", "ShareBar", "SHARE_ROLE", "BalanceTable", "ColumnStatsTable", "RowsTable", "pixmap_of", "THUMB"]
