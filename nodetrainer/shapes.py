"""Whole-graph shape inference: each node's output tensor, and the problems found on the way.

Inference walks the graph in topological order. A node whose input cannot be
inferred (a broken upstream node) is skipped silently, so each mistake is
reported once, on the node that cannot accept its input.

A use of a block is inferred through the block's body, with the block's
parameters substituted for `$name` and the caller's tensors as the body's
Inputs; `repeat` chains copies. Each distinct instance (block, values, input
shapes) is inferred once and shared, so deep nesting and long repeats cost no
more than their distinct instances. A problem inside an instance is located at
the inner node's line and named by its path (`layer2_0/conv1`,
`stage[1]/conv1` for the second copy); a value a use gives that does not fit
where the body uses it is located at the use's line.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .blocks import MAX_EXPANDED, is_reference, param_uses, substitute
from .errors import Problem
from .graph import Graph, Node
from .layers import Cost, LayerType, ShapeError, Tensor

Shape = tuple[int, ...]


@dataclass(eq=False)
class ShapeResult:
    """The outputs of one graph, or of one instance of a block (then `env` holds the block's values and
    `given` the caller's tensors). `params` holds each inferred node's values with defaults filled in
    (after substitution); `inner` each use of a block's instances, one per copy."""

    tensors: dict[str, Tensor] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    inner: dict[str, list["ShapeResult"]] = field(default_factory=dict)
    graph: Graph | None = None
    env: dict[str, Any] | None = None
    given: tuple[Tensor, ...] = ()
    output: Tensor | None = None  # an instance's one Output
    _costs: dict[str, Cost] = field(default_factory=dict, repr=False)
    _total: Cost | None = field(default=None, repr=False)

    @property
    def shapes(self) -> dict[str, Shape]:
        return {k: t.shape for k, t in self.tensors.items()}

    def cost(self, node_id: str) -> Cost:
        """Parameters and multiply-adds of one inferred node: a block's summed over its copies' nodes."""
        if node_id not in self._costs:
            self._costs[node_id] = self._cost(node_id)
        return self._costs[node_id]

    def _cost(self, node_id: str) -> Cost:
        graph = self.graph
        node = graph.nodes[node_id]
        spec = graph.spec_of(node)
        if spec is None or node_id not in self.tensors:
            return Cost()
        if spec.extra.get("block"):
            copies = [c.total() for c in self.inner.get(node_id, [])]
            return Cost(sum(c.params for c in copies), sum(c.macs for c in copies))
        ins = [self.tensors[s] for s in graph.inputs.get(node_id, []) if s in self.tensors]
        return spec.cost(self.params[node_id], ins, self.tensors[node_id]) if ins else Cost()

    def total(self) -> Cost:
        if self._total is None:
            costs = [self.cost(n) for n in self.tensors]
            self._total = Cost(sum(c.params for c in costs), sum(c.macs for c in costs))
        return self._total

    def first_instance(self, block: str, seen: set[int] | None = None) -> "ShapeResult | None":
        """The first instance of `block` anywhere inside (depth first), or None when it is not used."""
        seen = set() if seen is None else seen
        for copies in self.inner.values():
            for instance in copies:
                if id(instance) in seen:
                    continue
                seen.add(id(instance))
                if instance.graph is not None and instance.graph.block_name == block:
                    return instance
                found = instance.first_instance(block, seen)
                if found is not None:
                    return found
        return None

    def instance(self, path: tuple[str, ...] | list[str]) -> "ShapeResult | None":
        """The instance a path of use ids leads to (`('layer2_0',)`, `('stage[1]', 'inner')`; a use
        without a copy number means its first copy), or None."""
        result: ShapeResult | None = self
        for part in path:
            node_id, _, rest = part.partition("[")
            copies = result.inner.get(node_id) if result is not None else None
            index = int(rest.rstrip("]")) if rest else 0
            if not copies or index >= len(copies):
                return None
            result = copies[index]
        return result


def infer_shapes(graph: Graph, order: list[str] | None = None) -> ShapeResult:
    """Infer every node's output. `order` is a topological order (computed when not given);
    a graph with a cycle gets no shapes and no problems here (the validator reports the cycle)."""
    if order is None:
        try:
            order = graph.topological_order()
        except Exception:
            return ShapeResult(graph=graph)
    inference = Inference(graph)
    result = inference.run(graph, order)
    if inference.over_budget:
        result.problems.append(graph.problem(
            f"the blocks expand to more than {MAX_EXPANDED:,} nodes (each copy of a repeat counts); "
            "use fewer repeats or smaller blocks", None, "blocks"))
    return result


class Inference:
    """One inference over a file: memoizes block instances and bounds how far blocks may expand.
    With `symbolic`, values are not checked and instances are not shared (the code generator passes
    symbolic values through to see which constructor arguments they become)."""

    def __init__(self, owner: Graph, symbolic: bool = False) -> None:
        self.owner = owner
        self.symbolic = symbolic
        self.memo: dict[tuple, ShapeResult] = {}
        self.orders: dict[str, list[str] | None] = {}
        self.expanded = 0
        self.over_budget = False

    # -- one graph or instance ----------------------------------------------------------------
    def run(self, graph: Graph, order: list[str], env: dict[str, Any] | None = None,
            given: list[Tensor] | None = None) -> ShapeResult:
        result = ShapeResult(graph=graph, env=env, given=tuple(given or ()))
        input_index = {n: i for i, n in enumerate(graph.input_ids())}
        for node_id in order:
            node = graph.nodes[node_id]
            spec = graph.spec_of(node)
            if spec is None:
                continue
            params = self._params(graph, node, spec, env)
            if params is None:
                continue
            if node.type == "Input" and given is not None:
                index = input_index[node_id]
                if index < len(given):
                    result.tensors[node_id] = replace(given[index], source=node_id)
                    result.params[node_id] = params
                continue
            sources = graph.inputs.get(node_id, [])
            if any(s not in result.tensors for s in sources):
                continue
            if len(sources) < spec.min_inputs:
                if spec.min_inputs > 1:  # a missing single input is reported as unreachable by the validator
                    result.problems.append(self._problem(graph, f"{node.type} needs at least {spec.min_inputs} "
                                                                f"inputs, got {len(sources)}", node_id))
                continue
            ins = [result.tensors[s] for s in sources]
            if not spec.accepts_int and spec.min_inputs and any(t.dtype != "float32" for t in ins) \
                    and node.type != "Embedding":
                bad = next(t for t in ins if t.dtype != "float32")
                result.problems.append(self._problem(
                    graph, f"{node.type} needs float input, but {bad.source} gives int64 token ids; "
                           "put an Embedding first", node_id))
                continue
            if spec.extra.get("block"):
                out = self._use(graph, node_id, params, ins, result)
                if out is None:
                    continue
            else:
                try:
                    out = spec.infer(params, ins)
                except ShapeError as exc:
                    result.problems.append(self._problem(graph, str(exc), node_id))
                    continue
                except (KeyError, TypeError):
                    continue  # missing required parameter: reported by the reader
            result.tensors[node_id] = replace(out, source=node_id)
            result.params[node_id] = params
        outputs = graph.output_ids()
        if len(outputs) == 1:
            result.output = result.tensors.get(outputs[0])
        return result

    def _params(self, graph: Graph, node: Node, spec: LayerType, env: dict[str, Any] | None) -> dict | None:
        """The node's values with defaults filled in; in an instance, with `$name` substituted (None when a
        substituted value does not fit: reported where that value is given)."""
        if env is None:
            return spec.resolve(node.params)
        values = {}
        for key, value in node.params.items():
            if is_reference(value):
                value = substitute(value, env)
                param = spec.param_map.get(key)
                if param is None or is_reference(value):
                    return None
                if not self.symbolic:
                    try:
                        value = param.check(value)
                    except ValueError:
                        return None
            values[key] = value
        return spec.resolve(values)

    @staticmethod
    def _problem(graph: Graph, message: str, node_id: str, *path: Any) -> Problem:
        """A problem at a node: in a body, located at the node's line and named by its id alone (the use
        that led there puts its path in front)."""
        problem = graph.problem(message, node_id, *path)
        return replace(problem, block=None) if graph.owner is not None else problem

    # -- uses of blocks ---------------------------------------------------------------------------
    def _use(self, graph: Graph, node_id: str, params: dict[str, Any], ins: list[Tensor],
             result: ShapeResult) -> Tensor | None:
        block = graph.blocks[graph.nodes[node_id].type]
        env = {k: params[k] for k in block.params}
        repeat = params.get("repeat", 1)
        if not self.symbolic:
            result.problems += self._given_values(graph, node_id, block, env)
        if repeat > 1 and len(ins) != 1:
            result.problems.append(self._problem(graph, f"repeat chains copies, each fed by the one before: block "
                                                        f"{block.name} has {len(ins)} Inputs, it needs one",
                                                 node_id, "nodes", node_id, "repeat"))
            return None
        copies: list[ShapeResult] = []
        tensors, out = list(ins), None
        for i in range(repeat):
            instance = self.instance(block.name, env, tensors)
            if instance is None:
                return None
            if not any(instance is c for c in copies):
                label = node_id if repeat == 1 else f"{node_id}[{i}]"
                result.problems += [_inside(p, label, graph) for p in instance.problems]
            copies.append(instance)
            out = instance.output
            if out is None:
                result.inner[node_id] = copies
                return None
            tensors = [out]
        result.inner[node_id] = copies
        return out

    def _given_values(self, graph: Graph, node_id: str, block, env: dict[str, Any]) -> list[Problem]:
        """Each value a use gives, checked where the block's body uses it (located at the use's line)."""
        problems = []
        given = graph.nodes[node_id].params
        for name, places in param_uses(block).items():
            if name not in given or is_reference(given[name]):
                continue
            for place in places:
                inner_id, key = place.split(".", 1)
                inner = block.body.nodes[inner_id]
                spec = block.body.spec_of(inner)
                param = spec.param_map.get(key) if spec else None
                if param is None:
                    continue
                try:
                    param.check(substitute(inner.params[key], env))
                except ValueError as exc:
                    problems.append(replace(self._problem(graph, f"{exc} (from {name})", node_id, "nodes", node_id, name),
                                            node=f"{node_id}/{inner_id}"))
        return problems

    def instance(self, name: str, env: dict[str, Any], ins: list[Tensor]) -> ShapeResult | None:
        """One instance of block `name`: its body inferred with `env` and `ins` (shared when seen before)."""
        block = self.owner.blocks.get(name)
        if block is None:
            return None
        key = None if self.symbolic else instance_key(name, env, ins)
        if key is not None and key in self.memo:
            return self.memo[key]
        if name not in self.orders:
            from .blocks import block_order
            _, cyclic = block_order(self.owner)
            try:
                self.orders[name] = None if name in cyclic else block.body.topological_order()
            except Exception:
                self.orders[name] = None
        order = self.orders[name]
        if order is None:
            return None
        self.expanded += len(order)
        if self.expanded > MAX_EXPANDED:
            self.over_budget = True
            return None
        instance = self.run(block.body, order, env, ins)
        if key is not None:
            self.memo[key] = instance
        return instance


def instance_key(name: str, env: dict[str, Any], ins: list[Tensor] | tuple[Tensor, ...]) -> tuple:
    """What makes two instances of a block the same: the block, its values and its inputs' shapes."""
    from .symbolic import plain
    return (name, tuple((k, type(plain(v)).__name__, repr(plain(v))) for k, v in env.items()),
            tuple((tuple(int(d) for d in t.shape), t.dtype) for t in ins))


def _inside(problem: Problem, label: str, graph: Graph) -> Problem:
    """A problem of an instance, as seen from the use `label`: its node path gets the use in front."""
    return replace(problem, node=f"{label}/{problem.node}" if problem.node else label, block=None)
