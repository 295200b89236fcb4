"""Runs training in a background QThread and hands its events to the UI in batches, on a fixed cadence.

The delivery is background.py's: the trainer's events go to an inbox (no Qt
work per event in the training thread) and reach the GUI thread as ONE
`updated(Update)` per delivery: every Progress (the last one drives the
progress bar), EpochEnded and GradientStats since the last delivery, warnings,
and the end of the run, on a fixed cadence that is never rationed by what a
delivery costs. What a user waits for is delivered at once (URGENT: the start
and the end of a run, warnings), and so is everything that arrived when they
press Pause or Stop.

While the session is prepared (checking, importing, loading data, compiling),
the thread reports each phase as a `Phase`, so the view can say what it waits for.

`TrainingWorker.start(graph)` trains a snapshot (`graph.copy()` taken here, in
the GUI thread), so the editor can go on changing the graph. `pause`, `resume`
and `stop` are forwarded to the trainer (thread-safe) or remembered until the
session exists. `request_shutdown()` stops the run, waits for the thread (the
trainer writes last.pt before its loop returns) and delivers what is left, so a
window can close without "QThread destroyed while running".
"""
from __future__ import annotations

import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from nodetrainer.errors import NodeTrainerError, Problem
from nodetrainer.training.events import EpochEnded, Failed, Finished, GradientStats, Progress, Started
from nodetrainer.training.events import Warning as WarningEvent

from .background import BackgroundWorker, WorkerThread
from .cadence import Clock

STATES = ("idle", "preparing", "running", "paused", "stopping")


@dataclass
class Prepared:
    """The session is built: what it trains on (from TrainingSession.info) and its run folder."""

    info: dict[str, Any]
    run_dir: str | None
    task: str | None
    class_names: list[str] | None
    metric_names: list[str]
    node_ids: list[str]


@dataclass(frozen=True)
class Phase:
    """A step of preparing the run ("loading the data", "compiling the model"), sent as it begins."""

    text: str


@dataclass(frozen=True)
class PredictionSet:
    """What the kept weights predict, per split (test and val where they exist), for the result plot."""

    by_split: dict[str, Any]


@dataclass
class Done:
    """The thread's last word: the RunResult (None when pre-flight failed) and pre-flight problems."""

    result: Any = None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Update:
    """Everything that happened since the previous delivery, in the order the UI should apply it."""

    phase: Phase | None = None  # the latest preparation phase
    prepared: Prepared | None = None
    started: Started | None = None
    progress: list[Progress] = field(default_factory=list)
    epochs: list[EpochEnded] = field(default_factory=list)
    grads: list[GradientStats] = field(default_factory=list)
    warnings: list[WarningEvent] = field(default_factory=list)
    finished: Finished | None = None
    failed: Failed | None = None
    predictions: dict[str, Any] | None = None  # split -> Predictions
    done: Done | None = None

    @property
    def last_progress(self) -> Progress | None:
        return self.progress[-1] if self.progress else None

    def add(self, event: Any) -> None:
        if isinstance(event, Progress):
            self.progress.append(event)
        elif isinstance(event, GradientStats):
            self.grads.append(event)
        elif isinstance(event, EpochEnded):
            self.epochs.append(event)
        elif isinstance(event, WarningEvent):
            self.warnings.append(event)
        elif isinstance(event, Started):
            self.started = event
        elif isinstance(event, Finished):
            self.finished = event
        elif isinstance(event, Failed):
            self.failed = event
        elif isinstance(event, Prepared):
            self.prepared = event
        elif isinstance(event, Phase):
            self.phase = event
        elif isinstance(event, Done):
            self.done = event
        elif isinstance(event, PredictionSet):
            self.predictions = dict(event.by_split)


URGENT = (Phase, Prepared, Started, WarningEvent, Finished, Failed, Done)  # delivered at once, whatever the cadence


class _TrainingThread(WorkerThread):
    def __init__(self, worker: "TrainingWorker", snapshot: Any, overrides: dict[str, Any] | None,
                 runs_dir: Path | None, data_dir: Path | None, predict: bool, resume_dir: Path | None = None) -> None:
        super().__init__("nodetrainer-training")
        self.worker = worker
        self.resume_dir = resume_dir
        self.snapshot = snapshot
        self.overrides = overrides
        self.runs_dir = runs_dir
        self.data_dir = data_dir
        self.predict = predict

    def request_stop(self) -> None:
        """Stops the run without touching Qt objects (the worker may be gone): last.pt is written as usual."""
        worker = self.worker
        with worker._session_lock:
            worker._pending_stop = True
            worker._shutting_down = True
            if worker._session is not None:
                worker._session.stop()

    def run(self) -> None:  # the training thread
        from nodetrainer.training.run import prepare, resume

        inbox, worker = self.worker._inbox, self.worker
        if worker.threads is not None:  # the Settings tab's choice
            import torch
            restore_threads = torch.get_num_threads()
            torch.set_num_threads(worker.threads)
        else:
            restore_threads = _leave_a_core(self._device()) if worker.leave_core_for_ui else None
        on_phase = lambda text: inbox.push(Phase(text))  # noqa: E731
        try:
            try:
                if self.resume_dir is not None:
                    session = resume(self.resume_dir, self.overrides, options=worker.options, on_phase=on_phase)
                else:
                    session = prepare(self.snapshot, self.overrides, runs_dir=self.runs_dir, options=worker.options,
                                      data_dir=self.data_dir, on_phase=on_phase)
            except NodeTrainerError as exc:
                inbox.push(Done(None, list(exc.problems)))
                return
            except Exception as exc:  # a bug or an environment problem: still one line, never a dead UI
                inbox.push(Done(None, [Problem(f"cannot start training: {type(exc).__name__}: {exc}")]))
                traceback.print_exc()
                return
            self._train(session, session.trainer, session.dataset, inbox, worker)
        finally:
            if restore_threads is not None:
                import torch
                torch.set_num_threads(restore_threads)

    def _device(self) -> str:
        """The device type the run will use ("cpu" when it cannot be told yet: prepare reports the problem)."""
        try:
            from nodetrainer.training.device import resolve_device
            from nodetrainer.training.run import apply_overrides
            return resolve_device(apply_overrides(self.snapshot, self.overrides).training_config().device).type
        except Exception:
            return "cpu"

    def _train(self, session: Any, trainer: Any, ds: Any, inbox: Any, worker: "TrainingWorker") -> None:
        inbox.push(Prepared(dict(session.info), str(session.run_dir) if session.run_dir else None,
                            getattr(ds, "task", None), getattr(ds, "class_names", None),
                            list(trainer.metric_names), list(session.graph.nodes)))
        session.subscribe(inbox.push)
        worker.last_session = session
        worker._attach(session)
        try:
            result = session.run()
        except Exception as exc:  # run() reports training errors as Failed; this would be a bug in the loop
            traceback.print_exc()
            inbox.push(Done(None, [Problem(f"training stopped on an internal error: {type(exc).__name__}: {exc}")]))
            return
        finally:
            worker._detach()
        if self.predict and result.reason in ("completed", "early_stopped", "stopped") \
                and not worker._shutting_down:  # a diverged run's weights predict nothing worth showing
            try:
                from nodetrainer.training.predictions import predict
                names = getattr(ds, "class_names", None)
                by_split = {split: preds for split in ("test", "val")
                            if (preds := predict(trainer, split, class_names=names)) is not None}
                if by_split:
                    inbox.push(PredictionSet(by_split))
            except Exception:  # the plot is a bonus; the run itself is finished and saved
                traceback.print_exc()
        inbox.push(Done(result))


def _leave_a_core(device: Any) -> int | None:
    """CPU training from the GUI: when torch would use every CPU, use one less, so the UI thread always has a
    core (otherwise it preempts one of torch's OpenMP threads, and the others wait for it at every barrier).
    Returns the thread count to restore afterwards, or None when nothing changed."""
    import torch
    cores = os.cpu_count() or 1
    current = torch.get_num_threads()
    if str(getattr(device, "type", device)) != "cpu" or cores < 2 or current < cores:
        return None
    torch.set_num_threads(cores - 1)
    return current


class TrainingWorker(BackgroundWorker):
    """One training run at a time, in a QThread; its events arrive as `updated(Update)` in the GUI thread."""

    def __init__(self, parent: QObject | None = None, options: Any = None, leave_core_for_ui: bool = True,
                 clock: Clock = time.monotonic) -> None:
        super().__init__(parent, URGENT, Update, clock)
        self.leave_core_for_ui = leave_core_for_ui  # see _leave_a_core
        self.threads: int | None = None  # CPU threads for a run; None: torch's count, less one core for the UI
        from nodetrainer.training.trainer import TrainerOptions
        self.options = options or TrainerOptions()
        self._session_lock = threading.Lock()
        self._session: Any = None
        self._pending_pause = False
        self._pending_stop = False
        self._shutting_down = False
        self.snapshot: Any = None  # the graph being trained
        self.last_session: Any = None  # the last run's session, kept until the next (its weights: save_to)

    # -- state -----------------------------------------------------------------------
    @property
    def session(self) -> Any:
        """The TrainingSession being run (None while preparing or idle); for diagnostics and tests."""
        with self._session_lock:
            return self._session

    # -- commands (GUI thread) ----------------------------------------------------------
    def start(self, graph: Any, overrides: dict[str, Any] | None = None, runs_dir: str | Path | None = None,
              data_dir: str | Path | None = None, predict: bool = True, resume_dir: str | Path | None = None) -> Any:
        """Trains a snapshot of `graph` (returned); `runs_dir=None` writes no run folder. With `resume_dir`,
        continues that run folder from its last.pt instead (`graph` is then the graph the run trained)."""
        if self.busy:
            raise RuntimeError("a run is already in progress")
        self.snapshot = graph.copy()
        self.last_session = None
        self._pending_pause = self._pending_stop = self._shutting_down = False
        self._launch(_TrainingThread(self, self.snapshot, overrides, Path(runs_dir) if runs_dir else None,
                                     Path(data_dir) if data_dir else None, predict,
                                     Path(resume_dir) if resume_dir else None))
        return self.snapshot

    def pause(self) -> None:
        """Pauses after the current step; what arrived so far is delivered now."""
        self.flush()
        with self._session_lock:
            if self._session is not None:
                self._session.pause()
            else:
                self._pending_pause = True
        if self._state in ("running", "preparing"):
            self._set_state("paused")

    def resume(self) -> None:
        with self._session_lock:
            self._pending_pause = False
            if self._session is not None:
                self._session.resume()
        if self._state == "paused":
            self._set_state("running" if self._session is not None else "preparing")

    def stop(self) -> None:
        """Ends the run after the current step: reason `stopped`, last.pt written. What arrived so far is
        delivered now."""
        self.flush()
        with self._session_lock:
            self._pending_stop = True
            if self._session is not None:
                self._session.stop()
        if self.busy:
            self._set_state("stopping")

    def request_shutdown(self, timeout_s: float = 60.0) -> bool:
        """Stops the run and waits until the thread has finished (last.pt written); delivers what is left.
        True when nothing is running any more."""
        if self._thread is None:
            return True
        self._shutting_down = True
        self.stop()
        return self._wait_for_thread(timeout_s)

    # -- training thread ---------------------------------------------------------------
    def _attach(self, session: Any) -> None:
        with self._session_lock:
            self._session = session
            if self._pending_pause:
                session.pause()
            if self._pending_stop:
                session.stop()

    def _detach(self) -> None:
        with self._session_lock:
            self._session = None

    # -- delivery (GUI thread) ----------------------------------------------------------
    def delivered(self, update: "Update") -> None:
        if self._state == "preparing" and (update.started is not None
                                           or (update.prepared is not None and not self._pending_pause)):
            self._set_state("running")

    def _thread_ended(self) -> None:
        with self._session_lock:
            self._session = None


__all__ = ["TrainingWorker", "Update", "Prepared", "Phase", "PredictionSet", "Done"]
