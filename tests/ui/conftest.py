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

