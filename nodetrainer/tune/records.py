"""What a study holds, in the project's words: one `TrialRecord` a trial, and the summary of them all.

Optuna stores each trial's state, value and sampled labels; the tuner adds user
attributes (`values` as written into the file, `outcome`, `note`, `epochs`,
`seconds`, `run_dir`, `pruned_epoch`, `baseline`). `records(study)` reads
them back for every process of a study alike (this one, `--jobs` workers,
other machines sharing the storage), so the folder's files, the command line's
lines and the app's table all say the same.

Outcomes: complete, pruned, failed (an invalid trial graph, a training error),
diverged (counted as failed), interrupted (the process was stopped or killed
during the trial: not counted, and the trial is run again), running, waiting.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

FINISHED = ("complete", "pruned", "failed", "diverged")  # what counts towards --trials


@dataclass
class TrialRecord:
    number: int
    state: str  # see the module docstring
    value: float | None
    values: dict[str, Any] = field(default_factory=dict)  # path -> the value written into the file
    epochs: int | None = None
    seconds: float | None = None
    run_dir: str | None = None
    note: str = ""
    pruned_epoch: int | None = None
    baseline: bool = False
    intermediate: dict[int, float] = field(default_factory=dict)  # epoch -> tune.metric

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


def record_of(trial: Any) -> TrialRecord:
    """The record of one Optuna FrozenTrial."""
    from optuna.trial import TrialState

    attrs = trial.user_attrs
    outcome = attrs.get("outcome")
    state = trial.state
    if state == TrialState.COMPLETE:
        name = "complete"
    elif state == TrialState.PRUNED:
        name = "pruned"
    elif state == TrialState.FAIL:
        name = outcome if outcome in ("failed", "diverged", "interrupted") else "interrupted"
    elif state == TrialState.RUNNING:
        name = "running"
    else:
        name = "waiting"
    value = trial.value if state in (TrialState.COMPLETE, TrialState.PRUNED) else None
    if value is not None and not math.isfinite(value):
        value = None
    values = attrs.get("values")
    if not isinstance(values, dict):
        values = dict(trial.params)
    seconds = attrs.get("seconds")
    if seconds is None and trial.datetime_start and trial.datetime_complete:
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    note = attrs.get("note") or ""
    if name == "interrupted" and not note:
        note = "interrupted: its process stopped during the trial"
    return TrialRecord(number=trial.number, state=name, value=value, values=values, epochs=attrs.get("epochs"),
                       seconds=seconds, run_dir=attrs.get("run_dir"), note=note,
                       pruned_epoch=attrs.get("pruned_epoch"), baseline=bool(attrs.get("baseline")),
                       intermediate={int(k): float(v) for k, v in trial.intermediate_values.items()})


def records(study: Any) -> list[TrialRecord]:
    """Every trial of `study`, by number."""
    return [record_of(t) for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)]


def count_finished(recs: list[TrialRecord]) -> int:
    return sum(1 for r in recs if r.finished)


def best_of(recs: list[TrialRecord], direction: str) -> TrialRecord | None:
    """The complete trial with the best value (the lowest number among equals)."""
    done = [r for r in recs if r.state == "complete" and r.value is not None]
    if not done:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    return min(done, key=lambda r: (sign * r.value, r.number))


def top(recs: list[TrialRecord], direction: str, n: int = 5) -> list[TrialRecord]:
    """The `n` best complete trials, best first."""
    done = [r for r in recs if r.state == "complete" and r.value is not None]
    sign = -1.0 if direction == "maximize" else 1.0
    return sorted(done, key=lambda r: (sign * r.value, r.number))[:n]


def summary(recs: list[TrialRecord], *, metric: str, direction: str, study: str, target: int,
            duration_s: float, state: str, storage: str | None) -> dict[str, Any]:
    """summary.json: the contract's fields (metric, direction, baseline_value, best_value, best_params,
    best_trial, n_complete, n_pruned, n_failed, duration_s) and a few more."""
    best = best_of(recs, direction)
    base = next((r for r in recs if r.baseline), None)
    states = [r.state for r in recs]
    return {
        "metric": metric,
        "direction": direction,
        "baseline_value": base.value if base is not None and base.state == "complete" else None,
        "baseline_trial": base.number if base is not None else None,
        "best_value": best.value if best else None,
        "best_params": dict(best.values) if best else None,
        "best_trial": best.number if best else None,
        "n_complete": states.count("complete"),
        "n_pruned": states.count("pruned"),
        "n_failed": states.count("failed") + states.count("diverged"),
        "n_diverged": states.count("diverged"),
        "n_interrupted": states.count("interrupted"),
        "n_running": states.count("running"),
        "trials": target,
        "epochs_trained": sum(r.epochs or 0 for r in recs if r.finished),
        "duration_s": round(duration_s, 3),
        "state": state,
        "study": study,
        "storage": storage,
    }


__all__ = ["TrialRecord", "FINISHED", "record_of", "records", "count_finished", "best_of", "top", "summary"]
