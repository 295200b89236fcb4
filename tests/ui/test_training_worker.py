"""The worker's delivery: events from another thread arrive in the GUI thread in batches on a fixed cadence
(urgent ones, pauses and stops at once), none lost, in order; a failure is shown in the panel with its node
flagged."""
from __future__ import annotations

import os
import threading
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from nodetrainer.training.events import EpochEnded, Failed, Progress

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """A clock the test moves by hand: the worker's cadence reads it instead of the wall clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress(step: int, n: int = 1000) -> Progress:
    return Progress(1, step, n, 1.0, 1e5, 1.0, 1e-3)


def test_deliveries_follow_the_cadence_and_urgent_events_go_at_once(qtbot):
    from nodetrainer.training.events import Finished
    from ui.training.cadence import PROGRESS_INTERVAL_S
    from ui.training.worker import TrainingWorker

    clock = FakeClock()
    worker = TrainingWorker(clock=clock)
    updates = []
    worker.updated.connect(updates.append)

    worker._inbox.push(progress(1))
    worker._on_wake()  # the first event of a run is shown at once
    assert [p.step for p in updates[0].progress] == [1]

    for step in range(2, 500):
        worker._inbox.push(progress(step))
    worker._on_wake()  # too soon: the batch waits for the cadence's turn
    assert len(updates) == 1
    assert worker._timer.isActive() and worker._timer.interval() == round(PROGRESS_INTERVAL_S * 1000)

    clock.now += PROGRESS_INTERVAL_S
    worker._on_wake()  # its turn: everything that waited, in one update, in order
    assert len(updates) == 2 and [p.step for p in updates[1].progress] == list(range(2, 500))

    worker._inbox.push(progress(500))
    worker._inbox.push(Finished("completed", 1, 1, {}, None, None))
    worker._on_wake()  # the end of a run never waits for the cadence
    assert len(updates) == 3 and updates[2].finished is not None and updates[2].progress[-1].step == 500


def test_pause_and_stop_deliver_what_arrived_at_once(qtbot):
    from ui.training.worker import TrainingWorker

    clock = FakeClock()
    worker = TrainingWorker(clock=clock)
    updates = []
    worker.updated.connect(updates.append)
    worker._inbox.push(progress(1))
    worker._on_wake()
    worker._inbox.push(progress(2))
    worker.pause()  # not due by the cadence, but the user paused: the view shows where the run is
    assert [p.step for u in updates for p in u.progress] == [1, 2]
    worker._inbox.push(progress(3))
    worker.stop()
    assert [p.step for u in updates for p in u.progress] == [1, 2, 3]


def test_events_from_the_training_thread_arrive_complete_in_order_in_the_gui_thread(qtbot):
    from PySide6.QtCore import QThread
    from ui.training.worker import TrainingWorker

    worker = TrainingWorker(clock=FakeClock())  # time stands still: after the first, deliveries wait for the timer
    updates, threads = [], set()

    def on_update(u):
        updates.append(u)
        threads.add(QThread.currentThread())

    worker.updated.connect(on_update)
    n = 3000

    def produce():  # a fast model: thousands of events from the training thread
        for i in range(n):
            worker._inbox.push(progress(i + 1, n))
        worker._inbox.push(EpochEnded(1, {"train_loss": 0.5}, 1e-3, 1.0))

    t = threading.Thread(target=produce)
    t.start()
    qtbot.waitUntil(lambda: sum(len(u.progress) for u in updates) == n and any(u.epochs for u in updates),
                    timeout=20_000)
    t.join()
    steps = [p.step for u in updates for p in u.progress]
    assert steps == list(range(1, n + 1))  # nothing lost, in order
    assert len(updates) < n  # coalesced: many events per delivery
    assert threads == {QThread.currentThread()}  # delivered in the GUI thread


def test_a_training_failure_is_shown_with_its_node(qtbot, tmp_path):
    from nodetrainer.graphfile import load_graph
    from ui.training import TrainingDock
    from ui.training.worker import Update

    dock = TrainingDock(load_graph(ROOT / "graphs" / "digits_mlp.yaml"), runs_dir=tmp_path)
    qtbot.addWidget(dock)
    w = dock.training
    flags = []
    dock.nodeFlagged.connect(lambda *a: flags.append(a))
    cleared = []
    dock.nodeFlagsCleared.connect(cleared.append)
    message = "the device ran out of memory with batch_size 64; try a smaller batch_size"
    w._apply(Update(failed=Failed(message, "hidden1")))
    assert w.header.title.text() == "Failed" and "out of memory" in w.header.detail.text()
    assert any("out of memory" in m and "hidden1" in m for m in w.controls.message_texts())
    assert flags == [("training", "hidden1", "error", message)]
    assert w.flags == {("training", "hidden1"): ("error", message)}
    w.train({"epochs": 1})  # a new run clears the training flags
    assert "training" in cleared and not w.flags
    assert dock.request_shutdown(30)


def test_quitting_the_application_stops_a_forgotten_run(qtbot, tmp_path):
    """A window that never called request_shutdown: at exit the thread is still stopped, and writes last.pt."""
    from nodetrainer.graphfile import load_graph
    from ui.training import background as W
    from ui.training.worker import TrainingWorker

    graph = load_graph(ROOT / "graphs" / "digits_mlp.yaml")
    graph.set_section("training", {"epochs": 500, "batch_size": 8})
    worker = TrainingWorker()
    worker.start(graph, runs_dir=tmp_path)
    qtbot.waitUntil(lambda: worker.session is not None, timeout=60_000)
    run_dir = worker.session.run_dir
    thread = worker._thread
    assert W._exit_hooked  # connected to QApplication.aboutToQuit
    W.stop_all_threads()  # what aboutToQuit runs (not emitted here: other code may listen to it)
    assert not thread.isRunning() and thread not in W.LIVE
    assert (run_dir / "last.pt").exists()
    worker.request_shutdown()


def test_garbage_collection_stays_in_the_gui_thread_while_a_worker_runs(qtbot):
    """A collection in the training thread could free Qt objects there (background.py): while any worker runs,
    automatic collection is off and the GUI thread collects on its timer; afterwards it is as it was."""
    import gc

    from nodetrainer.graphfile import load_graph
    from ui.training.background import collector
    from ui.training.worker import TrainingWorker

    assert gc.isenabled()
    graph = load_graph(ROOT / "graphs" / "digits_mlp.yaml")
    graph.set_section("training", {"epochs": 1})
    worker = TrainingWorker()
    collector().hold()  # as another worker (a study, a data load) would
    worker.start(graph)
    assert not gc.isenabled() and collector()._timer.isActive()
    qtbot.waitUntil(lambda: not worker.busy, timeout=60_000)
    assert not gc.isenabled()  # the other still holds it
    collector().release()
    assert gc.isenabled() and not collector()._timer.isActive()
