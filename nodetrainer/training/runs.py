"""Run folders: `runs/NAME/TIMESTAMP/` with graph.yaml, metrics.csv, best.pt, last.pt, summary.json.

`RunFolder` is the only code that knows the layout. metrics.csv gets one row an
epoch; the whole file is rewritten atomically (it stays small) at most once
every `flush_interval_s` and always at the end, so fast epochs do not wait on
the disk. The desktop app's runs panel and `nodetrainer evaluate` read folders
through the same class.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from .checkpoint import atomic_write_text

GRAPH_FILE = "graph.yaml"
METRICS_FILE = "metrics.csv"
BEST_FILE = "best.pt"
LAST_FILE = "last.pt"
SUMMARY_FILE = "summary.json"


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", name or "run").strip(".-")
    return cleaned or "run"


class RunFolder:
    def __init__(self, path: str | Path, flush_interval_s: float = 1.0):
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.rows: list[dict[str, Any]] = []
        self._last_flush = 0.0
        self._dirty = False

    @classmethod
    def create(cls, runs_dir: str | Path, name: str, flush_interval_s: float = 1.0) -> "RunFolder":
        """A new, empty folder runs_dir/NAME/TIMESTAMP (a suffix keeps two runs in one second apart)."""
        base = Path(runs_dir) / safe_name(name)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for i in range(1, 10_000):
            path = base / (stamp if i == 1 else f"{stamp}-{i}")
            try:
                path.mkdir(parents=True, exist_ok=False)
                return cls(path, flush_interval_s)
            except FileExistsError:
                continue
        raise RuntimeError(f"cannot create a run folder under {base}")

    # -- files ------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def best_path(self) -> Path:
        return self.path / BEST_FILE

    @property
    def last_path(self) -> Path:
        return self.path / LAST_FILE

    def write_graph(self, text: str) -> None:
        atomic_write_text(self.path / GRAPH_FILE, text)

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_text(self.path / SUMMARY_FILE, json.dumps(_json_safe(summary), indent=2) + "\n")

    def read_summary(self) -> dict[str, Any] | None:
        path = self.path / SUMMARY_FILE
        return json.loads(path.read_text()) if path.exists() else None

    # -- metrics.csv --------------------------------------------------------------
    def load_metrics(self, up_to_epoch: int | None = None) -> None:
        """Reads an existing metrics.csv (resuming): keeps rows up to `up_to_epoch`."""
        path = self.path / METRICS_FILE
        if not path.exists():
            return
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        self.rows = [{k: _number(v) for k, v in r.items()} for r in rows
                     if up_to_epoch is None or int(r["epoch"]) <= up_to_epoch]
        self._dirty = True

    def append_metrics(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self._dirty = True
        now = time.monotonic()
        if now - self._last_flush >= self.flush_interval_s:
            self.flush_metrics()

    def flush_metrics(self) -> None:
        if not self._dirty:
            return
        columns: list[str] = []
        for row in self.rows:
            columns += [k for k in row if k not in columns]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        atomic_write_text(self.path / METRICS_FILE, out.getvalue())
        self._dirty = False
        self._last_flush = time.monotonic()


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    return value


def _number(text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _json_safe(value: Any) -> Any:
    """JSON has no NaN/inf: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value
