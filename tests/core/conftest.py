"""Fixtures for the core tests."""
from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_digits


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models gain nothing from intra-op threads, and on a shared 2-core machine OpenMP threads
    waiting on each other make every op take a scheduler time slice; one thread keeps timings sane."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    """The digits set standardized and shuffled once: train 1300, val 300, test 197."""
    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    x, y = x[perm], y[perm]
    return {"train": (x[:1300], y[:1300]), "val": (x[1300:1600], y[1300:1600]), "test": (x[1600:], y[1600:])}
