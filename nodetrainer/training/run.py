"""Entry points for training a graph: pre-flight, sessions, resuming and evaluating runs.

The command line, the desktop app's training worker, the tuner and scripts all
start here:

    session = prepare(graph, {"epochs": 5})   # NodeTrainerError with located problems, or ready
    session.subscribe(print)
    result = session.run()                     # RunResult; never raises for training errors

`prepare` does every check that can fail before a single step runs (graph,
settings, device, data, the Input shape against the data naming both shapes, the
output against the number of classes or targets), so a mistake is reported as
`FILE:LINE: node ID: message` lines and not as a traceback minutes later.
`resume(run_dir)` continues a run from its last.pt in the same folder;
`evaluate_run(run_dir, split)` gives the metrics of a run's kept weights.
A worker of a distributed run passes `distributed=Distributed(...)` to `prepare`
or `resume`: it trains on its rank's device and only rank 0 gets the run folder.
"""
from __future__ import annotations

import copy
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from torch import nn

from ..errors import ConfigError, DataError, GraphError, Problem
from ..settings import CLASSIFICATION_LOSSES, TrainingConfig
from .checkpoint import UnsafeCheckpoint, load_checkpoint, write_error_text
from .device import resolve_device
from .runs import BEST_FILE, GRAPH_FILE, LAST_FILE, RunFolder
from .seeding import seed_everything
from .trainer import RunResult, Trainer, TrainerOptions

Overrides = Mapping[str, Any]
PhaseCallback = Callable[[str], None]  # told what preparing a run does next ("loading the data (builtin:digits)")
COMPILING_PHASE = "compiling the network (torch.compile, once per run)"


def _silent(_text: str) -> None:
    pass


@dataclass
class TrainingSession:
    """A prepared run: the graph as trained, its data, model and trainer (and run folder, when writing one)."""

    graph: Any
    config: TrainingConfig
    dataset: Any
    model: nn.Module
    trainer: Trainer
    run_folder: RunFolder | None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path | None:
        return self.run_folder.path if self.run_folder else None

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        return self.trainer.subscribe(callback)

    def run(self) -> RunResult:
        return self.trainer.fit()

    def pause(self) -> None:
        self.trainer.pause()

    def resume(self) -> None:
        self.trainer.resume()

    def stop(self) -> None:
        self.trainer.stop()

    def save_to(self, folder: str | os.PathLike) -> Path:
        """Writes the whole run (graph.yaml, best.pt, last.pt, metrics.csv, summary.json) to `folder`, e.g.
        when `RunResult.unsaved` says the run folder could not be written; ConfigError (one line) on failure."""
        from ..graphfile import dump_graph
        try:
            return self.trainer.save_to(folder, dump_graph(self.graph))
        except OSError as exc:
            where = Path(exc.filename) if getattr(exc, "filename", None) else Path(folder)
            raise ConfigError(Problem(write_error_text(where, exc), str(folder))) from None


# -- overrides ------------------------------------------------------------------------
def apply_overrides(graph: Any, overrides: Overrides | None) -> Any:
    """A copy of `graph` whose training section has `overrides` set ({"epochs": 5, "optimizer.lr": 0.01}).
    Keys may be given with or without the leading 'training.'; None values are ignored."""
    g = graph.copy()
    items = {k: v for k, v in (overrides or {}).items() if v is not None}
    if not items:
        return g
    training = copy.deepcopy(g.training) if isinstance(g.training, dict) else {}
    for key, value in items.items():
        parts = key.split(".")
        if parts[0] == "training":
            parts = parts[1:]
        target = training
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[parts[-1]] = value
    g.training = training
    return g


# -- pre-flight -------------------------------------------------------------------------
def prepare(graph: Any, overrides: Overrides | None = None, *, runs_dir: str | os.PathLike | None = "runs",
            options: TrainerOptions | None = None, data_dir: str | os.PathLike | None = None,
            on_phase: PhaseCallback = _silent, run_dir: str | os.PathLike | None = None,
            distributed: Any = None, compile_now: bool = True) -> TrainingSession:
    """Checks everything and builds a ready-to-run session.

    `graph` is a Graph or a path to a graph file. `runs_dir=None` writes no run folder
    (tuning trials, tests). `data_dir` is where relative data paths start (default:
    the graph file's folder, else the working directory). `on_phase(text)` hears
    each step as it begins, for a display that says what it waits for. Raises
    GraphError, ConfigError or DataError carrying located problems. `run_dir` is a run
    folder made beforehand (by the launcher of a distributed run, with its graph.yaml);
    `distributed` makes this session one rank of a distributed run (rank 0 alone writes).
    With `training.compile` the network is compiled here, as the phase COMPILING_PHASE, unless `compile_now`
    is False (a session made only to check something; `run()` then compiles first).
    """
    graph = _as_graph(graph)
    g = apply_overrides(graph, overrides)
    base = Path(data_dir) if data_dir is not None else (graph.path.parent if graph.path else Path.cwd())
    parts = _build(g, base.resolve(), options, on_phase, distributed, compile_now)
    run = None
    if run_dir is not None:
        if distributed is None or distributed.is_main:
            run = RunFolder(run_dir)
            parts["trainer"].run = run
    elif runs_dir is not None:
        from ..graphfile import dump_graph
        on_phase("creating the run folder")
        run = RunFolder.create(runs_dir, g.name)
        _write_graph(run, dump_graph(g))
        parts["trainer"].run = run
    return _session(g, parts, run)


def resume(run_dir: str | os.PathLike, overrides: Overrides | None = None, *,
           options: TrainerOptions | None = None, on_phase: PhaseCallback = _silent,
           distributed: Any = None) -> TrainingSession:
    """Continues the run in `run_dir` from its last.pt (more epochs: overrides={"epochs": N}); a run trained
    on one process may continue on several and the other way round."""
    from ..graphfile import load_graph
    run = RunFolder(run_dir)
    last_path = run.path / LAST_FILE
    if not last_path.exists():
        raise ConfigError(Problem(f"not a run folder that can be resumed: it has no {LAST_FILE}", str(run.path)))
    summary = run.read_summary() or {}
    if summary.get("stop_reason") == "diverged":
        raise ConfigError(Problem("this run diverged; resuming it would diverge again: train anew "
                                  "with a lower learning rate, grad_clip or a normalization layer", str(run.path)))
    on_phase("reading the last checkpoint")
    last = _load(last_path)
    best = _load(run.path / BEST_FILE) if (run.path / BEST_FILE).exists() else None
    graph = load_graph(run.path / GRAPH_FILE)
    g = apply_overrides(graph, overrides)
    data_dir = Path(last.get("data_dir") or run.path)
    parts = _build(g, data_dir, options, on_phase, distributed)
    trainer: Trainer = parts["trainer"]
    trainer.load_state(last, best)
    if distributed is not None and not distributed.is_main:
        return _session(g, parts, None)  # rank 0 alone writes the run folder
    trainer.run = run
    run.load_metrics(up_to_epoch=trainer.epoch)
    if overrides:
        from ..graphfile import dump_graph
        _write_graph(run, dump_graph(g))
    return _session(g, parts, run)


def _write_graph(run: RunFolder, text: str) -> None:
    try:
        run.write_graph(text)
    except OSError as exc:
        raise ConfigError(Problem(write_error_text(run.graph_path, exc) + "; choose another runs folder (--runs DIR)",
                                  str(run.path))) from None


def _session(g: Any, parts: dict[str, Any], run: RunFolder | None) -> TrainingSession:
    return TrainingSession(graph=g, config=parts["config"], dataset=parts["dataset"], model=parts["model"],
                           trainer=parts["trainer"], run_folder=run, info=parts["info"])


def _build(g: Any, data_dir: Path, options: TrainerOptions | None,
           on_phase: PhaseCallback = _silent, distributed: Any = None, compile_now: bool = True) -> dict[str, Any]:
    on_phase("checking the graph")
    from ..compiler import compile_graph
    from ..validate import check_graph

    report = check_graph(g)
    if report.problems:
        raise GraphError(report.problems)
    cfg = g.training_config()
    data_cfg = g.data_config()
    try:
        device = resolve_device(cfg.device) if distributed is None else distributed.device(cfg.device)
    except ConfigError as exc:
        raise ConfigError([p.located(_file(g), g.line_of("training", "device")) for p in exc.problems]) from None

    inputs, outputs = g.input_ids(), g.output_ids()
    input_id = inputs[0]
    output_id = cfg.output or outputs[0]
    dtypes = {i: str(g.nodes[i].resolved().get("dtype", "float32")) for i in inputs}
    dataset = load_graph_data(g, data_dir, cfg, dtypes, on_phase)
    output_shape = tuple(report.shapes.shapes.get(output_id, ()))
    _check_output(g, cfg, dataset, output_id, output_shape)

    on_phase("building the model")
    seed_everything(cfg.seed)  # before compiling: weight initialization is part of the run
    model = compile_graph(g)
    if cfg.init_from:
        from .init_from import load_initial_weights
        load_initial_weights(model, cfg.init_from, data_dir, (_file(g), g.line_of("training", "init_from")))
    node_of_attr = dict(getattr(model, "node_of_attr", {}) or {})
    output_ids = list(getattr(model, "output_ids", outputs))
    output_index = output_ids.index(output_id) if len(output_ids) > 1 else None

    def split(s: Any) -> Any:
        if s is None or len(s) == 0:
            return None
        return dataset.torch_dataset(s) if getattr(dataset, "stream", None) is not None else s

    extra = {"normalizer": dataset.normalizer.state_dict(), "data_dir": str(data_dir),
             **({"normalizers": {p.input_id: p.normalizer.state_dict() for p in dataset.inputs},
                 "input_ids": list(inputs)} if dataset.inputs else {}),
             "graph_name": g.name, "task": dataset.task, "num_classes": dataset.num_classes,
             "class_names": dataset.class_names, "input_id": input_id, "output_id": output_id}
    on_phase(f"setting up the {cfg.optimizer.type} optimizer on {device}")
    if distributed is not None:
        distributed.init(device)  # the process group, before the model is wrapped for DDP
    try:
        trainer = Trainer(model, cfg, split(dataset.train), split(dataset.val), split(dataset.test),
                          task=dataset.task, num_classes=dataset.num_classes, device=device, options=options,
                          output_index=output_index, node_ids=list(g.nodes), extra_state=extra,
                          num_outputs=(output_shape[-1] if output_shape else 1), node_names=node_of_attr,
                          distributed=distributed, augment=data_cfg.augment,
                          augment_normalizers=list(dataset.normalizers(inputs).values()))
    except ValueError as exc:
        raise ConfigError(g.problem(str(exc), None, "training")) from None
    if compile_now and trainer.compiled is not None and not trainer.compiled.warmed:
        on_phase(COMPILING_PHASE)
        trainer.compile_now()
    info = {"input_id": input_id, "output_id": output_id, "device": str(device), "data_dir": str(data_dir),
            "train_samples": len(dataset.train), "val_samples": len(dataset.val) if dataset.val is not None else 0,
            "test_samples": len(dataset.test) if dataset.test is not None else 0}
    return {"config": cfg, "dataset": dataset, "model": model, "trainer": trainer, "info": info}


def load_graph_data(g: Any, data_dir: Path, cfg: TrainingConfig | None = None, dtypes: dict[str, str] | None = None,
                    on_phase: PhaseCallback = _silent) -> Any:
    """The graph's data set, checked against its Input nodes: DataError with problems located in the graph file
    (a data.inputs key, data.source, or the Input node whose shape differs from its part of a sample)."""
    from ..data import check_input_shape, load_dataset
    from ..data.inputs import InputsError, check_input_shapes
    cfg = cfg or g.training_config()
    data_cfg = g.data_config()
    inputs = g.input_ids()
    if dtypes is None:
        dtypes = {i: str(g.nodes[i].resolved().get("dtype", "float32")) for i in inputs}
    on_phase(f"loading the data ({data_cfg.source})")
    try:
        dataset = load_dataset(data_cfg, data_dir, cfg.task, dtypes if data_cfg.inputs else dtypes[inputs[0]],
                               inputs)
    except InputsError as exc:  # a data.inputs problem: on that key's line
        raise DataError([p.located(_file(g), g.line_of(*exc.path)) for p in exc.problems]) from None
    except DataError as exc:  # a problem inside a data file names that file; others point at data.source
        raise DataError([p if p.file else p.located(_file(g), g.line_of("data", "source"))
                         for p in exc.problems]) from None
    shapes = {i: tuple(g.nodes[i].resolved()["shape"]) for i in inputs}
    if dataset.inputs:
        problems = check_input_shapes(shapes, dataset.inputs)
    else:
        problem = check_input_shape(inputs[0], shapes[inputs[0]], dataset)
        problems = [problem] if problem is not None else []
    if problems:
        raise DataError([p.located(_file(g), g.line_of("nodes", p.node)) for p in problems])
    return dataset


def _check_output(g: Any, cfg: TrainingConfig, dataset: Any, output_id: str, shape: tuple[int, ...]) -> None:
    """The output must have one value per class (classification) or per target (regression)."""
    if not shape:
        return
    sources = g.inputs.get(output_id) or [output_id]
    node = sources[0]
    width = shape[-1] if len(shape) else 1
    if dataset.task == "classification" and cfg.loss in CLASSIFICATION_LOSSES and dataset.num_classes:
        c = dataset.num_classes
        ok = width == c or (cfg.loss == "bce_with_logits" and c == 2 and width == 1)
        if len(shape) != 1 or not ok:
            want = f"{c}" + (" (or 1 for bce_with_logits)" if c == 2 and cfg.loss == "bce_with_logits" else "")
            raise DataError(g.problem(
                f"the network's output {list(shape)} must be [{want}]: the data ({dataset.source}) has {c} classes; "
                f"set {node}'s out_features to {c}", node))
    elif dataset.task == "regression":
        targets = math.prod(dataset.target_shape) if dataset.target_shape else 1
        if math.prod(shape) != targets:
            raise DataError(g.problem(
                f"the network's output {list(shape)} must have {targets} value(s) per sample to match the data's "
                f"targets {list(dataset.target_shape)} ({dataset.source}); set {node}'s out_features to {targets}",
                node))


# -- evaluation ---------------------------------------------------------------------------
def kept_weights(run: RunFolder) -> dict[str, Any]:
    """The checkpoint holding the weights a run kept (summary.json's `kept_weights`, else best.pt, else
    last.pt): the state dict under "model", with the normalization statistics and data facts of the run.
    ConfigError (one line) when `run` is no run folder or has no readable weights."""
    if not (run.path / GRAPH_FILE).exists():
        raise ConfigError(Problem(f"not a run folder: it has no {GRAPH_FILE}", str(run.path)))
    try:
        summary = run.read_summary() or {}
    except (OSError, ValueError):
        summary = {}
    kept = summary.get("kept_weights") or BEST_FILE
    weights_path = run.path / kept
    if not weights_path.exists():
        weights_path = run.path / (LAST_FILE if kept == BEST_FILE else BEST_FILE)
    if not weights_path.exists():
        raise ConfigError(Problem(f"the run folder has no weights ({BEST_FILE} or {LAST_FILE})", str(run.path)))
    return _load(weights_path)


def evaluate_run(run_dir: str | os.PathLike, split: str = "test", device: str | None = None) -> dict[str, float]:
    """Loss and metrics of a run's kept weights on `split` (val or test); ConfigError when it has no such split."""
    from ..graphfile import load_graph
    run = RunFolder(run_dir)
    payload = kept_weights(run)
    graph = load_graph(run.path / GRAPH_FILE)
    g = apply_overrides(graph, {"device": device, "compile": False})  # evaluating once: compiling would not pay
    parts = _build(g, Path(payload.get("data_dir") or run.path), TrainerOptions(grad_stats=False))
    trainer: Trainer = parts["trainer"]
    trainer.model.load_state_dict(payload["model"])
    if split not in ("val", "test", "train"):
        raise ConfigError(Problem(f"split must be val or test, got '{split}'", str(run.path)))
    try:
        return trainer.evaluate(split)
    except ValueError as exc:
        raise ConfigError(Problem(f"{exc}: the run's data.split gives it no {split} samples", str(run.path))) from None


# -- helpers ------------------------------------------------------------------------------
def _as_graph(graph: Any) -> Any:
    if isinstance(graph, (str, os.PathLike)):
        from ..graphfile import load_graph
        return load_graph(graph)
    return graph


def _file(g: Any) -> str | None:
    return str(g.path) if getattr(g, "path", None) else None


def _load(path: Path) -> dict[str, Any]:
    """A run's checkpoint; ConfigError (one line) for one that is refused or unreadable."""
    try:
        with warnings.catch_warnings():  # torch's advice on weights_only is not the user's business here
            warnings.simplefilter("ignore")
            return load_checkpoint(path, map_location="cpu")
    except UnsafeCheckpoint as exc:
        raise ConfigError(Problem(f"checkpoint {exc}", str(path))) from None
    except Exception as exc:
        text = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ConfigError(Problem(f"cannot read the checkpoint: {type(exc).__name__}: {text}", str(path))) from None


__all__ = ["TrainingSession", "prepare", "resume", "evaluate_run", "apply_overrides", "kept_weights",
           "load_graph_data"]
