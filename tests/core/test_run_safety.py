"""Runs that lose nothing: kills, Ctrl-C, full disks, unwritable runs folders, refused checkpoints,
data problems located in the data file, and divergence pinned on the node whose gradient exploded."""
from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from nodetrainer.cli import main
from nodetrainer.settings import parse_training
from nodetrainer.training import Trainer, TrainerOptions
from nodetrainer.training import checkpoint as checkpoint_module
from nodetrainer.training import events as ev
from nodetrainer.training.checkpoint import CheckpointWriter, load_checkpoint
from nodetrainer.training.run import prepare, resume
from nodetrainer.training.runs import RunFolder
from test_training_cli import write_graph

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _start_training(graph: Path, runs: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nodetrainer.cli", "train", str(graph), "--runs", str(runs),
                             "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def _wait_for_last_pt(proc: subprocess.Popen, runs: Path) -> Path:
    """The run folder once its first last.pt is on disk (waiting on the process, never sleeping blind)."""
    for _ in range(6000):  # up to 300 s on a loaded machine
        found = [p for p in runs.glob("*/*/last.pt")]
        if found:
            return found[0].parent
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"training ended before writing last.pt: {proc.stderr.read()}")
    proc.kill()
    pytest.fail("no last.pt after 300 s")


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def test_sigkill_after_the_first_epoch_resumes_to_the_same_weights(tmp_path):
    graph = write_graph(tmp_path, epochs=25, batch_size=8, deterministic="true", seed=3,
                        scheduler="{type: cosine}")
    proc = _start_training(graph, tmp_path / "killed")
    run_dir = _wait_for_last_pt(proc, tmp_path / "killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "summary.json").exists(), "the run ended before the kill; make it longer"
    stopped_at = load_checkpoint(run_dir / "last.pt")["epoch"]
    assert stopped_at >= 1

    session = resume(run_dir)
    starts = []
    session.subscribe(lambda e: starts.append(e.start_epoch) if isinstance(e, ev.Started) else None)
    assert session.run().reason == "completed"
    assert starts == [stopped_at + 1]  # the kill lost only what followed the last checkpoint

    full = prepare(graph, runs_dir=tmp_path / "full")
    assert full.run().reason == "completed"
    for name in ("last.pt", "best.pt"):
        a, b = _weights(full.run_dir / name), _weights(run_dir / name)
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_ctrl_c_stops_the_run_saves_it_and_exits_0(tmp_path):
    graph = write_graph(tmp_path, epochs=200, batch_size=8)
    proc = _start_training(graph, tmp_path / "runs")
    run_dir = _wait_for_last_pt(proc, tmp_path / "runs")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped on request" in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stop_reason"] == "stopped" and summary["kept_weights"] == "best.pt"
    assert load_checkpoint(run_dir / "last.pt")["epoch"] == summary["epochs_run"]  # resumable from where it stopped


def test_checkpoints_follow_the_first_epoch_then_the_interval(digits, tmp_path, monkeypatch):
    """last.pt is handed to the background writer after the first epoch; later ones wait for the interval."""
    submitted = []
    real_submit = CheckpointWriter.submit

    def submit(self, path, payload):
        if Path(path).name == "last.pt":
            submitted.append(payload["epoch"])
        real_submit(self, path, payload)
    monkeypatch.setattr(CheckpointWriter, "submit", submit)
    cfg, _ = parse_training({"epochs": 3, "batch_size": 128, "optimizer": {"type": "adam", "lr": 0.01}})
    run = RunFolder.create(tmp_path, "interval")
    trainer = Trainer(nn.Sequential(nn.Linear(64, 10)), cfg, digits["train"], digits["val"], task="classification",
                      num_classes=10, run=run, options=TrainerOptions(checkpoint_interval_s=1e9))
    assert trainer.fit().reason == "completed"
    assert submitted == [1]  # and the final state is written directly at the end
    assert load_checkpoint(run.last_path)["epoch"] == 3


def test_checkpoint_writer_writes_the_newest_and_keeps_errors(tmp_path, monkeypatch):
    writer = CheckpointWriter()
    writer.submit(tmp_path / "a.pt", {"v": 1})
    writer.submit(tmp_path / "a.pt", {"v": 2})
    writer.flush()
    assert load_checkpoint(tmp_path / "a.pt")["v"] == 2
    monkeypatch.setattr(checkpoint_module, "atomic_write_bytes",
                        lambda path, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    writer.submit(tmp_path / "a.pt", {"v": 3})
    writer.flush()
    [(path, error)] = writer.take_errors().items()
    assert path.name == "a.pt" and error.errno == errno.ENOSPC
    writer.close()
    assert load_checkpoint(tmp_path / "a.pt")["v"] == 2  # the file it could not replace is whole


def _disk_full_for(names: set[str], monkeypatch) -> None:
    real = checkpoint_module.atomic_write_bytes

    def write(path, data):
        if Path(path).name in names:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)
    monkeypatch.setattr(checkpoint_module, "atomic_write_bytes", write)


RUN_FILES = {"best.pt", "last.pt", "metrics.csv", "summary.json"}


def test_a_full_disk_keeps_the_weights_in_memory_and_says_so(tmp_path, monkeypatch):
    session = prepare(write_graph(tmp_path, epochs=3), runs_dir=tmp_path / "runs")
    events = []
    session.subscribe(events.append)
    _disk_full_for(RUN_FILES, monkeypatch)
    result = session.run()
    assert result.reason == "completed"  # the run is not lost to the disk
    assert "No space left on device" in result.unsaved and "best.pt" in result.unsaved
    unsaved = [e for e in events if isinstance(e, ev.Warning) and e.kind == ev.UNSAVED]
    assert unsaved and all(e.level == "error" for e in unsaved)
    assert len({e.message for e in unsaved}) == len(unsaved)  # each failure once, not every epoch
    assert next(e for e in events if isinstance(e, ev.Finished)).unsaved == result.unsaved
    assert not (session.run_dir / "best.pt").exists()

    monkeypatch.undo()  # space again, or another disk: save elsewhere
    elsewhere = session.save_to(tmp_path / "elsewhere")
    assert sorted(p.name for p in elsewhere.iterdir()) == sorted(RUN_FILES | {"graph.yaml"})
    kept = _weights(elsewhere / "best.pt")
    assert all(torch.equal(kept[k], v) for k, v in session.model.state_dict().items())
    assert json.loads((elsewhere / "summary.json").read_text())["kept_weights"] == "best.pt"
    assert evaluate_in(elsewhere)["accuracy"] == pytest.approx(result.test["accuracy"])


def evaluate_in(run_dir: Path) -> dict:
    from nodetrainer.training.run import evaluate_run
    return evaluate_run(run_dir, "test")


def test_a_full_disk_on_the_command_line_is_one_warning_and_one_line(tmp_path, monkeypatch, capsys):
    _disk_full_for(RUN_FILES, monkeypatch)
    graph = write_graph(tmp_path, epochs=3)
    assert main(["train", str(graph), "--runs", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    problems = [line for line in err.splitlines() if "No space left on device" in line]
    assert len(problems) == 2, err  # the first failure as it happens, and what was not saved at the end
    assert problems[0].startswith("error: cannot write") and "the run's results were not saved" in problems[1]
    assert "Traceback" not in err and "internal error" not in err


def test_a_runs_folder_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("not a folder")
    graph = write_graph(tmp_path)
    assert main(["train", str(graph), "--runs", str(tmp_path / "afile" / "runs")]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "cannot create the run folder" in line and "afile is a file" in line and "--runs" in line


def test_a_read_only_runs_folder_is_one_line(tmp_path, capsys, monkeypatch):
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if "runs" in self.parts:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_mkdir(self, *args, **kwargs)
    monkeypatch.setattr(Path, "mkdir", mkdir)
    graph = write_graph(tmp_path)
    assert main(["train", str(graph), "--runs", str(tmp_path / "runs")]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "cannot create the run folder: Read-only file system" in line


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo PWNED > pwned.txt",))


def test_a_refused_checkpoint_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"model": _Evil()}, run / "last.pt")
    assert main(["train", "--resume", str(run)]) == 1
    out = capsys.readouterr()
    [line] = out.err.strip().splitlines()
    assert line.startswith(f"{run / 'last.pt'}: checkpoint refused") and "system" in line and "could run code" in line
    assert "weights_only" not in out.err + out.out and not (tmp_path / "pwned.txt").exists()


def test_debug_is_accepted_after_the_command(capsys):
    example = str(ROOT / "graphs" / "digits_mlp.yaml")
    assert main(["check", "--debug", example]) == 0
    assert main(["summary", example, "--debug"]) == 0
    assert main(["--debug", "check", example]) == 0
    with pytest.raises(Exception):
        main(["summary", str(ROOT / "missing.yaml"), "--debug"])  # --debug: the traceback, not one line


def test_a_data_problem_is_located_in_the_data_file(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("a,b,target\n")
    graph = write_graph(tmp_path, shape="[2]", classes=2, source="digits")
    graph.write_text(graph.read_text().replace("builtin:digits", "csv:empty.csv"))
    assert main(["train", str(graph), "--runs", str(tmp_path / "runs")]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"{tmp_path / 'empty.csv'}:1: ") and "no data rows" in line  # not the graph's line


class _TwoBranches(nn.Module):
    """y = calm(x) + wild(100 x): wild's gradient is 100 times calm's, so wild is the one that explodes."""

    def __init__(self):
        super().__init__()
        self.calm = nn.Linear(4, 1)
        self.wild = nn.Linear(4, 1)

    def forward(self, x):
        return self.calm(x) + self.wild(x * 100.0)


@pytest.mark.parametrize("options", [TrainerOptions(progress_interval_s=0.0),  # caught while still finite
                                     TrainerOptions(progress_interval_s=1e9, grad_stats_every=1)],  # caught at NaN
                         ids=["finite", "nan"])
def test_divergence_names_the_node_whose_gradient_exploded(options):
    torch.manual_seed(0)
    cfg, _ = parse_training({"loss": "mse", "metrics": ["mae"], "optimizer": {"type": "sgd", "lr": 0.01},
                             "epochs": 3, "batch_size": 16})
    x, y = torch.randn(1024, 4), torch.randn(1024, 1)
    trainer = Trainer(_TwoBranches(), cfg, (x, y), task="regression", options=options)
    events = []
    trainer.subscribe(events.append)
    assert trainer.fit().reason == "diverged"
    [diverged] = [e for e in events if isinstance(e, ev.Warning) and e.kind == ev.DIVERGED]
    assert diverged.level == "error" and diverged.node == "wild"
    last_stats = [e for e in events if isinstance(e, ev.GradientStats)][-1]
    assert events.index(last_stats) < events.index(diverged)
    assert last_stats.step == trainer.global_step  # the norms of the step that blew up
    assert set(last_stats.grad_norms) == {"calm", "wild"}



def test_a_snapshot_from_the_middle_of_an_epoch_resumes_exactly(tmp_path):
    """What a kill in the middle of a long epoch leaves (last.pt and best.pt as they are on disk at that
    moment) continues to the same weights as the run that was not killed."""
    graph = write_graph(tmp_path, epochs=2, deterministic="true", seed=1, batch_size=32)
    session = prepare(graph, runs_dir=tmp_path / "runs",
                      options=TrainerOptions(progress_interval_s=0.0, checkpoint_interval_s=0.0))
    killed = tmp_path / "killed"

    def copy_when_mid_epoch(event):
        last = session.run_dir / "last.pt"
        if killed.exists() or not isinstance(event, ev.Progress) or event.epoch != 2 or not last.exists():
            return
        files = {p.name: p.read_bytes() for p in session.run_dir.iterdir() if not p.name.startswith(".")}
        state = torch.load(io.BytesIO(files["last.pt"]), weights_only=True)
        if state["epoch"] == 1 and state["step_in_epoch"] >= 3:
            killed.mkdir()
            for name, data in files.items():
                (killed / name).write_bytes(data)
    session.subscribe(copy_when_mid_epoch)
    assert session.run().reason == "completed"
    assert load_checkpoint(killed / "last.pt")["step_in_epoch"] >= 3 and not (killed / "summary.json").exists()
    assert resume(killed).run().reason == "completed"
    for name in ("last.pt", "best.pt"):
        a, b = _weights(session.run_dir / name), _weights(killed / name)
        assert all(torch.equal(a[k], b[k]) for k in a), name
