"""The runs panel: this graph's runs from its runs folder, and their curves overlaid.

A table (newest first) with start time, stop reason, epochs, the best
validation metric, duration and speed, read through
nodetrainer.training.history. Selecting one or more rows overlays their epoch
curves (validation loss solid, training loss dashed, one colour per run) in
the plot below. "Open graph" emits `openGraphRequested(path)` with the run's
graph.yaml, the exact file that run trained, for the main window to open.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from nodetrainer.training.history import RunInfo, column, list_runs, read_metrics

from .outcome import fmt_duration
from .plots import color

COLUMNS = ("started", "stop reason", "epochs", "best", "time", "samples/s")
REASON_COLORS = {"completed": "#2ca02c", "early_stopped": "#2ca02c", "stopped": "#e0a000", "diverged": "#d62728",
                 "failed": "#d62728"}


def can_resume(run: RunInfo) -> bool:
    """A run stopped before its end (by the user, or a process that died: no summary) with a last.pt."""
    return run.resumable and run.stop_reason in ("stopped", None)


def _when(started: datetime) -> str:
    """Time of day for today's runs, else the date and time."""
    return started.strftime("%H:%M:%S") if started.date() == datetime.now().date() else started.strftime("%m-%d %H:%M")


class RunsPanel(QWidget):
    openGraphRequested = Signal(object)  # Path of the run's graph.yaml
    resumeRequested = Signal(object)  # Path of a stopped run's folder, to continue it
    selectionChanged = Signal(list)  # list[RunInfo]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs_dir: Path | None = None
        self.graph_name: str | None = None
        self.runs: list[RunInfo] = []

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _i: self.open_selected())

        self.where = QLabel()
        self.where.setWordWrap(True)
        self.where.setStyleSheet("color: palette(mid);")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.open_button = QPushButton("Open graph")
        self.open_button.setToolTip("Open the exact graph file this run trained (its graph.yaml)")
        self.open_button.clicked.connect(self.open_selected)
        self.open_button.setEnabled(False)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the selected run, stopped before its last epoch, from its last.pt")
        self.resume_button.clicked.connect(self.resume_selected)
        self.resume_button.setEnabled(False)
        self.metric = QComboBox()
        self.metric.setToolTip("What the overlay plots")
        self.metric.addItem("loss", "loss")
        self.metric.activated.connect(lambda _i: self._plot_selected())
        buttons = QHBoxLayout()
        buttons.addWidget(refresh)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.resume_button)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("plot"))
        buttons.addWidget(self.metric)

        self.plot = pg.PlotWidget()
        pal = self.palette()
        fg, bg = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Base)
        self.plot.setBackground(bg)
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setPen(pg.mkPen(fg))
            self.plot.getAxis(side).setTextPen(pg.mkPen(fg))
        self.plot.setLabel("bottom", "epoch", color=fg.name())
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        legend_bg = QColor(bg)
        legend_bg.setAlpha(200)
        self.plot.addLegend(offset=(-4, 4), labelTextSize="8pt", labelTextColor=fg, brush=pg.mkBrush(legend_bg))
        self._fg = fg
        self.plot.setMinimumHeight(160)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.where)
        top_layout.addWidget(self.table)
        top_layout.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.plot)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

    # -- data -------------------------------------------------------------------------------
    def set_source(self, runs_dir: str | Path | None, graph_name: str | None) -> None:
        self.runs_dir = Path(runs_dir) if runs_dir else None
        self.graph_name = graph_name
        self.refresh()

    def refresh(self) -> None:
        """Re-reads the runs folder; keeps the selection by folder."""
        selected = {r.path for r in self.selected_runs()}
        self.runs = list_runs(self.runs_dir, self.graph_name) if self.runs_dir and self.graph_name else []
        from nodetrainer.training.history import runs_folder
        folder = runs_folder(self.runs_dir, self.graph_name) if self.runs_dir and self.graph_name else None
        self.where.setText(f"{len(self.runs)} run(s) in {folder}" if folder else "no runs folder")
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            best = run.best_metric
            cells = [
                _when(run.started) if run.started else run.label,
                run.stop_reason or "running / unknown",
                "" if run.epochs_run is None else str(run.epochs_run),
                f"{best[0].removeprefix('val_')} {best[1]:.4g}" if best else "",
                fmt_duration(run.duration_s),
                f"{run.samples_per_s:,.0f}" if run.samples_per_s else "",
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 1 and run.stop_reason in REASON_COLORS:
                    item.setForeground(QColor(REASON_COLORS[run.stop_reason]))
                if col == 1 and run.error:
                    item.setToolTip(run.error)
                if col == 0:
                    item.setToolTip(f"{run.started:%Y-%m-%d %H:%M:%S}\n{run.path}" if run.started else str(run.path))
                if col == 3 and best:
                    item.setToolTip(f"{best[0]} at the best epoch ({run.best_epoch})")
                self.table.setItem(row, col, item)
        self.table.clearSelection()
        for row, run in enumerate(self.runs):
            if run.path in selected:
                self.table.selectRow(row)
        self.table.blockSignals(False)
        self._selection_changed()

    def selected_runs(self) -> list[RunInfo]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def select(self, rows: list[int]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for r in rows:
            self.table.selectRow(r)
        self.table.setSelectionMode(mode)

    def _selection_changed(self) -> None:
        runs = self.selected_runs()
        self.open_button.setEnabled(len(runs) == 1)
        self.resume_button.setEnabled(len(runs) == 1 and can_resume(runs[0]))
        self._plot_selected()
        self.selectionChanged.emit(runs)

    def _plot_selected(self) -> None:
        self.plot.clear()
        legend = self.plot.getPlotItem().legend
        if legend is not None:
            legend.clear()
        runs = self.selected_runs()
        histories = [(run, read_metrics(run.path)) for run in runs]
        keys = ["loss"] + sorted({k[4:] for _, rows in histories for row in rows for k in row
                                  if k.startswith("val_") and k != "val_loss"})
        current = self.metric.currentData() or "loss"
        self.metric.blockSignals(True)
        self.metric.clear()
        for k in keys:
            self.metric.addItem(k, k)
        self.metric.setCurrentIndex(max(0, self.metric.findData(current)))
        self.metric.blockSignals(False)
        what = self.metric.currentData() or "loss"
        self.plot.setTitle(f"{what} per epoch: validation solid, training dashed" if runs else
                           "select runs (Ctrl/Shift+click) to compare their curves", size="9pt", color=self._fg.name())
        for i, (run, rows) in enumerate(histories):
            c = QColor(color(i))
            for prefix, style in (("val_", Qt.PenStyle.SolidLine), ("train_", Qt.PenStyle.DashLine)):
                xs, ys = column(rows, prefix + what)
                if xs:
                    name = run.label if prefix == "val_" or not column(rows, "val_" + what)[0] else f"{run.label} (train)"
                    self.plot.plot(xs, ys, pen=pg.mkPen(c, width=2, style=style),
                                   name=name if prefix == "val_" or name.endswith("(train)") else None)

    def resume_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1 and can_resume(runs[0]):
            self.resumeRequested.emit(runs[0].path)

    def open_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1:
            self.openGraphRequested.emit(runs[0].graph_file)

    def curve_count(self) -> int:
        return sum(1 for item in self.plot.getPlotItem().listDataItems())


__all__ = ["RunsPanel"]
