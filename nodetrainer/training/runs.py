"""Run folders: `runs/NAME/TIMESTAMP/` with graph.yaml, metrics.csv, best.pt, last.pt, summary.json.

`RunFolder` is the only code that knows the layout. metrics.csv gets one row an
epoch; the whole file is rewritten atomically (it stays small) at most once
every `flush_interval_s` and always at the end, so fast epochs do not wait on
the disk. The desktop app's runs panel and `nodetrainer evaluate` read folders
through the same class, and the app asks it where a copy of a run's graph goes
(`of_graph_file`, `graph_copy_path`). A runs folder that cannot be created
(read-only, under a file, a full disk) is one ConfigError line.
"""
from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Problem
from ..atomic import atomic_write_text, json_text

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
        """A new, empty folder runs_dir/NAME/TIMESTAMP (a suffix keeps two runs in one second apart);
        ConfigError naming the folder and the reason when it cannot be made."""
        base = Path(runs_dir) / safe_name(name)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for i in range(1, 10_000):
            path = base / (stamp if i == 1 else f"{stamp}-{i}")
            try:
                path.mkdir(parents=True, exist_ok=False)
                return cls(path, flush_interval_s)
            except FileExistsError:
                if not base.is_dir():
                    raise _cannot_create(base, NotADirectoryError(20, "Not a directory")) from None
                continue
            except OSError as exc:
                raise _cannot_create(base, exc) from None
        raise ConfigError(Problem(f"cannot create a run folder: {base} already holds 10,000 runs from this second",
                                  str(base)))

    @classmethod
    def of_graph_file(cls, path: str | Path) -> "RunFolder | None":
        """The run folder whose graph.yaml `path` is, or None when it is not a run's graph."""
        path = Path(path)
        return cls(path.parent) if path.name == GRAPH_FILE and path.parent.name else None

    @property
    def runs_dir(self) -> Path:
        """The folder holding every graph's runs (runs_dir/NAME/TIMESTAMP)."""
        return self.path.parent.parent

    @property
    def graph_path(self) -> Path:
        return self.path / GRAPH_FILE

    def graph_copy_path(self) -> Path:
        """Where a copy of this run's graph goes by default ('Save As' of a run's graph): beside the runs
        folder, named after the graph and the run, e.g. runs/digits/20240101-120000 -> digits-20240101-120000.yaml."""
        return self.runs_dir.parent / f"{self.path.parent.name}-{self.path.name}.yaml"

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
        atomic_write_text(self.path / SUMMARY_FILE, json_text(summary))

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

    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        """Replaces the rows and writes metrics.csv now."""
        self.rows = [dict(r) for r in rows]
        self._dirty = True
        self.flush_metrics()

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


def _cannot_create(base: Path, exc: OSError) -> ConfigError:
    reason = exc.strerror or type(exc).__name__
    where = base.parent
    for parent in [base, *base.parents]:  # name the part of the path that is in the way
        if parent.exists():
            where = parent
            break
    hint = f" ({where} is a file)" if where.exists() and not where.is_dir() else ""
    return ConfigError(Problem(f"cannot create the run folder: {reason}{hint}; choose another runs folder "
                               "(--runs DIR)", str(base)))


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
