"""Run controls: Train, Pause/Resume, Stop, the progress bar, the run's status and its messages.

Pure view: the dock sets what it shows (`show_state`, `show_phase`, `show_progress`,
`set_status`, `add_message`) and listens to its buttons (`trainClicked`,
`pauseClicked`, `stopClicked`, `savePlotsClicked`) and to clicks on messages
that name a node (`nodeClicked`).
"""
from __future__ import annotations

import math
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QSizePolicy, QStyle, QVBoxLayout, QWidget)

LEVEL_COLORS = {"error": "#d93636", "warning": "#c77800", "info": ""}
LEVEL_ICONS = {"error": QStyle.StandardPixmap.SP_MessageBoxCritical,
               "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
               "info": QStyle.StandardPixmap.SP_MessageBoxInformation}
PROGRESS_RANGE = 1000
STALE_PREFIX = "from the last run · "
PREPARING_TICK_MS = 200  # while a run is prepared, the bar counts the seconds it has waited


def fmt_eta(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(max(0.0, seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class RunControls(QWidget):
    trainClicked = Signal()
    pauseClicked = Signal()  # pause or resume, by the current state
    stopClicked = Signal()
    savePlotsClicked = Signal()
    nodeClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None, clock=time.monotonic) -> None:
        super().__init__(parent)
        self._clock = clock
        self._phase = "checking the graph"
        self._preparing_since = 0.0
        self._state = "idle"
        self._tick = QTimer(self)
        self._tick.setInterval(PREPARING_TICK_MS)
        self._tick.timeout.connect(self._show_preparing)
        style = self.style()
        self.train_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Train")
        self.train_button.setToolTip("Train a snapshot of the graph as it is now (Ctrl+Return)")
        self.train_button.setShortcut("Ctrl+Return")
        self.pause_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "Pause")
        self.stop_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop")
        self.stop_button.setToolTip("Stop after the current step; the weights and last.pt are kept")
        self.save_button = QPushButton("Save plots…")
        self.save_button.setToolTip("Save the plots as a PNG image")
        for b in (self.train_button, self.pause_button, self.stop_button):
            b.setMinimumWidth(84)
        self.train_button.clicked.connect(self.trainClicked)
        self.pause_button.clicked.connect(self.pauseClicked)
        self.stop_button.clicked.connect(self.stopClicked)
        self.save_button.clicked.connect(self.savePlotsClicked)

        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_RANGE)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("ready")
        self.progress.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.progress.setAutoFillBackground(True)  # opaque: its many repaints do not repaint the widgets behind it

        row = QHBoxLayout()
        row.addWidget(self.train_button)
        row.addWidget(self.pause_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.save_button)

        self.status = QLabel("Press Train to train the graph.")
        self.status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.status.setFixedHeight(self.status.fontMetrics().lineSpacing() + 4)  # a new text never re-lays out
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # one line, never wider
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.snapshot_note = QLabel()
        self.snapshot_note.setWordWrap(True)
        self.snapshot_note.hide()

        self.messages = QListWidget()
        self.messages.setMaximumHeight(90)
        self.messages.setWordWrap(True)
        self.messages.setToolTip("Problems and warnings of the run; click one that names a node to select it")
        self.messages.itemClicked.connect(self._clicked)
        self.messages.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.snapshot_note)
        layout.addWidget(self.messages)
        self.show_state("idle")

    # -- what is shown ------------------------------------------------------------------------
    def show_state(self, state: str) -> None:
        busy = state != "idle"
        self.train_button.setEnabled(not busy)
        self.pause_button.setEnabled(state in ("running", "paused", "preparing"))
        self.stop_button.setEnabled(state in ("running", "paused", "preparing"))
        paused = state == "paused"
        icon = QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause
        self.pause_button.setIcon(self.style().standardIcon(icon))
        self.pause_button.setText("Resume" if paused else "Pause")
        if state == "preparing":
            if self._state == "idle":  # a new run (not one resumed from a pause while it was prepared)
                self._phase = "checking the graph"
                self._preparing_since = self._clock()
            self._state = state
            self._tick.start()
            self.progress.setValue(0)
            self._show_preparing()
            return
        self._state = state
        self._tick.stop()
        if paused:
            self.progress.setFormat("paused — " + self.progress.format().removeprefix("paused — "))
        elif state == "stopping":
            self.progress.setFormat("stopping after this step…")

    def show_phase(self, text: str) -> None:
        """What preparing the run does now ("loading the data (builtin:digits)")."""
        self._phase = text
        if self._tick.isActive():
            self._show_preparing()

    def _show_preparing(self) -> None:
        waited = max(0.0, self._clock() - self._preparing_since)
        self.progress.setFormat(f"preparing: {self._phase}… {waited:.1f} s")

    def show_progress(self, epoch: int, epochs: int, step: int, steps: int, samples_per_s: float,
                      eta_s: float, start_epoch: int = 1) -> None:
        total = max(1, (epochs - start_epoch + 1) * steps)
        done = (epoch - start_epoch) * steps + step
        # text first: setValue repaints at once, with it (one paint an update, not two)
        self.progress.setFormat(f"epoch {epoch}/{epochs} · step {step}/{steps} · {samples_per_s:,.0f} samples/s · "
                                f"ETA {fmt_eta(eta_s)}")
        self.progress.setValue(int(PROGRESS_RANGE * min(1.0, done / total)))

    def finish_progress(self, text: str, full: bool) -> None:
        if full:
            self.progress.setValue(PROGRESS_RANGE)
        self.progress.setFormat(text)

    def set_status(self, html: str, level: str = "info") -> None:
        c = LEVEL_COLORS.get(level, "")
        self.status.setStyleSheet(f"color: {c};" if c else "")
        self.status.setText(html)

    def set_snapshot_note(self, text: str, emphasis: bool = False) -> None:
        """What the run trains: a plain note goes in the status line's tooltip (the plots keep the room); an
        emphasized one (the graph was edited during the run) shows as its own amber line."""
        self.status.setToolTip(text)
        self.snapshot_note.setVisible(bool(text) and emphasis)
        self.snapshot_note.setStyleSheet("color: #c77800; font-weight: bold;")
        self.snapshot_note.setText(text if emphasis else "")

    def clear_messages(self) -> None:
        self.messages.clear()
        self.messages.hide()

    def add_message(self, text: str, level: str = "warning", node: str | None = None) -> None:
        prefix = f"node {node}: " if node and f"node {node}" not in text else ""
        item = QListWidgetItem(self.style().standardIcon(LEVEL_ICONS.get(level, LEVEL_ICONS["info"])), prefix + text)
        item.setData(Qt.ItemDataRole.UserRole, node)
        if LEVEL_COLORS.get(level):
            item.setForeground(QColor(LEVEL_COLORS[level]))
        if node:
            item.setToolTip(f"Click to select node {node} in the editor")
        self.messages.addItem(item)
        self.messages.show()
        self.messages.scrollToBottom()

    def mark_messages_stale(self) -> None:
        """The graph changed since the run: its messages stay readable, greyed and marked as from the last run."""
        grey = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
        for i in range(self.messages.count()):
            item = self.messages.item(i)
            if not item.text().startswith(STALE_PREFIX):
                item.setText(STALE_PREFIX + item.text())
            item.setForeground(grey)

    def message_texts(self) -> list[str]:
        return [self.messages.item(i).text() for i in range(self.messages.count())]

    def _clicked(self, item: QListWidgetItem) -> None:
        node = item.data(Qt.ItemDataRole.UserRole)
        if node:
            self.nodeClicked.emit(str(node))


__all__ = ["RunControls", "fmt_eta"]
