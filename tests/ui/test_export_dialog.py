"""File > Export… (every target, from the graph or a run) and the command line for several GPUs or machines."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from PySide6.QtGui import QGuiApplication

from nodetrainer.graphfile import load_graph
from nodetrainer.training.run import prepare
from ui.training.launch_command import LaunchCommand

ROOT = Path(__file__).resolve().parents[2]


def _open(window, tmp_path, name="digits_mlp.yaml") -> Path:
    path = tmp_path / name
    shutil.copy(ROOT / "graphs" / name, path)
    assert window.open_path(path)
    return path


def test_export_dialog_writes_onnx_of_the_graph_as_edited_and_shows_the_difference(window, qtbot, tmp_path):
    _open(window, tmp_path)
    window.doc.graph.set_params("hidden1", {"out_features": 40})  # an unsaved edit: exported as it is
    dialog = window.export_dialog()
    assert [dialog.source.itemText(i) for i in range(dialog.source.count())] == ["The graph as it is"]  # no runs yet
    dialog.set_target("onnx-int8")
    assert not dialog.export_button.isEnabled() and "choose one of this graph's runs" in dialog.note.text()
    dialog.set_target("onnx")
    assert dialog.export_button.isEnabled()
    assert Path(dialog.output.text()) == tmp_path / "digits_mlp.onnx"
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=120_000)
    assert dialog.succeeded, dialog.outcome.text()
    assert "max abs difference from torch" in dialog.outcome.text(), dialog.outcome.text()
    session = ort.InferenceSession(str(tmp_path / "digits_mlp.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert session.run(None, {"image": np.zeros((2, 1, 8, 8), "float32")})[0].shape == (2, 10)
    shapes = {tuple(t.dims) for t in onnx.load(str(tmp_path / "digits_mlp.onnx")).graph.initializer}
    assert (40, 64) in shapes or (64, 40) in shapes  # the edit, not the file on disk
    assert not list(Path(tempfile.gettempdir()).glob("nodetrainer-export-*/digits_mlp.yaml"))  # tidied up


def test_export_dialog_takes_a_runs_weights_to_int8_and_shows_both_accuracies(window, qtbot, tmp_path):
    path = _open(window, tmp_path)
    graph = load_graph(path)
    session = prepare(graph, {"epochs": 1, "device": "cpu"}, runs_dir=window.training_dock.training.runs_dir)
    assert session.run().reason == "completed"
    dialog = window.export_dialog()
    assert dialog.source.count() == 2 and dialog.source.currentText().startswith("Run ")  # the newest run first
    dialog.set_target("onnx-int8")
    assert dialog.export_button.isEnabled()
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=180_000)
    assert dialog.succeeded, dialog.outcome.text()
    text = dialog.outcome.text()
    assert "accuracy: fp32" in text and "int8" in text and "size: fp32" in text, text
    report = json.loads((tmp_path / "digits_mlp.int8.onnx.json").read_text())
    assert report["int8_bytes"] < report["fp32_bytes"]


def test_export_dialog_refuses_an_invalid_graph_in_one_line_per_problem(window, qtbot, tmp_path):
    _open(window, tmp_path)
    window.doc.graph.remove_node("out")
    dialog = window.export_dialog()
    dialog.set_target("python")
    dialog.start()
    assert not dialog.busy and dialog.succeeded is False and "Output" in dialog.outcome.text()
    assert not (tmp_path / "digits_mlp.py").exists()


def test_toolbar_export_as_python_stays_one_click(window, tmp_path):
    _open(window, tmp_path)
    target = tmp_path / "out.py"
    window.ask_save_path = lambda *a, **k: str(target)
    window.act_export.trigger()
    assert target.exists() and "class DigitsMlp(nn.Module):" in target.read_text()


def test_training_panel_shows_the_command_for_several_gpus_or_machines(window, tmp_path):
    path = _open(window, tmp_path)
    launch = window.findChild(LaunchCommand)
    assert launch is not None
    launch.refresh()
    assert launch.text() == f"nodetrainer train {path} --nproc-per-node 2"
    launch.nproc.setValue(4)
    launch.nnodes.setValue(2)
    lines = launch.text().splitlines()
    assert len(lines) == 2 and "--nnodes 2 --node-rank 1 --master-addr MASTER_ADDR" in lines[1]
    assert "--nproc-per-node 4" in lines[0]
    launch.copy_command()
    assert QGuiApplication.clipboard().text() == launch.text()
