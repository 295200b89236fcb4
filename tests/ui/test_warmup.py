"""The app imports what the first run needs before the first Train (ui/training/warmup.py)."""
from __future__ import annotations

import sys


def test_warmup_imports_what_training_needs_once():
    from ui.training import warmup

    thread = warmup.start()
    assert warmup.start() is thread  # once per process
    thread.join(120)
    assert not thread.is_alive()
    assert all(name in sys.modules for name in warmup.MODULES)
