"""Regenerate docs/resnet18.png: the flat ResNet-18 (71 nodes, tests/fixtures/resnet18_flat.yaml) opened in a
1440x900 window and fitted (View > Fit), offscreen. graphs/resnet18.yaml, with blocks: scripts/screenshot_blocks.py.

    python scripts/screenshot_resnet.py [--out docs/resnet18.png] [--theme light|dark] [--size 1440x900]

The file has no layout section, so this shows the automatic layout as a user first sees it:
one residual block per band, skips and downsampling branches beside the main row.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default=str(ROOT / "tests" / "fixtures" / "resnet18_flat.yaml"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "resnet18.png"))
    parser.add_argument("--theme", default="light", choices=("light", "dark"))
    parser.add_argument("--size", default="1440x900")
    args = parser.parse_args()

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from ui import theme
    from ui.app import make_app
    from ui.main_window import MainWindow

    app = make_app([])
    theme.manager().set_mode(args.theme)
    tmp = Path(tempfile.mkdtemp())
    window = MainWindow(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat), recovery_dir=tmp / "rec")
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    app.processEvents()
    if not window.open_path(args.graph, ask=False):
        print(f"{args.graph} has problems; the screenshot shows them", file=sys.stderr)
    window.act_fit.trigger()
    loop = QEventLoop()
    QTimer.singleShot(600, loop.quit)  # let the debounced panels and the first paint settle
    loop.exec()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(f"{out} (zoom {window.view.zoom():.0%})")
    window.doc.undo_stack.setClean()
    window.autosave.timer.stop()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
