"""Channels-last memory format for convolutional networks on CUDA: when it is used, and why.

The rule (`wants_channels_last`): a network with 2-D convolutions, trained on a
CUDA GPU in bf16, fp16 or tf32, runs channels-last (NHWC): the model's 4-D
weights are converted once and every batch is converted as it enters the step.
cuDNN's tensor-core convolution kernels work in NHWC; with NCHW tensors each
convolution adds layout transposes around them, which is what channels-last
saves. In plain fp32 (no tensor cores) cuDNN's NCHW kernels are the native ones,
so the network stays contiguous. On the CPU and Apple MPS it is never used: it
was measured on this project's CPU digits CNN (benchmarks/lightning_bench.py has
the switch) without a gain worth a conversion per batch.

The trainer decides once per run (Trainer.channels_last; TrainerOptions can force
it either way, which benchmarks/gpu_check.py uses to measure both layouts).
Checkpoints do not depend on it: a state dict holds values, and loading copies
them into whatever layout the model has.
"""
from __future__ import annotations

import torch
from torch import nn

TENSOR_CORE_PRECISIONS = ("bf16", "fp16", "tf32")


def has_conv2d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def wants_channels_last(model: nn.Module, device: torch.device, precision: str) -> bool:
    """Whether a run of `model` on `device` at `precision` (what really runs) uses channels-last (see above)."""
    return device.type == "cuda" and precision in TENSOR_CORE_PRECISIONS and has_conv2d(model)


def as_channels_last(x: torch.Tensor) -> torch.Tensor:
    """A 4-D batch in channels-last layout (other batches as they are)."""
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
