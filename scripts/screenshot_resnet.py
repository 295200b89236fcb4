"""Regenerate docs/resnet18.png: the flat ResNet-18 (71 nodes, tests/fixtures/resnet18_flat.yaml) opened in a
1440x900 window and fitted (View > Fit), offscreen. graphs/resnet18.yaml, with blocks: scripts/screenshot_blocks.py.

    python scripts/screenshot_resnet.py [--out docs/resnet18.png] [--theme light|dark] [--size 1440x900]

The file has no layout section, so this shows the automatic layout as a user first sees it:
one residual block per band, skips and downsampling branches beside the main row.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from offscreen_window import ROOT, open_window, settle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default=str(ROOT / "tests" / "fixtures" / "resnet18_flat.yaml"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "resnet18.png"))
    parser.add_argument("--theme", default="light", choices=("light", "dark"))
    parser.add_argument("--size", default="1440x900")
    args = parser.parse_args()

    app, window = open_window(args.theme, args.size)
    if not window.open_path(args.graph, ask=False):
        print(f"{args.graph} has problems; the screenshot shows them", file=sys.stderr)
    window.act_fit.trigger()
    settle()
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
