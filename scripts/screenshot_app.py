"""Writes docs/app.png: the main window with the digits MLP after a short training run (offscreen).

    .venv/bin/python scripts/screenshot_app.py [--out docs/app.png] [--graph graphs/digits_mlp.yaml]
                                               [--epochs 20] [--size 1600x1000] [--theme light|dark]
                                               [--during /tmp/during.png] [--cell 8,1]

The graph is copied to a temporary folder (its runs are written there), opened
in a MainWindow with its own settings, trained from Run > Train, and the whole
window is grabbed once the run has ended. `--during` also grabs it mid-run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs" / "app.png"))
    ap.add_argument("--graph", default=str(ROOT / "graphs" / "digits_mlp.yaml"))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=16, help="smaller batches: more steps for the curves")
    ap.add_argument("--size", default="1600x1000")
    ap.add_argument("--theme", default="light", choices=("light", "dark"))
    ap.add_argument("--select", default="hidden1", help="node to select (its inspector is shown)")
    ap.add_argument("--during", default=None, help="also grab the window while it trains, to this file")
    ap.add_argument("--cell", default=None, metavar="TRUE,PREDICTED",
                    help="click this confusion-matrix cell before the grab (the Results tab shows its samples)")
    args = ap.parse_args()

    from PySide6.QtCore import QEventLoop, QSettings

    from ui import theme
    from ui.app import make_app
    from ui.main_window import MainWindow

    app = make_app([])
    theme.manager().set_mode(args.theme)
    tmp = Path(tempfile.mkdtemp(prefix="nodetrainer-app-shot-"))
    graph = tmp / Path(args.graph).name
    shutil.copy(args.graph, graph)
    window = MainWindow(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat), recovery_dir=tmp / "rec")
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    settle(0.2)
    if not window.open_path(graph, ask=False):
        print(f"{args.graph} has problems", file=sys.stderr)
        return 1
    section = dict(window.doc.graph.training or {})
    section.update(epochs=args.epochs, batch_size=args.batch_size)
    window.apply_section("training", section)  # an undoable edit, as the Training tab makes it
    settle(0.5)  # the data panel loads the set

    dock = window.training_dock
    loop = QEventLoop()
    dock.stateChanged.connect(lambda s: loop.quit() if s == "idle" else None)
    if args.during:
        grabbed = []

        def grab_during(update) -> None:  # once half the epochs are done
            if not grabbed and update.epochs and update.epochs[-1].epoch >= max(1, args.epochs // 2):
                grabbed.append(True)
                dock.training.plots.redraw()
                window.grab().save(args.during)
        dock.training.worker.updated.connect(grab_during)
    if not window.train():
        print("training did not start", file=sys.stderr)
        return 1
    loop.exec()
    print(dock.training.controls.status.text())
    settle(0.3)
    if args.select in window.scene.nodes:
        window.scene.select_ids([args.select])
    window.view.fit()
    if args.cell:
        true_class, predicted = (int(v) for v in args.cell.split(","))
        dock.training.show_cell_samples(true_class, predicted)
    settle(0.5)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    window.doc.undo_stack.setClean()
    window.autosave.timer.stop()
    window.close()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
