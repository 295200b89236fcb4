"""Export as a standalone Python file: exactly the source the compiler executes.

From a run folder the file's class also normalizes raw inputs with the training
split's statistics (buffers) and has `load_trained(path)`; the kept weights and
statistics go beside it as a state dict (`OUT` with `.pt`). Before anything is
written, the text is compiled, the weights file loaded into it as a user would,
and its output on a batch compared with the run's network behind the run's own
normalization.
"""
from __future__ import annotations

import io
from pathlib import Path

import torch

from ..codegen import GeneratedModel, generate
from ..graph import Graph
from .result import ExportRefused, ExportResult, as_list, max_abs_diff, tolerance, write_all
from .source import ExportSource


def export_python(graph: Graph) -> str:
    """The generated module source for `graph` (GraphError when invalid); needs only torch."""
    return generate(graph, source_name=graph.path.name if graph.path else None).source


def python_export(source: ExportSource, out: Path) -> ExportResult:
    """Writes `out` (and, from a run, the weights as `out` with .pt), checked against the network."""
    generated, weights, diff = _checked(source)
    weights_path = out.with_suffix(".pt")
    files = [(weights_path, weights)] if weights is not None else []
    written = write_all(files + [(out, generated.source.encode("utf-8"))])
    lines = [f"wrote {p}" for p in written] + [f"max abs difference from the network: {diff:.3g}"]
    if source.from_run:
        lines.append(f'{generated.class_name}.load_trained("{weights_path.name}") takes raw samples')
    return ExportResult("python", written, diff, lines=lines)


def checked_source(source: ExportSource) -> str:
    """The module's text for a graph file, checked like a written export (for standard output)."""
    return _checked(source)[0].source


def _checked(source: ExportSource) -> tuple[GeneratedModel, bytes | None, float]:
    """(the module's source, the weights file's bytes from a run, the largest difference from the network):
    the text compiled and the weights file loaded into it as a user would, on a batch of raw samples."""
    from ..compiler import compile_source

    generated = source.generated()
    state = source.state_dict(generated)
    weights = None
    if source.from_run:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        weights = buffer.getvalue()
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    module = compile_source(generated, source.graph.name)()
    module.load_state_dict(state)
    module.eval()
    raw = source.example_inputs()
    with torch.no_grad():
        got = as_list(module(*raw))
        want = as_list(source.reference()(*source.reference_inputs(raw)))
    diff = max_abs_diff(got, want)
    if not diff <= tolerance(want):
        raise ExportRefused(f"the exported module differs from the network by {diff:.3g}; nothing was written")
    return generated, weights, diff
