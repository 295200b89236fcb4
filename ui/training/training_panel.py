"""The training settings panel: every option of the graph's `training` section, generated from nodetrainer.settings.

Each group of editors comes from the `Param` declarations (TRAINING_PARAMS,
OPTIMIZER_PARAMS with OPTIMIZER_KEYS per type, SCHEDULER_PARAMS with
SCHEDULER_KEYS, EARLY_STOPPING_PARAMS, GRAD_CLIP_PARAMS, REGULARIZATION_PARAMS),
so an option added to the core appears here without a UI change (a top-level
key no group names lands in "Other"). The most used settings come first, in a
group that fits a low dock: epochs, early stopping, optimizer, learning rate
and batch size (`BASICS`); the rest of each section follows in its own group.

Early stopping: turning it on also raises an epoch count the user has not
chosen (none, or the new-graph starting value) to `EARLY_STOPPING_EPOCHS`, as
the upper bound it then is, in the same undo step; turning it off again puts the
count back while it is still that bound. A line under the switch says how the
run will end.

Writing: a user's edit changes one key of a copy of the raw section and hands
the whole section to `apply_section("training", section)` (by default
`graph.set_section`; the main window passes an undoable version). A value equal
to its default removes the key, keys the user did not touch stay as the file
wrote them, and an emptied section is removed. The panel reloads from the graph
on every `settings_changed`/`replaced` event, so undo and opening another file
show up here.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGridLayout, QGroupBox, QLabel,
                               QVBoxLayout, QWidget)

from nodetrainer.settings import (EARLY_STOPPING_PARAMS, GRAD_CLIP_PARAMS, METRICS, OPTIMIZER_KEYS, OPTIMIZER_PARAMS,
                                  REGULARIZATION_PARAMS, SCHEDULER_KEYS, SCHEDULER_PARAMS, TRAINING_PARAMS,
                                  parse_training)
from nodetrainer.training.device import available_devices

from nodetrainer.templates import EARLY_STOPPING_EPOCHS, STARTER_TRAINING

from .. import theme
from ..widgets.params import ChoiceEdit, ParamForm, TextEdit, editor_for
from ..widgets.scroll_page import fill_with_scrolling
from .graphlink import subscribe
from .launch_command import LaunchCommand
from .threads_field import ThreadsField

ApplySection = Callable[[str, Any], None]

BASICS_TITLE = "Most used"
BASICS = ["epochs", "early_stopping", "optimizer.type", "optimizer.lr", "batch_size"]
GROUPS: list[tuple[str, list[str]]] = [
    (BASICS_TITLE, BASICS),
    ("Optimizer details", ["optimizer"]),  # the parameters of the chosen type besides the two above
    ("Learning-rate schedule", ["scheduler"]),
    ("Objective", ["output", "loss", "label_smoothing", "metrics"]),
    ("Early stopping", ["early_stopping.settings"]),
    ("Loop", ["precision", "device", "compile", "init", "seed", "deterministic"]),
    ("Gradient clipping", ["grad_clip"]),
    ("Regularization", ["regularization"]),
]
LABELS = {"optimizer.type": "optimizer", "optimizer.lr": "learning rate", "batch_size": "batch size"}
_NOT_LIFTED = object()
TYPED_DEFAULTS = {"adam": "adam", "none": "none"}  # the `type` a typed section has when it says none


def device_choices() -> list[str]:
    """auto, then what this machine has: cuda:N for every CUDA device, mps, cpu."""
    return ["auto", *available_devices()]


class TrainingPanel(QWidget):
    """Edits graph.training; `sectionWritten` after each write."""

    sectionWritten = Signal(object)

    def __init__(self, graph: Any, apply_section: ApplySection | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.apply_section = apply_section or (lambda name, value: self.graph.set_section(name, value))
        self._unsubscribe: Callable[[], None] | None = None
        self._loading = False
        self._epochs_before_lift: Any = _NOT_LIFTED  # what epochs was before turning early stopping on raised it

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #d93636;")
        self.problems.hide()
        column.addWidget(self.problems)

        grouped = {k.split(".")[0] for _, keys in GROUPS for k in keys}
        groups = list(GROUPS)
        other = [k for k in TRAINING_PARAMS if k not in grouped]
        if other:
            groups.append(("Other", other))
        self.top = ParamForm(TRAINING_PARAMS, keys=[])  # top-level scalar keys, spread over the groups
        self.top.edited.connect(self._edit_top)
        self.optimizer = ParamForm(OPTIMIZER_PARAMS, keys=[k for k in OPTIMIZER_PARAMS if k not in ("type", "lr")])
        self.optimizer.edited.connect(lambda k, v: self._edit_typed("optimizer", OPTIMIZER_PARAMS, OPTIMIZER_KEYS, k, v))
        self.boxes: dict[str, QGroupBox] = {}
        for title, keys in groups:
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            self.boxes[title] = box
            for key in keys:
                self._add_key(key, form, box)
            column.addWidget(box)
        self.threads = ThreadsField()  # this computer's CPU threads for a run (not part of the graph)
        column.addWidget(self.threads)
        self.launch = LaunchCommand(graph)  # the command line for several GPUs or machines
        column.addWidget(self.launch)
        column.addStretch(1)

        fill_with_scrolling(self, body)
        self.set_graph(graph)

    # -- building ---------------------------------------------------------------------------
    def _add_key(self, key: str, form: QFormLayout, box: QGroupBox) -> None:
        if key in ("optimizer.type", "optimizer.lr"):
            name = key.split(".")[1]
            self.optimizer.add(name, editor_for(OPTIMIZER_PARAMS[name]), LABELS[key], layout=form)
        elif key == "early_stopping":
            self.early_box = QCheckBox("stop when the model stops improving")
            self.early_box.setToolTip(TRAINING_PARAMS["early_stopping"].doc)
            self.early_box.toggled.connect(self._toggle_early_stopping)
            form.addRow("early stopping", self.early_box)
            self.early_note = QLabel()
            self.early_note.setWordWrap(True)
            form.addRow("", self.early_note)
        elif key == "metrics":
            self.metric_boxes: dict[str, QCheckBox] = {}
            grid_w = QWidget()
            grid = QGridLayout(grid_w)
            grid.setContentsMargins(0, 0, 0, 0)
            for i, name in enumerate(METRICS):
                cb = QCheckBox(name)
                cb.setToolTip(TRAINING_PARAMS["metrics"].doc)
                cb.toggled.connect(self._edit_metrics)
                grid.addWidget(cb, i // 2, i % 2)
                self.metric_boxes[name] = cb
            form.addRow("metrics", grid_w)
        elif key == "optimizer":
            form.addRow(self.optimizer)
        elif key == "scheduler":
            self.scheduler = ParamForm(SCHEDULER_PARAMS)
            self.scheduler.edited.connect(lambda k, v: self._edit_typed("scheduler", SCHEDULER_PARAMS, SCHEDULER_KEYS, k, v))
            form.addRow(self.scheduler)
        elif key == "early_stopping.settings":
            box.setToolTip(TRAINING_PARAMS["early_stopping"].doc)
            self.early_group = box
            self.early = ParamForm(EARLY_STOPPING_PARAMS, keys=[k for k in EARLY_STOPPING_PARAMS if k != "monitor"])
            self.early.add("monitor", ChoiceEdit(EARLY_STOPPING_PARAMS["monitor"]), row=0)
            self.early.edited.connect(lambda k, v: self._edit_sub("early_stopping", EARLY_STOPPING_PARAMS, k, v))
            form.addRow(self.early)
        elif key == "grad_clip":
            self.clip_mode = QComboBox()
            self.clip_mode.addItem("off", None)
            for name, param in GRAD_CLIP_PARAMS.items():
                self.clip_mode.addItem(name, name)
                self.clip_mode.setItemData(self.clip_mode.count() - 1, param.doc, Qt.ItemDataRole.ToolTipRole)
            self.clip_mode.setToolTip(TRAINING_PARAMS["grad_clip"].doc)
            self.clip_mode.activated.connect(lambda _i: self._edit_clip())
            self.clip = ParamForm(GRAD_CLIP_PARAMS, keys=[])
            self.clip.layout_.addRow("clip by", self.clip_mode)
            self.clip_value = TextEdit(next(iter(GRAD_CLIP_PARAMS.values())))
            self.clip_value.set_default(1.0)
            self.clip.add("threshold", self.clip_value, "threshold")
            self.clip.edited.connect(lambda _k, _v: self._edit_clip())
            form.addRow(self.clip)
        elif key == "regularization":
            self.regularization = ParamForm(REGULARIZATION_PARAMS)
            self.regularization.edited.connect(
                lambda k, v: self._edit_sub("regularization", REGULARIZATION_PARAMS, k, v))
            form.addRow(self.regularization)
        else:
            param = TRAINING_PARAMS[key]
            if key == "output":
                editor: QWidget = ChoiceEdit(param, none_label="the only Output", choices=[])
            elif key == "device":
                editor = ChoiceEdit(param, choices=device_choices())
            else:
                editor = editor_for(param)
            self.top.add(key, editor, LABELS.get(key), layout=form)

    # -- graph --------------------------------------------------------------------------------
    def set_graph(self, graph: Any) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        self.graph = graph
        self._unsubscribe = subscribe(graph, self, TrainingPanel._on_graph_event)
        self.launch.set_graph(graph)
        self.load()

    def _on_graph_event(self, event: Any) -> None:
        if event.kind == "replaced":
            self._epochs_before_lift = _NOT_LIFTED
        if event.kind == "replaced" or (event.kind == "settings_changed" and event.other == "training"):
            self.load()
        elif event.kind in ("node_added", "node_removed", "node_renamed"):
            self._load_outputs()

    def section(self) -> dict[str, Any]:
        raw = self.graph.training
        return copy.deepcopy(raw) if isinstance(raw, dict) else {}

    def load(self) -> None:
        """Shows the graph's training section."""
        self._loading = True
        try:
            raw = self.section()
            cfg, errors = parse_training(raw)
            self.problems.setVisible(bool(errors))
            self.problems.setText("\n".join(f"training.{'.'.join(p[1:]) or ''}: {m}" for p, m in errors))
            self._load_outputs()
            self.launch.refresh()
            self.top.set_values(raw)
            loss = raw.get("loss") if isinstance(raw.get("loss"), str) else TRAINING_PARAMS["loss"].default
            self.top.editors["label_smoothing"].setEnabled(loss == "cross_entropy")
            metrics = raw.get("metrics") if isinstance(raw.get("metrics"), list) else self._default_metrics(loss)
            for name, cb in self.metric_boxes.items():
                cb.blockSignals(True)
                cb.setChecked(name in metrics)
                cb.blockSignals(False)
            self._load_typed(self.optimizer, raw.get("optimizer"), OPTIMIZER_KEYS, "adam")
            self._load_typed(self.scheduler, raw.get("scheduler"), SCHEDULER_KEYS, "none")
            sched = raw.get("scheduler") if isinstance(raw.get("scheduler"), dict) else {}
            gamma = self.scheduler.editors.get("gamma")
            if isinstance(gamma, TextEdit):  # the scheduler's own default (schedulers.py): 0.95 exponential, 0.1 step
                gamma.set_default(0.95 if sched.get("type") == "exponential" else 0.1)
            es = raw.get("early_stopping")
            self.early_box.blockSignals(True)
            self.early_box.setChecked(isinstance(es, dict))
            self.early_box.blockSignals(False)
            self.early_group.setEnabled(isinstance(es, dict))
            self._show_early_note(cfg)
            monitor = self.early.editors["monitor"]
            assert isinstance(monitor, ChoiceEdit)
            monitor.set_choices(["val_loss", "train_loss"] + [f"{s}_{m}" for s in ("val", "train") for m in metrics])
            self.early.set_values(es if isinstance(es, dict) else {})
            clip = raw.get("grad_clip") if isinstance(raw.get("grad_clip"), dict) else {}
            mode = next((k for k in GRAD_CLIP_PARAMS if k in clip), None)
            self.clip_mode.setCurrentIndex(max(0, self.clip_mode.findData(mode)) if mode else 0)
            self.clip_value.set_value(clip.get(mode) if mode else None)
            self.clip_value.setEnabled(mode is not None)
            reg = raw.get("regularization")
            self.regularization.set_values(reg if isinstance(reg, dict) else {})
        finally:
            self._loading = False

    def _load_outputs(self) -> None:
        editor = self.top.editors.get("output")
        if isinstance(editor, ChoiceEdit):
            current = self.section().get("output")
            editor.set_choices(self.graph.output_ids())
            editor.set_value(current)

    @staticmethod
    def _default_metrics(loss: str) -> list[str]:
        from nodetrainer.settings import TrainingConfig
        return TrainingConfig(loss=loss).metric_names()

    @staticmethod
    def _load_typed(form: ParamForm, raw: Any, keys_by_type: dict[str, tuple[str, ...]], default: str) -> None:
        raw = raw if isinstance(raw, dict) else {}
        kind = raw.get("type", default)
        form.set_values(raw)  # a missing type shows its default, which is `default`
        form.show_only(keys_by_type.get(kind, keys_by_type[default]))

    # -- writing ---------------------------------------------------------------------------------
    def _write(self, section: dict[str, Any]) -> None:
        if self._loading:
            return
        value = section or None
        self.apply_section("training", value)
        self.sectionWritten.emit(value)

    def _edit_top(self, key: str, value: Any) -> None:
        section = self.section()
        param = TRAINING_PARAMS[key]
        if value is None or value == param.default:
            section.pop(key, None)
        else:
            section[key] = value
        if key == "loss" and value != "cross_entropy":
            section.pop("label_smoothing", None)
        self._write(section)

    def _edit_metrics(self) -> None:
        section = self.section()
        chosen = [name for name, cb in self.metric_boxes.items() if cb.isChecked()]
        loss = section.get("loss", TRAINING_PARAMS["loss"].default)
        if chosen == self._default_metrics(loss):
            section.pop("metrics", None)
        else:
            section["metrics"] = chosen
        self._write(section)

    def _edit_typed(self, name: str, params: dict, keys_by_type: dict[str, tuple[str, ...]], key: str, value: Any) -> None:
        section = self.section()
        sub = dict(section.get(name) or {}) if isinstance(section.get(name), dict) else {}
        default_type = params["type"].default
        if key == "type":
            sub = {k: v for k, v in sub.items() if k in keys_by_type.get(value, ())}
        if value is None or (value == params[key].default and key != "type"):
            sub.pop(key, None)
        else:
            sub[key] = value
        kind = sub.get("type", default_type)
        rest = {k: v for k, v in sub.items() if k != "type"}
        if not rest and kind == default_type:
            section.pop(name, None)
        else:
            section[name] = {"type": kind, **rest}
        self._write(section)

    def _edit_sub(self, name: str, params: dict, key: str, value: Any) -> None:
        section = self.section()
        sub = dict(section.get(name) or {}) if isinstance(section.get(name), dict) else {}
        if value is None or value == params[key].default:
            sub.pop(key, None)
        else:
            sub[key] = value
        if name == "early_stopping":
            section[name] = sub  # on, even with every default ({} is valid)
        elif sub:
            section[name] = sub
        else:
            section.pop(name, None)
        self._write(section)

    def _toggle_early_stopping(self, on: bool) -> None:
        section = self.section()
        epochs = section.get("epochs")
        if on:
            section.setdefault("early_stopping", {})
            if epochs in (None, STARTER_TRAINING["epochs"]):  # a count the user did not choose: now a bound
                self._epochs_before_lift = epochs
                section["epochs"] = EARLY_STOPPING_EPOCHS
        else:
            section.pop("early_stopping", None)
            if self._epochs_before_lift is not _NOT_LIFTED and epochs == EARLY_STOPPING_EPOCHS:
                if self._epochs_before_lift is None:
                    section.pop("epochs", None)
                else:
                    section["epochs"] = self._epochs_before_lift
            self._epochs_before_lift = _NOT_LIFTED
        self._write(section)

    def _show_early_note(self, cfg: Any) -> None:
        """One line on how the run ends, under the early-stopping switch."""
        self.early_note.setStyleSheet(f"color: {theme.current().muted.name()};")
        if cfg is None:
            self.early_note.setText("")
        elif cfg.early_stopping is not None:
            es = cfg.early_stopping
            self.early_note.setText(f"ends after {es.patience} epochs without a better {es.monitor}, "
                                    f"at most {cfg.epochs} epochs")
        else:
            self.early_note.setText(f"off: runs all {cfg.epochs} epochs")

    def _edit_clip(self) -> None:
        section = self.section()
        mode = self.clip_mode.currentData()
        self.clip_value.setEnabled(mode is not None)
        if mode is None:
            section.pop("grad_clip", None)
        else:
            value = self.clip_value.value()
            section["grad_clip"] = {mode: value if value is not None else 1.0}
        self._write(section)


__all__ = ["TrainingPanel", "device_choices", "GROUPS"]
