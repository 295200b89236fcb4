"""Symbolic values: a number, text or true/false that computes as itself but is written as a name.

The code generator writes one class per block type, whose constructor takes the
block's parameters (and the sizes of its inputs). To find which constructor
arguments a value becomes, it infers a block's body with symbolic values: each
behaves exactly like its value in shape inference, so every check and branch
runs as for the real instance, and `layers.base.lit` writes it as the name of
the argument it came from (`nn.Conv2d(in_channels, channels, ...)`). A value
computed from one (a spatial size, `channels * 2`) is a plain number again.
Each name written is recorded in the `used` set it was made with, so the
generator knows which input sizes a class needs as arguments.
"""
from __future__ import annotations

from typing import Any

from .layers.base import SYMBOL


class _Symbolic:
    """Mixin: the name this value is written as, and the set that records its being written."""

    __slots__ = ()

    def _written(self) -> str:
        name, used = getattr(self, SYMBOL)
        used.add(name)
        return name

    def __repr__(self) -> str:
        return self._written()

    def __deepcopy__(self, memo: dict) -> Any:
        return self

    def __copy__(self) -> Any:
        return self


class SymInt(_Symbolic, int):
    def __new__(cls, value: int, name: str, used: set[str]):
        obj = int.__new__(cls, value)
        setattr(obj, SYMBOL, (name, used))
        return obj

    __str__ = _Symbolic.__repr__

    def __format__(self, spec: str) -> str:
        return self._written() if not spec else int.__format__(int(self), spec)


class SymFloat(_Symbolic, float):
    def __new__(cls, value: float, name: str, used: set[str]):
        obj = float.__new__(cls, value)
        setattr(obj, SYMBOL, (name, used))
        return obj

    __str__ = _Symbolic.__repr__


class SymStr(_Symbolic, str):
    def __new__(cls, value: str, name: str, used: set[str]):
        obj = str.__new__(cls, value)
        setattr(obj, SYMBOL, (name, used))
        return obj


class SymList(_Symbolic, list):
    def __init__(self, value: list, name: str, used: set[str]):
        super().__init__(value)
        setattr(self, SYMBOL, (name, used))


class SymBool(_Symbolic):
    """true/false (bool cannot be subclassed): truthy as its value, equal to it."""

    def __init__(self, value: bool, name: str, used: set[str]):
        self.value = bool(value)
        setattr(self, SYMBOL, (name, used))

    def __bool__(self) -> bool:
        return self.value

    def __eq__(self, other: object) -> bool:
        return self.value == other

    def __hash__(self) -> int:
        return hash(self.value)


def symbolic(value: Any, name: str, used: set[str]) -> Any:
    """`value` as a symbolic value written as `name` (values of other kinds stay as they are)."""
    if isinstance(value, bool):
        return SymBool(value, name, used)
    if isinstance(value, int):
        return SymInt(value, name, used)
    if isinstance(value, float):
        return SymFloat(value, name, used)
    if isinstance(value, str):
        return SymStr(value, name, used)
    if isinstance(value, list):
        return SymList(value, name, used)
    return value


def plain(value: Any) -> Any:
    """The plain value behind a symbolic one (lists element by element)."""
    if isinstance(value, SymBool):
        return value.value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
