"""Subscribing a widget to a Graph's events without keeping it alive or calling it after it is gone.

The Graph outlives the views (the editor keeps one Graph for the whole session),
so a panel that subscribed a bound method would be called after Qt deleted it.
`Graph.subscribe_weakly` (the core) holds the widget weakly; this adds the Qt
half: a widget whose C++ side is gone counts as gone too.
"""
from __future__ import annotations

from typing import Any, Callable

import shiboken6


def subscribe(graph: Any, widget: Any, handler: Callable[[Any, Any], None]) -> Callable[[], None]:
    """Calls `handler(widget, event)` for the graph's events while `widget` lives; returns the unsubscriber."""
    return graph.subscribe_weakly(widget, handler, alive=shiboken6.isValid)


__all__ = ["subscribe"]
