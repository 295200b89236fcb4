"""The optimizers of `training.optimizer`: sgd, adagrad, rmsprop, adam, adamw.

Weight decay applies to weight tensors only (matrices and kernels, `dim >= 2`),
never to biases or normalization parameters, the same rule as the explicit
penalties of regularization.py. Where PyTorch has a fused kernel for the
optimizer on the run's device it is used (measurably faster for small models on
the CPU as well as on GPUs); otherwise the standard implementation.
"""
from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn

from ..settings import OptimizerConfig

_FUSABLE = {"sgd", "adam", "adamw", "adagrad"}


def is_weight(param: torch.Tensor) -> bool:
    """Weight matrices and kernels; biases and norm scales/shifts are 1-D."""
    return param.dim() >= 2


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    params = [p for p in model.parameters() if p.requires_grad]
    if not weight_decay:
        return [{"params": params}]
    decay = [p for p in params if is_weight(p)]
    rest = [p for p in params if not is_weight(p)]
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if rest:
        groups.append({"params": rest, "weight_decay": 0.0})
    return groups


def build_optimizer(cfg: OptimizerConfig, model: nn.Module, fused: bool | None = None) -> torch.optim.Optimizer:
    """The optimizer for `model`'s trainable parameters; `fused=None` tries the fused kernels."""
    groups = param_groups(model, cfg.weight_decay)
    kind = cfg.type
    if kind == "sgd":
        cls, kw = torch.optim.SGD, dict(lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0)
    elif kind == "adagrad":
        cls, kw = torch.optim.Adagrad, dict(lr=cfg.lr, eps=cfg.eps)
    elif kind == "rmsprop":
        cls, kw = torch.optim.RMSprop, dict(lr=cfg.lr, alpha=cfg.alpha, momentum=cfg.momentum, eps=cfg.eps)
    elif kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        kw = dict(lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, amsgrad=cfg.amsgrad)
        if kind == "adamw" and not cfg.weight_decay:
            kw["weight_decay"] = 0.0  # AdamW's own default is 0.01; the file's default is 0
    else:
        raise ValueError(f"unknown optimizer {kind!r}")
    if fused is not False and kind in _FUSABLE and _all_on_one_float_device(groups):
        try:
            return cls(groups, fused=True, **kw)
        except (RuntimeError, TypeError, ValueError):
            if fused:
                raise
    return cls(groups, **kw)


def _all_on_one_float_device(groups: Iterable[dict[str, Any]]) -> bool:
    params = [p for g in groups for p in g["params"]]
    return bool(params) and all(p.is_floating_point() for p in params) and len({p.device for p in params}) == 1
