"""`load_dataset`: reads a data source, encodes targets, splits, and normalizes with training statistics."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError, Problem
from ..settings import DataConfig
from .csv_source import load_csv
from .dataset import Dataset, Split
from .encode import encode_classes, features, regression_targets
from .images import ImageFolderStream, load_images
from .inputs import InputsError, npz_parts, split_columns
from .normalize import Normalizer
from .npz_source import load_npz
from .raw import RawData
from .sources import load_builtin
from .splits import split_indices

TASKS = ("classification", "regression")
STREAM_FIT_SAMPLES = 512  # images decoded to fit the normalizer of a streamed folder


def load_dataset(cfg: DataConfig, base_dir: Path | str, task: str | None = None,
                 input_dtype: str | dict[str, str] = "float32", input_ids: list[str] | None = None) -> Dataset:
    """Loads `cfg.source` (relative paths from `base_dir`) for `task`.

    The task is `cfg.task` if set, else `task` (the loss's), else the built-in set's own,
    else classification. Raises DataError with located, one-line problems on bad input.
    With `cfg.inputs` (several Inputs) `input_ids` gives the graph's Inputs in file order
    (default: the mapping's order) and `input_dtype` may map each to its dtype; every split's
    `x` is then a tuple of tensors in that order and `Dataset.inputs` describes the parts
    (an `InputsError`, whose `path` is the graph-file key, for a bad mapping).
    """
    dtypes = input_dtype if isinstance(input_dtype, dict) else None
    for dtype in (dtypes or {"": input_dtype}).values():
        if dtype not in ("float32", "int64"):
            raise DataError(Problem(f"Input dtype must be float32 or int64, got '{dtype}'"))
    if cfg.inputs:
        return _load_parts(cfg, Path(base_dir), task, dtypes or {}, input_ids or list(cfg.inputs),
                           "float32" if dtypes else str(input_dtype))
    input_dtype = str(next(iter(dtypes.values()))) if dtypes else str(input_dtype)
    raw = read_source(cfg, Path(base_dir), cfg.task or task)
    task = _task(raw, cfg, task)
    if raw.stream is not None and input_dtype == "int64":
        raise DataError(Problem("images are float pixels; the Input dtype must be float32, not int64"))
    ys = _targets(raw, task)
    parts = _split(raw, ys, cfg, task)
    normalizer = Normalizer("none" if input_dtype == "int64" else cfg.normalize)
    if raw.stream is not None:
        return _streamed(raw, parts, cfg, task, normalizer)
    xs = {name: torch.from_numpy(features(x, input_dtype, _what(raw, name), raw.file))
          for name, (x, _) in parts.items()}
    normalizer.fit(xs["train"], per_channel=raw.per_channel)
    splits = {name: Split(normalizer.apply(xs[name]), y) for name, (_, y) in parts.items()}
    return _dataset(splits, raw, ys, task, tuple(xs["train"].shape[1:]), normalizer, cfg.source)


def read_source(cfg: DataConfig, base_dir: Path, task: str | None = None) -> RawData:
    """The source's arrays as read (`task` decides how CSV targets are parsed)."""
    kind, _, location = cfg.source.partition(":")
    if kind == "builtin":
        return load_builtin(location, cfg.n_samples, cfg.noise, cfg.split.seed)
    if kind not in ("csv", "npz", "images") or not location:
        raise DataError(Problem(f"source must be builtin:NAME, csv:PATH, npz:PATH or images:DIR, got '{cfg.source}'"))
    path = Path(location).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if kind == "images":
        if not path.exists():
            raise DataError(Problem(f"image folder not found: {path.absolute()} (from source '{cfg.source}', "
                                    f"relative to the graph file's folder)"))
        return load_images(path, tuple(cfg.image_size), cfg.grayscale)
    if not path.exists():
        raise DataError(Problem(f"{kind.upper()} file not found: {path.absolute()} (from source '{cfg.source}', "
                                f"relative to the graph file's folder)"))
    if path.is_dir():
        raise DataError(Problem(f"{path} is a folder; source '{cfg.source}' needs a file", file=str(path)))
    if kind == "csv":
        return load_csv(path, cfg.target, task or "classification")
    return load_npz(path, mapped=bool(cfg.inputs))


def _task(raw: RawData, cfg: DataConfig, task: str | None) -> str:
    task = cfg.task or task or raw.natural_task or "classification"
    if task not in TASKS:
        raise DataError(Problem(f"task must be classification or regression, got '{task}'"))
    if raw.fixed_task and task != raw.fixed_task:
        how = "data.task" if cfg.task else "the loss"
        fix = ("use an mse, l1 or huber loss" if raw.fixed_task == "regression"
               else "use a classification loss such as cross_entropy")
        raise DataError(Problem(f"{cfg.source} is a {raw.fixed_task} set but {how} makes the task {task}; "
                                f"{fix} or set data.task: {raw.fixed_task}"))
    return task


def _load_parts(cfg: DataConfig, base_dir: Path, task: str | None, dtypes: dict[str, str], input_ids: list[str],
                default_dtype: str) -> Dataset:
    """load_dataset with data.inputs: one tensor per Input in every split, each part normalized on its own."""
    raw = read_source(cfg, base_dir, cfg.task or task)
    task = _task(raw, cfg, task)
    missing = [i for i in input_ids if i not in cfg.inputs]
    if missing:
        raise InputsError(Problem(f"data.inputs gives Input {missing[0]} no part of a sample; map it to its columns "
                                  f"or NPZ array", node=missing[0]), ("data", "inputs"))
    extra = [k for k in cfg.inputs if k not in input_ids]
    if extra:
        raise InputsError(Problem(f"inputs.{extra[0]}: no Input node {extra[0]}; Inputs: {', '.join(input_ids)}"),
                          ("data", "inputs", extra[0]))
    if raw.arrays is not None:
        x, held, parts = npz_parts(raw.arrays, cfg.inputs, input_ids, raw.file or cfg.source)
        raw.x = x
        raw.parts = {name: (held[name], y) for name, (_, y) in raw.parts.items()}
    else:
        parts = split_columns(raw, cfg.inputs, input_ids)
    ys = _targets(raw, task)
    split_parts = _split(raw, ys, cfg, task)
    splits: dict[str, list[torch.Tensor]] = {name: [] for name in split_parts}
    for k, part in enumerate(parts):
        dtype = dtypes.get(part.input_id, default_dtype)
        part.normalizer = Normalizer("none" if dtype == "int64" else cfg.normalize)
        xs = {name: torch.from_numpy(features(x[k], dtype, f"{part.names[0] if part.kind == 'array' else 'x'}"
                                              f"{'' if name == 'train' or name not in raw.parts else '_' + name}"
                                              f" (Input {part.input_id})", raw.file))
              for name, (x, _) in split_parts.items()}
        part.normalizer.fit(xs["train"], per_channel=raw.per_channel)
        for name in split_parts:
            splits[name].append(part.normalizer.apply(xs[name]))
    out = {name: Split(tuple(splits[name]), y) for name, (_, y) in split_parts.items()}
    dataset = _dataset(out, raw, ys, task, parts[0].shape, parts[0].normalizer, cfg.source)
    dataset.inputs = parts
    return dataset


def _what(raw: RawData, part: str) -> str:
    """How messages name the features of a split: x, or x_val / x_test when the file gave them."""
    return f"x_{part}" if part in raw.parts else "x"


def _targets(raw: RawData, task: str) -> dict[str, np.ndarray]:
    """Encoded targets of the main arrays ("all") and of explicit parts; sets raw.class_names."""
    names = ["all"] + list(raw.parts)
    ys = [raw.y] + [y for _, y in raw.parts.values()]
    what = [raw.target_name] + [f"y_{p}" for p in raw.parts]
    if task == "classification":
        if raw.class_names is None:
            ys, raw.class_names = encode_classes(ys, raw.target_name, raw.file)
    else:
        raw.class_names = None
        ys = [regression_targets(y, w, raw.file) for y, w in zip(ys, what)]
    return dict(zip(names, ys))


def _split(raw: RawData, ys: dict[str, np.ndarray], cfg: DataConfig, task: str) -> dict[str, tuple]:
    """name -> (x or index array, y tensor) for train and each held-out split."""
    n = len(ys["all"])
    val = 0.0 if "val" in raw.parts else cfg.split.val
    test = 0.0 if "test" in raw.parts else cfg.split.test
    labels = ys["all"] if task == "classification" else None
    train, val_idx, test_idx = split_indices(n, val, test, cfg.split.seed, labels)
    source = np.arange(n) if raw.x is None else raw.x
    parts = {"train": (_take(source, train), torch.from_numpy(ys["all"][train]))}
    for name, idx in (("val", val_idx), ("test", test_idx)):
        if name in raw.parts:
            parts[name] = (raw.parts[name][0], torch.from_numpy(ys[name]))
        elif idx is not None:
            parts[name] = (_take(source, idx), torch.from_numpy(ys["all"][idx]))
    return parts


def _take(x: Any, idx: np.ndarray) -> Any:
    """Rows `idx` of an array, or of each array of a tuple (several Inputs)."""
    return tuple(a[idx] for a in x) if isinstance(x, tuple) else x[idx]


def _streamed(raw: RawData, parts: dict[str, tuple], cfg: DataConfig, task: str, normalizer: Normalizer) -> Dataset:
    stream = raw.stream
    assert isinstance(stream, ImageFolderStream) and raw.sample_shape is not None
    train_idx = parts["train"][0]
    if normalizer.mode != "none":
        rng = np.random.default_rng(cfg.split.seed)
        pick = np.sort(rng.choice(train_idx, size=min(STREAM_FIT_SAMPLES, len(train_idx)), replace=False))
        normalizer.fit(torch.stack([stream.decode(int(i)) for i in pick]), per_channel=True)
    stream.normalizer = normalizer
    splits = {name: Split(torch.as_tensor(idx, dtype=torch.int64), y) for name, (idx, y) in parts.items()}
    return _dataset(splits, raw, {}, task, raw.sample_shape, normalizer, cfg.source, stream)


def _dataset(splits: dict[str, Split], raw: RawData, ys: dict, task: str, sample_shape: tuple[int, ...],
             normalizer: Normalizer, source: str, stream: ImageFolderStream | None = None) -> Dataset:
    classification = task == "classification"
    train_y = splits["train"].y
    return Dataset(
        train=splits["train"], val=splits.get("val"), test=splits.get("test"), task=task,
        sample_shape=tuple(int(s) for s in sample_shape),
        num_classes=len(raw.class_names) if classification and raw.class_names else None,
        class_names=list(raw.class_names) if classification and raw.class_names else None,
        target_shape=() if classification else tuple(int(s) for s in train_y.shape[1:]),
        normalizer=normalizer, stream=stream, source=source)
