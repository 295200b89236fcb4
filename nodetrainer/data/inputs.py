"""Several Inputs: the part of a sample each Input node takes (`data.inputs`), resolved against the data.

A graph with several Input nodes trains on samples cut into one part per Input. The
parts are always in the order the Input nodes appear in the graph file, which is the
order of the compiled module's `forward` arguments (`graph.input_ids()`), so a batch
is a tuple `(x_first_input, x_second_input, ...)` fed as `model(*batch)`.

`data.inputs` maps each Input id to its part:

- CSV files (and the tabular built-in sets, whose columns are scikit-learn's feature
  names): a list of column names `[age, income]`, a range `pixel0..pixel63` (the
  header's columns from the first name to the last, inclusive), or a list mixing both.
  The part of a sample is shaped `[number of columns]`.
- NPZ files: one array name `x_img`; the part is shaped like one row of it. When the
  file gives held-out splits (`y_val`, `y_test`) each mapped array needs `x_img_val` /
  `x_img_test` beside it.

Every feature goes to exactly one Input: a column or array used twice or not at all
(the target aside), a name the data does not have, and a part whose shape differs from
its Input's shape are `InputsError`s, whose `path` is the key in the graph file
(`("data", "inputs", input_id)`) so the message is located on that line.

Public API (for the command line, the trainer and the desktop app):

- `InputPart(input_id, names, shape, normalizer)`: one Input's part; `Dataset.inputs`
  lists them for a loaded data set with several Inputs (empty for one Input).
- `part_choices(cfg, base_dir)`: what a source offers to map, without a mapping: the
  CSV/tabular columns (each shaped [1]) or the NPZ arrays and their sample shapes.
- `resolve_columns(spec, columns)`: column indices of a list/range spec.
- `check_input_shapes(graph_shapes, dataset)`: a Problem per Input whose shape differs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import DataError, Problem, did_you_mean
from .normalize import Normalizer
from .raw import RawData

RANGE = ".."


class InputsError(DataError):
    """A problem with data.inputs; `path` is the key path of the graph file it is about."""

    def __init__(self, problem: Problem, path: tuple[str, ...]):
        super().__init__(problem)
        self.path = path


@dataclass
class InputPart:
    """One Input's part of a sample: the columns or the array it takes, its shape and its normalization."""

    input_id: str
    names: list[str]                  # CSV columns in order, or [array name]
    shape: tuple[int, ...]            # one sample's part, e.g. (2,) for two columns, (1, 8, 8) for an image array
    kind: str = "columns"             # "columns" or "array"
    normalizer: Normalizer = field(default_factory=Normalizer)
    index: list[int] = field(default_factory=list)  # columns: their places among the source's feature columns

    @property
    def is_image(self) -> bool:
        """True for a [channels, height, width] part (augmentation applies to it)."""
        return len(self.shape) == 3


@dataclass
class PartChoices:
    """What a data source offers to map onto Inputs: `kind` is "columns" or "arrays"; `shapes` gives each
    name's shape of one sample ([1] per column). `target` is the CSV target column, left out of `shapes`."""

    kind: str
    shapes: dict[str, tuple[int, ...]]
    target: str | None = None


def _fail(message: str, input_id: str | None, key: str | None = None) -> InputsError:
    path = ("data", "inputs") + ((key,) if key else ())
    return InputsError(Problem(message, node=input_id), path)


def resolve_columns(spec: list[str] | str, columns: Sequence[str], input_id: str = "") -> list[int]:
    """Indices into `columns` of a spec: names and `first..last` ranges (inclusive, in header order)."""
    items = [spec] if isinstance(spec, str) else list(spec)
    out: list[int] = []
    index = {c: i for i, c in enumerate(columns)}
    where = f"inputs.{input_id}" if input_id else "inputs"
    for item in items:
        if item not in index and RANGE in item:
            first, _, last = (s.strip() for s in item.partition(RANGE))
            for end in (first, last):
                if end not in index:
                    raise _fail(f"{where}: range {item}: no column '{end}'{did_you_mean(end, columns)}",
                                input_id or None, input_id or None)
            a, b = index[first], index[last]
            if a > b:
                raise _fail(f"{where}: range {item} runs backwards: '{first}' comes after '{last}' in the header",
                            input_id or None, input_id or None)
            out += range(a, b + 1)
        elif item in index:
            out.append(index[item])
        else:
            raise _fail(f"{where}: no column '{item}'{did_you_mean(item, columns)}", input_id or None,
                        input_id or None)
    return out


def split_columns(raw: RawData, mapping: dict[str, Any], input_ids: list[str]) -> list[InputPart]:
    """Cuts raw.x ([N, F] with raw.columns) into one array per Input (in `input_ids` order), in place."""
    columns = raw.columns
    if columns is None or raw.x is None or isinstance(raw.x, tuple):
        raise _fail("data.inputs maps columns of a CSV file or a tabular built-in set, or arrays of an NPZ file; "
                    "this source gives one array: remove data.inputs and use one Input", None)
    used: dict[int, str] = {}
    parts: list[InputPart] = []
    picks: list[list[int]] = []
    for input_id in input_ids:
        idx = resolve_columns(mapping[input_id], columns, input_id)
        for i in idx:
            if i in used:
                other = used[i]
                also = "twice" if other == input_id else f"by both {other} and {input_id}"
                raise _fail(f"inputs.{input_id}: column '{columns[i]}' is used {also}; every column goes to exactly "
                            f"one Input", input_id, input_id)
            used[i] = input_id
        picks.append(idx)
        parts.append(InputPart(input_id, [columns[i] for i in idx], (len(idx),), index=list(idx)))
    unused = [c for i, c in enumerate(columns) if i not in used]
    if unused:
        more = f" and {len(unused) - 3} more" if len(unused) > 3 else ""
        raise _fail(f"data.inputs leaves column(s) {', '.join(repr(c) for c in unused[:3])}{more} unused; map every "
                    f"column but the target to an Input", None)
    raw.x = tuple(raw.x[:, idx] for idx in picks)
    raw.parts = {name: (tuple(x[:, idx] for idx in picks), y) for name, (x, y) in raw.parts.items()}
    return parts


def npz_parts(arrays: dict[str, np.ndarray], mapping: dict[str, Any], input_ids: list[str], file: str,
              ) -> tuple[tuple[np.ndarray, ...], dict[str, tuple[np.ndarray, ...]], list[InputPart]]:
    """(train arrays, held-out split arrays {"val": (...), "test": (...)}, parts) of an NPZ file mapped by name."""
    targets = {"y", "y_val", "y_test"}
    names = [k for k in arrays if k not in targets]
    used: dict[str, str] = {}
    parts: list[InputPart] = []
    for input_id in input_ids:
        spec = mapping[input_id]
        if not isinstance(spec, str):
            raise _fail(f"inputs.{input_id}: an NPZ file maps each Input to one array name, got {spec}", input_id,
                        input_id)
        if spec not in arrays or spec in targets:
            raise _fail(f"inputs.{input_id}: {file} has no array '{spec}'{did_you_mean(spec, names)}; arrays: "
                        f"{', '.join(names) or 'none'}", input_id, input_id)
        if spec in used:
            raise _fail(f"inputs.{input_id}: array '{spec}' is used by both {used[spec]} and {input_id}; every array "
                        f"goes to exactly one Input", input_id, input_id)
        used[spec] = input_id
        x = arrays[spec]
        if x.dtype.kind not in "biuf" or x.ndim < 2:
            raise _fail(f"inputs.{input_id}: array '{spec}' must hold numbers shaped [N, ...], got {x.dtype} "
                        f"{list(x.shape)}", input_id, input_id)
        if len(x) != len(arrays["y"]):
            raise _fail(f"inputs.{input_id}: array '{spec}' has {len(x)} samples but 'y' has {len(arrays['y'])}",
                        input_id, input_id)
        parts.append(InputPart(input_id, [spec], tuple(int(s) for s in x.shape[1:]), "array"))
    held: dict[str, tuple[np.ndarray, ...]] = {}
    for split in ("val", "test"):
        if f"y_{split}" not in arrays:
            continue
        split_arrays = []
        for part in parts:
            name = f"{part.names[0]}_{split}"
            if name not in arrays:
                raise _fail(f"inputs.{part.input_id}: {file} has 'y_{split}' but no '{name}' beside "
                            f"'{part.names[0]}'", part.input_id, part.input_id)
            x = arrays[name]
            if tuple(x.shape[1:]) != part.shape or len(x) != len(arrays[f"y_{split}"]):
                raise _fail(f"inputs.{part.input_id}: '{name}' is shaped {list(x.shape)}; it needs "
                            f"{len(arrays[f'y_{split}'])} samples shaped {list(part.shape)}", part.input_id,
                            part.input_id)
            used[name] = part.input_id
        held[split] = tuple(arrays[f"{p.names[0]}_{split}"] for p in parts)
    unused = [n for n in names if n not in used]
    if unused:
        raise _fail(f"data.inputs leaves array(s) {', '.join(repr(n) for n in unused)} of {file} unused; map every "
                    f"array but y to an Input", None)
    return tuple(arrays[p.names[0]] for p in parts), held, parts


def check_input_shapes(shapes: dict[str, Sequence[int]], parts: list[InputPart]) -> list[Problem]:
    """A problem (naming the Input, its part and both shapes) per Input whose shape differs from its part's."""
    problems = []
    for part in parts:
        want = tuple(int(s) for s in shapes[part.input_id])
        if want == part.shape:
            continue
        what = f"array '{part.names[0]}'" if part.kind == "array" else f"{len(part.names)} column(s)"
        fix = f"set {part.input_id}'s shape to {list(part.shape)}"
        if int(np.prod(want)) == int(np.prod(part.shape)):
            fix += f" (a Reshape to {list(want)} after it keeps the rest of the graph)"
        problems.append(Problem(f"Input shape {list(want)} does not match its part of a sample, {what} shaped "
                                f"{list(part.shape)}; {fix}", node=part.input_id))
    return problems


def part_choices(cfg: Any, base_dir: Path | str) -> PartChoices:
    """The columns (CSV, tabular built-in sets) or NPZ arrays a source offers; DataError when unreadable.
    Reads the whole file (the app calls it in the background)."""
    from .loader import read_source
    kind = cfg.source.partition(":")[0]
    if kind == "npz":
        from .npz_source import read_arrays
        path = Path(cfg.source.partition(":")[2]).expanduser()
        arrays = read_arrays(path if path.is_absolute() else Path(base_dir) / path)
        return PartChoices("arrays", {k: tuple(int(s) for s in v.shape[1:]) for k, v in arrays.items()
                                      if not k.startswith("y") and not k.endswith(("_val", "_test")) and v.ndim >= 1})
    raw = read_source(cfg, Path(base_dir), cfg.task)
    if raw.columns is None:
        return PartChoices("arrays", {"x": tuple(raw.sample_shape or raw.x.shape[1:])})
    return PartChoices("columns", {c: (1,) for c in raw.columns}, cfg.target if kind == "csv" else None)


__all__ = ["InputPart", "InputsError", "PartChoices", "resolve_columns", "split_columns", "npz_parts",
           "check_input_shapes", "part_choices"]
