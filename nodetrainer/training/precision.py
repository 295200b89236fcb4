"""Numeric precision of a run: fp32, tf32, fp16 (autocast + loss scaling) and bf16 (autocast).

`resolve_precision` turns the requested mode and the device into a `Precision`
that knows what it really does on this hardware, with a warning for every
substitution (fp16 on a CPU trains in bf16; tf32 off CUDA is plain fp32).
`backend_flags` sets the process-wide TF32 / cuDNN switches for the duration of
a run and puts the previous values back afterwards, so a desktop app that runs
several trainings one after another does not leak one run's settings into the next.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch


@dataclass
class Precision:
    requested: str
    name: str  # what actually runs: fp32, tf32, fp16 or bf16
    device_type: str
    warnings: list[str] = field(default_factory=list)

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.name)

    @property
    def uses_scaler(self) -> bool:
        return self.name == "fp16" and self.device_type in ("cuda", "mps")

    def autocast(self) -> Any:
        """A reusable context manager for forward passes (a no-op for fp32/tf32)."""
        dtype = self.autocast_dtype
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=dtype)

    def make_scaler(self) -> "torch.amp.GradScaler | None":
        if not self.uses_scaler:
            return None
        try:
            return torch.amp.GradScaler(self.device_type)
        except Exception:  # a backend without loss scaling support
            self.warnings.append(f"loss scaling is not supported on {self.device_type}; fp16 runs without it")
            return None


def resolve_precision(requested: str, device: torch.device) -> Precision:
    """What `requested` means on `device`, with warnings for anything substituted."""
    kind = device.type
    p = Precision(requested=requested, name=requested, device_type=kind)
    if requested == "fp16" and kind == "cpu":
        p.name = "bf16"
        p.warnings.append("fp16 is not supported for training on the CPU; training in bf16 instead")
    elif requested == "bf16" and kind == "cuda" and not torch.cuda.is_bf16_supported():
        p.name = "fp16"
        p.warnings.append("this GPU does not support bf16; training in fp16 with loss scaling instead")
    elif requested == "tf32" and kind != "cuda":
        p.name = "fp32"
        p.warnings.append(f"tf32 applies only to CUDA GPUs; training in fp32 on {kind}")
    elif requested not in ("fp32", "tf32", "fp16", "bf16"):
        raise ValueError(f"unknown precision {requested!r}")
    return p


@contextlib.contextmanager
def backend_flags(precision: Precision, deterministic: bool) -> Iterator[None]:
    """Sets TF32 and cuDNN flags for one run and restores the previous ones afterwards."""
    cuda_matmul = torch.backends.cuda.matmul
    cudnn = torch.backends.cudnn
    saved = (cuda_matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark, cudnn.deterministic,
             torch.get_float32_matmul_precision())
    try:
        tf32 = precision.name == "tf32"
        cuda_matmul.allow_tf32 = tf32
        cudnn.allow_tf32 = tf32
        torch.set_float32_matmul_precision("high" if tf32 else "highest")
        cudnn.benchmark = not deterministic and precision.device_type == "cuda"
        cudnn.deterministic = deterministic
        yield
    finally:
        (cuda_matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark, cudnn.deterministic) = saved[:4]
        torch.set_float32_matmul_precision(saved[4])
