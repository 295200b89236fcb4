"""Ctrl-C on the command line: the first press stops the work at the next safe point, a second aborts.

`stop_on_ctrl_c(stop, message)` installs the handler (on the main thread only;
elsewhere it installs nothing) and returns it: `count` says how often Ctrl-C
was pressed, `restore()` puts the previous handler back.
"""
from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Callable


class CtrlC:
    def __init__(self, stop: Callable[[], None], message: str) -> None:
        self.stop = stop
        self.message = message
        self.count = 0
        self.previous: Any = None

    def __call__(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.count == 1:
            print(f"\n{self.message} (Ctrl-C again to abort)...", file=sys.stderr)
            self.stop()
        else:
            raise KeyboardInterrupt

    def restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def stop_on_ctrl_c(stop: Callable[[], None], message: str) -> CtrlC:
    """Install a CtrlC that calls `stop()` and prints `message` on the first press."""
    handler = CtrlC(stop, message)
    if threading.current_thread() is threading.main_thread():
        handler.previous = signal.signal(signal.SIGINT, handler)
    return handler
