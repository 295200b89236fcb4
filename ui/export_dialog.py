"""File > Export…: the graph, or one of its runs' kept weights, as Python, ONNX, INT8 ONNX or a training script.

The dialog only gathers choices and shows outcomes; nodetrainer.export does the
work (and every check) in a background thread, so the window stays responsive
while ONNX is traced or INT8 calibrated. The source is "the graph as it is" (the
document, unsaved edits included) or a run of this graph from its runs folder
(nodetrainer.training.history.list_runs); INT8 needs a run. After writing, the
result panel shows what the export printed: the files, the largest difference
from torch, and for INT8 both accuracies and sizes.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QVBoxLayout, QWidget)

from nodetrainer.errors import NodeTrainerError
from nodetrainer.export import ExportSource, default_output, export, open_source
from nodetrainer.training.history import RunInfo, list_runs

TARGETS = [("Python module (.py)", "python"), ("ONNX model (.onnx)", "onnx"),
           ("ONNX INT8, quantized (.int8.onnx)", "onnx-int8"), ("Training script (.py)", "script")]
FILTERS = {"python": "Python files (*.py)", "script": "Python files (*.py)", "onnx": "ONNX models (*.onnx)",
           "onnx-int8": "ONNX models (*.onnx)"}
AS_IS = "The graph as it is"


class _Job(QObject):
    """Runs one export off the GUI thread; its signals arrive in the GUI thread."""

    finished = Signal(object)  # ExportResult
    failed = Signal(str)  # one line per problem


class ExportDialog(QDialog):
    def __init__(self, graph: Any, runs_dir: Path, start_dir: Path, parent: QWidget | None = None,
                 ask_path: Callable[[str, str, str], str | None] | None = None, name: str | None = None) -> None:
        """`graph` is the document's graph; `name` what the exported class is named after (default: the
        graph's name)."""
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.graph = graph
        self.name = name or graph.name
        self.start_dir = Path(start_dir)
        self.ask_path = ask_path or self._ask_path
        self.runs = [r for r in list_runs(runs_dir, graph.name) if _has_weights(r)]
        self.result = None
        self._job: _Job | None = None

        self.target = QComboBox()
        for label, key in TARGETS:
            self.target.addItem(label, key)
        self.source = QComboBox()
        self.source.addItem(AS_IS, None)
        for run in self.runs:
            self.source.addItem(_run_label(run), str(run.path))
        self.source.setToolTip("A run exports its kept weights, and the normalization fitted on its training split "
                               "travels with them")
        self.output = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.output, 1)
        where.addWidget(browse)
        form = QFormLayout()
        form.addRow("Export as", self.target)
        form.addRow("Source", self.source)
        form.addRow("File", where)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome.setMinimumWidth(460)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(self.note)
        column.addWidget(self.outcome)
        column.addWidget(self.buttons)
        if self.runs:
            self.source.setCurrentIndex(1)  # the newest run: its weights are what a user takes out
        self.target.currentIndexChanged.connect(lambda _i: self._update())
        self.source.currentIndexChanged.connect(lambda _i: self._update())
        self._update()

    # -- choices -------------------------------------------------------------------------------
    @property
    def target_key(self) -> str:
        return self.target.currentData()

    def set_target(self, key: str) -> None:
        self.target.setCurrentIndex(self.target.findData(key))

    def set_source(self, run_path: str | None) -> None:
        self.source.setCurrentIndex(self.source.findData(run_path) if run_path else 0)

    def export_source(self) -> ExportSource:
        """The chosen source: the document's graph (checked now) or a run folder."""
        path = self.source.currentData()
        if path:
            return open_source(path)
        from nodetrainer.errors import GraphError
        from nodetrainer.validate import check_graph
        graph = self.graph.copy()
        graph.name = self.name
        problems = check_graph(graph).problems
        if problems:
            raise GraphError(problems)
        return ExportSource(graph, Path(graph.path) if graph.path else Path(f"{graph.name}.yaml"))

    def _update(self) -> None:
        needs_run = self.target_key == "onnx-int8" and self.source.currentData() is None
        self.note.setText("INT8 is calibrated and measured on a run's data: choose one of this graph's runs "
                          "(train the graph first)." if needs_run else _hint(self.target_key))
        self.export_button.setEnabled(not needs_run and self._job is None)
        stem = default_output(ExportSource(self.graph, Path(".")), self.target_key).name
        current = Path(self.output.text()) if self.output.text() else None
        folder = current.parent if current else self.start_dir
        self.output.setText(str(folder / stem))

    def _browse(self) -> None:
        path = self.ask_path("Export to", self.output.text(), FILTERS[self.target_key])
        if path:
            self.output.setText(path)

    def _ask_path(self, title: str, suggestion: str, file_filter: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, title, suggestion, file_filter)
        return path or None

    # -- exporting -------------------------------------------------------------------------------
    def start(self) -> None:
        """Exports in a background thread; `outcome` shows the result or the one-line reasons."""
        if self._job is not None:
            return
        out = Path(self.output.text()).expanduser()
        if not out.parent.is_dir():
            self._failed(f"The folder {out.parent} does not exist.")
            return
        try:
            source = self.export_source()
        except NodeTrainerError as exc:
            self._failed("\n".join(str(p) for p in exc.problems))
            return
        job = _Job(self)
        job.finished.connect(self._finished)
        job.failed.connect(self._failed)
        self._job = job
        self.export_button.setEnabled(False)
        self.outcome.setText(f"Exporting to {out.name}… (checking it against torch)")
        target = self.target_key

        def work() -> None:
            try:
                job.finished.emit(export(source, target, out))
            except NodeTrainerError as exc:
                job.failed.emit("\n".join(str(p) for p in exc.problems))
            except OSError as exc:
                job.failed.emit(f"Could not write {out}: {exc.strerror or exc}")
            except Exception as exc:  # a bug: one line, not a traceback dialog
                job.failed.emit(f"Export failed: {type(exc).__name__}: {exc}")

        threading.Thread(target=work, name="export", daemon=True).start()

    @property
    def busy(self) -> bool:
        return self._job is not None

    def _finished(self, result: Any) -> None:
        self._job = None
        self.result = result
        self.outcome.setText("\n".join(result.lines))
        self.outcome.setStyleSheet("")
        self._update()

    def _failed(self, text: str) -> None:
        self._job = None
        self.result = None
        self.outcome.setText(text)
        self.outcome.setStyleSheet("color: #d93636;")
        self._update()


def _has_weights(run: RunInfo) -> bool:
    return (run.path / "best.pt").exists() or (run.path / "last.pt").exists()


def _run_label(run: RunInfo) -> str:
    parts = [f"Run {run.label}"]
    if run.stop_reason:
        parts.append(run.stop_reason.replace("_", " "))
    metric = run.best_metric
    if metric:
        parts.append(f"{metric[0]} {metric[1]:.4g}")
    return " · ".join(parts)


def _hint(target: str) -> str:
    return {"python": "A standalone module needing only torch; from a run also its weights (.pt) and "
                      "load_trained(path), taking raw samples.",
            "onnx": "Opset 18, dynamic batch, inputs and outputs named after the nodes; checked with onnxruntime.",
            "onnx-int8": "Static INT8 quantization by onnxruntime, calibrated on up to 1,000 training samples; "
                         "writes a JSON report beside it.",
            "script": "A training script: python FILE trains on one process, torchrun --nproc-per-node N FILE on "
                      "N (DDP)."}[target]


__all__ = ["ExportDialog", "TARGETS"]
