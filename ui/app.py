"""Starting the desktop app: the QApplication, the theme, the window, a file to open, recovery."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication


WARMUP_AFTER_MS = 1500  # after the window has shown and the first paint is done


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("NodeTrainer")
    app.setOrganizationName("NodeTrainer")
    app.setApplicationDisplayName("NodeTrainer")
    return app


def _warm_up() -> None:
    """Imports what training needs in the background (training/warmup.py), with garbage collection kept in the
    GUI thread meanwhile (training/background.py says why)."""
    from .training import warmup
    from .training.background import collector

    guard = collector()
    guard.hold()
    warmup.start(on_done=guard.release_soon)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    app = make_app(argv)
    from . import theme
    from .main_window import MainWindow, icon

    settings = QSettings("NodeTrainer", "NodeTrainer")
    theme.manager().set_mode(str(settings.value("theme", "system")))
    app.setWindowIcon(icon("app"))
    window = MainWindow(settings)
    geometry = settings.value("window_geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    files = [a for a in argv[1:] if not a.startswith("-")]
    if files:
        window.open_path(Path(files[0]), ask=False)
    window.show()
    QTimer.singleShot(WARMUP_AFTER_MS, _warm_up)  # the first Train then starts in a fraction of a second
    if not files:
        QTimer.singleShot(0, window.offer_recovery)
    else:
        QTimer.singleShot(0, window.view.fit)
    return app.exec()
