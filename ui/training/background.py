"""What the training and tuning workers share: a background QThread whose events reach the GUI thread in
batches on a fixed cadence, kept alive until it ends, with Python's garbage collector kept in the GUI thread.

- `EventInbox`: the worker thread only appends an event (a lock and a list) and, for the first event after a
  delivery, emits one queued signal that wakes the GUI thread; an urgent event (see the worker's `urgent`
  types) that arrives while a delivery waits for its turn wakes it again.
- `BackgroundWorker`: the GUI side. It takes everything that arrived and emits ONE `updated` signal with the
  worker's own update object, on the cadence `cadence.PROGRESS_INTERVAL_S` (an injectable clock), at once for
  urgent events, and at once when the user pauses or stops (`flush`). Deliveries are never rationed by what
  they cost: the views make each one cheap. It also keeps the run state (idle, preparing, running, paused,
  stopping) and the thread's lifecycle.
- Threads are held in `LIVE` until they finish, and stopped at application exit, so no QThread is destroyed
  while it runs.
- While any worker runs, automatic garbage collection is off and the GUI thread collects on a timer (young
  generations every half second, everything every ten seconds; what lived before is frozen out of those and
  collected when the last worker ends). A collection triggered in a worker thread could free the Python side
  of Qt objects there, and PySide then deletes them in the GUI thread while that thread waits for the
  interpreter lock: both would stop for good (seen as a hung test).
"""
from __future__ import annotations

import gc
import threading
import time
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Qt, Signal

from .cadence import PROGRESS_INTERVAL_S, Cadence, Clock

STATES = ("idle", "preparing", "running", "paused", "stopping")
GC_INTERVAL_MS = 500
GC_FULL_EVERY = 20  # timer ticks: a full collection every ten seconds


class EventInbox(QObject):
    """Collects events from a worker thread; wakes the GUI thread once per batch, and again for an urgent event
    that arrives while a delivery is waiting for its turn."""

    wake = Signal()

    def __init__(self, urgent: tuple[type, ...] = ()) -> None:
        super().__init__()
        self._urgent_types = urgent
        self._lock = threading.Lock()
        self._events: list[Any] = []
        self._woken = False
        self._urgent = False

    def push(self, event: Any) -> None:  # any thread
        urgent = isinstance(event, self._urgent_types)
        with self._lock:
            self._events.append(event)
            if self._woken and (self._urgent or not urgent):
                return
            self._woken = True
            self._urgent = self._urgent or urgent
        self.wake.emit()  # queued to the GUI thread (the inbox lives there)

    @property
    def urgent(self) -> bool:
        """An event waits that should be delivered at once."""
        with self._lock:
            return self._urgent

    def take(self) -> list[Any]:
        with self._lock:
            events, self._events = self._events, []
            self._woken = self._urgent = False
        return events


class WorkerThread(QThread):
    """A worker's thread: registered in LIVE while it exists; `request_stop()` must not touch Qt objects."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        LIVE.add(self)  # dropped once finished (BackgroundWorker._on_thread_finished, stop_all_threads)

    def request_stop(self) -> None:
        raise NotImplementedError


LIVE: set[WorkerThread] = set()  # threads that may still run: held so no QThread is destroyed while running


def stop_all_threads() -> None:
    """At application exit: stop whatever still runs (a window that did not shut its workers down) and wait."""
    for thread in list(LIVE):
        thread.request_stop()
    for thread in list(LIVE):
        if thread.wait(60_000):
            LIVE.discard(thread)


_exit_hooked = False


def _connect_exit_hook() -> None:
    global _exit_hooked
    app = QCoreApplication.instance()
    if app is not None and not _exit_hooked:
        app.aboutToQuit.connect(stop_all_threads)
        _exit_hooked = True


class _GuiThreadCollector(QObject):
    """Keeps garbage collection in the GUI thread while any worker runs (see the module docstring). `hold` and
    `release` are for the GUI thread; a plain thread that held it ends with `release_soon()`, from any thread."""

    _release_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._release_requested.connect(self.release, Qt.ConnectionType.QueuedConnection)
        self._holders = 0
        self._was_enabled = True
        self._ticks = 0
        self._timer = QTimer(self)
        self._timer.setInterval(GC_INTERVAL_MS)
        self._timer.timeout.connect(self._collect)

    def hold(self) -> None:
        if self._holders == 0:
            gc.collect()  # what earlier views left, freed here and now
            gc.freeze()  # what lives now stays out of the timer's collections: they stay a few milliseconds
            self._was_enabled = gc.isenabled()
            gc.disable()
            self._ticks = 0
            self._timer.start()
        self._holders += 1

    def release(self) -> None:
        if self._holders == 0:
            return
        self._holders -= 1
        if self._holders == 0:
            self._timer.stop()
            gc.unfreeze()
            gc.collect()  # what the run left, here rather than in some other thread later
            if self._was_enabled:
                gc.enable()

    def release_soon(self) -> None:
        """`release`, queued to the GUI thread (callable from any thread, e.g. as a worker thread's last act)."""
        self._release_requested.emit()

    def _collect(self) -> None:
        self._ticks += 1
        gc.collect(2 if self._ticks % GC_FULL_EVERY == 0 else 1)


_collector: _GuiThreadCollector | None = None


def collector() -> _GuiThreadCollector:
    global _collector
    if _collector is None:
        _collector = _GuiThreadCollector()
    return _collector


class BackgroundWorker(QObject):
    """The GUI side of one background job at a time; subclasses start a WorkerThread and build their update
    objects (`make_update`), and may react to a delivery (`delivered`)."""

    updated = Signal(object)  # the subclass's update, at most one per PROGRESS_INTERVAL_S (urgent ones at once)
    stateChanged = Signal(str)  # idle, preparing, running, paused, stopping

    def __init__(self, parent: QObject | None, urgent: tuple[type, ...], make_update: Callable[[], Any],
                 clock: Clock = time.monotonic) -> None:
        super().__init__(parent)
        self._make_update = make_update
        self._inbox = EventInbox(urgent)
        self._inbox.wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)
        self.cadence = Cadence(PROGRESS_INTERVAL_S, clock)
        self._thread: WorkerThread | None = None
        self._state = "idle"
        self.updates_delivered = 0
        _connect_exit_hook()

    # -- state ---------------------------------------------------------------------------------------
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

    # -- lifecycle (GUI thread) ----------------------------------------------------------------------
    def _launch(self, thread: WorkerThread) -> None:
        """Starts `thread` for a new job: a fresh cadence and inbox, state `preparing`."""
        self.cadence.reset()
        self._inbox.take()
        collector().hold()
        self._thread = thread
        thread.finished.connect(self._on_thread_finished, Qt.ConnectionType.QueuedConnection)
        self._set_state("preparing")
        thread.start()

    def _wait_for_thread(self, timeout_s: float) -> bool:
        """Waits until the thread has finished and delivers what is left; True when nothing runs any more."""
        thread = self._thread
        if thread is None:
            return True
        finished = thread.wait(int(timeout_s * 1000))
        if finished:
            self._on_thread_finished()
        return finished

    def _on_thread_finished(self) -> None:
        thread = self._thread
        if thread is None or thread.isRunning():  # a queued finished() that raced with a shutdown's wait
            return
        self.flush()
        self._thread = None
        LIVE.discard(thread)
        thread.deleteLater()
        self._thread_ended()
        collector().release()
        self._set_state("idle")

    def _thread_ended(self) -> None:
        """The subclass's clean-up once its thread has finished (before the state turns idle)."""

    # -- delivery (GUI thread) -----------------------------------------------------------------------
    def _on_wake(self) -> None:
        wait = 0.0 if self._inbox.urgent else self.cadence.wait()
        if wait <= 0:
            self.flush()
        elif not self._timer.isActive():
            self._timer.start(max(1, round(wait * 1000)))

    def flush(self) -> Any:
        """Delivers everything that arrived (on the cadence, at once for urgent events, pauses and stops; tests
        may call it). Returns the update, or None when nothing had arrived."""
        self._timer.stop()
        events = self._inbox.take()
        if not events:
            return None
        self.cadence.mark()
        update = self._make_update()
        for event in events:
            update.add(event)
        self.delivered(update)
        self.updates_delivered += 1
        self.updated.emit(update)
        return update

    def delivered(self, update: Any) -> None:
        """The subclass's state changes for an update about to be emitted (e.g. preparing -> running)."""


__all__ = ["EventInbox", "WorkerThread", "BackgroundWorker", "LIVE", "stop_all_threads", "collector", "STATES"]
