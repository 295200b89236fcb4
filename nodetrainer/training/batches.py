"""Feeding batches to the loop without per-sample Python.

- `TensorBatches`: a split that fits lives on the device as two tensors. Each
  training epoch draws one `torch.randperm` from the run's own generator,
  gathers the shuffled split once (or per batch when the split is large) and
  hands out views; no DataLoader, no collation, no host work per step.
- The same class keeps a split too large for the GPU in (pinned) host memory and
  copies each batch over, non-blocking.
- `StreamBatches`: a torch `Dataset` too large to hold (big image folders) goes
  through a DataLoader with persistent worker processes (started from a fork
  server on Linux: forking a threaded GUI process can deadlock) and pinned
  memory, shuffled by the same generator through a batch sampler, so a resumed
  run sees the same order.

A final training batch of a single sample is dropped: BatchNorm cannot train on
it and one sample an epoch is not worth a crash. Both classes can start an
epoch at a given step (resuming in the middle of an epoch).

Several Inputs: a split's `x` may be a tuple of tensors (one per Input); batches then
carry a tuple `xb` in the same order, fed as `model(*xb)` (see `call_model`).

Distributed training (`ShardedBatches`): every rank draws the same seeded
permutation, cuts it into the same global batches and takes its own contiguous
part of each (sizes differ by at most one sample); `loss_scale[i]` makes the
mean of the ranks' gradients the gradient of the whole global batch.
"""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import sys
from typing import Any, Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

GATHER_LIMIT_BYTES = 512 * 2**20  # below this a whole shuffled copy per epoch is cheaper than per-batch gathers


def steps_for(n: int, batch_size: int, training: bool) -> int:
    steps = math.ceil(n / batch_size) if n else 0
    if training and n > batch_size and n % batch_size == 1:
        steps -= 1
    return steps


def fits_on_device(nbytes: int, device: torch.device) -> bool:
    if device.type == "cuda":
        try:
            free, _total = torch.cuda.mem_get_info(device)
        except Exception:
            return True
        return nbytes < 0.4 * free
    if device.type == "mps":
        return nbytes < 2 * 2**30
    return True


Features = "torch.Tensor | tuple[torch.Tensor, ...]"


def call_model(model: Any, xb: Any) -> Any:
    """`model(xb)`, or `model(*xb)` for a batch of several Inputs."""
    return model(*xb) if type(xb) is tuple else model(xb)


def _apply(x: Any, fn: Any) -> Any:
    """fn on a tensor, or on each tensor of a tuple."""
    return tuple(fn(t) for t in x) if type(x) is tuple else fn(x)


def batch_size_of(xb: Any) -> int:
    return int((xb[0] if type(xb) is tuple else xb).shape[0])


class TensorBatches:
    def __init__(self, x: Any, y: torch.Tensor, batch_size: int, device: torch.device,
                 shuffle: bool = False, generator: torch.Generator | None = None,
                 resident: bool | None = None):
        parts = x if isinstance(x, tuple) else (x,)
        for part in parts:
            if len(part) != len(y):
                raise ValueError(f"inputs and targets differ in length: {len(part)} and {len(y)}")
        nbytes = sum(p.element_size() * p.numel() for p in parts) + y.element_size() * y.numel()
        self.resident = fits_on_device(nbytes, device) if resident is None else resident
        self.device = device
        if self.resident:
            self.x, self.y = _apply(x, lambda t: t.to(device)), y.to(device)
        else:
            pin = device.type == "cuda"
            self.x = _apply(x, lambda t: t.pin_memory()) if pin else x
            self.y = y.pin_memory() if pin else y
        self.n = len(y)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.gather_all = nbytes <= GATHER_LIMIT_BYTES
        self.steps = steps_for(self.n, batch_size, training=shuffle)

    def __len__(self) -> int:
        return self.steps

    def batches(self, start_step: int = 0) -> Iterator[tuple[Any, torch.Tensor]]:
        """The batches of one epoch (drawing this epoch's permutation first when shuffling)."""
        if type(self.x) is tuple:
            yield from self._tuple_batches(start_step)
            return
        bs, n, steps = self.batch_size, self.n, self.steps
        x, y = self.x, self.y
        if self.shuffle:
            perm = torch.randperm(n, generator=self.generator)
            if self.resident and self.gather_all:
                perm = perm.to(self.device, non_blocking=True)
                x, y = x.index_select(0, perm), y.index_select(0, perm)
                for i in range(start_step, steps):
                    yield x[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]
                return
            if self.resident:
                perm = perm.to(self.device, non_blocking=True)
            for i in range(start_step, steps):
                idx = perm[i * bs:(i + 1) * bs]
                yield self._move(x.index_select(0, idx)), self._move(y.index_select(0, idx))
            return
        for i in range(start_step, steps):
            yield self._move(x[i * bs:(i + 1) * bs]), self._move(y[i * bs:(i + 1) * bs])

    def _tuple_batches(self, start_step: int) -> Iterator[tuple[tuple[torch.Tensor, ...], torch.Tensor]]:
        """The same batches for several Inputs: every part gathered with the same permutation."""
        bs, n, steps = self.batch_size, self.n, self.steps
        x, y = self.x, self.y
        if self.shuffle:
            perm = torch.randperm(n, generator=self.generator)
            if self.resident:
                perm = perm.to(self.device, non_blocking=True)
            if self.resident and self.gather_all:
                x, y = tuple(p.index_select(0, perm) for p in x), y.index_select(0, perm)
                for i in range(start_step, steps):
                    yield tuple(p[i * bs:(i + 1) * bs] for p in x), y[i * bs:(i + 1) * bs]
                return
            for i in range(start_step, steps):
                idx = perm[i * bs:(i + 1) * bs]
                yield (tuple(self._move(p.index_select(0, idx)) for p in x), self._move(y.index_select(0, idx)))
            return
        for i in range(start_step, steps):
            yield tuple(self._move(p[i * bs:(i + 1) * bs]) for p in x), self._move(y[i * bs:(i + 1) * bs])

    def _move(self, t: Any) -> Any:
        if self.resident:
            return t
        return _apply(t, lambda p: p.to(self.device, non_blocking=True))


class _PermutationBatchSampler:
    """Index lists of one epoch's permutation, from a start step; shuffled by the run's generator."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, generator: torch.Generator | None, steps: int):
        self.n, self.batch_size, self.shuffle, self.generator, self.steps = n, batch_size, shuffle, generator, steps
        self.start_step = 0
        self.shard: tuple[int, int] | None = None  # (rank, world size): yield only this rank's part of a batch
        self.seed_samples = False  # yield (index, seed) pairs: each sample's augmentation seed (AugmentedStream)

    def __len__(self) -> int:
        return self.steps - self.start_step

    def __iter__(self) -> Iterator[list[int]]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        # one draw an epoch, after the permutation: a resumed epoch (generator reset to its start) draws it again
        base = int(torch.randint(0, 2**62, (1,), generator=self.generator)) if self.seed_samples else 0
        bs = self.batch_size
        for i in range(self.start_step, self.steps):
            batch = order[i * bs:(i + 1) * bs]
            lo = 0
            if self.shard is not None:
                lo, hi = shard_bounds(len(batch), *self.shard)
                batch = batch[lo:hi]
            if self.seed_samples:  # the seed follows the sample's place in the epoch: the same on any world size
                yield [(k, base + i * bs + lo + j) for j, k in enumerate(batch.tolist())]
            else:
                yield batch.tolist()


class StreamBatches:
    def __init__(self, dataset: Dataset, batch_size: int, device: torch.device, shuffle: bool = False,
                 generator: torch.Generator | None = None, num_workers: int | None = None, persistent: bool = True):
        self.n = len(dataset)  # type: ignore[arg-type]
        self.device = device
        self.steps = steps_for(self.n, batch_size, training=shuffle)
        self.generator = generator
        self.sampler = _PermutationBatchSampler(self.n, batch_size, shuffle, generator, self.steps)
        if num_workers is None:
            num_workers = min(8, max(0, (os.cpu_count() or 1) - 1))
        # fork() from a process with threads (a GUI, torch's own pools) can deadlock: on Linux start workers
        # from a fork server instead (macOS and Windows spawn by default)
        context = None
        if num_workers > 0 and sys.platform.startswith("linux") and "forkserver" in mp.get_all_start_methods():
            context = mp.get_context("forkserver")
        self.loader = DataLoader(dataset, batch_sampler=self.sampler, num_workers=num_workers,
                                 pin_memory=device.type == "cuda", persistent_workers=persistent and num_workers > 0,
                                 multiprocessing_context=context)

    def __len__(self) -> int:
        return self.steps

    def batches(self, start_step: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self.sampler.start_step = start_step
        for xb, yb in self.loader:
            yield xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)


def shard_bounds(size: int, rank: int, world: int) -> tuple[int, int]:
    """[lo, hi) of rank `rank`'s contiguous part of `size` items shared by `world` ranks."""
    return size * rank // world, size * (rank + 1) // world


class ShardedBatches:
    """One rank's part of every global batch of a shuffled split (distributed training).

    Each epoch draws the permutation the one-process run would draw (same generator, same seed), so
    the global batches are the same; rank r takes its contiguous part of each. A final global batch
    with fewer than two samples per rank is dropped (BatchNorm cannot train on one sample).
    """

    def __init__(self, inner: TensorBatches | StreamBatches, rank: int, world: int):
        self.inner, self.rank, self.world = inner, rank, world
        n, bs = inner.n, inner.batch_size if isinstance(inner, TensorBatches) else inner.sampler.batch_size
        self.n, self.batch_size = n, bs
        steps = n // bs + (1 if n % bs >= 2 * world else 0)
        self.steps = steps
        self.global_sizes = [min(bs, n - i * bs) for i in range(steps)]
        bounds = [shard_bounds(g, rank, world) for g in self.global_sizes]
        self.local_sizes = [hi - lo for lo, hi in bounds]
        # mean over ranks of (local mean * local_n * world / global_n) = mean over the global batch
        self.loss_scale = [ln * world / g for ln, g in zip(self.local_sizes, self.global_sizes)]
        self.positions = torch.cat([torch.arange(i * bs + lo, i * bs + hi) for i, (lo, hi) in enumerate(bounds)])
        self.offsets = [0]
        for size in self.local_sizes:
            self.offsets.append(self.offsets[-1] + size)
        if isinstance(inner, StreamBatches):
            inner.steps = inner.sampler.steps = steps
            inner.sampler.shard = (rank, world)

    def __len__(self) -> int:
        return self.steps

    def batches(self, start_step: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        inner = self.inner
        if isinstance(inner, StreamBatches):
            yield from inner.batches(start_step)
            return
        perm = torch.randperm(self.n, generator=inner.generator)
        local = perm[self.positions]
        if inner.resident:
            local = local.to(inner.device, non_blocking=True)
        x, y = _apply(inner.x, lambda p: p.index_select(0, local)), inner.y.index_select(0, local)
        for i in range(start_step, self.steps):
            a, b = self.offsets[i], self.offsets[i + 1]
            yield inner._move(_apply(x, lambda p: p[a:b])), inner._move(y[a:b])


def shard_split(split: Any, rank: int, world: int) -> Any:
    """Rank `rank`'s contiguous part of an evaluation split (Split, (x, y) or Dataset); None when empty."""
    if split is None:
        return None
    if hasattr(split, "x") and hasattr(split, "y") and isinstance(split.x, (torch.Tensor, tuple)):
        lo, hi = shard_bounds(len(split.y), rank, world)
        return type(split)(_apply(split.x, lambda p: p[lo:hi]), split.y[lo:hi]) if hi > lo else None
    if isinstance(split, Sequence) and len(split) == 2 and all(isinstance(t, torch.Tensor) for t in split):
        lo, hi = shard_bounds(len(split[0]), rank, world)
        return (split[0][lo:hi], split[1][lo:hi]) if hi > lo else None
    lo, hi = shard_bounds(len(split), rank, world)
    return torch.utils.data.Subset(split, range(lo, hi)) if hi > lo else None


def make_batches(split: Any, batch_size: int, device: torch.device, shuffle: bool = False,
                 generator: torch.Generator | None = None,
                 num_workers: int | None = None, persistent: bool = True) -> TensorBatches | StreamBatches | None:
    """Batches for a data split: a Split(x, y) of tensors, a torch Dataset, or None (no such split)."""
    if split is None:
        return None
    if hasattr(split, "x") and hasattr(split, "y") and isinstance(split.x, (torch.Tensor, tuple)):
        if len(split.y) == 0:
            return None
        return TensorBatches(split.x, split.y, batch_size, device, shuffle, generator)
    if isinstance(split, Sequence) and len(split) == 2 and all(isinstance(t, torch.Tensor) for t in split):
        return TensorBatches(split[0], split[1], batch_size, device, shuffle, generator)
    if isinstance(split, Dataset) or hasattr(split, "__getitem__"):
        return StreamBatches(split, batch_size, device, shuffle, generator, num_workers, persistent)
    raise TypeError(f"cannot make batches from {type(split).__name__}")
