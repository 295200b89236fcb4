"""The loaded data set handed to training: CPU tensors per split, plus what the model must match."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import Problem
from .inputs import InputPart
from .normalize import Normalizer


@dataclass
class Split:
    """One split as CPU tensors.

    x: float32 features [N, *sample_shape] (int64 when the Input dtype is int64), already
       normalized; for a streamed `Dataset` instead the int64 indices [N] of its samples in
       `Dataset.stream`. With several Inputs (data.inputs) a tuple of such tensors, one per
       Input in the graph's Input order (`Dataset.inputs`).
    y: int64 class indices [N] (classification) or float32 targets [N, T] (regression).
    """

    x: torch.Tensor | tuple[torch.Tensor, ...]
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def xs(self) -> tuple[torch.Tensor, ...]:
        """The features as a tuple, one tensor per Input (a 1-tuple for one Input)."""
        return self.x if isinstance(self.x, tuple) else (self.x,)


@dataclass
class Dataset:
    """Splits, task and shapes of one data source; `normalizer` was fitted on `train` only.

    When `stream` is set (image folders too large for memory), every split's `x` holds
    indices into `stream`, a torch Dataset whose item i is the normalized (x, y) of image
    i; `torch_dataset(split)` gives the matching torch Dataset either way.

    With several Inputs (data.inputs), `inputs` lists each Input's part (names, shape and
    its own fitted normalizer, in the graph's Input order) and `sample_shape` /
    `normalizer` are the first part's; with one Input `inputs` is empty.
    """

    train: Split
    val: Split | None
    test: Split | None
    task: str
    sample_shape: tuple[int, ...]
    num_classes: int | None
    class_names: list[str] | None
    target_shape: tuple[int, ...]
    normalizer: Normalizer
    stream: "torch.utils.data.Dataset | None" = None
    source: str = ""
    inputs: list[InputPart] = field(default_factory=list)

    @property
    def multi_input(self) -> bool:
        return bool(self.inputs)

    def normalizers(self, input_ids: list[str]) -> dict[str, Normalizer]:
        """Each Input's normalizer by id (`input_ids`: the graph's Inputs, for the one-Input case)."""
        if self.inputs:
            return {p.input_id: p.normalizer for p in self.inputs}
        return {input_ids[0]: self.normalizer}

    @property
    def streamed(self) -> bool:
        return self.stream is not None

    def torch_dataset(self, split: Split) -> Any:
        """A torch Dataset of (x, y) pairs for `split`: a TensorDataset, or a Subset of `stream`."""
        if self.stream is not None:
            return torch.utils.data.Subset(self.stream, split.x.tolist())
        return torch.utils.data.TensorDataset(*split.xs, split.y)


def check_input_shape(input_id: str, input_shape: tuple[int, ...] | list[int], dataset: Dataset) -> Problem | None:
    """A problem naming both shapes when the Input node's shape differs from one sample's shape."""
    want, have = tuple(int(s) for s in input_shape), tuple(dataset.sample_shape)
    if want == have:
        return None
    src = f" ({dataset.source})" if dataset.source else ""
    fix = f"set the Input shape to {list(have)}"
    if _numel(want) == _numel(have):
        fix += f" (a Reshape to {list(want)} after it keeps the rest of the graph)"
    return Problem(f"Input shape {list(want)} does not match the data's sample shape {list(have)}{src}; {fix}",
                   node=input_id)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
