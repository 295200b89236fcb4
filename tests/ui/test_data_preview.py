"""The Data tab's preview: labelled samples (images), per-column statistics (CSV), the class balance of each split."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nodetrainer.graphfile import load_graph

ROOT = Path(__file__).resolve().parents[2]


def loaded(qtbot, panel):
    qtbot.waitUntil(lambda: panel.preview_data is not None, timeout=30_000)
    return panel.preview_data


def test_digits_show_a_grid_of_labelled_samples_and_the_balance_of_each_split(qtbot):
    from ui.training.data_panel import DataPanel
    graph = load_graph(ROOT / "graphs" / "digits_cnn.yaml")  # split val 0.1, test 0.2
    panel = DataPanel(graph)
    qtbot.addWidget(panel)
    data = loaded(qtbot, panel)
    grid = panel.sample_grid
    assert panel.samples_box.isVisibleTo(panel) and grid.count() == 24
    assert grid.captions()[:10] == [str(i) for i in range(10)]  # classes in turn: every class shows
    from sklearn.datasets import load_digits
    digits = load_digits()
    # each thumbnail is the training sample it names, with its own label
    from nodetrainer.data import load_dataset
    ds = load_dataset(graph.data_config(), ROOT / "graphs", "classification")
    for k in (0, 7, 23):
        i = int(data.grid.indices[k])
        assert grid.captions()[k] == str(int(ds.train.y[i]))
        raw = ds.train.x[i] * ds.normalizer.scale + ds.normalizer.shift
        match = np.abs(digits.data.reshape(-1, 1, 8, 8) - raw.numpy()).reshape(len(digits.data), -1).max(axis=1)
        assert digits.target[int(match.argmin())] == int(ds.train.y[i]) and match.min() < 1e-4
    balance = panel.balance
    assert panel.balance_box.isVisibleTo(panel) and balance.rowCount() == 10
    assert sum(balance.counts("train")) == 1257 and sum(balance.counts("val")) == 180
    assert sum(balance.counts("test")) == 360
    assert balance.counts("val") == [18] * 10  # stratified
    assert balance.counts("test") == np.bincount(ds.test.y.numpy(), minlength=10).tolist()
    assert not panel.columns_box.isVisibleTo(panel)
    panel.wait_idle()


def test_csv_shows_per_column_statistics_and_the_missing_cells_that_stop_it(qtbot, tmp_path):
    from ui.training.data_panel import DataPanel
    rows = ["a,b,label"] + [f"{i},{i * 2},{'yes' if i % 4 else 'no'}" for i in range(20)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    text = (ROOT / "graphs" / "digits_mlp.yaml").read_text().replace("source: builtin:digits",
                                                                      "source: csv:t.csv\n  target: label")
    (tmp_path / "g.yaml").write_text(text.replace("shape: [1, 8, 8]", "shape: [2]"))
    graph = load_graph(tmp_path / "g.yaml")
    panel = DataPanel(graph)
    qtbot.addWidget(panel)
    data = loaded(qtbot, panel)
    assert data.summary is not None and panel.columns_box.isVisibleTo(panel)
    a = panel.column_stats.row("a")
    assert (a["type"], a["min"], a["max"], a["mean"], a["missing"]) == ("number", "0", "19", "9.5", "0")
    assert float(a["std"]) == pytest.approx(np.arange(20).std(), rel=1e-3)
    label = panel.column_stats.row("label")
    assert (label["column"], label["type"], label["distinct"]) == ("label (target)", "text", "2")
    assert sum(panel.balance.counts("train")) + sum(panel.balance.counts("val")) + sum(panel.balance.counts("test")) == 20
    assert not panel.samples_box.isVisibleTo(panel)  # no pictures of table rows

    rows[3] = "2,,yes"  # a missing cell: the set does not load, and the columns show where
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    panel.load()
    qtbot.waitUntil(lambda: panel.error is not None, timeout=30_000)
    assert "column 'b'" in panel.error and panel.summary is None
    assert panel.column_stats.row("b")["missing"] == "1" and panel.columns_box.isVisibleTo(panel)
    assert not panel.balance_box.isVisibleTo(panel)
    panel.wait_idle()
