"""Runs a tuning study in a background QThread and hands its events to the UI in batches, on a fixed cadence.

The same delivery as the training worker's (background.py): the study's thread
only appends events to an inbox, and the GUI thread emits ONE
`updated(TuneUpdate)` per delivery. Per-epoch events follow the training view's
cadence; the start and end of trials and of the study (URGENT), and everything
that arrived when Pause or Stop is pressed, are delivered at once. Garbage
collection stays in the GUI thread while the study runs (background.py says why).

`TuneWorker.start(graph, ...)` checks and runs a snapshot (`graph.copy()`), so
the editor can go on changing the graph: the thread runs the tuner's pre-flight
(`nodetrainer.tune.plan.plan_tune`, problems come back as `TuneDone.problems`)
and then `run_study` in this process, with torch threads leaving the UI a core.
`pause` pauses the trial in training (and starts no other), `stop` ends the
trial in progress (recorded as interrupted) and the study; finished trials stay.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from nodetrainer.errors import NodeTrainerError, Problem
from nodetrainer.tune.events import Importances, StudyEnded, StudyReady, TrialEnded, TrialEpoch, TrialStarted

from .background import BackgroundWorker, WorkerThread
from .cadence import Clock


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


URGENT = (TunePhase, StudyReady, TrialStarted, TrialEnded, Importances, StudyEnded, TuneDone)


class _TuneThread(WorkerThread):
    def __init__(self, worker: "TuneWorker", snapshot: Any, options: dict[str, Any]) -> None:
        super().__init__("nodetrainer-tuning")
        from nodetrainer.tune.trial import Control
        self.inbox = worker._inbox
        self.control: Control = worker.control
        self.snapshot = snapshot
        self.options = options

    def request_stop(self) -> None:
        self.control.stop()

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


class TuneWorker(BackgroundWorker):
    """One study at a time, in a QThread; its events arrive as `updated(TuneUpdate)` in the GUI thread."""

    def __init__(self, parent: QObject | None = None, clock: Clock = time.monotonic) -> None:
        super().__init__(parent, URGENT, TuneUpdate, clock)
        from nodetrainer.tune.trial import Control
        self.control = Control()
        self.snapshot: Any = None

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
        options = {"runs_dir": Path(runs_dir), "tune": tune, "baseline": baseline, "prefix": prefix,
                   "trials": trials}
        self._launch(_TuneThread(self, self.snapshot, options))
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
        if self._thread is None:
            return True
        self.stop()
        return self._wait_for_thread(timeout_s)

    # -- delivery (GUI thread) ---------------------------------------------------------------------
    def delivered(self, update: TuneUpdate) -> None:
        if update.ready is not None and self._state == "preparing":
            self._set_state("running")


__all__ = ["TuneWorker", "TuneUpdate", "TunePhase", "TuneDone"]
