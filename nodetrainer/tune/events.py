"""Typed tuning events, delivered synchronously to the `on_event` callback of `runner.run_study`.

The command line prints a line per `TrialEnded`; the desktop app's tune worker
pushes them all into its inbox and delivers them on the training view's cadence.
`TrialEpoch` (one per epoch of a trial run by this process) carries the epoch's
metrics as the trainer's `EpochEnded` does, for live curves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .records import TrialRecord


@dataclass(frozen=True)
class StudyReady:
    """The study is open: its folder, what it optimizes, its dimensions and the trials it already holds."""

    folder: str
    study: str
    metric: str
    direction: str
    target: int
    paths: list[str]
    ranges: dict[str, str]  # path -> the range in words
    records: list[TrialRecord] = field(default_factory=list)
    dims: list[Any] = field(default_factory=list)  # the space.Dimension of each path


@dataclass(frozen=True)
class TrialStarted:
    number: int
    values: dict[str, Any]
    baseline: bool = False
    run_dir: str | None = None


@dataclass(frozen=True)
class TrialEpoch:
    number: int
    epoch: int
    metrics: dict[str, float]
    seconds: float = 0.0


@dataclass(frozen=True)
class TrialEnded:
    """A trial finished (by any process of the study); `best` is the best complete trial so far."""

    record: TrialRecord
    best: TrialRecord | None
    finished: int  # trials that count towards the target, this one included
    target: int


@dataclass(frozen=True)
class Importances:
    """Optuna's parameter importances (path -> share, summing to 1), once enough trials completed."""

    values: dict[str, float]


@dataclass(frozen=True)
class StudyEnded:
    """`state`: done (the target reached), exhausted (a grid fully visited), timeout, stopped."""

    state: str
    summary: dict[str, Any]
    records: list[TrialRecord] = field(default_factory=list)


__all__ = ["StudyReady", "TrialStarted", "TrialEpoch", "TrialEnded", "Importances", "StudyEnded"]
