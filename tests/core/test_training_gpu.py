"""CUDA-only checks of the training loop (skipped without a GPU): fp16 loss scaling and the schedule,
bf16/tf32, data resident on the device, no host sync per step, determinism and exact resume on the GPU."""
from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from nodetrainer.settings import OptimizerConfig, SchedulerConfig, TrainingConfig
from nodetrainer.training import events as ev
from nodetrainer.training.checkpoint import load_checkpoint
from nodetrainer.training.runs import RunFolder
from nodetrainer.training.trainer import Trainer, TrainerOptions

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.relu = nn.ReLU()
        self.drop = nn.Dropout(0.1)
        self.logits = nn.Linear(128, 10)

    def forward(self, x):
        return self.logits(self.drop(self.relu(self.fc1(x))))


def make(digits, run=None, options=None, **cfg):
    cfg.setdefault("device", "cuda")
    cfg.setdefault("epochs", 5)
    cfg.setdefault("optimizer", OptimizerConfig(lr=0.003))
    torch.manual_seed(0)
    trainer = Trainer(MLP(), TrainingConfig(**cfg), digits["train"], digits["val"], task="classification",
                      num_classes=10, run=run, options=options)
    events: list = []
    trainer.subscribe(events.append)
    return trainer, events


def test_data_lives_on_the_gpu_and_trains(digits):
    trainer, events = make(digits)
    assert trainer.train_batches.resident and trainer.train_batches.x.device.type == "cuda"
    result = trainer.fit()
    assert result.best["val_accuracy"] > 0.85
    assert [e for e in events if isinstance(e, ev.Started)][0].device.startswith("cuda")


def test_fp16_skipped_steps_do_not_advance_the_schedule(digits):
    trainer, events = make(digits, precision="fp16", scheduler=SchedulerConfig(type="onecycle"), epochs=3)
    assert trainer.scaler is not None
    trainer.scaler = torch.amp.GradScaler("cuda", init_scale=2.0 ** 40)  # overflows for the first steps
    result = trainer.fit()
    skipped = round(math.log2(2.0 ** 40 / trainer.scaler.get_scale()))
    assert skipped > 3
    assert trainer.schedule.step_count == trainer.global_step - skipped
    assert result.best["val_accuracy"] > 0.85
    assert not [w for w in events if isinstance(w, ev.Warning) and "exploding" in w.message]


@pytest.mark.parametrize("precision", ["bf16", "tf32"])
def test_bf16_and_tf32_on_the_gpu(digits, precision):
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    trainer, events = make(digits, precision=precision)
    assert trainer.fit().best["val_accuracy"] > 0.85
    assert [e for e in events if isinstance(e, ev.Started)][0].precision == precision
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before


def test_no_host_sync_per_step(digits):
    epochs = 4
    trainer, _ = make(digits, epochs=epochs, batch_size=32, metrics=["accuracy", "f1_macro", "top5_accuracy"],
                      options=TrainerOptions(progress_interval_s=1e9, grad_stats=False, train_metrics=True))
    steps = epochs * trainer.steps_per_epoch
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            trainer.fit()
        finally:
            torch.cuda.set_sync_debug_mode(0)
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    print(f"{len(syncs)} synchronizing calls in {steps} steps: {sorted({str(w.message)[:80] for w in syncs})}")
    assert len(syncs) <= 6 * epochs + 4 < steps


def test_deterministic_gpu_resume_equals_uninterrupted(digits, tmp_path):
    kw = dict(deterministic=True, epochs=3, scheduler=SchedulerConfig(type="cosine", warmup_epochs=1), seed=7)
    options = TrainerOptions(grad_stats_every=1)
    full, _ = make(digits, options=options, **kw)
    full.fit()
    again_full, _ = make(digits, options=options, **kw)
    again_full.fit()
    assert all(torch.equal(a, b) for a, b in zip(full.model.state_dict().values(),
                                                 again_full.model.state_dict().values()))
    run = RunFolder.create(tmp_path, "gpu")
    part, _ = make(digits, run=run, options=options, **kw)
    part.subscribe(lambda e: part.stop() if isinstance(e, ev.GradientStats) and e.step == 30 else None)
    assert part.fit().reason == "stopped"
    resumed, _ = make(digits, run=RunFolder(run.path), options=options, **kw)
    resumed.load_state(load_checkpoint(run.last_path), load_checkpoint(run.best_path))
    resumed.fit()
    assert all(torch.equal(a, b) for a, b in zip(full.model.state_dict().values(),
                                                 resumed.model.state_dict().values()))
