"""The "Try it" tab: the last run's kept model on a test sample or a dropped file, like `nodetrainer predict`."""
from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from nodetrainer.cli import main

WAIT_MS = 60_000


@pytest.fixture
def trained(train_digits_mlp):
    def nothing_to_try_yet(w):
        assert w.try_panel.model is None and not w.try_panel.index.isEnabled()  # nothing to try before a run

    w = train_digits_mlp(2, lambda w: w.try_panel.model is not None, before_training=nothing_to_try_yet)
    w.tabs.setCurrentWidget(w.try_panel)
    return w


def answer(qtbot, panel):
    qtbot.waitUntil(lambda: panel.result is not None, timeout=WAIT_MS)
    return panel.result


def png_of_test_sample(panel, index: int, path: Path) -> Path:
    from PIL import Image
    data = panel.dataset
    raw = data.test.x[index] * data.normalizer.scale + data.normalizer.shift  # digits pixels, 0..16
    Image.fromarray(np.clip(np.round(raw[0].numpy() * 255 / 16), 0, 255).astype(np.uint8)).save(path)
    return path


def test_picking_a_test_sample_shows_the_class_predict_gives(qtbot, trained, tmp_path, capsys):
    w = trained
    panel = w.try_panel
    preds = w.predictions["test"]  # what the run predicted for its test split
    confident = [int(i) for i in np.flatnonzero(preds.confidence > 0.6)[:3]]
    assert confident
    for index in confident:
        assert panel.pick_sample(index)
        [sample] = answer(qtbot, panel)
        best = sample.top[0]
        assert best.index == int(preds.y_pred[index])
        assert panel.classes.item(0, 0).text() == best.name == preds.class_name(best.index)
        assert panel.classes.rowCount() == 5 and f"{100 * best.probability:.1f} %" == panel.classes.item(0, 1).text()
        assert f"true: <b>{preds.class_name(int(preds.y_true[index]))}</b>" in panel.truth.text()
        assert not panel.picture.pixmap().isNull()
        # the command line on the same sample, saved as an image file
        png = png_of_test_sample(panel, index, tmp_path / f"s{index}.png")
        assert main(["predict", w.run_dir, str(png), "--top", "1"]) == 0
        cli = json.loads(capsys.readouterr().out)["predictions"][0]["top"][0]
        assert cli["class"] == best.name


def test_a_dropped_image_file_is_predicted_and_a_bad_file_is_one_line(qtbot, trained, tmp_path):
    panel = trained.try_panel
    preds = trained.predictions["test"]
    index = int(np.argmax(preds.confidence))
    png = png_of_test_sample(panel, index, tmp_path / "drop.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(png))])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    [sample] = answer(qtbot, panel)
    assert sample.top[0].index == int(preds.y_pred[index]) and sample.source == str(png)
    assert "drop.png" in panel.truth.text()

    bad = tmp_path / "notes.bin"
    bad.write_text("hello")
    assert panel.predict_file(bad)
    assert answer(qtbot, panel) == []
    assert panel.problem.isVisibleTo(panel) and "notes.bin" in panel.error and "not an image or CSV" in panel.error
    assert "\n" not in panel.error and not panel.classes.isVisibleTo(panel)
