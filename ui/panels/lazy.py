"""Panels that follow the document but refresh only while visible, shortly after the last edit."""
from __future__ import annotations

from PySide6.QtCore import QTimer, SignalInstance
from PySide6.QtWidgets import QWidget


class RefreshWhenVisible:
    """Mixin for a QWidget with a `refresh()` method: call `follow(signal, delay_ms)` in `__init__`.

    An emission of `signal` marks the panel stale; a visible panel refreshes `delay_ms` after the
    last one, a hidden panel when it is shown again, so a large graph costs nothing while hidden."""

    _stale = True

    def follow(self: QWidget, signal: SignalInstance, delay_ms: int) -> None:
        self._stale = True
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(delay_ms)
        self._refresh_timer.timeout.connect(self._refresh_now)
        signal.connect(self._mark_stale)

    def _mark_stale(self, *_args) -> None:
        self._stale = True
        if self.isVisible():
            self._refresh_timer.start()

    def _refresh_now(self) -> None:
        self._stale = False
        self.refresh()

    def refresh_if_stale(self) -> None:
        if self._stale:
            self._refresh_now()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh_if_stale()
