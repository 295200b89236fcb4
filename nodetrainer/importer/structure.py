"""Traced ops -> a graph with blocks: submodule classes used more than once become block types.

Every module around an op (its `nn_module_stack`) is a candidate: an instance of
a class (not a container such as `nn.Sequential`) whose ops take one or more
values from outside and give exactly one back. Instances of a class with the
same structure (the same ops, wired alike, whatever their values) become one
block type when there are two or more; the values that differ between them,
and those the class's code takes from its constructor arguments
(`source_names`), become the block's parameters. An `nn.Sequential` of uses of
one block with the same values, each feeding the next, becomes one use with
`repeat`. Everything else is inlined, its ids made from module paths
(`layer1.0.conv1` inside `layer1` -> `0_conv1`... as a person would name them).

Types are built innermost first, so a block's body may use other blocks. The
result also says, for every node (as a path such as `layer1[1]/conv1`), the
module whose weights it holds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..blocks import block_param
from ..graph import Block, Graph, block_name_problem, id_problem
from ..layers import REGISTRY
from ..layers.base import _same
from ..templates import id_stem
from .source_names import class_names
from .trace import Op, Traced, forward_arguments

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
MAX_KINDS = 4  # a class whose instances come in more structures than this is too irregular for blocks


@dataclass
class Item:
    """A node of a fragment: a layer (from an op), a use of a block (an instance) or a repeat (a Sequential)."""

    id: str
    type: str
    values: dict[str, Any]  # every parameter's value (defaults filled in)
    inputs: list[str]  # ids of the items feeding it, in order
    op: Op | None = None
    instances: list[str] = field(default_factory=list)  # container paths of a use (several: a repeat)


@dataclass
class Fragment:
    inputs: list[str]  # Input ids
    items: list[Item]
    output: str  # the id of the item whose value leaves


@dataclass
class Imported:
    graph: Graph
    modules: dict[str, str]  # node path (as `summary --expand` names it) -> module path of its weights


def snake(name: str) -> str:
    """'BasicBlock' -> 'basic_block', 'Conv2dNormActivation' -> 'conv2d_norm_activation'."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name.lstrip("_")).lower()
    return re.sub(r"\W", "_", text) or "block"


class Builder:
    def __init__(self, traced: Traced, model: nn.Module, name: str) -> None:
        self.traced, self.model, self.name = traced, model, name
        self.ops = [op for op in traced.ops if op.type not in ("Input", "Output")]
        self.by_name = {op.name: op for op in traced.ops}
        self.classes = traced.classes
        self.position = {op.name: i for i, op in enumerate(traced.ops)}
        self.members: dict[str, list[Op]] = {}  # container path -> its ops, in order
        for op in self.ops:
            for path, _ in op.stack:
                self.members.setdefault(path, []).append(op)
        self.boundary = {path: self._boundary(path) for path in self.members}
        self.block_of: dict[str, str] = {}  # container path -> block type
        self.blocks: dict[str, Block] = {}
        self.values_of: dict[str, dict[str, Any]] = {}  # instance path -> its block's parameter values
        self.fragments: dict[str, Fragment] = {}  # instance path -> its fragment
        self.class_of_type: dict[str, type] = {}

    # -- containers ---------------------------------------------------------------------------
    def _boundary(self, path: str) -> tuple[list[str], list[str]]:
        inside = {op.name for op in self.members[path]}
        entering: list[str] = []
        for op in self.members[path]:
            for arg in op.args:
                if arg not in inside and arg not in entering:
                    entering.append(arg)
        leaving = []
        for op in self.traced.ops:
            if op.name in inside:
                continue
            for arg in op.args:
                if arg in inside and arg not in leaving:
                    leaving.append(arg)
        return entering, leaving

    def _signature(self, path: str) -> tuple:
        ops = self.members[path]
        local = {op.name: i for i, op in enumerate(ops)}
        entering, leaving = self.boundary[path]
        ent = {name: k for k, name in enumerate(entering)}
        body = tuple((self._key(op, path), op.type,
                      tuple(("l", local[a]) if a in local else ("i", ent[a]) for a in op.args)) for op in ops)
        return (self.classes[path], len(entering), body, local[leaving[0]])

    def _key(self, op: Op, scope: str) -> tuple:
        inner = op.stack[-1][0] if op.stack else ""
        return (_relative(op.module, scope) if op.module else None, _relative(inner, scope), op.stem)

    def choose_blocks(self) -> None:
        groups: dict[tuple, list[str]] = {}
        for path in self.members:
            cls = self.classes.get(path)
            entering, leaving = self.boundary[path]
            if cls is None or cls in CONTAINERS or len(leaving) != 1 or not entering:
                continue
            groups.setdefault(self._signature(path), []).append(path)
        kinds: dict[type, int] = {}
        for signature, paths in groups.items():
            if len(paths) >= 2:
                kinds[signature[0]] = kinds.get(signature[0], 0) + 1
        names: dict[type, int] = {}
        taken = set(REGISTRY)
        first = lambda paths: min(self.position[self.members[p][0].name] for p in paths)  # noqa: E731
        for signature, paths in sorted(groups.items(), key=lambda kv: first(kv[1])):
            if len(paths) < 2 or kinds[signature[0]] > MAX_KINDS:
                continue
            cls = signature[0]
            count = names[cls] = names.get(cls, 0) + 1
            base = snake(cls.__name__)
            name = base if count == 1 else f"{base}{count}"
            while name in taken or block_name_problem(name):
                name = f"{name}_block" if block_name_problem(name) else f"{name}_"
            taken.add(name)
            self.class_of_type[name] = cls
            for path in paths:
                self.block_of[path] = name

    # -- fragments --------------------------------------------------------------------------------
    def _unit(self, op: Op, scope: str, folds: set[str]) -> str | None:
        """The use (an instance or a folded Sequential, directly under `scope`'s own ops) `op` is part of."""
        inside = scope == "" or any(path == scope for path, _ in op.stack)
        if not inside:
            return None
        start = 0 if scope == "" else next(i for i, (p, _) in enumerate(op.stack) if p == scope) + 1
        for path, _ in op.stack[start:]:
            if path in self.block_of or path in folds:
                return path
        return None

    def fragment(self, scope: str, folds: set[str]) -> Fragment:
        ops = self.ops if scope == "" else self.members[scope]
        ids: dict[str, str] = {}  # op name -> item id (a unit's leaving op -> the unit's id)
        taken: set[str] = set()

        def claim(wanted: str) -> str:
            base = wanted if id_problem(wanted) is None else ("n" + wanted if wanted[:1].isdigit() else "node")
            name, k = base, 2
            while name in taken:
                name, k = f"{base}{k}", k + 1
            taken.add(name)
            return name

        if scope == "":
            inputs = [op.name for op in self.traced.ops if op.type == "Input"]
            for op_name in inputs:
                ids[op_name] = claim(op_name)
            entering = inputs
        else:
            entering = self.boundary[scope][0]
            names = forward_arguments(self.classes[scope])
            names = names if len(names) == len(entering) else ["x"] + [f"x{k}" for k in range(2, len(entering) + 1)]
            for value, arg in zip(entering, names):
                ids[value] = claim(arg)
        out_id = claim("out") if scope != "" else None
        items: list[Item] = []
        done_units: set[str] = set()
        for op in ops:
            unit = self._unit(op, scope, folds)
            if unit is None:
                item_id = claim(self._id(op, scope))
                items.append(Item(item_id, op.type, dict(op.params), [ids[a] for a in op.args], op))
                ids[op.name] = item_id
                continue
            if unit in done_units:
                continue
            done_units.add(unit)
            unit_entering, unit_leaving = self.boundary[unit]
            item_id = claim(_path_id(_relative(unit, scope), None))
            if unit in self.block_of:
                item = Item(item_id, self.block_of[unit], dict(self.values_of[unit]), [ids[a] for a in unit_entering],
                            instances=[unit])
            else:
                copies = self._children(unit)
                item = Item(item_id, self.block_of[copies[0]], {**self.values_of[copies[0]], "repeat": len(copies)},
                            [ids[a] for a in unit_entering], instances=copies)
            items.append(item)
            ids[unit_leaving[0]] = item_id
        leaving = self.boundary[scope][1][0] if scope else None
        return Fragment([ids[v] for v in entering], items, ids[leaving] if leaving else "") if scope else \
            Fragment([ids[v] for v in entering], items, "")

    def _id(self, op: Op, scope: str) -> str:
        if op.module:
            return _path_id(_relative(op.module, scope), op.type)
        inner = op.stack[-1][0] if op.stack else ""
        stem = id_stem(op.type)
        rel = _relative(inner, scope)
        return f"{_path_id(rel, None)}_{stem}" if rel else stem

    def _children(self, path: str) -> list[str]:
        """The block instances directly inside container `path`, in order."""
        found: list[str] = []
        for op in self.members[path]:
            start = next(i for i, (p, _) in enumerate(op.stack) if p == path) + 1
            if start < len(op.stack) and op.stack[start][0] in self.block_of and op.stack[start][0] not in found:
                found.append(op.stack[start][0])
        return found

    def foldable(self, path: str) -> bool:
        """An nn.Sequential holding only uses of one block with the same values, each feeding the next."""
        cls = self.classes.get(path)
        if cls is None or not issubclass(cls, nn.Sequential) or path in self.block_of:
            return False
        children = self._children(path)
        if len(children) < 2 or len({self.block_of[c] for c in children}) != 1:
            return False
        if sum(len(self.members[c]) for c in children) != len(self.members[path]):
            return False
        values = [self.values_of.get(c) for c in children]
        if any(v is None for v in values) or any(not _same_values(values[0], v) for v in values[1:]):
            return False
        entering, leaving = self.boundary[path]
        if self.boundary[children[0]][0] != entering or self.boundary[children[-1]][1] != leaving:
            return False
        return all(self.boundary[b][0] == self.boundary[a][1] for a, b in zip(children, children[1:]))

    # -- block types ------------------------------------------------------------------------------
    def build_types(self) -> None:
        """Each block type, innermost first: its instances' fragments, then parameters and body."""
        depth = {path: path.count(".") + 1 for path in self.block_of}
        types = sorted(set(self.block_of.values()),
                       key=lambda t: -max(depth[p] for p, n in self.block_of.items() if n == t))
        for name in types:
            instances = sorted((p for p, n in self.block_of.items() if n == name),
                               key=lambda p: self.position[self.members[p][0].name])
            folds = self._folds_inside(instances)
            fragments = [self.fragment(p, {p + "." + f for f in folds}) for p in instances]
            if not self._define(name, instances, fragments):
                for p in instances:  # values of one kind here, another there: inline every instance
                    del self.block_of[p]

    def _folds_inside(self, instances: list[str]) -> set[str]:
        """Sequentials (relative paths) that fold into a repeat in every instance."""
        common: set[str] | None = None
        for path in instances:
            here = {_relative(c, path) for c in self.members if c.startswith(path + ".") and self.foldable(c)}
            common = here if common is None else common & here
        return common or set()

    def _define(self, name: str, instances: list[str], fragments: list[Fragment]) -> bool:
        first = fragments[0]
        shape = [(i.id, i.type, tuple(i.inputs)) for i in first.items]
        if any([(i.id, i.type, tuple(i.inputs)) for i in f.items] != shape or f.inputs != first.inputs
               or f.output != first.output for f in fragments[1:]):
            return False
        positions = [(item.id, key) for item in first.items for key in self._full(item)]
        vectors = {pos: [self._full(_item(f, pos[0]))[pos[1]] for f in fragments] for pos in positions}
        names = class_names(self.class_of_type[name])
        params: dict[str, Any] = {}
        ref: dict[tuple[str, str], str] = {}
        for arg in names.order:  # parameters the class's code takes from its constructor arguments
            places = [pos for pos in positions if names.args.get(pos) == arg]
            if not places or arg in ("type", "repeat") or id_problem(arg):
                continue
            if any(len({_key(vectors[p][i]) for p in places}) != 1 for i in range(len(fragments))):
                continue
            values = vectors[places[0]]
            default = names.defaults.get(arg, values[0])
            if not _fits(arg, default, values):
                default = values[0]
                if not _fits(arg, default, values):
                    continue
            params[arg] = default
            for p in places:
                ref[p] = arg
        by_values: dict[tuple, str] = {}
        for pos in positions:  # values that differ between instances
            if pos in ref or len({_key(v) for v in vectors[pos]}) == 1:
                continue
            signature = tuple(_key(v) for v in vectors[pos])
            if signature not in by_values:
                item_id, key = pos
                wanted = key if key not in params and key not in ("repeat", "type") else f"{item_id}_{key}"
                while wanted in params:
                    wanted += "_"
                if not _fits(wanted, vectors[pos][0], vectors[pos]):
                    return False
                params[wanted] = vectors[pos][0]
                by_values[signature] = wanted
            ref[pos] = by_values[signature]
        body = Graph(name)
        block = Block(name, params, body, description(self.class_of_type[name], f"Block {name} of the graph file."))
        self.blocks[name] = block
        self.class_of_type[name] = self.class_of_type[name]
        for path, fragment in zip(instances, fragments):
            self.fragments[path] = fragment
            values = {}
            for pname in params:
                pos = next(p for p, n in ref.items() if n == pname)
                values[pname] = vectors[pos][fragments.index(fragment)]
            self.values_of[path] = values
        self._body(block, first, ref, names.inits)
        return True

    def _full(self, item: Item) -> dict[str, Any]:
        """An item's values with defaults filled in: a layer's parameters, or a use's block values and repeat."""
        if item.type in REGISTRY:
            return REGISTRY[item.type].resolve(item.values)
        return {**self.blocks[item.type].params, "repeat": 1, **item.values}

    def _body(self, block: Block, fragment: Fragment, ref: dict, inits: dict[str, str]) -> None:
        body = block.body
        body.blocks = self.blocks
        body.owner, body.block_name = None, block.name
        for input_id in fragment.inputs:
            body.nodes[input_id] = _node(input_id, "Input", {})
            body.inputs[input_id] = []
        for item in fragment.items:
            values = {}
            for key, value in self._full(item).items():
                if (item.id, key) in ref:
                    values[key] = "$" + ref[(item.id, key)]
                else:
                    values[key] = value
            body.nodes[item.id] = _node(item.id, item.type, self._written(item.type, values, inits.get(item.id)))
            body.inputs[item.id] = list(item.inputs)
        out = next(k for k in ("out", "y", "output") if k not in body.nodes)
        body.nodes[out] = _node(out, "Output", {})
        body.inputs[out] = [fragment.output]

    def _written(self, node_type: str, values: dict[str, Any], init: str | None) -> dict[str, Any]:
        """The values a file writes: those that differ from the default, and a `$` reference always."""
        if node_type in REGISTRY:
            spec = REGISTRY[node_type]
            out = {}
            for key, value in values.items():
                param = spec.param_map.get(key)
                if param is None:
                    continue
                if isinstance(value, str) and value.startswith("$") or param.required \
                        or not _same(param.default, value):
                    out[key] = value
            if init and "init" in spec.param_map:
                out["init"] = init
            return out
        block = self.blocks[node_type]
        return {k: v for k, v in values.items()
                if (isinstance(v, str) and v.startswith("$"))
                or (k == "repeat" and v != 1) or (k in block.params and not _same(block.params[k], v))}

    # -- the network ------------------------------------------------------------------------------
    def build(self) -> Imported:
        self.choose_blocks()
        self.build_types()
        folds = {c for c in self.members if self.foldable(c) and not any(
            c.startswith(p + ".") for p in self.block_of)}
        root = self.fragment("", folds)
        graph = Graph(self.name, description(type(self.model), f"The {self.name} network."))
        first = {}
        for path, name in self.block_of.items():
            first[name] = min(first.get(name, len(self.position)), self.position[self.members[path][0].name])
        for name in sorted(first, key=first.get):  # in the order the network first uses them
            graph.add_block(self.blocks[name])
        inits = class_names(type(self.model)).inits
        for op in self.traced.ops:
            if op.type == "Input":
                values = {"shape": op.params["shape"]} | ({"dtype": "int64"} if op.dtype == "int64" else {})
                graph.add_node(root.inputs[[o.name for o in self.traced.ops if o.type == "Input"].index(op.name)],
                               "Input", values)
        for item in root.items:
            graph.add_node(item.id, item.type, self._written(item.type, self._full(item), inits.get(item.id)))
        ids = {op.name: root.inputs[k] for k, op in enumerate(o for o in self.traced.ops if o.type == "Input")}
        producer = self._producers(root)
        for item in root.items:
            for source in item.inputs:
                graph.connect(source, item.id, check=False)
        outputs = [op for op in self.traced.ops if op.type == "Output"]
        for k, op in enumerate(outputs):
            out_id = graph.unused_id("out") if k else ("out" if "out" not in graph.nodes else graph.unused_id("out"))
            graph.add_node(out_id, "Output")
            graph.connect(ids.get(op.args[0]) or producer[op.args[0]], out_id, check=False)
        modules: dict[str, str] = {}
        self._modules(root, "", modules)
        return Imported(graph, modules)

    def _producers(self, fragment: Fragment) -> dict[str, str]:
        """op name -> the root item whose value it is (a unit's leaving op -> the unit)."""
        out: dict[str, str] = {}
        for item in fragment.items:
            if item.op is not None:
                out[item.op.name] = item.id
            else:
                out[self.boundary[item.instances[-1]][1][0]] = item.id
        return out

    def _modules(self, fragment: Fragment, prefix: str, out: dict[str, str]) -> None:
        for item in fragment.items:
            if item.op is not None:
                if item.op.module:
                    out[prefix + item.id] = item.op.module
                continue
            for k, instance in enumerate(item.instances):
                label = item.id if len(item.instances) == 1 else f"{item.id}[{k}]"
                self._modules(self.fragments[instance], f"{prefix}{label}/", out)


def description(cls: type, generated: str) -> str | None:
    """The first paragraph of a class's own docstring (not the one NodeTrainer writes when a graph has none)."""
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return None
    first = " ".join(doc.strip().split("\n\n")[0].split())
    return None if first == generated or not first else first


def _node(node_id: str, node_type: str, params: dict[str, Any]):
    from ..graph import Node
    return Node(node_id, node_type, params)


def _item(fragment: Fragment, item_id: str) -> Item:
    return next(i for i in fragment.items if i.id == item_id)


def _relative(path: str | None, scope: str) -> str:
    if not path:
        return ""
    if scope and path.startswith(scope + "."):
        return path[len(scope) + 1:]
    return "" if path == scope else path


def _path_id(relative: str, node_type: str | None) -> str:
    text = relative.replace(".", "_")
    if text[:1].isdigit():
        text = (id_stem(node_type) if node_type else "m") + text
    return text


def _key(value: Any) -> tuple:
    return (type(value).__name__, repr(value))


def _same_values(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_key(a[k]) == _key(b[k]) for k in a)


def _fits(name: str, default: Any, values: list[Any]) -> bool:
    from ..blocks import default_problem
    if default_problem(name, default):
        return False
    param = block_param(name, default)
    try:
        for v in values:
            param.check(v)
    except ValueError:
        return False
    return True
