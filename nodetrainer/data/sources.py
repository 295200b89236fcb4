"""Built-in data sets: scikit-learn's bundled sets and seeded synthetic 2-D sets (no download)."""
from __future__ import annotations

import numpy as np

from ..errors import DataError, Problem, did_you_mean, one_of
from ..settings import BUILTIN_SETS
from .cache import cached, sklearn_version
from .raw import RawData

TWO_CLASSES = ["0", "1"]
PIXEL_MAX = {"digits": 16.0}  # the value of a full-ink pixel in a built-in image set (an image file's white)


def load_builtin(name: str, n_samples: int = 1000, noise: float = 0.1, seed: int = 0) -> RawData:
    """The built-in set `name`; synthetic sets use `n_samples`, `noise` and `seed`."""
    if name == "spirals":
        return _synthetic(*make_spirals(n_samples, noise, seed))
    if name == "xor":
        return _synthetic(*make_xor(n_samples, noise, seed))
    if name in ("moons", "circles"):
        key = {"kind": "builtin", "name": name, "n": n_samples, "noise": noise, "seed": seed,
               "sklearn": sklearn_version()}
        arrays = cached(key, lambda: _make_2d(name, n_samples, noise, seed))
        return _synthetic(arrays["x"], arrays["y"])
    if name not in BUNDLED:
        raise DataError(Problem(f"unknown built-in set '{name}'{did_you_mean(name, BUILTIN_SETS)}; "
                                f"built-in sets: {one_of(BUILTIN_SETS)}"))
    arrays = cached({"kind": "builtin", "name": name, "sklearn": sklearn_version(), "fields": 2}, lambda: _bundled(name))
    x = np.asarray(arrays["data"])
    columns = None if name == "digits" else [str(c) for c in arrays["feature_names"]]  # for data.inputs
    if name == "diabetes":
        return RawData(x, np.asarray(arrays["target"], dtype=np.float64)[:, None],
                       natural_task="regression", fixed_task="regression", columns=columns)
    if name == "digits":
        x = x.reshape(-1, 1, 8, 8)
    names = [str(n) for n in arrays["target_names"]]
    return RawData(x, np.asarray(arrays["target"], dtype=np.int64), class_names=names, natural_task="classification",
                   columns=columns)


BUNDLED = {"digits": "load_digits", "iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer",
           "diabetes": "load_diabetes"}  # scikit-learn's bundled sets (no download), cached by data/cache.py


def _bundled(name: str) -> dict[str, np.ndarray]:
    from sklearn import datasets
    bunch = getattr(datasets, BUNDLED[name])()
    names = getattr(bunch, "target_names", None)
    return {"data": np.asarray(bunch.data), "target": np.asarray(bunch.target),
            "target_names": np.asarray([str(n) for n in names] if names is not None else [], dtype=str),
            "feature_names": np.asarray([str(n) for n in getattr(bunch, "feature_names", [])], dtype=str)}


def _make_2d(name: str, n_samples: int, noise: float, seed: int) -> dict[str, np.ndarray]:
    from sklearn import datasets
    if name == "moons":
        x, y = datasets.make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    else:
        x, y = datasets.make_circles(n_samples=n_samples, noise=noise, factor=0.5, random_state=seed)
    return {"x": x, "y": y}


def _synthetic(x: np.ndarray, y: np.ndarray) -> RawData:
    return RawData(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64),
                   class_names=list(TWO_CLASSES), natural_task="classification", columns=["x0", "x1"])


def make_spirals(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals of 1.5 turns each, radius up to 1, plus Gaussian noise of std `noise`."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % 2
    t = np.sqrt(rng.random(n_samples)) * 3 * np.pi            # angle; sqrt spreads points evenly along the arm
    r = t / (3 * np.pi)
    angle = t + np.pi * y                                      # the second arm is the first turned half a circle
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1) + rng.normal(0.0, noise, (n_samples, 2))
    perm = rng.permutation(n_samples)
    return x[perm], y[perm]


def make_xor(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian blobs (std `noise`) centred at (±1, ±1); a blob's class is the XOR of its centre's signs."""
    rng = np.random.default_rng(seed)
    blob = np.arange(n_samples) % 4
    centres = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    x = centres[blob] + rng.normal(0.0, noise, (n_samples, 2))
    y = ((centres[blob, 0] > 0) ^ (centres[blob, 1] > 0)).astype(np.int64)
    perm = rng.permutation(n_samples)
    return x[perm], y[perm]
