"""Export a standalone training script: the network, the graph's data and its training loop in one file.

The script needs torch and numpy (and scikit-learn to load a `builtin:` set or to
split the data, with the same seeded, stratified split as NodeTrainer). It holds
only what the graph uses: its loss, metrics, optimizer, schedule, precision,
penalties, clipping and early stopping; `main()` takes `--epochs`, `--device` and
`--output`. `python OUT` trains on one process; `torchrun --nproc-per-node N OUT`
trains with DistributedDataParallel (NCCL on CUDA, gloo on the CPU), each
process its part of every global batch of the same seeded permutation, as
`nodetrainer train --nproc-per-node N` does.

Checked before it is written: the script's own `load_data()` runs here and must
give the splits NodeTrainer loads (features to 1e-5, the same targets), and its
network class, given the graph's weights, the same outputs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..errors import Problem
from ..settings import TrainingConfig
from .result import ExportRefused, ExportResult, as_list, max_abs_diff, tolerance, write_all
from .source import ExportSource

SOURCES = ("builtin", "csv", "npz")


def script_export(source: ExportSource, out: Path) -> ExportResult:
    text, data_diff, net_diff = _checked(source, out)
    written = write_all([(out, text.encode("utf-8"))])
    lines = [f"wrote {out}: python {out.name} trains on one process, "
             f"torchrun --nproc-per-node N {out.name} on N (DDP)",
             f"checked: the script's data equals NodeTrainer's (max abs difference {data_diff:.3g}), "
             f"its network's outputs differ by {net_diff:.3g}"]
    return ExportResult("script", written, net_diff, lines=lines)


def script_source(source: ExportSource, out: Path | None = None) -> str:
    """The script's text, checked as a written one is (for standard output)."""
    return _checked(source, out or Path.cwd() / "train.py")[0]


def _checked(source: ExportSource, out: Path) -> tuple[str, float, float]:
    from ..errors import DataError
    from ..training.run import load_graph_data

    graph = source.graph
    _refuse_unsupported(source)
    config = graph.training_config()
    base = _data_dir(source)
    try:
        dataset = load_graph_data(graph, base, config)
    except DataError as exc:
        raise ExportRefused([p if p.file else p.located(_file(source)) for p in exc.problems]) from None
    text = generate_script(source, dataset, out)
    module = _load(text, out)
    got = module.load_data()
    data_diff = 0.0
    for name in ("train", "val", "test"):
        split = getattr(dataset, name)
        mine = got.get(name)
        if (split is None or not len(split)) != (mine is None):
            raise ExportRefused(Problem(f"the script's {name} split differs from NodeTrainer's; nothing was written",
                                        _file(source)))
        if split is None or not len(split):
            continue
        if not torch.equal(mine[1], split.y):
            raise ExportRefused(Problem(f"the script's {name} targets differ from NodeTrainer's; nothing was "
                                        "written", _file(source)))
        data_diff = max(data_diff, max_abs_diff(list(mine[0]) if isinstance(mine[0], tuple) else [mine[0]],
                                                list(split.xs)))
    largest = max((float(p.abs().max()) for p in dataset.train.xs if p.numel()), default=1.0)
    if not data_diff <= 1e-5 * max(1.0, largest):
        raise ExportRefused(Problem(f"the script's features differ from NodeTrainer's by {data_diff:.3g}; "
                                    "nothing was written", _file(source)))
    reference = source.reference()
    net = getattr(module, source.generated().class_name)()
    net.load_state_dict(reference.state_dict())
    net.eval()
    x = tuple(p[:8] for p in dataset.train.xs)
    with torch.no_grad():
        got_out, want = as_list(net(*x)), as_list(reference(*x))
    net_diff = max_abs_diff(got_out, want)
    if not net_diff <= tolerance(want):
        raise ExportRefused(Problem(f"the script's network differs from the graph's by {net_diff:.3g}; nothing "
                                    "was written", _file(source)))
    return text, data_diff, net_diff


def _load(text: str, out: Path) -> Any:
    """The script as a module (its main() not run)."""
    import types
    module = types.ModuleType("nodetrainer_script_check")
    module.__file__ = str(out.resolve())
    exec(compile(text, str(out), "exec", dont_inherit=True), module.__dict__)  # noqa: S102 - our own generator
    return module


def _refuse_unsupported(source: ExportSource) -> None:
    graph = source.graph
    if graph.data is None:
        raise ExportRefused(Problem("a training script needs the graph's data section (data.source)", _file(source)))
    kind = graph.data_config().source.partition(":")[0]
    if kind not in SOURCES:
        raise ExportRefused(Problem(f"a training script reads builtin:, csv: and npz: sources; {kind}: folders "
                                    "are not supported yet (train with nodetrainer train)", _file(source),
                                    graph.line_of("data", "source")))
    inputs = graph.input_ids()
    if len(inputs) != 1 and not graph.data_config().inputs:
        raise ExportRefused(Problem(f"a training script feeds one data set into one Input, but the graph has "
                                    f"{len(inputs)} Inputs ({', '.join(inputs)}) and no data.inputs",
                                    _file(source)))


def _data_dir(source: ExportSource) -> Path:
    if source.from_run and source.checkpoint.get("data_dir"):
        return Path(source.checkpoint["data_dir"])
    graph = source.graph
    return (graph.path.parent if graph.path else Path.cwd()).resolve()


def _file(source: ExportSource) -> str:
    return str(source.graph.path or source.path)


# -- the script ------------------------------------------------------------------------------
def generate_script(source: ExportSource, dataset: Any, out: Path) -> str:
    """The training script's text for `source` (whose data `dataset` is, as NodeTrainer loads it)."""
    graph = source.graph
    cfg: TrainingConfig = graph.training_config()
    data = graph.data_config()
    generated = source.generated() if not source.from_run else _plain(source)
    task = dataset.task
    outputs = graph.output_ids()
    output_index = outputs.index(cfg.output) if cfg.output and len(outputs) > 1 else (0 if len(outputs) > 1 else None)
    width = _output_width(graph, cfg)
    w = _Writer()
    cls = generated.class_name
    name = graph.name
    stem = out.stem
    w.lines(_header(name, graph, out, data.source))
    w.lines(_imports(data, cfg))
    w.lines(_constants(graph, cfg, data, dataset, stem, out))
    w.blank(2)
    w.text(generated.class_source.rstrip("\n"))
    w.blank(2)
    w.lines(_data_code(data, dataset, graph, out, source))
    w.lines(_loss_code(cfg, task, width))
    w.lines(_metric_code(cfg, task, width, dataset))
    w.lines(_schedule_code(cfg))
    if cfg.regularization.active:
        w.lines(_penalty_code(cfg))
    w.lines(_helpers(cfg, graph, output_index))
    w.lines(_main_code(cfg, cls, graph, task))
    return w.done()


class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = []

    def lines(self, lines: list[str]) -> None:
        self.out += lines

    def text(self, text: str) -> None:
        self.out += text.split("\n")

    def blank(self, n: int = 1) -> None:
        self.out += [""] * n

    def done(self) -> str:
        text = "\n".join(self.out).rstrip("\n") + "\n"
        while "\n\n\n\n" in text:
            text = text.replace("\n\n\n\n", "\n\n\n")
        return text


def _plain(source: ExportSource) -> Any:
    """The module without a run's normalization buffers: the script normalizes its data itself."""
    from ..codegen import generate
    return generate(source.graph)


def _output_width(graph: Any, cfg: TrainingConfig) -> int:
    from ..validate import check_graph
    shapes = check_graph(graph).shapes.shapes
    output = cfg.output or graph.output_ids()[0]
    shape = tuple(shapes.get(output, ()))
    return int(shape[-1]) if shape else 1


def _header(name: str, graph: Any, out: Path, data_source: str) -> list[str]:
    where = f" from {graph.path.name}" if graph.path else ""
    needs = ("torch, numpy and scikit-learn" if data_source.startswith("builtin:") else
             "torch and numpy (and scikit-learn to split the data)")
    return ['"""' + f"Train {name}: its network, data and training loop in one file.", "",
            f"Generated by NodeTrainer{where}. Needs {needs}.", "",
            f"    python {out.name}                         # one process",
            f"    torchrun --nproc-per-node 2 {out.name}    # DDP: NCCL on CUDA, gloo on the CPU",
            '"""', ""]


def _imports(data: Any, cfg: TrainingConfig) -> list[str]:
    lines = ["import argparse"]
    if data.source.startswith("csv:"):
        lines.append("import csv")
    lines += ["import json", "import math", "import os", "import time"]
    if cfg.precision not in ("fp16", "bf16"):
        lines.append("from contextlib import nullcontext")
    lines += ["", "import numpy as np", "import torch",
              "import torch.distributed as dist", "import torch.nn.functional as F", "from torch import nn",
              "from torch.nn.parallel import DistributedDataParallel"]
    return lines


def _constants(graph: Any, cfg: TrainingConfig, data: Any, dataset: Any, stem: str, out: Path) -> list[str]:
    lines = ["", f"EPOCHS = {cfg.epochs}", f"BATCH_SIZE = {cfg.batch_size}  # the global batch: the processes share it",
             f"LR = {cfg.optimizer.lr!r}",
             f"EVAL_BATCH = {cfg.batch_size * 4}", f"SEED = {cfg.seed}", f'DEVICE = "{cfg.device}"',
             f'OUTPUT = "{stem}-run"  # best.pt (the kept weights), last.pt, metrics.csv, summary.json']
    return lines


# -- data -------------------------------------------------------------------------------------
def _data_code(data: Any, dataset: Any, graph: Any, out: Path, source: ExportSource) -> list[str]:
    if dataset.inputs:
        return _data_code_parts(data, dataset, graph, out, source)
    kind, _, location = data.source.partition(":")
    split = data.split
    input_id = graph.input_ids()[0]
    int_input = str(graph.nodes[input_id].resolved().get("dtype", "float32")) == "int64"
    task = dataset.task
    lines = ["def load_data():"]
    desc = (f"{data.source}: split val {split.val}, test {split.test} (seed {split.seed})"
            + ("" if int_input else f", {data.normalize} normalization fitted on the training split"))
    lines += [f'    """{desc}.', "", '    Returns {split: (x, y)} as CPU tensors.', '    """']
    parts = False
    if kind == "builtin":
        lines += _builtin_lines(location, data)
    elif kind == "csv":
        path = _relative_path(location, source, out)
        lines += [f"    x, y = read_csv(os.path.join(os.path.dirname(os.path.abspath(__file__)), {path!r}), "
                  f"{data.target!r})"]
    else:
        path = _relative_path(location, source, out)
        lines += [f"    arrays = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), {path!r}))",
                  '    x, y = arrays["x"], arrays["y"]']
        parts = True
    if task == "classification":
        lines.append("    y = class_indices(y)" if not parts else
                     "    names = class_names([y] + [arrays[k] for k in (\"y_val\", \"y_test\") if k in arrays])")
        if parts:
            lines.append("    y = class_indices(y, names)")
    else:
        lines.append("    y = np.asarray(y, dtype=np.float32).reshape(len(y), -1)")
    lines.append("    x = np.asarray(x, dtype=np.int64)" if int_input else "    x = np.asarray(x, dtype=np.float32)")
    if task == "classification":
        lines.append(f"    train, val, test = split_indices(len(y), {_fractions(split, parts)}, {split.seed}, y)")
    else:
        lines.append(f"    train, val, test = split_indices(len(y), {_fractions(split, parts)}, {split.seed})")
    lines.append("    splits = {\"train\": (x[train], y[train])}")
    lines += ["    for name, idx in ((\"val\", val), (\"test\", test)):",
              "        if idx is not None:",
              "            splits[name] = (x[idx], y[idx])"]
    if parts:
        conv = ("class_indices(arrays[f'y_{name}'], names)" if task == "classification"
                else "np.asarray(arrays[f'y_{name}'], dtype=np.float32).reshape(len(arrays[f'y_{name}']), -1)")
        xdt = "np.int64" if int_input else "np.float32"
        lines += ["    for name in (\"val\", \"test\"):  # arrays in the file replace the fractions",
                  "        if f\"x_{name}\" in arrays:",
                  f"            splits[name] = (np.asarray(arrays[f'x_{{name}}'], dtype={xdt}), {conv})"]
    if not int_input and data.normalize != "none":
        lines += [f"    shift, scale = {data.normalize}_statistics(splits[\"train\"][0])",
                  "    splits = {name: ((xs - shift) / scale, ys) for name, (xs, ys) in splits.items()}"]
    lines += ["    return {name: (torch.from_numpy(np.ascontiguousarray(xs)), torch.from_numpy(ys))",
              "            for name, (xs, ys) in splits.items()}", "", ""]
    if kind == "builtin" and location in ("spirals", "xor"):
        lines += _synthetic_lines(location)
    if kind == "csv":
        lines += _csv_lines(dataset.task)
    if task == "classification":
        lines += _class_lines(kind)
    lines += _split_lines()
    if not int_input and data.normalize != "none":
        lines += _normalize_lines(data.normalize)
    return lines


def _fractions(split: Any, npz: bool) -> str:
    """The val and test fractions as the script passes them: an NPZ file's own y_val / y_test replace them."""
    if not npz:
        return f"{split.val!r}, {split.test!r}"
    return f'0.0 if "y_val" in arrays else {split.val!r}, 0.0 if "y_test" in arrays else {split.test!r}'


def _data_code_parts(data: Any, dataset: Any, graph: Any, out: Path, source: ExportSource) -> list[str]:
    """load_data for several Inputs (data.inputs): x is a tuple, one array per Input in the graph's order."""
    kind, _, location = data.source.partition(":")
    split = data.split
    parts = dataset.inputs
    ids = [p.input_id for p in parts]
    ints = [str(graph.nodes[i].resolved().get("dtype", "float32")) == "int64" for i in ids]
    dtypes = "(" + ", ".join("np.int64" if i else "np.float32" for i in ints) + ",)"
    task = dataset.task
    npz = kind == "npz"
    lines = ["def load_data():",
             f'    """{data.source}: split val {split.val}, test {split.test} (seed {split.seed})'
             + ("" if data.normalize == "none" else f", {data.normalize} normalization of each Input fitted on the "
                                                    "training split") + ".", "",
             f"    Returns {{split: (x, y)}} as CPU tensors; x is a tuple, one tensor per Input: {', '.join(ids)}.",
             '    """']
    if kind == "builtin":
        lines += _builtin_lines(location, data)
    elif kind == "csv":
        path = _relative_path(location, source, out)
        lines += [f"    x, y = read_csv(os.path.join(os.path.dirname(os.path.abspath(__file__)), {path!r}), "
                  f"{data.target!r})"]
    if npz:
        path = _relative_path(location, source, out)
        names = [p.names[0] for p in parts]
        lines += [f"    arrays = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), {path!r}))",
                  f"    x, y = tuple(arrays[name] for name in {names!r}), arrays[\"y\"]"]
    else:
        lines.append(f"    x = tuple(x[:, columns] for columns in {[p.index for p in parts]!r})  # {', '.join(ids)}")
    if task == "classification":
        if npz:
            lines += ["    names = class_names([y] + [arrays[k] for k in (\"y_val\", \"y_test\") if k in arrays])",
                      "    y = class_indices(y, names)"]
        else:
            lines.append("    y = class_indices(y)")
    else:
        lines.append("    y = np.asarray(y, dtype=np.float32).reshape(len(y), -1)")
    lines.append(f"    x = tuple(np.asarray(p, dtype=t) for p, t in zip(x, {dtypes}))")
    stratify = ", y" if task == "classification" else ""
    lines += [f"    train, val, test = split_indices(len(y), {_fractions(split, npz)}, {split.seed}{stratify})",
              "    splits = {\"train\": (tuple(p[train] for p in x), y[train])}",
              "    for name, idx in ((\"val\", val), (\"test\", test)):",
              "        if idx is not None:",
              "            splits[name] = (tuple(p[idx] for p in x), y[idx])"]
    if npz:
        conv = ("class_indices(arrays[f'y_{name}'], names)" if task == "classification"
                else "np.asarray(arrays[f'y_{name}'], dtype=np.float32).reshape(len(arrays[f'y_{name}']), -1)")
        lines += ["    for name in (\"val\", \"test\"):  # arrays in the file replace the fractions",
                  "        if f\"y_{name}\" in arrays:",
                  f"            held = tuple(np.asarray(arrays[f'{{n}}_{{name}}'], dtype=t) for n, t in "
                  f"zip({[p.names[0] for p in parts]!r}, {dtypes}))",
                  f"            splits[name] = (held, {conv})"]
    floats = [k for k, i in enumerate(ints) if not i]
    if data.normalize != "none" and floats:
        lines += [f"    for k in {floats!r}:  # each Input's own statistics, from the training split",
                  f"        shift, scale = {data.normalize}_statistics(splits[\"train\"][0][k])",
                  "        splits = {name: (tuple((p - shift) / scale if i == k else p for i, p in enumerate(xs)), ys)",
                  "                  for name, (xs, ys) in splits.items()}"]
    lines += ["    return {name: (tuple(torch.from_numpy(np.ascontiguousarray(p)) for p in xs), torch.from_numpy(ys))",
              "            for name, (xs, ys) in splits.items()}", "", ""]
    if kind == "builtin" and location in ("spirals", "xor"):
        lines += _synthetic_lines(location)
    if kind == "csv":
        lines += _csv_lines(task)
    if task == "classification":
        lines += _class_lines(kind)
    lines += _split_lines()
    if data.normalize != "none" and floats:
        lines += _normalize_lines(data.normalize)
    return lines


def _relative_path(location: str, source: ExportSource, out: Path) -> str:
    path = Path(location).expanduser()
    if not path.is_absolute():
        path = _data_dir(source) / path
    try:
        return os.path.relpath(path.resolve(), out.resolve().parent)
    except ValueError:  # another drive (Windows)
        return str(path.resolve())


def _builtin_lines(name: str, data: Any) -> list[str]:
    if name in ("moons", "circles"):
        extra = ", factor=0.5" if name == "circles" else ""
        return ["    from sklearn import datasets", "",
                f"    x, y = datasets.make_{name}(n_samples={data.n_samples}, noise={data.noise!r}{extra}, "
                f"random_state={data.split.seed})"]
    if name in ("spirals", "xor"):
        return [f"    x, y = make_{name}({data.n_samples}, {data.noise!r}, {data.split.seed})"]
    loader = {"digits": "load_digits", "iris": "load_iris", "wine": "load_wine",
              "breast_cancer": "load_breast_cancer", "diabetes": "load_diabetes"}[name]
    lines = ["    from sklearn import datasets", "", f"    bunch = datasets.{loader}()"]
    if name == "digits":
        lines.append("    x, y = bunch.data.reshape(-1, 1, 8, 8), bunch.target  # 8x8 grey images")
    else:
        lines.append("    x, y = bunch.data, bunch.target")
    return lines


def _synthetic_lines(name: str) -> list[str]:
    if name == "spirals":
        return ["def make_spirals(n_samples, noise, seed):",
                '    """Two interleaved spirals of 1.5 turns each, radius up to 1, plus Gaussian noise."""',
                "    rng = np.random.default_rng(seed)",
                "    y = np.arange(n_samples) % 2",
                "    t = np.sqrt(rng.random(n_samples)) * 3 * np.pi",
                "    r = t / (3 * np.pi)",
                "    angle = t + np.pi * y",
                "    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1) + rng.normal(0.0, noise, "
                "(n_samples, 2))",
                "    perm = rng.permutation(n_samples)",
                "    return x[perm], y[perm]", "", ""]
    return ["def make_xor(n_samples, noise, seed):",
            '    """Four Gaussian blobs centred at (+-1, +-1); a blob\'s class is the XOR of its centre\'s signs."""',
            "    rng = np.random.default_rng(seed)",
            "    blob = np.arange(n_samples) % 4",
            "    centres = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])",
            "    x = centres[blob] + rng.normal(0.0, noise, (n_samples, 2))",
            "    y = ((centres[blob, 0] > 0) ^ (centres[blob, 1] > 0)).astype(np.int64)",
            "    perm = rng.permutation(n_samples)",
            "    return x[perm], y[perm]", "", ""]


def _csv_lines(task: str) -> list[str]:
    target = ("    return x, np.char.strip(cells[:, column].astype(str))" if task == "classification" else
              "    return x, cells[:, column].astype(np.float64)")
    return ["def read_csv(path, target):",
            '    """Features (every column but `target`) and the target column of a CSV file with a header."""',
            '    with open(path, newline="", encoding="utf-8-sig") as f:',
            "        first = f.readline()",
            "        f.seek(0)",
            '        delimiter = max(",;\\t", key=first.count) if any(d in first for d in ",;\\t") else ","',
            '        if path.lower().endswith(".tsv"):',
            '            delimiter = "\\t"',
            "        rows = [row for row in csv.reader(f, delimiter=delimiter) if row and (len(row) > 1 or "
            "row[0].strip())]",
            "    header = [name.strip() for name in rows[0]]",
            "    cells = np.array(rows[1:], dtype=object)",
            "    column = header.index(target)",
            "    x = cells[:, [i for i in range(len(header)) if i != column]].astype(np.float64)",
            target, "", ""]


def _class_lines(kind: str) -> list[str]:
    if kind == "npz":
        return ["def class_names(labels):",
                '    """The sorted class labels of every array (numbers by value, else as text)."""',
                "    every = np.concatenate([np.asarray(y).reshape(-1) for y in labels])",
                '    if every.dtype.kind in "US":',
                "        every = np.char.strip(every.astype(str))",
                "    classes = np.unique(every)",
                "    try:",
                "        return classes[np.lexsort((classes.astype(str), classes.astype(np.float64)))]",
                "    except ValueError:",
                "        return classes", "", "",
                "def class_indices(labels, names):",
                '    """Each label\'s index in `names`."""',
                "    labels = np.asarray(labels).reshape(-1)",
                '    if labels.dtype.kind in "US":',
                "        labels = np.char.strip(labels.astype(str))",
                "    order = np.argsort(names)",
                "    return order[np.searchsorted(names, labels, sorter=order)].astype(np.int64)", "", ""]
    return ["def class_indices(labels):",
            '    """Class indices 0..C-1 in the order of the sorted labels (numbers by value, else as text)."""',
            "    labels = np.asarray(labels).reshape(-1)",
            "    classes, inverse = np.unique(labels, return_inverse=True)",
            "    try:",
            "        order = np.lexsort((classes.astype(str), classes.astype(np.float64)))",
            "    except ValueError:",
            "        return inverse.astype(np.int64)",
            "    rank = np.empty_like(order)",
            "    rank[order] = np.arange(len(order))",
            "    return rank[inverse].astype(np.int64)", "", ""]


def _split_lines() -> list[str]:
    return ["def split_indices(n, val, test, seed, labels=None):",
            '    """Sorted train, val and test indices (None for a fraction of 0), stratified by class where it can',
            '    be: the same split as NodeTrainer\'s."""',
            "    rest, val_idx, test_idx = np.arange(n), None, None",
            "    if test > 0:",
            "        rest, test_idx = hold_out(rest, test, seed, labels)",
            "    if val > 0:",
            "        rest, val_idx = hold_out(rest, val / (1.0 - test), seed, labels)",
            "    val_idx = None if val_idx is None else np.sort(val_idx)",
            "    test_idx = None if test_idx is None else np.sort(test_idx)",
            "    return np.sort(rest), val_idx, test_idx", "", "",
            "def hold_out(idx, fraction, seed, labels):",
            "    from sklearn.model_selection import train_test_split", "",
            "    if labels is not None:",
            "        try:",
            "            return train_test_split(idx, test_size=fraction, random_state=seed, stratify=labels[idx])",
            "        except ValueError:",
            "            pass  # a class too small to stratify",
            "    return train_test_split(idx, test_size=fraction, random_state=seed)", "", ""]


def _normalize_lines(mode: str) -> list[str]:
    if mode == "standard":
        return ["def standard_statistics(x):",
                '    """Mean and standard deviation per feature (1 for a constant feature), in float64."""',
                "    x = x.astype(np.float64)",
                "    mean = x.mean(0)",
                "    std = np.sqrt(((x - mean) ** 2).mean(0))",
                "    constant = (std == 0) | (std <= 1e-7 * np.abs(mean))",
                "    return mean.astype(np.float32), np.where(constant, 1.0, std).astype(np.float32)", "", ""]
    return ["def minmax_statistics(x):",
            '    """Minimum and range per feature (1 for a constant feature): features scaled to [0, 1]."""',
            "    low, high = x.min(0).astype(np.float64), x.max(0).astype(np.float64)",
            "    span = high - low",
            "    return low.astype(np.float32), np.where(span > 0, span, 1.0).astype(np.float32)", "", ""]


# -- loss and metrics -------------------------------------------------------------------------
def _loss_code(cfg: TrainingConfig, task: str, width: int) -> list[str]:
    loss = cfg.loss
    doc = f'    """The {loss} loss of a batch (mean over its samples)."""'
    if loss == "cross_entropy":
        smoothing = f", label_smoothing={cfg.label_smoothing!r}" if cfg.label_smoothing else ""
        body = [f"    return F.cross_entropy(out, y{smoothing})"]
    elif loss == "nll":
        body = ["    return F.nll_loss(out, y)"]
    elif loss == "bce_with_logits":
        body = (["    out = out.reshape(-1)", "    return F.binary_cross_entropy_with_logits(out, y.to(out.dtype))"]
                if width == 1 else
                ["    return F.binary_cross_entropy_with_logits(out, F.one_hot(y, out.shape[-1]).to(out.dtype))"])
    elif loss in ("mse", "l1", "huber"):
        fn = {"mse": "mse_loss", "l1": "l1_loss", "huber": "huber_loss"}[loss]
        body = [f"    return F.{fn}(out.float(), y.reshape(out.shape))"]
    else:
        body = ["    log_p = F.log_softmax(out.float(), dim=-1)",
                "    return F.kl_div(log_p, F.one_hot(y, out.shape[-1]).to(log_p.dtype), reduction=\"batchmean\")"]
    return ["def loss_fn(out, y):", doc] + body + ["", ""]


def _metric_code(cfg: TrainingConfig, task: str, width: int, dataset: Any) -> list[str]:
    names = [m for m in cfg.metric_names(task)
             if m in (("accuracy", "top5_accuracy", "f1_macro") if task == "classification" else ("mae", "rmse", "r2"))]
    lines = ["def metrics_of(out, y):", f'    """{", ".join(names) or "no metric"} of a whole split\'s outputs."""',
             "    result = {}"]
    single = width == 1
    if task == "classification":
        if {"accuracy", "f1_macro"} & set(names):
            lines.append("    pred = (out.reshape(-1) > 0).long()" if single else "    pred = out.argmax(-1)")
        if "accuracy" in names:
            lines.append('    result["accuracy"] = (pred == y).double().mean().item()')
        if "top5_accuracy" in names:
            lines.append('    result["top5_accuracy"] = 1.0' if single else
                         "    top = out.topk(min(5, out.shape[-1]), dim=-1).indices\n"
                         '    result["top5_accuracy"] = (top == y[:, None]).any(-1).double().mean().item()')
        if "f1_macro" in names:
            classes = dataset.num_classes or (2 if single else width)
            lines += [f"    confusion = torch.bincount(y * {classes} + pred, minlength={classes ** 2})"
                      f".reshape({classes}, {classes}).double()",
                      "    tp = confusion.diag()",
                      "    fp, fn = confusion.sum(0) - tp, confusion.sum(1) - tp",
                      "    present = (tp + fp + fn) > 0  # labels in neither targets nor predictions do not count",
                      '    result["f1_macro"] = (2 * tp / (2 * tp + fp + fn).clamp(min=1))[present].mean().item()']
    else:
        lines += ["    out, y = out.reshape(len(out), -1).double(), y.reshape(len(y), -1).double()", "    err = out - y"]
        if "mae" in names:
            lines.append('    result["mae"] = err.abs().mean().item()')
        if "rmse" in names:
            lines.append('    result["rmse"] = err.square().mean(0).sqrt().mean().item()')
        if "r2" in names:
            lines += ["    total = (y - y.mean(0)).square().sum(0)",
                      '    result["r2"] = (1 - err.square().sum(0) / total.clamp(min=1e-12)).mean().item()']
    return lines + ["    return result", "", ""]


# -- schedule and penalties -----------------------------------------------------------------------
def _schedule_args(cfg: TrainingConfig) -> str:
    """The arguments `learning_rate` takes for this schedule (only what it uses)."""
    s = cfg.scheduler
    args = ["epoch", "step", "steps_per_epoch", "epochs"] if _per_step(cfg) else ["epoch", "epochs"]
    if s.type == "plateau":
        args.append("plateau_scale")
    if s.type in ("none", "step", "exponential", "plateau") and not s.warmup_epochs:
        args.remove("epochs")
    if s.type in ("none", "plateau") and not s.warmup_epochs:
        args.remove("epoch")
    return ", ".join(args)


def _per_step(cfg: TrainingConfig) -> bool:
    return cfg.scheduler.type == "onecycle" or cfg.scheduler.warmup_epochs > 0


def _schedule_code(cfg: TrainingConfig) -> list[str]:
    s = cfg.scheduler
    if s.type == "none" and not s.warmup_epochs:
        return []
    kind, warm = s.type, s.warmup_epochs
    lines = [f"def learning_rate({_schedule_args(cfg)}):"]
    what = "`epoch` epochs and `step` optimizer steps" if _per_step(cfg) else "`epoch` epochs"
    lines.append(f'    """The learning rate after {what}: {_schedule_text(cfg)}."""')
    if warm:
        lines += [f"    warmup = {warm} * steps_per_epoch",
                  "    if step < warmup:  # linear warm-up from a tenth of the rate",
                  f"        return {_main_lr(cfg, '0', '0')} * (0.1 + 0.9 * step / warmup)",
                  f"    epoch, step, epochs = max(0, epoch - {warm}), step - warmup, epochs - {warm}"]
    lines.append(f"    return {_main_lr(cfg, 'epoch', 'step')}")
    if kind == "onecycle":
        lines += ["", "", "def cosine_between(start, end, pct):",
                  "    return end + (start - end) / 2.0 * (math.cos(math.pi * min(1.0, max(0.0, pct))) + 1)"]
    return lines + ["", ""]


def _schedule_text(cfg: TrainingConfig) -> str:
    s = cfg.scheduler
    text = {"none": "constant", "step": f"times {s.gamma if s.gamma is not None else 0.1} every {s.step_size} epochs",
            "exponential": f"times {s.gamma if s.gamma is not None else 0.95} every epoch",
            "cosine": f"cosine down to {s.eta_min}", "plateau": f"times {s.factor} on a plateau of {s.patience} epochs",
            "onecycle": "one cycle"}[s.type]
    return text + (f" after {s.warmup_epochs} warm-up epochs" if s.warmup_epochs else "")


def _main_lr(cfg: TrainingConfig, e: str, st: str) -> str:
    s = cfg.scheduler
    if s.type == "none":
        return "LR"
    if s.type == "step":
        return f"LR * {s.gamma if s.gamma is not None else 0.1!r} ** ({e} // {s.step_size})"
    if s.type == "exponential":
        return f"LR * {s.gamma if s.gamma is not None else 0.95!r} ** {e}"
    if s.type == "cosine":
        cosine = f"(1 + math.cos(math.pi * min({e}, epochs) / max(1, epochs))) / 2"
        return f"LR * {cosine}" if not s.eta_min else f"{s.eta_min!r} + (LR - {s.eta_min!r}) * {cosine}"
    if s.type == "plateau":
        return "LR * plateau_scale"
    peak = repr(s.max_lr) if s.max_lr is not None else "10 * LR"
    return f"one_cycle({peak}, {st}, max(2, epochs * steps_per_epoch))" if st != "0" else f"{peak} / 25.0"


def _penalty_code(cfg: TrainingConfig) -> list[str]:
    r = cfg.regularization
    lines = ["def penalty(net):", '    """The weight penalties of training.regularization (weights of dim >= 2 only)."""',
             "    weights = [p for p in net.parameters() if p.dim() >= 2]", "    total = 0.0"]
    if r.l1:
        lines.append(f"    total = total + {r.l1!r} * sum(w.abs().sum() for w in weights)")
    if r.l2:
        lines.append(f"    total = total + {r.l2!r} * sum(w.square().sum() for w in weights)")
    if r.orthogonal:
        lines += ["    layers = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)",
                  "    for w in (m.weight for m in net.modules() if isinstance(m, layers)):",
                  "        w = w.reshape(w.shape[0], -1)",
                  "        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w",
                  f"        total = total + {r.orthogonal!r} * (gram - torch.eye(len(gram), device=gram.device))"
                  ".square().sum()"]
    return lines + ["    return total", "", ""]


# -- the loop --------------------------------------------------------------------------------
def _helpers(cfg: TrainingConfig, graph: Any, output_index: int | None) -> list[str]:
    lines: list[str] = []
    if cfg.scheduler.type == "onecycle":
        lines += ["def one_cycle(peak, step, total):",
                  '    """PyTorch\'s one-cycle policy: cosine up from peak/25 over 30 % of the steps, then down to '
                  'peak/25e4."""',
                  "    up = max(1.0, 0.3 * total - 1)",
                  "    step = min(step, total - 1)",
                  "    if step <= up:",
                  "        return cosine_between(peak / 25.0, peak, step / up)",
                  "    return cosine_between(peak, peak / 25.0 / 1e4, (step - up) / max(1e-12, total - 1 - up))", "", ""]
    select = f"[{output_index}]" if output_index is not None else ""
    lines += ["def pick_device(name, local_rank, world):",
              '    """auto: this process\'s GPU, else Apple\'s MPS (one process only), else the CPU."""',
              '    if name == "auto":',
              '        if torch.cuda.is_available():',
              '            return torch.device("cuda", local_rank)',
              '        return torch.device("mps" if world == 1 and torch.backends.mps.is_available() else "cpu")',
              '    if name == "cuda":',
              '        return torch.device("cuda", local_rank)',
              "    return torch.device(name)", "", "",
              "def part(size, rank, world):",
              '    """This rank\'s contiguous part [lo, hi) of `size` items."""',
              "    return size * rank // world, size * (rank + 1) // world", "", "",
              "@torch.no_grad()",
              "def evaluate(net, x, y, autocast):",
              '    """Loss and metrics of a whole split (every process evaluates all of it: they agree)."""',
              "    net.eval()",
              "    with autocast():",
              (f"        out = torch.cat([net(*(p[i:i + EVAL_BATCH] for p in x)){select} "
               f"for i in range(0, len(y), EVAL_BATCH)])" if len(graph.input_ids()) > 1 else
               f"        out = torch.cat([net(x[i:i + EVAL_BATCH]){select} for i in range(0, len(x), EVAL_BATCH)])"),
              "        loss = loss_fn(out, y).item()",
              "    net.train()",
              "    return {\"loss\": loss, **metrics_of(out.float(), y)}", "", ""]
    return lines


def _main_code(cfg: TrainingConfig, cls: str, graph: Any, task: str) -> list[str]:
    from ..settings import monitor_maximized
    es = cfg.early_stopping
    opt = cfg.optimizer
    has_bn = any(n.type == "BatchNorm" for n in graph.nodes.values())
    precision = cfg.precision
    monitor = es.monitor if es else None
    lines = ["def main():",
             f'    parser = argparse.ArgumentParser(description="Train {graph.name} (generated by NodeTrainer).")',
             '    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs (default {EPOCHS})")',
             '    parser.add_argument("--device", default=DEVICE, help="auto, cpu, cuda, cuda:N or mps '
             '(default %(default)s)")',
             '    parser.add_argument("--output", default=OUTPUT, help="folder for the weights and metrics '
             '(default %(default)s)")',
             "    args = parser.parse_args()", "",
             '    world = int(os.environ.get("WORLD_SIZE", "1"))  # torchrun sets these',
             '    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))',
             "    device = pick_device(args.device, local_rank, world)",
             "    if world > 1:",
             '        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")',
             "    main_process = rank == 0",
             "    torch.manual_seed(SEED)",
             "    np.random.seed(SEED)"]
    if cfg.deterministic:
        lines.append("    torch.use_deterministic_algorithms(True, warn_only=True)")
    if precision == "tf32":
        lines += ["    torch.backends.cuda.matmul.allow_tf32 = True  # tf32 on CUDA; plain fp32 elsewhere",
                  "    torch.backends.cudnn.allow_tf32 = True"]
    multi = len(graph.input_ids()) > 1
    lines += ["", "    data = load_data()"]
    lines += ([f'    x_train = tuple(t.to(device) for t in data["train"][0])  # {", ".join(graph.input_ids())}',
               '    y_train = data["train"][1].to(device)',
               '    held = {name: (tuple(t.to(device) for t in data[name][0]), data[name][1].to(device))',
               '            for name in ("val", "test") if name in data}'] if multi else
              ['    x_train, y_train = (t.to(device) for t in data["train"])',
               '    held = {name: tuple(t.to(device) for t in data[name]) for name in ("val", "test") if name in data}'])
    lines += [f"    net = {cls}().to(device)",
              "    train_net = net",
              "    if world > 1:  # DDP averages the processes' gradients after each backward pass",
              "        train_net = DistributedDataParallel(net, device_ids=[device.index] if device.type == \"cuda\" "
              "else None)"]
    # optimizer
    kw = {"sgd": f"lr=LR, momentum={opt.momentum!r}" + (", nesterov=True" if opt.nesterov and opt.momentum
                                                                else ""),
          "adagrad": f"lr=LR, eps={opt.eps!r}",
          "rmsprop": f"lr=LR, alpha={opt.alpha!r}, momentum={opt.momentum!r}, eps={opt.eps!r}",
          "adam": f"lr=LR, betas={tuple(opt.betas)!r}, eps={opt.eps!r}" + (", amsgrad=True" if opt.amsgrad else ""),
          "adamw": f"lr=LR, betas={tuple(opt.betas)!r}, eps={opt.eps!r}" + (", amsgrad=True" if opt.amsgrad
                                                                                 else "")}[opt.type]
    cls_name = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}[opt.type]
    if opt.weight_decay:
        lines += ["    decay = [p for p in net.parameters() if p.dim() >= 2]  # weight decay on weights, not biases",
                  "    rest = [p for p in net.parameters() if p.dim() < 2]",
                  f"    groups = [{{\"params\": decay, \"weight_decay\": {opt.weight_decay!r}}}, "
                  "{\"params\": rest, \"weight_decay\": 0.0}]",
                  f"    optimizer = torch.optim.{cls_name}(groups, {kw})"]
    else:
        extra = ", weight_decay=0.0" if opt.type == "adamw" else ""
        lines.append(f"    optimizer = torch.optim.{cls_name}(net.parameters(), {kw}{extra})")
    # precision
    if precision in ("fp16", "bf16"):
        lines += ['    amp_dtype = torch.bfloat16 if device.type == "cpu" else '
                  + ("torch.float16" if precision == "fp16" else "torch.bfloat16")
                  + ("  # fp16 trains in bf16 on the CPU" if precision == "fp16" else ""),
                  "    autocast = lambda: torch.autocast(device.type, dtype=amp_dtype)  # noqa: E731"]
        if precision == "fp16":
            lines.append('    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda")')
    else:
        lines.append("    autocast = nullcontext  # fp32: no mixed precision")
    lines += ["",
              "    n = len(y_train)" if multi else "    n = len(x_train)",
              "    steps = n // BATCH_SIZE + (1 if n % BATCH_SIZE >= 2 * world else 0)  # a last batch too small to "
              "share is dropped",
              "    generator = torch.Generator().manual_seed(SEED)  # the same permutation in every process",
              "    os.makedirs(args.output, exist_ok=True)"]
    # tracking
    if es:
        maximize = es.mode == "max" or (es.mode == "auto" and monitor_maximized(es.monitor))
        lines += [f'    monitor, maximize, patience, min_delta = "{es.monitor}", {maximize}, {es.patience}, '
                  f"{es.min_delta!r}"]
    else:
        lines.append('    monitor, maximize = ("val_loss" if "val" in held else "train_loss"), False  # which epoch\'s '
                     "weights to keep")
    lines += ["    best, best_epoch, bad_epochs, best_state = None, 0, 0, None"]
    if cfg.scheduler.type == "plateau":
        lines.append("    plateau_scale, plateau_best, plateau_bad = 1.0, None, 0")
    per_step = _per_step(cfg)
    names = {"epoch": "epoch - 1", "step": "step_count", "steps_per_epoch": "steps", "epochs": "args.epochs",
             "plateau_scale": "plateau_scale"}
    lr_call = f"learning_rate({', '.join(names[a] for a in _schedule_args(cfg).split(', ') if a)})"
    scheduled = cfg.scheduler.type != "none" or cfg.scheduler.warmup_epochs > 0
    lines += ["    step_count, rows, started = 0, [], time.perf_counter()", "",
              "    for epoch in range(1, args.epochs + 1):"]
    if scheduled and not per_step:
        lines += ["        for group in optimizer.param_groups:",
                  f"            group[\"lr\"] = {lr_call}"]
    lines += ["        order = torch.randperm(n, generator=generator).to(device)",
              "        loss_sum, seen = torch.zeros((), dtype=torch.float64, device=device), 0",
              "        for step in range(steps):",
              "            batch = order[step * BATCH_SIZE:(step + 1) * BATCH_SIZE]",
              "            lo, hi = part(len(batch), rank, world)",
              "            idx = batch[lo:hi]",
              "            xb, yb = tuple(p[idx] for p in x_train), y_train[idx]" if multi else
              "            xb, yb = x_train[idx], y_train[idx]"]
    if per_step:
        lines += ["            for group in optimizer.param_groups:",
                  f"                group[\"lr\"] = {lr_call}"]
    select = ""
    outputs = graph.output_ids()
    if len(outputs) > 1:
        index = outputs.index(cfg.output) if cfg.output else 0
        select = f"[{index}]"
    lines += ["            with autocast():",
              f"                loss = loss_fn(train_net({'*' if multi else ''}xb){select}, yb)"]
    total = "loss"
    if cfg.regularization.active:
        lines.append("            total = loss + penalty(net)")
        total = "total"
    lines += [f"            # each process's part of the batch weighs in by its size: the mean of the processes'",
              "            # gradients (DDP) is the gradient of the whole global batch",
              f"            scaled = {total} * (len(idx) * world / len(batch))",
              "            optimizer.zero_grad(set_to_none=True)"]
    clip = cfg.grad_clip
    if precision == "fp16":
        lines.append("            scaler.scale(scaled).backward()")
        if clip:
            lines.append("            scaler.unscale_(optimizer)")
    else:
        lines.append("            scaled.backward()")
    if clip and clip.max_norm is not None:
        lines.append(f"            torch.nn.utils.clip_grad_norm_(net.parameters(), {clip.max_norm!r})")
    elif clip and clip.max_value is not None:
        lines.append(f"            torch.nn.utils.clip_grad_value_(net.parameters(), {clip.max_value!r})")
    if precision == "fp16":
        lines += ["            scaler.step(optimizer)", "            scaler.update()"]
    else:
        lines.append("            optimizer.step()")
    lines += ["            step_count += 1",
              "            loss_sum += loss.detach().double() * len(idx)  # no wait for the device here",
              "            seen += len(idx)",
              "        totals = torch.stack([loss_sum, torch.tensor(float(seen), dtype=torch.float64, device=device)])",
              "        if world > 1:",
              "            dist.all_reduce(totals)  # every process's sums: the epoch's global loss"]
    if has_bn:
        lines += ["            for buffer in net.buffers():  # rank 0's BatchNorm statistics everywhere",
                  "                dist.broadcast(buffer, 0)"]
    lines += ["        metrics = {\"train_loss\": (totals[0] / totals[1]).item()}",
              "        if \"val\" in held:",
              "            metrics.update({f\"val_{k}\": v for k, v in evaluate(net, *held[\"val\"], autocast).items()})"]
    if monitor and monitor.startswith("train_") and monitor != "train_loss":
        lines.append("        metrics.update({f\"train_{k}\": v for k, v in evaluate(net, x_train, y_train, "
                     "autocast).items() if k != \"loss\"})")
    lines += ["        value = metrics[monitor]",
              "        if not math.isfinite(metrics[\"train_loss\"]) or not math.isfinite(value):",
              "            if main_process:",
              "                print(f\"epoch {epoch}: diverged (non-finite loss); keeping the last finite weights\")",
              "            if best_state is not None:",
              "                net.load_state_dict(best_state)",
              "            break"]
    if es:
        lines += ["        improved = best is None or (value > best + min_delta if maximize else value < best - "
                  "min_delta)"]
    else:
        lines += ["        improved = best is None or (value > best if maximize else value < best)"]
    lines += ["        if improved:",
              "            best, best_epoch, bad_epochs = value, epoch, 0",
              "            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}",
              "        else:",
              "            bad_epochs += 1"]
    if cfg.scheduler.type == "plateau":
        sch = cfg.scheduler
        lines += [f"        if epoch > {sch.warmup_epochs}:  # plateau: PyTorch's relative threshold of 1e-4",
                  "            threshold = 1e-4 * abs(plateau_best) if plateau_best is not None else 0.0",
                  "            if plateau_best is None or (value > plateau_best + threshold if maximize else "
                  "value < plateau_best - threshold):",
                  "                plateau_best, plateau_bad = value, 0",
                  "            else:",
                  "                plateau_bad += 1",
                  f"                if plateau_bad > {sch.patience}:",
                  f"                    plateau_scale, plateau_bad = plateau_scale * {sch.factor!r}, 0"]
    lines += ["        row = {\"epoch\": epoch, **metrics, \"lr\": optimizer.param_groups[0][\"lr\"]}",
              "        rows.append(row)",
              "        if main_process:",
              "            print(\", \".join(f\"{k} {v:.4g}\" for k, v in row.items()), flush=True)",
              "            torch.save({\"model\": net.state_dict(), \"optimizer\": optimizer.state_dict(), "
              "\"epoch\": epoch},",
              "                       os.path.join(args.output, \"last.pt\"))",
              "            if improved:",
              "                torch.save(best_state, os.path.join(args.output, \"best.pt\"))"]
    if es:
        lines += ["        if bad_epochs >= patience:",
                  "            if main_process:",
                  "                print(f\"stopped early: no improvement of {monitor} for {patience} epochs\")",
                  "            break"]
    keep = es.restore_best if es else True
    lines += [""]
    if keep:
        lines += ["    if best_state is not None:  # keep the best epoch's weights",
                  "        net.load_state_dict(best_state)"]
    lines += ["    summary = {\"best_epoch\": best_epoch, \"best\": rows[best_epoch - 1] if best_epoch else None,",
              "               \"seconds\": round(time.perf_counter() - started, 3), \"world_size\": world}",
              "    if \"test\" in held:",
              "        summary[\"test\"] = evaluate(net, *held[\"test\"], autocast)",
              "    if main_process:",
              "        torch.save(net.state_dict(), os.path.join(args.output, \"best.pt\"))  # the kept weights",
              "        with open(os.path.join(args.output, \"metrics.csv\"), \"w\") as f:",
              "            columns = list(rows[0]) if rows else []",
              "            f.write(\",\".join(columns) + \"\\n\")",
              "            f.writelines(\",\".join(repr(row.get(c, \"\")) for c in columns) + \"\\n\" for row in rows)",
              "        with open(os.path.join(args.output, \"summary.json\"), \"w\") as f:",
              "            json.dump(summary, f, indent=2)",
              "        if \"test\" in summary:",
              "            print(\"test:\", \", \".join(f\"{k} {v:.4g}\" for k, v in summary[\"test\"].items()))",
              "        print(f\"weights in {os.path.join(args.output, 'best.pt')}\")",
              "    if world > 1:",
              "        dist.destroy_process_group()", "", "",
              'if __name__ == "__main__":', "    main()"]
    return lines


__all__ = ["script_export", "script_source", "generate_script"]
