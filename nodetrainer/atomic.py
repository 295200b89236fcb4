"""Files written whole or not at all, and JSON that stays valid.

Every file the tool writes (graphs, run and tune folders, exports) goes to a
temporary file beside its target, is flushed to disk and moved over the target
with `os.replace`, so a reader or a crash sees the old file or the new one,
never half of one. `json_text` turns NaN and infinities, which JSON has no
words for, into null.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """`atomic_write_bytes` of `text` in UTF-8 with the newlines as given."""
    atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float replaced by None and every mapping key made a string."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def json_text(value: Any) -> str:
    """Indented JSON of `value` (see `json_safe`), ending in a newline."""
    return json.dumps(json_safe(value), indent=2) + "\n"
