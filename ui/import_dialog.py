"""File > Import PyTorch model…: a model from a .py file (a class or a function) or from torchvision.

The dialog asks for the source (`path/to/file.py:NAME` or `torchvision:NAME`,
with a Browse… button and torchvision's architectures when it is installed) and
one sample's input shape. Import runs the core's `nodetrainer.importer` (the
file's code runs, as importing it would); a model that cannot be expressed
shows its refusals, one line per op, and nothing is opened. On success the
graph opens as a new, unsaved document.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QVBoxLayout, QWidget)

from nodetrainer.errors import NodeTrainerError

from . import theme


class ImportDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import PyTorch model")
        self.result_graph = None
        self.summary = ""
        layout = QVBoxLayout(self)
        intro = QLabel("A graph from an existing model: a class (or a function returning a module) in a .py file, "
                       "or a torchvision architecture (no weights are downloaded).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        row = QHBoxLayout()
        self.source = QLineEdit()
        self.source.setObjectName("import_source")
        self.source.setPlaceholderText("path/to/model.py:Net  or  torchvision:resnet18")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.source, 1)
        row.addWidget(browse)
        form.addRow("source", row)
        self.torchvision = QComboBox()
        self.torchvision.setObjectName("torchvision_models")
        self.torchvision.addItem("(choose a torchvision model)")
        try:
            from nodetrainer.importer.sources import torchvision_names
            self.torchvision.addItems(torchvision_names())
        except Exception:  # not installed: the combo says so
            self.torchvision.setItemText(0, "(torchvision is not installed)")
            self.torchvision.setEnabled(False)
        self.torchvision.currentTextChanged.connect(self._chose_torchvision)
        form.addRow("", self.torchvision)
        self.shape = QLineEdit("3, 224, 224")
        self.shape.setObjectName("import_shape")
        self.shape.setToolTip("one sample's shape without the batch dimension; several inputs: separate with ;")
        form.addRow("input shape", self.shape)
        layout.addLayout(form)
        self.problems = QLabel()
        self.problems.setObjectName("import_problems")
        self.problems.setWordWrap(True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems.setStyleSheet(f"color: {theme.current().error.name()};")
        self.problems.hide()
        layout.addWidget(self.problems)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self.run)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 260)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Python file with the model", "", "Python files (*.py)")
        if path:
            self.source.setText(f"{path}:")
            self.source.setFocus()

    def _chose_torchvision(self, name: str) -> None:
        if self.torchvision.currentIndex() > 0:
            self.source.setText(f"torchvision:{name}")
            self.shape.setText("3, 299, 299" if name == "inception_v3" else "3, 224, 224")

    def run(self) -> bool:
        """Import now; True and accepted when the model became a graph, else its problems are shown."""
        from nodetrainer.importer import import_model
        from nodetrainer.importer.command import _graph_name, parse_shape
        from nodetrainer.importer.sources import load_source
        source = self.source.text().strip()
        try:
            shapes = [parse_shape(part) for part in self.shape.text().split(";") if part.strip()]
            module, name = load_source(source)
            result = import_model(module, shapes, _graph_name(name), source)
        except NodeTrainerError as exc:
            self._show([p.message if p.file == source else str(p) for p in exc.problems])
            return False
        except Exception as exc:  # the model's own code failed
            self._show([f"{type(exc).__name__}: {exc}"])
            return False
        self.result_graph = result.graph
        blocks = len(result.graph.blocks)
        self.summary = (f"Imported {source}: {len(result.graph.nodes)} nodes, {blocks} block type"
                        f"{'s' * (blocks != 1)}, {result.source_params:,} parameters")
        self.accept()
        return True

    def _show(self, lines: list[str]) -> None:
        self.problems.setText("\n".join(lines[:12]) + (f"\n… and {len(lines) - 12} more" if len(lines) > 12 else ""))
        self.problems.show()
