"""What an empty canvas shows: how to start, and starter graphs to open.

`EmptyCanvasHint` lays a short text and a row of buttons over the middle of the
canvas's viewport while the document has no nodes, and hides them as soon as it
has one (and shows them again when everything is deleted or File > New is used).
The text ignores the mouse, so a drop, a click or a double-click there reaches
the canvas as anywhere else; only the buttons take clicks. A button emits
`exampleChosen(path)`; the window opens that example as an unsaved copy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QGraphicsView, QHBoxLayout, QLabel, QPushButton, QWidget

from .. import theme

STEPS = (
    ("Drag", "a node from the palette onto the canvas"),
    ("Double-click", "a palette entry to append it after the selected node"),
    ("Tab", "on the canvas to search for a node type"),
    ("Drag", "from a node's output port to another node's input to connect them"),
)
GAP = 14  # pixels between the text and the buttons
STARTERS = ("digits_mlp.yaml", "digits_cnn.yaml", "digits_resnet.yaml")  # small, train in seconds on a CPU


def starter_examples(folder: Path) -> list[Path]:
    """The starter graphs found in the examples folder."""
    return [folder / name for name in STARTERS if (folder / name).is_file()]


def example_label(path: Path) -> str:
    """'digits_cnn.yaml' -> 'Digits CNN': a button's text."""
    spelled = {"cnn": "CNN", "mlp": "MLP", "resnet": "ResNet"}
    return " ".join(spelled.get(w, w.capitalize()) for w in path.stem.split("_"))


class EmptyCanvasHint(QObject):
    exampleChosen = Signal(object)  # Path

    def __init__(self, view: QGraphicsView, document, examples: Iterable[Path] = ()) -> None:
        super().__init__(view)
        self.view = view
        self.doc = document
        viewport = view.viewport()
        # children of the view, over its viewport: the viewport's own children would scroll with the canvas
        self.text = QLabel(view)
        self.text.setObjectName("emptyCanvasHint")
        self.text.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.buttons = QWidget(view)
        self.buttons.setObjectName("starterGraphs")
        row = QHBoxLayout(self.buttons)
        row.setContentsMargins(0, 0, 0, 0)
        self.example_buttons: dict[Path, QPushButton] = {}
        for path in examples:
            button = QPushButton(example_label(path))
            button.setToolTip(f"Open {path.name} as an unsaved copy")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _c=False, p=path: self.exampleChosen.emit(p))
            row.addWidget(button)
            self.example_buttons[path] = button
        viewport.installEventFilter(self)
        document.validated.connect(self.refresh)
        document.loaded.connect(self.refresh)
        theme.manager().changed.connect(self._restyle)
        self._restyle()

    @property
    def shown(self) -> bool:
        return not self.text.isHidden()

    def refresh(self, *_args) -> None:
        """Shown while the document has no nodes."""
        empty = self.doc.is_empty
        self.text.setVisible(empty)
        self.buttons.setVisible(empty and bool(self.example_buttons))
        if empty:
            self._place()

    def _restyle(self) -> None:
        t = theme.current()
        steps = "".join(f"<tr><td align='right'><b>{key}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>"
                        for key, what in STEPS)
        more = "or start from an example (more under File › Open Example):" if self.example_buttons else ""
        self.text.setText(
            f"<div style='color:{t.muted.name()}'>"
            f"<p style='font-size:15pt; color:{t.text.name()}'>Start building a network</p>"
            f"<table cellspacing='3'>{steps}</table><p>{more}</p></div>")
        self.refresh()

    def _place(self) -> None:
        area = self.view.viewport().geometry()
        self.text.adjustSize()
        self.buttons.adjustSize()
        height = self.text.height() + (GAP + self.buttons.height() if self.example_buttons else 0)
        top = area.top() + max(0, (area.height() - height) // 2)
        self.text.move(area.left() + max(0, (area.width() - self.text.width()) // 2), top)
        self.buttons.move(area.left() + max(0, (area.width() - self.buttons.width()) // 2),
                          top + self.text.height() + GAP)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.shown:
            self._place()
        return False


__all__ = ["EmptyCanvasHint", "example_label", "starter_examples"]
