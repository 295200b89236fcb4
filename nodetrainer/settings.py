"""The `data`, `training` and `tune` sections of a graph file: schemas and typed configs.

Each section is declared once here as `Param`s (the editor's training panel is
generated from the same declarations). `parse_data`, `parse_training` and
`parse_tune` check a raw mapping strictly and return a typed config plus a list
of errors, each with the key path where it was found so the reader can give the
file line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import did_you_mean, one_of
from .schema import REQUIRED, Param, check_mapping

Path = tuple[str, ...]
Errors = list[tuple[Path, str]]

BUILTIN_SETS = ("digits", "iris", "wine", "breast_cancer", "diabetes", "moons", "circles", "spirals", "xor")
SYNTHETIC_SETS = ("moons", "circles", "spirals", "xor")
SOURCE_KINDS = ("builtin", "csv", "npz", "images")
LOSSES = ("cross_entropy", "nll", "bce_with_logits", "mse", "l1", "huber", "kl_div")
CLASSIFICATION_LOSSES = ("cross_entropy", "nll", "bce_with_logits", "kl_div")
METRICS = ("accuracy", "top5_accuracy", "f1_macro", "mae", "rmse", "r2")
MAXIMIZED_METRICS = ("accuracy", "top5_accuracy", "f1_macro", "r2")
OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam", "adamw")
SCHEDULERS = ("none", "step", "exponential", "cosine", "plateau", "onecycle")
PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
INITS = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "normal", "zeros")
COMPILE_MODES = (False, True, "max-autotune")
DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

# -- data -----------------------------------------------------------------------
DATA_PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("source", "str", REQUIRED, "builtin:NAME, csv:PATH, npz:PATH or images:DIR"),
    Param("target", "str", "target", "CSV: the label column; every other column is a feature"),
    Param("task", "choice", None, "classification or regression (default: from the loss)",
          choices=("classification", "regression")),
    Param("split", "str", None, "fractions held out: {val, test, seed}"),  # checked as a section below
    Param("normalize", "choice", "standard", "feature scaling fitted on the training split",
          choices=("none", "standard", "minmax")),
    Param("image_size", "ints", [32, 32], "images: every image is resized to [height, width]", lo=1, length=2),
    Param("grayscale", "bool", False, "images: one channel instead of three"),
    Param("n_samples", "int", 1000, "synthetic sets: number of samples", lo=10, hi=10_000_000),
    Param("noise", "float", 0.1, "synthetic sets: noise level", lo=0.0, hi=10.0),
    Param("inputs", "str", None, "several Inputs: each Input id mapped to its columns or NPZ array"),  # checked below
    Param("augment", "str", None, "images: random changes to training batches"),  # checked as a section below
]}
DATA_SECTION_KEYS = ("split", "inputs", "augment")  # keys of DATA_PARAMS that hold more than one value
AUGMENT_PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("flip", "bool", False, "mirror half the images left to right"),
    Param("crop", "int", 0, "pad by N pixels, then crop back to the image size at a random place", lo=0, hi=1024),
    Param("rotate", "float", 0.0, "rotate by up to plus or minus this many degrees", lo=0.0, hi=180.0),
    Param("scale", "floats", [1.0, 1.0], "zoom by a factor drawn from [lo, hi]", lo=0.1, hi=10.0, length=2),
    Param("jitter", "float", 0.0, "brightness and contrast change by up to this fraction", lo=0.0, hi=1.0),
    Param("cutout", "int", 0, "zero a square of N pixels at a random place", lo=0, hi=4096),
]}
SPLIT_PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("val", "float", 0.2, "fraction held out for validation", lo=0.0, hi=1.0, hi_open=True),
    Param("test", "float", 0.0, "fraction held out for the final test", lo=0.0, hi=1.0, hi_open=True),
    Param("seed", "int", 0, "seed of the shuffle before splitting", lo=0),
]}


@dataclass
class SplitConfig:
    val: float = 0.2
    test: float = 0.0
    seed: int = 0


@dataclass
class AugmentConfig:
    """data.augment: random changes applied to image training batches (nodetrainer.data.augment)."""
    flip: bool = False
    crop: int = 0
    rotate: float = 0.0
    scale: tuple[float, float] = (1.0, 1.0)
    jitter: float = 0.0
    cutout: int = 0

    @property
    def active(self) -> bool:
        return bool(self.flip or self.crop or self.rotate or self.scale != (1.0, 1.0) or self.jitter or self.cutout)


@dataclass
class DataConfig:
    source: str
    target: str = "target"
    task: str | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    normalize: str = "standard"
    image_size: tuple[int, int] = (32, 32)
    grayscale: bool = False
    n_samples: int = 1000
    noise: float = 0.1
    inputs: dict[str, list[str] | str] | None = None  # Input id -> CSV columns ("a..b" ranges) or NPZ array name
    augment: AugmentConfig | None = None

    @property
    def kind(self) -> str:
        """builtin, csv, npz or images."""
        return self.source.split(":", 1)[0]

    @property
    def location(self) -> str:
        """The builtin set's name or the path after the source kind."""
        return self.source.split(":", 1)[1]


def parse_data(raw: Any, path: Path = ("data",)) -> tuple[DataConfig | None, Errors]:
    errors: Errors = []
    if not isinstance(raw, dict):
        return None, [(path, "'data' must be a group of settings with at least 'source'")]
    values, errs = check_mapping(raw, DATA_PARAMS, "data", skip=DATA_SECTION_KEYS)
    errors += [(path + ((k,) if k else ()), m) for k, m in errs]
    split = SplitConfig()
    if "split" in raw:
        split = SplitConfig(**_section(raw["split"], SPLIT_PARAMS, path + ("split",), "data.split", errors))
        if split.val + split.test >= 1.0:
            errors.append((path + ("split",), f"val + test must leave some training data, got {split.val} + {split.test}"))
    if raw.get("inputs") is not None:
        values["inputs"] = _inputs(raw["inputs"], path + ("inputs",), errors)
    if raw.get("augment") is not None:
        augment = _section(raw["augment"], AUGMENT_PARAMS, path + ("augment",), "data.augment", errors)
        if "scale" in augment:
            lo, hi = augment["scale"]
            augment["scale"] = (float(lo), float(hi))
            if lo > hi:
                errors.append((path + ("augment", "scale"), f"scale must be [lo, hi] with lo <= hi, got [{lo}, {hi}]"))
        values["augment"] = AugmentConfig(**augment)
    src = values.get("source")
    if src is not None:
        kind, _, rest = src.partition(":")
        if kind not in SOURCE_KINDS or not rest:
            errors.append((path + ("source",), f"source must be builtin:NAME, csv:PATH, npz:PATH or images:DIR, got '{src}'{did_you_mean(kind, SOURCE_KINDS)}"))
        elif kind == "builtin" and rest not in BUILTIN_SETS:
            errors.append((path + ("source",), f"unknown built-in set '{rest}'{did_you_mean(rest, BUILTIN_SETS)}; built-in sets: {one_of(BUILTIN_SETS)}"))
        elif kind == "builtin" and rest not in SYNTHETIC_SETS:
            for key in ("n_samples", "noise"):
                if key in values:
                    errors.append((path + (key,), f"'{key}' applies only to the synthetic sets {one_of(SYNTHETIC_SETS)}"))
    if errors or src is None:
        return None, errors
    if "image_size" in values:
        values["image_size"] = tuple(values["image_size"])
    return DataConfig(split=split, **values), errors


# -- training -------------------------------------------------------------------
OPTIMIZER_PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("type", "choice", "adam", "the optimization algorithm", choices=OPTIMIZERS),
    Param("lr", "float", 0.001, "learning rate", lo=0.0, lo_open=True),
    Param("momentum", "float", 0.0, "momentum factor", lo=0.0, hi=1.0, hi_open=True),
    Param("nesterov", "bool", False, "Nesterov momentum (needs momentum > 0)"),
    Param("weight_decay", "float", 0.0, "decoupled (adamw) or L2 (others) weight decay", lo=0.0),
    Param("alpha", "float", 0.99, "RMSProp smoothing constant", lo=0.0, hi=1.0),
    Param("betas", "floats", [0.9, 0.999], "Adam's moment decay rates", lo=0.0, hi=1.0, hi_open=True, length=2),
    Param("eps", "float", 1e-8, "term added to the denominator for stability", lo=0.0, lo_open=True),
    Param("amsgrad", "bool", False, "use the AMSGrad variant"),
]}
OPTIMIZER_KEYS = {
    "sgd": ("type", "lr", "momentum", "nesterov", "weight_decay"),
    "adagrad": ("type", "lr", "weight_decay", "eps"),
    "rmsprop": ("type", "lr", "alpha", "momentum", "weight_decay", "eps"),
    "adam": ("type", "lr", "betas", "eps", "amsgrad", "weight_decay"),
    "adamw": ("type", "lr", "betas", "eps", "amsgrad", "weight_decay"),
}
SCHEDULER_PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("type", "choice", "none", "how the learning rate changes over epochs", choices=SCHEDULERS),
    Param("step_size", "int", 10, "epochs between decays", lo=1),
    Param("gamma", "float", 0.1, "decay factor", lo=0.0, hi=1.0, lo_open=True),
    Param("eta_min", "float", 0.0, "lowest learning rate of the cosine", lo=0.0),
    Param("factor", "float", 0.1, "factor applied when the monitored value plateaus", lo=0.0, hi=1.0, lo_open=True, hi_open=True),
    Param("patience", "int", 10, "epochs without improvement before reducing", lo=0),
    Param("max_lr", "float", None, "peak learning rate of the one-cycle policy (default: 10x lr)", lo=0.0, lo_open=True),
    Param("warmup_epochs", "int", 0, "epochs of linear warm-up from lr/10 before the schedule", lo=0),
]}
SCHEDULER_KEYS = {
    "none": ("type", "warmup_epochs"),
    "step": ("type", "step_size", "gamma", "warmup_epochs"),
    "exponential": ("type", "gamma", "warmup_epochs"),
    "cosine": ("type", "eta_min", "warmup_epochs"),
    "plateau": ("type", "factor", "patience", "warmup_epochs"),
    "onecycle": ("type", "max_lr", "warmup_epochs"),
}
EARLY_STOPPING_PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("monitor", "str", "val_loss", "the value watched: val_loss, train_loss or val_METRIC"),
    Param("mode", "choice", "auto", "min, max, or auto (max for accuracy, f1 and r2)", choices=("auto", "min", "max")),
    Param("patience", "int", 5, "epochs without improvement before stopping", lo=0),
    Param("min_delta", "float", 0.0, "smallest change that counts as an improvement", lo=0.0),
    Param("restore_best", "bool", True, "keep the weights of the best epoch"),
]}
GRAD_CLIP_PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("max_norm", "float", None, "clip the total gradient norm to this", lo=0.0, lo_open=True),
    Param("max_value", "float", None, "clip every gradient value to [-x, x]", lo=0.0, lo_open=True),
]}
REGULARIZATION_PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("l1", "float", 0.0, "L1 penalty on weights (sparsity); with l2: elastic net", lo=0.0),
    Param("l2", "float", 0.0, "L2 penalty on weights", lo=0.0),
    Param("orthogonal", "float", 0.0, "penalty ||W Wᵀ - I||² pushing weight matrices toward orthogonality", lo=0.0),
]}
TRAINING_PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("output", "str", None, "id of the Output node the loss applies to"),
    Param("loss", "choice", "cross_entropy", "the loss minimized", choices=LOSSES),
    Param("label_smoothing", "float", 0.0, "cross entropy only: target smoothing", lo=0.0, hi=1.0, hi_open=True),
    Param("metrics", "str", None, "metrics reported each epoch"),  # list, checked below
    Param("optimizer", "str", None, "optimizer and its parameters"),  # sections, checked below
    Param("scheduler", "str", None, "learning-rate schedule"),
    Param("epochs", "int", 20, "upper bound on epochs", lo=1, hi=1_000_000),
    Param("batch_size", "int", 64, "samples per optimizer step", lo=1, hi=1_000_000),
    Param("precision", "choice", "fp32", "numeric precision of training", choices=PRECISIONS),
    Param("device", "str", "auto", "auto, cpu, cuda, cuda:N or mps"),
    Param("early_stopping", "str", None, "stop when the monitored value stops improving"),
    Param("grad_clip", "str", None, "gradient clipping by norm or by value"),
    Param("regularization", "str", None, "L1, L2 and orthogonality penalties"),
    Param("init", "choice", "default", "weight initialization for layers that set none", choices=INITS),
    Param("seed", "int", 0, "seeds every random source", lo=0),
    Param("deterministic", "bool", False, "use deterministic algorithms (slower, reproducible)"),
    Param("init_from", "str", None, "a weights file (state dict, relative to the graph file) to start from"),
    Param("compile", "choice", False, "torch.compile the network (true, or max-autotune: longer compile, faster "
          "kernels); falls back to eager with a warning where compiling is impossible", choices=COMPILE_MODES),
]}
SECTION_KEYS = ("metrics", "optimizer", "scheduler", "early_stopping", "grad_clip", "regularization")


@dataclass
class OptimizerConfig:
    type: str = "adam"
    lr: float = 0.001
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    alpha: float = 0.99
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    amsgrad: bool = False


@dataclass
class SchedulerConfig:
    type: str = "none"
    step_size: int = 10
    gamma: float | None = None  # None: 0.1 for step, 0.95 for exponential
    eta_min: float = 0.0
    factor: float = 0.1
    patience: int = 10
    max_lr: float | None = None
    warmup_epochs: int = 0


@dataclass
class EarlyStoppingConfig:
    monitor: str = "val_loss"
    mode: str = "auto"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True

    @property
    def maximize(self) -> bool:
        if self.mode != "auto":
            return self.mode == "max"
        return monitor_maximized(self.monitor)


@dataclass
class GradClipConfig:
    max_norm: float | None = None
    max_value: float | None = None


@dataclass
class RegularizationConfig:
    l1: float = 0.0
    l2: float = 0.0
    orthogonal: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.l1 or self.l2 or self.orthogonal)


@dataclass
class TrainingConfig:
    output: str | None = None
    loss: str = "cross_entropy"
    label_smoothing: float = 0.0
    metrics: list[str] | None = None  # None: the task's default
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    epochs: int = 20
    batch_size: int = 64
    precision: str = "fp32"
    device: str = "auto"
    early_stopping: EarlyStoppingConfig | None = None
    grad_clip: GradClipConfig | None = None
    regularization: RegularizationConfig = field(default_factory=RegularizationConfig)
    init: str = "default"
    seed: int = 0
    deterministic: bool = False
    init_from: str | None = None
    compile: bool | str = False  # False, True or "max-autotune" (see training/compiling.py)

    @property
    def task(self) -> str:
        """The task implied by the loss."""
        return "classification" if self.loss in CLASSIFICATION_LOSSES else "regression"

    def metric_names(self, task: str | None = None) -> list[str]:
        if self.metrics is not None:
            return list(self.metrics)
        return ["accuracy"] if (task or self.task) == "classification" else ["mae"]


def monitor_maximized(monitor: str) -> bool:
    """Whether larger is better for a monitored value such as val_accuracy."""
    name = monitor.split("_", 1)[1] if monitor.startswith(("val_", "train_")) else monitor
    return name in MAXIMIZED_METRICS


def _inputs(raw: Any, path: Path, errors: Errors) -> dict[str, list[str] | str]:
    """data.inputs: Input id -> a column list (items may be ranges `a..b`), one range, or an NPZ array name."""
    if not isinstance(raw, dict) or not raw:
        errors.append((path, "'inputs' must map each Input id to its columns ([age, income] or pixel0..pixel63) "
                             "or its NPZ array name"))
        return {}
    out: dict[str, list[str] | str] = {}
    for key, value in raw.items():
        key = str(key)
        if isinstance(value, str) and value.strip():
            out[key] = value.strip()
        elif (isinstance(value, list) and value
              and all(isinstance(v, (str, int)) and not isinstance(v, bool) and str(v).strip() for v in value)):
            out[key] = [str(v).strip() for v in value]
        else:
            errors.append((path + (key,), f"inputs.{key} must be a list of column names, a column range "
                                          f"(first..last) or an NPZ array name, got {value!r}"))
    return out


def _section(raw: Any, params: dict[str, Param], path: Path, what: str, errors: Errors,
             allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        keys = ", ".join(allowed or params)
        errors.append((path, f"'{path[-1]}' must be a group of settings, some of: {keys}"))
        return {}
    use = {k: params[k] for k in (allowed or params)}
    values, errs = check_mapping(raw, use, what)
    errors += [(path + ((k,) if k else ()), m) for k, m in errs]
    return values


def parse_training(raw: Any, path: Path = ("training",)) -> tuple[TrainingConfig | None, Errors]:
    errors: Errors = []
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return None, [(path, "'training' must be a group of settings")]
    values, errs = check_mapping(raw, TRAINING_PARAMS, "training", skip=SECTION_KEYS)
    errors += [(path + ((k,) if k else ()), m) for k, m in errs]
    cfg = TrainingConfig(**values)
    if "device" in values and not DEVICE_RE.match(values["device"]):
        errors.append((path + ("device",), f"device must be auto, cpu, cuda, cuda:N or mps, got '{values['device']}'"))
    if "metrics" in raw:
        metrics = raw["metrics"]
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            errors.append((path + ("metrics",), f"'metrics' must be a list drawn from {one_of(METRICS)}"))
        else:
            for m in metrics:
                if m not in METRICS:
                    errors.append((path + ("metrics",), f"unknown metric '{m}'{did_you_mean(m, METRICS)}; metrics: {one_of(METRICS)}"))
            cfg.metrics = list(metrics)
    if "optimizer" in raw:
        cfg.optimizer = _typed_section(raw["optimizer"], OPTIMIZER_PARAMS, OPTIMIZER_KEYS, path + ("optimizer",),
                                       "optimizer", "adam", OptimizerConfig, errors)
        if cfg.optimizer.nesterov and cfg.optimizer.momentum <= 0:
            errors.append((path + ("optimizer", "nesterov"), "nesterov needs momentum > 0"))
    if "scheduler" in raw:
        cfg.scheduler = _typed_section(raw["scheduler"], SCHEDULER_PARAMS, SCHEDULER_KEYS, path + ("scheduler",),
                                       "scheduler", "none", SchedulerConfig, errors)
    if "early_stopping" in raw:
        cfg.early_stopping = EarlyStoppingConfig(**_section(raw["early_stopping"], EARLY_STOPPING_PARAMS,
                                                             path + ("early_stopping",), "early_stopping", errors))
        valid = ["val_loss", "train_loss"] + [f"{s}_{m}" for m in cfg.metric_names() for s in ("val", "train")]
        if cfg.early_stopping.monitor not in valid:
            errors.append((path + ("early_stopping", "monitor"),
                           f"cannot monitor '{cfg.early_stopping.monitor}'{did_you_mean(cfg.early_stopping.monitor, valid)}; "
                           f"with these metrics it may be {one_of(valid)}"))
    if "grad_clip" in raw:
        clip = _section(raw["grad_clip"], GRAD_CLIP_PARAMS, path + ("grad_clip",), "grad_clip", errors)
        if len(clip) != 1 and isinstance(raw["grad_clip"], dict) and len(raw["grad_clip"]) != 1:
            errors.append((path + ("grad_clip",), "grad_clip takes exactly one of max_norm or max_value"))
        cfg.grad_clip = GradClipConfig(**clip)
    if "regularization" in raw:
        cfg.regularization = RegularizationConfig(**_section(raw["regularization"], REGULARIZATION_PARAMS,
                                                             path + ("regularization",), "regularization", errors))
    if "label_smoothing" in values and cfg.loss != "cross_entropy" and cfg.label_smoothing:
        errors.append((path + ("label_smoothing",), "label_smoothing applies only to the cross_entropy loss"))
    return (None if errors else cfg), errors


def _typed_section(raw: Any, params: dict[str, Param], keys_by_type: dict[str, tuple[str, ...]], path: Path,
                   what: str, default_type: str, cls: type, errors: Errors) -> Any:
    if not isinstance(raw, dict):
        errors.append((path, f"'{what}' must be a group of settings naming its type, e.g. type {default_type}"))
        return cls()
    kind = raw.get("type", default_type)
    if not isinstance(kind, str) or kind not in keys_by_type:  # a list or mapping is no type (nor hashable)
        shown = repr(kind) if isinstance(kind, str) else f"a {type(kind).__name__}"
        hint = did_you_mean(kind, keys_by_type) if isinstance(kind, str) else ""
        errors.append((path + ("type",), f"unknown {what} type {shown}{hint}; valid: {one_of(keys_by_type)}"))
        return cls()
    values = _section(raw, params, path, f"{what} '{kind}'", errors, keys_by_type[kind])
    if "betas" in values:
        values["betas"] = tuple(values["betas"])
    return cls(**values)


# -- tune -----------------------------------------------------------------------
TUNE_PARAMS: dict[str, Param] = {p.name: p for p in [
    Param("metric", "str", "val_loss", "the value optimized, as monitored by early stopping"),
    Param("direction", "choice", None, "minimize or maximize (default: maximize for accuracy, f1 and r2 metrics, "
                                       "else minimize)", choices=("minimize", "maximize")),
    Param("trials", "int", 20, "number of trials", lo=1),
    Param("timeout_s", "float", None, "stop the search after this many seconds", lo=0.0, lo_open=True),
    Param("sampler", "choice", "tpe", "how trials are chosen", choices=("tpe", "random", "grid")),
    Param("pruner", "choice", "median", "stop unpromising trials early", choices=("median", "none")),
    Param("space", "str", REQUIRED, "dotted path -> range"),  # checked below
]}
RANGE_KINDS = ("choice", "uniform", "log_uniform", "int")


def parse_tune(raw: Any, path: Path = ("tune",)) -> tuple[dict[str, Any] | None, Errors]:
    """Checks the tune section's structure; dotted paths are checked against the graph by the validator."""
    errors: Errors = []
    if not isinstance(raw, dict):
        return None, [(path, "'tune' must be a group of settings with 'space'")]
    values, errs = check_mapping(raw, TUNE_PARAMS, "tune", skip=("space",))
    errors += [(path + ((k,) if k else ()), m) for k, m in errs]
    space = raw.get("space")
    if not isinstance(space, dict) or not space:
        errors.append((path + ("space",), "'tune.space' must map dotted paths such as training.optimizer.lr to ranges"))
        return None, errors
    for key, rng in space.items():
        where = path + ("space", key)
        if not isinstance(rng, dict) or not rng or not any(k in rng for k in RANGE_KINDS):
            errors.append((where, f"range of '{key}' must be a choice of values, or uniform, log_uniform or int "
                                  "with the lowest and highest value"))
            continue
        kinds = [k for k in rng if k in RANGE_KINDS]
        extra = [k for k in rng if k not in RANGE_KINDS + ("log", "step")]
        if len(kinds) != 1 or extra:
            bad = extra[0] if extra else kinds[1]
            errors.append((where, f"range of '{key}' has unexpected key '{bad}'{did_you_mean(bad, RANGE_KINDS)}"))
            continue
        kind, bounds = kinds[0], rng[kinds[0]]
        if kind == "choice":
            if not isinstance(bounds, list) or not bounds:
                errors.append((where, f"'choice' of '{key}' must be a non-empty list"))
            continue
        numeric = isinstance(bounds, list) and len(bounds) == 2 and all(
            isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
        if not numeric or bounds[0] >= bounds[1] or (kind == "log_uniform" and bounds[0] <= 0):
            errors.append((where, f"'{kind}' of '{key}' must be [lo, hi] with lo < hi" + (" and lo > 0" if kind == "log_uniform" else "")))
        elif kind == "int" and not all(isinstance(b, int) for b in bounds):
            errors.append((where, f"'int' of '{key}' must have integer bounds"))
    return (None if errors else dict(raw)), errors
