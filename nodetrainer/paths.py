"""Dotted paths to the network's values: read one, write one, and the `Param` that checks it.

A tune path (and anything else that names one value of a graph file) may point
into the network:

- `nodes.ID.PARAM`: a node's parameter; for a use of a block, one of the
  block's parameters or `repeat` (`nodes.stage.repeat`: a deeper model is one
  number);
- `blocks.NAME.params.PARAM`: a block's default, for every use that leaves it
  out (`blocks.basic.params.channels`);
- `blocks.NAME.nodes.ID.PARAM`: a value inside a block's body (for every use).

`param_for` gives the `Param` that checks a value there exactly as the reader
checks the file; `get_value` reads the value (its default where the file leaves
it out); `set_value` writes it into a graph (a copy the caller owns). A value
equal to the default is left out of the node, as the editor does. The tuner's
own sections (`training.`, `data.`) are read by the tuner itself.
"""
from __future__ import annotations

import copy
from typing import Any

from .blocks import block_param
from .errors import did_you_mean
from .graph import Graph
from .schema import Param

HEADS = ("nodes", "blocks")


class PathError(ValueError):
    """A dotted path that names no value of the network."""


def split(path: str) -> list[str]:
    return str(path).split(".")


def _node(graph: Graph, node_id: str, path: str):
    if node_id not in graph.nodes:
        raise PathError(f"'{path}' must be nodes.ID.PARAM with an existing node{did_you_mean(node_id, graph.nodes)}")
    return graph.nodes[node_id]


def _block(graph: Graph, name: str, path: str):
    if name not in graph.blocks:
        raise PathError(f"'{path}' names no block '{name}'{did_you_mean(name, graph.blocks)}")
    return graph.blocks[name]


def _where(graph: Graph, path: str) -> tuple[Graph, str, str]:
    """The graph holding the node a node path names, the node id and the parameter."""
    parts = split(path)
    if parts[0] == "nodes" and len(parts) == 3:
        return graph, parts[1], parts[2]
    if parts[0] == "blocks" and len(parts) == 5 and parts[2] == "nodes":
        return _block(graph, parts[1], path).body, parts[3], parts[4]
    raise PathError(f"'{path}' must be nodes.ID.PARAM, blocks.NAME.params.PARAM or blocks.NAME.nodes.ID.PARAM")


def param_for(graph: Graph, path: str) -> Param:
    """The `Param` declaring the value at `path`; PathError when the path names none."""
    parts = split(path)
    if parts[0] not in HEADS:
        raise PathError(f"'{path}' must start with {' or '.join(h + '.' for h in HEADS)}")
    if parts[0] == "blocks" and len(parts) == 4 and parts[2] == "params":
        block = _block(graph, parts[1], path)
        if parts[3] not in block.params:
            raise PathError(f"'{path}': block {parts[1]} has no parameter '{parts[3]}'"
                            f"{did_you_mean(parts[3], block.params)}")
        return block_param(parts[3], block.params[parts[3]])
    holder, node_id, key = _where(graph, path)
    node = _node(holder, node_id, path)
    spec = holder.spec_of(node)
    if spec is None or key not in spec.param_map:
        valid = spec.param_map if spec else {}
        raise PathError(f"'{path}': {node.type} has no parameter '{key}'{did_you_mean(key, valid)}")
    return spec.param_map[key]


def path_problem(graph: Graph, path: str) -> str | None:
    """Why `path` names no value of the network, or None."""
    try:
        param_for(graph, path)
    except PathError as exc:
        return str(exc)
    return None


def get_value(graph: Graph, path: str) -> Any:
    """The value at `path` as the file has it, else its default."""
    param = param_for(graph, path)
    parts = split(path)
    if parts[0] == "blocks" and parts[2] == "params":
        return graph.blocks[parts[1]].params[parts[3]]
    holder, node_id, key = _where(graph, path)
    node = holder.nodes[node_id]
    return node.params[key] if key in node.params else (None if param.required else param.default)


def set_value(graph: Graph, path: str, value: Any) -> None:
    """Write `value` at `path` into `graph` (changed in place: pass a copy). Values are written as a file
    holds them; `param_for(graph, path).check` judges them as the reader would."""
    param = param_for(graph, path)
    value = copy.deepcopy(value)
    parts = split(path)
    if parts[0] == "blocks" and parts[2] == "params":
        block = graph.blocks[parts[1]]
        block.params = {**block.params, parts[3]: value}
        return
    holder, node_id, key = _where(graph, path)
    node = holder.nodes[node_id]
    params = dict(node.params)
    if not param.required and value == param.default and type(value) is type(param.default):
        params.pop(key, None)
    else:
        params[key] = value
    node.params = params
