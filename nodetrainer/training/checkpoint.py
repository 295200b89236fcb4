"""Checkpoints, and the background thread that writes them during a run.

Every file of a run folder is written to a temporary file in the same folder
and moved over the target with `os.replace`, so a reader (the desktop app's
runs panel, a crash, a second process) sees either the old or the new file,
never half of one. Checkpoints hold only tensors and plain Python values and
are read back with `torch.load(weights_only=True)`: opening a run never runs code.

During a run the trainer copies its state to memory (cheap) and hands the copy
to a `CheckpointWriter`, whose thread serializes and writes it while training
goes on; a write that fails (full disk, read-only folder) is kept as an error
for the trainer to report, and the next snapshot tries again.
"""
from __future__ import annotations

import io
import os
import pickle
import re
import threading
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_write_bytes, atomic_write_text  # noqa: F401  (run folders import them from here)

CHECKPOINT_FORMAT = 1


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """torch.save to memory, then one atomic write."""
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, **payload}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


class UnsafeCheckpoint(Exception):
    """A checkpoint holding more than tensors and plain values; loading it could run code, so it is refused."""


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The payload of a checkpoint; UnsafeCheckpoint (one line) for one that would need to run code."""
    try:
        return torch.load(Path(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:  # torch's own text is a page of advice on weights_only
        found = re.search(r"(?:GLOBAL|global:?)\s+([\w.]+)", str(exc))
        detail = f" such as {found.group(1)}" if found else ""
        raise UnsafeCheckpoint(f"refused: it holds objects other than tensors and plain values{detail}, and "
                               "loading it could run code") from None


def write_error_text(path: str | os.PathLike, exc: BaseException) -> str:
    """'cannot write best.pt in runs/x/1: No space left on device' for any failed write."""
    path = Path(path)
    reason = (exc.strerror if isinstance(exc, OSError) else None) or f"{type(exc).__name__}: {exc}"
    return f"cannot write {path.name} in {path.parent}: {reason}"


class CheckpointWriter:
    """Writes checkpoint payloads in a background thread, the newest one per file.

    `submit(path, payload)` returns at once; a payload not yet written is replaced by a newer one for the
    same file. `flush()` waits until everything submitted is on disk (or failed). A failed write is kept
    (path -> exception) until `take_errors()`, unless a later write of the same file succeeds first. The thread is a daemon: a process that is killed or exits loses only the write in progress,
    and the file it would have replaced stays whole."""

    def __init__(self) -> None:
        self._pending: dict[Path, dict[str, Any]] = {}
        self._busy = False
        self._closed = False
        self._errors: dict[Path, Exception] = {}
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="nodetrainer-checkpoints", daemon=True)
        self._thread.start()

    def submit(self, path: str | os.PathLike, payload: dict[str, Any]) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the checkpoint writer is closed")
            self._pending[Path(path)] = payload
            self._cond.notify_all()

    def flush(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._pending and not self._busy)

    def take_errors(self) -> dict[Path, Exception]:
        with self._cond:
            errors, self._errors = self._errors, {}
            return errors

    def close(self) -> None:
        """Writes what is pending, then ends the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return
                path = next(iter(self._pending))
                payload = self._pending.pop(path)
                self._busy = True
            try:
                save_checkpoint(path, payload)
                error = None
            except Exception as exc:  # never lose the thread: flush() would wait for ever
                error = exc
            with self._cond:
                if error is None:
                    self._errors.pop(path, None)
                else:
                    self._errors[path] = error
                self._busy = False
                self._cond.notify_all()


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
