"""Fully connected and embedding layers."""
from __future__ import annotations

from ..schema import REQUIRED, Param
from .base import (BIAS_PARAM, INIT_PARAM, Cost, LayerType, ShapeError, Tensor, call, fmt_shape, need_float,
                   numel, register)


def _linear_infer(p, ins):
    x = ins[0]
    need_float("Linear", x)
    if x.rank >= 3:
        raise ShapeError(f"Linear got a rank-{x.rank} tensor {fmt_shape(x.shape)}; add a Flatten "
                         f"(giving [{numel(x.shape)}]) or a GlobalAvgPool (giving [{x.shape[0]}]) before it")
    return Tensor(x.shape[:-1] + (p["out_features"],))


def _linear_cost(p, ins, out):
    f = ins[0].shape[-1]
    weights = f * p["out_features"]
    return Cost(weights + (p["out_features"] if p["bias"] else 0), weights * numel(ins[0].shape[:-1]))


def _embedding_infer(p, ins):
    x = ins[0]
    if x.dtype != "int64":
        raise ShapeError(f"Embedding needs int64 token ids (an Input with dtype: int64), got {x.dtype}")
    return Tensor(x.shape + (p["embedding_dim"],))


register(
    LayerType(
        "Linear", "layers", "Fully connected layer: y = x Wᵀ + b on the last dimension.",
        params=(
            Param("out_features", "int", REQUIRED, "number of output features", lo=1),
            BIAS_PARAM, INIT_PARAM,
        ),
        infer=_linear_infer,
        constructor=lambda p, ins: call("nn.Linear", ins[0].shape[-1], p["out_features"],
                                        defaults={"bias": True}, bias=p["bias"]),
        cost=_linear_cost, init_weights=("weight",), key_params=("out_features",),
    ),
    LayerType(
        "Embedding", "layers", "Looks up a learned vector for each token id.",
        params=(
            Param("num_embeddings", "int", REQUIRED, "vocabulary size", lo=1),
            Param("embedding_dim", "int", REQUIRED, "size of each vector", lo=1),
            INIT_PARAM,
        ),
        infer=_embedding_infer,
        constructor=lambda p, ins: call("nn.Embedding", p["num_embeddings"], p["embedding_dim"]),
        cost=lambda p, ins, out: Cost(p["num_embeddings"] * p["embedding_dim"], 0),
        accepts_int=True, init_weights=("weight",), key_params=("num_embeddings", "embedding_dim"),
    ),
)
