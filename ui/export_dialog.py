"""File > Export…: the graph, or one of its runs' kept weights, as Python, ONNX, INT8 ONNX or a training script.

The dialog only gathers choices and shows outcomes: the export itself is
`nodetrainer export SOURCE --to TARGET -o OUT`, run in a separate process
(QProcess), so the window stays responsive while ONNX is traced or INT8
calibrated. (Not a thread: torch.export registers operator kernels process-wide,
and doing that beside the GUI thread's Python work was seen to deadlock.) The
source is "the graph as it is" (the document, unsaved edits included, checked
here first and handed over as a temporary file with absolute data paths) or a
run of this graph from its runs folder (nodetrainer.training.history.list_runs);
INT8 needs a run. Success or failure is the command's exit status; the result
panel shows what it printed: the files, the largest difference from torch, and
for INT8 both accuracies and sizes, or its one-line refusals.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QVBoxLayout, QWidget)

from nodetrainer.errors import GraphError
from nodetrainer.export import ExportSource, default_output
from nodetrainer.training.history import RunInfo, list_runs

TARGETS = [("Python module (.py)", "python"), ("ONNX model (.onnx)", "onnx"),
           ("ONNX INT8, quantized (.int8.onnx)", "onnx-int8"), ("Training script (.py)", "script")]
FILTERS = {"python": "Python files (*.py)", "script": "Python files (*.py)", "onnx": "ONNX models (*.onnx)",
           "onnx-int8": "ONNX models (*.onnx)"}
AS_IS = "The graph as it is"
ROOT = Path(__file__).resolve().parents[1]  # the nodetrainer the app runs is the one the export process imports


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
        self.succeeded: bool | None = None  # the last export's outcome (None: none finished yet)
        self.process: QProcess | None = None
        self._temp: str | None = None

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

    def source_argument(self) -> str:
        """What the export command reads: the chosen run folder, or the document's graph (checked now; GraphError
        listing its problems) written to a temporary file with its data paths made absolute."""
        path = self.source.currentData()
        if path:
            return path
        from nodetrainer.export.source import with_absolute_data
        from nodetrainer.graphfile import dump_graph
        from nodetrainer.validate import check_graph
        problems = check_graph(self.graph).problems
        if problems:
            raise GraphError(problems)
        base = Path(self.graph.path).parent if self.graph.path else Path.cwd()
        graph = with_absolute_data(self.graph, base)
        graph.name = self.name
        self._temp = tempfile.mkdtemp(prefix="nodetrainer-export-")
        file = Path(self._temp) / (Path(self.graph.path).name if self.graph.path else f"{graph.name}.yaml")
        file.write_text(dump_graph(graph), encoding="utf-8")
        return str(file)

    def _update(self) -> None:
        needs_run = self.target_key == "onnx-int8" and self.source.currentData() is None
        self.note.setText("INT8 is calibrated and measured on a run's data: choose one of this graph's runs "
                          "(train the graph first)." if needs_run else _hint(self.target_key))
        self.export_button.setEnabled(not needs_run and not self.busy)
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
        """Starts `nodetrainer export` in another process; `outcome` shows what it printed when it ends."""
        if self.busy:
            return
        out = Path(self.output.text()).expanduser()
        if not out.parent.is_dir():
            self._show(False, f"The folder {out.parent} does not exist.")
            return
        try:
            source = self.source_argument()
        except GraphError as exc:
            self._show(False, "\n".join(str(p) for p in exc.problems))
            return
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), env.value("PYTHONPATH")) if p))
        process.setProcessEnvironment(env)
        process.setProgram(sys.executable)
        process.setArguments(["-m", "nodetrainer.cli", "export", source, "--to", self.target_key, "-o", str(out)])
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._not_started)
        self.process = process
        self.succeeded = None
        self.export_button.setEnabled(False)
        self.outcome.setStyleSheet("")
        self.outcome.setText(f"Exporting to {out.name}… (checking it against torch)")
        process.start()

    @property
    def busy(self) -> bool:
        return self.process is not None

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        process, self.process = self.process, None
        text = bytes(process.readAllStandardError()).decode("utf-8", "replace").strip() if process else ""
        ok = status == QProcess.ExitStatus.NormalExit and code == 0
        self._show(ok, text or ("Exported." if ok else f"The export ended with status {code}."))

    def _not_started(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            self.process = None
            self._show(False, f"Could not start the export: {sys.executable} did not run.")

    def _show(self, ok: bool, text: str) -> None:
        self.succeeded = ok
        if self._temp:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None
        self.outcome.setText(text)
        self.outcome.setStyleSheet("" if ok else "color: #d93636;")
        self._update()

    def done(self, result: int) -> None:  # noqa: D401 - Qt's name: closing ends an export still running
        if self.process is not None:
            self.process.finished.disconnect(self._finished)
            self.process.kill()
            self.process.waitForFinished(5000)
            self.process = None
        if self._temp:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None
        super().done(result)


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
