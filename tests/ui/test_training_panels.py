"""The data, training and runs panels: what they show, what they write into the graph, what they flag.

No training here except the runs panel's two tiny runs (headless, through the core).
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from nodetrainer.graphfile import dump_graph, load_graph, read_graph
from nodetrainer.settings import (EARLY_STOPPING_PARAMS, OPTIMIZER_KEYS, OPTIMIZER_PARAMS, REGULARIZATION_PARAMS,
                                  SCHEDULER_PARAMS, TRAINING_PARAMS, parse_training)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def graph():
    return load_graph(ROOT / "graphs" / "digits_mlp.yaml")


@pytest.fixture
def training_panel(qtbot, graph):
    from ui.training.training_panel import TrainingPanel
    panel = TrainingPanel(graph)
    qtbot.addWidget(panel)
    return panel


def edit_text(editor, text: str) -> None:
    editor.setText(text)
    editor.editingFinished.emit()


def choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))
    combo.activated.emit(combo.currentIndex())


# -- training panel ------------------------------------------------------------------------------
def test_training_panel_has_an_editor_for_every_declared_option(training_panel):
    p = training_panel
    scalar = [k for k in TRAINING_PARAMS if k not in ("metrics", "optimizer", "scheduler", "early_stopping",
                                                        "grad_clip", "regularization")]
    assert set(scalar) <= set(p.top.editors)
    assert set(OPTIMIZER_PARAMS) == set(p.optimizer.editors)
    assert set(SCHEDULER_PARAMS) == set(p.scheduler.editors)
    assert set(EARLY_STOPPING_PARAMS) == set(p.early.editors)
    assert set(REGULARIZATION_PARAMS) == set(p.regularization.editors)
    loss = p.top.editors["loss"]
    assert [loss.itemData(i) for i in range(loss.count())] == list(TRAINING_PARAMS["loss"].choices)
    assert p.top.editors["epochs"].value() == 100  # what the file says
    assert p.early_box.isChecked()  # digits_mlp.yaml has early stopping


def test_training_panel_writes_only_what_differs_from_the_defaults(training_panel, graph):
    p = training_panel
    edit_text(p.optimizer.editors["lr"], "1e-2")
    assert graph.training["optimizer"] == {"type": "adam", "lr": 0.01}
    edit_text(p.optimizer.editors["lr"], "0.001")  # the default again: the whole section goes
    assert "optimizer" not in graph.training
    choose(p.optimizer.editors["type"], "sgd")
    assert graph.training["optimizer"] == {"type": "sgd"}
    assert p.optimizer.layout_.isRowVisible(p.optimizer.editors["momentum"])
    assert not p.optimizer.layout_.isRowVisible(p.optimizer.editors["betas"])  # not an sgd parameter
    assert graph.training["batch_size"] == 64  # the file's own keys stay until edited...
    p.top.editors["batch_size"].setValue(32)
    assert graph.training["batch_size"] == 32
    p.top.editors["batch_size"].setValue(64)  # ...and an edit back to the default removes the key
    assert "batch_size" not in graph.training
    p.top.editors["epochs"].setValue(7)
    assert graph.training["epochs"] == 7
    cfg, errors = parse_training(graph.training)
    assert not errors and cfg.optimizer.type == "sgd" and cfg.epochs == 7
    again, problems = read_graph(dump_graph(graph))  # what is written is a valid file
    assert not problems and again.training == graph.training


def test_switching_optimizer_drops_parameters_the_new_one_does_not_take(training_panel, graph):
    p = training_panel
    choose(p.optimizer.editors["type"], "sgd")
    edit_text(p.optimizer.editors["momentum"], "0.9")
    assert graph.training["optimizer"] == {"type": "sgd", "lr": 0.001, "momentum": 0.9}  # lr: from the file
    choose(p.optimizer.editors["type"], "adam")
    assert graph.training["optimizer"] == {"type": "adam", "lr": 0.001}  # adam takes no momentum
    assert "momentum" not in OPTIMIZER_KEYS["adam"]
    assert not p.optimizer.layout_.isRowVisible(p.optimizer.editors["momentum"])


def test_invalid_text_is_refused_with_the_reason(training_panel, graph):
    lr = training_panel.optimizer.editors["lr"]
    before = dict(graph.training)
    edit_text(lr, "-3")
    assert graph.training == before
    assert "must be > 0" in lr.toolTip() and "d93636" in lr.styleSheet()


def test_sections_toggle_and_grad_clip(training_panel, graph):
    p = training_panel
    p.early_box.setChecked(False)
    assert "early_stopping" not in graph.training
    p.early_box.setChecked(True)
    assert graph.training["early_stopping"] == {}
    choose(p.clip_mode, "max_norm")
    assert graph.training["grad_clip"] == {"max_norm": 1.0}
    edit_text(p.clip_value, "0.5")
    assert graph.training["grad_clip"] == {"max_norm": 0.5}
    choose(p.clip_mode, None)
    assert "grad_clip" not in graph.training
    edit_text(p.regularization.editors["l2"], "1e-4")
    assert graph.training["regularization"] == {"l2": 0.0001}
    assert parse_training(graph.training)[1] == []


def test_metrics_and_loss(training_panel, graph):
    p = training_panel
    p.metric_boxes["f1_macro"].setChecked(True)
    assert graph.training["metrics"] == ["accuracy", "f1_macro"]
    p.metric_boxes["f1_macro"].setChecked(False)
    assert "metrics" not in graph.training or graph.training["metrics"] == ["accuracy"]
    choose(p.top.editors["loss"], "mse")
    assert graph.training["loss"] == "mse" and not p.top.editors["label_smoothing"].isEnabled()


def test_panel_follows_the_graph(training_panel, graph):
    graph.set_section("training", {"epochs": 3, "optimizer": {"type": "rmsprop", "lr": 0.05}})  # undo, open...
    p = training_panel
    assert p.top.editors["epochs"].value() == 3
    assert p.optimizer.editors["type"].value() == "rmsprop"
    assert p.optimizer.editors["lr"].text() == "0.05"
    assert not p.early_box.isChecked()


def test_apply_section_hook_receives_the_edits(qtbot, graph):
    from ui.training.training_panel import TrainingPanel
    calls = []
    panel = TrainingPanel(graph, apply_section=lambda name, value: (calls.append((name, value)),
                                                                    graph.set_section(name, value)))
    qtbot.addWidget(panel)
    panel.top.editors["seed"].setValue(3)
    assert calls and calls[-1][0] == "training" and calls[-1][1]["seed"] == 3


def test_device_choices_list_what_torch_finds(monkeypatch, qtbot, graph):
    from ui.training import training_panel as tp
    monkeypatch.setattr(tp, "available_devices", lambda: ["cuda:0", "cuda:1", "mps", "cpu"])
    panel = tp.TrainingPanel(graph)
    qtbot.addWidget(panel)
    device = panel.top.editors["device"]
    assert [device.itemData(i) for i in range(device.count())] == ["auto", "cuda:0", "cuda:1", "mps", "cpu"]


# -- data panel -------------------------------------------------------------------------------------
def test_data_panel_shows_the_set_and_flags_a_shape_mismatch(qtbot, graph):
    from ui.training.data_panel import DataPanel
    panel = DataPanel(graph)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=30_000)
    s = panel.summary
    assert (s.total, s.num_classes, s.sample_shape) == (1797, 10, (1, 8, 8))
    assert "1,797" in panel.info.text() and "[1, 8, 8]" in panel.info.text()
    flags = []
    panel.nodeProblem.connect(lambda node, message: flags.append((node, message)))
    graph.set_params("image", {"shape": [64]})
    assert flags and flags[-1][0] == "image" and "[64]" in flags[-1][1] and "[1, 8, 8]" in flags[-1][1]
    assert panel.shape_warning.isVisibleTo(panel)
    graph.set_params("image", {"shape": [1, 8, 8]})
    assert flags[-1] == ("image", "")  # cleared
    panel.wait_idle()


def test_csv_preview_target_picker_and_split(qtbot, tmp_path):
    from ui.training.data_panel import DataPanel
    rows = ["a,b,c,label"] + [f"{i},{i * 2},{i % 3},{'yes' if i % 2 else 'no'}" for i in range(40)]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    text = (ROOT / "graphs" / "digits_mlp.yaml").read_text().replace("builtin:digits", "csv:table.csv")
    text = text.replace("shape: [1, 8, 8]", "shape: [3]")
    (tmp_path / "g.yaml").write_text(text)
    graph = load_graph(tmp_path / "g.yaml")
    panel = DataPanel(graph)
    qtbot.addWidget(panel)
    assert panel.preview_box.isVisibleTo(panel)
    assert [panel.preview.horizontalHeaderItem(i).text() for i in range(4)][:3] == ["a", "b", "c"]
    assert panel.preview.rowCount() == 8 and panel.preview.item(0, 1).text() == "0"
    targets = [panel.target.itemData(i) for i in range(panel.target.count())]
    assert targets[:4] == ["a", "b", "c", "label"]  # and 'target' (not in the file) shown as such
    choose(panel.target, "label")
    assert graph.data["target"] == "label"
    assert panel.preview.horizontalHeaderItem(3).text() == "label (target)"
    qtbot.waitUntil(lambda: panel.summary is not None and panel.summary.num_classes == 2, timeout=30_000)
    assert panel.summary.sample_shape == (3,)
    edit_text(panel.split.editors["val"], "0.25")
    assert graph.data["split"] == {"val": 0.25, "test": 0.2, "seed": 0}  # the other keys as the file had them
    assert panel.relative(str(tmp_path / "table.csv")) == "table.csv"
    panel.wait_idle()


def test_data_panel_without_a_data_section(qtbot):
    from nodetrainer.graph import Graph
    from ui.training.data_panel import DataPanel
    graph = Graph("empty")
    panel = DataPanel(graph)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: "No data source" in panel.info.text(), timeout=5000)
    choose(panel.builtin, "iris")
    assert graph.data == {"source": "builtin:iris"}
    panel.wait_idle()


def test_data_panel_forgets_the_old_set_when_the_source_changes(qtbot, graph):
    from ui.training.data_panel import DataPanel
    panel = DataPanel(graph)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=30_000)
    assert panel.summary.task == "classification"
    graph.set_section("data", {"source": "builtin:diabetes"})
    graph.set_section("training", {"loss": "mse"})
    assert panel.summary is None  # not the digits any more, and not yet the diabetes set
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=30_000)
    assert panel.summary.task == "regression" and panel.summary.total == 442
    panel.wait_idle()


# -- runs panel --------------------------------------------------------------------------------------
def test_runs_panel_lists_overlays_and_opens_runs(qtbot, tmp_path, graph):
    from nodetrainer.training.run import prepare
    from ui.training.runs_panel import RunsPanel
    import torch
    runs = tmp_path / "runs"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is fastest, and immune to a busy machine
    try:
        for epochs in (2, 3):
            prepare(graph, {"epochs": epochs}, runs_dir=runs).run()
    finally:
        torch.set_num_threads(threads)
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.set_source(runs, graph.name)
    assert panel.table.rowCount() == 2
    assert panel.table.item(0, 1).text() == "completed" and panel.table.item(0, 2).text() == "3"  # newest first
    assert panel.table.item(0, 3).text().startswith("accuracy ")
    panel.select([0, 1])
    assert len(panel.selected_runs()) == 2
    assert panel.curve_count() == 4  # validation and training loss of each run
    opened = []
    panel.openGraphRequested.connect(opened.append)
    panel.select([1])
    panel.open_button.click()
    assert opened == [panel.runs[1].path / "graph.yaml"] and opened[0].exists()


def test_a_deleted_panel_stops_listening_to_the_graph(qtbot, graph):
    import shiboken6
    from ui.training.training_panel import TrainingPanel
    panel = TrainingPanel(graph)
    before = len(graph._subscribers)
    shiboken6.delete(panel)  # Qt deleted it (a closed dock); the graph lives on
    graph.set_section("training", {"epochs": 2})  # must not reach the dead panel
    assert len(graph._subscribers) == before - 1


# -- compile and CPU threads -------------------------------------------------------------------------
def test_compile_is_a_choice_in_the_loop_group_and_writes_the_graph(training_panel, graph):
    editor = training_panel.top.editors["compile"]
    assert [editor.itemData(i) for i in range(editor.count())] == [False, True, "max-autotune"]
    choose(editor, "max-autotune")
    assert graph.training["compile"] == "max-autotune"
    assert parse_training(graph.training)[0].compile == "max-autotune"
    choose(editor, False)
    assert "compile" not in graph.training  # the default is not written


def test_threads_field_shows_the_core_left_for_the_window():
    from ui.training.threads_field import ThreadsField
    field = ThreadsField(total=2, torch_threads=2)
    assert field.value is None and field.spin.text() == "automatic"
    assert field.note.text() == "threads: 1 of 2 (one left for the window)"
    told = []
    field.changed.connect(told.append)
    field.set_value(2)
    assert told == [2] and field.note.text() == "threads: 2 of 2"
    field.set_value(None)
    assert told == [2, None] and "one left for the window" in field.note.text()
    assert ThreadsField(total=8, torch_threads=8).note.text() == "threads: 7 of 8 (one left for the window)"
    assert ThreadsField(total=1, torch_threads=1).note.text() == "threads: 1 of 1"


def test_the_threads_chosen_in_settings_are_what_a_run_uses(qtbot, graph, tmp_path, monkeypatch):
    import torch

    from nodetrainer.training.trainer import Trainer
    from ui.training.dock import TrainingWidget
    dock = TrainingWidget(graph, runs_dir=tmp_path)
    qtbot.addWidget(dock)
    dock.training_panel.threads.set_value(1)
    assert dock.worker.threads == 1
    seen = []
    original = Trainer.fit

    def fit(self):
        seen.append(torch.get_num_threads())
        return original(self)
    monkeypatch.setattr(Trainer, "fit", fit)
    g = graph.copy()
    g.training = dict(g.training, epochs=1)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        dock.worker.start(g, runs_dir=None, predict=False)
        qtbot.waitUntil(lambda: not dock.worker.busy, timeout=60000)
        assert seen == [1]
        assert torch.get_num_threads() == 2  # put back after the run
    finally:
        torch.set_num_threads(before)
