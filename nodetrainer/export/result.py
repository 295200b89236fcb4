"""What an export wrote and how it was checked: files, the largest difference from torch, a report.

`ExportRefused` is the one error every target raises when it will not write a
file (a node type the format cannot hold, a check that failed): one located
line, nothing written. `write_all` writes an export's files, each atomically,
only after every check passed, so a refused or failed export leaves no file
and no half of one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from ..errors import NodeTrainerError


class ExportRefused(NodeTrainerError):
    """This graph or run cannot be exported to this target; nothing was written."""


@dataclass
class ExportResult:
    target: str
    files: list[Path]
    max_abs_diff: float | None = None  # largest |exported - torch| on the checked batch
    report: dict[str, Any] | None = None  # onnx-int8: metrics, sizes and speeds (also in OUT.json)
    lines: list[str] = field(default_factory=list)  # what the command prints

    def summary(self) -> str:
        """One line for a status bar or the export dialog."""
        return "; ".join(self.lines) if self.lines else f"wrote {', '.join(str(f) for f in self.files)}"


def max_abs_diff(got: Sequence[Any], want: Sequence[Any]) -> float:
    """The largest absolute difference over every output (tensors or arrays); inf when shapes differ."""
    worst = 0.0
    for a, b in zip(got, want, strict=True):
        a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
        if a.shape != b.shape:
            return math.inf
        if a.numel():
            diff = float((a - b).abs().max())
            worst = diff if not math.isfinite(diff) else max(worst, diff)
            if not math.isfinite(worst):
                return math.inf
    return worst


def tolerance(want: Sequence[Any]) -> float:
    """What a correct float32 export may differ by: 1e-4 relative to the largest output, at least 1e-4."""
    scale = max((float(torch.as_tensor(w).abs().max()) for w in want if torch.as_tensor(w).numel()), default=1.0)
    return 1e-4 * max(1.0, scale if math.isfinite(scale) else 1.0)


def as_list(out: Any) -> list[torch.Tensor]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def write_all(files: Sequence[tuple[Path, bytes]]) -> list[Path]:
    """Writes each (path, bytes) atomically, in order; the folders must exist."""
    from ..training.checkpoint import atomic_write_bytes
    for path, data in files:
        atomic_write_bytes(path, data)
    return [path for path, _ in files]


__all__ = ["ExportRefused", "ExportResult", "max_abs_diff", "tolerance", "as_list", "write_all"]
