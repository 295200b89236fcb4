"""The training loop: one `Trainer` per run, reporting through typed events.

The trainer owns the loop and nothing else: the model, the data splits and the
run folder are given to it (see run.py for building them from a graph file).
What makes it fast and what makes it safe:

- No host-device synchronization per step. Losses and metric counts accumulate
  in device tensors and are read once an epoch, at throttled progress updates
  (default at most every 0.1 s) and at gradient-health reports (every 20 steps,
  and at steps 1, 2, 4, 8, 16 of a run).
  The exceptions are inherent: fp16 loss scaling with a per-step schedule reads
  the scale to avoid stepping the schedule on skipped steps.
- Data that fits lives on the device (batches.py); fused optimizer kernels where
  available; everything that can be decided once (loss shape handling, which
  optional stages run) is decided before the first step.
- `pause()`, `resume()` and `stop()` are thread-safe and take effect between steps;
  subscribers cannot crash training (events.py); an exception inside the loop
  becomes a `Failed` event naming the node where it happened (failures.py).
- Best weights (by the monitored value) are kept in a device copy and restored at
  the end, also when the run went to its last epoch and after divergence, so the
  weights a run keeps are always finite.
- last.pt holds everything needed to continue bit-exactly, also from the middle
  of an epoch: model, optimizer, schedule, scaler, best-tracking state, the
  shuffle generator (and its state at the start of the epoch), all global RNGs
  and the partial sums of the epoch. It is written after the first epoch and
  then every `checkpoint_interval_s` (also in the middle of a long epoch), so a
  kill loses at most that long or one epoch. Writing never holds up training:
  the state is copied to memory and a background thread writes it.
- Distributed runs (`distributed=Distributed(...)`, see distributed.py): the
  training step runs a DistributedDataParallel wrapper, each rank its part of
  every global batch; sums are all-reduced before anything reads them, so every
  rank takes the same decisions. Nothing of this runs in a one-process run.
- A file that cannot be written (full disk, read-only folder) is one `Warning`
  (level error, kind unsaved) and never ends the run; the weights stay in
  memory, `RunResult.unsaved` says what was not saved, and `save_to` writes the
  whole run to another folder.
"""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn

from ..settings import TrainingConfig
from ..data.augment import AugmentedStream, Augmenter
from .batches import (ShardedBatches, StreamBatches, TensorBatches, _apply, batch_size_of, call_model,
                      make_batches, shard_bounds, shard_split)
from .channels_last import as_channels_last, wants_channels_last
from .checkpoint import CheckpointWriter, save_checkpoint, to_cpu, write_error_text
from .device import resolve_device
from .early_stopping import BestTracker
from .compiling import CompiledForward, dynamic_batch, mark_step
from .events import COMPILE_FALLBACK, DIVERGED, SETTING, UNSAVED, EpochEnded, Failed, Finished, GradientStats, Progress, Publisher, Started
from .events import Warning as WarningEvent
from .failures import describe_failure
from .grad_health import GradientMonitor, build_clipper
from .losses import build_loss
from .metrics import MetricAccumulator
from .optimizers import build_optimizer
from .precision import Precision, backend_flags, resolve_precision
from .regularization import WeightPenalty
from .runs import METRICS_FILE, SUMMARY_FILE, RunFolder
from .schedulers import LRSchedule
from .seeding import deterministic_mode, rng_state, seed_everything, set_rng_state

DIVERGENCE_FACTOR = 1e6  # a training loss this many times the first batch's means the run blew up


@dataclass
class TrainerOptions:
    """Knobs of the loop itself (not part of the graph file)."""

    progress_interval_s: float = 0.1  # at most one Progress event this often
    grad_stats_every: int = 20  # steps between GradientStats reports (and at least one per epoch)
    checkpoint_interval_s: float = 10.0  # last.pt (and best.pt) after the first epoch, then at most this often
    eval_batch_size: int | None = None  # default: 4x the training batch size
    train_metrics: bool = False  # also compute train_<metric> (always on when one is monitored)
    grad_stats: bool = True
    loader_workers: int | None = None  # DataLoader worker processes for streamed data (default: CPUs - 1, at most 8)
    clock: Callable[[], float] = time.perf_counter  # seconds, for every throttle and duration (tests inject one)
    channels_last: bool | None = None  # None: automatic (channels_last.py); True/False force it (benchmarks)


@dataclass
class RunResult:
    reason: str  # completed, early_stopped, diverged, stopped; "failed" when an error ended the run
    epochs_run: int
    best_epoch: int | None
    best: dict[str, float]
    test: dict[str, float] | None
    run_dir: str | None
    duration_s: float
    samples_per_s: float
    history: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_node: str | None = None
    unsaved: str | None = None  # why (part of) the run folder could not be written; see Trainer.save_to

    @property
    def ok(self) -> bool:
        return self.reason in ("completed", "early_stopped", "stopped")


class _Diverged(Exception):
    pass


class Trainer:
    """Trains `model` on the given splits as `config` says.

    train/val/test: a data split, `Split(x, y)` of tensors (or an (x, y) tuple), a
    torch Dataset (streamed through a DataLoader), or None. `task` is
    classification or regression; `output_index` picks one output of a model that
    returns a tuple; `node_ids` helps name the failing node of an error. `augment` (an
    AugmentConfig) changes training batches (nodetrainer.data.augment); `augment_normalizers`
    (one per Input, in order) are the statistics the splits were normalized with, so the
    changes apply to raw pixels. A split's x may be a tuple (several Inputs): `model(*x)`.
    """

    def __init__(self, model: nn.Module, config: TrainingConfig, train: Any, val: Any = None, test: Any = None, *,
                 task: str | None = None, num_classes: int | None = None, device: torch.device | str | None = None,
                 run: RunFolder | None = None, options: TrainerOptions | None = None, output_index: int | None = None,
                 node_ids: Iterable[str] | None = None, extra_state: dict[str, Any] | None = None,
                 num_outputs: int | None = None, node_names: dict[str, str] | None = None,
                 distributed: Any = None, augment: Any = None, augment_normalizers: list[Any] | None = None):
        self.config = config
        self.distributed = distributed  # a distributed.Distributed, or None for one process
        self.options = options or TrainerOptions()
        self._clock = self.options.clock
        self.task = task or config.task
        self.num_classes = num_classes
        self.run = run
        self.output_index = output_index
        self.node_ids = list(node_ids) if node_ids is not None else None
        self.node_names = dict(node_names or getattr(model, "node_of_attr", None) or {})  # attribute -> node id
        self.extra_state = extra_state or {}  # saved with every checkpoint (normalization statistics, ...)
        self.events = Publisher()
        self._pending_warnings: list[WarningEvent] = []

        self.device = torch.device(device) if device is not None else resolve_device(config.device)
        self.precision: Precision = resolve_precision(config.precision, self.device)
        self._pending_warnings += [WarningEvent(w, kind=SETTING) for w in self.precision.warnings]
        self.model = model.to(self.device)
        self._train_model = self.model  # what a training step runs: the model, or its DDP wrapper
        self.channels_last = (self.options.channels_last if self.options.channels_last is not None
                              else wants_channels_last(model, self.device, self.precision.name))
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)

        self.generator = torch.Generator().manual_seed(int(config.seed))
        workers = self.options.loader_workers
        self.augmenter: Augmenter | None = None  # data.augment on resident training batches
        streamed_augment = False
        if augment is not None and augment.active:
            if isinstance(train, torch.utils.data.Dataset):
                norm = augment_normalizers[0] if augment_normalizers else None
                train, streamed_augment = AugmentedStream(train, augment, norm), True  # in the loader's workers
            else:
                self.augmenter = Augmenter(augment, self.device, int(config.seed), augment_normalizers)
        self.train_batches = make_batches(train, config.batch_size, self.device, shuffle=True,
                                          generator=self.generator, num_workers=workers)
        if streamed_augment and isinstance(self.train_batches, StreamBatches):
            self.train_batches.sampler.seed_samples = True
        if self.train_batches is None or len(self.train_batches) == 0:
            raise ValueError("the training split is empty")
        eval_bs = self.options.eval_batch_size or config.batch_size * 4
        self._has_val = make_batches(val, 1, torch.device("cpu")) is not None if distributed else None
        self._has_test = make_batches(test, 1, torch.device("cpu")) is not None if distributed else None
        if distributed is not None:  # each rank its part of every global batch and of the evaluation splits
            self.train_batches = ShardedBatches(self.train_batches, distributed.rank, distributed.world_size)
            if len(self.train_batches) == 0:
                raise ValueError(f"the training split is too small for {distributed.world_size} processes")
            val = shard_split(val, distributed.rank, distributed.world_size)
            test = shard_split(test, distributed.rank, distributed.world_size)
        self.val_batches = make_batches(val, eval_bs, self.device, num_workers=workers)
        self.test_batches = make_batches(test, eval_bs, self.device, num_workers=workers, persistent=False)  # once
        self.steps_per_epoch = len(self.train_batches)

        self.metric_names = config.metric_names(self.task)
        self.tracker = BestTracker.from_config(config.early_stopping, has_val=self.has_val)
        if self.tracker.monitor.startswith("val_") and not self.has_val:
            raise ValueError(f"early stopping monitors {self.tracker.monitor} but there is no validation split; "
                             "set data.split.val above 0 or monitor train_loss")
        self.restore_best = config.early_stopping.restore_best if config.early_stopping else True
        want_train_metrics = self.options.train_metrics or (
            self.tracker.monitor.startswith("train_") and self.tracker.monitor != "train_loss")
        self.train_acc = MetricAccumulator(self.metric_names if want_train_metrics else [], self.task, self.device,
                                           num_classes)
        skipped = MetricAccumulator(self.metric_names, self.task, "cpu").skipped
        if skipped:
            self._pending_warnings.append(WarningEvent(
                f"metrics {', '.join(skipped)} do not apply to {self.task} and are not reported", kind=SETTING))

        self.optimizer = build_optimizer(config.optimizer, self.model)
        self.schedule = LRSchedule(config.scheduler, self.optimizer, config.epochs, self.steps_per_epoch,
                                   maximize=self.tracker.maximize)
        self.scaler = self.precision.make_scaler()
        self._pending_warnings += [WarningEvent(w, kind=SETTING) for w in self.precision.warnings
                                   if all(w != p.message for p in self._pending_warnings)]
        if num_outputs is None or self.output_index is None:
            num_outputs = self._probe_outputs()
        self.loss_fn = build_loss(config.loss, num_outputs, config.label_smoothing)
        penalty = WeightPenalty(config.regularization, self.model)
        self.penalty = penalty if penalty.active else None
        self.clipper = build_clipper(config.grad_clip, self.model)
        self.grad_monitor = GradientMonitor(self.model, nonfinite_is_normal=self.scaler is not None,
                                            names=self.node_names)
        self.compiled: CompiledForward | None = None  # training.compile: the forward runs through torch.compile
        self._compile_warned = False
        if config.compile:  # after the probe above: no compile for it
            self.compiled = CompiledForward.install(self.model, config.compile, self.device)
        if distributed is not None:
            self._train_model = distributed.wrap(self.model, self.device)

        # progress of the run (all restored by `load_state`)
        self.epoch = 0  # completed epochs
        self.step_in_epoch = 0  # steps done in the epoch in progress
        self.global_step = 0
        self.samples_seen = 0
        self.train_seconds = 0.0
        self.history: list[dict[str, Any]] = []
        self._epoch_start_gen_state: torch.Tensor | None = None
        self._resume_partial: dict[str, Any] | None = None
        self._best_state: dict[str, torch.Tensor] | None = None
        self._best_dirty = False
        self._last_checkpoint: float | None = None  # clock time of the last snapshot; None: none yet this run
        self._writer: CheckpointWriter | None = None  # background writes while fit() runs
        self._write_errors: dict[str, str] = {}  # file name -> why its last write failed (reported once each)
        self._summary_written: dict[str, Any] | None = None
        self.initial_loss: float | None = None  # the run's first batch loss (one read, at step 1)

        # control (thread-safe)
        self._stop_requested = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._holding = threading.Event()  # set while the loop waits in a pause
        self._interrupt = False  # fast flag read once per step; the events hold the truth
        self._next_progress_at = 0.0  # when the next Progress event may be sent (clock time)
        self._paused_s = 0.0
        self.last_exception: BaseException | None = None  # the error behind a Failed event (for --debug)

    # -- control ----------------------------------------------------------------
    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Calls `callback(event)` for every event, in the training thread; returns an unsubscribe function."""
        return self.events.subscribe(callback)

    def pause(self) -> None:
        self._running.clear()
        self._interrupt = True

    def resume(self) -> None:
        self._running.set()
        self._interrupt = self._stop_requested.is_set()

    def stop(self) -> None:
        """Ends the run after the current step; the model is kept and last.pt written (reason `stopped`)."""
        self._stop_requested.set()
        self._interrupt = True
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def holding(self) -> bool:
        """Paused and waiting between two steps (the step in flight when pause() came has ended)."""
        return self._holding.is_set()

    @property
    def has_val(self) -> bool:
        """Whether the run has a validation split (on any rank: a rank's own part may be empty)."""
        return self._has_val if self.distributed is not None else self.val_batches is not None

    @property
    def has_test(self) -> bool:
        return self._has_test if self.distributed is not None else self.test_batches is not None

    # -- setup helpers ------------------------------------------------------------
    def _probe_outputs(self) -> int | None:
        """Size of the output's last dimension, from one forward pass on a couple of samples
        (also picks the first output of a model returning several when none was chosen)."""
        batches = self.train_batches
        if isinstance(batches, ShardedBatches):
            batches = batches.inner
        was_training = self.model.training
        try:
            if isinstance(batches, TensorBatches):
                xb = _apply(batches.x, lambda t: t[:2].to(self.device))
            else:
                xb = torch.as_tensor(batches.loader.dataset[0][0]).unsqueeze(0).to(self.device)
            self.model.eval()
            with torch.no_grad(), self.precision.autocast():
                out = call_model(self.model, xb)
            if isinstance(out, (tuple, list)):
                if self.output_index is None:
                    self.output_index = 0
                out = out[self.output_index]
            return int(out.shape[-1]) if out.dim() > 1 else 1
        except Exception:
            return None  # a broken model fails properly (with a located message) in the first step
        finally:
            self.model.train(was_training)

    # -- compiling -----------------------------------------------------------------
    @property
    def compile_mode(self) -> str | None:
        """The torch.compile mode the network runs with ('default', 'reduce-overhead', ...), or None (eager)."""
        c = self.compiled
        return c.mode if c is not None and c.active else None

    def compile_now(self) -> float:
        """Compiles the network once (training and evaluation mode) on real samples, leaving every weight and
        random state as it was; seconds it took (0 when not compiling). `prepare` calls it as its own phase."""
        c = self.compiled
        if c is None or c.warmed:
            return 0.0
        xb, yb = self._warm_up_batch()
        if xb is None:
            return 0.0

        def step() -> None:
            self.model.train()
            x = _apply(xb, lambda t: dynamic_batch(t.clone()))
            if self.channels_last:
                x = _apply(x, as_channels_last)
            if c.cuda_graphs:
                mark_step()
            with self.precision.autocast():
                loss = self.loss_fn(self._select(call_model(self.model, x)), yb)
            loss.backward()

        def evaluate() -> None:
            self.model.eval()
            x = _apply(xb, lambda t: dynamic_batch(t.clone()))
            if self.channels_last:
                x = _apply(x, as_channels_last)
            if c.cuda_graphs:
                mark_step()
            with torch.inference_mode(), self.precision.autocast():
                call_model(self.model, x)

        with backend_flags(self.precision, self.config.deterministic):
            return c.warm_up(step, evaluate if self.val_batches is not None or self.test_batches is not None else None)

    def _warm_up_batch(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Up to one batch of training samples on the device (at least 2, so the batch size stays dynamic)."""
        batches = self.train_batches
        if isinstance(batches, ShardedBatches):
            batches = batches.inner
        n = max(2, min(self.config.batch_size, 64))
        if isinstance(batches, TensorBatches):
            if batch_size_of(batches.x) < 2:
                return None, None
            return _apply(batches.x, lambda t: t[:n].to(self.device)), batches.y[:n].to(self.device)
        dataset = batches.loader.dataset
        if len(dataset) < 2:
            return None, None
        items = [dataset[i] for i in range(min(n, len(dataset)))]
        first = items[0][0]
        if type(first) is tuple:  # several Inputs: one batch per part
            xs = tuple(torch.stack([torch.as_tensor(x[k]) for x, _ in items]).to(self.device)
                       for k in range(len(first)))
        else:
            xs = torch.stack([torch.as_tensor(x) for x, _ in items]).to(self.device)
        ys = torch.stack([torch.as_tensor(y) for _, y in items]).to(self.device)
        return xs, ys

    def _warn_compile_fallback(self) -> None:
        """One warning when the network could not be compiled and trains eagerly (also found mid-run)."""
        c = self.compiled
        if c is None or c.fallback is None or self._compile_warned or c.model_error:
            return
        self._compile_warned = True
        self._emit(WarningEvent(f"training.compile: {self.config.compile}: the network could not be compiled "
                                f"({c.fallback}); training goes on eagerly", kind=COMPILE_FALLBACK))

    def _select(self, out: Any) -> torch.Tensor:
        if isinstance(out, (tuple, list)):
            return out[self.output_index or 0]
        return out

    def _emit(self, event: Any) -> None:
        self.events.emit(event)

    @property
    def run_dir(self) -> str | None:
        return str(self.run.path) if self.run else None

    # -- the run ------------------------------------------------------------------
    def fit(self) -> RunResult:
        """Trains until the last epoch, early stopping, divergence or `stop()`; never raises for training errors."""
        started = self._clock()
        if self.global_step == 0 and self.epoch == 0:
            seed_everything(self.config.seed)  # a fresh run: dropout & co. draw from the run's seed (resumes restore)
        samples_before, seconds_before = self.samples_seen, self.train_seconds
        reason = "completed"
        failure = None
        self._last_checkpoint = None  # the first checkpoint of this run (or resumption) follows its first epoch
        self._fit_started = self._clock()
        self._writer = CheckpointWriter() if self.run is not None else None
        last_written = False
        try:
            with backend_flags(self.precision, self.config.deterministic), \
                    deterministic_mode(self.config.deterministic):
                reason = self._loop()
                self._settle_writes()
                if reason != "diverged":
                    last_written = self._write_last()  # the weights as trained: what --resume continues from
                kept = self._finish_weights(reason)
                if reason == "diverged":
                    last_written = self._write_last()  # a diverged state cannot be continued: keep the finite weights
                if kept == "last.pt" and not last_written:
                    kept = None
                test = self.evaluate_batches(self.test_batches, "test_") if self.has_test else None
        except Exception as exc:  # shape mismatch at runtime, out of memory, a bug: one line for the user
            info = describe_failure(exc, self.model, self.node_ids, self.config.batch_size, self.node_names)
            failure = info
            self.last_exception = exc
            reason, kept, test = "failed", None, None
        finally:
            self._close_writer()
        duration = self._clock() - started
        train_secs = self.train_seconds - seconds_before
        rate = (self.samples_seen - samples_before) / train_secs if train_secs > 0 else 0.0
        best_row = self._best_row()
        result = RunResult(reason=reason, epochs_run=self.epoch, best_epoch=self.tracker.best_epoch, best=best_row,
                           test=_strip_prefix(test, "test_") if test else None, run_dir=self.run_dir,
                           duration_s=duration, samples_per_s=rate, history=list(self.history),
                           error=failure.message if failure else None, error_node=failure.node if failure else None)
        if failure is None:
            self._write_end(result, kept)
            result.unsaved = self.unsaved
            self._emit(Finished(reason, self.epoch, result.best_epoch, best_row, result.test, self.run_dir,
                                duration, rate, unsaved=result.unsaved))
        else:
            self._write_failure(result)
            self._emit(Failed(failure.message, failure.node, self.run_dir))
        return result

    def _loop(self) -> str:
        compiled = self.compiled
        if compiled is not None and not compiled.warmed:
            self.compile_now()
        self._emit(Started(self.config.epochs, self.steps_per_epoch, str(self.device), self.precision.name,
                           self.run_dir, start_epoch=self.epoch + 1, compiled=self.compile_mode,
                           compile_s=compiled.seconds if compiled is not None and compiled.active else None,
                           channels_last=self.channels_last))
        for w in self._pending_warnings:
            self._emit(w)
        self._pending_warnings = []
        self._warn_compile_fallback()
        if self._best_state is None:
            self._save_best_state()  # the initial weights: what is kept if the first epoch diverges
        self._run_started = self._clock()
        self._steps_at_start = self.global_step
        while self.epoch < self.config.epochs:
            epoch = self.epoch + 1
            t0 = self._clock()
            try:
                train_metrics = self._train_epoch(epoch)
            except _Diverged:
                return "diverged"
            if train_metrics is None:  # stopped mid-epoch
                return "stopped"
            metrics = dict(train_metrics)
            if self.distributed is not None:
                self.distributed.broadcast_buffers(self.model)  # rank 0's BatchNorm statistics everywhere
            if self.has_val:
                metrics.update(self.evaluate_batches(self.val_batches, "val_"))
            self.epoch = epoch
            self.step_in_epoch = 0
            seconds = self._clock() - t0
            diverged = self._loss_diverged(metrics.get("train_loss", 0.0))
            verdict = self.tracker.update(metrics, epoch) if not diverged else None
            if verdict is not None and verdict.improved:
                self._save_best_state()
            diverged = diverged or (verdict is not None and verdict.diverged)
            self.schedule.step_epoch(metrics.get(self.tracker.monitor))
            lr = self.schedule.lr
            row = {"epoch": epoch, **metrics, "lr": lr, "seconds": seconds}
            self.history.append(row)
            self._append_metrics(row)
            self._emit(EpochEnded(epoch, metrics, lr, seconds, improved=bool(verdict and verdict.improved)))
            self._warn_compile_fallback()
            if diverged:
                self._warn_divergence(metrics, epoch)
                return "diverged"
            if verdict is not None and verdict.stop:
                return "early_stopped"
            if self._stop_requested.is_set():
                return "stopped"
            self._checkpoint()
        return "completed"

    @property
    def _checkpoint_due(self) -> bool:
        """At an epoch's end: the first of this run, or checkpoint_interval_s after the last one."""
        last = self._last_checkpoint
        return last is None or self._clock() - last >= self.options.checkpoint_interval_s

    @property
    def _mid_epoch_checkpoint_due(self) -> bool:
        """Inside an epoch: checkpoint_interval_s after the last one (or after the start of a long first epoch)."""
        since = self._last_checkpoint if self._last_checkpoint is not None else self._fit_started
        return self._clock() - since >= self.options.checkpoint_interval_s

    def _train_epoch(self, epoch: int) -> dict[str, float] | None:
        """One epoch of optimizer steps; None when stopped in the middle."""
        model, optimizer, loss_fn = self._train_model, self.optimizer, self.loss_fn
        scaler, clipper, penalty, schedule = self.scaler, self.clipper, self.penalty, self.schedule
        select = self.output_index is not None
        out_index = self.output_index or 0
        acc = self.train_acc
        track_metrics = bool(acc.names)
        per_step = schedule.per_step
        grad_every = self.options.grad_stats_every if self.options.grad_stats else 0
        steps = self.steps_per_epoch
        amp = self.precision.autocast()
        progress_every = self.options.progress_interval_s
        paused_before = self._paused_s

        start_step = self.step_in_epoch
        if start_step and self._epoch_start_gen_state is not None:
            self.generator.set_state(self._epoch_start_gen_state)  # the same permutation as before the stop
        else:
            start_step = 0
            acc.reset()
        self._epoch_start_gen_state = self.generator.get_state()
        if self._resume_partial is not None:
            acc.load_state_dict(self._resume_partial)
            self._resume_partial = None

        model.train()
        t_epoch = self._clock()
        # the throttle runs across epochs, so runs whose epochs are shorter than the interval still
        # get step-level progress
        t_next_progress = min(self._next_progress_at, t_epoch + progress_every)
        samples_epoch = 0
        reported = False
        step = start_step
        scale_value = scaler.get_scale() if scaler is not None else 1.0
        need_initial = self.initial_loss is None
        sharded = self.train_batches if isinstance(self.train_batches, ShardedBatches) else None
        augment = self.augmenter
        graphs = self.compiled is not None and self.compiled.cuda_graphs
        channels_last = self.channels_last
        for xb, yb in self.train_batches.batches(start_step):
            if self._interrupt and self._handle_interrupt():
                self.step_in_epoch = step
                self.train_seconds += self._clock() - t_epoch - (self._paused_s - paused_before)
                self.samples_seen += samples_epoch
                return None
            if augment is not None:  # after the stop check: a checkpoint's generator state is before this batch
                xb = augment(xb) if sharded is None else augment(  # ranks draw for the global batch, use their rows
                    xb, sharded.global_sizes[step], shard_bounds(sharded.global_sizes[step], sharded.rank,
                                                                 sharded.world)[0])
            if channels_last:
                xb = _apply(xb, as_channels_last)
            if graphs:
                mark_step()
            with amp:
                out = model(*xb) if type(xb) is tuple else model(xb)
                if select:
                    out = out[out_index]
                loss = loss_fn(out, yb)
            if need_initial:
                need_initial = False
                self.initial_loss = float(loss.detach())
            total = loss + penalty() if penalty is not None else loss
            if sharded is not None:  # DDP averages the ranks' gradients: weigh each by its part of the batch
                total = total * sharded.loss_scale[step]
            optimizer.zero_grad(set_to_none=True)
            step += 1
            self.global_step += 1
            gs = self.global_step  # reports every grad_every steps, at least once an epoch, and at steps 1, 2, 4, 8...
            report = grad_every and (gs % grad_every == 0 or (step == steps and not reported)  # of a run's start,
                                     or (gs < grad_every and gs & (gs - 1) == 0))  # where a bad lr shows first
            if scaler is not None:
                scaler.scale(total).backward()
                if clipper is not None or report:
                    scaler.unscale_(optimizer)
                if report:
                    reported = True
                    self._grad_report(epoch)
                if clipper is not None:
                    clipper()
                scaler.step(optimizer)
                scaler.update()
                skipped = False
                if per_step and schedule.step_sensitive:
                    new_scale = scaler.get_scale()
                    skipped = new_scale < scale_value
                    scale_value = new_scale
                if per_step and not skipped:
                    schedule.step_batch()
            else:
                total.backward()
                if report:
                    reported = True
                    self._grad_report(epoch)
                if clipper is not None:
                    clipper()
                optimizer.step()
                if per_step:
                    schedule.step_batch()
            n = yb.shape[0]
            samples_epoch += n if sharded is None else sharded.global_sizes[step - 1]
            if track_metrics:
                acc.update(out, yb, loss)
            else:
                acc.add_loss(loss, n)
            now = self._clock()
            if now >= t_next_progress:  # also the in-epoch divergence check, and the mid-epoch checkpoint
                t_next_progress = self._next_progress_at = now + progress_every
                elapsed = now - t_epoch - (self._paused_s - paused_before)
                self._progress(epoch, step, samples_epoch, elapsed)
                if self._writer is not None and self._mid_epoch_checkpoint_due:
                    self._checkpoint_mid_epoch(step, samples_epoch, elapsed)
        self.step_in_epoch = step
        elapsed = self._clock() - t_epoch - (self._paused_s - paused_before)
        self.train_seconds += elapsed
        self.samples_seen += samples_epoch
        if self.distributed is not None:
            acc.all_reduce()
        result = acc.compute("train_")
        if self._loss_diverged(result["train_loss"]):
            self._warn_divergence(result, epoch)
            self._record_diverged_epoch(epoch, result, elapsed)
            raise _Diverged
        return result

    def _handle_interrupt(self) -> bool:
        """Waits while paused; True when training must stop."""
        if not self._running.is_set():
            t = self._clock()
            self._holding.set()
            self._running.wait()
            self._holding.clear()
            self._paused_s += self._clock() - t
        self._interrupt = self._stop_requested.is_set() or not self._running.is_set()
        return self._stop_requested.is_set()

    def _progress(self, epoch: int, step: int, samples_epoch: int, elapsed: float) -> None:
        loss = self.train_acc.mean_loss()
        # a distributed run decides on divergence at the epoch's end, from the all-reduced loss: a rank that
        # stopped on its own part's loss would leave the others waiting
        if self.distributed is None and self._loss_diverged(loss):
            result = {"train_loss": loss}
            self._warn_divergence(result, epoch)
            self._record_diverged_epoch(epoch, result, elapsed)
            raise _Diverged
        if not self.events.active:
            return
        done = self.global_step - self._steps_at_start
        total_left = (self.config.epochs - epoch) * self.steps_per_epoch + (self.steps_per_epoch - step)
        spent = self._clock() - self._run_started
        eta = spent / done * total_left if done else float("nan")
        self._emit(Progress(epoch, step, self.steps_per_epoch, loss,
                            samples_epoch / elapsed if elapsed > 0 else 0.0, eta, self.schedule.lr))

    def _grad_report(self, epoch: int) -> None:
        grad_norms, weight_norms = self.grad_monitor.norms()
        for warning in self.grad_monitor.check(grad_norms):
            self._emit(warning)
        self._emit(GradientStats(self.global_step, grad_norms, weight_norms, epoch))

    def _loss_diverged(self, value: float) -> bool:
        """A non-finite loss, or one grown a million-fold over the run's first batch (a blown-up network)."""
        if not math.isfinite(value):
            return True
        initial = self.initial_loss
        return initial is not None and value > DIVERGENCE_FACTOR * max(initial, 1e-2)

    def _warn_divergence(self, metrics: dict[str, float], epoch: int) -> None:
        """The divergence as one error-level Warning naming the node whose gradient exploded, after a
        GradientStats of the last step (the gradients of the step that blew up are still there)."""
        what = ", ".join(f"{k} = {v:.3g}" for k, v in metrics.items()
                         if k.endswith("loss") and isinstance(v, float) and self._loss_diverged(v))
        if self.initial_loss is not None and "nan" not in what and "inf" not in what:
            what += f", over {DIVERGENCE_FACTOR:.0e} times the first batch's {self.initial_loss:.3g}"
        grad_norms, weight_norms = self.grad_monitor.norms()
        node = self.grad_monitor.culprit(grad_norms)
        if grad_norms:
            self._emit(GradientStats(self.global_step, grad_norms, weight_norms, epoch))
            for warning in self.grad_monitor.check(grad_norms):  # as any report: each exploding node says so
                self._emit(warning)
        where = f" at step {self.global_step}"
        if node is not None:
            norm, earlier = grad_norms.get(node), self.grad_monitor.last_finite.get(node)
            where += f"; the largest gradient was in node {node}"
            if norm is not None and math.isfinite(norm):
                where += f" (norm {norm:.3g})"
            elif earlier is not None and math.isfinite(earlier):
                where += f" (norm {earlier:.3g} before the values became non-finite)"
        self._emit(WarningEvent(f"training diverged ({what or 'non-finite value'}){where}; the last finite weights "
                                "are kept. Try a lower learning rate, grad_clip or a normalization layer",
                                node, level="error", kind=DIVERGED))

    def _record_diverged_epoch(self, epoch: int, metrics: dict[str, float], seconds: float) -> None:
        self.epoch = epoch  # counted as run, though it may have ended early
        self.step_in_epoch = 0
        row = {"epoch": epoch, **metrics, "lr": self.schedule.lr, "seconds": seconds}
        self.history.append(row)
        self._append_metrics(row)

    # -- evaluation ----------------------------------------------------------------
    def evaluate_batches(self, batches: TensorBatches | StreamBatches | None, prefix: str = "") -> dict[str, float]:
        """Loss and metrics of the current weights on a split (`{prefix}loss`, `{prefix}accuracy`, ...)."""
        if batches is None and self.distributed is None:
            return {}
        acc = MetricAccumulator(self.metric_names, self.task, self.device, self.num_classes)
        was_training = self.model.training
        self.model.eval()
        amp = self.precision.autocast()
        graphs = self.compiled is not None and self.compiled.cuda_graphs
        try:
            with torch.inference_mode():
                for xb, yb in batches.batches() if batches is not None else ():
                    if self.channels_last:
                        xb = _apply(xb, as_channels_last)
                    if graphs:
                        mark_step()
                    with amp:
                        out = self._select(call_model(self.model, xb))
                        loss = self.loss_fn(out, yb)
                    acc.update(out, yb, loss)  # outside autocast: counts stay exact
        finally:
            self.model.train(was_training)
        if self.distributed is not None:  # every rank evaluated its part: the sums of all parts
            acc.all_reduce()
        return acc.compute(prefix)

    def evaluate(self, split: str = "val") -> dict[str, float]:
        """Metrics of the current weights on `val` or `test` (keys without prefix)."""
        batches = {"val": self.val_batches, "test": self.test_batches, "train": self.train_batches}[split]
        if batches is None:
            raise ValueError(f"there is no {split} split")
        if isinstance(batches, TensorBatches) and batches.shuffle:
            batches = TensorBatches(batches.x, batches.y, batches.batch_size * 4, self.device)
        with backend_flags(self.precision, False):
            return self.evaluate_batches(batches)

    # -- best weights ---------------------------------------------------------------
    def _save_best_state(self) -> None:
        state = self.model.state_dict()
        if self._best_state is None:
            self._best_state = {k: v.detach().clone() for k, v in state.items()}
        else:
            for k, v in state.items():
                self._best_state[k].copy_(v)
        self._best_dirty = True

    def _best_row(self) -> dict[str, float]:
        best = self.tracker.best_epoch
        for row in self.history:
            if row["epoch"] == best:
                return {k: v for k, v in row.items() if k not in ("epoch", "lr", "seconds")}
        return {}

    def _finish_weights(self, reason: str) -> str:
        """Restores the best weights where due; returns which file holds the kept weights."""
        if reason == "diverged" or self.restore_best:
            if self._best_state is not None:
                self.model.load_state_dict(self._best_state)
            return "best.pt"
        return "last.pt"

    # -- checkpoints ----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything last.pt needs to continue this run exactly: a copy, so a background thread may write
        it while training goes on."""
        # a distributed run's partial sums are this rank's alone: a resumed epoch counts from the resumption
        partial = to_cpu(self.train_acc.state_dict()) if self.step_in_epoch and self.distributed is None else None
        return {
            "kind": "last",
            "model": to_cpu(self.model.state_dict()),
            "optimizer": to_cpu(self.optimizer.state_dict()),
            "scheduler": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "initial_loss": self.initial_loss,
            "samples_seen": self.samples_seen,
            "train_seconds": self.train_seconds,
            "early_stopping": self.tracker.state_dict(),
            "partial_epoch": partial,
            "generator": self.generator.get_state(),
            "augment": self.augmenter.state_dict() if self.augmenter is not None else None,
            "epoch_generator": self._epoch_start_gen_state if self.step_in_epoch else None,
            "rng": rng_state(),
            "history": [dict(row) for row in self.history],
            "config": _plain(asdict(self.config)),
            "precision": self.precision.name,
            **_plain(self.extra_state),
        }

    def best_payload(self) -> dict[str, Any]:
        state = self._best_state if self._best_state is not None else self.model.state_dict()
        return {"kind": "best", "model": to_cpu(state), "epoch": self.tracker.best_epoch,
                "metrics": self._best_row(), "config": _plain(asdict(self.config)), **_plain(self.extra_state)}

    def load_state(self, last: dict[str, Any], best: dict[str, Any] | None = None) -> None:
        """Continues from a last.pt payload (and the run's best.pt)."""
        self.model.load_state_dict(last["model"])
        self.optimizer.load_state_dict(last["optimizer"])
        self.schedule.load_state_dict(last["scheduler"])
        if self.scaler is not None and last.get("scaler"):
            self.scaler.load_state_dict(last["scaler"])
        self.epoch = int(last["epoch"])
        self.step_in_epoch = int(last["step_in_epoch"])
        self.global_step = int(last["global_step"])
        self.initial_loss = last.get("initial_loss")
        self.samples_seen = int(last["samples_seen"])
        self.train_seconds = float(last["train_seconds"])
        self.tracker.load_state_dict(last["early_stopping"])
        self.generator.set_state(last["generator"])
        if self.augmenter is not None and last.get("augment"):
            self.augmenter.load_state_dict(last["augment"])
        self._epoch_start_gen_state = last.get("epoch_generator")
        self._resume_partial = last.get("partial_epoch")
        self.history = [dict(r) for r in last.get("history", [])]
        set_rng_state(last["rng"])
        if best is not None:
            self._best_state = {k: v.to(self.device) for k, v in best["model"].items()}
        else:
            self._save_best_state()

    # -- writing the run folder -------------------------------------------------------
    def _checkpoint(self) -> None:
        """At an epoch's end: hands a snapshot to the background writer when one is due (after the first
        epoch of this run, then every checkpoint_interval_s)."""
        if self._writer is None:
            return
        self._report_write_errors()
        if not self._checkpoint_due:
            return
        self._submit_snapshot()

    def _checkpoint_mid_epoch(self, step: int, samples_epoch: int, elapsed: float) -> None:
        """A snapshot in the middle of a long epoch, as if the run had been stopped after `step`."""
        saved = self.step_in_epoch, self.samples_seen, self.train_seconds
        self.step_in_epoch, self.samples_seen, self.train_seconds = (step, saved[1] + samples_epoch,
                                                                     saved[2] + elapsed)
        try:
            self._report_write_errors()
            self._submit_snapshot()
        finally:
            self.step_in_epoch, self.samples_seen, self.train_seconds = saved

    def _submit_snapshot(self) -> None:
        self._last_checkpoint = self._clock()
        if self._best_dirty or not self.run.best_path.exists():
            self._writer.submit(self.run.best_path, self.best_payload())
            self._best_dirty = False
        self._writer.submit(self.run.last_path, self.state_dict())
        self._guarded(self.run.file(METRICS_FILE), self.run.flush_metrics)

    def _report_write_errors(self) -> None:
        for path, exc in self._writer.take_errors().items():
            self._write_failed(path, exc)

    def _settle_writes(self) -> None:
        """Waits for the background writes, reporting any that failed (before the final, direct writes)."""
        if self._writer is not None:
            self._writer.flush()
            self._report_write_errors()

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _write_failed(self, path: Path, exc: BaseException) -> None:
        """One error-level Warning per distinct failure; the run goes on with its weights in memory."""
        message = write_error_text(path, exc)
        if self._write_errors.get(path.name) != message:
            self._emit(WarningEvent(f"{message}; training goes on and the weights stay in memory until a write "
                                    "succeeds", level="error", kind=UNSAVED))
        self._write_errors[path.name] = message

    def _guarded(self, path: Path, write: Callable[[], None]) -> bool:
        """Runs one write of the run folder; False (and a Warning) when it fails."""
        try:
            write()
        except OSError as exc:
            self._write_failed(path, exc)
            return False
        self._write_errors.pop(path.name, None)
        return True

    def _append_metrics(self, row: dict[str, Any]) -> None:
        if self.run is not None:
            self._guarded(self.run.file(METRICS_FILE), lambda: self.run.append_metrics(row))

    def _write_last(self) -> bool:
        if self.run is None:
            return False
        return self._guarded(self.run.last_path, lambda: save_checkpoint(self.run.last_path, self.state_dict()))

    def _write_end(self, result: RunResult, kept: str | None) -> None:
        if self.run is None:
            return
        if self._guarded(self.run.best_path, lambda: save_checkpoint(self.run.best_path, self.best_payload())):
            self._best_dirty = False
        elif kept == "best.pt":
            kept = None
        self._guarded(self.run.file(METRICS_FILE), self.run.flush_metrics)
        summary = self._summary(result, kept)
        self._summary_written = summary
        self._guarded(self.run.file(SUMMARY_FILE), lambda: self.run.write_summary(summary))

    @property
    def unsaved(self) -> str | None:
        """Why the run folder is incomplete (one line), or None when every file was written."""
        return "; ".join(self._write_errors.values()) if self._write_errors else None

    def save_to(self, folder: str | os.PathLike, graph_text: str | None = None) -> Path:
        """Writes this run (best.pt, last.pt, metrics.csv, summary.json, and graph.yaml when `graph_text` is
        given) to `folder`, e.g. when the run folder could not be written; OSError when this fails too."""
        run = RunFolder(folder)
        run.path.mkdir(parents=True, exist_ok=True)
        if graph_text is not None:
            run.write_graph(graph_text)
        save_checkpoint(run.best_path, self.best_payload())
        save_checkpoint(run.last_path, self.state_dict())
        run.write_metrics(self.history)
        if self._summary_written is not None:
            summary = dict(self._summary_written)
            summary["kept_weights"] = summary.get("kept_weights") or ("best.pt" if self.restore_best else "last.pt")
            summary.pop("unsaved", None)
            run.write_summary(summary)
        return run.path

    def _write_failure(self, result: RunResult) -> None:
        if self.run is None:
            return
        try:
            self.run.flush_metrics()
            self.run.write_summary(self._summary(result, None))
        except Exception:
            pass

    def _summary(self, result: RunResult, kept: str | None) -> dict[str, Any]:
        summary = {
            "stop_reason": result.reason,
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "monitor": self.tracker.monitor,
            "best": result.best,
            "test": result.test,
            "duration_s": round(result.duration_s, 3),
            "samples_per_s": round(result.samples_per_s, 1),
            "kept_weights": kept,
            "device": str(self.device),
            "precision": self.precision.name,
            "world_size": self.distributed.world_size if self.distributed is not None else 1,
            "error": result.error,
            "error_node": result.error_node,
        }
        if self.unsaved:
            summary["unsaved"] = self.unsaved
        return summary


def _strip_prefix(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in metrics.items()}


def _plain(value: Any) -> Any:
    """Values torch.load(weights_only=True) accepts: tensors, numbers, strings, lists, dicts."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


__all__ = ["Trainer", "TrainerOptions", "RunResult"]
