"""The editor and the training dock together: open a graph, press Train in the main window, watch it learn.

Every test opens a copy of an example in tmp_path (so runs are written to
tmp_path/runs), and QMessageBox.question is answered by the test, never by a
modal dialog. Each test leaves no training thread behind.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 60_000
DIVERGING = {"type": "sgd", "lr": 1.0e8}  # every Linear's gradient explodes at the first steps


@pytest.fixture
def questions(monkeypatch):
    """Answers QMessageBox.question (Yes unless a test sets `answer`) and records the titles asked."""
    state = {"answer": QMessageBox.StandardButton.Yes, "asked": []}

    def question(parent, title, text, *args, **kwargs):
        state["asked"].append(title)
        return state["answer"]

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return state


@pytest.fixture
def app_window(window, questions, tmp_path):
    """The main window (tests/ui/conftest.py) with example graphs copied to tmp_path; stops any run at the end."""
    for name in ("digits_mlp.yaml", "diabetes_regression.yaml"):
        shutil.copy(ROOT / "graphs" / name, tmp_path / name)
    window.resize(1440, 900)
    yield window
    assert window.training_dock.request_shutdown(30)
    from ui.training.background import LIVE
    assert not LIVE


def open_copy(window, tmp_path, name: str = "digits_mlp.yaml") -> Path:
    path = tmp_path / name
    assert window.open_path(path, ask=False)
    return path


def set_training(window, **changes) -> None:
    """Edits the training section as the dock does: one undoable step."""
    section = dict(window.doc.graph.training or {})
    section.update(changes)
    window.apply_section("training", section)


def wait_idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.training_dock.is_training, timeout=WAIT_MS)


def test_train_two_epochs_from_the_window(qtbot, app_window, tmp_path):
    window = app_window
    open_copy(window, tmp_path)
    dock, w = window.training_dock, window.training_dock.training
    assert w.graph is window.doc.graph
    epochs = w.training_panel.top.editors["epochs"]
    assert epochs.value() == 100
    epochs.setValue(2)  # as a user types it: through the undo stack
    assert window.doc.graph.training["epochs"] == 2
    assert window.doc.modified and window.doc.undo_stack.undoText() == "Edit training"
    assert window.act_train.isEnabled() and not window.act_stop.isEnabled()

    states = []
    dock.stateChanged.connect(states.append)
    window.act_train.trigger()  # Run > Train (F5)
    assert window.training_dock.is_training
    assert not window.act_train.isEnabled() and window.act_stop.isEnabled() and window.act_pause.isEnabled()
    assert dock.windowTitle().startswith("Training (")
    assert not dock.visibleRegion().isEmpty()  # the Training tab is raised, with room for its plots
    qtbot.waitUntil(lambda: dock.height() >= 0.35 * window.height())
    wait_idle(qtbot, window)

    assert states[0] == "preparing" and states[-1] == "idle"
    assert w.last_finished.reason == "completed" and w.last_finished.epochs_run == 2
    points = w.plots.point_counts()
    assert points["loss_epoch"] == 2 and points["val_loss"] == 2 and points["grads"] >= 3 and points["result"] > 0
    assert w.plots.columns == 3  # wide and low under the canvas: the panels in 3 columns
    assert w.header.title.text() == "Completed" and "2 epoch" in w.controls.progress.format()
    assert "completed after 2 epoch" in window.statusBar().currentMessage()
    run_dir = Path(w.run_dir)
    assert run_dir.parent.parent == tmp_path / "runs"  # runs live next to the graph file
    assert (run_dir / "last.pt").exists()
    assert [r.path for r in w.runs_panel.runs] == [run_dir]
    assert window.act_train.isEnabled() and not window.act_stop.isEnabled()
    assert dock.windowTitle() == "Training"

    window.doc.undo_stack.undo()  # the panel follows undo
    assert window.doc.graph.training["epochs"] == 100 and epochs.value() == 100

    # the Runs tab opens the run's graph as an unsaved copy (Save never rewrites the run's record)
    w.runs_panel.select([0])
    w.runs_panel.open_selected()
    assert window.doc.path is None and window.doc.origin == run_dir / "graph.yaml"
    assert window.doc.graph.training["epochs"] == 2 and epochs.value() == 2
    assert f"run {run_dir.name}" in window.windowTitle()
    suggested = []
    window.ask_save_path = lambda title="", suggestion=None, file_filter="": suggested.append(suggestion)
    assert not window.save_as()
    assert suggested == [str(tmp_path / f"digits-mlp-{run_dir.name}.yaml")]


def test_gradient_warnings_show_as_badges_on_their_nodes(qtbot, app_window, tmp_path):
    window = app_window
    open_copy(window, tmp_path)
    set_training(window, epochs=2, optimizer=DIVERGING)
    assert window.train()
    wait_idle(qtbot, window)
    w = window.training_dock.training
    assert w.last_finished.reason == "diverged"
    assert w.header.title.text() == "Diverged" and w.outcome.node in ("hidden1", "hidden2", "logits")
    scene = window.scene
    messages = {node: scene.node_flags(node)["training"][1] for node in ("hidden1", "hidden2", "logits")}
    [culprit] = [node for node, message in messages.items() if message.startswith("training diverged")]
    assert f"the largest gradient was in node {culprit}" in messages[culprit]  # the divergence lands on it
    for node in ("hidden1", "hidden2", "logits"):
        level, message = scene.node_flags(node)["training"]
        expected = "error" if node == culprit else "warning"  # the node that exploded is red, the others amber
        assert level == expected and (node == culprit or f"gradient of node {node} is exploding" in message)
        item = scene.nodes[node]
        assert item.badge_level == expected and item.badge_count == 1
        assert message.split(";")[0] in item.tooltip()
    assert scene.nodes["relu1"].badge_level is None and not scene.nodes["relu1"].flags

    # the next run starts without the last run's flags
    set_training(window, epochs=1, optimizer={"type": "adam", "lr": 0.001})
    assert window.train()
    assert not scene.flags
    wait_idle(qtbot, window)
    assert w.last_finished.reason == "completed" and not scene.flags


def test_flags_merge_with_validation_badges(app_window, tmp_path):
    window = app_window
    open_copy(window, tmp_path)
    scene = window.scene
    item = scene.nodes["hidden2"]
    scene.set_node_flag("training", "hidden2", "warning", "gradient of node hidden2 is vanishing")
    assert item.badge_level == "warning" and item.badge_count == 1
    assert "training: gradient of node hidden2 is vanishing" in item.tooltip()
    window.training_dock.nodeFlagged.emit("data", "hidden2", "error", "something the data disagrees with")
    assert item.badge_level == "error" and item.badge_count == 2
    window.doc.remove(edges=[("relu1", "hidden2")])  # a validation problem: hidden2 has no input
    assert item.problems and item.badge_level == "error" and item.badge_count == len(item.problems) + 2
    assert "has no input" in item.tooltip() and "training: gradient" in item.tooltip()
    window.doc.undo_stack.undo()
    assert not item.problems and item.badge_count == 2  # validation never drops the flags...
    scene.set_node_flag("data", "hidden2", "error", "")  # ...an empty message does
    assert item.badge_level == "warning" and item.badge_count == 1
    scene.set_node_flag("training", "nonexistent", "warning", "ignored")
    assert "nonexistent" not in scene.flags

    window.doc.rename("hidden2", "middle")  # a flag follows its node
    assert scene.node_flags("middle") and scene.nodes["middle"] is item and item.badge_count == 1
    window.doc.remove(["middle"])  # and goes with it
    assert not scene.flags
    window.doc.undo_stack.undo()
    assert not scene.nodes["middle"].flags

    scene.set_node_flag("training", "logits", "error", "the run failed here")
    scene.set_node_flag("data", "image", "error", "shape")
    window.training_dock.nodeFlagsCleared.emit("training")
    assert not scene.node_flags("logits") and scene.node_flags("image")
    window.doc.new()  # another graph: no flags left
    assert not scene.flags


def test_input_shape_that_disagrees_with_the_data_is_flagged_on_the_input(qtbot, app_window, tmp_path):
    window = app_window
    open_copy(window, tmp_path)
    scene = window.scene
    window.doc.set_param("image", "shape", [1, 8, 9])
    qtbot.waitUntil(lambda: "data" in scene.node_flags("image"), timeout=WAIT_MS)
    assert scene.nodes["image"].badge_level == "error"
    assert window.train()
    wait_idle(qtbot, window)  # pre-flight refuses the run and names the Input node
    level, message = scene.node_flags("image")["training"]
    assert level == "error" and "Input shape [1, 8, 9] does not match the data's sample shape [1, 8, 8]" in message
    assert window.training_dock.training.header.title.text() == "Could not start training"
    window.doc.undo_stack.undo()
    qtbot.waitUntil(lambda: "data" not in scene.node_flags("image"), timeout=WAIT_MS)


def test_opening_another_file_while_idle_updates_the_dock(qtbot, app_window, tmp_path):
    window = app_window
    open_copy(window, tmp_path)
    w = window.training_dock.training
    scene = window.scene
    scene.set_node_flag("training", "hidden1", "warning", "from a run of the MLP")
    assert w.training_panel.top.editors["epochs"].value() == 100

    open_copy(window, tmp_path, "diabetes_regression.yaml")
    graph = window.doc.graph
    assert w.graph is graph and graph.name == "diabetes-regression"
    assert not scene.flags  # the flags were about the other graph
    assert w.training_panel.top.editors["epochs"].value() == 200
    assert w.data_panel.builtin.currentText() == "diabetes"
    assert w.runs_dir == tmp_path / "runs" and w.runs_panel.graph_name == "diabetes-regression"
    qtbot.waitUntil(lambda: w.data_panel.summary is not None, timeout=WAIT_MS)
    assert w.data_panel.summary.task == "regression"

    window.new_file()
    assert w.graph.name == "untitled" and w.runs_panel.graph_name == "untitled"
    assert w.data_panel.builtin.currentData() == "digits"  # a new graph starts with the digits set
    assert w.training_panel.top.editors["epochs"].value() == 30


def test_flags_of_a_run_of_a_graph_no_longer_open_are_ignored(qtbot, app_window, tmp_path):
    window = app_window
    open_copy(window, tmp_path)
    set_training(window, epochs=2, optimizer=DIVERGING)
    emitted = []
    window.training_dock.nodeFlagged.connect(lambda *args: emitted.append(args))
    assert window.train()
    open_copy(window, tmp_path)  # the same ids, another document: the running snapshot's flags do not apply
    wait_idle(qtbot, window)
    assert window.training_dock.training.last_finished.reason == "diverged"
    assert [a for a in emitted if a[0] == "training"]  # the run did flag its nodes...
    assert not window.scene.flags  # ...but not on the graph now open


def test_closing_during_training_stops_the_run_and_writes_last_pt(qtbot, app_window, tmp_path, questions, qtlog):
    window = app_window
    open_copy(window, tmp_path)
    set_training(window, epochs=500, batch_size=8)
    window.doc.undo_stack.setClean()  # no save prompt in the way
    w = window.training_dock.training
    assert window.train()
    qtbot.waitUntil(lambda: w.worker.state == "running" and w.worker.session is not None, timeout=WAIT_MS)

    questions["answer"] = QMessageBox.StandardButton.No
    assert not window.close()  # the user said No: still open, still training
    assert questions["asked"] == ["Training in progress"] and window.isVisible() and w.is_training

    questions["answer"] = QMessageBox.StandardButton.Yes
    assert window.close()
    assert questions["asked"] == ["Training in progress"] * 2
    assert not w.is_training and w.worker._thread is None
    assert w.last_finished.reason == "stopped"
    assert (Path(w.run_dir) / "last.pt").exists()
    from ui.training.background import LIVE
    assert not LIVE
    assert not [r for r in qtlog.records if "QThread" in r.message or "thread" in r.message.lower()]


def test_pause_and_stop_from_the_run_menu(qtbot, app_window, tmp_path):
    window = app_window
    open_copy(window, tmp_path)
    set_training(window, epochs=500, batch_size=8)
    w = window.training_dock.training
    assert window.train()
    qtbot.waitUntil(lambda: w.worker.state == "running" and w.worker.session is not None, timeout=WAIT_MS)
    window.act_pause.trigger()
    assert w.worker.state == "paused" and window.act_pause.text() == "&Resume"
    assert window.training_dock.windowTitle() == "Training (paused)"
    window.act_pause.trigger()
    assert w.worker.state == "running" and window.act_pause.text() == "&Pause"
    window.act_stop.trigger()
    wait_idle(qtbot, window)
    assert w.last_finished.reason == "stopped"
    assert "stopped after" in window.statusBar().currentMessage()
