"""One trial: sample values, write them into a copy of the graph, check it, train it, report every epoch.

`Objective(plan, control, on_event)` is the function Optuna calls. A trial
trains through the project's own entry point (`training.run.prepare` and
`TrainingSession.run`) in an ordinary run folder `trial-NNNN/` of the tune
folder. Every `EpochEnded` reports `tune.metric` to Optuna; when the pruner says
so, the subscriber stops the trainer (`trainer.stop()`, which ends the run
cleanly after that epoch) and the trial is recorded as pruned at that epoch.
The trial's value is the best `tune.metric` of its epochs.

A trial whose graph the sampled values make invalid, whose training fails or
diverges, is recorded as failed (diverged) with its one-line reason and the
study goes on. `Control` pauses and stops a study from another thread (the
app's buttons, Ctrl-C): a stopped trial is recorded as interrupted and does not
count, so a resumed study runs it again.
"""
from __future__ import annotations

import math
import os
import threading
import time
from typing import Any, Callable

from ..errors import NodeTrainerError
from ..graphfile import dump_graph
from ..training.events import EpochEnded
from ..training.runs import RunFolder
from .events import TrialEpoch, TrialStarted
from .space import baseline, sample, suggest_baseline
from .study import MEDIAN_WARMUP_EPOCHS
from .values import apply_values

EventCallback = Callable[[Any], None]


class TrialFailed(Exception):
    """The trial failed (or diverged); its reason is in the trial's `note`. Optuna records it as failed."""


class TrialInterrupted(Exception):
    """The study was stopped during the trial."""


class Control:
    """Pause, resume and stop a study (and the trial it is training) from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._session: Any = None

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        with self._lock:
            if self._session is not None:
                self._session.stop()

    def pause(self) -> None:
        self._running.clear()
        with self._lock:
            if self._session is not None:
                self._session.pause()

    def resume(self) -> None:
        self._running.set()
        with self._lock:
            if self._session is not None:
                self._session.resume()

    def wait_while_paused(self) -> None:
        self._running.wait()

    def attach(self, session: Any) -> None:
        with self._lock:
            self._session = session
            if self._stop.is_set():
                session.stop()
            elif not self._running.is_set():
                session.pause()

    def detach(self) -> None:
        with self._lock:
            self._session = None


class Objective:
    """What Optuna calls for each trial (see the module docstring)."""

    def __init__(self, plan: Any, control: Control, on_event: EventCallback | None = None,
                 parent_pid: int | None = None) -> None:
        self.plan = plan
        self.control = control
        self.on_event = on_event or (lambda _e: None)
        self.parent_pid = parent_pid
        self.prune = plan.pruner != "none"
        self.enqueued, self.file_values = baseline(plan.dims, plan.graph)

    def __call__(self, trial: Any) -> float:
        try:
            return self._run(trial)
        except (TrialFailed, TrialInterrupted):
            raise
        except Exception as exc:
            import optuna
            if isinstance(exc, optuna.TrialPruned):
                raise
            self._fail(trial, "failed", f"internal error: {type(exc).__name__}: {exc}")
            raise AssertionError("unreachable")  # pragma: no cover

    def _run(self, trial: Any) -> float:
        plan = self.plan
        is_baseline = bool(trial.user_attrs.get("baseline"))
        if is_baseline:
            suggest_baseline(trial, plan.dims, plan.graph, self.enqueued)
            values = dict(self.file_values)
            graph = plan.graph.copy()  # trial 0 trains the file exactly as it is
        else:
            values = sample(trial, plan.dims, plan.graph)
            graph = apply_values(plan.graph, values)
        trial.set_user_attr("values", _jsonable(values))
        run_dir = plan.folder.trial_dir(trial.number, create=False)
        self.on_event(TrialStarted(trial.number, dict(values), is_baseline, str(run_dir)))

        from ..validate import check_graph
        problems = check_graph(graph).problems
        if problems:
            first = problems[0]
            node = f"node {first.node}: " if first.node else ""
            self._fail(trial, "failed", f"invalid with these values: {node}{first.message}")
        from ..training.run import prepare
        from ..training.trainer import TrainerOptions
        options = TrainerOptions(grad_stats=False, train_metrics=plan.metric.startswith("train_"))
        try:
            session = prepare(graph, runs_dir=None, options=options, data_dir=plan.data_dir)
        except NodeTrainerError as exc:
            first = exc.problems[0] if exc.problems else None
            self._fail(trial, "failed", first.message if first else str(exc))
        run = RunFolder(plan.folder.trial_dir(trial.number))
        trial.set_user_attr("run_dir", str(run.path))
        run.write_graph(dump_graph(graph))
        session.trainer.run = run
        session.run_folder = run

        seen: list[float] = []
        pruned_at: list[int] = []
        metric, number = plan.metric, trial.number

        def on_epoch(event: Any) -> None:
            if not isinstance(event, EpochEnded):
                return
            self.on_event(TrialEpoch(number, event.epoch, dict(event.metrics), event.seconds))
            value = event.metrics.get(metric)
            if isinstance(value, (int, float)) and math.isfinite(value):
                seen.append(float(value))
                trial.report(float(value), event.epoch)
                if self.prune and not pruned_at and event.epoch >= MEDIAN_WARMUP_EPOCHS and trial.should_prune():
                    pruned_at.append(event.epoch)
                    session.stop()
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                self.control.stop()  # the process that started this worker is gone

        session.subscribe(on_epoch)
        self.control.attach(session)
        started = time.perf_counter()
        try:
            result = session.run()
        finally:
            self.control.detach()
        trial.set_user_attr("epochs", int(result.epochs_run))
        trial.set_user_attr("seconds", round(time.perf_counter() - started, 3))
        trial.set_user_attr("samples_per_s", round(float(result.samples_per_s), 1))
        if result.reason == "failed":
            node = f"node {result.error_node}: " if result.error_node else ""
            self._fail(trial, "failed", f"{node}{result.error or 'training failed'}")
        if result.reason == "diverged":
            self._fail(trial, "diverged", f"diverged at epoch {result.epochs_run} (non-finite or exploding loss)")
        if pruned_at:
            import optuna
            trial.set_user_attr("outcome", "pruned")
            trial.set_user_attr("pruned_epoch", pruned_at[0])
            trial.set_user_attr("note", f"pruned at epoch {pruned_at[0]}")
            raise optuna.TrialPruned(f"pruned at epoch {pruned_at[0]}")
        if result.reason == "stopped":
            trial.set_user_attr("outcome", "interrupted")
            trial.set_user_attr("note", f"interrupted at epoch {result.epochs_run}: the study was stopped")
            raise TrialInterrupted()
        if not seen:
            self._fail(trial, "failed", f"no finite {metric} was reported")
        best = max(seen) if plan.direction == "maximize" else min(seen)
        trial.set_user_attr("outcome", "complete")
        return best

    def _fail(self, trial: Any, outcome: str, note: str) -> None:
        trial.set_user_attr("outcome", outcome)
        trial.set_user_attr("note", note)
        raise TrialFailed(note)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in values.items():
        if isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out


__all__ = ["Objective", "Control", "TrialFailed", "TrialInterrupted"]
