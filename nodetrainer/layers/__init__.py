"""The layer library: every node type of format 1, each declared once.

Importing this package registers all types in `REGISTRY`; `get(name)` looks one up.
"""
from __future__ import annotations

from . import activations, conv, dense, io, merge, normalization, recurrent, reshape  # noqa: F401  (registration)
from .base import REGISTRY, Cost, LayerType, ShapeError, Tensor, fmt_shape

CATEGORIES = ("io", "layers", "activations", "normalization", "reshape", "merge")


def get(name: str) -> LayerType | None:
    return REGISTRY.get(name)


__all__ = ["REGISTRY", "CATEGORIES", "Cost", "LayerType", "ShapeError", "Tensor", "fmt_shape", "get"]
