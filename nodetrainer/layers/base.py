"""What a node type is: one declaration holding everything every other part needs.

A `LayerType` bundles a type's parameter schema (for the reader, the checker and
the editor's inspector), its shape inference, its parameter and multiply-add
arithmetic (for the summary), and its code generation (the constructor
expression and the forward lines). Module construction goes through the same
code generation, so the module that trains and the exported file never differ.
Types register themselves in `REGISTRY` by their format-1 name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..schema import Param
from ..settings import INITS

Shape = tuple[int, ...]


class ShapeError(Exception):
    """A node cannot accept its input; the message says why and what would fit."""


@dataclass(frozen=True)
class Tensor:
    """What flows along an edge at inference time: a shape without the batch dimension, and a dtype."""

    shape: Shape
    dtype: str = "float32"
    source: str = field(default="", compare=False)  # id of the node that produced it, for messages

    def named(self) -> str:
        """'[32, 8, 8] from bn2' for messages."""
        return fmt_shape(self.shape) + (f" from {self.source}" if self.source else "")

    @property
    def rank(self) -> int:
        return len(self.shape)


def fmt_shape(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


@dataclass(frozen=True)
class Cost:
    params: int = 0
    macs: int = 0


@dataclass(frozen=True)
class LayerType:
    """One node type. `p` below is the node's parameters with defaults filled in."""

    name: str
    category: str  # io, layers, activations, normalization, merge, reshape
    doc: str
    params: tuple[Param, ...] = ()
    infer: Callable[[dict[str, Any], list[Tensor]], Tensor] = lambda p, ins: ins[0]
    # Python expression constructing the nn.Module, or None for a functional node
    constructor: Callable[[dict[str, Any], list[Tensor]], str | None] = lambda p, ins: None
    # forward lines given input variable names, the attribute (= node id) and the output variable
    forward: Callable[[dict[str, Any], list[str], str, str, list[Tensor]], list[str]] | None = None
    cost: Callable[[dict[str, Any], list[Tensor], Tensor], Cost] = lambda p, ins, out: Cost()
    min_inputs: int = 1
    max_inputs: int | None = 1  # None: any number
    accepts_int: bool = False
    init_weights: tuple[str, ...] = ()  # parameter names (or name prefixes ending in '*') that `init` applies to
    key_params: tuple[str, ...] = ()  # shown on the node in the editor
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def param_map(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    def resolve(self, given: dict[str, Any]) -> dict[str, Any]:
        """The given parameters with defaults filled in for the rest."""
        out = {p.name: p.default for p in self.params if not p.required}
        out.update(given)
        return out

    @property
    def multi_input(self) -> bool:
        return self.max_inputs is None or self.max_inputs > 1

    def forward_lines(self, p: dict[str, Any], args: list[str], attr: str, out: str, ins: list[Tensor]) -> list[str]:
        if self.forward is not None:
            return self.forward(p, args, attr, out, ins)
        return [f"{out} = self.{attr}({args[0]})"]


REGISTRY: dict[str, LayerType] = {}


def register(*types: LayerType) -> None:
    for t in types:
        if t.name in REGISTRY:
            raise RuntimeError(f"node type {t.name} declared twice")
        REGISTRY[t.name] = t


# -- helpers shared by declarations ---------------------------------------------
INIT_PARAM = Param("init", "choice", "default", "weight initialization (overrides training.init)", choices=INITS)
BIAS_PARAM = Param("bias", "bool", True, "learn an additive bias")


SYMBOL = "_nodetrainer_symbol"  # attribute of a symbolic value (see nodetrainer.symbolic): (name, used)


def is_symbolic(value: Any) -> bool:
    return hasattr(value, SYMBOL)


def lit(value: Any) -> str:
    """A Python literal for a validated value (lists become tuples); a symbolic value is written as the
    name of the argument it stands for."""
    if is_symbolic(value):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (bool, int, str)) or value is None:
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} as a literal")


def call(func: str, *positional: Any, defaults: dict[str, Any] | None = None, **keywords: Any) -> str:
    """`func(a, b, k=v)`, leaving out keywords equal to their default (never a symbolic one: another
    instance of the same block may give another value)."""
    defaults = defaults or {}
    parts = [lit(a) for a in positional]
    for key, value in keywords.items():
        if key in defaults and not is_symbolic(value) and _same(defaults[key], value):
            continue
        parts.append(f"{key}={lit(value)}")
    return f"{func}({', '.join(parts)})"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and list(a) == list(b)
    return a == b and type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                               and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def as_tuple(value: int | Sequence[int], n: int) -> tuple[int, ...]:
    """An int or a list broadcast to `n` entries."""
    if isinstance(value, int):
        return (value,) * n
    return tuple(value)


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


def need_rank(node_type: str, x: Tensor, ranks: Sequence[int], names: str) -> None:
    if x.rank not in ranks:
        raise ShapeError(f"{node_type} expects {names}, got {fmt_shape(x.shape)}")


def need_float(node_type: str, x: Tensor) -> None:
    if x.dtype != "float32":
        raise ShapeError(f"{node_type} needs float input, got {x.dtype} token ids; put an Embedding first")


def torch_dim(dim: int) -> int:
    """A format dim (0 = first non-batch dimension, negative from the end) as a torch dim."""
    return dim + 1 if dim >= 0 else dim


def check_dim(node_type: str, dim: int, rank: int) -> int:
    """The non-negative format dim for a tensor of `rank`, or a ShapeError."""
    if not -rank <= dim < rank:
        raise ShapeError(f"{node_type} dim {dim} is out of range for a rank-{rank} input (valid: {-rank} to {rank - 1})")
    return dim % rank
