"""Layers that only rearrange or reduce: Flatten, Reshape and the global/adaptive pools."""
from __future__ import annotations

from ..schema import REQUIRED, Param
from .base import LayerType, ShapeError, Tensor, fmt_shape, lit, numel, register


def _global_pool_infer(p, ins):
    x = ins[0]
    if x.rank < 2:
        raise ShapeError(f"GlobalAvgPool expects [C, ...] with at least one spatial dimension, got {fmt_shape(x.shape)}")
    return Tensor(x.shape[:1])


def _global_pool_forward(p, args, attr, out, ins):
    dims = tuple(range(2, ins[0].rank + 1))
    return [f"{out} = {args[0]}.mean(dim={lit(dims[0] if len(dims) == 1 else dims)})"]


def _reshape_infer(p, ins):
    x, shape = ins[0], list(p["shape"])
    total = numel(x.shape)
    if -1 in shape:
        known = numel(d for d in shape if d != -1)
        if total % known:
            raise ShapeError(f"Reshape cannot fit {total} elements of {fmt_shape(x.shape)} into {fmt_shape(shape)}")
        shape[shape.index(-1)] = total // known
    if numel(shape) != total:
        raise ShapeError(f"Reshape {fmt_shape(p['shape'])} has {numel(shape)} elements but its input "
                         f"{fmt_shape(x.shape)} has {total}")
    return Tensor(tuple(shape), x.dtype)


def _reshape_forward(p, args, attr, out, ins):
    resolved = _reshape_infer(p, ins).shape
    return [f"{out} = {args[0]}.reshape({', '.join(['-1'] + [str(d) for d in resolved])})"]


register(
    LayerType(
        "Flatten", "reshape", "Joins all non-batch dimensions into one.",
        infer=lambda p, ins: Tensor((numel(ins[0].shape),), ins[0].dtype),
        forward=lambda p, args, attr, out, ins: [f"{out} = {args[0]}.flatten(1)"],
        accepts_int=True,
    ),
    LayerType(
        "Reshape", "reshape", "Gives the tensor a new shape with the same number of elements.",
        params=(Param("shape", "ints", REQUIRED, "new shape; one entry may be -1", lo=1, allow_minus_one=True),),
        infer=_reshape_infer, forward=_reshape_forward, accepts_int=True, key_params=("shape",),
    ),
    LayerType(
        "GlobalAvgPool", "reshape", "Averages over every spatial position: [C, ...] → [C].",
        infer=_global_pool_infer, forward=_global_pool_forward,
    ),
)
