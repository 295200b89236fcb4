"""Nodes that join several inputs: Add (residual skips), Multiply and Concat.

Add and Multiply broadcast per sample (format 1): shapes without the batch
dimension align from the last dimension, and the generated code gives a
lower-rank input singleton dimensions after the batch dimension, so what shape
inference says is what torch computes and no sample's output depends on another.
"""
from __future__ import annotations

from ..schema import Param
from .base import LayerType, ShapeError, Tensor, check_dim, need_float, register, torch_dim


def _broadcast(name: str, ins: list[Tensor]) -> Tensor:
    if len(ins) < 2:
        raise ShapeError(f"{name} needs two or more inputs, got {len(ins)}")
    for x in ins:
        need_float(name, x)
    shape = list(ins[0].shape)
    for x in ins[1:]:
        a, b = shape, list(x.shape)
        n = max(len(a), len(b))
        a, b = [1] * (n - len(a)) + a, [1] * (n - len(b)) + b
        if any(p != q and 1 not in (p, q) for p, q in zip(a, b)):
            first = Tensor(tuple(ins[0].shape), source=ins[0].source) if x is ins[1] else Tensor(tuple(shape))
            raise ShapeError(f"{name} inputs have different shapes: {first.named()} and {x.named()}")
        shape = [max(p, q) for p, q in zip(a, b)]
    return Tensor(tuple(shape))


def _per_sample(args: list[str], ins: list[Tensor]) -> list[str]:
    """The inputs as torch must see them to broadcast per sample: a lower-rank input gets singleton
    dimensions after the batch dimension (`b[:, None]`), so shapes align from the last dimension and
    the batch dimension only ever meets the batch dimension."""
    rank = max(x.rank for x in ins)
    return [arg if x.rank == rank else f"{arg}[:, {', '.join(['None'] * (rank - x.rank))}]"
            for arg, x in zip(args, ins)]


def _concat_infer(p, ins):
    if len(ins) < 2:
        raise ShapeError(f"Concat needs two or more inputs, got {len(ins)}")
    first = ins[0]
    dim = check_dim("Concat", p["dim"], first.rank)
    for x in ins[1:]:
        if x.rank != first.rank:
            raise ShapeError(f"Concat inputs have different ranks: {first.named()} and {x.named()}")
        for d, (a, b) in enumerate(zip(first.shape, x.shape)):
            if d != dim and a != b:
                raise ShapeError(f"Concat along dim {dim} needs the inputs to agree on dim {d}: "
                                 f"{first.named()} has {a}, {x.named()} has {b}")
        if x.dtype != first.dtype:
            raise ShapeError(f"Concat inputs have different dtypes: {first.dtype} and {x.dtype}")
    shape = list(first.shape)
    shape[dim] = sum(x.shape[dim] for x in ins)
    return Tensor(tuple(shape), first.dtype)


register(
    LayerType(
        "Add", "merge", "Sums its inputs: the skip connection of a residual network.",
        infer=lambda p, ins: _broadcast("Add", ins),
        forward=lambda p, args, attr, out, ins: [f"{out} = {' + '.join(_per_sample(args, ins))}"],
        min_inputs=2, max_inputs=None,
    ),
    LayerType(
        "Multiply", "merge", "Multiplies its inputs element-wise (gating).",
        infer=lambda p, ins: _broadcast("Multiply", ins),
        forward=lambda p, args, attr, out, ins: [f"{out} = {' * '.join(_per_sample(args, ins))}"],
        min_inputs=2, max_inputs=None,
    ),
    LayerType(
        "Concat", "merge", "Joins its inputs along a dimension, in the order their edges appear.",
        params=(Param("dim", "int", 0, "dimension joined (0 = first non-batch dimension)"),),
        infer=_concat_infer,
        forward=lambda p, args, attr, out, ins: [
            f"{out} = torch.cat([{', '.join(args)}], dim={torch_dim(check_dim('Concat', p['dim'], ins[0].rank))})"],
        min_inputs=2, max_inputs=None, accepts_int=True,
    ),
)
