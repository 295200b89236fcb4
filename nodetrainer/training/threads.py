"""How many CPU threads torch uses for a run: `--threads N`, the app's setting, and their defaults.

Defaults (documented in docs/graph-format.md, "Command line"):
- `nodetrainer train` and a one-job `tune`: torch's own count, i.e. the machine's
  cores (or OMP_NUM_THREADS where set).
- `tune --jobs J`: cores / J per trial process (at least 1).
- the desktop app, training on the CPU: one less than the cores when torch would
  use them all, so the window keeps a core and stays responsive (one thread on a
  two-core machine).
An explicit N (1 or more) overrides each of these; more threads than cores is
allowed but rarely faster, and `describe` says so.
"""
from __future__ import annotations

import os
from typing import Callable

import torch

from ..errors import ConfigError, Problem


def cores() -> int:
    return os.cpu_count() or 1


def check_threads(value: int | None, where: str) -> int | None:
    """`value` when it is a usable thread count (or None: the default); ConfigError naming `where` otherwise."""
    if value is not None and value < 1:
        raise ConfigError(Problem(f"--threads must be at least 1, got {value}", where))
    return value


def app_default(device_type: str = "cpu", current: int | None = None, total: int | None = None) -> int:
    """The app's default for a run on `device_type`: torch's count (`current`), less one of the `total` cores
    for the window on the CPU when torch would use them all."""
    current = torch.get_num_threads() if current is None else current
    total = cores() if total is None else total
    if device_type != "cpu" or total < 2 or current < total:
        return current
    return total - 1


def use_threads(n: int | None) -> Callable[[], None]:
    """Sets torch's thread count to `n` (None: leaves it); returns a function that puts the previous one back."""
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    return lambda: torch.set_num_threads(before) if torch.get_num_threads() != before else None


def describe(n: int, total: int | None = None, left_for_ui: bool = False) -> str:
    """'threads: 1 of 2 (one left for the window)' and the like."""
    total = cores() if total is None else total
    text = f"threads: {n} of {total}"
    if left_for_ui and n == total - 1:
        text += " (one left for the window)"
    elif n > total:
        text += " (more than the cores: rarely faster)"
    return text
