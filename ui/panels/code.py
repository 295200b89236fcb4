"""The Code view: the generated PyTorch module, the same text `nodetrainer export --to python` writes.

The text comes from `nodetrainer.export.export_python`, refreshed shortly after
each edit while the view is visible. While the graph is invalid the view says so
and lists the problems as comments. Python is highlighted by a small
QSyntaxHighlighter (keywords, strings, numbers, comments, `self`).

No line is cut at the edge of a narrow dock: long lines wrap (by default), each
continuation indented one step deeper than the line it continues, or, with "Wrap
long lines" unticked, the view scrolls sideways.
"""
from __future__ import annotations

import keyword
import re

from PySide6.QtGui import (QColor, QFont, QFontDatabase, QFontMetricsF, QSyntaxHighlighter, QTextBlockFormat,
                           QTextCharFormat, QTextCursor, QTextOption)
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QTextEdit, QVBoxLayout, QWidget

from nodetrainer.errors import GraphError
from nodetrainer.export import export_python

from .. import theme
from ..document import Document
from .lazy import RefreshWhenVisible


NEW_GRAPH_NAME = "untitled"  # the name ui.document gives a new graph


def export_name(doc: Document) -> str:
    """What the exported class is named after: the graph's name, or, while a graph saved to a file still
    has a new graph's name, the file's name (`mnist_cnn.yaml` exports `class MnistCnn`, not `Untitled`)."""
    name = doc.graph.name
    if name == NEW_GRAPH_NAME and doc.path is not None:
        return doc.path.stem
    return name


def export_source(doc: Document) -> str:
    """The module that Export as Python writes and the Code view shows (GraphError while invalid)."""
    graph, name = doc.graph, export_name(doc)
    if name != graph.name:
        graph = graph.copy()
        graph.name = name
    return export_python(graph)


def _fmt(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(color))
    if bold:
        f.setFontWeight(QFont.Weight.Bold)
    f.setFontItalic(italic)
    return f


class PythonHighlighter(QSyntaxHighlighter):
    def __init__(self, document) -> None:
        super().__init__(document)
        self.set_theme()

    def set_theme(self) -> None:
        dark = theme.current().name == "dark"
        palette = {
            "keyword": "#c678dd" if dark else "#8a2be2", "builtin": "#56b6c2" if dark else "#0e7c86",
            "string": "#98c379" if dark else "#2e7d32", "number": "#d19a66" if dark else "#b35900",
            "comment": "#7f8896" if dark else "#7a8290", "self": "#e06c75" if dark else "#b03a48",
            "def": "#61afef" if dark else "#1f5fbf",
        }
        kw = r"\b(" + "|".join(keyword.kwlist) + r")\b"
        self.rules = [
            (re.compile(kw), _fmt(palette["keyword"], bold=True)),
            (re.compile(r"\b(torch|nn|super|print|tuple|range|len)\b"), _fmt(palette["builtin"])),
            (re.compile(r"\bself\b"), _fmt(palette["self"], italic=True)),
            (re.compile(r"(?<=\bdef )\w+|(?<=\bclass )\w+"), _fmt(palette["def"], bold=True)),
            (re.compile(r"\b\d+(\.\d+)?(e-?\d+)?\b"), _fmt(palette["number"])),
            (re.compile(r"\"[^\"\n]*\"|'[^'\n]*'"), _fmt(palette["string"])),
            (re.compile(r"#[^\n]*"), _fmt(palette["comment"], italic=True)),
        ]
        self.docstring = _fmt(palette["string"])
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for pattern, fmt in self.rules:
            for m in pattern.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), fmt)
        # triple-quoted docstrings across lines: state 1 = inside
        start = 0
        inside = self.previousBlockState() == 1
        while True:
            if inside:
                end = text.find('"""', start)
                if end < 0:
                    self.setFormat(start, len(text) - start, self.docstring)
                    self.setCurrentBlockState(1)
                    return
                self.setFormat(start, end + 3 - start, self.docstring)
                start, inside = end + 3, False
            else:
                begin = text.find('"""', start)
                if begin < 0:
                    self.setCurrentBlockState(0)
                    return
                start, inside = begin + 3, True
                self.setFormat(begin, 3, self.docstring)


class CodeView(RefreshWhenVisible, QWidget):
    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.editor = QTextEdit(self)
        self.editor.setReadOnly(True)
        self.editor.setAcceptRichText(False)
        self.editor.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setFamily("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.editor.setFont(font)
        self.wrap = QCheckBox("Wrap long lines")
        self.wrap.setObjectName("code_wrap")
        self.wrap.setToolTip("Wrap lines at the edge of the view (continuations indented), or scroll sideways")
        self.wrap.toggled.connect(self.set_wrap)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 0)
        bar.addStretch(1)
        bar.addWidget(self.wrap)
        layout.addLayout(bar)
        layout.addWidget(self.editor)
        self.wrap.setChecked(True)
        self.highlighter = PythonHighlighter(self.editor.document())
        self.follow(document.validated, 300)
        theme.manager().changed.connect(self.highlighter.set_theme)

    def code(self) -> str:
        """The export text, or comments listing why there is none yet."""
        if not self.doc.graph.nodes:
            return "# An empty graph: add an Input, some layers and an Output, and its code appears here.\n"
        problems = self.doc.problems
        if not problems:
            try:
                return export_source(self.doc)
            except GraphError as exc:
                problems = exc.problems
        lines = ["# The graph is not valid yet, so there is no code to show.",
                 "# Fix these problems (see the Problems panel):", "#"]
        lines += [f"#   - {p.node + ': ' if p.node else ''}{p.message}" for p in problems]
        return "\n".join(lines) + "\n"

    def set_wrap(self, on: bool) -> None:
        """Wrap long lines at the view's edge, or (off) keep them whole and scroll sideways."""
        mode = QTextEdit.LineWrapMode
        self.editor.setLineWrapMode(mode.WidgetWidth if on else mode.NoWrap)
        if self.wrap.isChecked() != on:
            self.wrap.setChecked(on)

    def refresh(self) -> None:
        text = self.code()
        if text != self.editor.toPlainText():
            bar = self.editor.verticalScrollBar()
            keep = bar.value()
            self.editor.setPlainText(text)
            self._hang_continuations()
            bar.setValue(keep)

    def _hang_continuations(self) -> None:
        """Indents each line's wrapped continuations one step (4 columns) deeper than the line itself."""
        column = QFontMetricsF(self.editor.font()).horizontalAdvance(" ")
        cursor = QTextCursor(self.editor.document())
        cursor.beginEditBlock()
        block = self.editor.document().begin()
        while block.isValid():
            text = block.text()
            depth = (len(text) - len(text.lstrip(" ")) + 4) * column
            fmt = QTextBlockFormat(block.blockFormat())
            fmt.setLeftMargin(depth)
            fmt.setTextIndent(-depth)
            cursor.setPosition(block.position())
            cursor.setBlockFormat(fmt)
            block = block.next()
        cursor.endEditBlock()

    def text(self) -> str:
        self.refresh_if_stale()
        return self.editor.toPlainText()
