"""Hyperparameter tuning on Optuna: the `tune` section of a graph file made real.

Start from `plan.plan_tune(graph)` (the pre-flight: a located NodeTrainerError
before any trial, else a `TunePlan` with its tune folder) or
`plan.plan_resume(folder)`, then `runner.run_study(plan, jobs=J)`.

Modules, one job each: values (dotted paths: read, write into a copy, check
like file values), space (the search space as Optuna distributions), study
(storage, sampler, pruner, trial 0), trial (one trial: train through
`training.run.prepare`, report every epoch, prune), records (trials as the
project names them, the summary), folder (the tune folder's files), events
(typed events for the command line and the app), runner (the loop and --jobs
workers), worker (a worker process's entry point).
"""
from importlib import import_module
from typing import Any

_EXPORTS = {
    "TunePlan": "plan", "plan_tune": "plan", "plan_resume": "plan", "run_study": "runner", "StudyResult": "runner",
    "Control": "trial", "TrialRecord": "records", "StudyReady": "events", "TrialStarted": "events",
    "TrialEpoch": "events", "TrialEnded": "events", "Importances": "events", "StudyEnded": "events",
}


def __getattr__(name: str) -> Any:  # imported on first use: the app reads `space` without loading Optuna or torch
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(name)


__all__ = list(_EXPORTS)
