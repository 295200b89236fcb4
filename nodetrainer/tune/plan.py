"""The tuning pre-flight: everything that can be wrong is found before any trial starts.

`plan_tune(graph)` checks the graph (the one validation path, which also checks
that every tuned path names a value), the `tune` section's space (every choice
and both ends of every range are checked as file values would be), the data and
the model (the training pre-flight, once, on the file's own values), that
`tune.metric` is something the training reports, and that the storage opens.
Only then is the tune folder created, with the input graph and `tune.json`.
Problems are raised as NodeTrainerError with located `FILE:LINE:` lines.

`plan_resume(folder)` rebuilds the plan of an existing tune folder (its
`input.yaml` and `tune.json`); `--jobs` workers load their plan the same way.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError, GraphError, NodeTrainerError, Problem, did_you_mean, one_of
from ..graph import Graph
from ..settings import TUNE_PARAMS, monitor_maximized, parse_tune
from .folder import TuneFolder
from .space import Dimension, parse_space


@dataclass
class TunePlan:
    """A checked study: the graph, its space and settings, the folder and the storage."""

    graph: Graph
    dims: list[Dimension]
    metric: str
    direction: str
    sampler: str
    pruner: str
    target: int  # the study's total of finished trials
    timeout_s: float | None
    folder: TuneFolder
    storage_url: str | None  # None: the folder's study.db
    study_name: str
    data_dir: Path
    seed: int = 0
    baseline: bool = True  # trial 0 runs the file's own values
    elapsed_s: float = 0.0  # time spent on the study by earlier runs of this folder
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def storage(self) -> str:
        return self.storage_url or self.folder.default_storage

    def open_storage(self) -> Any:
        """The study's Optuna storage (the folder's SQLite file in its fast local mode)."""
        from .study import open_storage
        return open_storage(self.storage, local=self.storage_url is None)

    @property
    def paths(self) -> list[str]:
        return [d.path for d in self.dims]

    def save(self) -> None:
        """tune.json: what `--resume` and `--jobs` workers need to continue this study."""
        self.folder.write_settings({
            "study": self.study_name, "storage": self.storage_url, "trials": self.target,
            "timeout_s": self.timeout_s, "metric": self.metric, "direction": self.direction,
            "sampler": self.sampler, "pruner": self.pruner, "data_dir": str(self.data_dir),
            "graph_file": str(self.graph.path) if self.graph.path else None, "seed": self.seed,
            "baseline": self.baseline, "elapsed_s": round(self.elapsed_s, 3),
        })
        if self.storage_url and "@" in self.storage_url:
            try:
                os.chmod(self.folder.path / "tune.json", 0o600)  # the URL may hold a password
            except OSError:
                pass


def tune_settings(graph: Graph) -> dict[str, Any]:
    """The tune section's values with defaults; the direction follows the metric when the file gives none
    (maximize for accuracy, f1 and r2)."""
    raw = graph.tune if isinstance(graph.tune, dict) else {}
    out = {name: param.default for name, param in TUNE_PARAMS.items() if name != "space"}
    out.update({k: v for k, v in raw.items() if k != "space"})
    if "direction" not in raw:
        out["direction"] = "maximize" if monitor_maximized(out["metric"]) else "minimize"
    return out


def plan_tune(graph: Graph | str | os.PathLike, *, trials: int | None = None, timeout_s: float | None = None,
              storage: str | None = None, study: str | None = None, runs_dir: str | os.PathLike = "runs",
              tune: dict[str, Any] | None = None, baseline: bool = True, prefix: str = "tune",
              data_dir: str | os.PathLike | None = None,
              on_phase: Callable[[str], None] = lambda _t: None) -> TunePlan:
    """Checks everything (see the module docstring) and creates the tune folder. `tune` replaces the file's
    tune section (the app's Compare); `baseline=False` leaves out trial 0."""
    if isinstance(graph, (str, os.PathLike)):
        from ..graphfile import load_graph
        graph = load_graph(graph)
    graph = graph.copy()
    if tune is not None:
        graph.tune = dict(tune)
    on_phase("checking the graph and its tune section")
    if graph.tune is None:
        raise ConfigError(graph.problem(
            "the graph has no 'tune' section; add one such as tune: {metric: val_accuracy, space: "
            "{training.optimizer.lr: {log_uniform: [1.0e-4, 1.0e-1]}}}"))
    from ..validate import check_graph
    report = check_graph(graph)
    if report.problems:
        raise GraphError(report.problems)
    _, errors = parse_tune(graph.tune)
    if errors:  # check_graph reported these already; kept for a graph built in code
        raise ConfigError([graph.problem(m, None, *p) for p, m in errors])
    settings = tune_settings(graph)
    if trials is not None and trials < 1:
        raise ConfigError(Problem(f"--trials must be at least 1, got {trials}"))
    if timeout_s is not None and timeout_s <= 0:
        raise ConfigError(Problem(f"--timeout must be more than 0 seconds, got {timeout_s}"))
    dims, problems = parse_space(graph, settings["sampler"])
    if problems:
        raise ConfigError(problems)
    base = Path(data_dir) if data_dir is not None else (graph.path.parent if graph.path else Path.cwd())
    on_phase("checking the data and the model (the file's own values)")
    _check_training(graph, settings["metric"], base.resolve(), on_phase)
    from .study import open_storage
    if storage:
        open_storage(storage)
    from ..training.runs import safe_name
    folder = TuneFolder.create(runs_dir, graph.name, prefix)
    cfg = graph.training_config()
    plan = TunePlan(graph=graph, dims=dims, metric=settings["metric"], direction=settings["direction"],
                    sampler=settings["sampler"], pruner=settings["pruner"],
                    target=int(trials if trials is not None else settings["trials"]),
                    timeout_s=timeout_s if timeout_s is not None else settings["timeout_s"],
                    folder=folder, storage_url=storage or None, study_name=study or safe_name(graph.name),
                    data_dir=base.resolve(), seed=cfg.seed, baseline=baseline)
    folder.write_input(graph)
    plan.save()
    return plan


def metric_choices(config: Any, has_val: bool) -> list[str]:
    """What a run reports each epoch that a study can optimize."""
    names = config.metric_names()
    out = ["val_loss"] + [f"val_{m}" for m in names] if has_val else []
    return out + ["train_loss"] + [f"train_{m}" for m in names]


def _check_training(graph: Graph, metric: str, data_dir: Path, on_phase: Callable[[str], None]) -> None:
    from ..training.run import prepare
    from ..training.trainer import TrainerOptions
    session = prepare(graph, runs_dir=None, data_dir=data_dir, on_phase=on_phase, compile_now=False,
                      options=TrainerOptions(grad_stats=False, train_metrics=metric.startswith("train_")))
    has_val = session.trainer.val_batches is not None
    valid = metric_choices(session.config, has_val)
    del session
    if metric not in valid:
        why = "" if has_val or not metric.startswith("val_") else \
            " (the data has no validation split: set data.split.val above 0)"
        raise ConfigError(graph.problem(
            f"tune.metric '{metric}' is not reported by this training{why}{did_you_mean(metric, valid)}; "
            f"it may be {one_of(valid)}", None, "tune", "metric"))


def plan_resume(path: str | os.PathLike, *, trials: int | None = None,
                timeout_s: float | None = None) -> TunePlan:
    """The plan of an existing tune folder; ConfigError when `path` is none."""
    folder = TuneFolder(path)
    if not folder.exists:
        raise ConfigError(Problem("not a tune folder: it has no tune.json and input.yaml", str(folder.path)))
    try:
        s = folder.read_settings()
        graph = folder.read_input()
    except NodeTrainerError:
        raise
    except (OSError, ValueError) as exc:
        raise ConfigError(Problem(f"cannot read the tune folder: {exc}", str(folder.path))) from None
    if trials is not None and trials < 1:
        raise ConfigError(Problem(f"--trials must be at least 1, got {trials}"))
    dims, problems = parse_space(graph, s.get("sampler", "tpe"))
    if problems:
        raise ConfigError(problems)
    return TunePlan(graph=graph, dims=dims, metric=s["metric"], direction=s["direction"], sampler=s["sampler"],
                    pruner=s["pruner"], target=int(trials if trials is not None else s["trials"]),
                    timeout_s=timeout_s if timeout_s is not None else s.get("timeout_s"), folder=folder,
                    storage_url=s.get("storage"), study_name=s["study"], data_dir=Path(s["data_dir"]),
                    seed=int(s.get("seed", 0)), baseline=bool(s.get("baseline", True)),
                    elapsed_s=float(s.get("elapsed_s", 0.0)), settings=s)


__all__ = ["TunePlan", "plan_tune", "plan_resume", "tune_settings", "metric_choices"]
