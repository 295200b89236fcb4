"""Regenerate docs/editor.png: the editor with an example graph, grabbed offscreen.

    python scripts/screenshot_editor.py [--graph graphs/digits_resnet.yaml] [--out docs/editor.png]
                                        [--theme light|dark] [--select conv2] [--zoom 0.8] [--scale 1]

`--scale 2` renders at 200 % (QT_SCALE_FACTOR), to check that the canvas and icons stay sharp.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from offscreen_window import ROOT, open_window


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default=str(ROOT / "graphs" / "digits_resnet.yaml"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "editor.png"))
    parser.add_argument("--theme", default="light", choices=("light", "dark"))
    parser.add_argument("--select", default="conv2", help="node to select (its inspector is shown)")
    parser.add_argument("--center", default="bn2", help="node to centre the view on")
    parser.add_argument("--zoom", type=float, default=0.8)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--size", default="1600x940")
    parser.add_argument("--panel", default="summary", choices=("problems", "summary"))
    args = parser.parse_args()

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    app, window = open_window(args.theme, args.size)
    if not window.open_path(args.graph, ask=False):
        print(f"{args.graph} has problems; the screenshot shows them", file=sys.stderr)
    app.processEvents()
    if args.panel == "summary":
        window.summary_dock.raise_()
    if args.select in window.scene.nodes:
        window.scene.select_ids([args.select])
    window.view.zoom_by(args.zoom / window.view.zoom())
    center = args.center if args.center in window.scene.nodes else args.select
    if center in window.scene.nodes:
        window.view.center_on_node(center)
    import time
    end = time.monotonic() + 0.6  # let the debounced panels (summary, code) catch up
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    window.doc.undo_stack.setClean()
    window.autosave.timer.stop()
    window.close()
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
