"""The app's main window, opened offscreen for the screenshot scripts.

`open_window(theme, size)` makes the QApplication, sets the theme and shows a
MainWindow with throwaway settings and recovery folders; `settle(ms)` runs the
event loop for a while so debounced panels and the first paint happen.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def open_window(theme_mode: str = "light", size: str = "1440x900") -> tuple[Any, Any]:
    """(app, window): a shown MainWindow of `size` ("WIDTHxHEIGHT") in the `theme_mode` theme."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QSettings

    from ui import theme
    from ui.app import make_app
    from ui.main_window import MainWindow

    app = make_app([])
    theme.manager().set_mode(theme_mode)
    tmp = Path(tempfile.mkdtemp(prefix="nodetrainer-shot-"))
    window = MainWindow(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat), recovery_dir=tmp / "rec")
    width, height = (int(v) for v in size.split("x"))
    window.resize(width, height)
    window.show()
    app.processEvents()
    return app, window


def settle(ms: int = 600) -> None:
    """Run the event loop for `ms` milliseconds (the debounced panels and the first paint)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
