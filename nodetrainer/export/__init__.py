"""Exporters: a graph file, or a run folder with its kept weights, as standalone artifacts.

    source = open_source("runs/digits-cnn/20260301-141502")   # or a graph file
    result = export(source, "onnx", Path("digits.onnx"))      # checked, then written atomically
    print(result.lines)

Targets: `python` (the nn.Module; from a run also the weights and `load_trained`),
`onnx` (opset 18, dynamic batch, normalization folded in from a run), `onnx-int8`
(a run, statically quantized by onnxruntime, with a JSON report) and `script` (a
standalone training script, one process or DDP under torchrun). Every target is
verified numerically before its files are written; a refusal is one located line
and writes nothing.
"""
from __future__ import annotations

from pathlib import Path

from .python import export_python
from .result import ExportRefused, ExportResult
from .source import ExportSource, open_source

TARGETS = ("python", "onnx", "onnx-int8", "script")
SUFFIXES = {"python": ".py", "onnx": ".onnx", "onnx-int8": ".int8.onnx", "script": ".py"}


def default_output(source: ExportSource, target: str) -> Path:
    """Where an export goes when no OUT is given: named after the graph, in the current folder."""
    from ..training.runs import safe_name
    stem = safe_name(source.graph.name).replace("-", "_").replace(".", "_")
    return Path(("train_" if target == "script" else "") + stem + SUFFIXES[target])


def export(source: ExportSource, target: str, out: Path) -> ExportResult:
    """Exports `source` to `target` at `out` (the folder must exist); ExportRefused when it cannot."""
    if target == "python":
        from .python import python_export
        return python_export(source, out)
    if target == "onnx":
        from .to_onnx import onnx_export
        return onnx_export(source, out)
    if target == "onnx-int8":
        from .int8 import int8_export
        return int8_export(source, out)
    if target == "script":
        from .script import script_export
        return script_export(source, out)
    raise ExportRefused(f"unknown export target '{target}'; available: {', '.join(TARGETS)}")


__all__ = ["TARGETS", "ExportRefused", "ExportResult", "ExportSource", "default_output", "export", "export_python",
           "open_source"]
