"""The worker's delivery: events from another thread arrive in the GUI thread in batches, at most ~20 a second,
none lost, in order; a failure is shown in the panel with its node flagged."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from nodetrainer.training.events import EpochEnded, Failed, Progress

ROOT = Path(__file__).resolve().parents[2]


def test_events_are_batched_throttled_and_complete(qtbot):
    from PySide6.QtCore import QThread
    from ui.training.worker import MAX_UPDATES_PER_S, TrainingWorker

    worker = TrainingWorker()
    updates, threads = [], set()

    def on_update(u):
        updates.append((time.monotonic(), u))
        threads.add(QThread.currentThread())

    worker.updated.connect(on_update)
    n = 3000

    def produce():  # a fast model: thousands of events a second from the training thread
        for i in range(n):
            worker._inbox.push(Progress(1, i + 1, n, 1.0, 1e5, 1.0, 1e-3))
            if i % 10 == 0:
                time.sleep(0.002)
        worker._inbox.push(EpochEnded(1, {"train_loss": 0.5}, 1e-3, 1.0))

    t = threading.Thread(target=produce)
    start = time.monotonic()
    t.start()
    qtbot.waitUntil(lambda: sum(len(u.progress) for _, u in updates) == n and any(u.epochs for _, u in updates),
                    timeout=20_000)
    t.join()
    elapsed = max(time.monotonic() - start, 1e-3)
    steps = [p.step for _, u in updates for p in u.progress]
    assert steps == list(range(1, n + 1))  # nothing lost, in order
    assert len(updates) <= MAX_UPDATES_PER_S * elapsed + 2  # throttled
    assert len(updates) < n / 10  # coalesced: many events per delivery
    gaps = [b - a for (a, _), (b, _) in zip(updates, updates[1:])]
    assert min(gaps) >= 1.0 / MAX_UPDATES_PER_S * 0.8
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
    assert "Failed" in w.controls.status.text() and "out of memory" in w.controls.status.text()
    assert any("out of memory" in m and "hidden1" in m for m in w.controls.message_texts())
    assert flags == [("training", "hidden1", "error", message)]
    assert w.flags == {("training", "hidden1"): ("error", message)}
    w.train({"epochs": 1})  # a new run clears the training flags
    assert "training" in cleared and not w.flags
    assert dock.request_shutdown(30)


def test_quitting_the_application_stops_a_forgotten_run(qtbot, tmp_path):
    """A window that never called request_shutdown: at exit the thread is still stopped, and writes last.pt."""
    from nodetrainer.graphfile import load_graph
    from ui.training import worker as W
    from ui.training.worker import TrainingWorker

    graph = load_graph(ROOT / "graphs" / "digits_mlp.yaml")
    graph.set_section("training", {"epochs": 500, "batch_size": 8})
    worker = TrainingWorker()
    worker.start(graph, runs_dir=tmp_path)
    qtbot.waitUntil(lambda: worker.session is not None, timeout=60_000)
    run_dir = worker.session.run_dir
    thread = worker._thread
    assert W._exit_hooked  # connected to QApplication.aboutToQuit
    W._stop_all_threads()  # what aboutToQuit runs (not emitted here: other code may listen to it)
    assert not thread.isRunning() and thread not in W._LIVE
    assert (run_dir / "last.pt").exists()
    worker.request_shutdown()
