"""training.compile: a compiled run trains, resumes, reports gradients and saves checkpoints as an eager one does,
and a network that cannot be compiled trains eagerly with one warning naming why.

Compiling on the CPU is slow, so exactly one test compiles for real (one tiny MLP, resumed once: the second
compile of the same network comes from torch's cache); the fallbacks replace torch.compile by stand-ins.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

import nodetrainer.training.compiling as compiling
from nodetrainer.cli import main
from nodetrainer.cli_train import ProgressView
from nodetrainer.training import events as ev
from nodetrainer.training.checkpoint import load_checkpoint
from nodetrainer.training.run import COMPILING_PHASE, prepare, resume

GRAPH = """\
nodetrainer: 1
name: tiny

nodes:
  x:      {{type: Input, shape: [2]}}
  hidden: {{type: Linear, out_features: 16}}
  relu:   {{type: ReLU}}
  logits: {{type: Linear, out_features: 2}}
  out:    {{type: Output}}

edges:
  - x -> hidden -> relu -> logits -> out

data:
  source: builtin:moons
  n_samples: 300
  split: {{val: 0.2, test: 0.2, seed: 0}}

training:
  optimizer: {{type: adam, lr: 0.01}}
  epochs: 2
  batch_size: 32
  early_stopping: {{monitor: val_loss, patience: 5}}
{extra}
"""


def graph_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(GRAPH.format(extra=extra))
    return path


def train(path: Path, runs: Path, overrides: dict | None = None, resume_dir: Path | None = None):
    events, phases = [], []
    if resume_dir is not None:
        session = resume(resume_dir, overrides, on_phase=phases.append)
    else:
        session = prepare(path, overrides, runs_dir=runs, on_phase=phases.append)
    session.subscribe(events.append)
    result = session.run()
    assert result.reason in ("completed", "early_stopped"), result.error
    return session, result, events, phases


def losses(result) -> list[float]:
    return [row[k] for row in result.history for k in ("train_loss", "val_loss", "val_accuracy")]


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


@pytest.mark.parametrize("value, ok", [("true", True), ("max-autotune", True), ("false", True),
                                       ("yes-please", False), ("1", False)])
def test_the_compile_setting_is_checked_and_located(tmp_path, capsys, value, ok):
    path = graph_file(tmp_path, f"  compile: {value}")
    assert main(["check", str(path)]) == (0 if ok else 1)
    if not ok:
        captured = capsys.readouterr()
        err = captured.err + captured.out
        line = GRAPH.format(extra=f"  compile: {value}").splitlines().index(f"  compile: {value}") + 1
        assert f"tiny.yaml:{line}:" in err and "max-autotune" in err


@pytest.mark.skipif(compiling.unavailable_reason(torch.device("cpu")) is not None, reason="torch.compile unusable")
def test_a_compiled_run_matches_eager_resumes_and_its_checkpoints_load_both_ways(tmp_path):
    path = graph_file(tmp_path)
    eager, eager_result, eager_events, eager_phases = train(path, tmp_path / "eager")

    # compiled: one epoch, then resumed to the second (the resumed session compiles again, from torch's cache)
    first, _, events, phases = train(path, tmp_path / "compiled", {"compile": True, "epochs": 1})
    assert COMPILING_PHASE in phases and COMPILING_PHASE not in eager_phases
    started = of(events, ev.Started)[0]
    assert started.compiled == "default" and started.compile_s > 0
    assert not of(events, ev.Warning)
    resumed, result, events2, phases2 = train(path, None, {"epochs": 2}, resume_dir=first.run_dir)
    assert COMPILING_PHASE in phases2 and of(events2, ev.Started)[0].compiled == "default"

    assert losses(result) == pytest.approx(losses(eager_result), rel=1e-4, abs=1e-5)
    assert result.best_epoch == eager_result.best_epoch
    # gradient health names the same nodes, with the same norms
    grads = [e.grad_norms for e in of(events + events2, ev.GradientStats)]
    eager_grads = [e.grad_norms for e in of(eager_events, ev.GradientStats)]
    assert [sorted(g) for g in grads] == [sorted(g) for g in eager_grads] and set(grads[0]) == {"hidden", "logits"}
    assert [list(g.values()) for g in grads] == [pytest.approx(list(g.values()), rel=1e-3) for g in eager_grads]

    # checkpoints: the same keys, and each run's kept weights load into the other's model with equal results
    compiled_best = load_checkpoint(resumed.run_dir / "best.pt", map_location="cpu")
    eager_best = load_checkpoint(eager.run_dir / "best.pt", map_location="cpu")
    assert list(compiled_best["model"]) == list(eager_best["model"]) == list(eager.model.state_dict())
    before = eager.trainer.evaluate("test")
    eager.model.load_state_dict(compiled_best["model"])
    resumed.model.load_state_dict(eager_best["model"])
    assert eager.trainer.evaluate("test")["loss"] == pytest.approx(result.test["loss"], rel=1e-4)
    assert resumed.trainer.evaluate("test")["loss"] == pytest.approx(before["loss"], rel=1e-4)


def test_no_compiler_means_one_warning_and_an_eager_run_like_any_other(tmp_path, monkeypatch):
    path = graph_file(tmp_path)
    _, eager_result, _, _ = train(path, tmp_path / "eager")
    monkeypatch.setattr(compiling, "unavailable_reason", lambda device: "no C++ compiler was found")
    _, result, events, phases = train(path, tmp_path / "fallback", {"compile": True})
    warnings = of(events, ev.Warning)
    assert [w.kind for w in warnings] == [ev.COMPILE_FALLBACK] and "no C++ compiler" in warnings[0].message
    assert of(events, ev.Started)[0].compiled is None and COMPILING_PHASE not in phases
    assert losses(result) == losses(eager_result)


def test_a_compile_failure_at_the_first_call_falls_back_to_eager_with_one_warning(tmp_path, monkeypatch):
    path = graph_file(tmp_path)
    _, eager_result, _, _ = train(path, tmp_path / "eager")
    calls = []

    def broken_compile(fn, **kwargs):
        def compiled(*args, **kw):
            calls.append(kwargs)
            raise RuntimeError("BackendCompilerFailed: unsupported op aten::frobnicate\nmore detail")
        return compiled

    monkeypatch.setattr(compiling.torch, "compile", broken_compile)
    session, result, events, phases = train(path, tmp_path / "broken", {"compile": "max-autotune"})
    assert calls and calls[0]["mode"] == "max-autotune-no-cudagraphs"
    warnings = of(events, ev.Warning)
    assert len(warnings) == 1 and "unsupported op aten::frobnicate" in warnings[0].message
    assert "more detail" not in warnings[0].message and "eagerly" in warnings[0].message
    assert COMPILING_PHASE in phases and of(events, ev.Started)[0].compiled is None
    assert losses(result) == losses(eager_result)  # the warm-up left weights and random state as they were
    assert "forward" not in vars(session.model)  # the class's own forward again


def test_the_model_own_error_is_not_blamed_on_compiling(tmp_path, monkeypatch):
    """A forward that fails eagerly too is the model's error: the run fails naming it, with no compile warning."""
    path = graph_file(tmp_path)
    monkeypatch.setattr(compiling.torch, "compile", lambda fn, **kw: fn)
    session = prepare(path, {"compile": True}, runs_dir=None)
    events = []
    session.subscribe(events.append)

    def broken(*args, **kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
    compiled = session.trainer.compiled
    compiled._compiled = compiled._eager = broken
    result = session.run()
    assert result.reason == "failed" and "cannot be multiplied" in result.error
    assert not [w for w in of(events, ev.Warning) if w.kind == ev.COMPILE_FALLBACK]


def test_the_command_line_says_how_long_compiling_took():
    out = io.StringIO()
    view = ProgressView(out, None, live=False)
    view(ev.Started(2, 10, "cpu", "fp32", None, compiled="default", compile_s=12.34))
    view(ev.Started(2, 10, "cuda:0", "bf16", None, channels_last=True))
    lines = out.getvalue().splitlines()
    assert "compiled (default) in 12.3 s" in lines[0]
    assert "channels-last" in lines[1] and "compiled" not in lines[1]


def test_torch_modes_follow_the_setting_and_the_device():
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert compiling.torch_mode(True, cpu, 10) == "default"
    assert compiling.torch_mode("max-autotune", cpu, 10) == "max-autotune-no-cudagraphs"
    assert compiling.torch_mode(True, cuda, 100_000) == "reduce-overhead"  # small: CUDA graphs
    assert compiling.torch_mode(True, cuda, 11_000_000) == "default"
    assert compiling.torch_mode("max-autotune", cuda, 11_000_000) == "max-autotune"


def test_channels_last_follows_the_documented_rule(tmp_path):
    from torch import nn

    from nodetrainer.training.channels_last import wants_channels_last
    cnn, mlp = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten()), nn.Sequential(nn.Linear(2, 2))
    cpu, cuda, mps = torch.device("cpu"), torch.device("cuda", 0), torch.device("mps")
    assert wants_channels_last(cnn, cpu, "fp32") and not wants_channels_last(mlp, cpu, "fp32")
    assert [wants_channels_last(cnn, cuda, p) for p in ("fp32", "tf32", "bf16", "fp16")] == [False, True, True, True]
    assert not wants_channels_last(cnn, mps, "fp16")


def test_a_channels_last_cnn_run_matches_a_contiguous_one_and_checkpoints_load_both_ways(tmp_path):
    from nodetrainer.training.trainer import TrainerOptions
    graph = Path(__file__).resolve().parents[2] / "graphs" / "digits_cnn.yaml"
    runs = {}
    for cl in (True, False):
        session = prepare(graph, {"epochs": 1, "device": "cpu"}, runs_dir=tmp_path / str(cl),
                          options=TrainerOptions(channels_last=cl))
        events = []
        session.subscribe(events.append)
        result = session.run()
        assert session.trainer.channels_last is cl and of(events, ev.Started)[0].channels_last is cl
        conv = session.model.conv2.weight  # conv1 has one input channel: both layouts at once
        assert conv.is_contiguous(memory_format=torch.channels_last) is cl
        runs[cl] = (session, result)
    assert losses(runs[True][1]) == pytest.approx(losses(runs[False][1]), rel=1e-3)
    best = load_checkpoint(runs[True][0].run_dir / "best.pt", map_location="cpu")["model"]
    runs[False][0].model.load_state_dict(best)
    assert runs[False][0].trainer.evaluate("test")["loss"] == pytest.approx(runs[True][1].test["loss"], rel=1e-4)
