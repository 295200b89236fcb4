"""The Settings tab's "CPU threads" field: how many threads a run trains with on this computer.

Not part of the graph file (a machine's cores are not the model's business): the
dock hands the value to the training worker. "automatic" is the app's default,
torch's thread count less one core left for the window (nodetrainer.training.threads),
and the line under the field says what a run will use, e.g.
"threads: 1 of 2 (one left for the window)".
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QSpinBox

from nodetrainer.training.threads import app_default, cores, describe

from .. import theme

AUTOMATIC = "automatic"


class ThreadsField(QGroupBox):
    """`changed(value)`: the thread count chosen, or None for automatic."""

    changed = Signal(object)

    def __init__(self, total: int | None = None, torch_threads: int | None = None) -> None:
        super().__init__("This computer")
        self.total = total or cores()
        self._torch_threads = torch_threads  # torch's count before the app changes it (tests give one)
        form = QFormLayout(self)
        self.spin = QSpinBox()
        self.spin.setRange(0, max(2 * self.total, 1))
        self.spin.setSpecialValueText(AUTOMATIC)
        self.spin.setToolTip("CPU threads for training on the CPU; automatic leaves one core to the window")
        self.spin.valueChanged.connect(self._changed)
        form.addRow("CPU threads", self.spin)
        self.note = QLabel()
        self.note.setWordWrap(True)
        form.addRow("", self.note)
        self._show()

    @property
    def value(self) -> int | None:
        return self.spin.value() or None

    def set_value(self, value: int | None) -> None:
        self.spin.setValue(value or 0)

    def effective(self) -> int:
        """The thread count a CPU run will use."""
        if self.value is not None:
            return self.value
        return app_default("cpu", self._torch_threads, self.total)

    def _changed(self, _v: int) -> None:
        self._show()
        self.changed.emit(self.value)

    def _show(self) -> None:
        self.note.setStyleSheet(f"color: {theme.current().muted.name()};")
        self.note.setText(describe(self.effective(), self.total, left_for_ui=self.value is None))
