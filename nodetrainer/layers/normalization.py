"""Normalization and dropout."""
from __future__ import annotations

from ..schema import Param
from .base import Cost, LayerType, ShapeError, call, fmt_shape, need_float, need_rank, numel, register

_BATCHNORM_BY_RANK = {1: "nn.BatchNorm1d", 2: "nn.BatchNorm1d", 3: "nn.BatchNorm2d", 4: "nn.BatchNorm3d"}


def _batchnorm_infer(p, ins):
    need_float("BatchNorm", ins[0])
    need_rank("BatchNorm", ins[0], (1, 2, 3, 4), "[C], [C, L], [C, H, W] or [C, D, H, W]")
    return ins[0]


def _layernorm_infer(p, ins):
    need_float("LayerNorm", ins[0])
    return ins[0]


def _dropout_infer(p, ins):
    x = ins[0]
    need_float("Dropout", x)
    if p["channelwise"] and x.rank not in (2, 3):
        raise ShapeError(f"Dropout with channelwise: true drops whole channels of [C, L] or [C, H, W], got {fmt_shape(x.shape)}")
    return x


def _dropout_constructor(p, ins):
    cls = {2: "nn.Dropout1d", 3: "nn.Dropout2d"}[ins[0].rank] if p["channelwise"] else "nn.Dropout"
    return call(cls, p=p["p"])


register(
    LayerType(
        "BatchNorm", "normalization",
        "Normalizes each channel over the batch, then scales and shifts: steadier, faster training.",
        params=(
            Param("momentum", "float", 0.1, "weight of the current batch in the running statistics", lo=0.0, hi=1.0),
            Param("eps", "float", 1e-5, "added to the variance for stability", lo=0.0, lo_open=True),
            Param("affine", "bool", True, "learn a per-channel scale and shift"),
        ),
        infer=_batchnorm_infer,
        constructor=lambda p, ins: call(_BATCHNORM_BY_RANK[ins[0].rank], ins[0].shape[0],
                                        defaults={"eps": 1e-5, "momentum": 0.1, "affine": True},
                                        eps=p["eps"], momentum=p["momentum"], affine=p["affine"]),
        cost=lambda p, ins, out: Cost(2 * ins[0].shape[0] if p["affine"] else 0, numel(ins[0].shape)),
    ),
    LayerType(
        "LayerNorm", "normalization", "Normalizes the last dimension of each sample, then scales and shifts.",
        params=(Param("eps", "float", 1e-5, "added to the variance for stability", lo=0.0, lo_open=True),),
        infer=_layernorm_infer,
        constructor=lambda p, ins: call("nn.LayerNorm", ins[0].shape[-1], defaults={"eps": 1e-5}, eps=p["eps"]),
        cost=lambda p, ins, out: Cost(2 * ins[0].shape[-1], numel(ins[0].shape)),
    ),
    LayerType(
        "Dropout", "normalization", "Zeroes random activations while training so units cannot co-adapt.",
        params=(
            Param("p", "float", 0.5, "probability of dropping", lo=0.0, hi=1.0, hi_open=True),
            Param("channelwise", "bool", False, "drop whole channels (as Dropout2d)"),
        ),
        infer=_dropout_infer, constructor=_dropout_constructor, key_params=("p",),
    ),
)
