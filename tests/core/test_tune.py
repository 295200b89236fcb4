"""`nodetrainer tune` end to end on a tiny iris graph: the tune folder, trial 0, pruning and failures,
the pre-flight, resuming after a kill, and several processes on one storage.

Every study here trains a 16-unit MLP on iris for a few epochs (a trial takes well under a second).
Nothing waits on the clock; `--jobs 2` starts real worker processes, a kill is simulated in-process
by an exception nothing catches (the trial is left running in study.db, as a SIGKILL leaves it).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nodetrainer.cli import main
from nodetrainer.graphfile import load_graph, read_graph


TINY = """\
nodetrainer: 1
name: tiny

nodes:
  x:      {{type: Input, shape: [4]}}
  hidden: {{type: Linear, out_features: 16}}
  relu:   {{type: ReLU}}
  drop:   {{type: Dropout, p: 0.1}}
  logits: {{type: Linear, out_features: 3}}
  out:    {{type: Output}}

edges:
  - x -> hidden -> relu -> drop -> logits -> out

data:
  source: builtin:iris
  split: {{val: 0.3, seed: 0}}

training:
  optimizer: {{type: adam, lr: 0.01}}
  epochs: {epochs}
  batch_size: 32

tune:
{tune}
"""

SPACE = """\
  metric: val_accuracy
  trials: 4
  space:
    training.optimizer.lr:     {log_uniform: [1.0e-3, 1.0e-1]}
    nodes.drop.p:              {uniform: [0.0, 0.5]}
    nodes.hidden.out_features: {int: [4, 32], log: true}"""


def write(tmp_path: Path, tune: str = SPACE, epochs: int = 4, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(TINY.format(tune=tune, epochs=epochs))
    return path


def tune_folders(runs: Path) -> list[Path]:
    return sorted(runs.glob("tiny/tune-*"))


def trials_rows(folder: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((folder / "trials.csv").open()))


def test_a_four_trial_study_writes_its_folder_and_starts_from_the_files_values(tmp_path, capsys):
    graph = write(tmp_path)
    runs = tmp_path / "runs"
    assert main(["tune", str(graph), "--runs", str(runs)]) == 0
    err = capsys.readouterr().err
    [folder] = tune_folders(runs)
    names = {p.name for p in folder.iterdir()}
    assert {"study.db", "input.yaml", "tune.json", "trials.csv", "best.yaml", "summary.json"} <= names
    assert {f"trial-000{i}" for i in range(4)} <= names
    for i in range(4):  # every trial is an ordinary run folder
        run = folder / f"trial-000{i}"
        assert {"graph.yaml", "metrics.csv", "summary.json", "best.pt"} <= {p.name for p in run.iterdir()}

    summary = json.loads((folder / "summary.json").read_text())
    assert {"metric", "direction", "baseline_value", "best_value", "best_params", "best_trial", "n_complete",
            "n_pruned", "n_failed", "duration_s"} <= set(summary)
    assert summary["metric"] == "val_accuracy" and summary["direction"] == "maximize"  # follows the metric
    assert summary["n_complete"] + summary["n_pruned"] + summary["n_failed"] == 4
    assert summary["duration_s"] > 0 and summary["baseline_trial"] == 0

    rows = trials_rows(folder)
    assert [int(r["number"]) for r in rows] == [0, 1, 2, 3]
    assert list(rows[0])[:3] == ["number", "state", "value"] and "run" in rows[0]
    base = rows[0]  # trial 0 is the file's own values
    assert (float(base["training.optimizer.lr"]), float(base["nodes.drop.p"]),
            int(base["nodes.hidden.out_features"])) == (0.01, 0.1, 16)
    assert float(base["value"]) == summary["baseline_value"]
    complete = [r for r in rows if r["state"] == "complete"]
    assert max(float(r["value"]) for r in complete) == summary["best_value"]
    best_row = rows[summary["best_trial"]]
    assert float(best_row["value"]) == summary["best_value"]

    best = load_graph(folder / "best.yaml")  # a valid graph file holding the best values, tune kept
    params = summary["best_params"]
    assert best.training["optimizer"]["lr"] == params["training.optimizer.lr"]
    assert best.nodes["drop"].resolved()["p"] == params["nodes.drop.p"]
    assert best.nodes["hidden"].params["out_features"] == params["nodes.hidden.out_features"]
    assert best.tune == load_graph(graph).tune
    _, problems = read_graph((folder / "best.yaml").read_text(), "best.yaml")
    assert problems == []

    lines = [ln for ln in err.splitlines() if ln.startswith("trial ")]
    assert len(lines) == 4 and lines[0].startswith("trial 0 (the file's values): lr 0.01 · p 0.1 · out_features 16")
    assert all("→" in ln and "best" in ln for ln in lines)
    assert "best 4 (* = the file's own values):" in err and "rank  trial  val_accuracy" in err
    assert "Traceback" not in err


def test_pruned_trials_say_at_which_epoch_and_their_training_stopped_there(tmp_path, capsys):
    from nodetrainer.tune.plan import plan_tune
    from nodetrainer.tune.runner import run_study
    from nodetrainer.tune import study as study_mod

    # lr far too low in half the grid: those trials fall behind the median from the first epochs on
    tune = """\
  metric: val_accuracy
  sampler: grid
  pruner: median
  space:
    training.optimizer.lr: {choice: [0.05, 1.0e-6, 2.0e-6, 3.0e-6, 4.0e-6, 5.0e-6]}"""
    graph = write(tmp_path, tune, epochs=6)
    old = study_mod.MEDIAN_STARTUP_TRIALS
    study_mod.MEDIAN_STARTUP_TRIALS = 2
    try:
        plan = plan_tune(graph, runs_dir=tmp_path / "runs", trials=7)
        result = run_study(plan, threads=1)
    finally:
        study_mod.MEDIAN_STARTUP_TRIALS = old
    pruned = [r for r in result.records if r.state == "pruned"]
    assert pruned, [(r.number, r.state, r.values) for r in result.records]
    for r in pruned:
        assert r.values["training.optimizer.lr"] < 1e-4  # only the hopeless ones
        assert 2 <= r.pruned_epoch < 6 and r.epochs == r.pruned_epoch and r.note == f"pruned at epoch {r.pruned_epoch}"
        metrics = list(csv.DictReader((Path(r.run_dir) / "metrics.csv").open()))
        assert len(metrics) == r.pruned_epoch  # the trainer stopped right after that epoch
    assert result.summary["n_pruned"] == len(pruned) and result.summary["epochs_trained"] < 7 * 6


def test_a_diverging_or_invalid_trial_is_recorded_and_the_study_goes_on(tmp_path, capsys):
    tune = """\
  metric: val_accuracy
  sampler: grid
  pruner: none
  space:
    training.optimizer.lr:     {choice: [0.01, 1.0e+6]}
    nodes.logits.out_features: {choice: [3, 5]}"""
    graph = write(tmp_path, tune, epochs=3)
    runs = tmp_path / "runs"
    assert main(["tune", str(graph), "--runs", str(runs), "--trials", "10"]) == 0
    err = capsys.readouterr().err
    [folder] = tune_folders(runs)
    rows = trials_rows(folder)
    assert len(rows) == 5  # trial 0, then the four grid points: the grid ends the study
    by = {(float(r["training.optimizer.lr"]), int(r["nodes.logits.out_features"])): r for r in rows[1:]}
    assert by[(0.01, 3)]["state"] == "complete"
    assert by[(1e6, 3)]["state"] == "diverged" and by[(1e6, 3)]["note"].startswith("diverged at epoch")
    wrong = by[(0.01, 5)]
    assert wrong["state"] == "failed" and "must be [3]" in wrong["note"] and "\n" not in wrong["note"]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["n_failed"] == 3 and summary["n_diverged"] == 1 and summary["n_complete"] == 2
    assert summary["state"] == "exhausted"
    assert "trial" in err and "diverged: diverged at epoch" in err and "failed: " in err


@pytest.mark.parametrize("space, message", [
    ("nodes.drop.p: {uniform: [0.0, 1.5]}", "tune value 1.5 of 'nodes.drop.p' is invalid: 'p' must be"),
    ("nodes.dropp.p: {uniform: [0.0, 0.5]}", "did you mean 'drop'"),
    ("training.batch_size: {uniform: [16, 64]}", "tune value 16.0 of 'training.batch_size' is invalid"),
    ("training.optimizer.momentum: {uniform: [0.0, 0.9]}", "the optimizer 'adam' takes no 'momentum'"),
])
def test_an_invalid_space_is_one_located_line_and_no_trial_starts(tmp_path, capsys, space, message):
    graph = write(tmp_path, f"  metric: val_accuracy\n  space:\n    {space}")
    runs = tmp_path / "runs"
    assert main(["tune", str(graph), "--runs", str(runs)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    line_no = graph.read_text().splitlines().index(f"    {space}") + 1
    assert err[0].startswith(f"{graph}:{line_no}:") and message in err[0]
    assert not runs.exists()  # nothing was started


def test_the_metric_must_be_one_the_training_reports(tmp_path, capsys):
    graph = write(tmp_path, "  metric: val_acuracy\n  space:\n    nodes.drop.p: {uniform: [0.0, 0.5]}")
    assert main(["tune", str(graph), "--runs", str(tmp_path / "runs")]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    line_no = graph.read_text().splitlines().index("  metric: val_acuracy") + 1
    assert line.startswith(f"{graph}:{line_no}:") and "did you mean 'val_accuracy'" in line


class _Killed(BaseException):
    """Stands for the process dying: nothing in the tuner or in Optuna catches it, so the trial in progress
    is left running in study.db, as after a SIGKILL."""


def test_a_killed_study_resumes_without_repeating_finished_trials(tmp_path, capsys):
    from nodetrainer.tune import events as ev
    from nodetrainer.tune.plan import plan_tune
    from nodetrainer.tune.runner import run_study

    graph = write(tmp_path, SPACE.replace("trials: 4", "trials: 5"), epochs=4)
    plan = plan_tune(graph, runs_dir=tmp_path / "runs")

    def die_in_trial_2(event):
        if isinstance(event, ev.TrialEpoch) and event.number == 2 and event.epoch == 2:
            raise _Killed

    with pytest.raises(_Killed):
        run_study(plan, threads=1, on_event=die_in_trial_2)
    folder = plan.folder.path
    rows = trials_rows(folder)
    assert [(r["number"], r["state"]) for r in rows] == [("0", "complete"), ("1", "complete"), ("2", "running")]
    done_before = {r["number"]: r for r in rows[:2]}

    assert main(["tune", "--resume", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "2 finished before" in err
    rows = trials_rows(folder)
    assert rows[2]["state"] == "interrupted" and rows[2]["note"].startswith("interrupted")
    finished_rows = [r for r in rows if r["state"] in ("complete", "pruned", "failed", "diverged")]
    assert len(finished_rows) == 5  # the target counts finished trials only
    assert rows[:2] == list(done_before.values())  # not run again
    assert [ln.split(":")[0] for ln in err.splitlines() if ln.startswith("trial ")] == \
        ["trial 3", "trial 4", "trial 5"]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["n_complete"] + summary["n_pruned"] + summary["n_failed"] == 5 and summary["state"] == "done"
    assert summary["n_interrupted"] == 1

    assert main(["tune", "--resume", str(folder), "--trials", "6"]) == 0  # --trials is the study's total
    rows = trials_rows(folder)
    assert len([r for r in rows if r["state"] != "interrupted"]) == 6


def test_two_processes_share_one_study(tmp_path, capsys):
    graph = write(tmp_path, epochs=2)
    runs = tmp_path / "runs"
    # --jobs 2: two worker processes on the tune folder's SQLite study
    assert main(["tune", str(graph), "--runs", str(runs), "--jobs", "2"]) == 0
    err = capsys.readouterr().err
    [folder] = tune_folders(runs)
    rows = trials_rows(folder)
    numbers = [int(r["number"]) for r in rows]
    assert numbers == list(range(len(numbers))) and 4 <= len(numbers) <= 5  # distinct, none lost
    assert all(r["state"] in ("complete", "pruned") for r in rows)
    assert all((folder / r["run"] / "metrics.csv").exists() for r in rows)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["n_complete"] + summary["n_pruned"] == len(numbers)  # counts every process's trials
    assert summary["baseline_trial"] == 0 and len([ln for ln in err.splitlines() if ln.startswith("trial ")]) == len(numbers)

    # another command joins the same study through its storage: numbers go on, trial 0 is not run again
    url = f"sqlite:///{folder / 'study.db'}"
    assert main(["tune", str(graph), "--runs", str(tmp_path / "other"), "--storage", url, "--study", "tiny",
                 "--trials", str(len(numbers) + 1)]) == 0
    [other] = sorted((tmp_path / "other").glob("tiny/tune-*"))
    rows = trials_rows(other)
    assert [int(r["number"]) for r in rows] == list(range(len(numbers) + 1))
    summary = json.loads((other / "summary.json").read_text())
    assert summary["n_complete"] + summary["n_pruned"] == len(numbers) + 1 and summary["baseline_trial"] == 0
    assert [p.name for p in other.glob("trial-*")] == [f"trial-{len(numbers):04d}"]
