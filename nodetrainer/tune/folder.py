"""The tune folder: `runs/NAME/tune-TIMESTAMP/` and the only code that knows its layout.

    study.db       the Optuna study (SQLite, in WAL mode: -wal and -shm files beside it while it is open),
                   unless --storage names another storage
    input.yaml     the graph file as tuned (what --resume reads back)
    tune.json      how the study was started: storage, study name, target, data folder
    trials.csv     number, state, value, one column per tuned path, epochs, seconds, run folder, note
    best.yaml      input.yaml with the best trial's values written in (`tune` kept)
    summary.json   see records.summary
    trial-NNNN/    one ordinary run folder per trial run by this machine

trials.csv, best.yaml and summary.json are rewritten atomically after every
trial (temporary file + rename, as run folders are), so a reader or a kill
never sees half a file. The input copy is named input.yaml, not graph.yaml, so
the runs panel does not list the tune folder as a run.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from ..graph import Graph
from ..graphfile import dump_graph, load_graph, scalar
from ..atomic import atomic_write_text, json_text
from ..training.runs import safe_name
from .records import TrialRecord

STUDY_FILE = "study.db"
INPUT_FILE = "input.yaml"
SETTINGS_FILE = "tune.json"
TRIALS_FILE = "trials.csv"
BEST_FILE = "best.yaml"
SUMMARY_FILE = "summary.json"


class TuneFolder:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, runs_dir: str | Path, graph_name: str, prefix: str = "tune") -> "TuneFolder":
        """A new folder runs_dir/NAME/PREFIX-TIMESTAMP (a suffix keeps two started in one second apart)."""
        base = Path(runs_dir) / safe_name(graph_name)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for i in range(1, 10_000):
            path = base / (f"{prefix}-{stamp}" if i == 1 else f"{prefix}-{stamp}-{i}")
            try:
                path.mkdir(parents=True, exist_ok=False)
                return cls(path)
            except FileExistsError:
                continue
        raise RuntimeError(f"cannot create a tune folder under {base}")

    @property
    def exists(self) -> bool:
        return (self.path / SETTINGS_FILE).exists() and (self.path / INPUT_FILE).exists()

    @property
    def default_storage(self) -> str:
        """The study's SQLite file inside the folder, as an Optuna storage URL."""
        return f"sqlite:///{(self.path / STUDY_FILE).resolve()}"

    def trial_dir(self, number: int, create: bool = True) -> Path:
        path = self.path / f"trial-{number:04d}"
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return path

    # -- input and settings -----------------------------------------------------------------------
    def write_input(self, graph: Graph) -> None:
        atomic_write_text(self.path / INPUT_FILE, dump_graph(graph))

    def read_input(self) -> Graph:
        return load_graph(self.path / INPUT_FILE)

    def write_settings(self, settings: dict[str, Any]) -> None:
        atomic_write_text(self.path / SETTINGS_FILE, json.dumps(settings, indent=2) + "\n")

    def read_settings(self) -> dict[str, Any]:
        return json.loads((self.path / SETTINGS_FILE).read_text())

    def read_summary(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / SUMMARY_FILE).read_text())
        except (OSError, ValueError):
            return None

    # -- results ----------------------------------------------------------------------------------------
    def write_results(self, recs: list[TrialRecord], paths: list[str], summary: dict[str, Any],
                      best_text: str | None) -> None:
        """trials.csv, summary.json and (once a trial completed) best.yaml, each atomically."""
        atomic_write_text(self.path / TRIALS_FILE, self.trials_csv(recs, paths))
        if best_text is not None:
            atomic_write_text(self.path / BEST_FILE, best_text)
        atomic_write_text(self.path / SUMMARY_FILE, json_text(summary))

    def trials_csv(self, recs: list[TrialRecord], paths: list[str]) -> str:
        columns = ["number", "state", "value", *paths, "epochs", "seconds", "run", "note"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for r in recs:
            if r.state == "waiting":
                continue
            cells = [r.number, r.state, "" if r.value is None else repr(float(r.value))]
            cells += ["" if p not in r.values else _cell(r.values[p]) for p in paths]
            cells += ["" if r.epochs is None else r.epochs,
                      "" if r.seconds is None else f"{r.seconds:.3f}", self._relative(r.run_dir), r.note]
            writer.writerow(cells)
        return out.getvalue()

    def _relative(self, run_dir: str | None) -> str:
        if not run_dir:
            return ""
        try:
            return str(Path(run_dir).resolve().relative_to(self.path.resolve()))
        except ValueError:
            return run_dir


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return scalar(value)


__all__ = ["TuneFolder", "STUDY_FILE", "INPUT_FILE", "SETTINGS_FILE", "TRIALS_FILE", "BEST_FILE", "SUMMARY_FILE"]
