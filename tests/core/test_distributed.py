"""One run on several processes: `train --nproc-per-node N` through torch.distributed.run (gloo on the CPU)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nodetrainer.cli import main
from nodetrainer.training.batches import ShardedBatches, TensorBatches
from nodetrainer.training.checkpoint import load_checkpoint
from nodetrainer.training.run import evaluate_run, resume
from test_training_cli import run_dirs, write_graph

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _train(graph: Path, runs: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nodetrainer.cli", "train", str(graph), "--runs", str(runs),
                             "--device", "cpu", "--nproc-per-node", "2", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def test_each_rank_takes_its_part_of_the_same_global_batches():
    x, y = torch.arange(103.0)[:, None], torch.arange(103)
    one = TensorBatches(x, y, 16, torch.device("cpu"), shuffle=True, generator=torch.Generator().manual_seed(5))
    ranks = [ShardedBatches(TensorBatches(x, y, 16, torch.device("cpu"), shuffle=True,
                                          generator=torch.Generator().manual_seed(5)), r, 3) for r in range(3)]
    for _ in range(2):  # two epochs: each draws the one-process run's permutation
        parts = [list(r.batches()) for r in ranks]
        whole = list(one.batches())
        assert len(whole) == len(parts[0]) == 7  # 103 = 6 x 16 + 7: three ranks share the last 7 samples
        for step, (xb, _) in enumerate(whole):
            assert torch.equal(torch.cat([p[step][0] for p in parts]), xb)
            # DDP averages the ranks' gradients: the scaled means of the parts average to the whole batch's mean
            scaled = sum(r.loss_scale[step] * p[step][0].mean() for r, p in zip(ranks, parts)) / 3
            assert float(scaled) == pytest.approx(float(xb.mean()))
    assert ranks[0].global_sizes == [16] * 6 + [7] and [r.local_sizes[-1] for r in ranks] == [2, 2, 3]


def test_nproc_per_node_1_is_the_plain_run(tmp_path, capsys):
    graph = write_graph(tmp_path, epochs=1)
    assert main(["train", str(graph), "--runs", str(tmp_path / "runs"), "--device", "cpu",
                 "--nproc-per-node", "1"]) == 0
    [run] = run_dirs(tmp_path / "runs")
    assert json.loads((run / "summary.json").read_text())["world_size"] == 1


def test_two_processes_write_one_run_folder_with_all_reduced_metrics(tmp_path):
    graph = write_graph(tmp_path, name="ddp-mlp", epochs=2, batch_size=32, metrics="[accuracy, f1_macro]")
    proc = _train(graph, tmp_path / "runs")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and err.count("completed after 2 epoch(s)") == 1  # rank 0 alone reports
    [run] = run_dirs(tmp_path / "runs")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["stop_reason"] == "completed"
    # the run's figures are the whole splits', not one rank's half: one process evaluating the kept weights agrees
    val = evaluate_run(run, "val", device="cpu")
    assert summary["best"]["val_accuracy"] == pytest.approx(val["accuracy"], abs=1e-12)
    assert summary["best"]["val_f1_macro"] == pytest.approx(val["f1_macro"], abs=1e-12)
    assert summary["best"]["val_loss"] == pytest.approx(val["loss"], rel=1e-5)
    test = evaluate_run(run, "test", device="cpu")
    assert summary["test"]["accuracy"] == pytest.approx(test["accuracy"], abs=1e-12)
    assert len((run / "metrics.csv").read_text().splitlines()) == 3


def test_a_killed_worker_is_one_line_naming_its_rank_and_the_run_resumes(tmp_path):
    graph = write_graph(tmp_path, name="ddp-long", epochs=500, batch_size=16)
    runs = tmp_path / "runs"
    proc = _train(graph, runs)
    run_dir = None
    for _ in range(6000):  # up to 300 s: wait for the first last.pt (on the process, never sleeping blind)
        found = list(runs.glob("*/*/last.pt"))
        if found:
            run_dir = found[0].parent
            break
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"training ended before writing last.pt: {proc.stderr.read()}")
    assert run_dir is not None, "no last.pt after 300 s"
    workers = _workers(proc.pid)
    assert len(workers) == 2, workers
    os.kill(max(workers), signal.SIGKILL)  # the worker started last: local rank 1
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    lines = [line for line in err.splitlines() if not line.startswith(("training on", "epoch "))]
    assert len(lines) == 1, err
    assert lines[0].startswith("nodetrainer: rank 1 was killed by SIGKILL")
    assert f"--resume {run_dir}" in lines[0]
    stopped_at = load_checkpoint(run_dir / "last.pt")["epoch"]
    session = resume(run_dir, {"epochs": stopped_at + 1})  # on one process: the checkpoint is a plain one
    assert session.run().reason == "completed"
    assert json.loads((run_dir / "summary.json").read_text())["epochs_run"] == stopped_at + 1


def _workers(launcher: int) -> list[int]:
    """The worker processes a launcher started (multiprocessing's spawn children, not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == launcher and "spawn_main" in cmdline:
            found.append(int(entry.name))
    return found
