"""How often the training view refreshes: a fixed cadence on an injectable clock.

The live view must stay live whatever the machine does, so nothing here rations
by CPU cost: the view makes each refresh cheap instead (see plots.py), and a
`Cadence` only spaces refreshes so that a fast model (thousands of events a
second) still costs the UI a bounded number of refreshes. `wait()` says how long
until the next refresh is due, `mark()` records one. The clock is a parameter,
so tests decide what time it is instead of sleeping.
"""
from __future__ import annotations

import time
from typing import Callable

Clock = Callable[[], float]

PROGRESS_INTERVAL_S = 0.1  # the progress bar and the run's messages: up to 10 refreshes a second
PLOT_INTERVAL_S = 0.25  # the plots: up to 4 redraws a second (a redraw costs a few ms of the UI thread)


class Cadence:
    """At most one event per `interval` seconds of `clock`."""

    def __init__(self, interval: float, clock: Clock = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: float | None = None

    def wait(self) -> float:
        """Seconds until the next event is due; 0 when it is due now."""
        if self._last is None:
            return 0.0
        return max(0.0, self._last + self.interval - self.clock())

    def mark(self) -> None:
        """An event happened now."""
        self._last = self.clock()

    def reset(self) -> None:
        """The next event is due at once (a new run)."""
        self._last = None


__all__ = ["Cadence", "Clock", "PROGRESS_INTERVAL_S", "PLOT_INTERVAL_S"]
