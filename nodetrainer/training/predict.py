"""What a run's kept model predicts for new samples: `nodetrainer predict` and the app's "Try it" panel.

    model = TrainedModel.load("runs/digits-cnn/20260301-141502")   # kept weights + saved normalization
    for sample in model.predict_files(["seven.png", "rows.csv"], top=3):
        print(sample.to_json())

`TrainedModel.load` reads a run folder the way `evaluate` and export do (the
graph it trained, the weights it kept, the normalization fitted on its training
split). Samples are raw, as the data source reads them: an image file is decoded
like an `images:` folder's images (resized to the Input's height and width, one
or three channels; a built-in image set's pixel range, e.g. 0..16 for digits), a
CSV file gives one sample per row (the training CSV's feature columns by name,
other columns such as the target ignored). `predict(raw)` normalizes and runs the
model; `predict_normalized(x)` takes samples already normalized (a split of the
run's data set). With several Inputs a CSV row gives each Input the columns
`data.inputs` maps to it (image files and NPZ-mapped Inputs are refused with a
line saying why). A classifier's answer is its top classes with probabilities
(`predictions.class_probabilities`), a regression's the predicted values.
Problems are one located line (`DataError`/`ConfigError`).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

import torch

from ..errors import ConfigError, DataError, Problem
from .predictions import class_probabilities

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
BATCH = 256  # samples per forward pass


@dataclass(frozen=True)
class ClassScore:
    index: int
    name: str
    probability: float


@dataclass(frozen=True)
class SamplePrediction:
    """One sample's answer: `top` classes (most probable first) or the regression `value`s."""

    source: str  # where the sample came from: a file, "file.csv" line N, or "test sample 12"
    top: list[ClassScore] | None = None
    value: list[float] | None = None
    line: int | None = None  # the CSV line of the sample

    @property
    def best(self) -> ClassScore | None:
        return self.top[0] if self.top else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.source}
        if self.line is not None:
            out["line"] = self.line
        if self.top is not None:
            out["top"] = [{"class": c.name, "index": c.index, "probability": _finite(c.probability)}
                          for c in self.top]
        else:
            out["value"] = [_finite(v) for v in (self.value or [])]
        return out


Samples = Any  # a tensor [N, *shape] for one Input, a tuple of them (one per Input, in graph order) for several


class TrainedModel:
    """A run's network with the weights it kept and its normalization, in evaluation mode on the CPU."""

    def __init__(self, run_dir: Path, graph: Any, model: torch.nn.Module, checkpoint: dict[str, Any],
                 normalizers: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.graph = graph
        self.model = model
        self.checkpoint = checkpoint
        self.normalizers = normalizers  # Input id -> fitted Normalizer (normalized Inputs only)
        self.task = str(checkpoint.get("task") or "classification")
        self.class_names: list[str] | None = list(checkpoint.get("class_names") or []) or None
        self.input_ids = list(graph.input_ids())
        self.input_id = self.input_ids[0]
        params = [graph.nodes[i].resolved() for i in self.input_ids]
        self.input_shapes = [tuple(int(s) for s in p["shape"]) for p in params]
        self.input_shape = self.input_shapes[0]
        self.input_dtypes = [torch.int64 if str(p.get("dtype", "float32")) == "int64" else torch.float32
                             for p in params]
        self.input_dtype = self.input_dtypes[0]
        output_id = checkpoint.get("output_id")
        outputs = list(getattr(model, "output_ids", graph.output_ids()))
        self.output_index = outputs.index(output_id) if output_id in outputs and len(outputs) > 1 else 0
        self.data_config = graph.data_config()
        self.data_dir = Path(checkpoint.get("data_dir") or run_dir)

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> "TrainedModel":
        """The kept model of the run folder `run_dir`; ConfigError (one line) for a folder that holds no run."""
        from ..export.source import open_source
        path = Path(run_dir)
        if not path.is_dir():
            raise ConfigError(Problem("no such run folder", str(path)))
        source = open_source(path)
        assert source.checkpoint is not None
        return cls(path, source.graph, source.reference(), source.checkpoint, source.normalizers())

    @property
    def normalizer(self) -> Any:
        """The first Input's normalizer, or None."""
        return self.normalizers.get(self.input_id)

    @property
    def several(self) -> bool:
        return len(self.input_ids) > 1

    # -- predicting ------------------------------------------------------------------------
    @property
    def classification(self) -> bool:
        return self.task == "classification"

    def predict(self, raw: Samples, top: int = 3, sources: list[str] | None = None) -> list[SamplePrediction]:
        """Predictions for raw samples (the run's normalization is applied first)."""
        parts = raw if isinstance(raw, tuple) else (raw,)
        normalized = []
        for input_id, dtype, x in zip(self.input_ids, self.input_dtypes, parts):
            x = x.to(dtype)
            norm = self.normalizers.get(input_id)
            normalized.append(norm.apply(x) if norm is not None else x)
        return self.predict_normalized(tuple(normalized) if self.several else normalized[0], top, sources)

    def predict_normalized(self, x: Samples, top: int = 3,
                           sources: list[str] | None = None) -> list[SamplePrediction]:
        """Predictions for samples already normalized like the run's data splits."""
        parts = x if isinstance(x, tuple) else (x,)
        if len(parts) != len(self.input_ids):
            raise DataError(Problem(f"the model takes {len(self.input_ids)} Inputs ({', '.join(self.input_ids)}), "
                                    f"got {len(parts)} part(s) of a sample", str(self.run_dir)))
        for input_id, shape, part in zip(self.input_ids, self.input_shapes, parts):
            if tuple(part.shape[1:]) != shape:
                raise DataError(Problem(f"samples of shape {list(part.shape[1:])} do not fit the Input "
                                        f"{input_id} {list(shape)}", str(self.run_dir)))
        n = len(parts[0])
        sources = sources or [f"sample {i}" for i in range(n)]
        outputs = []
        with torch.inference_mode():
            for start in range(0, n, BATCH):
                out = self.model(*(p[start:start + BATCH] for p in parts))
                if isinstance(out, (tuple, list)):
                    out = out[self.output_index]
                outputs.append(out.float())
        out = torch.cat(outputs) if outputs else torch.empty(0)
        if not self.classification:
            values = out.reshape(n, -1).tolist()
            return [SamplePrediction(s, value=v) for s, v in zip(sources, values)]
        probs = class_probabilities(out)
        if probs is None:
            raise ConfigError(Problem(f"the model's output {list(out.shape[1:])} cannot be read as class scores",
                                      str(self.run_dir)))
        k = max(1, min(int(top), probs.shape[1]))
        best_p, best_i = probs.topk(k, dim=1)
        result = []
        for s, ps, idx in zip(sources, best_p.tolist(), best_i.tolist()):
            result.append(SamplePrediction(s, top=[ClassScore(i, self.class_name(i), p) for p, i in zip(ps, idx)]))
        return result

    def class_name(self, index: int) -> str:
        names = self.class_names
        return names[index] if names and 0 <= index < len(names) else str(index)

    # -- files -----------------------------------------------------------------------------
    def predict_files(self, paths: Iterable[str | os.PathLike], top: int = 3) -> list[SamplePrediction]:
        """Every sample of every file (an image, or a CSV file's rows), in order."""
        result: list[SamplePrediction] = []
        for path in paths:
            result += self.predict_file(Path(path), top)[1]
        return result

    def predict_file(self, path: Path, top: int = 3) -> tuple[Samples, list[SamplePrediction]]:
        """The raw samples of one image or CSV file and their predictions (with each CSV row's line)."""
        raw, sources, lines = self.read_file(Path(path))
        return raw, [replace(s, line=line) for s, line in zip(self.predict(raw, top, sources), lines)]

    def predict_split(self, dataset: Any, split: str, indices: list[int], top: int = 3) -> list[SamplePrediction]:
        """Predictions for samples of a split of the run's data set (`load_data`), named "test sample I"."""
        from ..data.preview import raw_samples
        part = getattr(dataset, split)
        names = [f"{split} sample {i}" for i in indices]
        if dataset.stream is not None:  # the split holds indices into the stream: decode and normalize
            return self.predict(raw_samples(dataset, split, indices), top, names)
        idx = torch.as_tensor(indices, dtype=torch.int64)
        x = tuple(t[idx] for t in part.x) if isinstance(part.x, tuple) else part.x[idx]
        return self.predict_normalized(x, top, names)

    def read_file(self, path: Path) -> tuple[Samples, list[str], list[int | None]]:
        """(raw samples, a source name per sample, the CSV line of each sample or None) of one file."""
        from ..data.images import IMAGE_EXTENSIONS
        if not path.exists():
            raise DataError(Problem("file not found", str(path)))
        if path.is_dir():
            raise DataError(Problem("is a folder; give image or CSV files", str(path)))
        suffix = path.suffix.lower()
        if suffix in IMAGE_EXTENSIONS:
            return self.read_image(path)[None], [str(path)], [None]
        if suffix in CSV_SUFFIXES:
            rows, lines = self.read_csv(path)
            count = len(rows[0]) if isinstance(rows, tuple) else len(rows)
            return rows, [str(path)] * count, list(lines)
        raise DataError(Problem(f"not an image or CSV file (images: {', '.join(sorted(IMAGE_EXTENSIONS))}; "
                                f"CSV: {', '.join(sorted(CSV_SUFFIXES))})", str(path)))

    def read_image(self, path: Path) -> torch.Tensor:
        """One raw sample [C, H, W] from an image file, as the run's data source reads its images."""
        from ..data.images import decode_image
        from ..data.sources import PIXEL_MAX
        shape = self.input_shape
        if self.several:
            raise DataError(Problem(f"the model takes {len(self.input_ids)} Inputs ({', '.join(self.input_ids)}); "
                                    "an image file gives only one: give a CSV file with every Input's columns",
                                    str(path)))
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise DataError(Problem(f"the model's Input {self.input_id} takes {list(shape)}, not an image "
                                    "([1 or 3, height, width])", str(path)))
        pixels = decode_image(str(path), (shape[1], shape[2]), shape[0])
        kind, _, name = self.data_config.source.partition(":")
        scale = PIXEL_MAX.get(name, 1.0) if kind == "builtin" else 1.0
        return torch.from_numpy(pixels) * scale

    def read_csv(self, path: Path) -> tuple[Samples, list[int]]:
        """The raw samples of a CSV file and the line of each: the training CSV's feature columns by name (any
        order, other columns ignored), or every column in order when the run did not train on a CSV file.
        With several Inputs each Input gets the columns data.inputs maps to it."""
        from ..data.csv_source import read_feature_rows
        for input_id, shape in zip(self.input_ids, self.input_shapes):
            if len(shape) != 1:
                raise DataError(Problem(f"the model's Input {input_id} takes {list(shape)}; a CSV row gives "
                                        "a flat list of features", str(path)))
        if not self.several:
            rows, lines = read_feature_rows(path, self.feature_columns(), self.input_shape[0])
            return torch.from_numpy(rows).to(torch.float32), lines
        groups = self.input_columns()
        columns = [c for group in groups for c in group]
        rows, lines = read_feature_rows(path, columns, len(columns))
        x = torch.from_numpy(rows).to(torch.float32)
        parts, start = [], 0
        for group in groups:
            parts.append(x[:, start:start + len(group)])
            start += len(group)
        return tuple(parts), lines

    def feature_columns(self) -> list[str] | None:
        """The feature columns of the CSV file the run trained on (its header without the target), or None."""
        kind, _, location = self.data_config.source.partition(":")
        if kind != "csv":
            return None
        from ..data.preview import csv_preview
        path = Path(location).expanduser()
        if not path.is_absolute():
            path = self.data_dir / path
        header = csv_preview(path, rows=0).header
        return [c for c in header if c != self.data_config.target]

    def input_columns(self) -> list[list[str]]:
        """With several Inputs: each Input's columns (data.inputs resolved against the source's columns)."""
        from ..data.inputs import part_choices, resolve_columns
        mapping = self.data_config.inputs or {}
        choices = part_choices(self.data_config, self.data_dir)
        if choices.kind != "columns" or any(i not in mapping for i in self.input_ids):
            raise DataError(Problem(f"the model's Inputs ({', '.join(self.input_ids)}) take arrays of an NPZ file; "
                                    "predict reads image and CSV files", str(self.run_dir)))
        names = list(choices.shapes)
        return [[names[i] for i in resolve_columns(mapping[input_id], names, input_id)] for input_id in self.input_ids]

    # -- the run's data ------------------------------------------------------------------------
    def load_data(self) -> Any:
        """The run's data set, split and normalized as it trained (its test split holds the samples to try)."""
        from ..data import load_dataset
        dtypes = {i: "int64" if d == torch.int64 else "float32" for i, d in zip(self.input_ids, self.input_dtypes)}
        if self.data_config.inputs:
            return load_dataset(self.data_config, self.data_dir, self.task, dtypes, self.input_ids)
        return load_dataset(self.data_config, self.data_dir, self.task, dtypes[self.input_id])


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


__all__ = ["TrainedModel", "SamplePrediction", "ClassScore"]
