"""The Results tab: the samples behind a run's result, the most confidently wrong ones and those of a matrix cell.

`ResultSamples.set_result(predictions, dataset)` takes the `Predictions` of a
split (their sample indices and confidences) and the run's `Dataset`; it shows
a list of the most confidently wrong samples (`Predictions.confidently_wrong`),
and `show_cell(true, predicted)` (a click on the confusion matrix) the samples
that cell counts (`Predictions.in_cell`). Image samples are thumbnails, tabular
ones rows of their features (normalization undone, `preview.sample_view`); each
says the predicted class with the model's confidence and the true class.
Regression results, and no run yet, show a line saying what will appear here.
`countChanged(wrong)` tells the dock how many samples of the split are wrong,
for the tab's label.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from nodetrainer.data.preview import sample_view

from .sample_views import RowsTable, SampleGrid

MAX_WRONG = 16  # samples in the confidently-wrong list
MAX_CELL = 200  # samples shown for one cell


class _SampleList(QWidget):
    """Thumbnails (image data) or feature rows (tabular) of some predictions, under a title."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.grid = SampleGrid(side=44)
        self.grid.setGridSize(QSize(44 + 68, 44 + 40))  # room for "predicted (100 %)" on one line
        self.grid.setWordWrap(False)  # each caption line whole, not broken at the icon's width
        self.rows = RowsTable()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.rows)
        layout.addWidget(self.title)
        layout.addWidget(self.stack)
        self.positions = np.zeros(0, dtype=np.int64)  # into the Predictions' arrays

    def present(self, title: str, preds: Any, dataset: Any, positions: np.ndarray) -> None:
        self.positions = np.asarray(positions, dtype=np.int64)
        self.title.setText(title)
        indices = preds.indices[self.positions]
        predicted = [preds.class_name(int(preds.y_pred[i])) for i in self.positions]
        true = [preds.class_name(int(preds.y_true[i])) for i in self.positions]
        confidence = [f"{100 * float(preds.confidence[i]):.0f} %" if preds.confidence is not None else "?"
                      for i in self.positions]
        view = sample_view(dataset, preds.split, indices)
        if view.pixels is not None:
            captions = [f"{p} ({c})\ntrue {t}" for p, c, t in zip(predicted, confidence, true)]
            tips = [f"{preds.split} sample {int(i)}: predicted {p} ({c} confident), true {t}"
                    for i, p, c, t in zip(indices, predicted, confidence, true)]
            self.grid.set_samples(view.pixels, captions, tips)
            self.stack.setCurrentWidget(self.grid)
        else:
            self.rows.set_rows({"predicted": predicted, "confidence": confidence, "true": true}, view.features,
                               view.names, row_names=[str(int(i)) for i in indices])
            self.stack.setCurrentWidget(self.rows)
        self.setVisible(True)

    def captions(self) -> list[str]:
        """What each sample says (tests): 'predicted (confidence)\ntrue class' per sample."""
        if self.stack.currentWidget() is self.grid:
            return self.grid.captions()
        return [f"{self.rows.item(r, 0).text()} ({self.rows.item(r, 1).text()})\ntrue {self.rows.item(r, 2).text()}"
                for r in range(self.rows.rowCount())]


class ResultSamples(QWidget):
    countChanged = Signal(int)  # wrong predictions in the split shown (0: none, or nothing to show)

    EMPTY = ("After a classification run, its most confidently wrong test samples show here; "
             "click a cell of the confusion matrix to see the samples it counts.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        self.placeholder = QLabel(self.EMPTY)
        self.placeholder.setWordWrap(True)
        self.placeholder.setEnabled(False)
        self.wrong = _SampleList()
        self.cell = _SampleList()
        self.hint = QLabel("Click a cell of the confusion matrix to see the samples it counts.")
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.wrong, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.cell, 2)
        layout.addStretch(0)
        self.preds: Any = None
        self.dataset: Any = None
        self.cell_shown: tuple[int, int] | None = None
        self.clear()

    def clear(self) -> None:
        self.preds = self.dataset = self.cell_shown = None
        for part in (self.wrong, self.hint, self.cell):
            part.hide()
        self.placeholder.show()
        self.countChanged.emit(0)

    def set_result(self, preds: Any, dataset: Any) -> None:
        """Shows the confidently wrong samples of `preds` (classification with a dataset; else the placeholder)."""
        self.cell_shown = None
        self.cell.hide()
        if preds is None or dataset is None or preds.task != "classification" \
                or getattr(dataset, preds.split, None) is None:
            self.clear()
            return
        self.preds, self.dataset = preds, dataset
        self.placeholder.hide()
        wrong = preds.confidently_wrong(MAX_WRONG)
        split = {"test": "test", "val": "validation"}.get(preds.split, preds.split)
        total_wrong = int((preds.y_true != preds.y_pred).sum())
        if len(wrong):
            first = f"the {len(wrong)} most confident of {total_wrong:,}" if total_wrong > len(wrong) else "all"
            self.wrong.present(f"<b>Most confidently wrong</b> ({split} split, {first}): predicted class and "
                               "confidence, then the true class", preds, dataset, wrong)
        else:
            self.wrong.hide()
        self.hint.setVisible(True)
        self.countChanged.emit(total_wrong)

    def show_cell(self, true_class: int, predicted: int) -> np.ndarray:
        """Shows the samples counted in cell (true, predicted); returns their positions in the Predictions."""
        preds = self.preds
        if preds is None:
            return np.zeros(0, dtype=np.int64)
        positions = preds.in_cell(true_class, predicted)
        self.cell_shown = (true_class, predicted)
        count = len(positions)
        what = "correct" if true_class == predicted else "wrong"
        more = f", the first {MAX_CELL}" if count > MAX_CELL else ""
        title = (f"<b>true {preds.class_name(true_class)}, predicted {preds.class_name(predicted)}</b>: "
                 f"{count} {what} prediction{'s' * (count != 1)}{more}")
        self.cell.present(title, preds, self.dataset, positions[:MAX_CELL])
        self.hint.hide()
        return positions


__all__ = ["ResultSamples"]
