"""Training from the desktop app: data and training panels, run controls, live plots, runs, worker thread.

`TrainingDock(graph, apply_section=..., parent=window)` is all a main window
needs; see dock.py for its signals (node flags for the editor, focus requests,
opening a run's graph) and `request_shutdown()` for closing during a run.
"""
from .dock import TrainingDock, TrainingWidget
from .worker import TrainingWorker, Update

__all__ = ["TrainingDock", "TrainingWidget", "TrainingWorker", "Update"]
