"""Whole-graph shape inference: each node's output tensor, and the problems found on the way.

Inference walks the graph in topological order. A node whose input cannot be
inferred (a broken upstream node) is skipped silently, so each mistake is
reported once, on the node that cannot accept its input.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .errors import Problem
from .graph import Graph
from .layers import ShapeError, Tensor

Shape = tuple[int, ...]


@dataclass
class ShapeResult:
    tensors: dict[str, Tensor] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def shapes(self) -> dict[str, Shape]:
        return {k: t.shape for k, t in self.tensors.items()}


def infer_shapes(graph: Graph, order: list[str] | None = None) -> ShapeResult:
    """Infer every node's output. `order` is a topological order (computed when not given);
    a graph with a cycle gets no shapes and no problems here (the validator reports the cycle)."""
    result = ShapeResult()
    if order is None:
        try:
            order = graph.topological_order()
        except Exception:
            return result
    for node_id in order:
        node = graph.nodes[node_id]
        spec = node.spec
        if spec is None:
            continue
        sources = graph.inputs.get(node_id, [])
        if any(s not in result.tensors for s in sources):
            continue
        if len(sources) < spec.min_inputs:
            if spec.min_inputs > 1:  # a missing single input is reported as unreachable by the validator
                result.problems.append(graph.problem(
                    f"{node.type} needs at least {spec.min_inputs} inputs, got {len(sources)}", node_id))
            continue
        ins = [result.tensors[s] for s in sources]
        if not spec.accepts_int and spec.min_inputs and any(t.dtype != "float32" for t in ins) and node.type != "Embedding":
            bad = next(t for t in ins if t.dtype != "float32")
            result.problems.append(graph.problem(
                f"{node.type} needs float input, but {bad.source} gives int64 token ids; put an Embedding first",
                node_id))
            continue
        try:
            out = spec.infer(node.resolved(), ins)
        except ShapeError as exc:
            result.problems.append(graph.problem(str(exc), node_id))
            continue
        except (KeyError, TypeError):
            continue  # missing required parameter: reported by the reader
        result.tensors[node_id] = replace(out, source=node_id)
    return result
