"""A quick look at a data source: the first rows of a CSV, and what a loaded set holds, as plain numbers.

`csv_preview(path)` reads only the header and the first rows (same delimiters
as the CSV reader: comma, semicolon, tab), for the desktop app's target-column
picker and preview table. `describe(dataset)` turns a loaded `Dataset` into the
plain numbers the data panel shows (samples per split, classes, sample shape, and
with several Inputs each Input's part: its columns or array and its shape).
`preview(dataset, csv_path, target)` adds what the Data tab draws: the class
balance of each split, a grid of labelled samples for image-shaped data
(`sample_grid`, pixels ready to show from `display_pixels`) and per-column
statistics of a CSV file (`csv_column_stats`). `raw_samples` gives samples of a
split as the source read them (normalization undone), for thumbnails anywhere.
"""
from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError, Problem

DELIMITERS = (",", ";", "\t")


@dataclass
class CsvPreview:
    header: list[str]
    rows: list[list[str]]
    delimiter: str


def csv_preview(path: str | Path, rows: int = 8) -> CsvPreview:
    """The header and up to `rows` data rows; DataError (one line, naming the file) when unreadable."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            head = list(itertools.islice(f, rows + 1))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(Problem(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}", file=str(path)))
    if not head:
        raise DataError(Problem(f"CSV file {path} is empty; it needs a header row and data rows", file=str(path)))
    first = head[0]
    delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
    parsed = list(csv.reader(head, delimiter=delimiter))
    header = [h.strip() for h in parsed[0]]
    return CsvPreview(header, [[c.strip() for c in r] for r in parsed[1:] if r], delimiter)


@dataclass
class DataSummary:
    source: str
    task: str
    train: int
    val: int
    test: int
    sample_shape: tuple[int, ...]
    num_classes: int | None
    class_names: list[str] | None
    target_shape: tuple[int, ...]
    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # several Inputs: each part's shape
    input_names: dict[str, list[str]] = field(default_factory=dict)  # several Inputs: each part's columns/array

    @property
    def total(self) -> int:
        return self.train + self.val + self.test


def describe(dataset: Any) -> DataSummary:
    """The numbers the data panel shows, from a loaded nodetrainer.data.Dataset."""
    return DataSummary(
        source=dataset.source, task=dataset.task, train=len(dataset.train),
        val=len(dataset.val) if dataset.val is not None else 0,
        test=len(dataset.test) if dataset.test is not None else 0,
        sample_shape=tuple(dataset.sample_shape), num_classes=dataset.num_classes,
        class_names=list(dataset.class_names) if dataset.class_names else None,
        target_shape=tuple(dataset.target_shape),
        input_shapes={p.input_id: tuple(p.shape) for p in getattr(dataset, "inputs", [])},
        input_names={p.input_id: list(p.names) for p in getattr(dataset, "inputs", [])})


SPLITS = ("train", "val", "test")
GRID_SAMPLES = 24


@dataclass
class ColumnStats:
    """One CSV column: numbers get min/max/mean/std over the filled cells; text gets its distinct values."""

    name: str
    kind: str  # number or text
    count: int  # filled cells
    missing: int  # empty cells
    minimum: float = math.nan
    maximum: float = math.nan
    mean: float = math.nan
    std: float = math.nan
    distinct: int = 0
    target: bool = False


def csv_column_stats(path: str | Path, target: str | None = None) -> list[ColumnStats]:
    """Statistics of every column of a CSV file (a column is a number column when every filled cell parses);
    DataError (one line, naming the file) when it cannot be read."""
    from .csv_source import _read_rows  # the reader's own delimiter and blank-line rules
    path = Path(path)
    _, rows = _read_rows(path)
    if not rows:
        raise DataError(Problem(f"CSV file {path} is empty; it needs a header row and data rows", file=str(path)))
    header = [h.strip() for h in rows[0]]
    width = len(header)
    cells = np.array([(r + [""] * width)[:width] for r in rows[1:]], dtype=object).reshape(-1, width)
    stats = []
    for c, name in enumerate(header):
        column = np.char.strip(cells[:, c].astype(str)) if len(cells) else np.array([], dtype=str)
        filled = column[column != ""]
        missing = int(len(column) - len(filled))
        try:
            values = filled.astype(np.float64)
        except ValueError:
            values = None
        if values is not None and len(values) and np.isfinite(values).all():
            stats.append(ColumnStats(name, "number", len(values), missing, float(values.min()), float(values.max()),
                                     float(values.mean()), float(values.std()),
                                     int(len(np.unique(values))), name == target))
        else:
            stats.append(ColumnStats(name, "text", len(filled), missing, distinct=int(len(np.unique(filled))),
                                     target=name == target))
    return stats


def class_balance(dataset: Any) -> dict[str, np.ndarray]:
    """Samples per class in each split that exists (classification; empty for regression)."""
    if dataset.task != "classification" or not dataset.num_classes:
        return {}
    n = int(dataset.num_classes)
    return {name: np.bincount(part.y.reshape(-1).numpy(), minlength=n)[:n]
            for name in SPLITS if (part := getattr(dataset, name)) is not None and len(part)}


def is_image_shaped(shape: tuple[int, ...]) -> bool:
    """[1 or 3, H, W]: samples a grid can show as pictures."""
    return len(shape) == 3 and shape[0] in (1, 3) and shape[1] >= 2 and shape[2] >= 2


def part_shapes(dataset: Any) -> list[tuple[int, ...]]:
    """The shape of each part of a sample: one per Input (data.inputs), or the one sample shape."""
    if getattr(dataset, "inputs", None):
        return [tuple(p.shape) for p in dataset.inputs]
    return [tuple(dataset.sample_shape)]


def image_part(dataset: Any) -> int | None:
    """Which part of a sample is shown as a picture: the first image-shaped one, or None."""
    return next((i for i, shape in enumerate(part_shapes(dataset)) if is_image_shaped(shape)), None)


def raw_samples(dataset: Any, split: str, indices: Any, part: int = 0) -> torch.Tensor:
    """Samples `indices` of `split` as the source read them: [K, *shape of the part], normalization undone
    (decoded from disk for a streamed image folder). `part` picks an Input's part with several Inputs."""
    data = getattr(dataset, split)
    idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
    if dataset.stream is not None:
        picked = data.x[idx]
        if not len(picked):
            return torch.empty((0, *dataset.sample_shape))
        return torch.stack([dataset.stream.decode(int(i)) for i in picked])
    xs = data.x if isinstance(data.x, tuple) else (data.x,)
    x = xs[part][idx]
    norm = dataset.inputs[part].normalizer if getattr(dataset, "inputs", None) else dataset.normalizer
    if norm.mode == "none" or norm.shift is None or not x.is_floating_point():
        return x.clone()
    return x * norm.scale + norm.shift


def raw_features(dataset: Any, split: str, indices: Any) -> np.ndarray:
    """Samples of `split` as rows of raw numbers [K, F]: every part flattened, in Input order."""
    parts = [raw_samples(dataset, split, indices, k).reshape(len(indices), -1).double().numpy()
             for k in range(len(part_shapes(dataset)))]
    return np.concatenate(parts, axis=1) if parts else np.zeros((len(indices), 0))


def feature_names(dataset: Any) -> list[str] | None:
    """Names of `raw_features`' columns where the source has them (CSV and tabular sets with data.inputs)."""
    inputs = getattr(dataset, "inputs", None)
    if inputs and all(p.kind == "columns" for p in inputs):
        return [name for p in inputs for name in p.names]
    return None


def display_pixels(raw: torch.Tensor) -> np.ndarray:
    """uint8 [K, H, W, 3] pictures of raw image samples [K, 1 or 3, H, W], scaled together from their
    common darkest to brightest value (so samples compare)."""
    x = raw.detach().float().cpu()
    if not len(x):
        return np.zeros((0, *x.shape[2:], 3), dtype=np.uint8)
    lo, hi = float(x.min()), float(x.max())
    x = (x - lo) / (hi - lo) if hi > lo else torch.zeros_like(x)
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy())


@dataclass
class SampleView:
    """How samples are shown: pictures of their image part, or rows of their raw features."""

    pixels: np.ndarray | None = None  # uint8 [K, H, W, 3]
    features: np.ndarray | None = None  # [K, F]
    names: list[str] | None = None  # feature names, where known


def sample_view(dataset: Any, split: str, indices: Any) -> SampleView:
    """Samples of `split` as pictures (the first image-shaped part) or, without one, as feature rows."""
    k = image_part(dataset)
    if k is not None:
        return SampleView(pixels=display_pixels(raw_samples(dataset, split, indices, k)))
    return SampleView(features=raw_features(dataset, split, indices), names=feature_names(dataset))


@dataclass
class SampleGrid:
    split: str
    indices: np.ndarray  # sample indices in the split
    pixels: np.ndarray  # uint8 [K, H, W, 3]
    labels: list[str]


def sample_grid(dataset: Any, split: str = "train", count: int = GRID_SAMPLES, seed: int = 0) -> SampleGrid | None:
    """Up to `count` labelled samples of `split` for image-shaped data (None otherwise): classes taken in turn,
    so every class shows; the samples of each class drawn with `seed`."""
    part = getattr(dataset, split, None)
    k = image_part(dataset)
    if part is None or not len(part) or k is None:
        return None
    rng = np.random.default_rng(seed)
    y = part.y.numpy()
    if dataset.task == "classification" and y.ndim == 1:
        queues = [rng.permutation(np.flatnonzero(y == c)).tolist() for c in np.unique(y)]
        picked: list[int] = []
        while len(picked) < count and any(queues):
            for q in queues:
                if q and len(picked) < count:
                    picked.append(q.pop(0))
    else:
        picked = sorted(rng.choice(len(y), size=min(count, len(y)), replace=False).tolist())
    indices = np.asarray(picked, dtype=np.int64)
    return SampleGrid(split, indices, display_pixels(raw_samples(dataset, split, indices, k)),
                      [label_text(dataset, y[i]) for i in indices])


def label_text(dataset: Any, target: Any) -> str:
    """A target as shown: the class name, or the regression value(s)."""
    if dataset.task == "classification":
        i = int(np.asarray(target).reshape(-1)[0])
        names = dataset.class_names
        return names[i] if names and 0 <= i < len(names) else str(i)
    values = np.asarray(target, dtype=np.float64).reshape(-1)
    return ", ".join(f"{v:.4g}" for v in values)


def mapped_shape(choices: Any, spec: Any) -> tuple[tuple[int, ...] | None, str | None]:
    """(shape of an Input's part, None) for a data.inputs value against what the source offers (`PartChoices`),
    or (None, why not) for a value that names nothing there."""
    from .inputs import InputsError, resolve_columns
    if spec is None or spec == [] or spec == "":
        return None, "not mapped"
    if choices.kind == "arrays":
        if not isinstance(spec, str) or spec not in choices.shapes:
            return None, f"no array {spec!r}"
        return tuple(choices.shapes[spec]), None
    try:
        return (len(resolve_columns(spec, list(choices.shapes))),), None
    except InputsError as exc:
        return None, exc.problems[0].message if exc.problems else str(exc)


def mapped_columns(choices: Any, spec: Any) -> list[str]:
    """The column names a data.inputs value picks (empty when it names nothing there)."""
    from .inputs import InputsError, resolve_columns
    if choices.kind != "columns" or not spec:
        return []
    names = list(choices.shapes)
    try:
        return [names[i] for i in resolve_columns(spec, names)]
    except InputsError:
        return []


def columns_spec(picked: list[str], columns: list[str]) -> list[str] | str:
    """A data.inputs value for the columns `picked`, in header order, runs of three or more written as ranges
    (`mean radius..mean texture`); a single range as a plain string."""
    chosen = sorted({columns.index(c) for c in picked if c in columns})
    items: list[str] = []
    start = 0
    while start < len(chosen):
        end = start
        while end + 1 < len(chosen) and chosen[end + 1] == chosen[end] + 1:
            end += 1
        if end - start >= 2:
            items.append(f"{columns[chosen[start]]}..{columns[chosen[end]]}")
        else:
            items += [columns[chosen[k]] for k in range(start, end + 1)]
        start = end + 1
    return items[0] if len(items) == 1 and ".." in items[0] else items


@dataclass
class DataPreview:
    summary: DataSummary | None  # None when the set could not be loaded (a CSV file's columns may still show why)
    balance: dict[str, np.ndarray] = field(default_factory=dict)  # split -> samples per class
    grid: SampleGrid | None = None
    columns: list[ColumnStats] | None = None  # CSV sources
    columns_error: str | None = None  # why the columns could not be read
    choices: Any = None  # with several Inputs: what the source offers to map (data.inputs.PartChoices)
    dataset: Any = None  # the loaded Dataset (the augmented grid draws from it)


def preview(dataset: Any, csv_path: str | Path | None = None, target: str | None = None) -> DataPreview:
    """Everything the Data tab shows of a loaded set, or of none (`dataset` None: a set that could not be
    loaded), and for a CSV source its file's columns."""
    if dataset is None:
        result = DataPreview(None)
    else:
        result = DataPreview(describe(dataset), class_balance(dataset), sample_grid(dataset), dataset=dataset)
    if csv_path is not None:
        try:
            result.columns = csv_column_stats(csv_path, target)
        except DataError as exc:
            result.columns_error = exc.problems[0].message if exc.problems else str(exc)
    return result


__all__ = ["CsvPreview", "csv_preview", "DataSummary", "describe", "ColumnStats", "csv_column_stats",
           "class_balance", "raw_samples", "raw_features", "feature_names", "display_pixels", "SampleView",
           "sample_view", "part_shapes", "image_part", "mapped_shape", "mapped_columns", "columns_spec", "SampleGrid", "sample_grid", "label_text",
           "DataPreview", "preview", "is_image_shaped"]
