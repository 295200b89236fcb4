"""Editing a graph's `tune` section as the app does: add, change or remove a range, set a setting, and the
Compare study over one choice.

Each function returns a new section (or None: no tune section) for the caller to hand to the undo stack, so
the app holds no rules of the format. A setting equal to its default is left out of the file; removing the
last range removes the section (a tune section needs a space).
"""
from __future__ import annotations

import copy
from typing import Any

from ..graph import Graph
from ..settings import TUNE_PARAMS

# What "Compare" offers for the optimizer: the primer's optimizers, momentum as SGD with momentum 0.9.
OPTIMIZER_VARIANTS: dict[str, dict[str, Any]] = {
    "sgd": {"type": "sgd"},
    "momentum": {"type": "sgd", "momentum": 0.9},
    "rmsprop": {"type": "rmsprop"},
    "adagrad": {"type": "adagrad"},
    "adam": {"type": "adam"},
    "adamw": {"type": "adamw"},
}
OPTIMIZER_PATH = "training.optimizer"


def with_range(tune: dict[str, Any] | None, path: str, rng: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(tune) if isinstance(tune, dict) else {}
    space = dict(out.get("space") or {})
    space[path] = copy.deepcopy(rng)
    out["space"] = space
    return out


def without_range(tune: dict[str, Any] | None, path: str) -> dict[str, Any] | None:
    if not isinstance(tune, dict):
        return None
    out = copy.deepcopy(tune)
    space = {k: v for k, v in (out.get("space") or {}).items() if k != path}
    if not space:
        return None
    out["space"] = space
    return out


def with_setting(tune: dict[str, Any] | None, key: str, value: Any) -> dict[str, Any] | None:
    """`key` set (None or the default: left out). A section without a space stays as it was: it could not
    be written."""
    if not isinstance(tune, dict) or not tune.get("space"):
        return tune
    out = copy.deepcopy(tune)
    param = TUNE_PARAMS[key]
    if value is None or (value == param.default and type(value) is type(param.default)):
        out.pop(key, None)
    else:
        out[key] = value
    return out


def compare_options(graph: Graph) -> list[tuple[str, list[tuple[str, Any]]]]:
    """What Compare can go over: (path, [(name, value), ...]); the optimizer first (with momentum as SGD with
    momentum 0.9), then every choice of the training settings and of the nodes."""
    out: list[tuple[str, list[tuple[str, Any]]]] = [
        (OPTIMIZER_PATH, [(name, dict(v)) for name, v in OPTIMIZER_VARIANTS.items()])]
    from .space import tunable_node_params, tunable_settings
    for path, param in tunable_settings(graph) + tunable_node_params(graph):
        if param.kind == "choice" and path not in ("training.optimizer.type", "training.loss"):
            out.append((path, [(str(c), c) for c in param.choices]))
    return out


def compare_section(graph: Graph, path: str, values: list[Any]) -> dict[str, Any]:
    """The tune section of a Compare: a grid over `values` at `path`, no pruning, one trial each (the file's
    seed for all), judged by the file's tune metric or the validation loss."""
    tune = graph.tune if isinstance(graph.tune, dict) else {}
    metric = tune.get("metric", "val_loss")
    out: dict[str, Any] = {"metric": metric, "trials": len(values), "sampler": "grid", "pruner": "none",
                           "space": {path: {"choice": copy.deepcopy(list(values))}}}
    if "direction" in tune:
        out["direction"] = tune["direction"]
    return out


def variant_name(value: Any) -> str:
    """The Compare legend's word for an optimizer mapping (momentum for SGD with momentum)."""
    for name, variant in OPTIMIZER_VARIANTS.items():
        if value == variant:
            return name
    return str(value)


__all__ = ["OPTIMIZER_VARIANTS", "OPTIMIZER_PATH", "with_range", "without_range", "with_setting",
           "compare_options", "compare_section", "variant_name"]
