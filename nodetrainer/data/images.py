"""Image folders: one sub-folder per class, decoded with Pillow to float [C, H, W] in [0, 1].

Small folders are decoded into one array. When the decoded set would exceed
`STREAM_BYTES` as float32, nothing is decoded up front: `load_images` returns an
`ImageFolderStream`, a torch Dataset that decodes (and normalizes) one image per
`__getitem__`, so a DataLoader with workers can feed training from disk.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError, Problem
from .raw import RawData

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                              ".ppm", ".pgm", ".pbm"})
STREAM_BYTES = 2 * 1024**3  # decoded float32 size above which images are streamed from disk


def load_images(folder: Path, image_size: tuple[int, int], grayscale: bool) -> RawData:
    """All images under `folder`/CLASS/, class indices by sorted folder name."""
    paths, labels, names = list_images(folder)
    channels = 1 if grayscale else 3
    height, width = (int(s) for s in image_size)
    shape = (channels, height, width)
    common = dict(file=str(folder), class_names=names, natural_task="classification", fixed_task="classification",
                  target_name="class folder", sample_shape=shape, per_channel=True)
    if len(paths) * channels * height * width * 4 > STREAM_BYTES:
        for p in paths:
            check_header(p)
        return RawData(None, labels, stream=ImageFolderStream(paths, labels, (height, width), channels), **common)
    x = np.empty((len(paths),) + shape, dtype=np.float32)
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for i, image in enumerate(pool.map(lambda p: decode_image(p, (height, width), channels), paths)):
            x[i] = image
    return RawData(x, labels, **common)


def list_images(folder: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """(image paths, class index of each, class names) of a folder with one sub-folder per class."""
    if not folder.exists():
        raise DataError(Problem(f"image folder not found: {folder}"))
    if not folder.is_dir():
        raise DataError(Problem(f"{folder} is a file; images: needs a folder with one sub-folder per class",
                                file=str(folder)))
    classes = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        loose = any(_is_image(p) for p in folder.iterdir())
        hint = "; move the images into one sub-folder per class" if loose else ""
        raise DataError(Problem(f"image folder {folder} has no class sub-folders{hint}", file=str(folder)))
    paths: list[str] = []
    counts: list[int] = []
    for d in classes:
        files = sorted(str(p) for p in d.iterdir() if _is_image(p))
        if not files:
            raise DataError(Problem(f"class folder {d} holds no images "
                                    f"({', '.join(sorted(IMAGE_EXTENSIONS))})", file=str(d)))
        paths += files
        counts.append(len(files))
    labels = np.repeat(np.arange(len(classes), dtype=np.int64), counts)
    return paths, labels, [d.name for d in classes]


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise DataError(Problem("images: sources need Pillow; install it with: pip install Pillow")) from None
    return Image


def check_header(path: str) -> None:
    """Reads only the header, so a file that is no image fails before training starts."""
    Image = _pil()
    try:
        with Image.open(path) as img:
            if min(img.size) < 1:
                raise ValueError("image has no pixels")
    except Exception as e:  # Pillow raises many types for bad files
        raise DataError(Problem(f"cannot read image {path}: {_reason(e)}", file=path)) from None


def decode_image(path: str, size: tuple[int, int], channels: int) -> np.ndarray:
    """One image as float32 [channels, height, width] in [0, 1], resized bilinearly to `size` (height, width)."""
    Image = _pil()
    height, width = size
    try:
        with Image.open(path) as img:
            if img.mode.startswith("I;16"):  # 16-bit grayscale: scale to [0, 1] before any 8-bit conversion
                img = Image.fromarray(np.asarray(img, dtype=np.float32) / 65535.0)
                scale = 1.0
            else:
                img = img.convert("L" if channels == 1 else "RGB")
                scale = 1.0 / 255.0
            if img.size != (width, height):
                img = img.resize((width, height), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.float32) * scale
    except Exception as e:  # Pillow raises many types for bad files
        raise DataError(Problem(f"cannot read image {path}: {_reason(e)}", file=path)) from None
    if arr.ndim == 2:
        arr = arr[None]
        if channels == 3:
            arr = np.repeat(arr, 3, axis=0)
    else:
        arr = arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr)


def _reason(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return text or type(e).__name__


class ImageFolderStream(torch.utils.data.Dataset):
    """Decodes images lazily: item i is (normalized float32 [C, H, W], int64 class index).

    Indices run over every image of the folder; each `Split` of a streamed `Dataset`
    holds in `x` the int64 indices of its images into this stream (and in `y` their
    classes), so `torch.utils.data.Subset(stream, split.x.tolist())` is that split.
    `normalizer` is set by the loader once it is fitted. Picklable for DataLoader workers.
    """

    def __init__(self, paths: list[str], labels: np.ndarray, size: tuple[int, int], channels: int,
                 normalizer: Any = None):
        self.paths = list(paths)
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self.size = (int(size[0]), int(size[1]))
        self.channels = channels
        self.normalizer = normalizer

    def __len__(self) -> int:
        return len(self.paths)

    def decode(self, index: int) -> torch.Tensor:
        """Image `index` decoded to [0, 1], not normalized."""
        return torch.from_numpy(decode_image(self.paths[index], self.size, self.channels))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.decode(int(index))
        if self.normalizer is not None:
            x = self.normalizer.apply(x)
        return x, self.labels[int(index)]
