"""Export as ONNX (opset 18): PyTorch's own exporter, checked with onnxruntime before it is written.

The model's inputs and outputs are named after the Input and Output node ids and
the batch dimension is dynamic. From a run folder the module exported is the one
`--to python` writes, so the normalization fitted on the training split is part
of the ONNX graph and the model takes raw samples. The ONNX bytes are run by
onnxruntime on a batch of another size than the one traced, and the largest
absolute difference from torch is reported; a difference above the tolerance, or
a graph the exporter cannot translate, is refused with one line naming the node
and its type, and nothing is written. Export uses the `torch.export`-based
exporter (`dynamo=True`, PyTorch's default), which needs `onnxscript`.
"""
from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from ..errors import Problem
from ..graph import Graph
from .result import ExportRefused, ExportResult, as_list, max_abs_diff, tolerance, write_all
from .source import EXAMPLE_BATCH, ExportSource

OPSET = 18
TRACE_BATCH = 2  # the example batch traced; checks run on another size, so a batch size baked in shows


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter prints its progress and logs notes (torchvision ops it skips); a command's output and a
    test's log need none of it."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def onnx_bytes(module: nn.Module, inputs: list[torch.Tensor], input_names: list[str],
               output_names: list[str]) -> bytes:
    """The serialized ONNX model of `module` with a dynamic batch dimension (the exporter's own errors pass)."""
    batch = torch.export.Dim("batch", min=1)
    with _quiet():
        program = torch.onnx.export(module, tuple(inputs), input_names=input_names, output_names=output_names,
                                    dynamic_shapes=tuple({0: batch} for _ in inputs), opset_version=OPSET,
                                    dynamo=True, external_data=False)
        return program.model_proto.SerializeToString()


def run_onnx(data: bytes, feeds: dict[str, Any]) -> list[Any]:
    """The outputs of an ONNX model (bytes) on `feeds` under onnxruntime's CPU provider."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return session.run(None, {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in feeds.items()})


def build_onnx(source: ExportSource) -> tuple[bytes, float]:
    """(ONNX bytes, max abs difference from torch) for `source`; ExportRefused (one line naming the node and
    its type) when the graph cannot be exported or the result disagrees with torch."""
    _require_onnx()
    module = source.network()
    trace = source.example_inputs(TRACE_BATCH, seed=1)
    try:
        data = onnx_bytes(module, trace, source.input_ids, source.output_ids)
    except Exception as exc:  # the exporter's errors are pages long; find the node instead
        raise ExportRefused(_refusal(source.graph, exc)) from None
    raw = source.example_inputs()
    try:
        got = run_onnx(data, dict(zip(source.input_ids, raw)))
    except Exception as exc:
        raise ExportRefused(Problem(f"onnxruntime cannot run the exported model: {_first_line(exc)}; nothing "
                                    "was written", _file(source.graph))) from None
    with torch.no_grad():
        want = as_list(source.reference()(*source.reference_inputs(raw)))
    diff = max_abs_diff(got, want)
    if not diff <= tolerance(want):
        raise ExportRefused(Problem(f"the ONNX model differs from torch by {diff:.3g} on a batch of "
                                    f"{len(raw[0])}; nothing was written", _file(source.graph)))
    return data, diff


def onnx_export(source: ExportSource, out: Path) -> ExportResult:
    data, diff = build_onnx(source)
    written = write_all([(out, data)])
    trained = source.trained()
    raw = ", raw samples: normalization included" if trained is not None and trained.normalized else ""
    lines = [f"wrote {out} (opset {OPSET}, inputs {', '.join(source.input_ids)}, dynamic batch{raw})",
             f"max abs difference from torch (onnxruntime, batch of {EXAMPLE_BATCH}): {diff:.3g}"]
    return ExportResult("onnx", written, diff, lines=lines)


# -- refusals -------------------------------------------------------------------------------
def _refusal(graph: Graph, exc: BaseException) -> Problem:
    """One located line for a failed export: the first node that cannot be exported on its own (each kind
    of node tried once, in graph order), with the operator the exporter named where it named one."""
    op = _operator(exc)
    node = culprit(graph)
    file = _file(graph)
    if node is None:
        return Problem(f"the graph cannot be exported to ONNX{f' ({op})' if op else ''}: {_first_line(exc)}", file)
    node_type = graph.nodes[node].type
    why = f"{op} has no ONNX translation" if op else _first_line(exc)
    return Problem(f"{node_type} cannot be exported to ONNX: {why}", file, graph.line_of("nodes", node), node)


def culprit(graph: Graph) -> str | None:
    """The first node (in graph order) that fails to export alone; None when each exports by itself."""
    from ..compiler import compile_graph
    from ..validate import check_graph

    report = check_graph(graph)
    tried: set[tuple] = set()
    for node_id in report.order:
        node = graph.nodes[node_id]
        if node.type in ("Input", "Output"):
            continue
        ins = [report.shapes.tensors[s] for s in graph.inputs[node_id]]
        key = (node.type, repr(sorted(node.params.items())), tuple((t.shape, t.dtype) for t in ins))
        if key in tried:
            continue
        tried.add(key)
        alone = _alone(node_id, node.type, dict(node.params), ins)
        try:
            module = compile_graph(alone).eval()
            sample = [torch.zeros((TRACE_BATCH, *t.shape), dtype=torch.int64) if t.dtype == "int64"
                      else torch.randn(TRACE_BATCH, *t.shape) for t in ins]
            onnx_bytes(module, sample, alone.input_ids(), alone.output_ids())
        except Exception:
            return node_id
    return None


def _alone(node_id: str, node_type: str, params: dict[str, Any], ins: list[Any]) -> Graph:
    g = Graph("probe")
    names = [g.unused_id(f"in_{i}") for i in range(len(ins))]
    for name, t in zip(names, ins):
        g.add_node(name, "Input", {"shape": list(t.shape), **({"dtype": t.dtype} if t.dtype != "float32" else {})})
    g.add_node(node_id, node_type, params)
    for name in names:
        g.connect(name, node_id, check=False)
    out = g.unused_id("out")
    g.add_node(out, "Output")
    g.connect(node_id, out, check=False)
    return g


def _operator(exc: BaseException) -> str | None:
    """The operator an exporter error names (`op='prims.lgamma'`, `torch.ops.aten.x.default`), if any."""
    text = ""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:  # the operator is often named by a cause, not the error
        seen.add(id(exc))
        text += " " + str(exc)
        exc = exc.__cause__ or exc.__context__
    found = re.search(r"op='(\w+\.\w+)'", text) or re.search(r"torch\.ops\.(\w+\.\w+)", text) \
        or re.search(r"\b((?:aten|prims)\.\w+)", text)
    return found.group(1) if found else None


def _first_line(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:200]


def _file(graph: Graph) -> str | None:
    return str(graph.path) if graph.path else None


def _require_onnx() -> None:
    missing = [name for name in ("onnx", "onnxscript", "onnxruntime") if not _importable(name)]
    if missing:
        raise ExportRefused(f"ONNX export needs the packages {', '.join(missing)}: pip install "
                            f"{' '.join(missing)} (they come with pip install -e . of NodeTrainer)")


def _importable(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


__all__ = ["OPSET", "build_onnx", "onnx_export", "onnx_bytes", "run_onnx", "culprit"]
