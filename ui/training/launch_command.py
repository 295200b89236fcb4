"""The command line that runs this graph on several GPUs or machines, ready to copy.

The app trains on one process; a run on N GPUs (or N CPU processes) per machine
and M machines goes through `nodetrainer train FILE --nproc-per-node N` (see
nodetrainer/training/distributed.py, which also builds the text). The box shows
that command for the graph's file, one line per machine when M > 1, and a Copy
button; an unsaved graph is asked to be saved first, since the command names its file.
The box does not subscribe to the graph: the Training panel refreshes it when it
reloads, and it refreshes itself when shown and before copying (the file's path
changes on Save As, which sends no graph event).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSpinBox, QVBoxLayout

from nodetrainer.training.distributed import launch_command


class LaunchCommand(QGroupBox):
    """'Several GPUs or machines': processes per machine, machines, and the command to run."""

    def __init__(self, graph: Any, parent: Any = None) -> None:
        super().__init__("Several GPUs or machines", parent)
        self.graph = graph
        self.setToolTip("The app trains on one process. This command trains the saved graph file on several "
                        "processes (DDP: one per GPU, or gloo on the CPU) through torch.distributed.run.")
        self.nproc = QSpinBox()
        self.nproc.setRange(1, 64)
        self.nproc.setValue(2)
        self.nproc.setToolTip("processes per machine: one per GPU")
        self.nnodes = QSpinBox()
        self.nnodes.setRange(1, 1024)
        self.nnodes.setToolTip("machines taking part; each runs its own line")
        counts = QHBoxLayout()
        counts.addWidget(QLabel("processes per machine"))
        counts.addWidget(self.nproc)
        counts.addSpacing(12)
        counts.addWidget(QLabel("machines"))
        counts.addWidget(self.nnodes)
        counts.addStretch(1)
        self.command = QPlainTextEdit()
        self.command.setReadOnly(True)
        self.command.setMaximumHeight(64)
        self.command.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.copy = QPushButton("Copy")
        self.copy.clicked.connect(self.copy_command)
        self.note = QLabel()
        self.note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.command, 1)
        row.addWidget(self.copy)
        column = QVBoxLayout(self)
        column.addLayout(counts)
        column.addLayout(row)
        column.addWidget(self.note)
        self.nproc.valueChanged.connect(lambda _v: self.refresh())
        self.nnodes.valueChanged.connect(lambda _v: self.refresh())
        self.set_graph(graph)

    def set_graph(self, graph: Any) -> None:
        self.graph = graph
        self.refresh()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name; the file may have been saved meanwhile
        self.refresh()
        super().showEvent(event)

    def text(self) -> str:
        return self.command.toPlainText()

    def refresh(self) -> None:
        path = getattr(self.graph, "path", None)
        file = str(path) if path else f"{getattr(self.graph, 'name', 'graph')}.yaml"
        lines = launch_command(file, self.nproc.value(), self.nnodes.value())
        self.command.setPlainText("\n".join(lines))
        notes = []
        if not path:
            notes.append("Save the graph first: the command trains its file.")
        if self.nnodes.value() > 1:
            notes.append("Run line k on machine k; MASTER_ADDR is the address of the first machine.")
        self.note.setText(" ".join(notes))
        self.note.setVisible(bool(notes))
        self.copy.setEnabled(bool(path))

    def copy_command(self) -> None:
        self.refresh()
        QGuiApplication.clipboard().setText(self.text())
