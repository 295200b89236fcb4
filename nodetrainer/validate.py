"""The one validation path: structure, parameters, shapes and settings.

`nodetrainer check`, the editor's badges and the training pre-flight all call
`check_graph`, so they always agree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


from .blocks import block_order, cycle_text, is_reference, reference_problem, substitute
from .errors import GraphError, Problem, did_you_mean, suggestion_budget
from .graph import Graph, Node
from .layers import REGISTRY, Tensor, fmt_shape
from .schema import check_mapping
from .settings import parse_data, parse_training, parse_tune
from .shapes import ShapeResult, infer_shapes


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    shapes: ShapeResult = field(default_factory=ShapeResult)
    order: list[str] = field(default_factory=list)  # topological order; empty when there is a cycle

    @property
    def ok(self) -> bool:
        return not self.problems


MAX_PARAMS = 2**32  # weights of one network: 16 GiB as float32, far beyond what trains on one device here
MAX_VALUES = 2**31  # values in one sample's tensor at any node (torch indexes many kernels with int32)


def check_graph(graph: Graph) -> Report:
    """Every problem of `graph`, plus the shapes inferred on the way."""
    with suggestion_budget():
        return _check(graph)


def _check(graph: Graph) -> Report:
    report = Report()
    add = report.problems.append
    for node in graph.nodes.values():
        _node_problems(graph, node, add)
    _check_blocks(graph, add)
    report.order = _structure(graph, add)
    if report.order:
        report.shapes = infer_shapes(graph, report.order)
        report.problems += report.shapes.problems
        report.problems += _size_problems(graph, report)

    _check_settings(graph, add)
    report.problems = _unique(report.problems)
    return report


def _node_problems(graph: Graph, node: Node, add) -> None:
    """A node's type and values; in a block's body, `$name` values must name a parameter of the block
    (they are checked after substitution, where the block is used) and an Input takes no values."""
    spec = graph.spec_of(node)
    if spec is None:
        add(graph.problem(f"unknown node type {node.type!r}{did_you_mean(node.type, list(REGISTRY) + list(graph.blocks))}",
                          node.id))
        return
    refs: tuple[str, ...] = ()
    if graph.owner is not None:
        block = graph.owner.blocks.get(graph.block_name)
        if node.type == "Input":
            for key in node.params:
                add(graph.problem(f"a block's Input takes the caller's tensor: remove '{key}'", node.id,
                                  "nodes", node.id, key))
            return
        refs = tuple(k for k, v in node.params.items() if is_reference(v))
        for key in refs:
            why = reference_problem(node.params[key], block) if block is not None else None
            if why:
                add(graph.problem(why, node.id, "nodes", node.id, key))
    _, errors = check_mapping(node.params, spec.param_map, node.type, skip=refs)
    for key, message in errors:
        add(graph.problem(message, node.id, *(("nodes", node.id, key) if key else ())))


def _structure(graph: Graph, add) -> list[str]:
    """Inputs, Outputs, cycles and reachability; the topological order (empty with a cycle)."""
    inputs, outputs = graph.input_ids(), graph.output_ids()
    in_block = graph.owner is not None
    if not inputs:
        add(graph.problem(f"block {graph.block_name} has no Input; add one: it takes the caller's tensor" if in_block
                          else "the graph has no Input node; add one and set its shape to one sample's shape, "
                               "e.g. 1, 8, 8"))
    if not outputs:
        add(graph.problem(f"block {graph.block_name} has no Output; add one after the node whose value the block "
                          "gives" if in_block else
                          "the graph has no Output node; add one after the layer that makes the prediction"))
    elif in_block and len(outputs) > 1:
        add(graph.problem(f"a block gives one value: block {graph.block_name} has {len(outputs)} Outputs "
                          f"({', '.join(outputs)}); keep one", outputs[1]))
    order: list[str] = []
    try:
        order = graph.topological_order()
    except GraphError:
        import networkx as nx  # only for a cycle's path (a lazy import keeps start-up short)
        cycle = [u for u, _, _ in nx.find_cycle(graph.nx_graph())]
        first = min(cycle, key=list(graph.nodes).index)
        i = cycle.index(first)
        path = cycle[i:] + cycle[:i] + [first]
        add(graph.problem(f"the graph has a cycle: {' -> '.join(path)}", first))

    if order:
        consumers = graph.successor_map()
        from_input = _reach(inputs, consumers)
        to_output = _reach(outputs, graph.inputs)
        # report only where a break starts, so one missing edge gives one message
        for node_id, node in graph.nodes.items():
            if node_id not in from_input and node.type != "Input" and not graph.inputs.get(node_id):
                add(graph.problem(f"{node_id} has no input; connect it to an Input through an edge", node_id))
            elif (node_id not in to_output and node.type != "Output" and outputs
                  and not consumers[node_id]):
                add(graph.problem(f"{node_id} does not lead to any Output; connect it or delete it", node_id))
    return order


def _check_blocks(graph: Graph, add) -> None:
    """Every block's definition, once: a cycle of block types, its body's nodes and structure, and its
    defaults where the body uses them."""
    if not graph.blocks:
        return
    _, cyclic = block_order(graph)
    for name in cyclic:
        add(Problem(f"block {name} uses itself: {cycle_text(graph, name)}; a block may use other blocks, "
                    "never itself", str(graph.path) if graph.path else None, graph.line_of("blocks", name), None, name))
    for name, block in graph.blocks.items():
        body = block.body
        for node in body.nodes.values():
            _node_problems(body, node, add)
        _structure(body, add)
        for node in body.nodes.values():
            spec = body.spec_of(node)
            for key, value in node.params.items():
                if not is_reference(value) or spec is None or key not in spec.param_map:
                    continue
                concrete = substitute(value, block.params)
                if is_reference(concrete):
                    continue  # names no parameter: reported above
                try:
                    spec.param_map[key].check(concrete)
                except ValueError as exc:
                    ref = value[1:] if isinstance(value, str) else next(v[1:] for v in value if is_reference(v))
                    add(body.problem(f"{exc} (the default of ${ref})", node.id, "params", ref))


def _size_problems(graph: Graph, report: Report) -> list[Problem]:
    """A network too big to build is a problem before anything is allocated: a tensor of more than
    MAX_VALUES values per sample, or more than MAX_PARAMS weights in all (reported on the largest node)."""
    problems, params = [], {}
    tensors = report.shapes.tensors
    for node_id in report.order:
        tensor = tensors.get(node_id)
        if tensor is None:
            continue
        where, largest = _largest(report.shapes, node_id, {})
        values = math.prod(largest.shape)
        if values > MAX_VALUES:
            problems.append(Problem(
                f"{where}'s output {fmt_shape(largest.shape)} holds {values:,} values per sample; at most "
                f"{MAX_VALUES:,} fit: make the layers before it smaller", str(graph.path) if graph.path else None,
                graph.line_of("nodes", node_id), where))
        params[node_id] = report.shapes.cost(node_id).params
    total = sum(params.values())
    if total > MAX_PARAMS:
        largest = max(params, key=params.get)
        problems.append(graph.problem(
            f"the network would hold {total:,} weights ({total * 4 / 2**30:,.0f} GiB as float32), {params[largest]:,} "
            f"of them in {largest}; at most {MAX_PARAMS:,} fit: make {largest} smaller", largest))
    return problems


def _largest(result: ShapeResult, node_id: str, seen: dict) -> tuple[str, Tensor]:
    """The node (its path) with the largest output inside `node_id` (itself for a plain node), and its
    output; `seen` shares the answer for instances met before (copies, other uses)."""
    key = (id(result), node_id)
    if key not in seen:
        best = (node_id, result.tensors[node_id])
        copies = result.inner.get(node_id, [])
        for i, instance in enumerate(copies):
            label = node_id if len(copies) == 1 else f"{node_id}[{i}]"
            for inner_id in instance.tensors:
                path, tensor = _largest(instance, inner_id, seen)
                if math.prod(tensor.shape) > math.prod(best[1].shape):
                    best = (f"{label}/{path}", tensor)
        seen[key] = best
    return seen[key]


def _reach(starts: list[str], links: dict[str, list[str]]) -> set[str]:
    """Every node reachable from `starts` along `links` (consumers: downstream; inputs: upstream)."""
    seen, stack = set(starts), list(starts)
    while stack:
        for other in links.get(stack.pop(), ()):
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return seen


def validate(graph: Graph) -> list[Problem]:
    """Every problem of `graph` (empty when it is valid)."""
    return check_graph(graph).problems


def check_settings(graph: Graph) -> list[Problem]:
    """The problems of the data, training and tune sections alone (a graph with no nodes yet)."""
    problems: list[Problem] = []
    _check_settings(graph, problems.append)
    return _unique(problems)


def _check_settings(graph: Graph, add) -> None:
    for section, parse in (("data", parse_data), ("training", parse_training), ("tune", parse_tune)):
        value = getattr(graph, section)
        if value is not None:
            for path, message in parse(value)[1]:
                add(graph.problem(message, None, *path))
    if isinstance(graph.data, dict):
        _check_data_inputs(graph, graph.data, add)
    training = graph.training or {}
    outputs = graph.output_ids()
    output = training.get("output") if isinstance(training, dict) else None
    if isinstance(output, str) and output not in outputs:
        add(graph.problem(f"training.output '{output}' is not an Output node{did_you_mean(output, outputs)}; "
                          f"Output nodes: {', '.join(outputs) or 'none'}", None, "training", "output"))
    elif output is None and len(outputs) > 1 and graph.training is not None:
        add(graph.problem(f"the graph has several Output nodes ({', '.join(outputs)}); set training.output to the "
                          f"one the loss applies to", None, "training"))
    tune = graph.tune
    if isinstance(tune, dict) and isinstance(tune.get("space"), dict):
        for key in tune["space"]:
            message = _tune_path_problem(graph, str(key))
            if message:
                add(graph.problem(message, None, "tune", "space", key))


def _check_data_inputs(graph: Graph, data: dict, add) -> None:
    """data.inputs names Input nodes and, with several Inputs, is there; data.augment needs an image Input.
    (Columns and arrays are checked against the data when it is loaded.)"""
    inputs = graph.input_ids()
    mapping = data.get("inputs")
    if isinstance(mapping, dict):
        for key in mapping:
            key = str(key)
            if key in inputs:
                continue
            if key in graph.nodes:
                why = f"inputs.{key}: {key} is a {graph.nodes[key].type} node, not an Input"
            else:
                why = f"inputs.{key}: no Input node {key}{did_you_mean(key, inputs)}"
            add(graph.problem(f"{why}; Inputs: {', '.join(inputs) or 'none'}", None, "data", "inputs", key))
        for input_id in inputs:
            if input_id not in {str(k) for k in mapping}:
                add(graph.problem(f"data.inputs gives Input {input_id} no part of a sample; map it to its columns "
                                  f"or NPZ array", input_id, "data", "inputs"))
    elif mapping is None and len(inputs) > 1:
        add(graph.problem(f"the graph has {len(inputs)} Inputs ({', '.join(inputs)}); set data.inputs to map each "
                          f"to its part of a sample (CSV columns or NPZ arrays)", None, "data"))
    augment = data.get("augment")
    if isinstance(augment, dict) and augment and inputs:
        shapes = [graph.resolved(i).get("shape") for i in inputs]
        if not any(isinstance(s, (list, tuple)) and len(s) == 3 for s in shapes):
            add(graph.problem("data.augment changes images, but no Input is image-shaped [channels, height, width]; "
                              "remove augment or use image data", None, "data", "augment"))


def _tune_path_problem(graph: Graph, key: str) -> str | None:
    from .paths import HEADS, path_problem
    from .settings import DATA_PARAMS, OPTIMIZER_PARAMS, SCHEDULER_PARAMS, TRAINING_PARAMS
    parts = key.split(".")
    if parts[0] in HEADS:
        problem = path_problem(graph, key)
        return f"tune path {problem}" if problem else None
    known = {"training": TRAINING_PARAMS, "data": DATA_PARAMS}
    if parts[0] not in known or len(parts) < 2 or parts[1] not in known[parts[0]]:
        return f"tune path '{key}' must start with nodes., blocks., training. or data. and name an existing setting"
    if len(parts) == 3 and parts[1] in ("optimizer", "scheduler"):
        params = OPTIMIZER_PARAMS if parts[1] == "optimizer" else SCHEDULER_PARAMS
        if parts[2] not in params:
            return f"tune path '{key}': unknown {parts[1]} setting '{parts[2]}'{did_you_mean(parts[2], params)}"
    return None


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.line, p.node, p.block, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
