"""Reading finished (and running) runs back: the runs of one graph, their summaries and metrics.

The desktop app's runs panel, scripts and notebooks list a graph's runs from its
runs folder (`runs/NAME/TIMESTAMP/`, see runs.py for the layout) through this
module, so none of them parses folder names or summary.json themselves:

    for run in list_runs("runs", "digits-mlp"):          # newest first
        print(run.label, run.stop_reason, run.best_value, run.duration_s)
    rows = read_metrics(run.path)                          # one dict an epoch

A folder without summary.json is a run still in progress (or one whose process
died); it is listed with `stop_reason` None. Nothing here writes.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..settings import monitor_maximized
from .runs import GRAPH_FILE, LAST_FILE, METRICS_FILE, SUMMARY_FILE, RunFolder, safe_name

STAMP_FORMAT = "%Y%m%d-%H%M%S"


@dataclass
class RunInfo:
    """What a run folder says about its run."""

    path: Path
    started: datetime | None
    stop_reason: str | None  # completed, early_stopped, diverged, stopped, failed; None: no summary (yet)
    epochs_run: int | None = None
    best_epoch: int | None = None
    monitor: str | None = None
    best: dict[str, float] = field(default_factory=dict)
    test: dict[str, float] | None = None
    duration_s: float | None = None
    samples_per_s: float | None = None
    error: str | None = None
    error_node: str | None = None
    device: str | None = None

    @property
    def label(self) -> str:
        """The folder name (its start time), e.g. 20260301-141502."""
        return self.path.name

    @property
    def best_value(self) -> float | None:
        """The monitored value at the best epoch (val_loss unless early stopping watched another)."""
        value = self.best.get(self.monitor or "val_loss")
        if value is None and self.best:
            value = self.best.get("val_loss", self.best.get("train_loss"))
        return value if isinstance(value, (int, float)) and math.isfinite(value) else None

    @property
    def best_metric(self) -> tuple[str, float] | None:
        """The headline number: the first validation metric other than the loss (e.g. val_accuracy), else the
        monitored value."""
        for key, value in self.best.items():
            if key.startswith("val_") and key != "val_loss" and isinstance(value, (int, float)):
                return key, float(value)
        value = self.best_value
        return (self.monitor or "val_loss", value) if value is not None else None

    @property
    def graph_file(self) -> Path:
        """The exact graph file the run trained."""
        return self.path / GRAPH_FILE

    @property
    def resumable(self) -> bool:
        return (self.path / LAST_FILE).exists() and self.stop_reason not in ("diverged", "failed")


def runs_folder(runs_dir: str | Path, graph_name: str) -> Path:
    """Where the runs of a graph called `graph_name` live."""
    return Path(runs_dir) / safe_name(graph_name)


def list_runs(runs_dir: str | Path, graph_name: str | None = None) -> list[RunInfo]:
    """The runs under runs_dir/NAME (or directly under `runs_dir` when `graph_name` is None), newest first.
    Folders that are not run folders (no graph.yaml) are skipped; a missing folder gives []."""
    base = runs_folder(runs_dir, graph_name) if graph_name is not None else Path(runs_dir)
    if not base.is_dir():
        return []
    runs = [read_run(p) for p in base.iterdir() if p.is_dir() and (p / GRAPH_FILE).exists()]
    return sorted(runs, key=lambda r: (r.started or datetime.min, r.path.name), reverse=True)


def read_run(path: str | Path) -> RunInfo:
    """A run folder's summary (a folder without summary.json reads as a run in progress)."""
    path = Path(path)
    summary: dict[str, Any] = {}
    try:
        summary = json.loads((path / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        summary = {}
    return RunInfo(
        path=path, started=_started(path), stop_reason=summary.get("stop_reason"),
        epochs_run=summary.get("epochs_run"), best_epoch=summary.get("best_epoch"), monitor=summary.get("monitor"),
        best=_numbers(summary.get("best")), test=_numbers(summary.get("test")) if summary.get("test") else None,
        duration_s=summary.get("duration_s"), samples_per_s=summary.get("samples_per_s"),
        error=summary.get("error"), error_node=summary.get("error_node"), device=summary.get("device"))


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """metrics.csv of a run as one dict an epoch (numbers parsed; an empty cell is None); [] when absent."""
    folder = RunFolder(path)
    if not (folder.path / METRICS_FILE).exists():
        return []
    try:
        folder.load_metrics()
    except (OSError, ValueError, KeyError):
        return []
    return folder.rows


def column(rows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """(epochs, values) of one metrics column, leaving out epochs where it is missing or not finite."""
    xs, ys = [], []
    for row in rows:
        value = row.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value) and row.get("epoch") is not None:
            xs.append(float(row["epoch"]))
            ys.append(float(value))
    return xs, ys


def better(monitor: str | None, a: float, b: float) -> bool:
    """Whether value `a` of `monitor` is better than `b`."""
    return a > b if monitor_maximized(monitor or "val_loss") else a < b


def _started(path: Path) -> datetime | None:
    stamp = path.name.split("-")
    try:
        return datetime.strptime("-".join(stamp[:2]), STAMP_FORMAT)
    except ValueError:
        try:
            return datetime.fromtimestamp(path.stat().st_mtime)
        except OSError:
            return None


def _numbers(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    return {str(k): float(v) for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


__all__ = ["RunInfo", "runs_folder", "list_runs", "read_run", "read_metrics", "column", "better"]
