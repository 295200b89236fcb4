"""NPZ archives: arrays x and y, optionally x_val/y_val and x_test/y_test that replace the split."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError, Problem, did_you_mean
from .raw import RawData

KEYS = ("x", "y", "x_val", "y_val", "x_test", "y_test")
PARTS = {"val": ("x_val", "y_val"), "test": ("x_test", "y_test")}


def load_npz(path: Path, mapped: bool = False) -> RawData:
    """Reads the archive without unpickling anything and checks its keys, lengths and shapes.

    With `mapped` (data.inputs names the arrays) only y, y_val and y_test are checked here and every array
    is kept in `RawData.arrays`; `nodetrainer.data.inputs.npz_parts` then picks one array per Input."""
    file = str(path)
    arrays = _read(path)
    if mapped:
        return _mapped(arrays, file)
    for key in arrays:
        if key not in KEYS:
            hint = f" (did you mean '{key.lower()}'?)" if key.lower() in KEYS else did_you_mean(key, KEYS)
            raise DataError(Problem(f"unexpected array '{key}'{hint}; "
                                    f"an NPZ file holds x, y and optionally x_val, y_val, x_test, y_test", file=file))
    for key in ("x", "y"):
        if key not in arrays:
            raise DataError(Problem(f"array '{key}' is missing; found {', '.join(arrays) or 'no arrays'} "
                                    f"(save with numpy.savez(path, x=..., y=...))", file=file))
    for xk, yk in PARTS.values():
        if (xk in arrays) != (yk in arrays):
            have, need = (xk, yk) if xk in arrays else (yk, xk)
            raise DataError(Problem(f"array '{have}' needs '{need}' beside it", file=file))
    _check_pair(arrays, "x", "y", file)
    parts = {}
    for name, (xk, yk) in PARTS.items():
        if xk in arrays:
            _check_pair(arrays, xk, yk, file)
            if arrays[xk].shape[1:] != arrays["x"].shape[1:]:
                raise DataError(Problem(f"'{xk}' samples are shaped {list(arrays[xk].shape[1:])} but 'x' samples "
                                        f"are shaped {list(arrays['x'].shape[1:])}", file=file))
            if arrays[yk].shape[1:] != arrays["y"].shape[1:]:
                raise DataError(Problem(f"'{yk}' is shaped {list(arrays[yk].shape)} but 'y' is shaped "
                                        f"{list(arrays['y'].shape)}; they must agree after the first dimension",
                                        file=file))
            parts[name] = (arrays[xk], arrays[yk])
    return RawData(arrays["x"], arrays["y"], file=file, parts=parts)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an NPZ archive by name (nothing unpickled); DataError when it is no readable archive."""
    return _read(path)


def _mapped(arrays: dict[str, np.ndarray], file: str) -> RawData:
    if "y" not in arrays:
        raise DataError(Problem(f"array 'y' is missing; found {', '.join(arrays) or 'no arrays'} "
                                f"(the targets; save with numpy.savez(path, y=..., x_name=...))", file=file))
    y = arrays["y"]
    if y.dtype.kind not in "biufUS" or y.ndim == 0 or len(y) == 0:
        raise DataError(Problem(f"'y' must hold one number or string per sample, got {y.dtype} {list(y.shape)}",
                                file=file))
    parts = {name: (None, arrays[yk]) for name, (_, yk) in PARTS.items() if yk in arrays}
    return RawData(None, y, file=file, parts=parts, arrays=arrays)  # x: the Inputs' arrays, set by npz_parts


def _read(path: Path) -> dict[str, np.ndarray]:
    file = str(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise DataError(Problem(f"cannot read {file}: {e.strerror or e}", file=file)) from None
    if magic.startswith(b"\x93NUMPY"):
        raise DataError(Problem(f"{file} holds a single array, not an NPZ archive; "
                                f"save it with numpy.savez(path, x=..., y=...)", file=file))
    if not magic.startswith(b"PK"):
        raise DataError(Problem(f"{file} is not an NPZ archive; save it with numpy.savez(path, x=..., y=...)",
                                file=file))
    try:
        loaded = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise DataError(Problem(f"cannot read {file} as an NPZ archive ({_reason(e)}); "
                                f"save it with numpy.savez(path, x=..., y=...)", file=file)) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataError(Problem(f"{file} holds a single array, not an NPZ archive; "
                                f"save it with numpy.savez(path, x=..., y=...)", file=file))
    arrays: dict[str, np.ndarray] = {}
    with loaded:
        for key in loaded.files:
            try:
                arrays[key] = loaded[key]
            except ValueError as e:
                what = "Python objects" if "pickle" in str(e) else _reason(e)
                raise DataError(Problem(f"array '{key}' cannot be loaded ({what}); store plain numeric arrays",
                                        file=file)) from None
            except (zipfile.BadZipFile, EOFError, OSError) as e:
                raise DataError(Problem(f"array '{key}' is damaged ({_reason(e)})", file=file)) from None
    return arrays


def _check_pair(arrays: dict[str, np.ndarray], xk: str, yk: str, file: str) -> None:
    x, y = arrays[xk], arrays[yk]
    if x.dtype.kind not in "biuf":
        raise DataError(Problem(f"'{xk}' must hold numbers, not {x.dtype}", file=file))
    if y.dtype.kind not in "biufUS":
        raise DataError(Problem(f"'{yk}' must hold numbers or strings, not {y.dtype}", file=file))
    if x.ndim < 2:
        raise DataError(Problem(f"'{xk}' is shaped {list(x.shape)}; it needs a sample dimension, "
                                f"[N, features...] (use x[:, None] for one feature)", file=file))
    if y.ndim == 0 or len(x) != len(y):
        raise DataError(Problem(f"'{xk}' has {len(x)} samples but '{yk}' has "
                                f"{len(y) if y.ndim else 'no sample dimension'}; they must match", file=file))
    if len(x) == 0:
        raise DataError(Problem(f"'{xk}' holds no samples", file=file))


def _reason(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__
