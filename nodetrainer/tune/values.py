"""Values at dotted paths of a graph file: read them, write them into a copy, and check them like file values.

A tune path names one value of the file: a value of the network (`nodes.ID.PARAM`,
`blocks.NAME.params.PARAM`, `blocks.NAME.nodes.ID.PARAM`; read and written by
`nodetrainer.paths`, which also knows the parameters and `repeat` of a block's
use), `training.KEY`, `training.SECTION.KEY` (optimizer, scheduler,
early_stopping, grad_clip, regularization), a whole typed section
`training.optimizer` / `training.scheduler` (its value a mapping merged over the
file's), `data.KEY` or `data.split.KEY`.

Setting an optimizer's or scheduler's `type` keeps only the keys that type
takes (an adam file's `betas` go when sgd is chosen), and a key the chosen type
does not take does not apply (`applies`): the sampler leaves it out of that
trial. Values are written raw, exactly as a file would hold them, so the one
validation path (`validate.check_graph`, the settings parsers, `Param.check`)
judges a sampled value exactly as it judges a value typed into the file.
"""
from __future__ import annotations

import copy
from typing import Any

from .. import paths as network
from ..graph import Graph
from ..schema import Param
from ..settings import (AUGMENT_PARAMS, DATA_PARAMS, DATA_SECTION_KEYS, EARLY_STOPPING_PARAMS, GRAD_CLIP_PARAMS,
                        OPTIMIZER_KEYS, OPTIMIZER_PARAMS, REGULARIZATION_PARAMS, SCHEDULER_KEYS, SCHEDULER_PARAMS, SPLIT_PARAMS, TRAINING_PARAMS,
                        parse_data, parse_training)

TRAINING_SECTIONS: dict[str, dict[str, Param]] = {
    "optimizer": OPTIMIZER_PARAMS, "scheduler": SCHEDULER_PARAMS, "early_stopping": EARLY_STOPPING_PARAMS,
    "grad_clip": GRAD_CLIP_PARAMS, "regularization": REGULARIZATION_PARAMS,
}
TYPED = {"optimizer": (OPTIMIZER_KEYS, "adam"), "scheduler": (SCHEDULER_KEYS, "none")}
WHOLE_SECTIONS = ("training.optimizer", "training.scheduler")  # paths whose values are mappings


PathError = network.PathError  # a dotted path that names no value of the file


def split(path: str) -> list[str]:
    return str(path).split(".")


def param_for(graph: Graph, path: str) -> Param | None:
    """The `Param` declaring the value at `path`; None for a whole typed section. PathError when nothing
    is declared there."""
    parts = split(path)
    head = parts[0]
    if head in network.HEADS:
        return network.param_for(graph, path)
    if head == "training":
        if len(parts) == 2 and parts[1] in TRAINING_PARAMS:
            if parts[1] in TYPED:
                return None
            if parts[1] in TRAINING_SECTIONS or parts[1] == "metrics":
                raise PathError(f"'{path}' is a section: tune one of its keys, such as training.{parts[1]}."
                                f"{next(iter(TRAINING_SECTIONS.get(parts[1], {'x': 0})))}")
            return TRAINING_PARAMS[parts[1]]
        if len(parts) == 3 and parts[1] in TRAINING_SECTIONS and parts[2] in TRAINING_SECTIONS[parts[1]]:
            return TRAINING_SECTIONS[parts[1]][parts[2]]
        raise PathError(f"'{path}' names no training setting")
    if head == "data":
        if len(parts) == 2 and parts[1] in DATA_PARAMS and parts[1] not in DATA_SECTION_KEYS:
            return DATA_PARAMS[parts[1]]
        if len(parts) == 3 and parts[1] == "split" and parts[2] in SPLIT_PARAMS:
            return SPLIT_PARAMS[parts[2]]
        if len(parts) == 3 and parts[1] == "augment" and parts[2] in AUGMENT_PARAMS:
            return AUGMENT_PARAMS[parts[2]]
        raise PathError(f"'{path}' names no data setting")
    raise PathError(f"'{path}' must start with nodes., blocks., training. or data.")


def _section(graph: Graph, name: str) -> dict[str, Any]:
    value = getattr(graph, name)
    return value if isinstance(value, dict) else {}


def _typed_type(graph: Graph, section: str) -> str:
    raw = _section(graph, "training").get(section)
    keys, default = TYPED[section]
    kind = raw.get("type", default) if isinstance(raw, dict) else default
    return kind if kind in keys else default


def applies(graph: Graph, path: str) -> bool:
    """False for a key of the optimizer or scheduler that their type (as `graph` has it) does not take."""
    parts = split(path)
    if parts[0] == "training" and len(parts) == 3 and parts[1] in TYPED and parts[2] != "type":
        keys, _ = TYPED[parts[1]]
        return parts[2] in keys[_typed_type(graph, parts[1])]
    return True


def get_value(graph: Graph, path: str) -> Any:
    """The value at `path` as the file has it, else its default (None where there is no single default)."""
    parts = split(path)
    head = parts[0]
    if head in network.HEADS:
        return network.get_value(graph, path)
    section = _section(graph, head)
    if len(parts) == 2:
        if head == "training" and parts[1] in TYPED:
            return copy.deepcopy(section.get(parts[1], {}))
        if parts[1] in section:
            return section[parts[1]]
        params = TRAINING_PARAMS if head == "training" else DATA_PARAMS
        param = params.get(parts[1])
        return param.default if param is not None and not param.required else None
    inner = section.get(parts[1])
    if isinstance(inner, dict) and parts[2] in inner:
        return inner[parts[2]]
    params = ((AUGMENT_PARAMS if parts[1] == "augment" else SPLIT_PARAMS) if head == "data"
              else TRAINING_SECTIONS.get(parts[1], {}))
    param = params.get(parts[2])
    if param is None or param.required:
        return None
    if head == "training" and parts[1] in TYPED and parts[2] == "type":
        return TYPED[parts[1]][1]
    return param.default


def set_value(graph: Graph, path: str, value: Any) -> None:
    """Writes `value` at `path` into `graph` (a copy: this changes it in place)."""
    parts = split(path)
    if parts[0] in network.HEADS:
        network.set_value(graph, path, value)  # a default is left out of the node, as the editor does
        return
    value = copy.deepcopy(value)
    head = parts[0]
    section = copy.deepcopy(_section(graph, head))
    if len(parts) == 2 and head == "training" and parts[1] in TYPED:
        old = section.get(parts[1]) if isinstance(section.get(parts[1]), dict) else {}
        merged = {**old, **(value if isinstance(value, dict) else {})}
        section[parts[1]] = _keep_keys_of_type(parts[1], merged)
    elif len(parts) == 2:
        section[parts[1]] = value
    else:
        inner = section.get(parts[1])
        inner = dict(inner) if isinstance(inner, dict) else {}
        inner[parts[2]] = value
        if head == "training" and parts[1] in TYPED and parts[2] == "type":
            inner = _keep_keys_of_type(parts[1], inner)
        section[parts[1]] = inner
    setattr(graph, head, section)


def _keep_keys_of_type(section: str, mapping: dict[str, Any]) -> dict[str, Any]:
    keys, default = TYPED[section]
    kind = mapping.get("type", default)
    if kind not in keys:
        return mapping  # an unknown type: the parser names it
    return {k: v for k, v in mapping.items() if k in keys[kind]}


def apply_values(graph: Graph, values: dict[str, Any]) -> Graph:
    """A copy of `graph` with every value of `values` (path -> value) written in, in the order given."""
    g = graph.copy()
    for path, value in values.items():
        set_value(g, path, value)
    return g


def value_problem(graph: Graph, path: str, value: Any) -> str | None:
    """Why `value` cannot stand at `path` by itself (its type, range or choices, as the file's reader would
    say), or None. Problems that come from combining values (shapes) are not looked at here."""
    try:
        param = param_for(graph, path)
    except PathError as exc:
        return str(exc)
    parts = split(path)
    if param is not None and parts[0] in network.HEADS:
        try:
            param.check(value)
        except ValueError as exc:
            return str(exc)
        return None
    g = graph.copy()
    if parts[0] == "training" and len(parts) == 3 and parts[1] in TYPED and not applies(g, path):
        keys, _ = TYPED[parts[1]]
        kind = next(k for k, taken in keys.items() if parts[2] in taken)
        set_value(g, f"training.{parts[1]}.type", kind)  # judge the key under a type that takes it
    try:
        set_value(g, path, value)
    except (KeyError, TypeError) as exc:
        return f"cannot set '{path}': {exc}"
    parse = parse_training if parts[0] == "training" else parse_data
    raw = g.training if parts[0] == "training" else g.data
    if parts[0] == "data" and not isinstance(raw, dict):
        return "the graph has no data section"
    _, errors = parse(raw or {})
    where = tuple(parts[:2]) if param is None else tuple(parts)
    for error_path, message in errors:
        if tuple(error_path[:len(where)]) == where:
            return message
    return None


__all__ = ["PathError", "param_for", "applies", "get_value", "set_value", "apply_values", "value_problem",
           "WHOLE_SECTIONS", "TYPED"]
