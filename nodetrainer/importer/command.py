"""`nodetrainer import SOURCE --input-shape SHAPE [-o OUT] [--weights W]`: write a graph file, and weights.

With `--weights`, the state dict W is loaded into the model first (it must fit
exactly), and its weights, renamed for the graph's network, are written beside
the graph (`OUT` with `.pt`), which then names them in `training.init_from`.
Nothing is written when the model cannot be expressed.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import NodeTrainerError, Problem


def parse_shape(text: str) -> tuple[int, ...]:
    """'3,224,224' -> (3, 224, 224); NodeTrainerError naming what is wrong."""
    parts = [p.strip() for p in text.replace("x", ",").split(",") if p.strip()]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise NodeTrainerError(Problem(f"--input-shape must be one sample's sizes such as 3,224,224, got {text!r}"))
    return shape


def run_import(source: str, shapes: list[str], output: str | None, weights: str | None) -> int:
    import torch

    from ..graphfile import atomic_write_text, dump_graph
    from ..training.checkpoint import UnsafeCheckpoint, atomic_write_bytes, load_checkpoint
    from ..training.init_from import fit_problem
    from . import convert_weights, import_model
    from .sources import load_source

    sizes = [parse_shape(s) for s in shapes]
    module, name = load_source(source)
    if weights:
        try:
            state = load_checkpoint(weights)
        except UnsafeCheckpoint as exc:
            raise NodeTrainerError(Problem(str(exc), weights)) from None
        except (OSError, RuntimeError, EOFError) as exc:
            raise NodeTrainerError(Problem(f"cannot read the weights: {exc}", weights)) from None
        if not isinstance(state, dict):
            raise NodeTrainerError(Problem("not a state dict (a mapping of weight names to tensors)", weights))
        problem = fit_problem(module.state_dict(), state)
        if problem:
            raise NodeTrainerError(Problem(f"the weights do not fit {source}: {problem}", weights))
        module.load_state_dict(state)
    result = import_model(module, sizes, _graph_name(name), source)
    out = Path(output) if output else Path(f"{name}.yaml")
    if out.suffix != ".yaml" and not out.suffix:
        out = out.with_suffix(".yaml")
    weights_file = out.with_suffix(".pt")
    if weights:
        result.graph.training = {"init_from": weights_file.name}
        import io
        buffer = io.BytesIO()
        torch.save(convert_weights(result, module), buffer)
        atomic_write_bytes(weights_file, buffer.getvalue())
    try:
        atomic_write_text(out, dump_graph(result.graph))
    except OSError as exc:
        if weights:
            try:
                os.unlink(weights_file)
            except OSError:
                pass
        raise NodeTrainerError(Problem(f"cannot write the graph: {exc.strerror or exc}", str(out))) from None
    graph = result.graph
    print(f"wrote {out} ({len(graph.nodes)} nodes, {len(graph.blocks)} block type{'s' * (len(graph.blocks) != 1)}, "
          f"{result.source_params:,} parameters)" + (f" and {weights_file}" if weights else ""), file=sys.stderr)
    return 0


def _graph_name(name: str) -> str:
    from ..graph import name_problem
    return name if name_problem(name) is None else "imported"
