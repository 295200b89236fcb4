"""The result header: what the last run came to, readable in one second.

A large number (the test metric), the validation value beside it, the stop
reason in words with the best epoch and the duration, and a hint when there is
something to do next. While a run trains it shows the best value so far; a run
that diverged or failed shows only what went wrong and where, in red. A switch
picks the split of the confusion matrix (test or validation) and, for a run the
user stopped, Resume continues it. Pure view: the dock sets an `Outcome`
(outcome.py) and listens to `splitChosen` and `resumeClicked`.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .outcome import SPLITS, Outcome

LEVEL_COLORS = {"error": "#d93636", "warning": "#c77800", "ok": ""}


def _label(point_delta: int = 0, bold: bool = False) -> QLabel:
    label = QLabel()
    font = QFont(label.font())
    font.setPointSizeF(max(6.0, font.pointSizeF() + point_delta))
    font.setBold(bold)
    label.setFont(font)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ResultHeader(QFrame):
    splitChosen = Signal(str)  # val or test: the split the confusion matrix shows
    resumeClicked = Signal()
    saveElsewhereClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.outcome: Outcome | None = None
        self.value = _label(10, bold=True)
        self.caption = _label(-1)
        self.side_value = _label(4, bold=True)
        self.side_caption = _label(-1)
        self.title = _label(2, bold=True)
        self.detail = _label(0)
        self.detail.setWordWrap(True)
        self.hint = _label(0)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {LEVEL_COLORS['warning']};")

        self.split = QComboBox()
        self.split.setToolTip("The split the confusion matrix (or predicted-against-true plot) shows")
        self.split.activated.connect(lambda _i: self.splitChosen.emit(self.split.currentData()))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue this run from its last checkpoint (last.pt)")
        self.resume_button.clicked.connect(self.resumeClicked)
        self.save_button = QPushButton("Save elsewhere…")
        self.save_button.setToolTip("Write this run (graph, weights, metrics, summary) to another folder")
        self.save_button.clicked.connect(self.saveElsewhereClicked)

        main = QVBoxLayout()
        main.setSpacing(0)
        main.addWidget(self.value)
        main.addWidget(self.caption)
        side = QVBoxLayout()
        side.setSpacing(0)
        side.addStretch(1)
        side.addWidget(self.side_value)
        side.addWidget(self.side_caption)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.detail)
        text.addWidget(self.hint)
        text.addStretch(1)
        actions = QVBoxLayout()
        actions.addWidget(self.split)
        actions.addWidget(self.resume_button)
        actions.addWidget(self.save_button)
        actions.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.setSpacing(16)
        row.addLayout(main)
        row.addLayout(side)
        row.addLayout(text, 1)
        row.addLayout(actions)
        self.clear()

    # -- what is shown -------------------------------------------------------------------------
    def clear(self) -> None:
        """No run yet (or a new one starting)."""
        self.outcome = None
        self.show_outcome(Outcome("ok", ""))
        self.hide()

    def show_live(self, text: str) -> None:
        """While a run trains: one line, e.g. the best validation value so far."""
        self.outcome = None
        for label in (self.value, self.caption, self.side_value, self.side_caption, self.hint):
            label.hide()
        self.split.hide()
        self.resume_button.hide()
        self.save_button.hide()
        self.title.hide()  # one line while training: the plots keep the room
        self.detail.setText(f"<b>Training</b> · {text}")
        self.detail.show()
        self.show()

    def _mute_captions(self) -> None:
        """Captions in a colour between text and background, so they read as secondary in either theme."""
        pal = self.palette()
        fg, bg = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
        mix = QColor(*(round(0.6 * a + 0.4 * b) for a, b in zip(fg.getRgb()[:3], bg.getRgb()[:3])))
        for caption in (self.caption, self.side_caption):
            caption.setStyleSheet(f"color: {mix.name()};")

    def show_outcome(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self._mute_captions()
        color = LEVEL_COLORS.get(outcome.level, "")
        self.title.setStyleSheet(f"color: {color};" if color else "")
        self.title.setText(outcome.title)
        self.title.setVisible(bool(outcome.title))
        for label, text in ((self.value, outcome.value), (self.caption, outcome.caption),
                            (self.side_value, outcome.side_value), (self.side_caption, outcome.side_caption),
                            (self.detail, outcome.detail), (self.hint, outcome.hint)):
            label.setText(text)
            label.setVisible(bool(text))
        self.resume_button.setVisible(outcome.resumable)
        self.save_button.setVisible(bool(outcome.unsaved))
        self.split.setVisible(self.split.count() > 1 and outcome.level != "error")
        self.show()

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    def set_splits(self, splits: list[str], current: str | None) -> None:
        """The splits predictions exist for (the switch shows when there are two)."""
        self.split.clear()
        for split in splits:
            self.split.addItem(f"{SPLITS.get(split, split)} split", split)
        if current in splits:
            self.split.setCurrentIndex(splits.index(current))
        self.split.setVisible(len(splits) > 1 and (self.outcome is None or self.outcome.level != "error"))


__all__ = ["ResultHeader"]
