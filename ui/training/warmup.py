"""Imports what the first training run needs while the user is still looking at the graph.

The first press of Train would otherwise spend seconds importing: torch's
optimizers load `torch._dynamo` on first use, and the data splits load
scikit-learn (and with it SciPy, whose extension modules hold the GIL while they
initialize, which stalls the UI thread). `start()` does those imports once, in a
daemon thread, when the app has been idle for a moment; a run started earlier
simply waits for the import lock, as it would have imported them itself.
"""
from __future__ import annotations

import importlib
import threading
from typing import Callable

MODULES = ("torch", "torch._dynamo", "sklearn.model_selection", "sklearn.datasets",
           "nodetrainer.training.run", "nodetrainer.data")

_thread: threading.Thread | None = None


def _work(on_done: Callable[[], None]) -> None:
    try:
        for name in MODULES:
            importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a warm-up only: the run reports what it cannot import
        pass
    finally:
        on_done()


def start(on_done: Callable[[], None] = lambda: None) -> threading.Thread:
    """Starts the imports once per process (later calls return the same thread, and `on_done` is called at
    once); `on_done()` runs in the thread when it ends."""
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_work, args=(on_done,), name="nodetrainer-warmup", daemon=True)
        _thread.start()
    else:
        on_done()
    return _thread


__all__ = ["start", "MODULES"]
