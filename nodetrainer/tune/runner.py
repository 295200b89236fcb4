"""Running a study: trials one after another in this process, or `--jobs J` worker processes at once.

    plan = plan_tune("graphs/digits_cnn.yaml", trials=30)   # NodeTrainerError before any trial
    result = run_study(plan, jobs=1, on_event=print)        # StudyResult: state, records, summary

`work` is one process's loop: it asks Optuna for one trial at a time
(`study.optimize(objective, n_trials=1)`) until the study holds `plan.target`
finished trials (counting those other processes run or are running), the
timeout passes, a grid is exhausted, or `Control.stop()`.

With `jobs > 1` this process starts J workers (`python -m nodetrainer.tune.worker`)
on the same storage, each with torch threads = cores / J (cores: torch's own
thread count, so OMP_NUM_THREADS and torch.set_num_threads are respected), and
only watches: after every trial any process finishes it rewrites the folder's
files and reports `TrialEnded`. Stopping sends the workers SIGTERM (each stops its trial cleanly);
a worker whose starter dies stops too.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..graphfile import dump_graph
from .events import Importances, StudyEnded, StudyReady, TrialEnded
from .plan import TunePlan
from .records import TrialRecord, best_of, count_finished, records, summary
from .space import baseline
from .study import enqueue_baseline, fail_running, importances, make_pruner, make_sampler, open_study, sampler_seed
from .trial import Control, Objective, TrialFailed, TrialInterrupted
from .values import apply_values

EventCallback = Callable[[Any], None]
POLL_S = 0.5  # how often the starter of --jobs workers looks at the study
ANNOUNCED = ("complete", "pruned", "failed", "diverged", "interrupted")


@dataclass
class StudyResult:
    state: str  # done, exhausted, timeout, stopped
    records: list[TrialRecord]
    summary: dict[str, Any]
    folder: Path
    worker_errors: list[str] = field(default_factory=list)


class Reporter:
    """Keeps the tune folder's files, and whoever listens, up to date with what the study holds."""

    def __init__(self, plan: TunePlan, on_event: EventCallback, with_importances: bool = False) -> None:
        self.plan = plan
        self.on_event = on_event
        self.with_importances = with_importances
        self.seen: set[int] = set()
        self.started = time.monotonic()
        self._completed = 0
        self._written: tuple = ()

    def refresh(self, study: Any, state: str = "running") -> list[TrialRecord]:
        """Rewrites the folder's files (when a trial changed state), then announces the trials that finished
        since the last refresh."""
        recs = records(study)
        signature = (state, tuple((r.number, r.state) for r in recs))
        if signature == self._written:
            return recs
        self._written = signature
        self.write(recs, state)
        for r in recs:
            if r.state in ANNOUNCED and r.number not in self.seen:
                self.seen.add(r.number)
                done_so_far = [x for x in recs if x.number in self.seen]
                self.on_event(TrialEnded(r, best_of(done_so_far, self.plan.direction),
                                         count_finished(done_so_far), self.plan.target))
        completed = sum(r.state == "complete" for r in recs)
        if self.with_importances and completed != self._completed:
            self._completed = completed
            values = importances(study)
            if values:
                self.on_event(Importances(values))
        return recs

    def elapsed(self) -> float:
        return self.plan.elapsed_s + (time.monotonic() - self.started)

    def summary(self, recs: list[TrialRecord], state: str) -> dict[str, Any]:
        from .study import masked
        return summary(recs, metric=self.plan.metric, direction=self.plan.direction, study=self.plan.study_name,
                       target=self.plan.target, duration_s=self.elapsed(), state=state,
                       storage=masked(self.plan.storage_url))

    def write(self, recs: list[TrialRecord], state: str) -> None:
        best = best_of(recs, self.plan.direction)
        text = None
        if best is not None:
            graph = self.plan.graph if best.baseline else apply_values(self.plan.graph, best.values)
            text = dump_graph(graph)
        self.plan.folder.write_results(recs, self.plan.paths, self.summary(recs, state), text)


def run_study(plan: TunePlan, *, jobs: int = 1, control: Control | None = None,
              on_event: EventCallback | None = None, threads: int | None = None,
              with_importances: bool = False) -> StudyResult:
    """Runs the study of `plan` until it holds `plan.target` finished trials (or stops; see the module
    docstring); the folder's files are current after every trial and at the end."""
    import torch

    control = control or Control()
    emit = on_event or (lambda _e: None)
    storage = plan.open_storage()
    study = open_study(storage, plan.study_name, plan.direction)
    if plan.settings and plan.storage_url is None:
        fail_running(study, storage)  # a resumed folder: its own trials left running were killed
    if plan.baseline:
        enqueued, _ = baseline(plan.dims, plan.graph)
        enqueue_baseline(study, enqueued)
    reporter = Reporter(plan, emit, with_importances)
    existing = records(study)
    reporter.seen = {r.number for r in existing if r.state in ANNOUNCED}
    emit(StudyReady(str(plan.folder.path), plan.study_name, plan.metric, plan.direction, plan.target, plan.paths,
                    {d.path: d.describe() for d in plan.dims}, existing, list(plan.dims)))
    deadline = time.time() + plan.timeout_s if plan.timeout_s else None
    state, errors = "stopped", []
    before = torch.get_num_threads()
    try:
        if jobs <= 1:
            torch.set_num_threads(threads or before)
            reporter.write(existing, "running")
            state = work(plan, control, emit, deadline=deadline, after_trial=reporter.refresh, storage=storage)
        else:
            state, errors = _run_workers(plan, jobs, control, reporter, study, deadline,
                                         threads or max(1, before // jobs))
    finally:
        torch.set_num_threads(before)
        plan.elapsed_s = reporter.elapsed()
        plan.save()
        recs = reporter.refresh(study, state)
    result = StudyResult(state, recs, reporter.summary(recs, state), plan.folder.path, errors)
    emit(StudyEnded(state, result.summary, recs))
    return result


def work(plan: TunePlan, control: Control, on_event: EventCallback | None = None, *, worker: int = 0,
         deadline: float | None = None, parent_pid: int | None = None,
         after_trial: Callable[[Any], Any] | None = None, storage: Any = None) -> str:
    """This process's share of the study (see the module docstring); returns why it ended."""
    storage = storage or plan.open_storage()
    study = open_study(storage, plan.study_name, plan.direction)
    seed = sampler_seed(plan.seed, worker, len(study.get_trials(deepcopy=False)))
    sampler = make_sampler(plan.sampler, plan.dims, seed, plan.target)
    study = open_study(storage, plan.study_name, plan.direction, sampler, make_pruner(plan.pruner))
    objective = Objective(plan, control, on_event, parent_pid)
    while True:
        control.wait_while_paused()
        if control.stopped or (parent_pid is not None and os.getppid() != parent_pid):
            return "stopped"
        if deadline is not None and time.time() >= deadline:
            return "timeout"
        recs = records(study)
        if count_finished(recs) + sum(r.state == "running" for r in recs) >= plan.target:
            return "done"
        if plan.sampler == "grid" and not any(r.state == "waiting" for r in recs) \
                and sampler.is_exhausted(study):
            return "exhausted"
        study.optimize(objective, n_trials=1, catch=(TrialFailed, TrialInterrupted))
        if after_trial is not None:
            after_trial(study)


def _run_workers(plan: TunePlan, jobs: int, control: Control, reporter: Reporter, study: Any,
                 deadline: float | None, per: int) -> tuple[str, list[str]]:
    procs = []
    for i in range(jobs):
        cmd = [sys.executable, "-m", "nodetrainer.tune.worker", str(plan.folder.path), "--worker", str(i),
               "--threads", str(per), "--parent", str(os.getpid()), "--trials", str(plan.target)]
        if deadline is not None:
            cmd += ["--deadline", repr(deadline)]
        procs.append(subprocess.Popen(cmd, env=_child_env()))
    signalled = False
    try:
        while any(p.poll() is None for p in procs):
            if control.stopped and not signalled:
                signalled = True
                for p in procs:
                    if p.poll() is None:
                        p.send_signal(signal.SIGTERM)
            reporter.refresh(study)
            try:
                next(p for p in procs if p.poll() is None).wait(timeout=POLL_S)
            except (subprocess.TimeoutExpired, StopIteration):
                pass
    except BaseException:  # Ctrl-C twice, an error here: the workers stop too
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait()
        raise
    errors = [f"worker {i} ended with exit status {p.returncode}" for i, p in enumerate(procs)
              if p.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
    recs = records(study)
    if control.stopped:
        return "stopped", errors
    if deadline is not None and time.time() >= deadline:
        return "timeout", errors
    if count_finished(recs) >= plan.target:
        return "done", errors
    return ("exhausted" if plan.sampler == "grid" else "stopped"), errors


def _child_env() -> dict[str, str]:
    """The workers import this very package, wherever it was imported from."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([root, *paths])
    return env


__all__ = ["run_study", "work", "StudyResult", "Reporter"]
