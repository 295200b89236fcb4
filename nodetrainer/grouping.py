"""Group a selection into a block, and ungroup a use of a block back into its nodes (Qt-free plans).

`group_plan` turns a set of nodes into a new block: each value the selection
takes from outside becomes one of the block's Inputs (in the order the
selection first uses them), the one value it gives back becomes its Output, and
one node using the block takes the selection's place. `ungroup_plan` does the
reverse for one use: the block's nodes come back with the use's values
substituted for `$name` (every copy of a repeat, chained), wired as the use was.
The editor applies a plan as one undoable step of ordinary commands.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .blocks import substitute
from .errors import GraphError
from .graph import Block, Graph, block_name_problem

X_GAP = 220.0


@dataclass
class GroupPlan:
    block: Block
    use: str  # id of the new node using the block (its values: `$name` for each parameter the block passes on)
    position: tuple[float, float] | None
    sources: list[str]  # outside nodes feeding the block's Inputs, in order
    consumers: list[tuple[str, int]]  # outside nodes fed by the block's value: (id, index among its inputs)
    removed: list[str]  # the grouped nodes, in file order
    index: int = 0  # where the use goes in file order: where the first grouped node was


@dataclass
class UngroupPlan:
    use: str
    nodes: list[tuple[str, str, dict[str, Any], tuple[float, float] | None]] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)  # in the order to connect them
    outputs: list[tuple[str, str, int]] = field(default_factory=list)  # (source, consumer, index among its inputs)
    block_unused: bool = False


def unused_block_name(graph: Graph, base: str = "block") -> str:
    owner = graph.owner or graph
    name, k = base, 2
    while block_name_problem(name, owner) is not None:
        name, k = f"{base}{k}", k + 1
    return name


def group_plan(graph: Graph, ids: list[str], name: str | None = None) -> GroupPlan:
    """The block the nodes `ids` of `graph` become; GraphError saying why when they cannot."""
    chosen = [n for n in graph.nodes if n in set(ids)]
    if not chosen:
        raise GraphError("select the nodes to group into a block")
    io = [n for n in chosen if graph.nodes[n].type in ("Input", "Output")]
    if io:
        raise GraphError(f"{io[0]} is an {graph.nodes[io[0]].type} of the graph; group the layers between them")
    inside = set(chosen)
    sources: list[str] = []
    for n in chosen:
        for s in graph.inputs.get(n, []):
            if s not in inside and s not in sources:
                sources.append(s)
    consumers = graph.successor_map()
    leaving = [n for n in chosen if any(c not in inside for c in consumers[n])]
    if not sources:
        raise GraphError("the selection takes no value from outside; a block needs an input")
    if len(leaving) != 1:
        what = ", ".join(leaving) if leaving else "none"
        raise GraphError(f"a block gives one value: the selection gives {len(leaving)} to the rest of the graph "
                         f"({what})")
    owner = graph.owner or graph
    name = name or unused_block_name(graph)
    problem = block_name_problem(name, owner)
    if problem:
        raise GraphError(problem)
    exit_node = leaving[0]
    body = Graph(name)
    positions = [graph.layout[n] for n in chosen if n in graph.layout]
    left = min((p[0] for p in positions), default=0.0)
    top = min((p[1] for p in positions), default=0.0)
    right = max((p[0] for p in positions), default=0.0)
    input_of = {}
    for k, source in enumerate(sources):
        input_id = "x" if k == 0 else f"x{k + 1}"
        while input_id in inside:
            input_id += "_"
        input_of[source] = input_id
        body.nodes[input_id] = _node(input_id, "Input", {})
        body.inputs[input_id] = []
        body.layout[input_id] = (0.0, top - top + k * 120.0)
    for n in chosen:
        node = graph.nodes[n]
        body.nodes[n] = _node(n, node.type, dict(node.params))
        body.inputs[n] = [input_of.get(s, s) for s in graph.inputs.get(n, [])]
        if n in graph.layout:
            x, y = graph.layout[n]
            body.layout[n] = (x - left + X_GAP, y - top)
    out_id = "out"
    while out_id in body.nodes:
        out_id += "_"
    body.nodes[out_id] = _node(out_id, "Output", {})
    body.inputs[out_id] = [exit_node]
    body.layout[out_id] = (right - left + 2 * X_GAP, graph.layout.get(exit_node, (0.0, top))[1] - top)
    # values that name a parameter of the block the selection is in pass through the new block's own
    from .blocks import references
    outer = owner.blocks.get(graph.block_name) if graph.owner is not None else None
    names = [r for n in chosen for v in graph.nodes[n].params.values() for r in references(v)]
    params = {r: outer.params[r] for r in dict.fromkeys(names) if outer is not None and r in outer.params}
    block = Block(name, params, body)
    use_id = graph.unused_id(name if name not in graph.nodes else name + "1")
    outside = [(c, graph.inputs[c].index(exit_node)) for c in consumers[exit_node] if c not in inside]
    return GroupPlan(block, use_id, graph.layout.get(chosen[0]), sources, outside, chosen,
                     list(graph.nodes).index(chosen[0]))


def use_values(plan: GroupPlan) -> dict[str, Any]:
    """The new use's values: each parameter the block passes on, from the enclosing block's."""
    return {name: f"${name}" for name in plan.block.params}


def ungroup_plan(graph: Graph, use_id: str) -> UngroupPlan:
    """The nodes and edges that replace the use `use_id` of a block in `graph`."""
    node = graph.nodes.get(use_id)
    owner = graph.owner or graph
    if node is None or node.type not in owner.blocks:
        raise GraphError(f"{use_id} is not a use of a block")
    block = owner.blocks[node.type]
    body = block.body
    env = {**block.params, **{k: v for k, v in node.params.items() if k != "repeat"}}
    repeat = node.params.get("repeat", 1)
    plan = UngroupPlan(use_id)
    taken = set(graph.nodes) - {use_id}
    origin = graph.layout.get(use_id, (0.0, 0.0))
    positions = [body.layout[n] for n in body.nodes if n in body.layout and body.nodes[n].type not in ("Input", "Output")]
    left = min((p[0] for p in positions), default=0.0)
    top = min((p[1] for p in positions), default=0.0)
    width = max((p[0] for p in positions), default=0.0) - left + X_GAP
    feeding = list(graph.inputs.get(use_id, []))  # the values entering the first copy
    inputs = body.input_ids()
    last = None
    for copy in range(repeat):
        rename: dict[str, str] = {}
        for inner_id, inner in body.nodes.items():
            if inner.type in ("Input", "Output"):
                continue
            base = f"{use_id}_{inner_id}" if repeat == 1 else f"{use_id}_{copy}_{inner_id}"
            new, k = base, 2
            while new in taken:
                new, k = f"{base}{k}", k + 1
            taken.add(new)
            rename[inner_id] = new
            values = {k: substitute(v, env) for k, v in inner.params.items()}
            position = None
            if inner_id in body.layout:
                x, y = body.layout[inner_id]
                position = (origin[0] + copy * width + x - left, origin[1] + y - top)
            plan.nodes.append((new, inner.type, _without_defaults(owner, inner.type, values), position))
        for inner_id in rename:
            for source in body.inputs.get(inner_id, []):
                if source in inputs:
                    value = feeding[inputs.index(source)] if copy == 0 else last
                    plan.edges.append((value, rename[inner_id]))
                else:
                    plan.edges.append((rename[source], rename[inner_id]))
        out = body.output_ids()[0]
        exit_value = body.inputs[out][0]
        last = rename.get(exit_value) or (feeding[inputs.index(exit_value)] if copy == 0 else last)
    consumers = graph.successor_map()[use_id]
    plan.outputs = [(last, c, graph.inputs[c].index(use_id)) for c in consumers]
    uses = [n for g in [owner] + [b.body for b in owner.blocks.values()] for n in g.uses_of(block.name)]
    plan.block_unused = len(uses) == 1
    return plan


def _without_defaults(graph: Graph, node_type: str, values: dict[str, Any]) -> dict[str, Any]:
    from .layers.base import _same
    spec = graph.spec_of(node_type)
    if spec is None:
        return values
    return {k: v for k, v in values.items()
            if k not in spec.param_map or spec.param_map[k].required or not _same(spec.param_map[k].default, v)}


def _node(node_id: str, node_type: str, params: dict[str, Any]):
    from .graph import Node
    return Node(node_id, node_type, params)
