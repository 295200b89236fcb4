"""A quick look at a data source without loading it: the first rows of a CSV, a summary of a loaded set.

`csv_preview(path)` reads only the header and the first rows (same delimiters
as the CSV reader: comma, semicolon, tab), for the desktop app's target-column
picker and preview table. `describe(dataset)` turns a loaded `Dataset` into the
plain numbers the data panel shows (samples per split, classes, sample shape, and
with several Inputs each Input's part: its columns or array and its shape).
"""
from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


__all__ = ["CsvPreview", "csv_preview", "DataSummary", "describe"]
