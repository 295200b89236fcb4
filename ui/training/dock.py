"""The training dock: data, training settings, runs, run controls and live plots for one Graph.

`TrainingWidget` is the controller: it owns a `TrainingWorker` and the panels,
trains a snapshot of the editor's Graph when Train is pressed (or resumes a
stopped run from the Runs tab or the result header), applies the worker's
updates to the controls, the result header (outcome.py: the test metric large,
the stop reason in words, or what went wrong and where), the plots, the
"Results" tab (result_samples.py: the most confidently wrong test samples, and
the samples of a clicked confusion-matrix cell, which brings the tab forward), the
"Try it" tab (try_panel.py: the kept model of the last run on a test sample or
a dropped file), and
reports what the editor should show on nodes. As soon as the graph changes
after a run, that run's node badges are cleared and its messages greyed as
from the last run. What it reports:

- `nodeFlagged(category, node_id, level, message)`: category "data" (the Input
  shape disagrees with the data) or "training" (exploding/vanishing gradients,
  the node a training error happened in, pre-flight problems); level "error" or
  "warning"; an empty message clears that node's flag of that category.
- `nodeFlagsCleared(category)`: drop every flag of the category (a new run).
- `focusNodeRequested(node_id)`: the user clicked a message naming a node.
- `openGraphRequested(path)`: the runs panel asks to open a run's graph.yaml.

`TrainingDock` wraps the widget in a QDockWidget and forwards all of that, so
a main window needs only to create it, add it and connect what it wants.
`request_shutdown()` is for the window's closeEvent (after asking the user).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from nodetrainer.training.events import DIVERGED

from .data_panel import DataPanel
from .graphlink import subscribe
from .outcome import DIVERGED_HINT, describe, describe_problem, fmt_metric, metric_label
from .plots import LivePlots
from .result_header import ResultHeader
from .result_samples import ResultSamples
from .run_controls import RunControls
from .runs_panel import RunsPanel
from .training_panel import TrainingPanel
from .try_panel import TryPanel
from .tune_panel import TunePanel
from .worker import TrainingWorker, Update

REASON_TEXT = {
    "completed": "Completed", "early_stopped": "Stopped early", "stopped": "Stopped",
    "diverged": "Diverged", "failed": "Failed",
}


def _metrics_text(metrics: dict[str, float] | None, limit: int = 4) -> str:
    if not metrics:
        return ""
    return ", ".join(f"{metric_label(k)} {fmt_metric(k, v)}" for k, v in list(metrics.items())[:limit])


class TrainingWidget(QWidget):
    nodeFlagged = Signal(str, str, str, str)  # category, node id, level, message ("" clears)
    nodeFlagsCleared = Signal(str)  # category
    focusNodeRequested = Signal(str)
    openGraphRequested = Signal(object)  # Path
    stateChanged = Signal(str)  # idle, preparing, running, paused, stopping
    runEnded = Signal(object)  # the RunResult (None when the run could not start)

    def __init__(self, graph: Any, apply_section: Callable[[str, Any], None] | None = None,
                 runs_dir: str | Path | None = None, parent: QWidget | None = None, worker_options: Any = None) -> None:
        super().__init__(parent)
        self.graph = graph
        self._runs_dir = Path(runs_dir) if runs_dir else None
        self._unsubscribe: Callable[[], None] | None = None
        self.worker = TrainingWorker(self, options=worker_options)
        self.worker.updated.connect(self._apply)
        self.worker.stateChanged.connect(self._state_changed)
        self.flags: dict[tuple[str, str], tuple[str, str]] = {}  # (category, node) -> (level, message)
        self.last_result: Any = None
        self.last_finished: Any = None
        self.last_predictions: Any = None  # the Predictions the result plot shows
        self.predictions: dict[str, Any] = {}  # split -> Predictions of the last run
        self.result_split = "test"  # the split the result plot shows when it exists
        self.outcome: Any = None  # the last run's Outcome (outcome.py)
        self._best_epoch: Any = None  # the EpochEnded of the best epoch so far (live header)
        self.run_dir: str | None = None
        self._started: Any = None
        self._snapshot_time = ""
        self._edited_since_start = False
        self._run_is_current = False  # the last run's badges and messages describe the graph as it is
        self._history: list[dict[str, Any]] = []  # metrics.csv rows of a run being resumed
        self._last_epoch: Any = None
        self._divergence: Any = None  # the run's `diverged` Warning (its node is where the gradient exploded)
        self._metric_names: list[str] = []  # the run's metrics (from Prepared), the first one leads the header

        self.data_panel = DataPanel(graph, apply_section)
        self.training_panel = TrainingPanel(graph, apply_section)
        self.training_panel.threads.changed.connect(lambda n: setattr(self.worker, "threads", n))
        self.runs_panel = RunsPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.data_panel, "Data")
        self.tabs.addTab(self.training_panel, "Settings")
        self.tabs.addTab(self.runs_panel, "Runs")
        self.tune = TunePanel(graph, apply_section, runs_dir=lambda: self.runs_dir)  # its view replaces the right side
        self.tabs.addTab(self.tune, "Tune")
        self.samples = ResultSamples()  # the samples behind the result: confidently wrong, a clicked cell's
        self.tabs.addTab(self.samples, "Results")
        self.samples.countChanged.connect(self._label_results_tab)
        self.try_panel = TryPanel()  # the last run's kept model on a test sample or a dropped file
        self.tabs.addTab(self.try_panel, "Try it")
        self.tabs.setMinimumWidth(300)

        self.controls = RunControls()
        self.header = ResultHeader()
        self.plots = LivePlots()
        self.plots.cellClicked.connect(self.show_cell_samples)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        right_layout.addWidget(self.controls)
        right_layout.addWidget(self.header)
        right_layout.addWidget(self.plots, 1)

        self.right = QStackedWidget()
        self.right.addWidget(right)
        self.right.addWidget(self.tune.view)
        self.tabs.currentChanged.connect(
            lambda i: self.right.setCurrentWidget(self.tune.view if self.tabs.widget(i) is self.tune else right))
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(self.right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

        self.controls.trainClicked.connect(self.train)
        self.controls.pauseClicked.connect(self.toggle_pause)
        self.controls.stopClicked.connect(self.stop)
        self.controls.savePlotsClicked.connect(self._save_plots_dialog)
        self.controls.nodeClicked.connect(self.focusNodeRequested)
        self.header.splitChosen.connect(self.show_result_split)
        self.header.resumeClicked.connect(lambda: self.run_dir and self.resume_run(self.run_dir))
        self.header.saveElsewhereClicked.connect(self._save_elsewhere_dialog)
        self.runs_panel.resumeRequested.connect(self.resume_run)
        self.data_panel.nodeProblem.connect(self._data_problem)
        self.runs_panel.openGraphRequested.connect(self.openGraphRequested)
        self.set_graph(graph)

    # -- graph -------------------------------------------------------------------------------------
    def set_graph(self, graph: Any) -> None:
        """Shows another Graph object (the usual case, opening a file, keeps the object and needs nothing)."""
        if self._unsubscribe:
            self._unsubscribe()
        self.graph = graph
        self._unsubscribe = subscribe(graph, self, TrainingWidget._on_graph_event)
        if self.data_panel.graph is not graph:
            self.data_panel.set_graph(graph)
            self.training_panel.set_graph(graph)
            self.tune.set_graph(graph)
        self.runs_panel.set_source(self.runs_dir, graph.name)

    def _on_graph_event(self, event: Any) -> None:
        if event.kind == "replaced" or (event.kind == "settings_changed" and event.other == "name"):
            self.runs_panel.set_source(self.runs_dir, self.graph.name)
        if event.kind == "moved":
            return
        if not self.worker.busy:
            self._last_run_is_stale()
        elif not self._edited_since_start:
            self._edited_since_start = True
            self.controls.set_snapshot_note(
                f"The graph was edited after this run started (snapshot of {self._snapshot_time}). "
                "The running model is unaffected; train again to use the edits.", emphasis=True)

    def _last_run_is_stale(self) -> None:
        """The graph changed since the last run: its node badges go (they may name nodes that changed or no
        longer exist) and its messages are shown greyed, as from the last run."""
        if not self._run_is_current:
            return
        self._run_is_current = False
        self._clear_flags("training")
        self.controls.mark_messages_stale()

    def refresh_runs(self) -> None:
        """Re-reads the runs folder (e.g. after Save As moved the graph file, and with it `runs_dir`)."""
        self.runs_panel.set_source(self.runs_dir, self.graph.name)

    @property
    def runs_dir(self) -> Path:
        """Where runs are written: the folder given, else `runs/` next to the graph file, else ./runs."""
        if self._runs_dir is not None:
            return self._runs_dir
        path = getattr(self.graph, "path", None)
        return (Path(path).parent if path else Path.cwd()) / "runs"

    @runs_dir.setter
    def runs_dir(self, value: str | Path | None) -> None:
        self._runs_dir = Path(value) if value else None
        self.runs_panel.set_source(self.runs_dir, self.graph.name)

    # -- commands ------------------------------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        return self.worker.busy

    def train(self, overrides: dict[str, Any] | None = None) -> bool:
        """Starts training a snapshot of the graph; False when a run is already going."""
        if self.worker.busy:
            return False
        self._begin_run()
        self.controls.set_snapshot_note(
            f"Training a snapshot of the graph taken at {self._snapshot_time}: edits made now do not change this "
            "run; they apply to the next one.")
        self.worker.start(self.graph, overrides, runs_dir=self.runs_dir)
        return True

    def resume_run(self, run_dir: str | Path) -> bool:
        """Continues a stopped run from its last.pt, in its own folder, with the graph it trained; its earlier
        epochs are drawn first. False when a run is already going or the folder's graph cannot be read."""
        from nodetrainer.errors import NodeTrainerError
        from nodetrainer.graphfile import load_graph
        from nodetrainer.training.history import read_metrics
        from nodetrainer.training.runs import RunFolder

        if self.worker.busy:
            return False
        run_dir = Path(run_dir)
        try:
            graph = load_graph(RunFolder(run_dir).graph_path)
        except NodeTrainerError as exc:
            self._show_outcome(describe_problem("Could not resume", str(exc.problems[0]) if exc.problems else str(exc)))
            return False
        self._begin_run()
        self._history = read_metrics(run_dir)
        self.controls.set_snapshot_note(f"Resuming run {run_dir.name} with the graph it trained (its graph.yaml).")
        self.worker.start(graph, resume_dir=run_dir)
        return True

    def _begin_run(self) -> None:
        """Clears what the last run showed."""
        self._history: list[dict[str, Any]] = []
        self._clear_flags("training")
        self.controls.clear_messages()
        self.plots.reset()
        self.last_result = self.last_finished = self.last_predictions = self.outcome = None
        self.predictions = {}
        self.samples.clear()
        self.try_panel.set_run(None)
        self.header.clear()
        self.run_dir = None
        self._started = self._last_epoch = self._best_epoch = self._divergence = None
        self._edited_since_start = False
        self._run_is_current = True
        self._snapshot_time = time.strftime("%H:%M:%S")
        self.controls.set_status("Preparing…")

    def pause(self) -> None:
        self.worker.pause()

    def resume(self) -> None:
        self.worker.resume()

    def toggle_pause(self) -> None:
        if self.worker.state == "paused":
            self.resume()
        else:
            self.pause()

    def stop(self) -> None:
        self.worker.stop()

    def request_shutdown(self, timeout_s: float = 60.0) -> bool:
        """Stops a run in progress and waits for it (last.pt written, thread finished). For closeEvent."""
        ok = self.worker.request_shutdown(timeout_s)
        ok = self.tune.request_shutdown(timeout_s) and ok
        self.data_panel.wait_idle(5.0)
        self.try_panel.wait_idle(5.0)
        return ok

    def save_plots(self, path: str | Path) -> bool:
        return self.plots.save_png(path)

    def save_run_to(self, folder: str | Path) -> bool:
        """Writes the last run (kept in memory because its folder could not be written) to `folder`."""
        from nodetrainer.errors import NodeTrainerError
        session = self.worker.last_session
        if session is None:
            return False
        try:
            path = session.save_to(folder)
        except NodeTrainerError as exc:
            self.header.set_hint(f"Could not save there either: {exc.problems[0].message if exc.problems else exc}")
            return False
        self.run_dir = str(path)
        self.header.set_hint(f"Saved the run to {path}.")
        self.header.save_button.hide()
        return True

    def _save_elsewhere_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the run in a folder", str(Path.home()))
        if folder:
            self.save_run_to(folder)

    def _save_plots_dialog(self) -> None:
        name = f"{self.graph.name}-training.png"
        start = str((Path(self.run_dir) if self.run_dir else self.runs_dir.parent) / name)
        path, _ = QFileDialog.getSaveFileName(self, "Save plots as PNG", start, "PNG images (*.png)")
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            self.save_plots(path)

    # -- flags ----------------------------------------------------------------------------------------
    def _flag(self, category: str, node: str, level: str, message: str) -> None:
        if message:
            self.flags[(category, node)] = (level, message)
        else:
            self.flags.pop((category, node), None)
        self.nodeFlagged.emit(category, node, level, message)

    def _clear_flags(self, category: str) -> None:
        for key in [k for k in self.flags if k[0] == category]:
            del self.flags[key]
        self.nodeFlagsCleared.emit(category)

    def _data_problem(self, node: str, message: str) -> None:
        self._flag("data", node, "error", message)

    # -- worker -------------------------------------------------------------------------------------
    def _state_changed(self, state: str) -> None:
        if state in ("paused", "stopping"):
            self.plots.redraw()  # what arrived before the pause is on screen now, not at the cadence's next turn
        self.controls.show_state(state)
        if state == "idle":
            self.controls.set_snapshot_note("")
        self.stateChanged.emit(state)

    def _apply(self, update: Update) -> None:
        c = self.controls
        if update.phase is not None and update.prepared is None and self.worker.state == "preparing":
            c.show_phase(update.phase.text)
        if update.prepared is not None:
            p = update.prepared
            self.run_dir = p.run_dir
            self._metric_names = list(p.metric_names)
            info = p.info
            self.plots.reset(metric_names=p.metric_names, train_samples=int(info.get("train_samples", 0)))
            c.set_status(f"Training on <b>{info.get('device', '?')}</b>: {info.get('train_samples', 0):,} training, "
                         f"{info.get('val_samples', 0):,} validation, {info.get('test_samples', 0):,} test samples"
                         + (f" · run folder <code>{p.run_dir}</code>" if p.run_dir else ""))
            self.header.show_live("the first epoch is under way")
        if update.started is not None:
            self._started = update.started
            if self._history:  # a resumed run: its earlier epochs first, on an x axis from the start
                self.plots.add_history(self._history)
        self.plots.apply(update)
        last = update.last_progress
        if last is not None and self._started is not None and self.worker.state in ("running", "paused"):
            c.show_progress(last.epoch, self._started.total_epochs, last.step, last.steps_per_epoch,
                            last.samples_per_s, last.eta_s, self._started.start_epoch)
            if self.worker.state == "paused":
                c.show_state("paused")
        if update.epochs:
            self._epochs_ended(update.epochs)
        for w in update.warnings:
            c.add_message(w.message, w.level, w.node)
            if w.kind == DIVERGED:
                self._divergence = w
            if w.node:
                self._flag("training", w.node, w.level, w.message)
        if update.finished is not None:
            self._show_finished(update.finished)
        if update.failed is not None:
            f = update.failed
            self._show_outcome(describe_problem("Failed", f.message, f.node))
            c.add_message(f.message, "error", f.node)
            c.finish_progress("failed", full=False)
            if f.node:
                self._flag("training", f.node, "error", f.message)
        if update.predictions:
            self.predictions = dict(update.predictions)
            shown = self.result_split if self.result_split in self.predictions else next(iter(self.predictions))
            self.header.set_splits(list(self.predictions), shown)
            self.show_result_split(shown, remember=False)
        if update.done is not None:
            self.plots.redraw(final=True)  # the run is over: its last points now, not at the cadence's turn
            self._show_done(update.done)

    def _epochs_ended(self, epochs: list[Any]) -> None:
        """The progress bar between Progress events, and the live header: the best value so far."""
        self._last_epoch = epochs[-1]
        for e in epochs:
            if e.improved or self._best_epoch is None:
                self._best_epoch = e
        c = self.controls
        if self._started is not None and self.worker.state == "running":
            e = self._last_epoch
            c.show_progress(e.epoch, self._started.total_epochs, self._started.steps_per_epoch,
                            self._started.steps_per_epoch, float("nan"), float("nan"), self._started.start_epoch)
            c.progress.setFormat(f"epoch {e.epoch}/{self._started.total_epochs} done · {_metrics_text(e.metrics)}")
        key = self._headline_key(self._last_epoch.metrics)
        if key is not None:
            best = self._best_epoch
            text = f"epoch {self._last_epoch.epoch}: {metric_label(key)} {fmt_metric(key, self._last_epoch.metrics[key])}"
            if key in best.metrics:
                text += f" · best so far {fmt_metric(key, best.metrics[key])} at epoch {best.epoch}"
            self.header.show_live(text)

    def _headline_key(self, metrics: dict[str, float]) -> str | None:
        """The value the live header follows: the first metric on validation, else the validation or training loss."""
        names = self._metric_names
        for key in ([f"val_{names[0]}"] if names else []) + ["val_loss", "train_loss"]:
            if key in metrics:
                return key
        return None

    def show_cell_samples(self, true_class: int, predicted: int) -> None:
        """A click on a confusion-matrix cell: the Results tab comes forward with the samples that cell counts."""
        self.samples.show_cell(true_class, predicted)
        self.tabs.setCurrentWidget(self.samples)

    def _label_results_tab(self, wrong: int) -> None:
        index = self.tabs.indexOf(self.samples)
        self.tabs.setTabText(index, f"Results ({wrong:,})" if wrong > 0 else "Results")
        self.tabs.setTabToolTip(index, f"{wrong:,} samples of the split shown are predicted wrong; the most confident "
                                       "of them are listed here" if wrong > 0 else
                                "The samples behind the last run's result")

    def show_result_split(self, split: str, remember: bool = True) -> None:
        """Shows the confusion matrix (or predicted against true) of `split` (test or val) of the last run."""
        preds = self.predictions.get(split)
        if preds is None:
            return
        if remember:
            self.result_split = split
        self.last_predictions = preds
        self.plots.show_predictions(preds)
        session = self.worker.last_session
        self.samples.set_result(preds, session.dataset if session is not None else None)

    def _show_outcome(self, outcome: Any) -> None:
        self.outcome = outcome
        self.header.show_outcome(outcome)

    def _config(self) -> Any:
        try:
            return self.worker.snapshot.training_config() if self.worker.snapshot is not None else None
        except Exception:  # the snapshot trained, so its settings parse; this is a safety net for the header only
            return None

    def _show_finished(self, f: Any) -> None:
        self.last_finished = f
        reason = REASON_TEXT.get(f.reason, f.reason)
        if f.reason == "diverged":
            d = self._divergence
            message = d.message if d is not None else "the loss became non-finite; the last finite weights are kept"
            self._show_outcome(describe_problem("Diverged", message, d.node if d is not None else None,
                                                DIVERGED_HINT))
            self.controls.finish_progress(f"Diverged after {f.epochs_run} epoch(s)", full=False)
            return
        self._show_outcome(describe(f, self._config(), self._metric_names))
        self.controls.finish_progress(f"{reason} · {f.epochs_run} epoch(s)",
                                      full=f.reason in ("completed", "early_stopped"))

    def _show_done(self, done: Any) -> None:
        self.last_result = done.result
        if done.problems:
            c = self.controls
            first = done.problems[0]
            count = len(done.problems)
            summary = first.message if count == 1 else f"{count} problems; the first: {first.message}"
            self._show_outcome(describe_problem("Could not start training", summary, first.node,
                                                "Fix the problems listed below and train again."))
            c.finish_progress("not started", full=False)
            for problem in done.problems:
                c.add_message(problem.message, "error", problem.node)
                if problem.node:
                    self._flag("training", problem.node, "error", problem.message)
        f = self.last_finished
        if self.run_dir and f is not None and f.reason in ("completed", "early_stopped", "stopped") \
                and not getattr(f, "unsaved", None):
            self.try_panel.set_run(self.run_dir)  # its kept weights are on disk now
        if self._edited_since_start:
            self._last_run_is_stale()
        self.runs_panel.refresh()
        self.runEnded.emit(done.result)


class TrainingDock(QDockWidget):
    """A dock widget holding a TrainingWidget; re-exposes its signals and commands."""

    def __init__(self, graph: Any, apply_section: Callable[[str, Any], None] | None = None,
                 runs_dir: str | Path | None = None, parent: QWidget | None = None, worker_options: Any = None) -> None:
        super().__init__("Training", parent)
        self.setObjectName("TrainingDock")
        self.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
                             | Qt.DockWidgetArea.TopDockWidgetArea)
        self.training = TrainingWidget(graph, apply_section, runs_dir, worker_options=worker_options)
        self.setWidget(self.training)
        t = self.training
        self.nodeFlagged = t.nodeFlagged
        self.nodeFlagsCleared = t.nodeFlagsCleared
        self.focusNodeRequested = t.focusNodeRequested
        self.openGraphRequested = t.openGraphRequested
        self.stateChanged = t.stateChanged
        self.runEnded = t.runEnded

    @property
    def is_training(self) -> bool:
        return self.training.is_training

    def train(self, overrides: dict[str, Any] | None = None) -> bool:
        return self.training.train(overrides)

    def set_graph(self, graph: Any) -> None:
        self.training.set_graph(graph)

    def request_shutdown(self, timeout_s: float = 60.0) -> bool:
        return self.training.request_shutdown(timeout_s)

    def refresh_runs(self) -> None:
        self.training.refresh_runs()


__all__ = ["TrainingWidget", "TrainingDock"]
