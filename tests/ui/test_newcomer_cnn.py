"""A newcomer's first model: the digits CNN built from an empty canvas and trained with every default untouched.

Palette drops, port drags and inspector edits build Input → Conv2d 32 (padding 1) → BatchNorm → ReLU →
MaxPool2d → Conv2d 64 → ReLU → GlobalAvgPool → Linear 10 → Output on a new graph; Train is pressed
with the starting data and training settings of a new graph as they are. The floor of 0.95 test accuracy
sits well under what five seeds reach (0.98-0.99, benchmarks/newcomer_bench.py), so it does not flake.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from nodetrainer.templates import STARTER_DATA, STARTER_TRAINING

from uihelpers import palette_drop, select, wire

CHAIN = ["Input", "Conv2d", "BatchNorm", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "GlobalAvgPool", "Linear", "Output"]
COLUMNS = 3
RUN_MS = 240_000  # generous: 30 short epochs take seconds, more on a loaded machine


def grid_position(i: int) -> QPointF:
    """Three columns, rows downwards: every node stays inside the visible canvas."""
    return QPointF(150 + (i % COLUMNS) * 220, -120 + (i // COLUMNS) * 120)


def set_text(editor, text: str) -> None:
    editor.setText(text)
    editor.editingFinished.emit()


def build_newcomer_cnn(window) -> list[str]:
    ids = []
    for i, node_type in enumerate(CHAIN):
        added = palette_drop(window, node_type, grid_position(i))
        assert len(added) == 1, f"dropping {node_type} added {added}"
        ids.append(added[0])
    for source, target in zip(ids, ids[1:]):
        wire(window, source, target)
    conv1, conv2, linear = ids[1], ids[5], ids[8]
    select(window, [conv1])
    set_text(window.inspector.editors["padding"], "1")
    select(window, [conv2])
    window.inspector.editors["out_channels"].setValue(64)
    select(window, [linear])
    window.inspector.editors["out_features"].setValue(10)
    return ids


def test_the_newcomer_cnn_trains_to_a_good_model_with_the_defaults(window, qtbot, tmp_path):
    assert window.doc.is_empty and window.empty_hint.shown
    ids = build_newcomer_cnn(window)
    graph = window.doc.graph
    assert graph.edges() == list(zip(ids, ids[1:]))
    assert window.doc.problems == [] and not window.empty_hint.shown
    assert graph.nodes["conv1"].params == {"out_channels": 32, "kernel_size": 3, "padding": 1}
    assert graph.nodes["conv2"].params == {"out_channels": 64, "kernel_size": 3}  # as dropped, but 64 filters
    assert window.scene.nodes["gap1"].shape_text == "64"
    assert graph.data == STARTER_DATA and graph.training == STARTER_TRAINING  # nothing touched

    dock = window.training_dock
    w = dock.training
    w.runs_dir = tmp_path / "runs"
    with qtbot.waitSignal(dock.runEnded, timeout=RUN_MS) as ended:
        qtbot.mouseClick(w.controls.train_button, Qt.MouseButton.LeftButton)
    result = ended.args[0]
    assert result is not None and result.reason == "completed" and result.epochs_run == STARTER_TRAINING["epochs"]
    assert result.test is not None and result.test["accuracy"] >= 0.95
    assert w.last_finished.test["accuracy"] == result.test["accuracy"]
    qtbot.waitUntil(lambda: not dock.is_training, timeout=RUN_MS)
