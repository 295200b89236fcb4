"""The search space of a graph file's `tune` section, as Optuna distributions.

`parse_space(graph)` turns `tune.space` into `Dimension`s and reports, located
at the range's line, everything that would make a trial fail for a reason the
file itself holds: a path that names no value, a range whose ends or choices
the value's own declaration refuses (`nodes.drop.p: {uniform: [0, 1.5]}`),
`log`/`step` combinations Optuna cannot sample, a range the grid sampler cannot
enumerate. All of that is found before any trial starts.

A `Dimension` suggests its value through an Optuna trial (`suggest_float`,
`suggest_int`, `suggest_categorical`, named by the dotted path). A choice may
hold mappings (`training.optimizer: {choice: [{type: sgd}, {type: sgd,
momentum: 0.9}]}`): Optuna sees each as its text label. `sample` asks the
dimensions in an order where a section's `type` comes before its keys, and
leaves out keys the chosen type does not take (a conditional space, as Optuna's
define-by-run allows). `suggested_range` is the range the app proposes when a
user picks "Tune this…" on a field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import Problem
from ..graph import Graph
from ..graphfile import scalar
from ..schema import Param
from ..settings import (EARLY_STOPPING_PARAMS, GRAD_CLIP_PARAMS, OPTIMIZER_KEYS, OPTIMIZER_PARAMS,
                        REGULARIZATION_PARAMS, SCHEDULER_KEYS, SCHEDULER_PARAMS, TRAINING_PARAMS)
from .values import PathError, applies, get_value, param_for, set_value, split, value_problem

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "none")
MAX_GRID = 10_000  # points; a larger grid is a mistake worth a message


@dataclass(frozen=True)
class Dimension:
    """One tuned value: `kind` choice, uniform, log_uniform or int; `choices` are the values themselves and
    `labels` what Optuna records for them (the value, or its text for a mapping or list)."""

    path: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    labels: tuple[Any, ...] = ()

    @property
    def is_type(self) -> bool:
        """A section's type (or the whole section): sampled before that section's keys."""
        return self.path.endswith(".type") or self.path in ("training.optimizer", "training.scheduler")

    def suggest(self, trial: Any) -> Any:
        """The value Optuna's `trial` proposes (or the one enqueued for it)."""
        if self.kind == "choice":
            label = trial.suggest_categorical(self.path, list(self.labels))
            return self.choices[self.labels.index(label)]
        if self.kind == "int":
            return int(trial.suggest_int(self.path, int(self.low), int(self.high), step=int(self.step or 1),
                                         log=self.log))
        return float(trial.suggest_float(self.path, float(self.low), float(self.high), log=self.log,
                                         step=self.step))

    def contains(self, value: Any) -> bool:
        """Whether `value` is one this dimension can propose (so it can be enqueued as a trial's value)."""
        if self.kind == "choice":
            return any(_same(value, c) for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if self.kind == "int" and not isinstance(value, int):
            return False
        if not self.low <= value <= self.high:
            return False
        if self.step:
            k = (value - self.low) / self.step
            return abs(k - round(k)) < 1e-9
        return True

    def label_of(self, value: Any) -> Any:
        """What Optuna records for `value` (which `contains`)."""
        if self.kind == "choice":
            return next(label for c, label in zip(self.choices, self.labels) if _same(value, c))
        return int(value) if self.kind == "int" else float(value)

    def grid(self) -> list[Any]:
        """Every value a grid search visits, as Optuna labels."""
        if self.kind == "choice":
            return list(self.labels)
        step = int(self.step or 1)
        return list(range(int(self.low), int(self.high) + 1, step))

    def probes(self) -> list[Any]:
        """The values checked before any trial: every choice, or both ends of the range."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [float(self.low), float(self.high)]

    def describe(self) -> str:
        """The range in words for tables: `log 1e-4 .. 0.1`, `int 32 .. 512 step 32`, `sgd | adam`."""
        if self.kind == "choice":
            return " | ".join(str(label) for label in self.labels)
        text = f"{_num(self.low)} .. {_num(self.high)}"
        if self.log:
            text = "log " + text
        if self.kind == "int":
            text = "int " + text
        if self.step:
            text += f" step {_num(self.step)}"
        return text


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b) or (isinstance(a, float) and isinstance(b, float) and a == b)


def label(value: Any) -> Any:
    """What Optuna can store for a choice: the value itself, or its file text for a mapping or list."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return scalar(value)


def text(value: Any) -> str:
    """A value as the file writes it (for tables and lines)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return scalar(value, flow=False) if not isinstance(value, str) else value


# -- reading the space -------------------------------------------------------------------------------
def parse_space(graph: Graph, sampler: str = "tpe") -> tuple[list[Dimension], list[Problem]]:
    """The dimensions of `graph.tune['space']` and every problem with them, located at their lines."""
    tune = graph.tune if isinstance(graph.tune, dict) else {}
    space = tune.get("space") if isinstance(tune.get("space"), dict) else {}
    dims: list[Dimension] = []
    problems: list[Problem] = []
    for path, rng in space.items():
        path = str(path)

        def bad(message: str, path: str = path) -> None:
            problems.append(graph.problem(message, _node_of(path), "tune", "space", path))

        if not isinstance(rng, dict):
            bad(f"the range of '{path}' must be a mapping such as {{uniform: [lo, hi]}}")
            continue
        try:
            param_for(graph, path)
        except PathError as exc:
            bad(f"tune path {exc}")
            continue
        dim, message = _dimension(path, rng)
        if dim is None:
            bad(message)
            continue
        if sampler == "grid" and dim.kind not in ("choice", "int"):
            bad(f"the grid sampler visits listed values only: give '{path}' a choice such as "
                f"{{choice: [{', '.join(_num(v) for v in _spread(dim))}]}} or an int range")
            continue
        for value in dim.probes():
            why = value_problem(graph, path, value)
            if why:
                bad(f"tune value {scalar(value)} of '{path}' is invalid: {why}")
                break
        else:
            dims.append(dim)
    problems += _check_conditionals(graph, dims)
    if sampler == "grid" and dims and not problems:
        size = math.prod(len(d.grid()) for d in dims)
        if size > MAX_GRID:
            problems.append(graph.problem(f"the grid has {size:,} points (more than {MAX_GRID:,}); use fewer "
                                          f"values or the tpe sampler", None, "tune", "sampler"))
    return dims, problems


def _node_of(path: str) -> str | None:
    parts = split(path)
    return parts[1] if parts[0] == "nodes" and len(parts) > 1 else None


def _spread(dim: Dimension) -> list[float]:
    lo, hi = float(dim.low), float(dim.high)
    if dim.log:
        return [lo, math.sqrt(lo * hi), hi]
    return [lo, (lo + hi) / 2, hi]


def _dimension(path: str, rng: dict[str, Any]) -> tuple[Dimension | None, str]:
    kinds = [k for k in ("choice", "uniform", "log_uniform", "int") if k in rng]
    if len(kinds) != 1:
        return None, f"the range of '{path}' needs exactly one of choice, uniform, log_uniform or int"
    kind = kinds[0]
    log, step = rng.get("log", False), rng.get("step")
    if not isinstance(log, bool):
        return None, f"'log' of '{path}' must be true or false"
    if kind == "choice":
        if "log" in rng or "step" in rng:
            return None, f"a choice takes no 'log' or 'step' ('{path}')"
        choices = rng["choice"]
        if not isinstance(choices, list) or not choices:
            return None, f"'choice' of '{path}' must be a non-empty list"
        labels = [label(c) for c in choices]
        if len(set(map(repr, labels))) != len(labels):
            return None, f"the choices of '{path}' repeat a value"
        return Dimension(path, "choice", choices=tuple(choices), labels=tuple(labels)), ""
    bounds = rng[kind]
    if not (isinstance(bounds, list) and len(bounds) == 2
            and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
            and bounds[0] < bounds[1]):
        return None, f"'{kind}' of '{path}' must be [lo, hi] with lo < hi"
    lo, hi = bounds
    if kind == "log_uniform":
        log = True
    if log and lo <= 0:
        return None, f"a log range of '{path}' needs lo > 0, got {_num(lo)}"
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
            return None, f"'step' of '{path}' must be a positive number"
        if log and (kind != "int" or step != 1):
            return None, f"'{path}': Optuna samples a log range without a step; drop 'step' or 'log'"
        if kind == "int" and not isinstance(step, int):
            return None, f"'step' of the int range of '{path}' must be an integer"
    if kind == "int":
        if not all(isinstance(b, int) for b in bounds):
            return None, f"'int' of '{path}' must have integer bounds"
        return Dimension(path, "int", lo, hi, log=log, step=step if step and step != 1 else None), ""
    return Dimension(path, "log_uniform" if log else "uniform", float(lo), float(hi), log=log,
                     step=float(step) if step is not None else None), ""


def range_problem(graph: Graph, path: str, rng: Any, sampler: str = "tpe") -> str | None:
    """Why `rng` cannot be the range of `path` in `graph`'s space (what `parse_space` says at its line), or None."""
    g = graph.copy()
    tune = dict(g.tune) if isinstance(g.tune, dict) else {}
    tune["space"] = {**(tune.get("space") or {}), path: rng}
    g.tune = tune
    _, problems = parse_space(g, sampler)
    return next((p.message for p in problems if f"'{path}'" in p.message), None)


def choices_from_text(text: str) -> list[Any]:
    """The values typed as `sgd, adam` or `32, 64, 128` or `{type: sgd}, {type: sgd, momentum: 0.9}`, read as
    a YAML flow list; ValueError with the reason."""
    import yaml
    try:
        values = yaml.safe_load(f"[{text}]")
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not a list of values"
        raise ValueError(f"cannot read the choices: {problem}") from None
    if not isinstance(values, list) or not values:
        raise ValueError("give at least one value, separated by commas")
    return values


def choices_text(values: list[Any]) -> str:
    return ", ".join(scalar(v) for v in values)


def _check_conditionals(graph: Graph, dims: list[Dimension]) -> list[Problem]:
    """A key of the optimizer or scheduler that the file's type does not take is tuned only when the type
    is tuned too (otherwise no trial would ever use it)."""
    problems = []
    tuned = {d.path for d in dims}
    for dim in dims:
        parts = split(dim.path)
        if parts[0] != "training" or len(parts) != 3 or parts[2] == "type" or applies(graph, dim.path):
            continue
        if f"training.{parts[1]}.type" in tuned or f"training.{parts[1]}" in tuned:
            continue
        kind = get_value(graph, f"training.{parts[1]}.type")
        problems.append(graph.problem(
            f"tune path '{dim.path}': the {parts[1]} '{kind}' takes no '{parts[2]}', so no trial would use it; "
            f"set training.{parts[1]}.type or tune it too", None, "tune", "space", dim.path))
    return problems


def ordered(dims: list[Dimension]) -> list[Dimension]:
    """Types (and whole sections) first, so the keys after them know whether they apply."""
    return sorted(dims, key=lambda d: 0 if d.is_type else 1)


# -- sampling -----------------------------------------------------------------------------------------
def sample(trial: Any, dims: list[Dimension], graph: Graph) -> dict[str, Any]:
    """The values of one trial (path -> value), asked of Optuna's `trial`; keys the chosen optimizer or
    scheduler type does not take are left out."""
    g = graph.copy()
    values: dict[str, Any] = {}
    for dim in ordered(dims):
        if not applies(g, dim.path):
            continue
        value = dim.suggest(trial)
        set_value(g, dim.path, value)
        values[dim.path] = value
    return values


def baseline(dims: list[Dimension], graph: Graph) -> tuple[dict[str, Any], dict[str, Any]]:
    """The file's own values: (what to enqueue for Optuna, path -> label, for those inside their range;
    what trial 0 shows, path -> value, for every dimension that applies)."""
    enqueue, shown = {}, {}
    for dim in ordered(dims):
        if not applies(graph, dim.path):
            continue
        value = get_value(graph, dim.path)
        shown[dim.path] = value
        if dim.contains(value):
            enqueue[dim.path] = dim.label_of(value)
    return enqueue, shown


def suggest_baseline(trial: Any, dims: list[Dimension], graph: Graph, enqueued: dict[str, Any]) -> None:
    """Trial 0: tells Optuna the file's values that lie inside their ranges (they were enqueued)."""
    for dim in ordered(dims):
        if dim.path in enqueued and applies(graph, dim.path):
            dim.suggest(trial)


def grid_space(dims: list[Dimension]) -> dict[str, list[Any]]:
    """Optuna's GridSampler search space."""
    return {d.path: d.grid() for d in dims}


# -- what the app proposes ---------------------------------------------------------------------------------
def suggested_range(param: Param, value: Any) -> dict[str, Any] | None:
    """A starting range for tuning a value now `value` (None: not something to tune: text, lists)."""
    if param.kind == "choice":
        return {"choice": list(param.choices)}
    if param.kind == "bool":
        return {"choice": [False, True]}
    lo = param.lo
    hi = param.hi
    if param.kind in ("int", "int_or_null", "size", "padding") and (isinstance(value, int) or value is None):
        v = value if isinstance(value, int) and not isinstance(value, bool) else int(param.lo or 1)
        if "kernel" in param.name:
            top = max(5, v + 2 if v % 2 else v + 1)
            return {"int": [1, top], "step": 2}
        low = max(int(lo) + (1 if param.lo_open else 0) if lo is not None else 0, v // 2)
        high = v * 2 if v > 0 else 10
        if hi is not None:
            high = min(high, int(hi) - (1 if param.hi_open else 0))
        if high <= low:
            high = low + 1
        rng: dict[str, Any] = {"int": [low, high]}
        if low > 0 and high / low >= 4:
            rng["log"] = True
        return rng
    if param.kind == "float":
        v = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if hi is not None and lo is not None and hi <= 1 and lo >= 0:  # a rate or fraction: linear
            top = min(hi * (0.9 if param.hi_open else 1.0), max(0.5, 2 * (v or 0.0)))
            return {"uniform": [float(lo), round(top, 6)]}
        if lo is not None and lo >= 0:
            if v and v > 0:
                return {"log_uniform": [_round(v / 10), _round(v * 10 if hi is None else min(hi, v * 10))]}
            return {"log_uniform": [1.0e-6, 1.0e-2]}
        centre = v or 0.0
        return {"uniform": [centre - 1.0, centre + 1.0]}
    return None


def _round(x: float) -> float:
    return float(f"{x:.3g}")


def tunable_settings(graph: Graph) -> list[tuple[str, Param]]:
    """The training settings a user can pick in the Tune tab (those of the file's optimizer and scheduler
    types, and the type itself), as (path, Param), numbers and choices only."""
    out: list[tuple[str, Param]] = []
    skip = {"output", "device", "seed", "deterministic", "precision", "epochs"}
    for name, param in TRAINING_PARAMS.items():
        if name not in skip and _tunable(param):
            out.append((f"training.{name}", param))
    opt = get_value(graph, "training.optimizer.type")
    for key in OPTIMIZER_KEYS.get(opt, ()):
        if _tunable(OPTIMIZER_PARAMS[key]):
            out.append((f"training.optimizer.{key}", OPTIMIZER_PARAMS[key]))
    sched = get_value(graph, "training.scheduler.type")
    for key in SCHEDULER_KEYS.get(sched, ()):
        if _tunable(SCHEDULER_PARAMS[key]):
            out.append((f"training.scheduler.{key}", SCHEDULER_PARAMS[key]))
    for section, params in (("regularization", REGULARIZATION_PARAMS), ("early_stopping", EARLY_STOPPING_PARAMS),
                            ("grad_clip", GRAD_CLIP_PARAMS)):
        for key, param in params.items():
            if _tunable(param) and not (section == "early_stopping" and key in ("monitor", "mode")):
                out.append((f"training.{section}.{key}", param))
    return out


def tunable_node_params(graph: Graph) -> list[tuple[str, Param]]:
    """Every node parameter that is a number or a choice, as (path, Param)."""
    out = []
    for node in graph.nodes.values():
        if node.spec is None or node.type in ("Input", "Output"):
            continue
        for param in node.spec.params:
            if _tunable(param):
                out.append((f"nodes.{node.id}.{param.name}", param))
    return out


def _tunable(param: Param) -> bool:
    return param.kind in ("int", "int_or_null", "float", "choice", "bool", "size")


def short_names(paths: list[str]) -> dict[str, str]:
    """The shortest dotted suffix that tells each path apart: lr, p, fc1.out_features, fc2.out_features."""
    out = {}
    for path in paths:
        parts = split(path)
        for n in range(1, len(parts) + 1):
            name = ".".join(parts[-n:])
            if sum(1 for other in paths if ".".join(split(other)[-n:]) == name) == 1:
                break
        out[path] = name
    return out


__all__ = ["Dimension", "SAMPLERS", "PRUNERS", "parse_space", "sample", "baseline", "suggest_baseline",
           "grid_space", "ordered", "label", "text", "suggested_range", "tunable_settings", "tunable_node_params",
           "short_names", "range_problem", "choices_from_text", "choices_text"]
