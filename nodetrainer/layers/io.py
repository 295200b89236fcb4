"""Graph inputs and outputs."""
from __future__ import annotations

from ..schema import REQUIRED, Param
from .base import LayerType, Tensor, register

register(
    LayerType(
        "Input", "io", "A network input; one sample's shape without the batch dimension.",
        params=(
            Param("shape", "ints", REQUIRED, "one sample's shape, e.g. [1, 8, 8]", lo=1),
            Param("dtype", "choice", "float32", "float32 for features, int64 for token ids", choices=("float32", "int64")),
        ),
        infer=lambda p, ins: Tensor(tuple(p["shape"]), p["dtype"]),
        forward=lambda p, args, attr, out, ins: [],
        min_inputs=0, max_inputs=0, key_params=("shape",),
    ),
    LayerType(
        "Output", "io", "Marks a network output; the loss applies to it.",
        forward=lambda p, args, attr, out, ins: [],
        accepts_int=True,
    ),
)
