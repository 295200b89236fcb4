"""The Tune tab: a study run from the app fills the trials table and the plots, "Apply best" is one undo
step, Compare overlays one curve per choice, and the inspector's "Tune this…" edits the tune section.

Studies train a 16-unit MLP on iris for a few epochs; every test waits on conditions, never on time.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from nodetrainer.graphfile import load_graph

WAIT_MS = 90_000

TINY = """\
nodetrainer: 1
name: tiny

nodes:
  x:      {{type: Input, shape: [4]}}
  hidden: {{type: Linear, out_features: 16}}
  relu:   {{type: ReLU}}
  drop:   {{type: Dropout, p: 0.1}}
  logits: {{type: Linear, out_features: 3}}
  out:    {{type: Output}}

edges:
  - x -> hidden -> relu -> drop -> logits -> out

data:
  source: builtin:iris
  split: {{val: 0.3, seed: 0}}

training:
  optimizer: {{type: adam, lr: {lr}}}
  epochs: 4
  batch_size: 32

tune:
{tune}
"""


def write(tmp_path: Path, tune: str, lr: str = "0.01") -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY.format(tune=tune, lr=lr))
    return path


@pytest.fixture
def make_dock(qtbot, tmp_path):
    from ui.training import TrainingDock

    docks = []

    def make(path: Path):
        graph = load_graph(path)
        dock = TrainingDock(graph, runs_dir=tmp_path / "runs")
        qtbot.addWidget(dock)
        dock.resize(1300, 750)
        dock.show()
        dock.training.tabs.setCurrentWidget(dock.training.tune)
        docks.append(dock)
        return dock.training.tune, graph

    yield make
    for dock in docks:
        assert dock.request_shutdown(30)


def test_a_study_of_three_trials_fills_the_table_and_the_plots(qtbot, make_dock, tmp_path):
    path = write(tmp_path, """\
  metric: val_accuracy
  trials: 3
  space:
    training.optimizer.lr: {log_uniform: [1.0e-3, 1.0e-1]}
    nodes.drop.p:          {uniform: [0.0, 0.5]}""")
    tune, graph = make_dock(path)
    view = tune.view
    assert view.table.columnCount() == 7  # the space's columns show before any study: #, state, value, 2, epochs, s
    states = []
    tune.worker.stateChanged.connect(states.append)
    assert tune.run()
    assert tune.worker.snapshot is not graph  # a snapshot is tuned: the editor may go on
    qtbot.waitUntil(lambda: not tune.is_running, timeout=WAIT_MS)
    assert states[0] == "preparing" and "running" in states and states[-1] == "idle"
    assert view.row_count() == 3
    assert [view.table.item(r, 1).text() for r in range(3)] == ["complete"] * 3
    assert view.table.item(0, 0).text() == "0 ★"  # trial 0: the file's own values
    assert view.table.item(0, 3).text() == "0.01" and view.table.item(0, 4).text() == "0.1"
    view.table.sortItems(2)  # by value, as numbers
    values = [float(view.table.item(r, 2).text()) for r in range(3)]
    assert values == sorted(values)
    counts = view.study_plots.point_counts()
    assert counts["history"] >= 3 + 3  # the three values and the best-so-far line
    assert counts["curves"] == 3  # one curve a trial
    assert tune.best is not None and "best validation accuracy" in view.status.text()
    assert Path(tune.result.folder, "summary.json").exists()
    view.select_trials([tune.best.number])
    assert view.study_plots.point_counts()["curves"] >= 3  # the selected trial drawn over the others


def test_apply_best_writes_the_best_values_as_one_undo_step(qtbot, window, tmp_path):
    path = write(tmp_path, """\
  metric: val_accuracy
  sampler: grid
  space:
    training.optimizer.lr: {choice: [1.0e-5, 0.05]}""", lr="1.0e-5")  # the file's rate learns nothing in 4 epochs
    assert window.doc.open(path) == []
    tune = window.training_dock.training.tune
    assert tune.run()
    qtbot.waitUntil(lambda: not tune.is_running, timeout=WAIT_MS)
    assert tune.view.row_count() == 3 and tune.best.values == {"training.optimizer.lr": 0.05}
    assert tune.view.apply_button.isEnabled()
    stack = window.doc.undo_stack
    before = stack.count()
    tune.view.apply_button.click()
    assert window.doc.graph.training["optimizer"] == {"type": "adam", "lr": 0.05}
    assert stack.count() == before + 1 and stack.undoText() == f"Apply best trial {tune.best.number}"
    stack.undo()
    assert window.doc.graph.training["optimizer"] == {"type": "adam", "lr": 1.0e-5}


def test_compare_two_optimizers_overlays_one_curve_each(qtbot, make_dock, tmp_path):
    path = write(tmp_path, "  space:\n    nodes.drop.p: {uniform: [0.0, 0.5]}")
    tune, graph = make_dock(path)
    tune.set_compare("training.optimizer", ["sgd", "adam"])
    assert tune.compare()
    qtbot.waitUntil(lambda: not tune.is_running, timeout=WAIT_MS)
    view = tune.view
    assert view.row_count() == 2 and view.plot_tabs.currentWidget() is view.compare_plots
    counts = view.compare_plots.curve_counts()
    assert counts == {"loss": 4, "metric": 2}  # validation and training loss, and accuracy, per optimizer
    assert sorted(view.compare_plots.labels.values()) == ["adam", "sgd"]
    assert sorted(view.table.item(r, 3).text() for r in range(2)) == ["adam", "sgd"]
    assert graph.tune == {"space": {"nodes.drop.p": {"uniform": [0.0, 0.5]}}}  # Compare leaves the file alone
    assert not view.apply_button.isEnabled()


def test_tune_this_in_the_inspector_adds_a_range_through_the_undo_stack(qtbot, window, tmp_path):
    from uihelpers import select

    path = write(tmp_path, "  space:\n    nodes.drop.p: {uniform: [0.0, 0.5]}")
    assert window.doc.open(path) == []
    select(window, ["hidden"])
    inspector = window.inspector
    menu = inspector.tune_menu("out_features", inspector.editors["out_features"])
    action = menu.findChild(type(menu.actions()[0]), "tune_this")
    assert action is not None and action.isEnabled()
    asked = []
    inspector.ask_range = lambda parent, graph, p, param, initial: asked.append((p, initial)) or {"int": [8, 64]}
    action.trigger()
    assert asked == [("nodes.hidden.out_features", {"int": [8, 32], "log": True})]  # proposed around 16
    space = window.doc.graph.tune["space"]
    assert space["nodes.hidden.out_features"] == {"int": [8, 64]} and "nodes.drop.p" in space
    tab = window.training_dock.training.tune
    assert [tab.space.item(r, 0).text() for r in range(tab.space.rowCount())] == [
        "nodes.drop.p", "nodes.hidden.out_features"]
    window.doc.undo_stack.undo()
    assert list(window.doc.graph.tune["space"]) == ["nodes.drop.p"] and tab.space.rowCount() == 1
    select(window, ["x"])  # an Input's shape is a list: nothing to tune
    last = inspector.tune_menu("shape", inspector.editors["shape"]).actions()[-1]
    assert not last.isEnabled() and last.text() == "Tune this… (numbers and choices only)"
