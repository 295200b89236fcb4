"""The losses of `training.loss`, as functions `loss(outputs, targets) -> scalar mean`.

Targets come as the data module delivers them: int64 class indices [N] for
classification, float32 [N, T] for regression. Each builder decides once,
from the number of model outputs, how targets are shaped for its loss, so the
training step does no checking of its own:

- cross_entropy: logits [N, C] vs class indices (or soft targets [N, C]); label smoothing.
- nll: log-probabilities [N, C] (a LogSoftmax node at the end) vs class indices.
- bce_with_logits: one logit [N, 1] or [N] for two classes (target 1.0 for class 1),
  or C logits vs one-hot targets (or multi-label float targets).
- mse, l1, huber: outputs vs float targets of the same number of elements.
- kl_div: logits turned into log_softmax vs one-hot (from indices) or soft target distributions.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def build_loss(name: str, num_outputs: int | None = None, label_smoothing: float = 0.0) -> LossFn:
    """The loss function `name`; `num_outputs` is the size of the model output's last dimension."""
    if name == "cross_entropy":
        smoothing = float(label_smoothing)
        if smoothing:
            return lambda out, y: F.cross_entropy(out, y, label_smoothing=smoothing)
        return F.cross_entropy
    if name == "nll":
        return F.nll_loss
    if name == "bce_with_logits":
        if num_outputs is None or num_outputs == 1:
            return _bce_single
        return _bce_multi
    if name in ("mse", "l1", "huber"):
        fn = {"mse": F.mse_loss, "l1": F.l1_loss, "huber": F.huber_loss}[name]

        def regression(out: torch.Tensor, y: torch.Tensor, fn: Callable = fn) -> torch.Tensor:
            if out.shape != y.shape:
                y = y.reshape(out.shape)
            return fn(out.float(), y)
        return regression
    if name == "kl_div":
        return _kl_div
    raise ValueError(f"unknown loss {name!r}")


def _bce_single(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = out.reshape(-1)
    return F.binary_cross_entropy_with_logits(out, y.reshape(-1).to(out.dtype))


def _bce_multi(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if y.dtype in (torch.int64, torch.int32, torch.uint8):
        y = F.one_hot(y, out.shape[-1])
    return F.binary_cross_entropy_with_logits(out, y.to(out.dtype))


def _kl_div(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    log_p = F.log_softmax(out.float(), dim=-1)
    if y.dtype in (torch.int64, torch.int32, torch.uint8):
        y = F.one_hot(y, out.shape[-1]).to(log_p.dtype)
    return F.kl_div(log_p, y, reduction="batchmean")
