"""Tracking the best epoch and deciding when to stop (`training.early_stopping`).

`BestTracker` follows one monitored value (min or max) and remembers the best
epoch; with a patience it also says when to stop. Every run has one: with no
early stopping configured it only picks the epoch whose weights are kept
(val_loss when there is a validation split, else train_loss) and never stops.
A non-finite monitored value is reported as divergence, at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..settings import EarlyStoppingConfig, monitor_maximized


@dataclass
class Verdict:
    improved: bool
    stop: bool
    diverged: bool


class BestTracker:
    def __init__(self, monitor: str, maximize: bool, patience: int | None = None, min_delta: float = 0.0):
        self.monitor = monitor
        self.maximize = maximize
        self.patience = patience  # None: never stop
        self.min_delta = float(min_delta)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0

    @classmethod
    def from_config(cls, cfg: EarlyStoppingConfig | None, has_val: bool) -> "BestTracker":
        if cfg is None:
            monitor = "val_loss" if has_val else "train_loss"
            return cls(monitor, maximize=False)
        return cls(cfg.monitor, cfg.maximize, cfg.patience, cfg.min_delta)

    def is_better(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.maximize:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def update(self, metrics: dict[str, float], epoch: int) -> Verdict:
        value = metrics.get(self.monitor)
        if value is None:
            raise KeyError(self.monitor)
        if not math.isfinite(value):
            return Verdict(improved=False, stop=True, diverged=True)
        if self.is_better(value):
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            return Verdict(improved=True, stop=False, diverged=False)
        self.bad_epochs += 1
        stop = self.patience is not None and self.bad_epochs >= self.patience
        return Verdict(improved=False, stop=stop, diverged=False)

    def state_dict(self) -> dict[str, Any]:
        return {"monitor": self.monitor, "maximize": self.maximize, "patience": self.patience,
                "min_delta": self.min_delta, "best": self.best, "best_epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad_epochs = state["best"], state["best_epoch"], int(state["bad_epochs"])


__all__ = ["BestTracker", "Verdict", "monitor_maximized"]
