"""The Tune tab: the graph's `tune` section (its search space and settings), Compare, and running studies.

The tab edits the section: a table of the tuned values with their ranges
("Add…" offers every number or choice of the training settings and of the
nodes; "Edit…" and "Remove"), and the study's settings (metric, direction,
trials, timeout, sampler, pruner) as editors generated from
`nodetrainer.settings.TUNE_PARAMS`. Every change hands the whole new section to
`apply_section("tune", section)` (the main window's is undoable), built by
`nodetrainer.tune.section`, so the rules live in the core. The inspector's
"Tune this…" lands in the same section.

`view` (a TuneView) is what the training dock shows on its right while this
tab is current: Run study, Pause, Stop, the live trials table and the plots.
A study runs a snapshot of the graph in the background (TuneWorker) in a tune
folder next to the training runs. "Apply best" writes the best trial's values
into the graph through `apply_values(values, text)` (the main window passes
`Document.apply_values`: one undo step). Compare trains one choice after
another with the file's seed (a grid study without pruning, in a
`compare-…` folder) and overlays their loss and metric curves.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QListWidget, QListWidgetItem, QMenu, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from nodetrainer.schema import Param
from nodetrainer.settings import TUNE_PARAMS
from nodetrainer.tune.records import TrialRecord
from nodetrainer.tune.section import (OPTIMIZER_PATH, compare_options, compare_section, variant_name, with_range,
                                      with_setting, without_range)
from nodetrainer.tune.space import label as optuna_label
from nodetrainer.tune.space import suggested_range, tunable_node_params, tunable_settings
from nodetrainer.tune.values import PathError, get_value, param_for

from ..widgets.params import ParamForm
from ..widgets.scroll_page import fill_with_scrolling
from ..widgets.tune_range import RangeDialog
from .graphlink import subscribe
from .outcome import metric_label
from .tune_view import TuneView
from .tune_worker import TuneUpdate, TuneWorker

ApplySection = Callable[[str, Any], None]
ApplyValues = Callable[[dict[str, Any], str], Any]
ERROR_COLOR = "#d93636"


class TunePanel(QWidget):
    def __init__(self, graph: Any, apply_section: ApplySection | None = None,
                 runs_dir: Callable[[], Path] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.apply_section = apply_section or (lambda name, value: self.graph.set_section(name, value))
        self.apply_values: ApplyValues | None = None  # the main window sets Document.apply_values
        self.runs_dir = runs_dir or (lambda: (Path(graph.path).parent if graph.path else Path.cwd()) / "runs")
        self.ask_range = RangeDialog.ask  # replaced in tests
        self._unsubscribe: Callable[[], None] | None = None
        self.worker = TuneWorker(self)
        self.worker.updated.connect(self._apply)
        self.worker.stateChanged.connect(self._state_changed)
        self.view = TuneView()
        self.view.runClicked.connect(self.run)
        self.view.pauseClicked.connect(self.toggle_pause)
        self.view.stopClicked.connect(self.stop)
        self.view.applyBestClicked.connect(self.apply_best)
        self.best: TrialRecord | None = None
        self.result: Any = None
        self.problems: list[Any] = []
        self.comparing = False
        self.compare_path = ""

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        intro = QLabel("Search hyperparameters with Optuna: add the values to tune and their ranges here, or "
                       "right-click a field in the inspector: <i>Tune this…</i>. Trial 0 trains the graph's own "
                       "values.")
        intro.setWordWrap(True)
        column.addWidget(intro)

        space_box = QGroupBox("Search space")
        space_layout = QVBoxLayout(space_box)
        self.space = QTableWidget(0, 2)
        self.space.setHorizontalHeaderLabels(["value", "range"])
        self.space.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.space.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.space.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.space.verticalHeader().setVisible(False)
        self.space.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.space.horizontalHeader().setStretchLastSection(True)
        self.space.setMinimumHeight(110)
        self.space.doubleClicked.connect(lambda _i: self.edit_selected())
        self.space.itemSelectionChanged.connect(self._space_selection)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Pick a training setting or a node parameter to tune")
        self.add_menu = QMenu(self)
        self.add_menu.aboutToShow.connect(self._fill_add_menu)
        self.add_button.setMenu(self.add_menu)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        for b in (self.add_button, self.edit_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        space_layout.addWidget(self.space)
        space_layout.addLayout(buttons)
        column.addWidget(space_box)

        study_box = QGroupBox("Study")
        study_layout = QVBoxLayout(study_box)
        params = {k: p for k, p in TUNE_PARAMS.items() if k != "space"}
        params["metric"] = Param("metric", "choice", "val_loss", TUNE_PARAMS["metric"].doc,
                                 choices=("val_loss", "train_loss"))
        self.settings = ParamForm(params)
        self.settings.edited.connect(self._edit_setting)
        study_layout.addWidget(self.settings)
        column.addWidget(study_box)

        compare_box = QGroupBox("Compare")
        compare_layout = QVBoxLayout(compare_box)
        note = QLabel("Train each choice with the same seed and overlay their loss and metric curves.")
        note.setWordWrap(True)
        self.compare_over = QComboBox()
        self.compare_over.currentIndexChanged.connect(self._compare_path_changed)
        self.compare_values = QListWidget()
        self.compare_values.setMaximumHeight(130)
        self.compare_button = QPushButton("Compare")
        self.compare_button.clicked.connect(self.compare)
        compare_layout.addWidget(note)
        compare_layout.addWidget(self.compare_over)
        compare_layout.addWidget(self.compare_values)
        compare_layout.addWidget(self.compare_button)
        column.addWidget(compare_box)
        column.addStretch(1)

        fill_with_scrolling(self, body)
        self.set_graph(graph)

    # -- the graph ------------------------------------------------------------------------------------
    def set_graph(self, graph: Any) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        self.graph = graph
        self._unsubscribe = subscribe(graph, self, TunePanel._on_graph_event)
        self.reload()

    def _on_graph_event(self, event: Any) -> None:
        if event.kind in ("settings_changed", "replaced", "node_added", "node_removed", "node_renamed",
                          "node_changed"):
            self.reload()

    @property
    def tune(self) -> dict[str, Any] | None:
        return self.graph.tune if isinstance(self.graph.tune, dict) else None

    def reload(self) -> None:
        """Shows the graph's tune section (after every edit, undo, and on opening another file)."""
        tune = self.tune or {}
        space = tune.get("space") if isinstance(tune.get("space"), dict) else {}
        self.space.setRowCount(len(space))
        from nodetrainer.tune.space import parse_space
        dims = {d.path: d for d in parse_space(self.graph, tune.get("sampler", "tpe"))[0]}
        for row, (path, rng) in enumerate(space.items()):
            item = QTableWidgetItem(str(path))
            item.setToolTip(str(path))
            shown = dims[path].describe() if path in dims else str(rng)
            rng_item = QTableWidgetItem(shown)
            if path not in dims:
                rng_item.setForeground(Qt.GlobalColor.red)
                rng_item.setToolTip("this range has a problem: see the Problems panel")
            self.space.setItem(row, 0, item)
            self.space.setItem(row, 1, rng_item)
        metric_param = self.settings.params["metric"]
        choices = self._metric_choices()
        self.settings.params["metric"] = Param("metric", "choice", "val_loss", metric_param.doc, choices=tuple(choices))
        editor = self.settings.editors["metric"]
        editor.param = self.settings.params["metric"]
        editor.set_choices(choices)
        self.settings.set_values({k: v for k, v in tune.items() if k != "space"})
        self.settings.setEnabled(bool(space))
        self.settings.setToolTip("" if space else "Add a value to tune first")
        self._fill_compare()
        self._space_selection()
        if not self.worker.busy and not self.view.records:
            self.view.set_columns(tune.get("metric", "val_loss"), list(space))

    def _metric_choices(self) -> list[str]:
        from nodetrainer.tune.plan import metric_choices
        try:
            cfg = self.graph.training_config()
            split = (self.graph.data or {}).get("split", {}) if isinstance(self.graph.data, dict) else {}
            has_val = not isinstance(split, dict) or split.get("val", 0.2) > 0
            return metric_choices(cfg, has_val)
        except Exception:  # an invalid training section: the Problems panel says why
            return ["val_loss", "train_loss"]

    # -- editing the space ----------------------------------------------------------------------------
    def _fill_add_menu(self) -> None:
        menu = self.add_menu
        menu.clear()
        taken = set((self.tune or {}).get("space") or {})
        training = menu.addMenu("Training")
        for path, param in tunable_settings(self.graph):
            action = training.addAction(path.removeprefix("training."))
            action.setToolTip(param.doc)
            action.setEnabled(path not in taken)
            action.triggered.connect(lambda _c=False, p=path: self.add_path(p))
        nodes = menu.addMenu("Nodes")
        by_node: dict[str, QMenu] = {}
        for path, param in tunable_node_params(self.graph):
            node = path.split(".")[1]
            if node not in by_node:
                by_node[node] = nodes.addMenu(f"{node} ({self.graph.nodes[node].type})")
            action = by_node[node].addAction(param.name)
            action.setToolTip(param.doc)
            action.setEnabled(path not in taken)
            action.triggered.connect(lambda _c=False, p=path: self.add_path(p))

    def add_path(self, path: str) -> bool:
        """Asks for the range of `path` (proposing one around its value) and adds it to the space."""
        try:
            param = param_for(self.graph, path)
        except PathError:
            return False
        initial = suggested_range(param, get_value(self.graph, path)) if param is not None else None
        rng = self.ask_range(self, self.graph, path, param, initial)
        if rng is None:
            return False
        self.apply_section("tune", with_range(self.tune, path, rng))
        return True

    def _selected_path(self) -> str | None:
        rows = {i.row() for i in self.space.selectedIndexes()}
        if len(rows) != 1:
            return None
        item = self.space.item(rows.pop(), 0)
        return item.text() if item else None

    def _space_selection(self) -> None:
        selected = self._selected_path() is not None
        self.edit_button.setEnabled(selected)
        self.remove_button.setEnabled(selected)

    def edit_selected(self) -> bool:
        path = self._selected_path()
        if path is None:
            return False
        try:
            param = param_for(self.graph, path)
        except PathError:
            param = None
        current = ((self.tune or {}).get("space") or {}).get(path)
        rng = self.ask_range(self, self.graph, path, param, current if isinstance(current, dict) else None)
        if rng is None or rng == current:
            return False
        self.apply_section("tune", with_range(self.tune, path, rng))
        return True

    def remove_selected(self) -> bool:
        path = self._selected_path()
        if path is None:
            return False
        self.apply_section("tune", without_range(self.tune, path))
        return True

    def _edit_setting(self, key: str, value: Any) -> None:
        new = with_setting(self.tune, key, value)
        if new != self.tune:
            self.apply_section("tune", new)

    # -- compare --------------------------------------------------------------------------------------
    def _fill_compare(self) -> None:
        current = self.compare_over.currentData()
        self._options = dict(compare_options(self.graph))
        self.compare_over.blockSignals(True)
        self.compare_over.clear()
        for path in self._options:
            self.compare_over.addItem("optimizer" if path == OPTIMIZER_PATH else path.removeprefix("training."),
                                      path)
        self.compare_over.setCurrentIndex(max(0, self.compare_over.findData(current)))
        self.compare_over.blockSignals(False)
        self._compare_path_changed()

    def _compare_path_changed(self) -> None:
        path = self.compare_over.currentData()
        checked = {self.compare_values.item(i).text() for i in range(self.compare_values.count())
                   if self.compare_values.item(i).checkState() == Qt.CheckState.Checked}
        same = path == getattr(self, "_compare_shown", None)
        self._compare_shown = path
        self.compare_values.clear()
        for name, _value in self._options.get(path, []):
            item = QListWidgetItem(name)
            if path == OPTIMIZER_PATH and name == "momentum":
                item.setToolTip("SGD with momentum 0.9")
            on = name in checked if same else (path == OPTIMIZER_PATH and name != "adamw")
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            self.compare_values.addItem(item)

    def set_compare(self, path: str, names: list[str]) -> None:
        """Chooses what Compare goes over (the combo and the ticked values)."""
        self.compare_over.setCurrentIndex(self.compare_over.findData(path))
        for i in range(self.compare_values.count()):
            item = self.compare_values.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked)

    def compare(self) -> bool:
        path = self.compare_over.currentData()
        chosen = [self.compare_values.item(i).text() for i in range(self.compare_values.count())
                  if self.compare_values.item(i).checkState() == Qt.CheckState.Checked]
        values = [v for name, v in self._options.get(path, []) if name in chosen]
        if len(values) < 2:
            self.view.set_status("Tick at least two values to compare.")
            return False
        if self.worker.busy:
            return False
        names = {str(optuna_label(v)): (variant_name(v) if path == OPTIMIZER_PATH else str(v)) for v in values}
        self.comparing, self.compare_path = True, path
        self.view.compare_plots.reset(path, names)
        self.view.value_names = {path: names}
        return self._start(tune=compare_section(self.graph, path, values), baseline=False, prefix="compare",
                           what=f"Comparing {len(values)} choices of {path}")

    # -- running ---------------------------------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        return self.worker.busy

    def run(self) -> bool:
        """Runs the graph's study (a snapshot of it) in the background; False when one is running or there is
        nothing to tune."""
        if not (self.tune or {}).get("space"):
            self.view.set_status("Add a value to tune first (Add…, or right-click a field in the inspector).")
            return False
        if self.worker.busy:
            return False
        self.comparing = False
        self.view.value_names = {}
        return self._start(what="Tuning")

    def _start(self, what: str, **options: Any) -> bool:
        self.best, self.result, self.problems = None, None, []
        self.view.apply_button.setEnabled(False)
        self.view.set_status(f"{what}: checking the graph…")
        self._what = what
        self.worker.start(self.graph, self.runs_dir(), **options)
        return True

    def toggle_pause(self) -> None:
        if self.worker.state == "paused":
            self.worker.resume()
        else:
            self.worker.pause()

    def stop(self) -> None:
        self.worker.stop()

    def request_shutdown(self, timeout_s: float = 60.0) -> bool:
        return self.worker.request_shutdown(timeout_s)

    def _state_changed(self, state: str) -> None:
        if state in ("paused", "stopping", "idle"):
            self.view.study_plots.redraw()  # what arrived is on screen now, not at the plot cadence's next turn
        self.view.show_state(state)
        self.compare_button.setEnabled(state == "idle")

    def _apply(self, update: TuneUpdate) -> None:
        view = self.view
        if update.phase is not None and update.ready is None:
            view.set_status(f"{self._what}: {html.escape(update.phase.text)}…")
        if update.ready is not None:
            r = update.ready
            self.folder = r.folder
            view.begin(r.metric, r.direction, r.paths, r.target, r.dims, r.records, self.comparing)
            view.set_status(f"{self._what}: {metric_label(r.metric)} ({r.direction}) · folder "
                            f"<code>{html.escape(r.folder)}</code>")
        for s in update.started:
            view.set_record(TrialRecord(s.number, "running", None, dict(s.values), epochs=0, baseline=s.baseline,
                                        run_dir=s.run_dir))
            if self.comparing:
                view.compare_plots.start_trial(s.number, s.values)
        if update.epochs:
            last: dict[int, int] = {}
            for e in update.epochs:
                last[e.number] = e.epoch
            for number, epoch in last.items():
                record = view.records.get(number)
                if record is not None and record.state == "running":
                    record.epochs = epoch
                    view.set_record(record)
            if self.comparing:
                view.compare_plots.add_epochs(update.epochs)
            else:
                view.study_plots.add_epochs(update.epochs)
        for e in update.ended:
            view.set_record(e.record)
            if not self.comparing:
                view.study_plots.set_records([e.record])
            self.best = e.best
        if update.ended and self.best is not None:
            b = self.best
            which = (f"{html.escape(view._shown(self.compare_path, b.values.get(self.compare_path)))} (trial "
                     f"{b.number})" if self.comparing else f"trial {b.number}"
                     + (" (the file's own values)" if b.baseline else ""))
            view.set_status(f"{self._what}: best {metric_label(view.metric)} <b>{b.value:.4g}</b> with {which}")
        if update.importances is not None:
            view.study_plots.set_importances(update.importances.values)
        if update.study_ended is not None:
            self._ended(update.study_ended)
        if update.done is not None:
            self.view.study_plots.redraw()
            self._done(update.done)

    def _ended(self, ended: Any) -> None:
        s = ended.summary
        state = {"done": "finished", "exhausted": "finished", "timeout": "stopped at the timeout",
                 "stopped": "stopped"}.get(ended.state, ended.state)
        parts = [f"{self._what} {state}: {s['n_complete']} complete, {s['n_pruned']} pruned, {s['n_failed']} failed"]
        if s.get("best_value") is not None:
            which = f"trial {s['best_trial']}"
            if self.comparing and self.best is not None:
                which = html.escape(self.view._shown(self.compare_path, self.best.values.get(self.compare_path)))
            parts.append(f"best {metric_label(s['metric'])} <b>{s['best_value']:.4g}</b> ({which})")
        if s.get("baseline_value") is not None:
            parts.append(f"the file's values: {s['baseline_value']:.4g}")
        self.view.set_status(" · ".join(parts))
        self.view.apply_button.setEnabled(self.best is not None and not self.best.baseline and not self.comparing)

    def _done(self, done: Any) -> None:
        self.result = done.result
        if done.problems:
            self.problems = list(done.problems)
            first = done.problems[0]
            more = f" ({len(done.problems) - 1} more in the Problems panel)" if len(done.problems) > 1 else ""
            self.view.set_status(f"<span style='color:{ERROR_COLOR}'>Could not start: "
                                 f"{html.escape(str(first))}</span>{more}")

    def apply_best(self) -> bool:
        """Writes the best trial's values into the graph, as one undo step."""
        best = self.best
        if best is None or best.baseline or not best.values:
            return False
        text = f"Apply best trial {best.number}"
        if self.apply_values is not None:
            self.apply_values(dict(best.values), text)
        else:
            from nodetrainer.tune.values import apply_values
            new = apply_values(self.graph, best.values)
            for node_id, node in new.nodes.items():
                if node.params != self.graph.nodes[node_id].params:
                    self.graph.set_params(node_id, node.params)
            for section in ("data", "training"):
                if getattr(new, section) != getattr(self.graph, section):
                    self.graph.set_section(section, getattr(new, section))
        self.view.set_status(f"Applied the values of trial {best.number} to the graph (Ctrl+Z undoes it).")
        return True


__all__ = ["TunePanel"]
