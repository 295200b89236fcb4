"""Writes graphs/data/digits_with_numbers.npz: scikit-learn's digits as an image plus a few numbers per sample.

The example graph digits_image_and_numbers.yaml feeds `x_img` (the 8x8 image, [1, 8, 8], pixel values
0..16 as uint8) into a convolution branch and `x_num` (three numbers computed from the image: its total
ink, and the column and row of its centre of ink, [3]) into a dense branch. Deterministic: running it
again writes the same arrays.

    python scripts/make_digits_npz.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent.parent / "graphs" / "data" / "digits_with_numbers.npz"


def build() -> dict[str, np.ndarray]:
    digits = load_digits()
    images = digits.images.astype(np.float64)                 # [N, 8, 8], 0..16
    ink = images.sum(axis=(1, 2))
    grid = np.arange(8, dtype=np.float64)
    col = (images.sum(axis=1) * grid).sum(axis=1) / ink       # centre of ink, left to right
    row = (images.sum(axis=2) * grid).sum(axis=1) / ink       # centre of ink, top to bottom
    numbers = np.stack([ink / (64 * 16), col, row], axis=1).astype(np.float32)
    return {"x_img": digits.images.astype(np.uint8)[:, None], "x_num": numbers,
            "y": digits.target.astype(np.int64)}


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **build())
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.1f} kB)")


if __name__ == "__main__":
    main()
