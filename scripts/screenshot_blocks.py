"""Screenshots of blocks in the editor, offscreen: ResNet-18 with blocks after Fit, a block opened from a use
(with its breadcrumb), and digits_resnet's residual stage grouped into a block.

    python scripts/screenshot_blocks.py [--out-dir docs] [--theme light|dark] [--size 1440x900]

Writes blocks_top.png, blocks_open.png and blocks_group.png.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from offscreen_window import ROOT, open_window, settle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(ROOT / "docs"))
    parser.add_argument("--theme", default="light", choices=("light", "dark"))
    parser.add_argument("--size", default="1440x900")
    args = parser.parse_args()

    app, window = open_window(args.theme, args.size)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        settle()
        window.grab().save(str(out / name))
        print(f"{out / name} (zoom {window.view.zoom():.0%})")

    window.open_path(ROOT / "graphs" / "resnet18.yaml", ask=False)
    window.act_fit.trigger()
    window.scene.select_ids(["layer2_0"])
    shot("blocks_top.png")
    window.open_block_of("layer2_0")
    settle()
    window.scene.select_ids(["down"])
    window.act_fit.trigger()
    shot("blocks_open.png")
    window.doc.close_to(0)
    window.open_path(ROOT / "graphs" / "digits_resnet.yaml", ask=False)
    window.scene.select_ids(["conv1", "bn1", "relu1", "conv2", "bn2", "skip", "relu2"])
    window.group_selection()
    window.act_fit.trigger()
    shot("blocks_group.png")
    window.doc.undo_stack.setClean()
    window.autosave.timer.stop()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
