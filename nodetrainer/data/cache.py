"""A user cache of built-in data sets and their splits, as .npz files, so a run does not import scikit-learn.

Importing scikit-learn (and SciPy with it) takes seconds, most of a small run's
start-up, while the arrays it produces for the built-in sets are a few hundred
kilobytes. `cached(key, build)` returns the arrays `build()` made the first time
for the same `key` (which names everything the result depends on, including the
scikit-learn version, read from its metadata without importing it).

The folder is $NODETRAINER_CACHE_DIR, else $XDG_CACHE_HOME/nodetrainer, else
~/.cache/nodetrainer. A file is written atomically (a temporary file renamed into
place); one that cannot be read is rebuilt, and a cache that cannot be written
is simply not used: the cache never makes a run fail.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

Arrays = dict[str, np.ndarray]


def cache_dir() -> Path:
    explicit = os.environ.get("NODETRAINER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nodetrainer"


def sklearn_version() -> str:
    """scikit-learn's version from its installed metadata (no import); 'none' when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("scikit-learn")
    except PackageNotFoundError:
        return "none"


def digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:24]


def cached(key: dict[str, Any], build: Callable[[], Arrays]) -> Arrays:
    """`build()`'s arrays, from the cache when an earlier call with an equal `key` stored them."""
    text = json.dumps(key, sort_keys=True, default=str)
    name = hashlib.sha256(text.encode()).hexdigest()[:32]
    folder = cache_dir()
    path = folder / f"{key.get('kind', 'data')}-{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["__key__"]) == text:
                return {k: f[k] for k in f.files if k != "__key__"}
    except (OSError, KeyError, ValueError, EOFError):
        pass  # not there yet, or unreadable: built again below
    arrays = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(out, __key__=np.array(text), **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass  # a read-only or full disk: the run goes on without the cache
    return arrays
