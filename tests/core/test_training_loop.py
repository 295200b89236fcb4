"""The training loop on the digits data with hand-built models whose children are named like node ids:
optimizers, schedules, precision, early stopping with restored weights, divergence, stop/pause from
another thread, exact resume, gradient statistics, regularization, runtime errors."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from nodetrainer.settings import (EarlyStoppingConfig, OptimizerConfig, RegularizationConfig, SchedulerConfig,
                                  TrainingConfig)
from nodetrainer.training import events as ev
from nodetrainer.training.checkpoint import load_checkpoint
from nodetrainer.training.regularization import orthogonality_error
from nodetrainer.training.runs import RunFolder
from nodetrainer.training.trainer import Trainer, TrainerOptions


class MLP(nn.Module):
    def __init__(self, hidden: int = 64, dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.relu = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.logits = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.logits(self.drop(self.relu(self.fc1(x))))


def make(digits, init_seed=0, run=None, options=None, test=False, **cfg):
    cfg.setdefault("device", "cpu")
    cfg.setdefault("epochs", 8)
    config = TrainingConfig(**cfg)
    torch.manual_seed(init_seed)
    model = MLP(dropout=0.2 if cfg.get("deterministic") else 0.0)
    trainer = Trainer(model, config, digits["train"], digits["val"], digits["test"] if test else None,
                      task="classification", num_classes=10, run=run, options=options)
    events: list = []
    trainer.subscribe(events.append)
    return trainer, events


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def all_finite(model):
    return all(torch.isfinite(p).all() for p in model.parameters())


# -- every optimizer, schedule and precision trains -------------------------------------------
@pytest.mark.parametrize("opt", [
    OptimizerConfig(type="sgd", lr=0.05, momentum=0.9, nesterov=True),
    OptimizerConfig(type="sgd", lr=0.1),
    OptimizerConfig(type="adagrad", lr=0.05),
    OptimizerConfig(type="rmsprop", lr=0.001, momentum=0.5),
    OptimizerConfig(type="adam", lr=0.003, amsgrad=True),
    OptimizerConfig(type="adamw", lr=0.003, weight_decay=0.01),
], ids=lambda o: f"{o.type}{'-nesterov' if o.nesterov else ''}")
def test_each_optimizer_learns_digits(digits, opt):
    trainer, events = make(digits, optimizer=opt, epochs=6)
    result = trainer.fit()
    assert result.reason == "completed" and result.epochs_run == 6
    assert result.best["val_accuracy"] > 0.85
    assert len(of(events, ev.EpochEnded)) == 6 and of(events, ev.Finished)[0].reason == "completed"


@pytest.mark.parametrize("sched", [
    SchedulerConfig(type="step", step_size=3),
    SchedulerConfig(type="exponential"),
    SchedulerConfig(type="cosine", warmup_epochs=2),
    SchedulerConfig(type="plateau", patience=1),
    SchedulerConfig(type="onecycle"),
    SchedulerConfig(type="none", warmup_epochs=1),
], ids=lambda s: f"{s.type}-warmup{s.warmup_epochs}")
def test_each_scheduler_learns_digits(digits, sched):
    trainer, events = make(digits, scheduler=sched, optimizer=OptimizerConfig(lr=0.003), epochs=6,
                           options=TrainerOptions(progress_interval_s=0.0))
    result = trainer.fit()
    assert result.best["val_accuracy"] > 0.85
    lrs = [e.lr for e in of(events, ev.EpochEnded)]
    if sched.type in ("step", "exponential", "cosine"):
        assert lrs[-1] < 0.003
    steps = [e.lr for e in of(events, ev.Progress)]
    if sched.warmup_epochs:  # from lr/10 up to lr, per step
        assert steps[0] < 0.003 * 0.2 and steps[:10] == sorted(steps[:10])
        assert lrs[sched.warmup_epochs - 1] == pytest.approx(0.003)
    if sched.type == "onecycle":
        assert max(steps) == pytest.approx(0.03, rel=0.02)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_on_cpu(digits, precision):
    trainer, events = make(digits, precision=precision, optimizer=OptimizerConfig(lr=0.003), epochs=5)
    result = trainer.fit()
    assert result.best["val_accuracy"] > 0.85
    assert of(events, ev.Started)[0].precision == "bf16"
    warnings = [w.message for w in of(events, ev.Warning)]
    assert any("fp16" in w and "bf16" in w for w in warnings) == (precision == "fp16")


# -- early stopping and kept weights -----------------------------------------------------------
def test_early_stopping_keeps_the_best_epochs_weights(digits):
    trainer, events = make(digits, epochs=60, optimizer=OptimizerConfig(lr=0.02),
                           early_stopping=EarlyStoppingConfig(monitor="val_loss", patience=3))
    result = trainer.fit()
    assert result.reason == "early_stopped"
    assert result.epochs_run == result.best_epoch + 3 < 60
    last_val = result.history[-1]["val_loss"]
    kept_val = trainer.evaluate("val")["loss"]
    assert kept_val == pytest.approx(result.best["val_loss"], rel=1e-6)
    assert kept_val < last_val
    assert of(events, ev.Finished)[0].reason == "early_stopped"


def test_best_weights_restored_without_early_stopping(digits):
    trainer, _ = make(digits, epochs=25, optimizer=OptimizerConfig(lr=0.03))
    result = trainer.fit()
    best = min(result.history, key=lambda r: r["val_loss"])
    assert result.best_epoch == best["epoch"]
    assert trainer.evaluate("val")["loss"] == pytest.approx(best["val_loss"], rel=1e-6)


def test_huge_learning_rate_diverges_and_keeps_finite_weights(digits):
    for opt in (OptimizerConfig(type="sgd", lr=1e8), OptimizerConfig(type="adam", lr=1e8)):
        trainer, events = make(digits, optimizer=opt, epochs=5)
        result = trainer.fit()
        assert result.reason == "diverged", opt
        assert all_finite(trainer.model)
        assert any("diverged" in w.message for w in of(events, ev.Warning))
        assert of(events, ev.Finished)[0].reason == "diverged"


# -- control from another thread ---------------------------------------------------------------
def test_stop_from_another_thread_writes_last_checkpoint(digits, tmp_path):
    run = RunFolder.create(tmp_path, "stop")
    trainer, events = make(digits, epochs=200, batch_size=16, run=run,
                           options=TrainerOptions(progress_interval_s=0.0))
    progressed = threading.Event()
    trainer.subscribe(lambda e: progressed.set() if isinstance(e, ev.Progress) and e.epoch >= 2 else None)

    def stopper():
        progressed.wait(30)
        trainer.stop()

    thread = threading.Thread(target=stopper)
    thread.start()
    result = trainer.fit()
    thread.join()
    assert result.reason == "stopped" and result.epochs_run < 200
    ckpt = load_checkpoint(run.last_path)
    assert ckpt["epoch"] == result.epochs_run and "optimizer" in ckpt and "rng" in ckpt
    assert (run.path / "summary.json").exists() and (run.path / "best.pt").exists()
    assert not list(run.path.glob("*.tmp")) and not list(run.path.glob(".*"))


def test_pause_and_resume(digits):
    trainer, events = make(digits, epochs=10, batch_size=16, options=TrainerOptions(progress_interval_s=0.0))
    first = threading.Event()
    trainer.subscribe(lambda e: first.set() if isinstance(e, ev.Progress) else None)
    counts = {}

    def controller():
        first.wait(30)
        trainer.pause()
        while not trainer.holding:  # the step in flight ends, then the loop waits
            threading.Event().wait(0.001)
        counts["paused_at"] = len(events)
        counts["flag"] = trainer.paused
        counts["step"] = trainer.global_step
        trainer.resume()

    thread = threading.Thread(target=controller)
    thread.start()
    result = trainer.fit()
    thread.join()
    assert counts["flag"] and 0 < counts["step"]
    assert result.reason == "completed" and result.epochs_run == 10
    held = [e for e in events[counts["paused_at"]:] if isinstance(e, ev.Progress)]
    assert held and held[0].step > 0  # training went on from where it paused


# -- exact resume ------------------------------------------------------------------------------
def _stop_at_step(trainer, step):
    trainer.subscribe(lambda e: trainer.stop() if isinstance(e, ev.GradientStats) and e.step == step else None)


@pytest.mark.parametrize("stop_step", [40, 61])  # 40: mid-epoch (21 steps an epoch); 61: mid-epoch, after 2
def test_resumed_deterministic_run_equals_uninterrupted(digits, tmp_path, stop_step):
    kw = dict(epochs=4, deterministic=True, batch_size=64, scheduler=SchedulerConfig(type="onecycle"),
              optimizer=OptimizerConfig(type="adam", lr=0.003), seed=3)
    options = TrainerOptions(grad_stats_every=1)
    full, _ = make(digits, init_seed=1, options=options, **kw)
    full_result = full.fit()

    run = RunFolder.create(tmp_path, "resume")
    part, _ = make(digits, init_seed=1, run=run, options=options, **kw)
    _stop_at_step(part, stop_step)
    assert part.fit().reason == "stopped"
    ckpt = load_checkpoint(run.last_path)
    assert ckpt["global_step"] == stop_step and ckpt["step_in_epoch"] > 0

    again, _ = make(digits, init_seed=99, run=RunFolder(run.path), options=options, **kw)  # different init: overwritten
    again.load_state(ckpt, load_checkpoint(run.best_path))
    result = again.fit()
    assert result.reason == "completed" and result.epochs_run == 4
    for (name, a), (_, b) in zip(full.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), name
    assert [r["val_loss"] for r in result.history] == [r["val_loss"] for r in full_result.history]


# -- gradient statistics, regularization ----------------------------------------------------------------
def test_gradient_stats_name_node_ids(digits):
    trainer, events = make(digits, epochs=2, options=TrainerOptions(grad_stats_every=5))
    trainer.fit()
    stats = of(events, ev.GradientStats)
    assert len(stats) >= 2 * (21 // 5)
    assert all(set(s.grad_norms) == {"fc1", "logits"} == set(s.weight_norms) for s in stats)
    assert all(v > 0 for s in stats for v in s.grad_norms.values())
    assert {s.epoch for s in stats} == {1, 2}


def test_l1_makes_weights_sparser(digits):
    def small_fraction(**reg):
        trainer, _ = make(digits, epochs=8, optimizer=OptimizerConfig(type="sgd", lr=0.05, momentum=0.9),
                          regularization=RegularizationConfig(**reg))
        result = trainer.fit()
        w = trainer.model.fc1.weight.detach()
        return (w.abs() < 1e-2).float().mean().item(), result

    plain, _ = small_fraction()
    sparse, result = small_fraction(l1=1e-3)
    assert sparse > plain + 0.1
    assert result.best["val_accuracy"] > 0.8


def test_orthogonal_penalty_reduces_gram_error(digits):
    def error(c):
        trainer, _ = make(digits, epochs=8, regularization=RegularizationConfig(orthogonal=c))
        result = trainer.fit()
        return orthogonality_error(trainer.model.fc1.weight.detach()).item(), result.best["val_accuracy"]

    (plain, _), (ortho, accuracy) = error(0.0), error(0.03)
    assert ortho < 0.2 * plain and accuracy > 0.85


# -- errors while training ---------------------------------------------------------------------------
def test_runtime_shape_error_is_a_failed_event_naming_the_node(digits):
    class Broken(MLP):
        def __init__(self):
            super().__init__()
            self.logits = nn.Linear(32, 10)  # fc1 gives 64 features

    trainer = Trainer(Broken(), TrainingConfig(device="cpu", epochs=2), digits["train"], digits["val"],
                      task="classification", num_classes=10)
    events: list = []
    trainer.subscribe(events.append)
    result = trainer.fit()
    assert result.reason == "failed" and not result.ok
    failed = of(events, ev.Failed)
    assert len(failed) == 1 and failed[0].node == "logits" and "shapes cannot be multiplied" in failed[0].message
    assert not of(events, ev.Finished)


def test_a_crashing_subscriber_does_not_stop_training(digits):
    trainer, events = make(digits, epochs=2)
    trainer.subscribe(lambda e: 1 / 0)
    assert trainer.fit().reason == "completed"
    assert sum("ZeroDivisionError" in w.message for w in of(events, ev.Warning)) == 1


def test_test_split_metrics_of_kept_weights(digits):
    trainer, events = make(digits, epochs=3, test=True, metrics=["accuracy", "f1_macro"])
    result = trainer.fit()
    assert set(result.test) == {"loss", "accuracy", "f1_macro"}
    assert result.test["accuracy"] > 0.8
    assert of(events, ev.Finished)[0].test == result.test


# -- streamed data (a torch Dataset through a DataLoader) --------------------------------------------
def test_streamed_dataset_trains_and_resumes_exactly(digits, tmp_path):
    from torch.utils.data import TensorDataset

    train, val = TensorDataset(*digits["train"]), TensorDataset(*digits["val"])
    config = TrainingConfig(device="cpu", epochs=3, deterministic=True, optimizer=OptimizerConfig(lr=0.003))
    options = TrainerOptions(loader_workers=0, grad_stats_every=1)

    def build(run=None):
        torch.manual_seed(0)
        return Trainer(MLP(), config, train, val, task="classification", num_classes=10, run=run, options=options)

    full = build()
    result = full.fit()
    assert result.reason == "completed" and result.best["val_accuracy"] > 0.85
    run = RunFolder.create(tmp_path, "stream")
    part = build(run)
    _stop_at_step(part, 30)
    assert part.fit().reason == "stopped"
    again = build(RunFolder(run.path))
    again.load_state(load_checkpoint(run.last_path), load_checkpoint(run.best_path))
    again.fit()
    assert all(torch.equal(a, b) for a, b in zip(full.model.state_dict().values(), again.model.state_dict().values()))


def test_streamed_dataset_with_worker_processes(digits):
    from torch.utils.data import TensorDataset

    torch.manual_seed(0)
    trainer = Trainer(MLP(), TrainingConfig(device="cpu", epochs=2, optimizer=OptimizerConfig(lr=0.003)),
                      TensorDataset(*digits["train"]), task="classification", num_classes=10,
                      options=TrainerOptions(loader_workers=1))
    result = trainer.fit()
    assert result.reason == "completed" and result.best["train_loss"] < 1.0


def test_monitoring_a_train_metric_computes_it(digits):
    trainer, events = make(digits, epochs=4, early_stopping=EarlyStoppingConfig(monitor="train_accuracy", patience=1))
    result = trainer.fit()
    assert all("train_accuracy" in e.metrics for e in of(events, ev.EpochEnded))
    assert trainer.tracker.maximize and result.best["train_accuracy"] > 0.8


def test_same_seed_same_run_whatever_the_global_rng(digits):
    a, _ = make(digits, epochs=2, deterministic=True)  # with dropout
    a.fit()
    b, _ = make(digits, epochs=2, deterministic=True)
    torch.rand(1000), np.random.rand(10)  # the random state before fit does not matter
    b.fit()
    assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    c, _ = make(digits, epochs=2, deterministic=True, seed=1)
    c.fit()
    assert not torch.equal(a.model.fc1.weight, c.model.fc1.weight)


def test_epochs_shorter_than_the_progress_interval_still_report_steps(digits):
    # a tiny model runs an epoch in a few milliseconds: the throttle must span epochs, or live
    # plots of such runs would get no step-level points at all
    class Ticks:  # a clock that moves 1 ms each time it is read: every epoch reads it about 25 times
        t = 0.0

        def __call__(self) -> float:
            self.t += 0.001
            return self.t

    clock = Ticks()
    trainer, events = make(digits, epochs=40, options=TrainerOptions(progress_interval_s=0.05, clock=clock))
    trainer.fit()
    progress = of(events, ev.Progress)
    assert max(e.seconds for e in of(events, ev.EpochEnded)) < 0.05  # every epoch shorter than the interval
    assert len(progress) >= 10  # still step-level points across the run
    assert all(1 <= p.step <= p.steps_per_epoch for p in progress)
    assert len(progress) <= clock.t / 0.05 + 2  # still throttled