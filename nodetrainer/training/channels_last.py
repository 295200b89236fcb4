"""Channels-last memory format for convolutional networks: when it is used, and why.

The rule (`wants_channels_last`): a network with 2-D convolutions runs
channels-last (NHWC: the model's 4-D weights are converted once, every batch as
it enters the step)
- on a CUDA GPU when it trains in bf16, fp16 or tf32: cuDNN's tensor-core
  convolution kernels work in NHWC, and with NCHW tensors every convolution adds
  layout transposes around them. In plain fp32 (no tensor cores) the NCHW kernels
  are the native ones, so the network stays contiguous. This half of the rule
  could not be measured on this project's machines yet (no GPU):
  benchmarks/gpu_check.py measures both layouts in every precision and is what
  confirms or changes it.
- on the CPU in every precision: oneDNN's convolutions prefer NHWC too. Measured
  by benchmarks/channels_last_bench.py (results/channels_last_cpu_2026-11-30.json,
  one thread, 5 interleaved rounds): the digits CNN's epoch took 0.935x the
  contiguous time (faster in every round), the residual digits CNN 0.986x (no
  difference beyond noise).
- never on Apple MPS (not measured).

The trainer decides once per run (Trainer.channels_last; TrainerOptions can force
it either way, which the benchmarks use to measure both layouts). Checkpoints do
not depend on it: a state dict holds values, and loading copies them into
whatever layout the model has.
"""
from __future__ import annotations

import torch
from torch import nn

TENSOR_CORE_PRECISIONS = ("bf16", "fp16", "tf32")


def has_conv2d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def wants_channels_last(model: nn.Module, device: torch.device, precision: str) -> bool:
    """Whether a run of `model` on `device` at `precision` (what really runs) uses channels-last (see above)."""
    if device.type == "cuda":
        return precision in TENSOR_CORE_PRECISIONS and has_conv2d(model)
    return device.type == "cpu" and has_conv2d(model)


def as_channels_last(x: torch.Tensor) -> torch.Tensor:
    """A 4-D batch in channels-last layout (other batches as they are)."""
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
