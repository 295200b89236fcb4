"""Blocks: reusable sub-networks declared once in a file's `blocks:` section and used as node types.

A block has parameters with defaults and a body (nodes, edges) whose values may
name a parameter as `$name`. This module holds what every part needs to know
about them, apart from the model (`graph.Block`): the node type a block is
(`block_type`: its parameters, whose kinds follow their defaults, plus `repeat`),
`$name` references (`references`, `substitute`), the order in which block types
depend on each other (`block_order`, which also finds a cycle of block types),
and a use's values (`use_values`). Values are checked like any value only
after substitution, by the same `Param`s that check a node outside a block.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import did_you_mean
from .layers import LayerType
from .schema import Param

if TYPE_CHECKING:
    from .graph import Block, Graph

MAX_REPEAT = 1000
REPEAT = Param("repeat", "int", 1, "chain this many copies of the block, each feeding the next", lo=1, hi=MAX_REPEAT)
MAX_EXPANDED = 200_000  # node instances a file may expand to through blocks and repeat (budget of one check)


def default_problem(name: str, value: Any) -> str | None:
    """Why `value` cannot be the default of block parameter `name`, or None. A default is a number,
    true/false, text, or a list of numbers; its kind is the kind of the values a use may give."""
    if isinstance(value, (bool, int, float)):
        return None
    if isinstance(value, str) and value and not value.startswith("$"):
        return None
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                   for v in value):
        return None
    return (f"block parameter '{name}' needs a default: a number, true/false, text or a list of numbers "
            f"(e.g. {name}: 64), got {value!r}")


def block_param(name: str, default: Any, doc: str = "") -> Param:
    """The `Param` of a block parameter: the kind of its default, no range (values are checked where the
    body uses them, after substitution)."""
    if isinstance(default, bool):
        kind = "bool"
    elif isinstance(default, int):
        kind = "int"
    elif isinstance(default, float):
        kind = "float"
    elif isinstance(default, list):
        kind = "ints" if all(isinstance(v, int) for v in default) else "floats"
    else:
        kind = "str"
    return Param(name, kind, default, doc or f"block parameter (default {default!r})")


def is_reference(value: Any) -> bool:
    """Whether `value` is, or holds, a `$name` reference."""
    if isinstance(value, str):
        return value.startswith("$")
    if isinstance(value, list):
        return any(is_reference(v) for v in value)
    return False


def references(value: Any) -> list[str]:
    """The parameter names `value` refers to (`$channels` -> ['channels'])."""
    if isinstance(value, str) and value.startswith("$"):
        return [value[1:]]
    if isinstance(value, list):
        return [name for v in value for name in references(v)]
    return []


def substitute(value: Any, env: dict[str, Any]) -> Any:
    """`value` with every `$name` replaced by `env[name]` (unknown names stay as they are)."""
    if isinstance(value, str) and value.startswith("$"):
        return env.get(value[1:], value)
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    return value


def reference_problem(value: Any, block: "Block") -> str | None:
    """Why a `$name` in `value` names no parameter of `block`, or None."""
    for name in references(value):
        if name not in block.params:
            declared = ", ".join(block.params) or "none"
            return (f"'${name}' names no parameter of block {block.name}{did_you_mean(name, block.params)}; "
                    f"its parameters: {declared}")
    return None


def param_uses(block: "Block") -> dict[str, list[str]]:
    """Where each parameter is used in the body: name -> ['conv1.out_channels', ...]."""
    uses: dict[str, list[str]] = {name: [] for name in block.params}
    for node in block.body.nodes.values():
        for key, value in node.params.items():
            for name in references(value):
                uses.setdefault(name, []).append(f"{node.id}.{key}")
    return uses


def block_type(block: "Block", inputs: int) -> LayerType:
    """The node type `block` is: one input per Input of its body, its parameters and `repeat`."""
    uses = param_uses(block)
    params = tuple(block_param(name, default, f"used as {', '.join(uses.get(name, [])) or 'nothing yet'} "
                                               f"(default {default!r})")
                   for name, default in block.params.items())
    doc = block.description or (f"Block of {len(block.body.nodes)} nodes, defined in this file; "
                                "double-click a use to open it.")
    return LayerType(
        block.name, "blocks", doc, params=params + (REPEAT,),
        min_inputs=inputs, max_inputs=inputs, accepts_int=True,
        key_params=tuple(block.params)[:2], extra={"block": block.name},
    )


def use_values(graph: "Graph", node_id: str) -> tuple[dict[str, Any], int]:
    """A use's parameter values (defaults filled in) and its repeat count."""
    node = graph.nodes[node_id]
    block = graph.blocks[node.type]
    values = {**block.params, **{k: v for k, v in node.params.items() if k != "repeat"}}
    repeat = node.params.get("repeat", 1)
    return values, repeat if isinstance(repeat, int) and not isinstance(repeat, bool) else 1


def block_order(graph: "Graph") -> tuple[list[str], list[str]]:
    """Block names with every block after the blocks its body uses, and the blocks on a cycle (a block
    that uses itself, directly or through others), in file order."""
    uses = {name: [n.type for n in b.body.nodes.values() if n.type in graph.blocks]
            for name, b in graph.blocks.items()}
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cyclic: set[str] = set()

    def visit(name: str, stack: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cyclic.update(stack[stack.index(name):])
            return
        state[name] = 1
        stack.append(name)
        for used in uses[name]:
            visit(used, stack)
        stack.pop()
        state[name] = 2
        order.append(name)

    for name in graph.blocks:
        visit(name, [])
    return [n for n in order if n not in cyclic], [n for n in graph.blocks if n in cyclic]


def cycle_text(graph: "Graph", name: str) -> str:
    """'a -> b -> a' for a block on a cycle of block types."""
    path, current = [name], name
    while True:
        nxt = next((n.type for n in graph.blocks[current].body.nodes.values()
                    if n.type in graph.blocks and _reaches(graph, n.type, name)), None)
        if nxt is None:
            return " -> ".join(path)
        path.append(nxt)
        if nxt == name or len(path) > len(graph.blocks) + 1:
            return " -> ".join(path)
        current = nxt


def _reaches(graph: "Graph", start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        current = stack.pop()
        if current == goal:
            return True
        if current in seen or current not in graph.blocks:
            continue
        seen.add(current)
        stack.extend(n.type for n in graph.blocks[current].body.nodes.values() if n.type in graph.blocks)
    return False


def problem_node(problem, graph: "Graph", block: str | None, path: tuple[str, ...] = ()) -> str | None:
    """The node of a view that shows `problem`'s badge: the file's top level (`block` None) or the body of
    `block` opened through the uses `path`. A problem inside a use shows on the use and on the node inside;
    a problem of a block's definition shows on that node in the block and on every use of the block."""
    nodes = problem.node_path
    view = graph.blocks[block].body if block is not None and block in graph.blocks else graph
    if problem.block is not None:  # in a definition
        if problem.block == block and nodes:
            return nodes[0]
        uses = view.uses_of(problem.block)
        return uses[0] if uses else None
    if not nodes:
        return None
    if block is None:
        return nodes[0]
    if path and tuple(nodes[:len(path)]) == tuple(path) and len(nodes) > len(path):
        return nodes[len(path)]
    return None


def problem_nodes(problem, graph: "Graph", block: str | None, path: tuple[str, ...] = ()) -> list[str]:
    """Every node of the view that shows `problem` (a definition's problem: each use of the block)."""
    view = graph.blocks[block].body if block is not None and block in graph.blocks else graph
    if problem.block is not None and problem.block != block:
        return view.uses_of(problem.block)
    node = problem_node(problem, graph, block, path)
    return [node] if node is not None and node in view.nodes else []
