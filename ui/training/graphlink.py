"""Subscribing a widget to a Graph's events without keeping it alive or calling it after it is gone.

The Graph outlives the views (the editor keeps one Graph for the whole session),
so a panel that subscribed a bound method would be called after Qt deleted it,
and the RuntimeError would surface inside whatever edit emitted the event.
`subscribe(graph, widget, handler)` holds the widget weakly and unsubscribes
itself once the widget (or its C++ side) is gone.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import shiboken6


def subscribe(graph: Any, widget: Any, handler: Callable[[Any, Any], None]) -> Callable[[], None]:
    """Calls `handler(widget, event)` for the graph's events while `widget` lives; returns the unsubscriber."""
    ref = weakref.ref(widget)
    unsubscribe: Callable[[], None] = lambda: None  # noqa: E731 - replaced below

    def callback(event: Any) -> None:
        w = ref()
        if w is None or not shiboken6.isValid(w):
            unsubscribe()
            return
        handler(w, event)

    unsubscribe = graph.subscribe(callback)
    return unsubscribe


__all__ = ["subscribe"]
