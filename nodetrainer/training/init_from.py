"""`training.init_from`: start training from a weights file instead of the initialization (fine-tuning).

The file is a state dict (as `nodetrainer import --weights` writes one), or a
run's checkpoint (`best.pt`, `last.pt`: its model weights are taken). It is read
with PyTorch's `weights_only` loader, and must fit the network exactly: a
missing, an unexpected or a differently shaped weight is one located line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError, Problem
from .checkpoint import UnsafeCheckpoint, load_checkpoint

MAX_NAMED = 3  # weights named in a message before "and N more"


def weights_path(value: str, base_dir: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base_dir / path


def load_initial_weights(model: nn.Module, value: str, base_dir: Path, where: tuple[str | None, int | None]) -> None:
    """Copy the weights of `value` (relative to `base_dir`) into `model`; ConfigError located at `where`
    (file, line of training.init_from) when the file cannot be read or does not fit."""
    path = weights_path(value, base_dir)

    def fail(message: str) -> ConfigError:
        return ConfigError(Problem(f"training.init_from: {message}", *where))

    if not path.is_file():
        raise fail(f"no weights file {path}")
    try:
        state = load_checkpoint(path)
    except UnsafeCheckpoint as exc:
        raise fail(f"{path.name} {exc}") from None
    except Exception as exc:  # not a torch file at all
        raise fail(f"cannot read {path.name}: {type(exc).__name__}: {exc}") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # a run's checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise fail(f"{path.name} is not a state dict (a mapping of weight names to tensors)")
    problem = fit_problem(model.state_dict(), state)
    if problem:
        raise fail(f"{path.name} does not fit the network: {problem}")
    model.load_state_dict(state)


def fit_problem(expected: dict[str, Any], given: dict[str, Any]) -> str | None:
    """Why `given` weights cannot be loaded where `expected` ones are, or None."""
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    shapes = [f"{k} is {list(given[k].shape)}, the network's {list(expected[k].shape)}"
              for k in expected if k in given and tuple(given[k].shape) != tuple(expected[k].shape)]
    parts = []
    for what, names in (("missing", missing), ("unexpected", unexpected)):
        if names:
            more = f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else ""
            parts.append(f"{what} {', '.join(names[:MAX_NAMED])}{more}")
    parts += shapes[:MAX_NAMED]
    return "; ".join(parts) or None
