"""The Problems panel: every problem of the document, located; clicking one selects its node.

The list is exactly `Document.problems`: what reading the file found (until it is
saved) followed by `check_graph`'s report, the same text `nodetrainer check` prints.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle, QVBoxLayout, QWidget

from nodetrainer.errors import Problem

from ..document import Document

ROLE = Qt.ItemDataRole.UserRole


def problem_text(problem: Problem, with_line: bool = True) -> str:
    """'line 12 · conv1: message' — the located message without the file name."""
    where = []
    if problem.line is not None and with_line:
        where.append(f"line {problem.line}")
    head = " · ".join(where)
    node = f"{problem.node}: " if problem.node else ""
    if problem.block:
        node = f"block {problem.block} · {node}"
    return f"{head} · {node}{problem.message}" if head else f"{node}{problem.message}"


class ProblemsPanel(QWidget):
    nodeActivated = Signal(str)
    problemActivated = Signal(object)  # the Problem clicked (with its node path and block, if any)
    countChanged = Signal(int)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        layout.addWidget(self.list)
        self._shown: list[Problem] | None = None
        self._lines = True
        self._empty = False
        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        document.validated.connect(self.refresh)
        document.undo_stack.cleanChanged.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args) -> None:
        problems = self.doc.problems
        # line numbers point into the file on disk: shown while the document matches it (reading
        # problems always match the file they were found in)
        lines = not self.doc.modified
        if problems == self._shown and lines == self._lines and self.doc.is_empty == self._empty:
            return
        self._shown, self._lines, self._empty = list(problems), lines, self.doc.is_empty
        read = set(map(id, self.doc.read_problems))
        self.list.clear()
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
        ok_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton)
        if not problems:
            empty = "Nothing here yet: add nodes from the palette to start."
            item = QListWidgetItem(ok_icon, empty if self.doc.is_empty else "No problems: the graph is valid.")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.list.addItem(item)
        for problem in problems:
            item = QListWidgetItem(icon, problem_text(problem, lines or id(problem) in read))
            item.setToolTip(str(problem) if lines else problem_text(problem, False))
            item.setData(ROLE, problem.node)
            item.setData(ROLE + 1, problem)
            self.list.addItem(item)
        self.countChanged.emit(len(problems))

    def texts(self) -> list[str]:
        return [p.message for p in self._shown or []]

    def _clicked(self, item: QListWidgetItem) -> None:
        node = item.data(ROLE)
        problem = item.data(ROLE + 1)
        if problem is not None and (problem.block or "/" in (problem.node or "")):
            self.problemActivated.emit(problem)
        elif node:
            self.nodeActivated.emit(node)
