"""A CPU-time budget for the UI thread while a model trains in the background.

Training runs in a thread of the same process, so every millisecond the UI
thread spends in Python (or in Qt code called from Python, which keeps the GIL)
is a millisecond the training loop may wait. `CpuBudget` is a token bucket of
CPU seconds: it refills at `share` seconds per second (e.g. 0.02 = 2% of one
core), holds at most `burst`, and work done is `spend`-ed, measured with the
thread's CPU clock. `delay()` says how long to wait before the budget allows the
next piece of work, so a slow paint makes plots refresh less often instead of
slowing training, and a fast one refreshes up to the UI's rate limit.
"""
from __future__ import annotations

import time


class CpuBudget:
    def __init__(self, share: float, burst: float) -> None:
        self.share = share
        self.burst = burst
        self.tokens = burst
        self._t = time.monotonic()
        self.spent = 0.0

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self._t) * self.share)
        self._t = now

    def spend(self, seconds: float) -> None:
        self._refill()
        self.tokens -= seconds
        self.spent += seconds

    def delay(self) -> float:
        """Seconds until the budget is back to zero debt (0 when work may run now)."""
        self._refill()
        return 0.0 if self.tokens >= 0 else -self.tokens / self.share


class measure:  # noqa: N801 - used as a context manager
    """`with measure(budget): ...` spends the block's CPU time (this thread's) from `budget`."""

    def __init__(self, budget: CpuBudget) -> None:
        self.budget = budget

    def __enter__(self) -> "measure":
        self._t = time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.budget.spend(time.thread_time() - self._t)


__all__ = ["CpuBudget", "measure"]
