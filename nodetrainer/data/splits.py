"""Seeded train/val/test index splits, stratified by class for classification where possible."""
from __future__ import annotations

import numpy as np

from ..errors import DataError, Problem


def split_indices(n: int, val: float, test: float, seed: int, labels: np.ndarray | None = None,
                  ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Sorted (train, val, test) index arrays over range(n); a fraction of 0 gives None.

    With `labels` (class indices) each part keeps the class proportions; when a class has
    too few members for that, the split falls back to a plain shuffled one.
    """
    if not (0.0 <= val < 1.0 and 0.0 <= test < 1.0 and val + test < 1.0):
        raise DataError(Problem(f"split fractions val {val} and test {test} must each be in [0, 1) "
                                f"and leave some training data"))
    rest = np.arange(n)
    test_idx = val_idx = None
    if test > 0:
        rest, test_idx = _hold_out(rest, test, seed, labels, "test")
    if val > 0:
        rest, val_idx = _hold_out(rest, val / (1.0 - test), seed, labels, "val")
    return np.sort(rest), _sorted(val_idx), _sorted(test_idx)


def _sorted(idx: np.ndarray | None) -> np.ndarray | None:
    return None if idx is None else np.sort(idx)


def _hold_out(idx: np.ndarray, fraction: float, seed: int, labels: np.ndarray | None,
              what: str) -> tuple[np.ndarray, np.ndarray]:
    from .cache import cached, digest, sklearn_version
    key = {"kind": "split", "idx": digest(idx), "labels": digest(labels[idx]) if labels is not None else None,
           "fraction": float(fraction), "seed": int(seed), "sklearn": sklearn_version()}
    parts = cached(key, lambda: _split(idx, fraction, seed, labels))  # the same split without importing sklearn
    kept, held = parts["kept"], parts["held"]
    if len(kept) == 0 or len(held) == 0:
        raise DataError(Problem(f"too few samples ({len(idx)}) to hold out {fraction:.0%} for {what} "
                                f"and keep some for training; add data or change data.split"))
    return kept, held


def _split(idx: np.ndarray, fraction: float, seed: int, labels: np.ndarray | None) -> dict[str, np.ndarray]:
    from sklearn.model_selection import train_test_split
    if labels is not None:
        try:
            kept, held = train_test_split(idx, test_size=fraction, random_state=seed, stratify=labels[idx])
            return {"kept": kept, "held": held}
        except ValueError:
            pass  # a class too small to stratify: fall back to a plain split
    try:
        kept, held = train_test_split(idx, test_size=fraction, random_state=seed)
    except ValueError:
        kept = held = idx[:0]
    return {"kept": kept, "held": held}
