"""Properties of whole random graphs drawn from the layer registry.

- Batch independence: in eval mode, row i of a batch is the output of sample i alone, at batch sizes
  1, 2, 3 and 5, and the inferred output shape is the real one (merges of different ranks included).
- Names: ids drawn to collide with every name generated code uses (arguments, attributes, the flow
  variable, module metadata, builtins, keywords' neighbours, dunders) give a module computing the same
  function as the graph with its ids renamed n0..nk.
"""
from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodetrainer.compiler import compile_graph
from nodetrainer.graph import Graph
from nodetrainer.layers import REGISTRY, ShapeError, Tensor
from nodetrainer.validate import check_graph
from test_layers_property import param_value

TYPES = sorted(t for t in REGISTRY if t not in ("Input", "Output"))
MAX_VALUES = 4096  # per sample at any node: each example runs in milliseconds
VOCAB = 3  # token ids are drawn below this; every Embedding has at least this many rows


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(p == q or 1 in (p, q) for p, q in zip(reversed(a), reversed(b)))


@st.composite
def graphs(draw, max_nodes: int = 7) -> Graph:
    """A valid graph: 1-2 Inputs, up to `max_nodes` layers each fed by earlier nodes, an Output per sink.
    Ids are n0, n1, ... in file order."""
    g = Graph("prop")
    tensors: dict[str, Tensor] = {}
    ids = (f"n{i}" for i in range(1000))
    for _ in range(draw(st.integers(1, 2))):
        rank = draw(st.integers(1, 3))
        node_id = next(ids)
        if draw(st.integers(0, 5)) == 0:  # token ids
            shape = [draw(st.integers(1, 5))]
            g.add_node(node_id, "Input", {"shape": shape, "dtype": "int64"})
            tensors[node_id] = Tensor(tuple(shape), "int64")
        else:
            shape = draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank))
            g.add_node(node_id, "Input", {"shape": shape})
            tensors[node_id] = Tensor(tuple(shape))

    def add(node_type: str, params: dict, sources: list[str]) -> str | None:
        """Adds the node when inference accepts it (and it stays small); its id, else None."""
        spec = REGISTRY[node_type]
        ins = [tensors[s] for s in sources]
        try:
            checked = {k: spec.param_map[k].check(v) for k, v in params.items()}
            if not spec.accepts_int and node_type != "Embedding" and any(t.dtype != "float32" for t in ins):
                return None
            out = spec.infer(spec.resolve(checked), ins)
        except (ShapeError, ValueError, KeyError, TypeError):
            return None
        if not 0 < _numel(out.shape) <= MAX_VALUES:
            return None
        node_id = next(ids)
        g.add_node(node_id, node_type, checked)
        for s in sources:
            g.connect(s, node_id)
        tensors[node_id] = out
        return node_id

    def lower_rank_partner(target: Tensor) -> str | None:
        """A branch ending in a rank-1 tensor that broadcasts with `target`: any float node, flattened,
        then a Linear to target's last size (or 1). The case where inference and torch once disagreed."""
        floats = [n for n, t in tensors.items() if t.dtype == "float32"]
        node = draw(st.sampled_from(floats)) if floats else None
        if node is not None and tensors[node].rank > 1:
            node = add("Flatten", {}, [node])
        width = draw(st.sampled_from([target.shape[-1], 1]))
        return add("Linear", {"out_features": width}, [node]) if node is not None else None

    wanted, attempts = draw(st.integers(1, max_nodes)), 0
    while len(g.nodes) - len(g.input_ids()) < wanted and attempts < 4 * max_nodes:
        attempts += 1
        spec = REGISTRY[draw(st.sampled_from(TYPES))]
        existing = list(tensors)
        first = draw(st.sampled_from(existing))
        sources = [first]
        if spec.multi_input:
            if spec.name in ("Add", "Multiply"):  # partners that broadcast with the first, of any rank
                others = [n for n in existing if n != first and _broadcastable(tensors[n].shape, tensors[first].shape)]
                if tensors[first].rank > 1 and draw(st.booleans()):
                    partner = lower_rank_partner(tensors[first])
                    others = [partner] if partner is not None else []
            else:
                others = [n for n in existing if n != first and tensors[n].rank == tensors[first].rank]
            if not others:
                continue
            sources += draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
        params = {p.name: param_value(draw, p) for p in spec.params if p.required or draw(st.booleans())}
        if spec.name == "Embedding":
            params["num_embeddings"] = max(params["num_embeddings"], VOCAB)
        add(spec.name, params, sources)
    consumers = g.successor_map()
    for node_id in [n for n in g.nodes if not consumers[n]]:
        out_id = next(ids)
        g.add_node(out_id, "Output")
        g.connect(node_id, out_id)
    return g


def _numel(shape: tuple[int, ...]) -> int:
    total = 1
    for d in shape:
        total *= d
    return total


def _inputs(graph: Graph, batch: int, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for node_id in graph.input_ids():
        p = graph.nodes[node_id].resolved()
        if p["dtype"] == "int64":
            out.append(torch.randint(0, VOCAB, (batch, *p["shape"]), generator=gen))
        else:
            out.append(torch.randn(batch, *p["shape"], generator=gen))
    return out


def _outputs(model: torch.nn.Module, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    with torch.no_grad():
        out = model(*inputs)
    return list(out) if isinstance(out, tuple) else [out]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph=graphs())
def test_each_sample_is_computed_alone_and_shapes_are_as_inferred(graph):
    report = check_graph(graph)
    assert not report.problems, report.problems
    torch.manual_seed(0)
    model = compile_graph(graph).eval()
    shapes = [report.shapes.shapes[o] for o in graph.output_ids()]
    batch = _inputs(graph, 5)
    alone = [_outputs(model, [x[i:i + 1] for x in batch]) for i in range(5)]
    for size in (1, 2, 3, 5):
        outs = _outputs(model, [x[:size] for x in batch])
        for out, shape, k in zip(outs, shapes, range(len(shapes))):
            assert tuple(out.shape) == (size, *shape), (model.source, size)
            for i in range(size):
                assert torch.allclose(out[i], alone[i][k][0], rtol=1e-4, atol=1e-5), (model.source, size, i)


# ids drawn to collide with what generated code names: arguments and their renamings, the flow variable
# candidates, module metadata and nn.Module attributes, names the code itself uses, builtins, neighbours
# of keywords, dunders, and the names the renamed graph uses
COLLIDING = ["input", "input_", "input__", "x", "x_", "h", "y", "z", "out", "out_", "self", "torch", "nn", "__",
             "source", "input_ids", "output_ids", "node_of_attr", "training", "forward", "cuda", "state_dict",
             "_modules", "__fc", "__init__", "__class__", "__dict__", "name", "param", "sum", "list", "super", "print",
             "len", "float", "class_", "def_", "type_", "match_", "lambda_", "True_", "None_", "n0", "n1", "n2",
             "B", "Prop", "fc", "fc_", "_x"]


def _relabel(graph: Graph, mapping: dict[str, str]) -> Graph:
    out = Graph(graph.name)
    for node_id, node in graph.nodes.items():
        out.add_node(mapping[node_id], node.type, dict(node.params))
    for target, sources in graph.inputs.items():
        for source in sources:
            out.connect(mapping[source], mapping[target])
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph=graphs(max_nodes=6), data=st.data())
def test_colliding_ids_compute_the_same_function_as_plain_ids(graph, data):
    names = data.draw(st.lists(st.sampled_from(COLLIDING), min_size=len(graph.nodes), max_size=len(graph.nodes),
                               unique=True))
    colliding = _relabel(graph, dict(zip(graph.nodes, names)))
    assert not check_graph(colliding).problems
    plain_model, model = compile_graph(graph).eval(), compile_graph(colliding).eval()
    to_plain = {name: node for node, name in zip(graph.nodes, names)}
    state = {}
    for key, value in model.state_dict().items():
        attr, rest = key.split(".", 1)
        state[f"{plain_model_attr(plain_model, to_plain[model.node_of_attr[attr]])}.{rest}"] = value
    plain_model.load_state_dict(state)
    inputs = _inputs(graph, 3, seed=1)
    for a, b in zip(_outputs(model, inputs), _outputs(plain_model, inputs)):
        assert torch.allclose(a, b, rtol=0, atol=0, equal_nan=True), model.source  # the same, NaN where NaN


def plain_model_attr(model: torch.nn.Module, node_id: str) -> str:
    return next(attr for attr, node in model.node_of_attr.items() if node == node_id)

