"""Runs a tuning study in a background QThread and hands its events to the UI in batches, on a fixed cadence.

The same pattern as worker.py (the training worker): the study's thread only
appends events to an inbox (a lock and a list) and wakes the GUI thread with
one queued signal; the GUI thread takes everything that arrived and emits ONE
`updated(TuneUpdate)`. Per-epoch events follow the training view's cadence
(`cadence.PROGRESS_INTERVAL_S`, on an injectable clock); the start and end of
trials and of the study, and everything that arrived when Pause or Stop is
pressed, are delivered at once.

Python's garbage collector is kept out of the study's thread: while a study
runs, automatic collection is off and the GUI thread collects on a timer
(young generations every half second, all every ten seconds; what lived when
the study started is frozen out of those and collected once it ends). A collection in
the study's thread could free the Python side of Qt objects (plot items the
view replaced, widgets of a closed panel) there, and PySide then deletes them
in the GUI thread while that thread waits for the interpreter lock: both stop
for good (seen as a hung test).

`TuneWorker.start(graph, ...)` checks and runs a snapshot (`graph.copy()`), so
the editor can go on changing the graph: the thread runs the tuner's pre-flight
(`nodetrainer.tune.plan.plan_tune`, problems come back as `TuneDone.problems`)
and then `run_study` in this process, with torch threads leaving the UI a core.
`pause` pauses the trial in training (and starts no other), `stop` ends the
trial in progress (recorded as interrupted) and the study; finished trials stay.
"""
from __future__ import annotations

import gc
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Qt, Signal

from nodetrainer.errors import NodeTrainerError, Problem
from nodetrainer.tune.events import Importances, StudyEnded, StudyReady, TrialEnded, TrialEpoch, TrialStarted

from .cadence import PROGRESS_INTERVAL_S, Cadence, Clock


@dataclass(frozen=True)
class TunePhase:
    text: str


@dataclass
class TuneDone:
    """The thread's last word: the StudyResult (None when the pre-flight refused) and the problems."""

    result: Any = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class TuneUpdate:
    """Everything since the previous delivery, in order of kind."""

    phase: TunePhase | None = None
    ready: StudyReady | None = None
    started: list[TrialStarted] = field(default_factory=list)
    epochs: list[TrialEpoch] = field(default_factory=list)
    ended: list[TrialEnded] = field(default_factory=list)
    importances: Importances | None = None
    study_ended: StudyEnded | None = None
    done: TuneDone | None = None

    def add(self, event: Any) -> None:
        if isinstance(event, TrialEpoch):
            self.epochs.append(event)
        elif isinstance(event, TrialStarted):
            self.started.append(event)
        elif isinstance(event, TrialEnded):
            self.ended.append(event)
        elif isinstance(event, StudyReady):
            self.ready = event
        elif isinstance(event, Importances):
            self.importances = event
        elif isinstance(event, StudyEnded):
            self.study_ended = event
        elif isinstance(event, TunePhase):
            self.phase = event
        elif isinstance(event, TuneDone):
            self.done = event


GC_INTERVAL_MS = 500
GC_FULL_EVERY = 20  # ticks: a full collection every ten seconds

URGENT = (TunePhase, StudyReady, TrialStarted, TrialEnded, Importances, StudyEnded, TuneDone)


class _Inbox(QObject):
    """Events from the study's thread; one wake-up per batch, and one more for an urgent event."""

    wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._events: list[Any] = []
        self._woken = False
        self._urgent = False

    def push(self, event: Any) -> None:  # any thread
        urgent = isinstance(event, URGENT)
        with self._lock:
            self._events.append(event)
            if self._woken and (self._urgent or not urgent):
                return
            self._woken = True
            self._urgent = self._urgent or urgent
        self.wake.emit()

    @property
    def urgent(self) -> bool:
        with self._lock:
            return self._urgent

    def take(self) -> list[Any]:
        with self._lock:
            events, self._events = self._events, []
            self._woken = self._urgent = False
        return events


_LIVE: set["_TuneThread"] = set()


def _stop_all() -> None:
    for thread in list(_LIVE):
        thread.control.stop()
    for thread in list(_LIVE):
        if thread.wait(60_000):
            _LIVE.discard(thread)


class _TuneThread(QThread):
    def __init__(self, worker: "TuneWorker", snapshot: Any, options: dict[str, Any]) -> None:
        super().__init__()
        from nodetrainer.tune.trial import Control
        self.inbox = worker._inbox
        self.control: Control = worker.control
        self.snapshot = snapshot
        self.options = options
        self.setObjectName("nodetrainer-tuning")
        _LIVE.add(self)

    def run(self) -> None:  # the study's thread
        from nodetrainer.tune.plan import plan_tune
        from nodetrainer.tune.runner import run_study

        from .worker import _leave_a_core

        inbox = self.inbox
        opts = dict(self.options)
        try:
            plan = plan_tune(self.snapshot, on_phase=lambda text: inbox.push(TunePhase(text)), **opts)
        except NodeTrainerError as exc:
            inbox.push(TuneDone(None, list(exc.problems)))
            return
        except Exception as exc:  # a bug or the environment: one line, never a dead UI
            traceback.print_exc()
            inbox.push(TuneDone(None, [Problem(f"cannot start tuning: {type(exc).__name__}: {exc}")]))
            return
        import torch
        restore = _leave_a_core("cpu" if not torch.cuda.is_available() else "cuda")
        try:
            result = run_study(plan, control=self.control, on_event=inbox.push, with_importances=True)
            inbox.push(TuneDone(result))
        except Exception as exc:
            traceback.print_exc()
            inbox.push(TuneDone(None, [Problem(f"tuning stopped on an internal error: {type(exc).__name__}: {exc}")]))
        finally:
            if restore is not None:
                torch.set_num_threads(restore)


_hooked = False


def _hook_exit() -> None:
    global _hooked
    app = QCoreApplication.instance()
    if app is not None and not _hooked:
        app.aboutToQuit.connect(_stop_all)
        _hooked = True


class TuneWorker(QObject):
    """One study at a time, in a QThread; its events arrive as `updated(TuneUpdate)` in the GUI thread."""

    updated = Signal(object)
    stateChanged = Signal(str)  # idle, preparing, running, paused, stopping

    def __init__(self, parent: QObject | None = None, clock: Clock = time.monotonic) -> None:
        super().__init__(parent)
        from nodetrainer.tune.trial import Control
        self.control = Control()
        self._inbox = _Inbox()
        self._inbox.wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)
        self.cadence = Cadence(PROGRESS_INTERVAL_S, clock)
        self._gc_timer = QTimer(self)
        self._gc_timer.setInterval(GC_INTERVAL_MS)
        self._gc_timer.timeout.connect(self._collect)
        self._gc_ticks = 0
        self._gc_was_enabled: bool | None = None
        self._thread: _TuneThread | None = None
        self._state = "idle"
        self.snapshot: Any = None
        _hook_exit()

    @property
    def state(self) -> str:
        return self._state

    @property
    def busy(self) -> bool:
        return self._state != "idle"

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    # -- commands (GUI thread) -----------------------------------------------------------------
    def start(self, graph: Any, runs_dir: str | Path, *, tune: dict[str, Any] | None = None, baseline: bool = True,
              prefix: str = "tune", trials: int | None = None) -> Any:
        """Checks and runs a study of a snapshot of `graph` (returned) in a tune folder under `runs_dir`;
        `tune` replaces its tune section (Compare), `baseline=False` leaves out trial 0."""
        from nodetrainer.tune.trial import Control
        if self.busy:
            raise RuntimeError("a study is already running")
        self.snapshot = graph.copy()
        self.control = Control()
        self.cadence.reset()
        self._inbox.take()
        options = {"runs_dir": Path(runs_dir), "tune": tune, "baseline": baseline, "prefix": prefix,
                   "trials": trials}
        self._hold_gc()
        self._thread = _TuneThread(self, self.snapshot, options)
        self._thread.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self._set_state("preparing")
        self._thread.start()
        return self.snapshot

    def pause(self) -> None:
        self.flush()
        self.control.pause()
        if self._state in ("running", "preparing"):
            self._set_state("paused")

    def resume(self) -> None:
        self.control.resume()
        if self._state == "paused":
            self._set_state("running")

    def stop(self) -> None:
        self.flush()
        self.control.stop()
        if self.busy:
            self._set_state("stopping")

    def request_shutdown(self, timeout_s: float = 60.0) -> bool:
        thread = self._thread
        if thread is None:
            return True
        self.stop()
        finished = thread.wait(int(timeout_s * 1000))
        if finished:
            self._on_finished()
        return finished

    # -- delivery (GUI thread) ---------------------------------------------------------------------
    def _on_wake(self) -> None:
        wait = 0.0 if self._inbox.urgent else self.cadence.wait()
        if wait <= 0:
            self.flush()
        elif not self._timer.isActive():
            self._timer.start(max(1, round(wait * 1000)))

    def flush(self) -> TuneUpdate | None:
        """Delivers everything that arrived (normally on the cadence; tests may call it)."""
        self._timer.stop()
        events = self._inbox.take()
        if not events:
            return None
        self.cadence.mark()
        update = TuneUpdate()
        for event in events:
            update.add(event)
        if update.ready is not None and self._state == "preparing":
            self._set_state("running")
        self.updated.emit(update)
        return update

    def _on_finished(self) -> None:
        thread = self._thread
        if thread is None or thread.isRunning():
            return
        self.flush()
        self._thread = None
        _LIVE.discard(thread)
        thread.deleteLater()
        self._release_gc()
        self._set_state("idle")

    # -- garbage collection in the GUI thread only (see the module docstring) -----------------------
    def _hold_gc(self) -> None:
        gc.collect()  # what earlier views left, freed here and now
        gc.freeze()  # what lives now is left out of the timer's collections: they stay a few milliseconds
        if self._gc_was_enabled is None:
            self._gc_was_enabled = gc.isenabled()
        gc.disable()
        self._gc_ticks = 0
        self._gc_timer.start()

    def _collect(self) -> None:
        self._gc_ticks += 1
        gc.collect(2 if self._gc_ticks % GC_FULL_EVERY == 0 else 1)

    def _release_gc(self) -> None:
        self._gc_timer.stop()
        gc.unfreeze()
        gc.collect()  # what the study's time left, here rather than in some other thread later
        if self._gc_was_enabled:
            gc.enable()
        self._gc_was_enabled = None


__all__ = ["TuneWorker", "TuneUpdate", "TunePhase", "TuneDone"]
