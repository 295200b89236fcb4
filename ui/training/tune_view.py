"""What a study shows while and after it runs: run controls, the trials table, and its plots.

Pure view, like run_controls.py: the Tune tab's controller (tune_panel.py) feeds it
(`begin`, `trial_started`, `trial_epochs`, `trial_ended`, `set_status`) and listens
to its buttons (`runClicked`, `pauseClicked`, `stopClicked`, `applyBestClicked`).
The trials table sorts by any column (numbers as numbers); selecting rows
overlays those trials' curves in the plots.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
                               QSizePolicy, QSplitter, QStyle, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from nodetrainer.tune.space import label as optuna_label
from nodetrainer.tune.space import short_names, text

from .outcome import metric_label
from .tune_plots import ComparePlots, StudyPlots

STATE_COLORS = {"complete": "#2ca02c", "pruned": "#8c8c8c", "failed": "#d62728", "diverged": "#d62728",
                "interrupted": "#e0a000", "running": "#1f77b4"}


class _Item(QTableWidgetItem):
    """A cell that sorts by its number (or its text when it has none)."""

    def __init__(self, shown: str, key: Any = None) -> None:
        super().__init__(shown)
        self.key = key

    def __lt__(self, other: QTableWidgetItem) -> bool:  # noqa: D105 - Qt's sort
        a, b = self.key, getattr(other, "key", None)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        if isinstance(a, (int, float)) != isinstance(b, (int, float)):
            return isinstance(a, (int, float))  # numbers before empty cells
        return self.text() < other.text()


class TuneView(QWidget):
    runClicked = Signal()
    pauseClicked = Signal()
    stopClicked = Signal()
    applyBestClicked = Signal()
    selectionChanged = Signal(list)  # list[TrialRecord]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style = self.style()
        self.run_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Run study")
        self.run_button.setToolTip("Search the tune section's space with Optuna, one trial after another")
        self.pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "Pause")
        self.stop_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop")
        self.stop_button.setToolTip("Stop the trial in progress; finished trials are kept in the tune folder")
        self.apply_button = QPushButton("Apply best")
        self.apply_button.setToolTip("Write the best trial's values into the graph (one undo step)")
        self.apply_button.setEnabled(False)
        for b in (self.run_button, self.pause_button, self.stop_button):
            b.setMinimumWidth(84)
        self.run_button.clicked.connect(self.runClicked)
        self.pause_button.clicked.connect(self.pauseClicked)
        self.stop_button.clicked.connect(self.stopClicked)
        self.apply_button.clicked.connect(self.applyBestClicked)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no study yet")
        self.progress.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        row = QHBoxLayout()
        for w in (self.run_button, self.pause_button, self.stop_button):
            row.addWidget(w)
        row.addWidget(self.progress, 1)
        row.addWidget(self.apply_button)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.table = QTableWidget(0, 0)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.study_plots = StudyPlots()
        self.compare_plots = ComparePlots()
        self.plot_tabs = QTabWidget()
        self.plot_tabs.addTab(self.study_plots, "Study")
        self.plot_tabs.addTab(self.compare_plots, "Compare")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.plot_tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([170, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self.records: dict[int, Any] = {}
        self.paths: list[str] = []
        self.metric = "value"
        self.value_names: dict[str, dict[str, str]] = {}  # path -> Optuna label -> the word shown (Compare)
        self.show_state("idle")

    # -- state ----------------------------------------------------------------------------------
    def show_state(self, state: str) -> None:
        busy = state != "idle"
        self.run_button.setEnabled(not busy)
        self.pause_button.setEnabled(state in ("running", "paused", "preparing"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.pause_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPlay if state == "paused" else QStyle.StandardPixmap.SP_MediaPause))
        self.stop_button.setEnabled(state in ("running", "paused", "preparing"))

    def set_status(self, html: str) -> None:
        self.status.setText(html)

    def begin(self, metric: str, direction: str, paths: list[str], target: int, dims: list[Any],
              records: list[Any], compare: bool) -> None:
        """A new study (or Compare): the table's columns, the plots' axes, what the folder already holds."""
        self.set_columns(metric, paths)
        self.target = target
        if not compare:
            self.study_plots.reset(metric, direction, dims)
            self.plot_tabs.setCurrentWidget(self.study_plots)
        else:
            self.plot_tabs.setCurrentWidget(self.compare_plots)
        self.progress.setRange(0, max(1, target))
        for r in records:
            self.set_record(r)
        if not compare:
            self.study_plots.set_records(records)
        self._progress()

    def set_columns(self, metric: str, paths: list[str]) -> None:
        """An empty trials table with a column per tuned value (also before any study, to show the space)."""
        self.metric, self.paths = metric, list(paths)
        self.records = {}
        names = short_names(self.paths)
        headers = ["#", "state", metric_label(metric)] + [names[p] for p in self.paths] + ["epochs", "seconds"]
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        for i, p in enumerate(self.paths):
            self.table.horizontalHeaderItem(3 + i).setToolTip(p)
        self.table.setSortingEnabled(True)
        self.table.sortItems(0, Qt.SortOrder.AscendingOrder)

    def _row_of(self, number: int) -> int:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and getattr(item, "key", None) == number:
                return row
        self.table.insertRow(self.table.rowCount())
        return self.table.rowCount() - 1

    def set_record(self, record: Any) -> None:
        """Shows one trial's row (added when new)."""
        self.records[record.number] = record
        sorting = self.table.isSortingEnabled()
        self.table.setSortingEnabled(False)
        row = self._row_of(record.number)
        value = record.value
        cells = [_Item(str(record.number) + (" ★" if record.baseline else ""), record.number),
                 _Item(record.state, record.state),
                 _Item("" if value is None else f"{value:.4g}", value)]
        cells += [_Item(self._shown(p, record.values[p]) if p in record.values else "–",
                        record.values.get(p) if isinstance(record.values.get(p), (int, float)) else None)
                  for p in self.paths]
        cells += [_Item("" if record.epochs is None else str(record.epochs), record.epochs),
                  _Item("" if record.seconds is None else f"{record.seconds:.1f}", record.seconds)]
        tip = record.note or ("the file's own values (trial 0)" if record.baseline else "")
        for col, item in enumerate(cells):
            if col == 1 and record.state in STATE_COLORS:
                item.setForeground(QColor(STATE_COLORS[record.state]))
            if tip:
                item.setToolTip(tip)
            self.table.setItem(row, col, item)
        self.table.setSortingEnabled(sorting)
        self._progress()

    def _shown(self, path: str, value: Any) -> str:
        names = self.value_names.get(path)
        if names:
            return names.get(str(optuna_label(value)), text(value))
        return text(value)

    def _progress(self) -> None:
        done = sum(1 for r in self.records.values() if r.finished)
        self.progress.setValue(min(done, self.progress.maximum()))
        self.progress.setFormat(f"{done} of {getattr(self, 'target', 0)} trials")

    def row_count(self) -> int:
        return self.table.rowCount()

    def selected_records(self) -> list[Any]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        out = []
        for row in rows:
            item = self.table.item(row, 0)
            if item is not None and getattr(item, "key", None) in self.records:
                out.append(self.records[item.key])
        return out

    def select_trials(self, numbers: list[int]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row in range(self.table.rowCount()):
            if getattr(self.table.item(row, 0), "key", None) in numbers:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def _selection_changed(self) -> None:
        records = self.selected_records()
        self.study_plots.select(records)
        self.selectionChanged.emit(records)


__all__ = ["TuneView"]
