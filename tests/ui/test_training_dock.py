"""Training from the GUI: the dock trains the digits MLP in its QThread and shows what happens.

Each test trains a small variant of graphs/digits_mlp.yaml through a TrainingWidget
(the dock's content) with its runs folder in tmp_path, and checks what a user would
see: plots with points, the stop reason, files in the run folder, messages naming
nodes, and that nothing is left running.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import torch

from nodetrainer.graphfile import load_graph

ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 60_000


@pytest.fixture
def make_dock(qtbot, tmp_path):
    from ui.training import TrainingDock

    docks = []

    def make(**training):
        graph = load_graph(ROOT / "graphs" / "digits_mlp.yaml")
        section = dict(graph.training or {})
        section.pop("early_stopping", None)
        section.update(training)
        graph.set_section("training", section)
        dock = TrainingDock(graph, runs_dir=tmp_path / "runs")
        qtbot.addWidget(dock)
        dock.resize(1200, 700)
        dock.show()
        docks.append(dock)
        return dock, dock.training, graph

    yield make
    for dock in docks:  # never leave a thread behind, whatever a test did
        assert dock.request_shutdown(30)


def wait_idle(qtbot, widget) -> None:
    qtbot.waitUntil(lambda: not widget.is_training, timeout=WAIT_MS)


def test_train_two_epochs_fills_the_plots_and_shows_the_result(qtbot, make_dock):
    dock, w, graph = make_dock(epochs=2)
    states = []
    w.stateChanged.connect(states.append)
    assert w.train()
    assert w.worker.snapshot is not graph  # a snapshot trains, not the editor's graph
    wait_idle(qtbot, w)

    assert states[0] == "preparing" and "running" in states and states[-1] == "idle"
    assert w.last_finished.reason == "completed" and w.last_finished.epochs_run == 2
    points = w.plots.point_counts()
    assert points["loss_epoch"] == 2 and points["val_loss"] == 2
    assert points["metrics"] >= 2  # val_accuracy per epoch
    assert points["lr"] >= 2 and points["grads"] >= 3  # three Linear nodes, at least one report each
    assert points["speed"] >= 2
    assert points["result"] > 0  # the confusion matrix after training
    assert w.last_predictions.task == "classification" and w.last_predictions.confusion().shape == (10, 10)
    header = w.header
    assert header.isVisible() and header.title.text() == "Completed"
    assert header.caption.text() == "test accuracy" and header.value.text().endswith(" %")  # the test metric, large
    assert header.side_caption.text().startswith("validation") and header.side_value.text().endswith(" %")
    assert "ran all 2 epochs" in header.detail.text() and "best epoch" in header.detail.text()
    assert "2 epoch" in w.controls.progress.format()
    run_dir = Path(w.run_dir)
    assert (run_dir / "metrics.csv").exists() and (run_dir / "last.pt").exists()
    assert [r.path for r in w.runs_panel.runs] == [run_dir]  # the runs panel lists the new run
    assert w.worker.updates_delivered >= 1
    png = run_dir / "plots.png"
    assert w.save_plots(png) and png.stat().st_size > 10_000


def test_pause_and_resume(qtbot, make_dock):
    dock, w, _ = make_dock(epochs=200, batch_size=8)
    w.train()
    qtbot.waitUntil(lambda: w.worker.session is not None and w.worker.session.trainer.global_step > 20,
                    timeout=WAIT_MS)
    w.controls.pause_button.click()
    assert w.worker.state == "paused" and w.controls.pause_button.text() == "Resume"
    trainer = w.worker.session.trainer
    qtbot.waitUntil(lambda: trainer.holding, timeout=WAIT_MS)  # the step in flight has ended; the loop waits
    step = trainer.global_step
    points = w.plots.point_counts()["loss_step"]
    assert points > 0 and "paused" in w.controls.progress.format()  # the view shows where the run paused
    assert trainer.holding and trainer.global_step == step  # nothing trains while paused
    w.controls.pause_button.click()
    assert w.worker.state == "running" and w.controls.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: trainer.global_step > step + 10, timeout=WAIT_MS)
    w.stop()
    wait_idle(qtbot, w)
    assert w.last_finished.reason == "stopped"


def test_stop_mid_epoch_gives_stopped_and_last_pt(qtbot, make_dock):
    from nodetrainer.training.events import Progress

    dock, w, _ = make_dock(epochs=20, batch_size=1)  # 1,257 steps an epoch: Progress arrives mid-epoch
    held = []

    def hold_mid_epoch(event):  # in the training thread: pause at a step known to be inside an epoch
        if not held and isinstance(event, Progress) and 1 <= event.step < event.steps_per_epoch - 1:
            held.append(event.step)
            w.worker.session.trainer.pause()

    w.train()
    qtbot.waitUntil(lambda: w.worker.session is not None, timeout=WAIT_MS)
    w.worker.session.subscribe(hold_mid_epoch)
    qtbot.waitUntil(lambda: w.worker.session is not None and w.worker.session.trainer.holding, timeout=WAIT_MS)
    w.controls.stop_button.click()  # the user's Stop, while the loop waits between two steps of an epoch
    wait_idle(qtbot, w)

    assert w.last_finished.reason == "stopped"
    assert w.header.title.text() == "Stopped" and "stopped by you" in w.header.detail.text()
    assert w.header.resume_button.isVisible()
    run_dir = Path(w.run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stop_reason"] == "stopped"
    last = torch.load(run_dir / "last.pt", map_location="cpu", weights_only=False)
    assert 0 < last["step_in_epoch"] < 1257  # stopped in the middle of an epoch, resumable from there


def test_request_shutdown_during_training_finishes_cleanly(qtbot, make_dock, qtlog):
    dock, w, _ = make_dock(epochs=500, batch_size=8)
    w.train()
    qtbot.waitUntil(lambda: w.worker.state == "running" and w.worker.session is not None, timeout=WAIT_MS)
    assert dock.request_shutdown(30)
    assert not w.is_training and w.worker._thread is None
    assert w.last_finished is not None and w.last_finished.reason == "stopped"
    assert (Path(w.run_dir) / "last.pt").exists()
    assert not [r for r in qtlog.records if "QThread" in r.message or "thread" in r.message.lower()]


def test_request_shutdown_while_preparing(qtbot, make_dock):
    dock, w, _ = make_dock(epochs=500)
    w.train()
    assert w.worker.state == "preparing"
    assert dock.request_shutdown(30)  # the session is stopped as soon as it exists
    assert not w.is_training


def test_diverging_run_shows_its_message(qtbot, make_dock):
    dock, w, _ = make_dock(epochs=5, optimizer={"type": "sgd", "lr": 1.0e8})
    w.train()
    wait_idle(qtbot, w)
    assert w.last_finished.reason == "diverged"
    header = w.header
    assert header.title.text() == "Diverged" and "diverged" in header.detail.text()
    assert header.value.isHidden() and header.side_value.isHidden()  # no number that looks like a result
    assert header.hint.text() and w.last_predictions is None and w.plots.point_counts()["result"] == 0
    assert any("diverged" in m for m in w.controls.message_texts())
    assert w.train()  # the app keeps working: another run starts
    w.stop()
    wait_idle(qtbot, w)


def test_preflight_problem_is_shown_and_flags_the_node(qtbot, make_dock):
    dock, w, graph = make_dock(epochs=1)
    graph.set_params("image", {"shape": [1, 8, 9]})  # the data's samples are [1, 8, 8]
    flags = []
    dock.nodeFlagged.connect(lambda *a: flags.append(a))
    w.train()
    wait_idle(qtbot, w)
    assert w.last_result is None  # nothing ran
    assert w.header.title.text() == "Could not start training"
    assert any("[1, 8, 9]" in m and "[1, 8, 8]" in m for m in w.controls.message_texts())
    assert any(f[0] == "training" and f[1] == "image" and f[2] == "error" for f in flags)
    cleared = []
    dock.nodeFlagsCleared.connect(cleared.append)
    graph.set_params("image", {"shape": [1, 8, 8]})  # the fix: the failed run's badge goes, its messages grey out
    assert cleared == ["training"] and not w.flags
    assert all(m.startswith("from the last run") for m in w.controls.message_texts())
    qtbot.waitUntil(lambda: w.train(), timeout=5000)  # fixed: trains
    wait_idle(qtbot, w)
    assert w.last_finished.reason == "completed"


def test_editing_during_training_leaves_the_run_alone_and_says_so(qtbot, make_dock):
    dock, w, graph = make_dock(epochs=500, batch_size=8)
    w.train()
    qtbot.waitUntil(lambda: w.worker.state == "running", timeout=WAIT_MS)
    assert "snapshot" in w.controls.status.toolTip() and w.controls.snapshot_note.isHidden()
    graph.set_params("hidden1", {"out_features": 7})
    assert "edited after this run started" in w.controls.snapshot_note.text()
    assert w.worker.snapshot.nodes["hidden1"].params["out_features"] == 128
    assert w.worker.session.model.hidden1.out_features == 128
    w.stop()
    wait_idle(qtbot, w)
    assert w.controls.snapshot_note.isHidden()


def test_gradient_warning_flags_its_node(qtbot, make_dock):
    from nodetrainer.training.events import Warning as WarningEvent
    from ui.training.worker import Update

    dock, w, _ = make_dock()
    flags = []
    dock.nodeFlagged.connect(lambda *a: flags.append(a))
    update = Update(warnings=[WarningEvent("gradient of node hidden2 is exploding (norm 3e+04)", "hidden2")])
    w._apply(update)
    assert flags == [("training", "hidden2", "warning", "gradient of node hidden2 is exploding (norm 3e+04)")]
    assert w.flags[("training", "hidden2")][0] == "warning"
    w.controls.messages.itemClicked.emit(w.controls.messages.item(0))
    focused = []
    dock.focusNodeRequested.connect(focused.append)
    w.controls.messages.itemClicked.emit(w.controls.messages.item(0))
    assert focused == ["hidden2"]


def test_a_stopped_run_resumes_from_the_runs_tab_with_its_earlier_epochs_drawn(qtbot, make_dock):
    dock, w, _ = make_dock(epochs=5, batch_size=16)
    ended = []
    w.worker.updated.connect(lambda u: ended.extend(u.epochs))
    w.train()
    qtbot.waitUntil(lambda: len(ended) >= 2, timeout=WAIT_MS)
    w.stop()
    wait_idle(qtbot, w)
    assert w.last_finished.reason == "stopped" and w.header.resume_button.isVisible()
    run_dir, stopped_at = Path(w.run_dir), w.last_finished.epochs_run

    panel = w.runs_panel
    panel.select([0])
    assert panel.resume_button.isEnabled()
    panel.resume_button.click()
    assert w.is_training
    wait_idle(qtbot, w)
    assert w.last_finished.reason == "completed" and w.last_finished.epochs_run == 5
    assert Path(w.run_dir) == run_dir  # the same run, continued in its folder
    assert w.plots.point_counts()["loss_epoch"] == 5  # the earlier epochs from metrics.csv, then the new ones
    assert stopped_at >= 2 and len((run_dir / "metrics.csv").read_text().splitlines()) == 1 + 5
    panel.select([0])
    assert not panel.resume_button.isEnabled()  # a completed run has nothing left to resume


def test_plots_redraw_on_their_cadence_and_at_once_on_pause(qtbot, make_dock):
    from nodetrainer.training.events import Progress, Started
    from ui.training.cadence import PLOT_INTERVAL_S
    from ui.training.plots import LivePlots
    from ui.training.worker import Update

    class Clock:
        now = 10.0

        def __call__(self):
            return self.now

    clock = Clock()
    plots = LivePlots(clock=clock)
    qtbot.addWidget(plots)
    plots.apply(Update(started=Started(3, 10, "cpu", "fp32", None)))
    qtbot.waitUntil(lambda: plots.redraws == 1)  # the first points are drawn at once
    plots.apply(Update(progress=[Progress(1, 5, 10, 1.0, 100.0, 1.0, 1e-3)]))
    assert plots._redraw_timer.isActive() and plots.redraws == 1  # the next waits for the cadence
    assert plots._redraw_timer.interval() == round(PLOT_INTERVAL_S * 1000)
    clock.now += PLOT_INTERVAL_S
    qtbot.waitUntil(lambda: plots.redraws == 2)
    assert plots.point_counts()["loss_step"] == 1

    dock, w, _ = make_dock()
    w.plots.apply(Update(progress=[Progress(1, 5, 10, 1.0, 100.0, 1.0, 1e-3)]))
    before = w.plots.redraws
    w._state_changed("paused")  # a pause shows what arrived now, whatever the cadence says
    assert w.plots.redraws == before + 1


def test_a_run_whose_folder_cannot_be_written_offers_to_save_it_elsewhere(qtbot, make_dock, tmp_path, monkeypatch):
    import errno

    from nodetrainer.training import checkpoint as checkpoint_module

    real = checkpoint_module.atomic_write_bytes

    def disk_full(path, data):
        if Path(path).suffix == ".pt":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(checkpoint_module, "atomic_write_bytes", disk_full)
    dock, w, _ = make_dock(epochs=2)
    w.train()
    wait_idle(qtbot, w)
    header = w.header
    assert w.last_finished.reason == "completed" and w.last_finished.unsaved
    assert header.outcome.level == "error" and "No space left on device" in header.hint.text()
    assert header.save_button.isVisible() and not header.resume_button.isVisible()
    monkeypatch.undo()  # another disk
    assert w.save_run_to(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "best.pt").exists() and "Saved the run" in header.hint.text()
    assert not header.save_button.isVisible()


def test_compiling_shows_as_its_own_preparation_phase_and_a_fallback_as_one_message(qtbot, make_dock, monkeypatch):
    """training.compile: the run controls say "preparing: compiling the network…" while it compiles; a network
    that cannot be compiled trains eagerly with one warning in the messages (torch.compile replaced by a stand-in
    that fails at the first call, once the test has seen the phase: compiling for real is slow on the CPU and
    is tested in tests/core)."""
    import threading

    import nodetrainer.training.compiling as compiling
    gate = threading.Event()

    def failing(fn, **kwargs):
        def call(*args, **kw):
            gate.wait(30)  # "compiling" until the test has seen the phase
            raise RuntimeError("unsupported op aten::frobnicate")
        return call
    monkeypatch.setattr(compiling.torch, "compile", failing)
    dock, w, graph = make_dock(epochs=1, compile=True)
    assert w.train()
    try:
        qtbot.waitUntil(lambda: w.controls.progress.format().startswith("preparing: compiling the network"),
                        timeout=WAIT_MS)
    finally:
        gate.set()
    wait_idle(qtbot, w)
    assert w.last_finished.reason == "completed"
    compile_lines = [t for t in w.controls.message_texts() if "could not be compiled" in t]
    assert len(compile_lines) == 1 and "unsupported op aten::frobnicate" in compile_lines[0]
