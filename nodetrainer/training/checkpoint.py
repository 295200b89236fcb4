"""Atomic files and checkpoints.

Every file of a run folder is written to a temporary file in the same folder
and moved over the target with `os.replace`, so a reader (the desktop app's
runs panel, a crash, a second process) sees either the old or the new file,
never half of one. Checkpoints hold only tensors and plain Python values and
are read back with `torch.load(weights_only=True)`: opening a run never runs code.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_FORMAT = 1


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """torch.save to memory, then one atomic write."""
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, **payload}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    return torch.load(Path(path), map_location=map_location, weights_only=True)


def to_cpu(state: dict[str, Any]) -> dict[str, Any]:
    """A copy of a (nested) state dict with every tensor detached on the CPU."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            out[key] = value.detach().to("cpu", copy=True)
        elif isinstance(value, dict):
            out[key] = to_cpu(value)
        elif isinstance(value, list):
            out[key] = [to_cpu(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out
