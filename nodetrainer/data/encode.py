"""Turns arrays as read into the tensors a model trains on: class indices, regression targets, feature dtypes."""
from __future__ import annotations

import numpy as np

from ..errors import DataError, Problem


def encode_classes(ys: list[np.ndarray], what: str = "y",
                   file: str | None = None) -> tuple[list[np.ndarray], list[str]]:
    """Class indices (int64) for each array of labels, sharing one sorted list of class names.

    Labels that are all numbers sort by value ("2" before "10"); other labels sort as text.
    Non-integer numbers are refused: they look like a regression target.
    """
    flat = [np.asarray(y) for y in ys]
    for y in flat:
        if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
            raise DataError(Problem(f"{what} is shaped {list(y.shape)}; classification needs one class label per "
                                    f"sample (shape [N]); for several targets per sample use a regression loss",
                                    file=file))
    flat = [y.reshape(-1) for y in flat]
    both = np.concatenate(flat)
    if both.dtype.kind in "US":
        both = np.char.strip(both.astype(str))
        flat = [np.char.strip(y.astype(str)) for y in flat]
    classes, inverse = np.unique(both, return_inverse=True)
    values = _as_numbers(classes)
    if values is not None:
        fractional = values[np.isfinite(values) & (values != np.round(values))]
        if fractional.size or not np.isfinite(values).all():
            example = fractional[0] if fractional.size else values[~np.isfinite(values)][0]
            raise DataError(Problem(f"{what} holds non-integer numbers such as {example:g}, which cannot be class "
                                    f"labels; for a regression target set data.task: regression or use an "
                                    f"mse, l1 or huber loss", file=file))
        order = np.lexsort((classes.astype(str), values))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        inverse = rank[inverse]
        classes = classes[order]
        names = [str(int(v)) if classes.dtype.kind == "f" else str(c) for c, v in zip(classes, values[order])]
    else:
        names = [str(c) for c in classes]
    if len(names) < 2:
        raise DataError(Problem(f"{what} holds only one class ('{names[0]}'); classification needs at least two",
                                file=file))
    bounds = np.cumsum([0] + [len(y) for y in flat])
    return [inverse[a:b].astype(np.int64) for a, b in zip(bounds[:-1], bounds[1:])], names


def _as_numbers(classes: np.ndarray) -> np.ndarray | None:
    if classes.dtype.kind in "biuf":
        return classes.astype(np.float64)
    try:
        return classes.astype(np.float64)
    except ValueError:
        return None


def regression_targets(y: np.ndarray, what: str = "y", file: str | None = None) -> np.ndarray:
    """float32 [N, T] targets from numbers shaped [N] or [N, ...]."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        try:
            y = np.char.strip(y.astype(str)).astype(np.float64)
        except ValueError:
            raise DataError(Problem(f"{what} holds text; a regression target must be numbers "
                                    f"(for class labels use a classification loss or data.task: classification)",
                                    file=file)) from None
    y = y.reshape(len(y), -1).astype(np.float32)
    if not np.isfinite(y).all():
        row = int(np.argwhere(~np.isfinite(y))[0][0])
        raise DataError(Problem(f"{what} of sample {row} is not a finite number", file=file))
    return y


def features(x: np.ndarray, input_dtype: str, what: str = "x", file: str | None = None) -> np.ndarray:
    """float32 features, or int64 token ids when the Input dtype is int64 (checked to be whole and >= 0)."""
    if x.dtype.kind not in "biuf":
        raise DataError(Problem(f"{what} must hold numbers, not {x.dtype}", file=file))
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x)
        if bad.any():
            sample = int(np.argwhere(bad)[0][0])
            raise DataError(Problem(f"{what} holds NaN or infinite values (first in sample {sample})", file=file))
    if input_dtype == "int64":
        if x.dtype.kind == "f" and (x != np.round(x)).any():
            raise DataError(Problem(f"the Input dtype is int64 (token ids) but {what} holds non-integer values; "
                                    f"use dtype float32 for these features", file=file))
        if x.size and x.min() < 0:
            raise DataError(Problem(f"the Input dtype is int64 (token ids) but {what} holds negative values",
                                    file=file))
        return x.astype(np.int64, copy=False)
    return x.astype(np.float32, copy=False)
