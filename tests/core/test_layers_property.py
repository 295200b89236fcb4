"""For every node type: the inferred output shape and parameter count equal the built module's."""
from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nodetrainer.compiler import compile_graph
from nodetrainer.graph import Graph
from nodetrainer.layers import REGISTRY, ShapeError, Tensor
from nodetrainer.schema import Param
from nodetrainer.summary import summarize
from nodetrainer.validate import check_graph



def chain_graph(name: str, input_shapes: list[list[int]], node_type: str, params: dict, dtype: str = "float32") -> Graph:
    """Inputs in_0..in_k -> one node of `node_type` -> Output."""
    g = Graph(name)
    for i, shape in enumerate(input_shapes):
        g.add_node(f"in_{i}", "Input", {"shape": list(shape), **({"dtype": dtype} if dtype != "float32" else {})})
    g.add_node("node", node_type, params)
    for i in range(len(input_shapes)):
        g.connect(f"in_{i}", "node")
    g.add_node("out", "Output")
    g.connect("node", "out")
    return g

SMALL = 6  # cap on sizes so each example runs in milliseconds


def param_value(draw, p: Param):
    if p.kind in ("int", "int_or_null"):
        lo = int(p.lo) if p.lo is not None else -2
        hi = int(min(p.hi, lo + SMALL)) if p.hi is not None else lo + SMALL
        return draw(st.integers(lo, hi))
    if p.kind == "float":
        lo = p.lo if p.lo is not None else -2.0
        hi = p.hi if p.hi is not None else lo + 2.0
        value = draw(st.floats(lo, hi, allow_nan=False, exclude_min=p.lo_open, exclude_max=p.hi_open))
        return round(value, 3) if p.lo is None or round(value, 3) > p.lo or not p.lo_open else value
    if p.kind == "bool":
        return draw(st.booleans())
    if p.kind == "choice":
        return draw(st.sampled_from(p.choices))
    if p.kind in ("size", "padding"):
        lo = int(p.lo or 0)
        options = [st.integers(lo, lo + 3), st.lists(st.integers(lo, lo + 3), min_size=p.length, max_size=p.length)]
        if p.kind == "padding":
            options.append(st.just("same"))
        return draw(st.one_of(*options))
    if p.kind == "ints":
        return draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    raise AssertionError(f"no strategy for {p.kind}")


def draw_case(draw, spec):
    """(params, input shapes, dtype) for a node of `spec`."""
    params = {}
    for p in spec.params:
        if p.required or draw(st.booleans()):
            params[p.name] = param_value(draw, p)
    if spec.name == "Reshape":
        shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
        total = 1
        for d in shape:
            total *= d
        params["shape"] = draw(st.permutations(shape))
        if draw(st.booleans()):
            params["shape"] = list(params["shape"])
            params["shape"][draw(st.integers(0, len(shape) - 1))] = -1
        return params, [list(shape)], "float32"
    rank = draw(st.integers(1, 3))
    shape = draw(st.lists(st.integers(1, 9), min_size=rank, max_size=rank))
    n_inputs = 1 if spec.max_inputs == 1 else draw(st.integers(spec.min_inputs, 3))
    shapes = [list(shape)]
    for _ in range(n_inputs - 1):
        other = list(shape)
        if spec.name == "Concat":
            dim = params.get("dim", 0) % rank if -rank <= params.get("dim", 0) < rank else 0
            other[dim] = draw(st.integers(1, 5))
        elif draw(st.booleans()):
            other[draw(st.integers(0, rank - 1))] = 1  # broadcastable
        shapes.append(other)
    dtype = "int64" if spec.name == "Embedding" else "float32"
    return params, shapes, dtype


TYPES = sorted(t for t in REGISTRY if t not in ("Input", "Output"))


@pytest.mark.parametrize("type_name", TYPES)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_inferred_shape_and_params_match_module(type_name, data):
    spec = REGISTRY[type_name]
    params, shapes, dtype = draw_case(data.draw, spec)
    try:
        p = spec.resolve({k: spec.param_map[k].check(v) for k, v in params.items()})
        spec.infer(p, [Tensor(tuple(s), dtype) for s in shapes])
    except (ShapeError, ValueError):
        assume(False)
    graph = chain_graph("prop", shapes, type_name, params, dtype)
    report = check_graph(graph)
    assert not report.problems, report.problems
    model = compile_graph(graph).eval()
    if dtype == "int64":
        inputs = [torch.randint(0, params["num_embeddings"], (2, *s)) for s in shapes]
    else:
        inputs = [torch.randn(2, *s) for s in shapes]
    with torch.no_grad():
        out = model(*inputs)
    assert tuple(out.shape) == (2, *report.shapes.shapes["node"])
    summary = summarize(graph, report)
    assert summary.total_params == sum(t.numel() for t in model.parameters())


def test_every_type_has_a_doc_and_documented_params():
    for spec in REGISTRY.values():
        assert spec.doc and spec.category
        for p in spec.params:
            assert p.doc, f"{spec.name}.{p.name} has no doc"
