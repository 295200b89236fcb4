"""Unit tests of the training building blocks: losses, metrics, schedules, penalties, early stopping,
gradient health, events, checkpoints, device and precision resolution, failure location."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from torch import nn

from nodetrainer.errors import ConfigError
from nodetrainer.settings import (EarlyStoppingConfig, GradClipConfig, OptimizerConfig, RegularizationConfig,
                                  SchedulerConfig)
from nodetrainer.training.checkpoint import atomic_write_bytes, load_checkpoint, save_checkpoint
from nodetrainer.training.device import resolve_device
from nodetrainer.training.early_stopping import BestTracker
from nodetrainer.training.events import Publisher, Warning as WarningEvent
from nodetrainer.training.failures import describe_failure
from nodetrainer.training.grad_health import GradientMonitor, build_clipper
from nodetrainer.training.losses import build_loss
from nodetrainer.training.metrics import MetricAccumulator, compute_metrics
from nodetrainer.training.optimizers import build_optimizer
from nodetrainer.training.precision import resolve_precision
from nodetrainer.training.regularization import WeightPenalty, orthogonality_error
from nodetrainer.training.schedulers import LRSchedule


# -- metrics agree with scikit-learn ------------------------------------------------------
def _chunks(n: int, parts: int) -> list[slice]:
    edges = np.linspace(0, n, parts + 1).astype(int)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 200), c=st.integers(2, 12), parts=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_classification_metrics_match_sklearn(n, c, parts, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g)
    y = torch.randint(0, c, (n,), generator=g)
    acc = MetricAccumulator(["accuracy", "top5_accuracy", "f1_macro"], "classification", "cpu", num_classes=c)
    for part in _chunks(n, parts):  # accumulated over batches, read once
        acc.update(logits[part], y[part], F.cross_entropy(logits[part], y[part]))
    got = acc.compute("val_")
    pred = logits.argmax(1).numpy()
    assert got["val_accuracy"] == pytest.approx(skm.accuracy_score(y.numpy(), pred))
    assert got["val_f1_macro"] == pytest.approx(skm.f1_score(y.numpy(), pred, average="macro"))
    # with 5 classes or fewer every target is in the top 5
    top5 = skm.top_k_accuracy_score(y.numpy(), logits.numpy(), k=5, labels=np.arange(c)) if c > 5 else 1.0
    assert got["val_top5_accuracy"] == pytest.approx(top5)
    assert got["val_loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 150), t=st.integers(1, 4), parts=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_regression_metrics_match_sklearn(n, t, parts, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randn(n, t, generator=g) * 3 + 1
    out = y + torch.randn(n, t, generator=g)
    acc = MetricAccumulator(["mae", "rmse", "r2"], "regression", "cpu", track_loss=False)
    for part in _chunks(n, parts):
        acc.update(out[part], y[part])
    got = acc.compute()
    yn, on = y.numpy().astype(np.float64), out.numpy().astype(np.float64)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(yn, on), rel=1e-6)
    assert got["rmse"] == pytest.approx(skm.root_mean_squared_error(yn, on), rel=1e-6)
    assert got["r2"] == pytest.approx(skm.r2_score(yn, on), rel=1e-5, abs=1e-9)


def test_binary_single_logit_metrics():
    logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0]])
    y = torch.tensor([1, 0, 0, 0])
    got = compute_metrics(logits, y, ["accuracy", "f1_macro"], "classification", num_classes=2)
    assert got["accuracy"] == pytest.approx(0.75)
    assert got["f1_macro"] == pytest.approx(skm.f1_score([1, 0, 0, 0], [1, 0, 1, 0], average="macro"))


def test_metrics_that_do_not_apply_are_skipped():
    acc = MetricAccumulator(["accuracy", "mae"], "regression", "cpu")
    assert acc.names == ["mae"] and acc.skipped == ["accuracy"]


# -- losses ---------------------------------------------------------------------------------
def test_losses_follow_the_spec():
    torch.manual_seed(0)
    logits, y = torch.randn(8, 4), torch.randint(0, 4, (8,))
    assert build_loss("cross_entropy")(logits, y) == pytest.approx(F.cross_entropy(logits, y).item())
    smooth = build_loss("cross_entropy", 4, label_smoothing=0.2)(logits, y)
    assert smooth.item() == pytest.approx(F.cross_entropy(logits, y, label_smoothing=0.2).item())
    logp = F.log_softmax(logits, 1)
    assert build_loss("nll")(logp, y).item() == pytest.approx(F.nll_loss(logp, y).item())
    # kl_div on logits vs one-hot targets equals the cross entropy (one-hot targets have zero entropy)
    assert build_loss("kl_div", 4)(logits, y).item() == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)
    soft = torch.softmax(torch.randn(8, 4), 1)
    assert build_loss("kl_div", 4)(logits, soft).item() == pytest.approx(
        F.kl_div(logp, soft, reduction="batchmean").item(), rel=1e-5)
    # bce: one logit for two classes, or C logits against one-hot targets
    one, yb = torch.randn(8, 1), torch.randint(0, 2, (8,))
    assert build_loss("bce_with_logits", 1)(one, yb).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(one[:, 0], yb.float()).item())
    assert build_loss("bce_with_logits", 4)(logits, y).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(logits, F.one_hot(y, 4).float()).item())
    out, target = torch.randn(8, 1), torch.randn(8, 1)
    for name, fn in (("mse", F.mse_loss), ("l1", F.l1_loss), ("huber", F.huber_loss)):
        assert build_loss(name, 1)(out, target).item() == pytest.approx(fn(out, target).item())
    assert build_loss("mse", 1)(out[:, 0], target).item() == pytest.approx(F.mse_loss(out, target).item())


# -- schedules --------------------------------------------------------------------------------
def _lrs(cfg: SchedulerConfig, epochs: int = 10, steps: int = 5, lr: float = 0.1, monitored=None) -> list[float]:
    """The learning rate used at the start of every epoch."""
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    sched = LRSchedule(cfg, opt, epochs, steps)
    out = []
    for e in range(epochs):
        out.append(sched.lr)
        for _ in range(steps):
            sched.step_batch()
        sched.step_epoch(monitored[e] if monitored else None)
    return out


def test_step_and_exponential_default_gammas():
    step = _lrs(SchedulerConfig(type="step", step_size=3))
    assert step[:3] == pytest.approx([0.1] * 3) and step[3] == pytest.approx(0.01) and step[6] == pytest.approx(0.001)
    exp = _lrs(SchedulerConfig(type="exponential"))
    assert exp[4] == pytest.approx(0.1 * 0.95 ** 4)
    assert _lrs(SchedulerConfig(type="exponential", gamma=0.5))[2] == pytest.approx(0.025)


def test_cosine_reaches_eta_min():
    lrs = _lrs(SchedulerConfig(type="cosine", eta_min=0.001), epochs=10)
    assert lrs[0] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = LRSchedule(SchedulerConfig(type="cosine", eta_min=0.001), opt, 10, 5)
    for _ in range(10):
        sched.step_epoch()
    assert sched.lr == pytest.approx(0.001)


def test_warmup_is_linear_from_a_tenth_then_the_schedule():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = LRSchedule(SchedulerConfig(type="cosine", warmup_epochs=2), opt, 12, 5)
    seen = [sched.lr]
    for _ in range(10):
        sched.step_batch()
        seen.append(sched.lr)
    assert seen[0] == pytest.approx(0.01)
    assert seen == sorted(seen) and seen[5] == pytest.approx(0.01 + 0.09 * 0.5)
    assert seen[10] == pytest.approx(0.1)
    for _ in range(2):
        sched.step_epoch()
    assert sched.lr == pytest.approx(0.1)  # cosine starts after the warm-up
    for _ in range(10):
        sched.step_epoch()
    assert sched.lr == pytest.approx(0.0)


def test_onecycle_peaks_at_ten_times_lr():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.01)
    sched = LRSchedule(SchedulerConfig(type="onecycle"), opt, 10, 10)
    seen = [sched.lr]
    for _ in range(99):
        sched.step_batch()
        seen.append(sched.lr)
    assert max(seen) == pytest.approx(0.1, rel=1e-3)
    assert seen[0] == pytest.approx(0.1 / 25)
    assert seen[-1] < seen[0] / 100
    # agrees with PyTorch's OneCycleLR (without momentum cycling)
    opt2 = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.01)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt2, max_lr=0.1, total_steps=100, cycle_momentum=False)
    theirs = []
    for _ in range(100):
        theirs.append(opt2.param_groups[0]["lr"])
        opt2.step()
        ref.step()
    assert seen == pytest.approx(theirs, rel=1e-6)


def test_plateau_reduces_after_patience():
    lrs = _lrs(SchedulerConfig(type="plateau", patience=1, factor=0.5), epochs=6,
               monitored=[1.0, 0.5, 0.6, 0.7, 0.8, 0.9])
    assert lrs[:4] == pytest.approx([0.1, 0.1, 0.1, 0.1])
    assert lrs[4] == pytest.approx(0.05)


def test_schedule_state_round_trip():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    a = LRSchedule(SchedulerConfig(type="onecycle", warmup_epochs=1), opt, 5, 4)
    for _ in range(7):
        a.step_batch()
    opt2 = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    b = LRSchedule(SchedulerConfig(type="onecycle", warmup_epochs=1), opt2, 5, 4)
    b.load_state_dict(a.state_dict())
    assert b.lr == a.lr
    a.step_batch(), b.step_batch()
    assert b.lr == a.lr


# -- optimizers and penalties ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sgd", "adagrad", "rmsprop", "adam", "adamw"])
def test_weight_decay_skips_biases(kind):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt = build_optimizer(OptimizerConfig(type=kind, lr=0.01, weight_decay=0.1), model)
    decayed = [p for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]]
    assert len(decayed) == 1 and decayed[0] is model[0].weight


def test_weight_penalty_values():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Conv2d(2, 3, 3))
    weights = [model[0].weight, model[2].weight]
    l1 = WeightPenalty(RegularizationConfig(l1=0.5), model)()
    assert l1.item() == pytest.approx(0.5 * sum(w.abs().sum().item() for w in weights), rel=1e-5)
    l2 = WeightPenalty(RegularizationConfig(l2=0.25), model)()
    assert l2.item() == pytest.approx(0.25 * sum(w.square().sum().item() for w in weights), rel=1e-5)
    ortho = WeightPenalty(RegularizationConfig(orthogonal=2.0), model)()
    conv = model[2].weight.reshape(3, -1)
    expected = ((model[0].weight.T @ model[0].weight - torch.eye(3)).square().sum()  # 4x3 is tall: WᵀW
                + (conv @ conv.T - torch.eye(3)).square().sum())
    assert ortho.item() == pytest.approx(2.0 * expected.item(), rel=1e-5)
    assert not WeightPenalty(RegularizationConfig(), model).active
    orthogonal = nn.Linear(8, 4)
    nn.init.orthogonal_(orthogonal.weight)
    assert orthogonality_error(orthogonal.weight).item() < 1e-10


# -- early stopping ---------------------------------------------------------------------------------
def test_best_tracker_patience_and_divergence():
    t = BestTracker.from_config(EarlyStoppingConfig(monitor="val_accuracy", patience=2, min_delta=0.01), True)
    assert t.maximize
    assert t.update({"val_accuracy": 0.5}, 1).improved
    assert not t.update({"val_accuracy": 0.505}, 2).improved  # below min_delta
    v = t.update({"val_accuracy": 0.4}, 3)
    assert v.stop and not v.diverged and t.best_epoch == 1
    assert t.update({"val_accuracy": float("nan")}, 4).diverged
    default = BestTracker.from_config(None, has_val=False)
    assert default.monitor == "train_loss" and not default.maximize and default.patience is None


# -- gradient health ------------------------------------------------------------------------------
class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.relu = nn.ReLU()
        self.logits = nn.Linear(8, 3)

    def forward(self, x):
        return self.logits(self.relu(self.fc1(x)))


def test_gradient_monitor_names_nodes_and_warns_once():
    torch.manual_seed(0)
    model = Tiny()
    F.cross_entropy(model(torch.randn(16, 4)), torch.randint(0, 3, (16,))).backward()
    monitor = GradientMonitor(model, names={"fc1": "hidden"})
    grads, weights = monitor.norms()
    assert set(grads) == set(weights) == {"hidden", "logits"}
    expected = torch.cat([model.fc1.weight.grad.flatten(), model.fc1.bias.grad]).norm().item()
    assert grads["hidden"] == pytest.approx(expected, rel=1e-5)
    model.logits.weight.grad.mul_(1e6)
    warnings = monitor.check(monitor.norms()[0])
    assert [(w.node, w.kind, w.level) for w in warnings] == [("logits", "gradient_exploding", "warning")]
    assert monitor.check(monitor.norms()[0]) == []  # not repeated while the state lasts
    model.fc1.weight.grad.zero_(), model.fc1.bias.grad.zero_()
    assert [(w.node, w.kind) for w in monitor.check(monitor.norms()[0])] == [("hidden", "gradient_vanishing")]


def test_clipping_by_norm_and_value():
    model = Tiny()
    for p in model.parameters():
        p.grad = torch.full_like(p, 10.0)
    build_clipper(GradClipConfig(max_value=0.5), model)()
    assert all(p.grad.abs().max().item() <= 0.5 for p in model.parameters())
    build_clipper(GradClipConfig(max_norm=1.0), model)()
    total = torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()
    assert total == pytest.approx(1.0, rel=1e-4)
    assert build_clipper(None, model) is None


# -- events -----------------------------------------------------------------------------------------
def test_a_failing_subscriber_becomes_one_warning():
    pub, seen = Publisher(), []

    def broken(event):
        raise RuntimeError("boom")

    pub.subscribe(broken)
    pub.subscribe(seen.append)
    for i in range(3):
        pub.emit(i)
    warnings = [e for e in seen if isinstance(e, WarningEvent)]
    assert len(warnings) == 1 and "boom" in warnings[0].message
    assert [e for e in seen if not isinstance(e, WarningEvent)] == [0, 1, 2]


# -- files --------------------------------------------------------------------------------------------
def test_atomic_write_leaves_old_file_and_no_temporary_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "last.pt"
    save_checkpoint(target, {"model": {"w": torch.ones(2)}, "epoch": 1})

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    assert load_checkpoint(target)["epoch"] == 1


# -- device, precision --------------------------------------------------------------------------------
def test_device_resolution(monkeypatch):
    assert resolve_device("cpu").type == "cpu"
    mps = getattr(torch.backends, "mps", None)
    expected = "cuda" if torch.cuda.is_available() else "mps" if mps is not None and mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if torch.cuda.is_available():
        last = torch.cuda.device_count() - 1
        assert resolve_device(f"cuda:{last}") == torch.device("cuda", last)
        with pytest.raises(ConfigError, match=f"cuda:{last + 1}' does not exist"):
            resolve_device(f"cuda:{last + 1}")
    # without a GPU, whatever this machine has: auto falls back to the CPU, and asking for CUDA says why not
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="cuda:1"):
        resolve_device("cuda:1")


def test_precision_substitutions_on_cpu():
    p = resolve_precision("fp16", torch.device("cpu"))
    assert p.name == "bf16" and p.autocast_dtype == torch.bfloat16 and not p.uses_scaler
    assert "bf16" in p.warnings[0]
    assert resolve_precision("tf32", torch.device("cpu")).name == "fp32"
    bf = resolve_precision("bf16", torch.device("cpu"))
    assert bf.name == "bf16" and not bf.warnings


# -- failures --------------------------------------------------------------------------------------
def test_failure_names_the_module_node():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.fc2 = nn.Linear(5, 2)  # wrong in_features

        def forward(self, x):
            return self.fc2(self.fc1(x))

    model = Broken()
    with pytest.raises(RuntimeError) as info:
        model(torch.randn(2, 4))
    failure = describe_failure(info.value, model)
    assert failure.node == "fc2" and "mat1 and mat2" in failure.message and "\n" not in failure.message
    oom = describe_failure(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate"), model, batch_size=512)
    assert "batch_size 512" in oom.message


