"""The graph model: nodes, ordered inputs, settings sections and layout, with change events.

`Graph` is plain Python. The editor observes it through `subscribe` and changes it
only through its methods, each of which emits one `GraphEvent`, so every view
(canvas, inspector, problems, summary, code) stays in step with what
`nodetrainer check` would say. The model may hold an invalid graph (the editor
needs that while a user wires things up); `validate.validate` reports problems.
Edges are stored as each node's ordered list of sources, since the order of
inputs into a Concat is meaningful.

A graph may declare blocks (`Graph.blocks`): reusable sub-networks, each a
`Block` whose body is itself a `Graph` (nodes, edges, layout) whose values may
refer to the block's parameters as `$name`. A node whose type is a block's name
is one use of it; `Graph.spec_of` gives its `LayerType` (the block's parameters
and `repeat`), so the reader, the validator and the editor treat it like any
node. A body shares its owner's blocks, and each change inside it is announced
by the owner as a `block_changed` event naming the block.
"""
from __future__ import annotations

import copy
import heapq
import keyword
import re
import sys
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import networkx as nx

from .errors import GraphError, Problem
from .layers import REGISTRY, LayerType
from .settings import DataConfig, TrainingConfig, parse_data, parse_training

ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # \Z, not $: "fc\n" is not an id
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}\Z")
MAX_ID_LENGTH = 64


def id_problem(node_id: Any) -> str | None:
    """Why `node_id` is not a valid node id, or None."""
    if not isinstance(node_id, str):
        return f"node id {node_id!r} must be a name such as conv1"
    if not ID_RE.fullmatch(node_id):
        return f"node id '{node_id}' must start with a letter or _ and hold only letters, digits and _"
    if len(node_id) > MAX_ID_LENGTH:
        return f"node id '{node_id[:20]}...' is longer than {MAX_ID_LENGTH} characters"
    if keyword.iskeyword(node_id) or keyword.issoftkeyword(node_id):
        return f"node id '{node_id}' is a Python keyword; ids become names in generated code"
    return None


def name_problem(name: Any) -> str | None:
    """Why `name` cannot be a graph's name (it names run folders and the exported class), or None."""
    if isinstance(name, str) and NAME_RE.fullmatch(name):
        return None
    return ("'name' must be up to 64 letters, digits, spaces, '_', '-' or '.', starting with a letter or digit; "
            f"got {name!r}")


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)  # only the parameters given, validated

    @property
    def spec(self):
        return REGISTRY.get(self.type)

    def resolved(self) -> dict[str, Any]:
        """Parameters with defaults filled in."""
        return self.spec.resolve(self.params) if self.spec else dict(self.params)


@dataclass(frozen=True)
class GraphEvent:
    """A change: kind is one of node_added, node_removed, node_changed, node_renamed, edge_added,
    edge_removed, moved, settings_changed, replaced, and block_changed (`node` names the block: its
    body, parameters or description changed, or it was added, removed or renamed, then `other` is the
    old name)."""

    kind: str
    node: str | None = None
    other: str | None = None  # the other end of an edge, or the old id of a rename


class Graph:
    """A network graph and everything else a format-1 file holds."""

    def __init__(self, name: str = "untitled", description: str | None = None) -> None:
        self.name = name
        self.description = description
        self.nodes: dict[str, Node] = {}
        self.inputs: dict[str, list[str]] = {}  # node id -> ordered source ids
        self.data: dict[str, Any] | None = None
        self.training: dict[str, Any] | None = None
        self.tune: dict[str, Any] | None = None
        self.layout: dict[str, tuple[float, float]] = {}
        self.path: Path | None = None
        self.lines: dict[tuple, int] = {}  # key path in the file -> line, for locating problems
        self.blocks: dict[str, Block] = {}  # block name -> definition, in file order (a body: its owner's)
        self.owner: Graph | None = None  # for a block's body: the graph whose blocks section holds it
        self.block_name: str | None = None  # for a block's body: the block's name
        self._subscribers: list[Callable[[GraphEvent], None]] = []
        self._failed: set[int] = set()  # ids of subscribers whose error was reported

    # -- events -----------------------------------------------------------------
    def subscribe(self, callback: Callable[[GraphEvent], None]) -> Callable[[], None]:
        """Call `callback` after every change; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def subscribe_weakly(self, owner: Any, handler: Callable[[Any, GraphEvent], None],
                         alive: Callable[[Any], bool] | None = None) -> Callable[[], None]:
        """Call `handler(owner, event)` after every change while `owner` lives. The graph holds `owner`
        weakly, so a view that subscribed does not outlive its window; once it is gone (or `alive(owner)`
        says so, e.g. a widget whose native side was deleted) the subscription removes itself.
        Returns the unsubscriber."""
        ref = weakref.ref(owner)
        unsubscribe: Callable[[], None] = lambda: None  # noqa: E731 - replaced below

        def callback(event: GraphEvent) -> None:
            target = ref()
            if target is None or (alive is not None and not alive(target)):
                unsubscribe()
                return
            handler(target, event)

        unsubscribe = self.subscribe(callback)
        return unsubscribe

    def _emit(self, kind: str, node: str | None = None, other: str | None = None) -> None:
        """Tells every subscriber. One that raises cannot stop the others (an undo must reach every view):
        its first error goes to `sys.excepthook` (a traceback on the console, a failure under pytest-qt),
        later ones from the same subscriber are ignored, as the trainer's Publisher does."""
        event = GraphEvent(kind, node, other)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                if id(callback) not in self._failed:
                    self._failed.add(id(callback))
                    sys.excepthook(*sys.exc_info())
        if self.owner is not None and self.block_name is not None:
            self.owner._emit("block_changed", self.block_name)

    # -- queries ----------------------------------------------------------------
    def edges(self) -> list[tuple[str, str]]:
        """All edges (source, target), grouped by target in node order, each target's inputs in order."""
        return [(s, t) for t in self.nodes for s in self.inputs.get(t, [])]

    def successors(self, node_id: str) -> list[str]:
        return self.successor_map().get(node_id, [])

    def successor_map(self) -> dict[str, list[str]]:
        """Every node's consumers, in node order (one pass over the edges)."""
        out: dict[str, list[str]] = {n: [] for n in self.nodes}
        for source, target in self.edges():
            out.setdefault(source, []).append(target)
        return out

    def nx_graph(self) -> nx.MultiDiGraph:
        import networkx as nx  # here only: importing networkx costs about 0.4 s of every start
        g = nx.MultiDiGraph()
        g.add_nodes_from(self.nodes)
        g.add_edges_from(self.edges())
        return g

    def topological_order(self) -> list[str]:
        """Nodes in an order where every node follows its inputs; ties keep file order.
        Raises GraphError on a cycle (`nx.find_cycle(graph.nx_graph())` names it)."""
        position = {n: i for i, n in enumerate(self.nodes)}
        waiting = {n: len(self.inputs.get(n, ())) for n in self.nodes}
        consumers = self.successor_map()
        ready = [position[n] for n, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        names = list(self.nodes)
        order = []
        while ready:
            node = names[heapq.heappop(ready)]
            order.append(node)
            for consumer in consumers[node]:
                waiting[consumer] -= 1
                if waiting[consumer] == 0:
                    heapq.heappush(ready, position[consumer])
        if len(order) != len(names):
            raise GraphError("the graph has a cycle")
        return order

    def spec_of(self, node: "Node | str") -> LayerType | None:
        """The type of `node` (a node or a type name): a layer type, or a block of this graph's file."""
        node_type = node.type if isinstance(node, Node) else node
        spec = REGISTRY.get(node_type)
        if spec is None and isinstance(node_type, str) and node_type in self.blocks:
            spec = self.blocks[node_type].spec()
        return spec

    def resolved(self, node: "Node | str") -> dict[str, Any]:
        """A node's parameters with its type's defaults filled in (block parameters included)."""
        node = self.nodes[node] if isinstance(node, str) else node
        spec = self.spec_of(node)
        return spec.resolve(node.params) if spec else dict(node.params)

    def uses_of(self, block: str) -> list[str]:
        """Ids of this graph's nodes that use `block`."""
        return [n.id for n in self.nodes.values() if n.type == block]

    def input_ids(self) -> list[str]:
        return [n.id for n in self.nodes.values() if n.type == "Input"]

    def output_ids(self) -> list[str]:
        return [n.id for n in self.nodes.values() if n.type == "Output"]

    def line_of(self, *path: Any) -> int | None:
        """The file line of the longest known prefix of `path` (e.g. ("nodes", "conv1", "kernel_size")).
        A block's body looks it up in its owner's file, under the block."""
        if self.owner is not None and self.block_name is not None:
            return self.owner.line_of("blocks", self.block_name, *path)
        for end in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def problem(self, message: str, node: str | None = None, *path: Any) -> Problem:
        """A Problem located in this graph's file: at `path`, else at the node. In a block's body it names
        the block and is located in the owner's file."""
        line = self.line_of(*path) if path else None
        if line is None and node is not None:
            line = self.line_of("nodes", node)
        if self.owner is not None and self.block_name is not None:
            if line is None:
                line = self.owner.line_of("blocks", self.block_name)
            file = self.owner.path
            return Problem(message, str(file) if file else None, line, node, self.block_name)
        return Problem(message, str(self.path) if self.path else None, line, node)

    def data_config(self) -> DataConfig:
        """The parsed data section; GraphError if there is none or it is invalid."""
        if self.data is None:
            raise GraphError(self.problem("the graph has no data to train on; choose a data source, "
                                          "e.g. the built-in set digits"))
        cfg, errors = parse_data(self.data)
        if errors:
            raise GraphError([self.problem(m, None, *p) for p, m in errors])
        return cfg

    def training_config(self) -> TrainingConfig:
        """The parsed training section (defaults for everything left out); GraphError if invalid."""
        cfg, errors = parse_training(self.training or {})
        if errors:
            raise GraphError([self.problem(m, None, *p) for p, m in errors])
        return cfg

    def copy(self) -> "Graph":
        """A deep copy without subscribers (e.g. a snapshot to train while the editor goes on)."""
        other = Graph(self.name, self.description)
        for attr in ("nodes", "inputs", "data", "training", "tune", "layout", "lines"):
            setattr(other, attr, copy.deepcopy(getattr(self, attr)))
        other.path = self.path
        if self.owner is None:
            for name, block in self.blocks.items():
                other.blocks[name] = block.copy_into(other)
        return other

    def unused_id(self, base: str) -> str:
        """`base` or `base2`, `base3`... whichever is free."""
        base = re.sub(r"\W", "_", base) or "node"
        if base[0].isdigit():
            base = "_" + base
        base = base[:MAX_ID_LENGTH - 6]
        stem = base.rstrip("0123456789") or base
        if base not in self.nodes and not id_problem(base):
            return base
        i = 2
        while f"{stem}{i}" in self.nodes:
            i += 1
        return f"{stem}{i}"

    # -- edits (each emits one event) ------------------------------------------------
    def add_node(self, node_id: str, node_type: str, params: dict[str, Any] | None = None,
                 position: tuple[float, float] | None = None, index: int | None = None,
                 allow_unknown_type: bool = False) -> Node:
        """Add a node (at `index` in file order). `allow_unknown_type` restores a node read from a
        broken file exactly as it was (undo of its deletion); validation still reports it."""
        problem = id_problem(node_id)
        if problem:
            raise GraphError(problem)
        if node_id in self.nodes:
            raise GraphError(f"a node named '{node_id}' already exists")
        if self.spec_of(node_type) is None and not allow_unknown_type:
            raise GraphError(f"unknown node type '{node_type}'")
        node = Node(node_id, node_type, dict(params or {}))
        items = list(self.nodes.items())
        items.insert(len(items) if index is None else index, (node_id, node))
        self.nodes = dict(items)
        self.inputs[node_id] = []
        if position is not None:
            self.layout[node_id] = (float(position[0]), float(position[1]))
        self._emit("node_added", node_id)
        return node

    def remove_node(self, node_id: str) -> None:
        self._require(node_id)
        for target in self.nodes:
            self.inputs[target] = [s for s in self.inputs.get(target, []) if s != node_id]
        del self.nodes[node_id]
        self.inputs.pop(node_id, None)
        self.layout.pop(node_id, None)
        self._emit("node_removed", node_id)

    def set_params(self, node_id: str, params: dict[str, Any]) -> None:
        """Replace a node's given parameters (validated values)."""
        self._require(node_id).params = dict(params)
        self._emit("node_changed", node_id)

    def rename_node(self, old: str, new: str) -> None:
        self._require(old)
        if new == old:
            return
        problem = id_problem(new)
        if problem:
            raise GraphError(problem)
        if new in self.nodes:
            raise GraphError(f"a node named '{new}' already exists")
        node = self.nodes[old]
        node.id = new
        self.nodes = {(new if k == old else k): v for k, v in self.nodes.items()}
        self.inputs = {(new if k == old else k): [new if s == old else s for s in v] for k, v in self.inputs.items()}
        if old in self.layout:
            self.layout = {(new if k == old else k): v for k, v in self.layout.items()}
        self._emit("node_renamed", new, old)

    def connection_problem(self, source: str, target: str) -> str | None:
        """Why the edge source -> target cannot be added, or None."""
        if source not in self.nodes or target not in self.nodes:
            return f"no node named '{source if source not in self.nodes else target}'"
        if source == target:
            return f"a node cannot feed itself ({source})"
        spec = self.spec_of(self.nodes[target])
        if spec and spec.max_inputs == 0:
            if spec.extra.get("block"):
                return f"{target} uses block {spec.name}, which has no Input"
            return f"{target} is an Input and takes no incoming edges"
        if spec and spec.max_inputs is not None and len(self.inputs[target]) >= spec.max_inputs:
            if spec.extra.get("block"):
                return (f"{target} (block {spec.name}) already has its {spec.max_inputs} input"
                        f"{'s' if spec.max_inputs > 1 else ''}: one for each Input of the block")
            return (f"{target} ({self.nodes[target].type}) already has its input from {self.inputs[target][0]}; "
                    f"only Add, Multiply and Concat take several")
        if source in self.inputs[target]:
            return f"{source} already feeds {target}"
        if self._feeds(target, source):
            return f"{source} -> {target} would make a cycle"
        return None

    def _feeds(self, upstream: str, node: str) -> bool:
        """Whether `upstream` is `node` or one of its ancestors (a walk back along inputs)."""
        seen, stack = set(), [node]
        while stack:
            current = stack.pop()
            if current == upstream:
                return True
            if current not in seen:
                seen.add(current)
                stack.extend(self.inputs.get(current, ()))
        return False

    def connect(self, source: str, target: str, index: int | None = None, check: bool = True) -> None:
        """Add the edge source -> target; GraphError saying why when refused. `check=False` restores an
        edge exactly as it was (undo of a deletion), even one that validation will report."""
        if source not in self.nodes or target not in self.nodes:
            raise GraphError(f"no node named '{source if source not in self.nodes else target}'")
        problem = self.connection_problem(source, target) if check else None
        if problem:
            raise GraphError(problem)
        sources = self.inputs[target]
        sources.insert(len(sources) if index is None else index, source)
        self._emit("edge_added", target, source)

    def disconnect(self, source: str, target: str) -> int:
        """Remove the edge source -> target; returns its position among target's inputs."""
        sources = self.inputs.get(target, [])
        if source not in sources:
            raise GraphError(f"there is no edge {source} -> {target}")
        index = sources.index(source)
        sources.pop(index)
        self._emit("edge_removed", target, source)
        return index

    def move(self, node_id: str, position: tuple[float, float]) -> None:
        self._require(node_id)
        self.layout[node_id] = (float(position[0]), float(position[1]))
        self._emit("moved", node_id)

    def set_section(self, section: str, value: dict[str, Any] | None) -> None:
        """Replace the raw data, training or tune section (or name/description)."""
        if section not in ("data", "training", "tune", "name", "description"):
            raise GraphError(f"unknown section '{section}'")
        setattr(self, section, copy.deepcopy(value))
        self._emit("settings_changed", None, section)

    def replace_with(self, other: "Graph") -> None:
        """Take over everything from `other` (open, revert, paste-as-new); subscribers stay."""
        for attr in ("name", "description", "nodes", "inputs", "data", "training", "tune", "layout", "path", "lines"):
            setattr(self, attr, getattr(other, attr))
        self.blocks = {}
        for name, block in other.blocks.items():
            block.adopt(self)
            self.blocks[name] = block
        self._emit("replaced")

    # -- blocks (each emits one block_changed event) ------------------------------------
    def add_block(self, block: "Block", index: int | None = None) -> None:
        """Add a block definition (at `index` in file order). The same object comes back on undo, so
        commands holding its body stay valid."""
        problem = block_name_problem(block.name, self)
        if problem:
            raise GraphError(problem)
        block.adopt(self)
        items = list(self.blocks.items())
        items.insert(len(items) if index is None else index, (block.name, block))
        self._set_blocks(dict(items))
        self._emit("block_changed", block.name)

    def remove_block(self, name: str) -> "Block":
        """Remove a block definition (its uses stay, reported as unknown types, until they go too)."""
        block = self._require_block(name)
        self._set_blocks({k: v for k, v in self.blocks.items() if k != name})
        self._emit("block_changed", name)
        return block

    def rename_block(self, old: str, new: str) -> None:
        """Rename a block and every use of it, here and in every block's body."""
        block = self._require_block(old)
        if new == old:
            return
        problem = block_name_problem(new, self)
        if problem:
            raise GraphError(problem)
        block.name = new
        block.body.block_name = new
        block.body.name = new
        self._set_blocks({(new if k == old else k): v for k, v in self.blocks.items()})
        for graph in [self] + [b.body for b in self.blocks.values()]:
            for node in graph.nodes.values():
                if node.type == old:
                    node.type = new
        self._emit("block_changed", new, old)

    def set_block(self, name: str, params: dict[str, Any] | None = None, description: Any = ...) -> None:
        """Replace a block's parameter defaults (validated values) and/or its description."""
        block = self._require_block(name)
        if params is not None:
            block.params = dict(params)
        if description is not ...:
            block.description = description
        self._emit("block_changed", name)

    def _set_blocks(self, blocks: dict[str, "Block"]) -> None:
        """Replace the blocks mapping in place, so every body (which shares it) sees the change."""
        self.blocks.clear()
        self.blocks.update(blocks)

    def _require_block(self, name: str) -> "Block":
        if name not in self.blocks:
            raise GraphError(f"no block named '{name}'")
        return self.blocks[name]

    def _require(self, node_id: str) -> Node:
        if node_id not in self.nodes:
            raise GraphError(f"no node named '{node_id}'")
        return self.nodes[node_id]


BLOCK_KEYS = ("repeat",)  # keys a use of a block may set besides the block's own parameters


def block_name_problem(name: Any, graph: Graph | None = None) -> str | None:
    """Why `name` cannot name a block (it becomes a node type and a class in generated code), or None."""
    if not isinstance(name, str) or not ID_RE.fullmatch(name) or len(name) > MAX_ID_LENGTH:
        return f"block name {name!r} must start with a letter or _ and hold only letters, digits and _"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"block name '{name}' is a Python keyword"
    if name in REGISTRY:
        return f"block name '{name}' is the name of a node type; choose another, e.g. {name.lower()}_block"
    if graph is not None and name in graph.blocks:
        return f"a block named '{name}' already exists"
    return None


class Block:
    """A reusable sub-network: parameters with defaults, and a body graph whose values may be `$name`.

    The body's Inputs (in file order) take the caller's tensors; its one Output is the node's output.
    """

    def __init__(self, name: str, params: dict[str, Any] | None = None, body: Graph | None = None,
                 description: str | None = None) -> None:
        self.name = name
        self.params: dict[str, Any] = dict(params or {})
        self.body = body if body is not None else Graph(name)
        self.body.name = name
        self.description = description
        self._spec: tuple[tuple, LayerType] | None = None

    def adopt(self, owner: Graph) -> None:
        """Make `owner` the graph whose blocks section holds this block (the body shares its blocks)."""
        self.body.owner = owner
        self.body.block_name = self.name
        self.body.blocks = owner.blocks

    def copy_into(self, owner: Graph) -> "Block":
        body = Graph(self.name)
        for attr in ("nodes", "inputs", "layout"):
            setattr(body, attr, copy.deepcopy(getattr(self.body, attr)))
        block = Block(self.name, copy.deepcopy(self.params), body, self.description)
        block.adopt(owner)
        return block

    def spec(self) -> LayerType:
        """The node type this block is: its parameters (from the defaults' kinds) and `repeat`, one input
        for each Input of its body."""
        inputs = sum(1 for n in self.body.nodes.values() if n.type == "Input")
        key = (self.name, tuple((k, repr(v)) for k, v in self.params.items()), inputs, self.description)
        if self._spec is None or self._spec[0] != key:
            from .blocks import block_type
            self._spec = (key, block_type(self, inputs))
        return self._spec[1]

    def __repr__(self) -> str:
        return f"Block({self.name!r}, params={self.params!r}, nodes={list(self.body.nodes)!r})"
