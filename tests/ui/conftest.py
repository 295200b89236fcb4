"""Fixtures for the editor tests: a main window with its own settings and recovery folder."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, QSettings


@pytest.fixture(autouse=True)
def no_background_work_left(qtbot):
    """Every UI test ends with no worker, data load or import holding garbage collection in the GUI thread
    (ui/training/background.py): nothing it started runs on into the next test."""
    yield
    from ui.training import background
    if background._collector is not None:
        qtbot.waitUntil(lambda: background._collector._holders == 0, timeout=60_000)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from ui import theme
    from ui.main_window import MainWindow

    theme.manager().set_mode("light")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings, recovery_dir=tmp_path / "recovery")
    win.asked: list[str] = []

    def no_prompt():  # a test that expects the prompt replaces this
        win.asked.append("save-changes")
        return "discard"

    win.ask_save_changes = no_prompt
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    win.view.zoom_by(1.0 / win.view.zoom())
    win.view.centerOn(QPointF(500, 100))
    yield win
    win.doc.undo_stack.setClean()
    win.autosave.timer.stop()
    assert win.training_dock.request_shutdown(30)  # no run and no data loading left running into later tests



DOCK_WAIT_MS = 60_000


@pytest.fixture
def train_digits_mlp(qtbot, tmp_path):
    """Makes a shown TrainingDock train graphs/digits_mlp.yaml for `epochs` epochs (no early stopping) and
    returns its TrainingWidget once the run has ended and `ready(widget)` holds; shuts the dock down after."""
    from pathlib import Path

    from nodetrainer.graphfile import load_graph
    from ui.training import TrainingDock

    docks = []

    def train(epochs: int, ready, before_training=None):
        graph = load_graph(Path(__file__).resolve().parents[2] / "graphs" / "digits_mlp.yaml")
        section = dict(graph.training or {})
        section.pop("early_stopping", None)
        section.update(epochs=epochs)
        graph.set_section("training", section)
        dock = TrainingDock(graph, runs_dir=tmp_path / "runs")
        docks.append(dock)
        qtbot.addWidget(dock)
        dock.resize(1300, 900)
        dock.show()
        w = dock.training
        if before_training is not None:
            before_training(w)
        assert w.train()
        qtbot.waitUntil(lambda: not w.is_training and ready(w), timeout=DOCK_WAIT_MS)
        return w

    yield train
    for dock in docks:
        assert dock.request_shutdown(30)
