"""The "Try it" tab: a run's kept model on a test sample or a dropped image/CSV file, its top classes shown.

`set_run(run_dir)` loads the run's kept model and its data set
(`nodetrainer.training.predict.TrainedModel`, the same code as `nodetrainer
predict`, so the saved normalization applies) in a background thread. Then a
test sample is picked by number (`pick_sample`, or Random), or an image or CSV
file is dropped onto the tab or opened (`predict_file`); the prediction runs in
a background thread too, and the tab shows the sample (a thumbnail, or its
features) with its true class when known, and the model's top classes with
their probabilities (the predicted value for regression). `result` holds the
`SamplePrediction`s shown (None while one is on its way); a problem with a file
is its one located line.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from .background import collector
from .sample_views import SHARE_ROLE, RowsTable, ShareBar, pixmap_of
from .plots import PALETTE

TOP = 5  # classes shown
MAX_ROWS_LISTED = 12  # samples of a CSV file listed under the first one's classes


class TryPanel(QWidget):
    _ready = Signal(int, object, object)  # generation, (TrainedModel, Dataset) | None, error (any thread)
    _answered = Signal(int, object, object)  # generation, answer dict | None, error (any thread)
    resultShown = Signal(object)  # the list of SamplePrediction now shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.model: Any = None
        self.dataset: Any = None
        self.run_dir: Path | None = None
        self.result: list[Any] | None = None
        self.error: str | None = None
        self._generation = 0
        self._threads: list[threading.Thread] = []
        self._ready.connect(self._on_ready)
        self._answered.connect(self._on_answer)
        self._rng = np.random.default_rng(0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        pick_box = QGroupBox("Sample")
        pick = QVBoxLayout(pick_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("test sample"))
        self.index = QSpinBox()
        self.index.setKeyboardTracking(False)
        self.index.valueChanged.connect(self.pick_sample)
        row.addWidget(self.index, 1)
        self.random = QPushButton("Random")
        self.random.clicked.connect(self._random)
        row.addWidget(self.random)
        pick.addLayout(row)
        drop_row = QHBoxLayout()
        self.drop_hint = QLabel("or drop an image or CSV file here")
        self.drop_hint.setEnabled(False)
        self.open_file = QPushButton("Open file…")
        self.open_file.clicked.connect(self._open_dialog)
        drop_row.addWidget(self.drop_hint, 1)
        drop_row.addWidget(self.open_file)
        pick.addLayout(drop_row)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumHeight(120)
        self.features = RowsTable()
        self.features.setMaximumHeight(64)
        self.truth = QLabel()
        self.truth.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pick.addWidget(self.picture)
        pick.addWidget(self.features)
        pick.addWidget(self.truth)
        layout.addWidget(pick_box)

        answer_box = QGroupBox("The model says")
        answer = QVBoxLayout(answer_box)
        self.classes = QTableWidget(0, 2)
        self.classes.setHorizontalHeaderLabels(["class", "probability"])
        self.classes.verticalHeader().setVisible(False)
        self.classes.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.classes.setItemDelegateForColumn(1, ShareBar(self.classes, scale=1.0))
        self.classes.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.classes.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.classes.verticalHeader().setDefaultSectionSize(22)
        self.classes.setFixedHeight(self.classes.horizontalHeader().sizeHint().height() + 22 * TOP + 6)
        self.value = QLabel()
        self.value.setWordWrap(True)
        self.others = QLabel()
        self.others.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #d93636;")
        for w in (self.classes, self.value, self.others, self.problem):
            answer.addWidget(w)
        layout.addWidget(answer_box)
        layout.addStretch(1)
        self.set_run(None)

    # -- the run ---------------------------------------------------------------------------
    def set_run(self, run_dir: str | Path | None) -> None:
        """Tries the kept model of `run_dir` from now on (None: nothing to try until a run ends)."""
        self._generation += 1
        self.model = self.dataset = self.result = self.error = None
        self.run_dir = Path(run_dir) if run_dir else None
        self._clear_answer()
        self._clear_sample()
        self._enable(False)
        if self.run_dir is None:
            self.status.setText("Train a model, then try it here on test samples or your own files.")
            return
        self.status.setText(f"Loading the kept model of run <b>{self.run_dir.name}</b>…")
        run = self.run_dir
        self._start(lambda: _load(run), self._ready)

    def _on_ready(self, generation: int, loaded: Any, error: str | None) -> None:
        if generation != self._generation:
            return
        if loaded is None:
            self.error = error
            self.status.setText(f"Cannot try this run: {error}")
            return
        self.model, self.dataset = loaded
        test = self.dataset.test
        count = len(test) if test is not None else 0
        self.status.setText(f"The kept model of run <b>{self.run_dir.name if self.run_dir else ''}</b> "
                            f"({count:,} test samples).")
        self._enable(True, samples=count > 0)
        self.index.blockSignals(True)
        self.index.setRange(0, max(count - 1, 0))
        self.index.setValue(0)
        self.index.blockSignals(False)
        if count:
            self.pick_sample(0)

    def _enable(self, on: bool, samples: bool = True) -> None:
        self.index.setEnabled(on and samples)
        self.random.setEnabled(on and samples)
        self.open_file.setEnabled(on)

    # -- asking ------------------------------------------------------------------------------
    def pick_sample(self, index: int) -> bool:
        """Predicts test sample `index` (in the background); False when there is no model or no such sample."""
        model, dataset = self.model, self.dataset
        if model is None or dataset is None or dataset.test is None or not 0 <= index < len(dataset.test):
            return False
        if self.index.value() != index:
            self.index.blockSignals(True)
            self.index.setValue(index)
            self.index.blockSignals(False)
        self._generation += 1
        self.result = None
        self._start(lambda: _ask_sample(model, dataset, index), self._answered)
        return True

    def predict_file(self, path: str | Path) -> bool:
        """Predicts the samples of an image or CSV file (in the background); False without a model."""
        model = self.model
        if model is None:
            return False
        self._generation += 1
        self.result = None
        self._start(lambda: _ask_file(model, Path(path)), self._answered)
        return True

    def _random(self) -> None:
        if self.dataset is not None and self.dataset.test is not None and len(self.dataset.test):
            self.pick_sample(int(self._rng.integers(len(self.dataset.test))))

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Try the model on a file", str(self.run_dir or Path.home()),
                                              "Images or CSV (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp "
                                              "*.csv *.tsv *.txt);;All files (*)")
        if path:
            self.predict_file(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if self.model is not None and event.mimeData().hasUrls() \
                and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files and self.predict_file(files[0]):
            event.acceptProposedAction()

    # -- the answer ----------------------------------------------------------------------------
    def _on_answer(self, generation: int, answer: Any, error: str | None) -> None:
        if generation != self._generation:
            return
        self._clear_answer()
        if answer is None:
            self.error = error
            self.problem.setText(error or "")
            self.problem.show()
            self.result = []
            self.resultShown.emit(self.result)
            return
        self.error = None
        self._show_sample(answer)
        samples = answer["predictions"]
        first = samples[0] if samples else None
        if first is not None and first.top is not None:
            self.classes.setRowCount(len(first.top))
            for r, score in enumerate(first.top):
                name = QTableWidgetItem(score.name)
                if r == 0:
                    font = name.font()
                    font.setBold(True)
                    name.setFont(font)
                bar = QTableWidgetItem(f"{100 * score.probability:.1f} %")
                bar.setData(SHARE_ROLE, float(score.probability))
                bar.setData(Qt.ItemDataRole.UserRole, PALETTE[0])
                self.classes.setItem(r, 0, name)
                self.classes.setItem(r, 1, bar)
            self.classes.show()
        elif first is not None:
            self.value.setText("predicted value: <b>" + ", ".join(f"{v:.4g}" for v in first.value or []) + "</b>")
            self.value.show()
        if len(samples) > 1:
            lines = [_one(s) for s in samples[:MAX_ROWS_LISTED]]
            more = f"<br>… and {len(samples) - MAX_ROWS_LISTED} more" if len(samples) > MAX_ROWS_LISTED else ""
            self.others.setText(f"{len(samples)} samples; the classes above are the first one's:<br>"
                                + "<br>".join(lines) + more)
            self.others.show()
        self.result = list(samples)
        self.resultShown.emit(self.result)

    def _show_sample(self, answer: dict[str, Any]) -> None:
        self._clear_sample()
        pixels, features = answer.get("pixels"), answer.get("features")
        if pixels is not None and len(pixels):
            self.picture.setPixmap(pixmap_of(pixels[0], 112))
            self.picture.show()
        elif features is not None and len(features):
            self.features.set_rows({}, features[:1], answer.get("feature_names"))
            self.features.show()
        self.truth.setText(answer.get("caption", ""))

    def _clear_sample(self) -> None:
        self.picture.clear()
        self.picture.hide()
        self.features.hide()
        self.truth.setText("")

    def _clear_answer(self) -> None:
        self.classes.setRowCount(0)
        self.classes.hide()
        for label in (self.value, self.others, self.problem):
            label.setText("")
            label.hide()

    # -- threads -------------------------------------------------------------------------------
    def _start(self, job: Callable[[], Any], signal: Any) -> None:
        generation = self._generation
        guard = collector()

        def work() -> None:
            from nodetrainer.errors import NodeTrainerError
            try:
                value, error = job(), None
            except NodeTrainerError as exc:
                value, error = None, str(exc.problems[0]) if exc.problems else str(exc)
            except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
                value, error = None, f"{type(exc).__name__}: {exc}"
            try:
                signal.emit(generation, value, error)
            except RuntimeError:  # the panel was deleted meanwhile
                pass
            finally:
                guard.release_soon()

        thread = threading.Thread(target=work, name="nodetrainer-try-it", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        guard.hold()  # see background.py: no collection may run in this thread
        thread.start()

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Waits for background work (tests, shutdown)."""
        for t in list(self._threads):
            t.join(timeout_s)


# -- background jobs (no Qt) ------------------------------------------------------------------
def _load(run_dir: Path) -> tuple[Any, Any]:
    from nodetrainer.training.predict import TrainedModel
    model = TrainedModel.load(run_dir)
    return model, model.load_data()


def _ask_sample(model: Any, dataset: Any, index: int) -> dict[str, Any]:
    from nodetrainer.data.preview import label_text, sample_view
    view = sample_view(dataset, "test", [index])
    answer = {"pixels": view.pixels, "features": view.features, "feature_names": view.names or model.feature_columns()}
    answer["predictions"] = model.predict_split(dataset, "test", [index], TOP)
    answer["caption"] = f"test sample {index} · true: <b>{label_text(dataset, dataset.test.y[index])}</b>"
    return answer


def _ask_file(model: Any, path: Path) -> dict[str, Any]:
    raw, predictions = model.predict_file(path, TOP)
    answer = _shown(model, tuple(raw.shape[1:]), raw)
    answer["predictions"] = predictions
    line = predictions[0].line if predictions else None
    answer["caption"] = path.name + (f", line {line}" if line else "")
    return answer


def _shown(model: Any, shape: Any, raw: Any) -> dict[str, Any]:
    """How the first sample is shown: pixels of an image, else its features (with the CSV's column names)."""
    from nodetrainer.data.preview import display_pixels, is_image_shaped
    if is_image_shaped(tuple(shape)):
        return {"pixels": display_pixels(raw[:1])}
    return {"features": raw.reshape(len(raw), -1).numpy(), "feature_names": model.feature_columns()}


def _one(sample: Any) -> str:
    where = f"line {sample.line}" if sample.line else Path(sample.source).name
    if sample.top:
        return f"{where}: <b>{sample.top[0].name}</b> ({100 * sample.top[0].probability:.0f} %)"
    return f"{where}: <b>{', '.join(f'{v:.4g}' for v in sample.value or [])}</b>"


__all__ = ["TryPanel"]
