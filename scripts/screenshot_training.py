"""Writes docs/training.png: the training dock after training graphs/digits_mlp.yaml (offscreen).

    .venv/bin/python scripts/screenshot_training.py [--out docs/training.png] [--during /tmp/during.png]

Trains in a temporary runs folder (twice, so the Runs tab has two runs to
compare), then grabs the dock. `--during` also grabs it mid-run.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs" / "training.png"))
    ap.add_argument("--during", default=None, help="also grab the dock while it trains, to this file")
    ap.add_argument("--runs", default=None, help="also grab the Runs tab with both runs selected, to this file")
    ap.add_argument("--graph", default=str(ROOT / "graphs" / "digits_mlp.yaml"))
    args = ap.parse_args()

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    from nodetrainer.graphfile import load_graph
    from ui.training import TrainingDock

    graph = load_graph(args.graph)
    graph.path = Path(args.graph)
    runs = Path(tempfile.mkdtemp(prefix="nodetrainer-shot-")) / "runs"
    dock = TrainingDock(graph, runs_dir=runs)
    dock.resize(1440, 860)
    dock.show()
    w = dock.training

    def train(overrides: dict | None = None, grab_after_s: float | None = None, grab_to: str | None = None) -> None:
        loop = QEventLoop()
        w.stateChanged.connect(lambda s: loop.quit() if s == "idle" else None)

        def grab() -> None:
            if w.is_training:
                w.plots.redraw()  # what the next throttled redraw would show
                QTimer.singleShot(150, lambda: dock.grab().save(grab_to))  # after pyqtgraph's own range updates

        if grab_to and grab_after_s:
            QTimer.singleShot(int(grab_after_s * 1000), grab)
        w.train(overrides)
        loop.exec()
        w.stateChanged.disconnect()

    # a first run with a lower learning rate (for the runs overlay), then the run shown (smaller batches:
    # it lasts long enough for the mid-run grab)
    train({"optimizer.lr": 0.0003, "epochs": 12})
    train({"batch_size": 4, "epochs": 40}, grab_after_s=2.5, grab_to=args.during)
    settle = QEventLoop()
    QTimer.singleShot(400, settle.quit)
    settle.exec()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    dock.grab().save(str(out))
    print(f"wrote {out}")
    if args.runs:
        w.tabs.setCurrentWidget(w.runs_panel)
        w.runs_panel.select([0, 1])
        settle = QEventLoop()
        QTimer.singleShot(300, settle.quit)
        settle.exec()
        dock.grab().save(args.runs)
        print(f"wrote {args.runs}")
    dock.request_shutdown()


if __name__ == "__main__":
    main()
