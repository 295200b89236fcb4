"""Learning-rate schedules of `training.scheduler`, each with an optional linear warm-up.

One small class computes the learning rate as a pure function of (optimizer
steps taken, epochs completed, plateau reductions), which keeps warm-up plus any
schedule trivially composable and makes the whole schedule a few numbers in a
checkpoint.

- warm-up: over `warmup_epochs` epochs, per optimizer step, linearly from lr/10 to lr.
- step: lr * gamma ** (epochs // step_size), gamma 0.1 unless given.
- exponential: lr * gamma ** epochs, gamma 0.95 unless given.
- cosine: from lr down to eta_min over the remaining epochs (per epoch).
- plateau: lr * factor each time the monitored value has not improved for `patience` epochs.
- onecycle: per step, PyTorch's one-cycle policy (cosine up from max_lr/25 over 30% of
  the steps, then down to max_lr/25e4); max_lr 10x lr unless given.

Epochs and steps counted by the schedule begin after the warm-up. `step_batch`
must be called only for optimizer steps that really happened (with fp16 loss
scaling a step with non-finite gradients is skipped and must not advance it).
"""
from __future__ import annotations

import math
from typing import Any

import torch

from ..settings import SchedulerConfig


class LRSchedule:
    def __init__(self, cfg: SchedulerConfig, optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int,
                 maximize: bool = False):
        self.cfg = cfg
        self.optimizer = optimizer
        self.epochs = epochs
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.maximize = maximize
        self.base_lrs = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
        for g, lr in zip(optimizer.param_groups, self.base_lrs):
            g["initial_lr"] = lr
        self.warmup_steps = cfg.warmup_epochs * self.steps_per_epoch
        self.gamma = cfg.gamma if cfg.gamma is not None else (0.95 if cfg.type == "exponential" else 0.1)
        self.step_count = 0
        self.epoch = 0
        self.plateau_scale = 1.0
        self.plateau_best: float | None = None
        self.plateau_bad = 0
        self.per_step = self.warmup_steps > 0 or cfg.type == "onecycle"
        self._apply()

    # -- stepping -----------------------------------------------------------------
    @property
    def step_sensitive(self) -> bool:
        """Whether the next optimizer step changes the learning rate (warm-up or one-cycle)."""
        return self.step_count < self.warmup_steps or self.cfg.type == "onecycle"

    def step_batch(self) -> None:
        """After each optimizer step that was taken."""
        self.step_count += 1
        if self.step_count <= self.warmup_steps or self.cfg.type == "onecycle":
            self._apply()

    def step_epoch(self, monitored: float | None = None) -> None:
        """After each epoch; `monitored` feeds the plateau schedule."""
        self.epoch += 1
        if self.cfg.type == "plateau" and self.epoch > self.cfg.warmup_epochs and monitored is not None \
                and math.isfinite(monitored):
            self._plateau(monitored)
        self._apply()

    def _plateau(self, value: float) -> None:
        best = self.plateau_best
        threshold = 1e-4 * abs(best) if best is not None else 0.0  # PyTorch's default relative threshold
        better = best is None or (value > best + threshold if self.maximize else value < best - threshold)
        if better:
            self.plateau_best, self.plateau_bad = value, 0
        else:
            self.plateau_bad += 1
            if self.plateau_bad > self.cfg.patience:
                self.plateau_scale *= self.cfg.factor
                self.plateau_bad = 0

    # -- the rate -------------------------------------------------------------------
    def lr_for(self, base: float, ratio: float) -> float:
        """The learning rate for a group whose base rate is `base` (`ratio` = base / first group's base)."""
        cfg = self.cfg
        if self.step_count < self.warmup_steps:
            start = self._main_lr(base, ratio, 0, 0) if cfg.type == "onecycle" else base
            return start * (0.1 + 0.9 * self.step_count / self.warmup_steps)
        return self._main_lr(base, ratio, max(0, self.epoch - cfg.warmup_epochs), self.step_count - self.warmup_steps)

    def _main_lr(self, base: float, ratio: float, e: int, s: int) -> float:
        cfg, kind = self.cfg, self.cfg.type
        if kind == "none":
            return base
        if kind == "step":
            return base * self.gamma ** (e // cfg.step_size)
        if kind == "exponential":
            return base * self.gamma ** e
        if kind == "cosine":
            total = max(1, self.epochs - cfg.warmup_epochs)
            return cfg.eta_min + (base - cfg.eta_min) * (1 + math.cos(math.pi * min(e, total) / total)) / 2
        if kind == "plateau":
            return base * self.plateau_scale
        if kind == "onecycle":
            max_lr = (cfg.max_lr * ratio) if cfg.max_lr is not None else 10 * base
            initial, final = max_lr / 25.0, max_lr / 25.0 / 1e4
            total = max(2, (self.epochs - cfg.warmup_epochs) * self.steps_per_epoch)
            up_end = max(1.0, 0.3 * total - 1)
            s = min(s, total - 1)
            if s <= up_end:
                return _cos(initial, max_lr, s / up_end)
            return _cos(max_lr, final, (s - up_end) / max(1e-12, total - 1 - up_end))
        raise ValueError(f"unknown scheduler {kind!r}")

    def _apply(self) -> None:
        first = self.base_lrs[0] if self.base_lrs and self.base_lrs[0] else 1.0
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_for(base, base / first)

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    # -- checkpoints ----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"step_count": self.step_count, "epoch": self.epoch, "plateau_scale": self.plateau_scale,
                "plateau_best": self.plateau_best, "plateau_bad": self.plateau_bad, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_count = int(state["step_count"])
        self.epoch = int(state["epoch"])
        self.plateau_scale = float(state["plateau_scale"])
        self.plateau_best = state["plateau_best"]
        self.plateau_bad = int(state["plateau_bad"])
        self.base_lrs = [float(x) for x in state["base_lrs"]]
        self._apply()


def _cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * min(1.0, max(0.0, pct))) + 1)
