"""Writes docs/tune.png: the training dock's Tune tab after a study of graphs/digits_mlp.yaml (offscreen).

    .venv/bin/python scripts/screenshot_tune.py [--out docs/tune.png] [--during /tmp/d.png] [--compare c.png]

The study (12 trials of TPE with the median pruner over the learning rate, the
width of hidden1 and the batch size, 15 epochs at most) runs in a temporary
runs folder; `--during` also grabs it mid-study, `--compare` grabs a Compare of
sgd, momentum, rmsprop, adagrad and adam afterwards.
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

TUNE = {"metric": "val_accuracy", "trials": 12, "space": {
    "training.optimizer.lr": {"log_uniform": [1.0e-4, 3.0e-2]},
    "nodes.hidden1.out_features": {"int": [16, 256], "log": True},
    "training.batch_size": {"choice": [32, 64, 128]},
}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs" / "tune.png"))
    ap.add_argument("--during", default=None, help="also grab the tab mid-study, to this file")
    ap.add_argument("--compare", default=None, help="also run a Compare of optimizers and grab it, to this file")
    args = ap.parse_args()

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    from nodetrainer.graphfile import load_graph
    from ui.training import TrainingDock

    graph = load_graph(ROOT / "graphs" / "digits_mlp.yaml")
    training = dict(graph.training)
    training["epochs"] = 15
    graph.training = training
    graph.tune = TUNE
    runs = Path(tempfile.mkdtemp(prefix="nodetrainer-shot-")) / "runs"
    dock = TrainingDock(graph, runs_dir=runs)
    dock.resize(1440, 860)
    dock.show()
    tune = dock.training.tune
    dock.training.tabs.setCurrentWidget(tune)

    def wait_idle(start, grab_to: str | None = None, after_trials: int = 4) -> None:
        loop = QEventLoop()
        tune.worker.stateChanged.connect(lambda s: loop.quit() if s == "idle" else None)
        grabbed = []

        def maybe_grab(_update) -> None:
            done = sum(1 for r in tune.view.records.values() if r.finished)
            if grab_to and not grabbed and done >= after_trials:
                grabbed.append(True)
                tune.view.study_plots.redraw()
                QTimer.singleShot(150, lambda: dock.grab().save(grab_to))

        tune.worker.updated.connect(maybe_grab)
        start()
        loop.exec()
        tune.worker.updated.disconnect(maybe_grab)
        tune.worker.stateChanged.disconnect()

    def settle(ms: int = 400) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    wait_idle(tune.run, args.during)
    if tune.best is not None:
        tune.view.select_trials([tune.best.number, 0])
    settle()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    dock.grab().save(str(out))
    print(f"wrote {out}")
    if args.compare:
        tune.set_compare("training.optimizer", ["sgd", "momentum", "rmsprop", "adagrad", "adam"])
        wait_idle(tune.compare)
        settle()
        dock.grab().save(args.compare)
        print(f"wrote {args.compare}")
    dock.request_shutdown()


if __name__ == "__main__":
    main()
