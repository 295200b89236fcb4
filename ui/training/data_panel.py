"""The data panel: the graph's `data` section, a CSV preview, and what the data holds.

Source: a built-in set or a CSV/NPZ file or image folder picked with a file
dialog (stored relative to the graph file's folder when it is inside it). For a
CSV the first rows are previewed and the target column is picked from the
header. The other keys (task, split, normalization, image size, ...) are
generated from DATA_PARAMS / SPLIT_PARAMS and shown where they apply.

After each change the set is loaded in a background thread (debounced) and the
panel shows its samples per split, classes and sample shape, and what
`nodetrainer.data.preview.preview` computes there: a grid of labelled samples
(image-shaped data), the class balance of each split and, for a CSV file,
per-column statistics (`preview_data` holds it, None until loaded; for a CSV file that does not load,
only its columns). With several Input nodes each gets its columns or NPZ array by
picking (inputs_editor.py: `data.inputs`, the part's shape beside the Input's).
For image data a small form edits `data.augment` and a grid shows augmented
training samples (`nodetrainer.data.augment.augmented_preview`, drawn in the
background from the loaded set, again after each change without reloading it). A sample shape
that disagrees with the Input node emits `nodeProblem(node_id, message)` (an
empty message clears it). Writing follows the training panel: one key at a
time, defaults removed, via `apply_section("data", section)`.
"""
from __future__ import annotations

import copy
import os
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from nodetrainer.settings import (AUGMENT_PARAMS, BUILTIN_SETS, DATA_PARAMS, SOURCE_KINDS, SPLIT_PARAMS,
                                  SYNTHETIC_SETS, parse_data)

from ..widgets.params import ParamForm
from ..widgets.scroll_page import fill_with_scrolling
from .background import collector
from .graphlink import subscribe
from .inputs_editor import InputsEditor
from .sample_views import BalanceTable, ColumnStatsTable, SampleGrid

AUGMENTED_SAMPLES = 16

PREVIEW_ROWS = 8
KIND_LABELS = {"builtin": "built-in set", "csv": "CSV file", "npz": "NPZ file", "images": "image folder"}
ONLY_FOR = {  # keys of DATA_PARAMS that apply to one kind of source (their docs say so too)
    "image_size": ("images",), "grayscale": ("images",), "n_samples": ("synthetic",), "noise": ("synthetic",),
}
GENERIC_KEYS = [k for k in DATA_PARAMS if k not in ("source", "target", "split", "inputs", "augment")]


class DataPanel(QWidget):
    sectionWritten = Signal(object)
    summaryChanged = Signal(object)  # DataSummary, or None when the data cannot be loaded
    nodeProblem = Signal(str, str)  # Input node id, message ("" when the shapes agree again)
    previewChanged = Signal(object)  # DataPreview, or None when the data cannot be loaded
    _loaded = Signal(int, object, object)  # generation, DataPreview | None, error text | None (any thread)
    _augmented = Signal(int, object, object)  # generation, (pixels, labels) | None, error text (any thread)

    def __init__(self, graph: Any, apply_section: Callable[[str, Any], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.apply_section = apply_section or (lambda name, value: self.graph.set_section(name, value))
        self._unsubscribe: Callable[[], None] | None = None
        self._loading = False
        self._generation = 0
        self.summary: Any = None
        self.preview_data: Any = None  # the DataPreview of the loaded set (its summary None when it failed)
        self.error: str | None = None
        self._flagged: str | None = None
        self._load_timer = QTimer(self)
        self._load_timer.setSingleShot(True)
        self._load_timer.setInterval(250)
        self._load_timer.timeout.connect(self.refresh_summary)
        self._loaded.connect(self._on_loaded)
        self._augmented.connect(self._on_augmented)
        self._augment_generation = 0
        self._augment_seed = 0
        self.augmented_labels: list[str] | None = None  # the labels under the augmented grid (None: not drawn)
        self._dataset: Any = None  # the loaded set, and the data section it was loaded for (without augment)
        self._dataset_key: Any = None
        self._threads: list[threading.Thread] = []

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(4, 4, 4, 4)

        source_box = QGroupBox("Source")
        form = QFormLayout(source_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.kind = QComboBox()
        for k in SOURCE_KINDS:
            self.kind.addItem(KIND_LABELS.get(k, k), k)
        self.kind.setToolTip(DATA_PARAMS["source"].doc)
        self.kind.activated.connect(lambda _i: self._kind_changed())
        form.addRow("kind", self.kind)
        self.builtin = QComboBox()
        self.builtin.addItem("choose a set…", None)
        for name in BUILTIN_SETS:
            self.builtin.addItem(name, name)
        self.builtin.activated.connect(lambda _i: self._set_location(self.builtin.currentData()))
        form.addRow("set", self.builtin)
        path_row = QWidget()
        row = QHBoxLayout(path_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.path = QLineEdit()
        self.path.setPlaceholderText("path, relative to the graph file")
        self.path.editingFinished.connect(lambda: self._set_location(self.path.text().strip() or None))
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        form.addRow("file", path_row)
        self.target = QComboBox()
        self.target.setEditable(False)
        self.target.setToolTip(DATA_PARAMS["target"].doc)
        self.target.activated.connect(lambda _i: self._edit("target", self.target.currentData()))
        form.addRow("target column", self.target)
        self.source_form = form
        column.addWidget(source_box)

        self.preview = QTableWidget(0, 0)
        self.preview.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.preview.verticalHeader().setVisible(False)
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.preview.setMaximumHeight(190)
        self.preview_box = QGroupBox("Preview (first rows)")
        QVBoxLayout(self.preview_box).addWidget(self.preview)
        column.addWidget(self.preview_box)

        options_box = QGroupBox("Preparation")
        options = QVBoxLayout(options_box)
        self.options = ParamForm(DATA_PARAMS, keys=GENERIC_KEYS,
                                 labels={"task": "task", "normalize": "normalize", "image_size": "image size"},
                                 none_labels={"task": "from the loss"})
        self.options.edited.connect(self._edit)
        options.addWidget(self.options)
        self.split = ParamForm(SPLIT_PARAMS, labels={"val": "validation split", "test": "test split",
                                                     "seed": "split seed"})
        self.split.edited.connect(self._edit_split)
        options.addWidget(self.split)
        column.addWidget(options_box)

        self.inputs_box = QGroupBox("Inputs")
        self.inputs_editor = InputsEditor()
        self.inputs_editor.mappingEdited.connect(self._edit_inputs)
        QVBoxLayout(self.inputs_box).addWidget(self.inputs_editor)
        self.inputs_box.hide()
        column.addWidget(self.inputs_box)

        info_box = QGroupBox("Data")
        info = QVBoxLayout(info_box)
        self.info = QLabel("—")
        self.info.setWordWrap(True)
        self.shape_warning = QLabel()
        self.shape_warning.setWordWrap(True)
        self.shape_warning.setStyleSheet("color: #d93636;")
        self.shape_warning.hide()
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #d93636;")
        self.problems.hide()
        info.addWidget(self.info)
        info.addWidget(self.shape_warning)
        info.addWidget(self.problems)
        column.addWidget(info_box)

        self.samples_box = QGroupBox("Samples (training split)")
        self.sample_grid = SampleGrid()
        self.sample_grid.setMinimumHeight(200)
        QVBoxLayout(self.samples_box).addWidget(self.sample_grid)
        column.addWidget(self.samples_box)
        self.columns_box = QGroupBox("Columns")
        columns_layout = QVBoxLayout(self.columns_box)
        self.column_stats = ColumnStatsTable()
        self.columns_note = QLabel()
        self.columns_note.setWordWrap(True)
        columns_layout.addWidget(self.column_stats)
        columns_layout.addWidget(self.columns_note)
        column.addWidget(self.columns_box)
        self.balance_box = QGroupBox("Class balance")
        self.balance = BalanceTable()
        QVBoxLayout(self.balance_box).addWidget(self.balance)
        column.addWidget(self.balance_box)
        self.augment_box = QGroupBox("Augmentation (training batches only)")
        augment = QVBoxLayout(self.augment_box)
        self.augment = ParamForm(AUGMENT_PARAMS)
        self.augment.edited.connect(self._edit_augment)
        augment.addWidget(self.augment)
        row = QHBoxLayout()
        self.augment_note = QLabel("Augmented training samples:")
        self.redraw_augment = QPushButton("New draw")
        self.redraw_augment.clicked.connect(self._new_draw)
        row.addWidget(self.augment_note, 1)
        row.addWidget(self.redraw_augment)
        augment.addLayout(row)
        self.augmented_grid = SampleGrid()
        self.augmented_grid.setMinimumHeight(200)
        augment.addWidget(self.augmented_grid)
        column.addWidget(self.augment_box)
        for box in (self.samples_box, self.columns_box, self.balance_box, self.augment_box):
            box.hide()
        column.addStretch(1)

        fill_with_scrolling(self, body)
        self.set_graph(graph)

    # -- graph ---------------------------------------------------------------------------------
    def set_graph(self, graph: Any) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        self.graph = graph
        self._unsubscribe = subscribe(graph, self, DataPanel._on_graph_event)
        self.load()

    def _on_graph_event(self, event: Any) -> None:
        if event.kind == "replaced":
            self.load()
        elif event.kind == "settings_changed" and event.other == "data":
            if not self._augment_changed():
                self.load()
        elif event.kind == "settings_changed" and event.other == "training":
            self._load_timer.start()  # the loss decides the task, and so how targets are read
        elif event.kind in ("node_changed", "node_added", "node_removed", "node_renamed"):
            self.check_shape()
            self._show_inputs()

    def section(self) -> dict[str, Any]:
        raw = self.graph.data
        return copy.deepcopy(raw) if isinstance(raw, dict) else {}

    @property
    def base_dir(self) -> Path:
        path = getattr(self.graph, "path", None)
        return Path(path).parent if path else Path.cwd()

    def _key(self, raw: dict[str, Any]) -> Any:
        """What decides the loaded set: the data section without augment, and the Inputs."""
        return ({k: v for k, v in raw.items() if k != "augment"}, tuple(self.graph.input_ids()))

    def _augment_changed(self) -> bool:
        """When only data.augment changed since the set was loaded: shows it and draws the augmented grid again
        from the loaded set (True); otherwise False (the set must be loaded again)."""
        raw = self.section()
        if self._dataset is None or self._key(raw) != self._dataset_key or self._load_timer.isActive():
            return False
        self._loading = True
        try:
            self.augment.set_values(raw.get("augment") if isinstance(raw.get("augment"), dict) else {})
        finally:
            self._loading = False
        self._draw_augmented()
        return True

    def load(self) -> None:
        """Shows the graph's data section and starts loading the set it names (until it is loaded,
        `summary` is None: the last one described other data, and a load still running is for it)."""
        self._dataset = self._dataset_key = None
        self.summary, self.preview_data, self.error = None, None, None
        self._generation += 1
        self._loading = True
        try:
            raw = self.section()
            source = raw.get("source") if isinstance(raw.get("source"), str) else ""
            kind, _, location = source.partition(":")
            if kind not in SOURCE_KINDS:
                kind, location = (self.kind.currentData() or "builtin"), ""
            self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
            self.builtin.setCurrentIndex(max(0, self.builtin.findData(location)) if kind == "builtin" else 0)
            self.path.setText(location if kind != "builtin" else "")
            self.options.set_values(raw)
            split = raw.get("split") if isinstance(raw.get("split"), dict) else {}
            self.split.set_values(split)
            self.augment.set_values(raw.get("augment") if isinstance(raw.get("augment"), dict) else {})
            self._show_rows(kind, location)
            self._load_preview(kind, location, raw.get("target", DATA_PARAMS["target"].default))
            _, errors = parse_data(raw) if raw else (None, [])
            self.problems.setText("\n".join(f"data.{'.'.join(p[1:])}: {m}" for p, m in errors))
            self.problems.setVisible(bool(errors) and bool(raw))
        finally:
            self._loading = False
        self._load_timer.start()

    def _show_rows(self, kind: str, location: str) -> None:
        is_file = kind != "builtin"
        self.source_form.setRowVisible(self.builtin, not is_file)
        self.source_form.setRowVisible(self.path.parentWidget(), is_file)
        self.source_form.setRowVisible(self.target, kind == "csv")
        self.browse.setText("Folder…" if kind == "images" else "Browse…")
        self.preview_box.setVisible(kind == "csv")
        applies = {"images"} if kind == "images" else ({"synthetic"} if location in SYNTHETIC_SETS else set())
        self.options.show_only([k for k in GENERIC_KEYS if k not in ONLY_FOR or applies & set(ONLY_FOR[k])])

    def _load_preview(self, kind: str, location: str, target: str) -> None:
        self.target.clear()
        self.preview.clear()
        self.preview.setRowCount(0)
        self.preview.setColumnCount(0)
        if kind != "csv" or not location:
            return
        from nodetrainer.data.preview import csv_preview
        from nodetrainer.errors import DataError
        path = Path(location).expanduser()
        if not path.is_absolute():
            path = self.base_dir / path
        try:
            preview = csv_preview(path, PREVIEW_ROWS)
        except DataError as exc:
            self.target.addItem(target, target)
            self.preview.setRowCount(1)
            self.preview.setColumnCount(1)
            self.preview.setItem(0, 0, QTableWidgetItem(exc.problems[0].message))
            return
        for name in preview.header:
            self.target.addItem(name, name)
        if target not in preview.header:
            self.target.addItem(f"{target} (not in the file)", target)
        self.target.setCurrentIndex(self.target.findData(target))
        self.preview.setColumnCount(len(preview.header))
        self.preview.setHorizontalHeaderLabels(preview.header)
        self.preview.setRowCount(len(preview.rows))
        t = preview.header.index(target) if target in preview.header else -1
        for r, cells in enumerate(preview.rows):
            for c, cell in enumerate(cells[: len(preview.header)]):
                item = QTableWidgetItem(cell)
                if c == t:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.preview.setItem(r, c, item)
        if t >= 0:
            head = self.preview.horizontalHeaderItem(t)
            head.setText(f"{preview.header[t]} (target)")

    # -- writing ------------------------------------------------------------------------------------
    def _write(self, section: dict[str, Any]) -> None:
        if self._loading:
            return
        value = section or None
        self.apply_section("data", value)
        self.sectionWritten.emit(value)

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        raw = self.section()
        old_kind = str(raw.get("source", "")).partition(":")[0]
        if kind == old_kind:
            return
        self._show_rows(kind, "")
        self.builtin.setCurrentIndex(0)
        self.path.clear()
        self._load_preview(kind, "", DATA_PARAMS["target"].default)
        if kind != "builtin":
            self._browse()

    def _set_location(self, location: str | None) -> None:
        if not location:
            return
        kind = self.kind.currentData()
        section = self.section()
        if section.get("source") == f"{kind}:{location}":
            return
        section["source"] = f"{kind}:{location}"
        for key, kinds in ONLY_FOR.items():  # keys that do not apply to the new source would be errors
            applies = kind in kinds or ("synthetic" in kinds and kind == "builtin" and location in SYNTHETIC_SETS)
            if not applies:
                section.pop(key, None)
        if kind != "csv":
            section.pop("target", None)
        self._write(section)

    def _browse(self) -> None:
        kind = self.kind.currentData()
        start = str(self.base_dir)
        if kind == "images":
            chosen = QFileDialog.getExistingDirectory(self, "Image folder (one sub-folder per class)", start)
        else:
            pattern = {"csv": "CSV files (*.csv *.tsv *.txt)", "npz": "NumPy archives (*.npz)"}.get(kind, "*")
            chosen, _ = QFileDialog.getOpenFileName(self, f"Choose a {KIND_LABELS.get(kind, kind)}", start,
                                                    f"{pattern};;All files (*)")
        if chosen:
            self._set_location(self.relative(chosen))

    def relative(self, path: str) -> str:
        """`path` relative to the graph file's folder when it lies inside it (portable files), else absolute."""
        p, base = Path(path).resolve(), self.base_dir.resolve()
        try:
            return p.relative_to(base).as_posix()
        except ValueError:
            return os.fspath(p)

    def _edit(self, key: str, value: Any) -> None:
        section = self.section()
        param = DATA_PARAMS[key]
        if value is None or value == param.default or (key == "image_size" and list(value) == param.default):
            section.pop(key, None)
        else:
            section[key] = list(value) if isinstance(value, tuple) else value
        self._write(section)

    def _edit_split(self, key: str, value: Any) -> None:
        section = self.section()
        split = dict(section.get("split") or {}) if isinstance(section.get("split"), dict) else {}
        if value is None or value == SPLIT_PARAMS[key].default:
            split.pop(key, None)
        else:
            split[key] = value
        if split:
            section["split"] = split
        else:
            section.pop("split", None)
        self._write(section)

    # -- the loaded set --------------------------------------------------------------------------
    def refresh_summary(self) -> None:
        """Loads the data section's set in a background thread; `summaryChanged` when done."""
        self._generation += 1
        generation = self._generation
        raw = self.section()
        if not raw.get("source"):
            self._on_loaded(generation, None, None)
            return
        cfg, errors = parse_data(raw)
        if errors or cfg is None:
            self._on_loaded(generation, None, errors[0][1] if errors else "invalid data section")
            return
        try:
            tcfg = self.graph.training_config()
            task = tcfg.task
        except Exception:
            task = None
        inputs = self.graph.input_ids()
        dtype = str(self.graph.nodes[inputs[0]].resolved().get("dtype", "float32")) if inputs else "float32"
        base = self.base_dir
        kind, _, location = cfg.source.partition(":")
        csv_path = None
        if kind == "csv" and location:
            csv_path = Path(location).expanduser()
            csv_path = csv_path if csv_path.is_absolute() else base / csv_path
        self.info.setText("loading…")

        several = len(inputs) > 1
        dtypes = {i: str(self.graph.nodes[i].resolved().get("dtype", "float32")) for i in inputs}

        def work() -> None:
            from nodetrainer.data import load_dataset
            from nodetrainer.data.inputs import part_choices
            from nodetrainer.data.preview import preview
            from nodetrainer.errors import NodeTrainerError
            choices = None
            if several:  # what the Inputs can be given, also while the mapping is incomplete
                try:
                    choices = part_choices(cfg, base)
                except NodeTrainerError:
                    choices = None
            try:
                data = load_dataset(cfg, base, task, dtypes, inputs) if cfg.inputs else \
                    load_dataset(cfg, base, task, dtype)
                result, error = preview(data, csv_path, cfg.target), None
            except NodeTrainerError as exc:  # a CSV file's columns may show what is wrong (a missing value)
                result = preview(None, csv_path, cfg.target)
                error = exc.problems[0].message if exc.problems else str(exc)
            except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
                result, error = preview(None), f"{type(exc).__name__}: {exc}"
            result.choices = choices
            try:
                self._loaded.emit(generation, result, error)
            except RuntimeError:  # the panel was deleted meanwhile
                pass
            finally:
                gc_guard.release_soon()

        thread = threading.Thread(target=work, name="nodetrainer-data-summary", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        gc_guard = collector()
        gc_guard.hold()  # see background.py: no collection may run in the loading thread
        thread.start()

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Waits for background loads (tests, shutdown)."""
        for t in list(self._threads):
            t.join(timeout_s)

    def _on_loaded(self, generation: int, preview: Any, error: str | None) -> None:
        if generation != self._generation:
            return
        summary = preview.summary if preview is not None else None
        self.summary, self.preview_data, self.error = summary, preview, error
        self._dataset = preview.dataset if preview is not None else None
        self._dataset_key = self._key(self.section()) if self._dataset is not None else None
        self._show_preview(preview)
        self._show_inputs()
        if summary is None:
            self.info.setText(error or "No data source yet: pick a built-in set or a file to train on.")
        else:
            parts = [f"<b>{summary.total:,}</b> samples (train {summary.train:,} · val {summary.val:,} · "
                     f"test {summary.test:,})"]
            if summary.task == "classification":
                names = ", ".join(summary.class_names[:10]) if summary.class_names else ""
                more = "…" if summary.class_names and len(summary.class_names) > 10 else ""
                parts.append(f"<b>{summary.num_classes}</b> classes" + (f" ({names}{more})" if names else ""))
            else:
                parts.append(f"regression, targets {list(summary.target_shape) or [1]}")
            parts.append(f"sample shape <b>{list(summary.sample_shape)}</b>")
            self.info.setText("<br>".join(parts))
        self.summaryChanged.emit(summary)
        self.previewChanged.emit(preview)
        self.check_shape()

    def _show_preview(self, preview: Any) -> None:
        """The sample grid, the column statistics and the class balance of the loaded set (hidden without one)."""
        grid = preview.grid if preview is not None else None
        if grid is not None:
            self.sample_grid.set_samples(grid.pixels, grid.labels,
                                         [f"training sample {i}: {label}" for i, label in zip(grid.indices, grid.labels)])
        self.samples_box.setVisible(grid is not None)
        columns = preview.columns if preview is not None else None
        if columns is not None:
            self.column_stats.set_columns(columns)
        self.column_stats.setVisible(columns is not None)
        note = preview.columns_error if preview is not None else None
        self.columns_note.setText(note or "")
        self.columns_note.setVisible(bool(note))
        self.columns_box.setVisible(columns is not None or bool(note))
        balance = preview.balance if preview is not None else {}
        if balance:
            self.balance.set_balance(balance, preview.summary.class_names if preview.summary else None)
        self.balance_box.setVisible(bool(balance))
        from nodetrainer.data.preview import image_part
        images = self._dataset is not None and image_part(self._dataset) is not None
        self.augment_box.setVisible(images)
        if images:
            self._draw_augmented()

    # -- several Inputs ------------------------------------------------------------------------
    def _show_inputs(self) -> None:
        inputs = self.graph.input_ids()
        self.inputs_box.setVisible(len(inputs) > 1)
        if len(inputs) <= 1:
            return
        shapes = []
        for i in inputs:
            shape = self.graph.nodes[i].params.get("shape")
            shapes.append((i, tuple(shape) if isinstance(shape, (list, tuple)) else ()))
        raw = self.section().get("inputs")
        choices = self.preview_data.choices if self.preview_data is not None else None
        self.inputs_editor.show_inputs(shapes, choices, raw if isinstance(raw, dict) else {})

    def _edit_inputs(self, mapping: dict[str, Any]) -> None:
        section = self.section()
        if mapping:
            section["inputs"] = mapping
        else:
            section.pop("inputs", None)
        self._write(section)

    # -- augmentation ----------------------------------------------------------------------------
    def _edit_augment(self, key: str, value: Any) -> None:
        section = self.section()
        augment = dict(section.get("augment") or {}) if isinstance(section.get("augment"), dict) else {}
        default = AUGMENT_PARAMS[key].default
        if value is None or value == default or (isinstance(value, (list, tuple)) and list(value) == default):
            augment.pop(key, None)
        else:
            augment[key] = list(value) if isinstance(value, tuple) else value
        if augment:
            section["augment"] = augment
        else:
            section.pop("augment", None)
        self._write(section)

    def _new_draw(self) -> None:
        self._augment_seed += 1
        self._draw_augmented()

    def _draw_augmented(self) -> None:
        """Draws augmented training samples of the loaded set in the background (`augmented_labels` is None
        until they are shown)."""
        dataset = self._dataset
        if dataset is None:
            return
        cfg, errors = parse_data(self.section())
        if errors or cfg is None:
            self.augment_note.setText(f"data.augment: {errors[0][1]}" if errors else "")
            return
        from nodetrainer.settings import AugmentConfig
        augment = cfg.augment or AugmentConfig()
        self.augment_note.setText("Augmented training samples:" if augment.active
                                  else "No augmentation set: training samples as they are.")
        self._augment_generation += 1
        generation, seed = self._augment_generation, self._augment_seed
        self.augmented_labels = None

        def work() -> None:
            from nodetrainer.data.augment import augmented_preview
            from nodetrainer.data.preview import display_pixels, label_text
            try:
                _, changed, labels = augmented_preview(dataset, augment, AUGMENTED_SAMPLES, seed)
                result, error = (display_pixels(changed), [label_text(dataset, y) for y in labels]), None
            except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
                result, error = None, f"{type(exc).__name__}: {exc}"
            try:
                self._augmented.emit(generation, result, error)
            except RuntimeError:
                pass
            finally:
                gc_guard.release_soon()

        thread = threading.Thread(target=work, name="nodetrainer-augment-preview", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        gc_guard = collector()
        gc_guard.hold()
        thread.start()

    def _on_augmented(self, generation: int, result: Any, error: str | None) -> None:
        if generation != self._augment_generation:
            return
        if result is None:
            self.augment_note.setText(error or "")
            self.augmented_grid.clear()
            self.augmented_labels = []
            return
        pixels, labels = result
        self.augmented_grid.set_samples(pixels, labels)
        self.augmented_labels = labels

    def check_shape(self) -> str | None:
        """Compares the Input node's shape with the loaded data's; flags the node (or clears the flag)."""
        from nodetrainer.data import check_input_shape
        message, node = None, None
        inputs = self.graph.input_ids()
        if self.summary is not None and len(inputs) == 1:
            node = inputs[0]
            shape = self.graph.nodes[node].params.get("shape")
            if isinstance(shape, (list, tuple)) and all(isinstance(s, int) for s in shape):
                stand_in = SimpleNamespace(sample_shape=self.summary.sample_shape, source=self.summary.source)
                problem = check_input_shape(node, tuple(shape), stand_in)  # type: ignore[arg-type]
                message = problem.message if problem else None
        if message:
            self.shape_warning.setText(f"⚠ node {node}: {message}")
            self.shape_warning.show()
            self._flagged = node
            self.nodeProblem.emit(node, message)
        else:
            self.shape_warning.hide()
            if self._flagged is not None:
                self.nodeProblem.emit(self._flagged, "")
                self._flagged = None
        return message


__all__ = ["DataPanel"]
