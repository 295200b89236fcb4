"""After training: the samples behind a confusion-matrix cell, and the most confidently wrong test samples."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt


@pytest.fixture
def trained(train_digits_mlp):
    """A dock that has trained the digits MLP for one epoch (some test samples still wrong)."""
    return train_digits_mlp(1, lambda w: w.samples.preds is not None)


def click_cell(qtbot, plots, true_class: int, predicted: int) -> None:
    view = plots.view
    point = view.mapFromScene(plots.cell_center(true_class, predicted))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_clicking_a_cell_shows_exactly_the_samples_it_counts(qtbot, trained):
    w = trained
    preds = w.last_predictions
    assert preds.split == "test"
    dataset = w.worker.last_session.dataset
    counts = preds.confusion()
    off = [(t, p) for t in range(10) for p in range(10) if t != p and counts[t, p]]
    cells = [off[0] if off else (0, 1), (3, 3)]
    model = w.worker.last_session.model.eval()
    assert w.plots.cell_at(-0.5, 2) is None and w.plots.cell_at(3, 10.2) is None  # outside: nothing
    assert w.plots.cell_at(9.9, 0.1) == (0, 9)
    w.tabs.setCurrentWidget(w.data_panel)
    for t, p in cells:
        click_cell(qtbot, w.plots, t, p)
        assert w.samples.cell_shown == (t, p)
        assert w.tabs.currentWidget() is w.samples  # the click brings the Results tab forward
        shown = w.samples.cell
        assert shown.isVisibleTo(w) and len(shown.captions()) == counts[t, p]
        indices = preds.indices[shown.positions]
        # the samples are the split's own: their labels in the data set, and the model's answer on them
        assert (dataset.test.y[indices].numpy() == t).all()
        with torch.no_grad():
            answer = model(dataset.test.x[indices]).argmax(dim=1).numpy() if len(indices) else np.zeros(0)
        assert (answer == p).all()
        expected = np.flatnonzero((dataset.test.y.numpy() == t) & (preds.y_pred == p))
        assert sorted(indices.tolist()) == expected.tolist()
        assert all(c.startswith(f"{p} (") and c.endswith(f"true {t}") for c in shown.captions())
        assert str(counts[t, p]) in shown.title.text()


def test_the_confidently_wrong_strip_shows_wrong_samples_most_confident_first(qtbot, trained):
    w = trained
    preds = w.last_predictions
    strip = w.samples.wrong
    wrong = np.flatnonzero(preds.y_true != preds.y_pred)
    assert len(wrong) > 0, "one epoch leaves some test digits wrong"
    assert w.tabs.tabText(w.tabs.indexOf(w.samples)) == f"Results ({len(wrong):,})"
    assert strip.isVisibleTo(w.samples) and len(strip.captions()) == min(16, len(wrong))
    conf = preds.confidence[strip.positions]
    assert (np.diff(conf) <= 0).all()  # most confident first
    assert conf[0] == preds.confidence[wrong].max()
    assert (preds.y_true[strip.positions] != preds.y_pred[strip.positions]).all()
    first = strip.captions()[0]
    assert first.startswith(f"{preds.class_name(int(preds.y_pred[strip.positions[0]]))} "
                            f"({100 * conf[0]:.0f} %)")
