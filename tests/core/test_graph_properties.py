"""Properties of whole random graphs drawn from the layer registry.

- Batch independence: in eval mode, row i of a batch is the output of sample i alone, at batch sizes
  1, 2, 3 and 5, and the inferred output shape is the real one (merges of different ranks included).
- Names: ids drawn to collide with every name generated code uses (arguments, attributes, the flow
  variable, module metadata, builtins, keywords' neighbours, dunders) give a module computing the same
  function as the graph with its ids renamed n0..nk.
- Both hold for graphs with blocks: a random graph becomes a block's body (values as `$` parameters,
  sinks joined into one Output), used with `repeat` where its output fits its input, and nested in a
  second block; block names, parameter names and the ids inside are drawn to collide too.
"""
from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodetrainer.compiler import compile_graph
from nodetrainer.graph import Block, Graph
from nodetrainer.layers import REGISTRY, ShapeError, Tensor
from nodetrainer.validate import check_graph
from test_layers_property import param_value

TYPES = sorted(t for t in REGISTRY if t not in ("Input", "Output"))
MAX_VALUES = 4096  # per sample at any node: each example runs in milliseconds
VOCAB = 3  # token ids are drawn below this; every Embedding has at least this many rows


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(p == q or 1 in (p, q) for p, q in zip(reversed(a), reversed(b)))


@st.composite
def graphs(draw, max_nodes: int = 7, one_output: bool = False) -> Graph:
    """A valid graph: 1-2 Inputs, up to `max_nodes` layers each fed by earlier nodes, an Output per sink.
    Ids are n0, n1, ... in file order. With `one_output`: one float Input, and the sinks joined into one
    Output (each flattened and narrowed to one feature, then concatenated)."""
    g = Graph("prop")
    tensors: dict[str, Tensor] = {}
    ids = (f"n{i}" for i in range(1000))
    for _ in range(1 if one_output else draw(st.integers(1, 2))):
        rank = draw(st.integers(1, 3))
        node_id = next(ids)
        if not one_output and draw(st.integers(0, 5)) == 0:  # token ids
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
    sinks = [n for n in g.nodes if not consumers[n]]
    if one_output and len(sinks) > 1:
        narrowed = []
        for node in sinks:
            flat = add("Flatten", {}, [node]) if tensors[node].rank > 1 else node
            narrowed.append(add("Linear", {"out_features": 1}, [flat]))
        sinks = [add("Concat", {}, narrowed)]
    for node_id in sinks:
        out_id = next(ids)
        g.add_node(out_id, "Output")
        g.connect(node_id, out_id)
    return g


SIZES = ("out_features", "out_channels", "hidden_size", "p", "negative_slope", "kernel_size", "bias")


@st.composite
def block_graphs(draw) -> Graph:
    """A graph of one Input, a use of block `blk` (or of block `outer`, whose body uses `blk`) and an
    Output. `blk`'s body is a random graph whose sizes and some other values are `$` parameters (ids
    p0, p1, ...); the use gives some of them (the same values: the block stays valid) and repeats the
    block when its output has its input's shape."""
    inner = draw(graphs(max_nodes=5, one_output=True))
    body = Graph("blk")
    params: dict[str, object] = {}
    for node_id, node in inner.nodes.items():
        values = {} if node.type == "Input" else dict(node.params)
        for key, value in list(values.items()):
            if key in SIZES and draw(st.booleans()):
                name = f"p{len(params)}"
                params[name] = value
                values[key] = f"${name}"
        body.add_node(node_id, node.type, values)
    body.inputs = {n: list(s) for n, s in inner.inputs.items()}
    g = Graph("prop")
    g.add_block(Block("blk", params, body))
    [input_id] = inner.input_ids()
    shape = inner.nodes[input_id].params["shape"]
    report = check_graph(inner)
    fits = report.shapes.shapes[inner.output_ids()[0]] == tuple(shape)
    given = {k: v for k, v in params.items() if draw(st.booleans())}
    repeat = draw(st.integers(1, 3)) if fits else 1
    if repeat > 1:
        given["repeat"] = repeat
    nested = draw(st.booleans())
    g.add_node("n_in", "Input", {"shape": shape})
    if nested:
        outer = Graph("outer")
        g.add_block(Block("outer", {"q0": repeat}, outer))
        outer.add_node("x", "Input")
        outer.add_node("inner", "blk", {**given, **({"repeat": "$q0"} if repeat > 1 else {})})
        outer.add_node("y", "Output")
        outer.connect("x", "inner")
        outer.connect("inner", "y")
        g.add_node("use", "outer")
    else:
        g.add_node("use", "blk", given)
    g.add_node("n_out", "Output")
    g.connect("n_in", "use")
    g.connect("use", "n_out")
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
    assert_each_sample_alone(graph)


def assert_each_sample_alone(graph: Graph) -> None:
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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph=block_graphs())
def test_with_blocks_each_sample_is_computed_alone_and_shapes_are_as_inferred(graph):
    assert_each_sample_alone(graph)


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



# names for blocks and their parameters that collide with what a block's class names: its arguments
# (parameters, input sizes), the network's class, module-level names, and the ids inside
BLOCK_NAMES = ["Prop", "prop", "blk", "model", "outputs", "torch", "nn", "super", "Blk", "x", "input", "self_"]
PARAM_NAMES = ["input", "x", "nn", "torch", "name", "param", "super", "in_features", "in_channels", "features",
               "channels", "Blk", "Outer", "Prop", "_", "n0", "self", "print", "width", "out"]


def _relabel_blocks(graph: Graph, ids, blocks, params) -> Graph:
    """`graph` with every id (top level and inside blocks), block name and parameter name replaced."""
    block_name = dict(zip(graph.blocks, blocks))
    out = Graph(graph.name)

    param_name = {name: dict(zip(block.params, params)) for name, block in graph.blocks.items()}

    def copy_nodes(source: Graph, target: Graph, rename: dict, refs: dict) -> None:
        """Nodes and edges of `source` into `target`: ids renamed, a use's keys renamed as its block's
        parameters are, `$` values renamed as the enclosing block's parameters are."""
        for node_id, node in source.nodes.items():
            values = {}
            for key, value in node.params.items():
                key = param_name.get(node.type, {}).get(key, key)
                if isinstance(value, str) and value.startswith("$"):
                    value = "$" + refs[value[1:]]
                values[key] = value
            target.add_node(rename[node_id], block_name.get(node.type, node.type), values)
        for target_id, sources in source.inputs.items():
            for s in sources:
                target.connect(rename[s], rename[target_id])

    for name, block in graph.blocks.items():
        names = param_name[name]
        body = Graph(block_name[name])
        out.add_block(Block(block_name[name], {names[k]: v for k, v in block.params.items()}, body))
        copy_nodes(block.body, body, dict(zip(block.body.nodes, ids)), names)
    copy_nodes(graph, out, dict(zip(graph.nodes, ids[::-1])), {})
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph=block_graphs(), data=st.data())
def test_colliding_names_in_blocks_compute_the_same_function(graph, data):
    most = max([len(graph.nodes)] + [len(b.body.nodes) for b in graph.blocks.values()])
    ids = data.draw(st.lists(st.sampled_from(COLLIDING), min_size=most, max_size=most, unique=True))
    blocks = data.draw(st.lists(st.sampled_from(BLOCK_NAMES), min_size=len(graph.blocks),
                                max_size=len(graph.blocks), unique=True))
    most_params = max(len(b.params) for b in graph.blocks.values())
    params = data.draw(st.lists(st.sampled_from(PARAM_NAMES), min_size=most_params, max_size=most_params,
                                unique=True))
    colliding = _relabel_blocks(graph, ids, blocks, params)
    assert not check_graph(colliding).problems, check_graph(colliding).problems
    plain_model, model = compile_graph(graph).eval(), compile_graph(colliding).eval()
    ours, theirs = model.state_dict(), plain_model.state_dict()
    assert [v.shape for v in ours.values()] == [v.shape for v in theirs.values()], model.source
    plain_model.load_state_dict(dict(zip(theirs, ours.values())))
    inputs = _inputs(graph, 3, seed=1)
    for a, b in zip(_outputs(model, inputs), _outputs(plain_model, inputs)):
        assert torch.allclose(a, b, rtol=0, atol=0, equal_nan=True), model.source
