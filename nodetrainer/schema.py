"""Typed, documented parameters: the one place values from a file are checked.

A `Param` describes one key of a node or of a settings section: its kind, its
default, its allowed range or choices and a one-line doc (shown by the editor's
inspector as a tooltip). `Param.check` turns a raw YAML value into a validated
Python value or raises `ValueError` with a message that says what would be valid.
Code generation writes only values that passed these checks, which is what keeps
exported code free of anything a file could inject.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import did_you_mean, one_of


MAX_INT = 2**31 - 1  # any integer setting: beyond this no size, count or seed makes sense (and C kernels overflow)
MAX_FLOAT = 3.4028234663852886e38  # float32's largest: every float reaches the network as float32
MIN_FLOAT = 1.401298464324817e-45  # float32's smallest above 0: anything smaller in size becomes 0


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

Kind = Literal[
    "int", "float", "bool", "str", "choice", "ints", "size", "padding", "floats", "int_or_null"
]


@dataclass(frozen=True)
class Param:
    """One parameter. For `size`/`padding`, `length` is the spatial rank (int or a list of that many ints)."""

    name: str
    kind: Kind
    default: Any = REQUIRED
    doc: str = ""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[Any, ...] = ()
    length: int | None = None
    allow_minus_one: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    # -- checking ---------------------------------------------------------------
    def check(self, value: Any) -> Any:
        """The validated value; raises ValueError naming what would be valid."""
        checker = getattr(self, f"_check_{self.kind}")
        return checker(value)

    def _range_text(self) -> str:
        parts = []
        if self.lo is not None:
            parts.append((">" if self.lo_open else ">=") + f" {_fmt(self.lo)}")
        if self.hi is not None:
            parts.append(("<" if self.hi_open else "<=") + f" {_fmt(self.hi)}")
        return " and ".join(parts)

    def _in_range(self, v: float) -> bool:
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            return False
        return True

    def _check_int(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"'{self.name}' must be an integer{self._range_suffix()}, got {_show(value)}")
        if not self._in_range(value):
            raise ValueError(f"'{self.name}' must be {self._range_text()}, got {_show(value)}")
        if abs(value) > MAX_INT:
            raise ValueError(f"'{self.name}' must be at most {MAX_INT:,} in size, got {_show(value)}")
        return value

    def _check_int_or_null(self, value: Any) -> int | None:
        return None if value is None else self._check_int(value)

    def _check_float(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"'{self.name}' must be a number{self._range_suffix()}, got {_show(value)}")
        value = _as_float(value)
        if not math.isfinite(value) or abs(value) > MAX_FLOAT:
            raise ValueError(f"'{self.name}' must be a finite float32 number (at most {MAX_FLOAT:.4g} in size), "
                             f"got {_show(value)}")
        if value != 0.0 and _float32(value) == 0.0:
            raise ValueError(f"'{self.name}' is too small for a float32 number and would reach the network as 0; "
                             f"use 0 or at least {MIN_FLOAT:.4g}, got {_show(value)}")
        if not self._in_range(value):
            raise ValueError(f"'{self.name}' must be {self._range_text()}, got {_fmt(value)}")
        return value

    def _check_bool(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"'{self.name}' must be true or false, got {_show(value)}")
        return value

    def _check_str(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise ValueError(f"'{self.name}' must be a non-empty string, got {_show(value)}")
        return value

    def _check_choice(self, value: Any) -> Any:
        if value in self.choices and type(value) in {type(c) for c in self.choices}:
            return value
        hint = did_you_mean(value, self.choices) if isinstance(value, str) else ""
        raise ValueError(f"'{self.name}' must be {one_of(self.choices)}, got {_show(value)}{hint}")

    def _check_ints(self, value: Any) -> list[int]:
        what = f"'{self.name}' must be a list of " + (f"{self.length} " if self.length else "")
        what += "integers" + (f" {self._range_text()}" if self.lo is not None or self.hi is not None else "")
        if self.allow_minus_one:
            what += " (one entry may be -1)"
        if not isinstance(value, list) or not value:
            raise ValueError(f"{what}, got {_show(value)}")
        if self.length and len(value) != self.length:
            raise ValueError(f"{what}, got {len(value)} values")
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{what}, got {_show(value)}")
            if not (self.allow_minus_one and v == -1) and (not self._in_range(v) or abs(v) > MAX_INT):
                raise ValueError(f"{what}, got {_show(value)}")
            out.append(v)
        if self.allow_minus_one and out.count(-1) > 1:
            raise ValueError(f"{what}, got {_show(value)}")
        return out

    def _check_floats(self, value: Any) -> list[float]:
        n = self.length
        what = f"'{self.name}' must be a list of {n} numbers {self._range_text()}".rstrip()
        if not isinstance(value, list) or (n and len(value) != n):
            raise ValueError(f"{what}, got {_show(value)}")
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{what}, got {_show(value)}")
            f = _as_float(v)
            if not math.isfinite(f) or abs(f) > MAX_FLOAT or not self._in_range(f):
                raise ValueError(f"{what}, got {_show(value)}")
            out.append(f)
        return out

    def _check_size(self, value: Any) -> int | list[int]:
        if isinstance(value, list):
            if len(value) == 1 and self.length == 1:
                value = value[0]
            elif len(value) != self.length:
                raise ValueError(self._size_message(value))
            else:
                for v in value:
                    if isinstance(v, bool) or not isinstance(v, int) or not self._in_range(v) or abs(v) > MAX_INT:
                        raise ValueError(self._size_message(value))
                return list(value)
        if isinstance(value, bool) or not isinstance(value, int) or not self._in_range(value) or abs(value) > MAX_INT:
            raise ValueError(self._size_message(value))
        return value

    def _size_message(self, value: Any) -> str:
        rng = self._range_text()
        lst = f" or a list of {self.length}" if self.length and self.length > 1 else ""
        return f"'{self.name}' must be an integer {rng}{lst}, got {_show(value)}"

    def _check_padding(self, value: Any) -> int | list[int] | str:
        if value == "same":
            return value
        try:
            return self._check_size(value)
        except ValueError:
            raise ValueError(self._size_message(value).replace(", got", " or 'same', got")) from None

    def _range_suffix(self) -> str:
        text = self._range_text()
        return f" {text}" if text else ""


def _float32(value: float) -> float:
    """`value` as float32 holds it."""
    return struct.unpack("f", struct.pack("f", value))[0]


def _as_float(value: int | float) -> float:
    """float(value), or inf for an integer too large for a float (10**400)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 128:
        return f"a number of {len(str(value)) if value.bit_length() < 14_000 else 'thousands of'} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_mapping(
    values: dict[str, Any], params: dict[str, Param], what: str, skip: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[tuple[str | None, str]]]:
    """Check `values` against `params`.

    Keys in `skip` are known but checked by the caller. Returns the validated
    values (only the keys given) and a list of
    (key or None, message) errors: unknown keys with a did-you-mean, missing
    required keys, and invalid values.
    """
    out: dict[str, Any] = {}
    errors: list[tuple[str | None, str]] = []
    for key, raw in values.items():
        if key in skip:
            continue
        param = params.get(key)
        if param is None:
            valid = one_of(params) if params else "none"
            errors.append((key, f"unknown key '{key}' in {what}{did_you_mean(key, params)}; valid keys: {valid}"))
            continue
        try:
            out[key] = param.check(raw)
        except ValueError as exc:
            errors.append((key, str(exc)))
    for name, param in params.items():
        if param.required and name not in values and name not in skip:
            errors.append((None, f"{what} needs '{name}' ({param.doc})" if param.doc else f"{what} needs '{name}'"))
    return out, errors
