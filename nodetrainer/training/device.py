"""Choosing the device a run trains on: `auto` means CUDA, then Apple MPS, then CPU.

A device that was asked for but does not exist is a `ConfigError` that says
which devices this machine does have, never a crash deep inside PyTorch.
"""
from __future__ import annotations

import torch

from ..errors import ConfigError, Problem


def available_devices() -> list[str]:
    """Device names usable on this machine, best first."""
    found = []
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        found.append("mps")
    return found + ["cpu"]


def resolve_device(spec: str = "auto") -> torch.device:
    """The torch device for a `training.device` value; raises ConfigError when it is not available."""
    spec = (spec or "auto").strip()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    have = ", ".join(available_devices())
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(Problem(f"device '{spec}' was requested but PyTorch sees no CUDA GPU on this machine "
                                      f"(available: {have}); use device: auto or cpu"))
        index = int(spec.split(":", 1)[1]) if ":" in spec else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise ConfigError(Problem(f"device '{spec}' does not exist: this machine has "
                                      f"{torch.cuda.device_count()} CUDA GPU(s) (available: {have})"))
        return torch.device("cuda", index)
    if spec == "mps":
        if not _mps_available():
            raise ConfigError(Problem(f"device 'mps' was requested but Apple MPS is not available (available: {have})"))
        return torch.device("mps")
    raise ConfigError(Problem(f"device must be auto, cpu, cuda, cuda:N or mps, got '{spec}'"))


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
