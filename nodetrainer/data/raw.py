"""The hand-off between a data source reader and the loader: arrays as read, before splitting."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .images import ImageFolderStream


@dataclass
class RawData:
    """What a source reader returns.

    `x` holds every sample ([N, *sample_shape], any numeric dtype) or is None when the
    images are streamed (then `stream` decodes them and `sample_shape` says their shape).
    `y` holds the targets as read: class indices when `class_names` is set, otherwise raw
    labels (numbers or strings) that the loader encodes for the task.
    `parts` holds explicit held-out splits ("val", "test") that replace the fractions.
    With data.inputs (several Inputs) `x` and each part's x are tuples, one array per Input.
    """

    x: np.ndarray | None
    y: np.ndarray
    file: str | None = None                  # the data file, for located problems
    class_names: list[str] | None = None     # set when y already holds class indices
    natural_task: str | None = None          # the task a builtin set is made for
    fixed_task: str | None = None            # the only task this source supports
    target_name: str = "y"                   # how messages name the target ("column 'label'")
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    stream: "ImageFolderStream | None" = None
    sample_shape: tuple[int, ...] | None = None
    per_channel: bool = False                # normalize per channel (images), not per feature
    columns: list[str] | None = None         # names of x's feature columns (CSV, tabular built-in sets)
    arrays: dict[str, np.ndarray] | None = None  # every array of an NPZ file, for data.inputs
