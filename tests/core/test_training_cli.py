"""End to end: graph files in tmp_path through prepare/resume/evaluate_run and the train/evaluate commands."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nodetrainer.cli import main
from nodetrainer.graphfile import dump_graph, load_graph
from nodetrainer.training import events as ev
from nodetrainer.training.checkpoint import load_checkpoint
from nodetrainer.training.run import apply_overrides, evaluate_run, prepare, resume
from nodetrainer.training.trainer import TrainerOptions


MLP = """\
nodetrainer: 1
name: {name}

nodes:
  image:  {{type: Input, shape: {shape}}}
  flat:   {{type: Flatten}}
  hidden: {{type: Linear, out_features: 32}}
  relu:   {{type: ReLU}}
  drop:   {{type: Dropout, p: 0.1}}
  logits: {{type: Linear, out_features: {classes}}}
  out:    {{type: Output}}

edges:
  - image -> flat -> hidden -> relu -> drop -> logits -> out

data:
  source: builtin:{source}
  split: {{val: 0.2, test: 0.1, seed: 0}}

training:
{training}
"""


def write_graph(tmp_path: Path, name: str = "t-mlp", shape: str = "[1, 8, 8]", classes: int = 10,
                source: str = "digits", **training) -> Path:
    training.setdefault("epochs", 3)
    training.setdefault("optimizer", "{type: adam, lr: 0.003}")
    body = "\n".join(f"  {k}: {v}" for k, v in training.items())
    path = tmp_path / f"{name}.yaml"
    path.write_text(MLP.format(name=name, shape=shape, classes=classes, source=source, training=body))
    return path


def run_dirs(runs: Path) -> list[Path]:
    return sorted(p for p in runs.glob("*/*") if p.is_dir())


def test_train_command_writes_a_complete_run_folder(tmp_path, capsys):
    graph = write_graph(tmp_path, metrics="[accuracy, f1_macro]")
    runs = tmp_path / "runs"
    assert main(["train", str(graph), "--epochs", "4", "--runs", str(runs), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "completed after 4 epoch(s)" in err and "Traceback" not in err
    [run] = run_dirs(runs)
    assert run.parent.name == "t-mlp"
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "graph.yaml", "last.pt", "metrics.csv",
                                                     "summary.json"]
    trained = load_graph(run / "graph.yaml")
    assert trained.training_config().epochs == 4  # the file as trained, with the override
    assert (run / "graph.yaml").read_text() == dump_graph(apply_overrides(load_graph(graph), {"epochs": 4, "device": "cpu"}))
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert {"train_loss", "val_loss", "val_accuracy", "val_f1_macro", "lr", "seconds"} <= set(rows[0])
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] == "completed" and summary["epochs_run"] == 4
    assert summary["best"]["val_accuracy"] > 0.8 and set(summary["test"]) == {"loss", "accuracy", "f1_macro"}
    assert summary["duration_s"] > 0 and summary["samples_per_s"] > 0
    last = load_checkpoint(run / "last.pt")
    for key in ("model", "optimizer", "scheduler", "epoch", "early_stopping", "normalizer", "rng", "config"):
        assert key in last
    assert last["normalizer"]["mode"] == "standard"

    # evaluate: the kept weights' metrics on the test split, as JSON
    assert main(["evaluate", str(run)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["accuracy"] == pytest.approx(summary["test"]["accuracy"])
    assert main(["evaluate", str(run), "--split", "val"]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] == pytest.approx(summary["best"]["val_loss"], rel=1e-5)


def test_divergence_exits_3_without_traceback(tmp_path):
    graph = write_graph(tmp_path, optimizer="{type: sgd, lr: 1.0e+8}")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "nodetrainer.cli", "train", str(graph), "--runs",
                           str(tmp_path / "runs")], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr and "diverged" in proc.stderr
    [run] = run_dirs(tmp_path / "runs")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stop_reason"] == "diverged"
    kept = load_checkpoint(run / "best.pt")["model"]
    assert all(torch.isfinite(t).all() for t in kept.values())


def test_input_shape_mismatch_names_both_shapes_before_training(tmp_path, capsys):
    graph = write_graph(tmp_path, shape="[64]")
    assert main(["train", str(graph), "--runs", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith(f"{graph}:5: node image:") and "[64]" in err[0] and "[1, 8, 8]" in err[0]
    assert not (tmp_path / "runs").exists()


def test_output_width_must_match_classes(tmp_path, capsys):
    graph = write_graph(tmp_path, classes=7)
    assert main(["train", str(graph), "--runs", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert "node logits:" in err and "10 classes" in err


def test_invalid_setting_is_one_located_line(tmp_path, capsys):
    graph = write_graph(tmp_path, optimizer="{type: adamm, lr: 0.01}")
    assert main(["train", str(graph)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{graph}:") and "adam" in err[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_gpu(tmp_path, capsys):
    graph = write_graph(tmp_path)
    assert main(["train", str(graph), "--device", "cuda", "--runs", str(tmp_path / "runs")]) == 1
    assert "no CUDA GPU" in capsys.readouterr().err


def test_resume_continues_bit_exactly(tmp_path, capsys):
    graph = write_graph(tmp_path, epochs=3, deterministic="true", scheduler="{type: cosine, warmup_epochs: 1}",
                        seed=5)
    full = prepare(graph, runs_dir=tmp_path / "full")
    assert full.run().reason == "completed"

    part = prepare(graph, runs_dir=tmp_path / "part", options=TrainerOptions(grad_stats_every=1))
    part.subscribe(lambda e: part.stop() if isinstance(e, ev.GradientStats) and e.step == 30 else None)
    assert part.run().reason == "stopped"
    assert json.loads((part.run_dir / "summary.json").read_text())["stop_reason"] == "stopped"

    assert main(["train", "--resume", str(part.run_dir)]) == 0
    assert "completed after 3 epoch(s)" in capsys.readouterr().err
    for name in ("last.pt", "best.pt"):
        a = load_checkpoint(full.run_dir / name)["model"]
        b = load_checkpoint(part.run_dir / name)["model"]
        assert all(torch.equal(a[k], b[k]) for k in a), name
    rows = list(csv.DictReader((part.run_dir / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]

    # more epochs on a finished run
    more = resume(part.run_dir, {"epochs": 4})
    result = more.run()
    assert result.reason == "completed" and result.epochs_run == 4


def test_early_stopping_from_the_file(tmp_path):
    graph = write_graph(tmp_path, epochs=100, optimizer="{type: adam, lr: 0.02}",
                        early_stopping="{monitor: val_accuracy, patience: 2, min_delta: 0.01}")
    session = prepare(graph, runs_dir=None)
    result = session.run()
    assert result.reason == "early_stopped" and result.epochs_run < 100
    best = result.history[result.best_epoch - 1]["val_accuracy"]
    assert result.epochs_run == result.best_epoch + 2 and result.best["val_accuracy"] == best
    assert all(r["val_accuracy"] < best + 0.01 for r in result.history[result.best_epoch:])  # min_delta
    assert session.trainer.evaluate("val")["accuracy"] == pytest.approx(result.best["val_accuracy"])


@pytest.mark.parametrize("source,classes,loss,metric,minimum", [
    ("breast_cancer", 1, "bce_with_logits", "val_accuracy", 0.85),
    ("breast_cancer", 2, "bce_with_logits", "val_accuracy", 0.85),
    ("digits", 10, "kl_div", "val_accuracy", 0.8),
    ("digits", 10, "cross_entropy", "val_top5_accuracy", 0.95),
])
def test_classification_losses_end_to_end(tmp_path, source, classes, loss, metric, minimum):
    shape = "[30]" if source == "breast_cancer" else "[1, 8, 8]"
    graph = write_graph(tmp_path, shape=shape, classes=classes, source=source, loss=loss, epochs=6,
                        metrics="[accuracy, top5_accuracy, f1_macro]",
                        **({"label_smoothing": 0.1} if loss == "cross_entropy" else {}))
    result = prepare(graph, runs_dir=None).run()
    assert result.reason == "completed" and result.best[metric] > minimum


def test_regression_end_to_end(tmp_path):
    path = tmp_path / "reg.yaml"
    path.write_text("""\
nodetrainer: 1
name: reg
nodes:
  x:     {type: Input, shape: [10]}
  fc1:   {type: Linear, out_features: 32}
  act:   {type: Tanh}
  value: {type: Linear, out_features: 1}
  out:   {type: Output}
edges:
  - x -> fc1 -> act -> value -> out
data:
  source: builtin:diabetes
  split: {val: 0.2, test: 0.2, seed: 0}
training:
  loss: huber
  metrics: [mae, rmse, r2]
  optimizer: {type: adam, lr: 0.01}
  epochs: 30
  grad_clip: {max_norm: 5.0}
  regularization: {l1: 1.0e-5, l2: 1.0e-4}
""")
    session = prepare(path, runs_dir=tmp_path / "runs")
    stats = []
    session.subscribe(lambda e: stats.append(e) if isinstance(e, ev.GradientStats) else None)
    result = session.run()
    assert result.reason == "completed"
    assert {"val_mae", "val_rmse", "val_r2"} <= set(result.best)
    assert set(stats[0].grad_norms) == {"fc1", "value"}
    assert evaluate_run(session.run_dir, "test")["r2"] == pytest.approx(result.test["r2"])


def test_runtime_error_in_a_compiled_graph_names_the_node(tmp_path, capsys, monkeypatch):
    import nodetrainer.compiler as compiler

    original = compiler.compile_graph

    def broken(graph):
        model = original(graph)
        model.hidden = torch.nn.Linear(5, 32)  # no longer fits the 64 features it receives
        return model

    monkeypatch.setattr(compiler, "compile_graph", broken)
    graph = write_graph(tmp_path)
    session = prepare(graph, runs_dir=None)
    result = session.run()
    assert result.reason == "failed" and result.error_node == "hidden"
    assert main(["train", str(graph), "--runs", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert f"{graph}:7: node hidden: training failed: mat1 and mat2 shapes" in err and "Traceback" not in err
    [run] = run_dirs(tmp_path / "runs")
    assert json.loads((run / "summary.json").read_text())["error_node"] == "hidden"


def test_threads_option_sets_torch_threads_for_the_run_and_is_checked(tmp_path, capsys, monkeypatch):
    from nodetrainer.training.trainer import Trainer
    path = write_graph(tmp_path, epochs=1)
    seen = []
    original = Trainer.fit

    def fit(self):
        seen.append(torch.get_num_threads())
        return original(self)
    monkeypatch.setattr(Trainer, "fit", fit)
    before = torch.get_num_threads()
    try:
        assert main(["train", str(path), "--runs", str(tmp_path / "runs"), "--threads", "2"]) == 0
        assert seen == [2]
    finally:
        torch.set_num_threads(before)
    assert main(["train", str(path), "--threads", "0"]) == 1
    assert "--threads must be at least 1, got 0" in capsys.readouterr().err
    assert main(["tune", str(path), "--threads", "0"]) == 1
    assert "--threads must be at least 1, got 0" in capsys.readouterr().err


def test_the_app_default_leaves_one_core_for_the_window():
    from nodetrainer.training.threads import app_default, describe
    assert app_default("cpu", current=2, total=2) == 1
    assert app_default("cpu", current=1, total=2) == 1  # already fewer: left as it is
    assert app_default("cuda", current=8, total=8) == 8
    assert app_default("cpu", current=1, total=1) == 1
    assert describe(1, 2, left_for_ui=True) == "threads: 1 of 2 (one left for the window)"
    assert describe(4, 2) == "threads: 4 of 2 (more than the cores: rarely faster)"
