"""GPU check of the training engine: samples/s and peak memory per setting against a hand-written loop.

    python benchmarks/gpu_check.py            # on a CUDA machine: the real sizes, at most --time-limit-s (540 s)
    python benchmarks/gpu_check.py --smoke    # tiny sizes and a few settings; also runs on a CPU (checks the script)

A setting is a precision (fp32, tf32, bf16, fp16) x eager or compiled (`training.compile: true`, which on
CUDA is torch.compile's reduce-overhead mode, i.e. CUDA graphs, for networks under 5 million parameters such
as the digits CNN, and the default mode for ResNet-18) x contiguous or channels-last memory format (forced
either way through TrainerOptions.channels_last). The settings run in priority order (the issue's targets
first: ResNet-18 bf16 compiled channels-last, the fp16 eager baseline, the digits CNN with CUDA graphs), so a
time limit cuts the least important ones; the JSON lists what was skipped. For every setting it trains, side
by side in one process:

- the residual CNN graphs/digits_resnet.yaml on the digits data, through
  `prepare()`/`run()` (the data resident on the GPU, batch 64 as in the file,
  one validation pass an epoch), and
- ResNet-18 graphs/resnet18.yaml on synthetic 224x224 images (2048 images made
  on the GPU, 1000 classes, batch 256) through the `Trainer` API,

each against a hand-written loop with the same setting (torch.compile of the module in the same mode,
the same channels-last conversion of the weights and of every batch): the same model and initial weights,
the same optimizer (built by NodeTrainer's build_optimizer: fused where
available), the same backend flags (TF32 switches, cudnn.benchmark), autocast
and GradScaler for the same precision, randperm batches of the same tensors on
the device, the same validation pass, one host read an epoch. No scheduler, no
early stopping. An epoch's time is the wall time between two consecutive epoch
ends (each one a host-device synchronization); a run's samples/s is training
samples an epoch / the median epoch time after the first (warm-up, cuDNN
autotuning, compiling). Pairs alternate which contender goes first, round after round,
until --time-limit-s; ratios are per round, then the median.

Peak memory is read twice per run: `peak_first_epoch_mib` (the first epoch: cuDNN's
benchmark autotuning allocates large trial workspaces there, for fp32/tf32 most of
all, and only the first run of a setting in the process autotunes) and
`peak_steady_mib` (reset after the first epoch: what training holds). The 2026-11-26
run reported the maximum over both rounds without this split; NodeTrainer always ran
first in round 1, so its figure alone held the autotuning peak (10.6 GB against 7.0 GB
in fp32/tf32, where the autotuning workspaces are largest; bf16/fp16 matched).

Prints JSON and writes it to $OUT/gpu_check.json when OUT is set. Needs torch and
numpy, plus what nodetrainer itself imports (PyYAML, networkx; scikit-learn for
the digits data: without it the digits part uses a synthetic stand-in of the
same shape and says so). Run from anywhere: the repo root is put on sys.path.
"""
from __future__ import annotations

import time

T0 = time.perf_counter()  # the time limit counts from here (importing torch included)

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")


def _med(values):
    return statistics.median(values) if values else None


def _r(x, nd=1):
    return None if x is None else round(float(x), nd)


def _missing_modules() -> list[str]:
    missing = []
    for module in ("yaml", "networkx"):
        try:
            __import__(module)
        except Exception:
            missing.append({"yaml": "PyYAML"}.get(module, module))
    return missing


def _have_sklearn() -> bool:
    try:
        import sklearn  # noqa: F401
        return True
    except Exception:
        return False


class EpochClock:
    """Epoch end times, and the peak memory of the first epoch (after which the peak is reset: steady state)."""

    def __init__(self, device=None):
        self.start, self.ends = None, []
        self.device = device
        self.first_peak_mib = None

    def begin(self):
        self.start = time.perf_counter()

    def tick(self):
        self.ends.append(time.perf_counter())
        if len(self.ends) == 1 and self.device is not None and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.first_peak_mib = _peak_mib(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)

    def steady(self) -> float:
        points = [self.start] + self.ends
        epochs = [b - a for a, b in zip(points, points[1:])]
        return _med(epochs[1:] if len(epochs) > 1 else epochs)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_memory(device):
    gc.collect()  # the previous run's model, optimizer and batches
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device):
    return _r(torch.cuda.max_memory_allocated(device) / 2**20) if device.type == "cuda" else None


# -- the hand-written loop ----------------------------------------------------------------------------
@contextlib.contextmanager
def hand_flags(precision: str, device: torch.device):
    """The backend switches NodeTrainer's backend_flags sets (non-deterministic run), restored afterwards."""
    m, c = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (m.allow_tf32, c.allow_tf32, c.benchmark, torch.get_float32_matmul_precision())
    tf32 = precision == "tf32" and device.type == "cuda"
    try:
        m.allow_tf32 = c.allow_tf32 = tf32
        torch.set_float32_matmul_precision("high" if tf32 else "highest")
        c.benchmark = device.type == "cuda"
        yield
    finally:
        m.allow_tf32, c.allow_tf32, c.benchmark = saved[:3]
        torch.set_float32_matmul_precision(saved[3])


def handwritten(model, optimizer, x, y, batch, epochs, precision, device, xval=None, yval=None, eval_batch=None,
                compile_mode=None, channels_last=False):
    """Device-resident tensors, randperm batches, autocast (+ GradScaler for fp16); one read an epoch.
    `compile_mode`: torch.compile the module in that mode; `channels_last`: weights and batches in NHWC.
    Returns (steady epoch seconds, first-epoch peak MiB)."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    autocast = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else contextlib.nullcontext
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" and device.type == "cuda" else None
    layout = (lambda t: t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t) if channels_last \
        else (lambda t: t)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    graphs = compile_mode in ("reduce-overhead", "max-autotune")
    mark = torch.compiler.cudagraph_mark_step_begin if graphs else (lambda: None)
    if compile_mode is not None:
        model = torch.compile(model, mode=compile_mode)
    n = len(x)
    steps = math.ceil(n / batch)
    clock = EpochClock(device)
    with hand_flags(precision, device):
        _sync(device)
        clock.begin()
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(n, device=device)
            train_loss = torch.zeros((), dtype=torch.float64, device=device)
            for i in range(steps):
                idx = perm[i * batch:(i + 1) * batch]
                xb, yb = layout(x.index_select(0, idx)), y.index_select(0, idx)
                mark()
                with autocast():
                    loss = F.cross_entropy(model(xb), yb)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                train_loss.add_(loss.detach(), alpha=len(idx))
            parts = [train_loss]
            if xval is not None:
                model.eval()
                vloss = torch.zeros((), dtype=torch.float64, device=device)
                correct = torch.zeros((), dtype=torch.float64, device=device)
                with torch.inference_mode(), autocast():
                    for i in range(0, len(xval), eval_batch):
                        xb, yb = layout(xval[i:i + eval_batch]), yval[i:i + eval_batch]
                        mark()
                        out = model(xb)
                        vloss.add_(F.cross_entropy(out, yb), alpha=len(yb))
                        correct.add_((out.argmax(-1) == yb).sum())
                parts += [vloss, correct]
            values = torch.stack(parts).tolist()  # the one host read of the epoch
            clock.tick()
    if not all(math.isfinite(v) for v in values):
        raise RuntimeError(f"hand-written loop: non-finite loss in {precision}")
    return clock.steady(), clock.first_peak_mib


# -- NodeTrainer -------------------------------------------------------------------------------------------
def nodetrainer_epoch_clock(subscribe, device=None):
    from nodetrainer.training.events import EpochEnded, Started
    clock = EpochClock(device)

    def on_event(event):
        if isinstance(event, Started):
            clock.begin()
        elif isinstance(event, EpochEnded):
            clock.tick()

    subscribe(on_event)
    return clock


def fixed_epochs_graph(path: Path, overrides: dict):
    """The graph with no early stopping, no scheduler and `overrides` in its training section."""
    from nodetrainer.graphfile import load_graph
    g = load_graph(path).copy()
    training = dict(g.training or {})
    training.pop("early_stopping", None)
    training["scheduler"] = {"type": "none"}
    training.update(overrides)
    g.training = training
    return g


# -- (i) the residual CNN on digits, through prepare()/run() ----------------------------------------------
class DigitsCase:
    name = "digits_resnet"

    def __init__(self, args, device, tmp: Path):
        self.args, self.device, self.tmp = args, device, tmp
        self.epochs = 3 if args.smoke else args.digits_epochs
        self.graph_path = ROOT / "graphs" / "digits_resnet.yaml"
        self.data_note = "builtin:digits (the graph's split: val 0.15, test 0.15)"
        self.data_override = None
        if not _have_sklearn():  # a synthetic stand-in of the same shapes with explicit parts (no split needed)
            rng = np.random.default_rng(0)
            arrays = {}
            for part, n in (("", 1257), ("_val", 270), ("_test", 270)):
                arrays["x" + part] = rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
                arrays["y" + part] = rng.integers(0, 10, n).astype(np.int64)
            np.savez(tmp / "digits_standin.npz", **arrays)
            self.data_override = {"source": f"npz:{tmp / 'digits_standin.npz'}", "normalize": "standard"}
            self.data_note = "synthetic stand-in of the digits shapes (scikit-learn is not installed)"
        from nodetrainer.data import load_dataset
        g = self._graph("fp32")
        ds = load_dataset(g.data_config(), self.graph_path.parent, g.training_config().task)
        self.data = [t.to(device) for t in (ds.train.x, ds.train.y, ds.val.x, ds.val.y)]
        self.batch = g.training_config().batch_size

    def _graph(self, precision, compiled=False):
        g = fixed_epochs_graph(self.graph_path, {"epochs": self.epochs, "precision": precision,
                                                 "device": str(self.device), "compile": compiled})
        if self.data_override:
            g.data = dict(self.data_override)
        return g

    def nodetrainer(self, s):
        from nodetrainer.training.run import prepare
        from nodetrainer.training.trainer import TrainerOptions
        session = prepare(self._graph(s.precision, s.compiled), runs_dir=self.tmp / "runs",
                          options=TrainerOptions(channels_last=s.channels_last))
        clock = nodetrainer_epoch_clock(session.subscribe, self.device)
        if session.trainer.steps_per_epoch != math.ceil(len(self.data[0]) / self.batch):
            raise RuntimeError("NodeTrainer's steps per epoch differ from the hand-written loop's")
        result = session.run()
        if result.reason != "completed":
            raise RuntimeError(f"NodeTrainer run ended '{result.reason}': {result.error}")
        return clock.steady(), clock.first_peak_mib, _ran(session.trainer)

    def handwritten(self, s, effective):
        from nodetrainer.compiler import compile_graph
        from nodetrainer.training.optimizers import build_optimizer
        from nodetrainer.training.seeding import seed_everything
        g = self._graph(s.precision)
        cfg = g.training_config()
        seed_everything(cfg.seed)
        model = compile_graph(g).to(self.device)
        opt = build_optimizer(cfg.optimizer, model)
        x, y, xv, yv = self.data
        return handwritten(model, opt, x, y, self.batch, self.epochs, effective, self.device, xv, yv, 4 * self.batch,
                           _mode(s, model, self.device), s.channels_last)

    def samples_per_epoch(self):
        return len(self.data[0])

    def describe(self):
        return {"graph": "graphs/digits_resnet.yaml", "data": self.data_note, "batch_size": 64,
                "epochs_per_run": self.epochs, "how": "prepare()/run() with a run folder in a temp dir vs the "
                "hand-written loop; both do one validation pass (batch 256) an epoch"}


# -- (ii) ResNet-18 on synthetic 224x224 images, through the Trainer API ----------------------------------
class ResNetCase:
    name = "resnet18"

    def __init__(self, args, device, tmp: Path):
        self.args, self.device = args, device
        if args.smoke:
            self.n, self.size, self.batch, self.epochs, self.classes = 16, 64, 8, 2, 1000
        else:
            self.n, self.size, self.batch, self.epochs, self.classes = (args.images, 224, args.batch,
                                                                        args.resnet_epochs, 1000)
        gen = torch.Generator(device=device).manual_seed(0)
        self.x = torch.randn((self.n, 3, self.size, self.size), generator=gen, device=device)
        self.y = torch.randint(0, self.classes, (self.n,), generator=gen, device=device)
        self.graph_path = ROOT / "graphs" / "resnet18.yaml"

    def _setup(self, precision, compiled=False):
        from nodetrainer.compiler import compile_graph
        from nodetrainer.training.seeding import seed_everything
        # the file's SGD (momentum 0.9, Nesterov, weight decay 1e-4) at lr 0.01: random labels, no warm-up
        g = fixed_epochs_graph(self.graph_path, {"epochs": self.epochs, "precision": precision,
                                                 "batch_size": self.batch, "device": str(self.device),
                                                 "compile": compiled})
        # graphs/resnet18.yaml no longer holds a training section: the SGD the 2026-11-26 run used, made explicit
        sgd = {"type": "sgd", "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}
        g.training["optimizer"] = dict(g.training.get("optimizer") or sgd, lr=0.01)
        cfg = g.training_config()
        seed_everything(cfg.seed)
        return cfg, compile_graph(g)

    def nodetrainer(self, s):
        from nodetrainer.training.trainer import Trainer, TrainerOptions
        cfg, model = self._setup(s.precision, s.compiled)
        trainer = Trainer(model, cfg, (self.x, self.y), task="classification", num_classes=self.classes,
                          device=self.device, num_outputs=self.classes,
                          options=TrainerOptions(channels_last=s.channels_last))
        clock = nodetrainer_epoch_clock(trainer.subscribe, self.device)
        result = trainer.fit()
        if result.reason != "completed":
            raise RuntimeError(f"NodeTrainer run ended '{result.reason}': {result.error}")
        return clock.steady(), clock.first_peak_mib, _ran(trainer)

    def handwritten(self, s, effective):
        from nodetrainer.training.optimizers import build_optimizer
        cfg, model = self._setup(s.precision)
        model = model.to(self.device)
        opt = build_optimizer(cfg.optimizer, model)
        return handwritten(model, opt, self.x, self.y, self.batch, self.epochs, effective, self.device,
                           compile_mode=_mode(s, model, self.device), channels_last=s.channels_last)

    def samples_per_epoch(self):
        return self.n

    def describe(self):
        return {"graph": "graphs/resnet18.yaml", "data": f"synthetic: {self.n} random images 3x{self.size}x"
                f"{self.size} made on the device, {self.classes} random classes", "batch_size": self.batch,
                "epochs_per_run": self.epochs, "optimizer": "the file's SGD (momentum 0.9, Nesterov, weight decay "
                "1e-4 on weights), lr 0.01, no scheduler", "how": "Trainer(model, config, (x, y)).fit() (no run "
                "folder, no validation) vs the hand-written loop"}


# -- settings ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    case: str
    precision: str
    compiled: bool
    channels_last: bool

    @property
    def key(self) -> str:
        return (f"{self.precision}/{'compiled' if self.compiled else 'eager'}/"
                f"{'channels_last' if self.channels_last else 'contiguous'}")


def settings_in_order(cases, precisions, smoke: bool) -> list[Setting]:
    """Every setting of the grid, the issue's targets first (a time limit cuts from the end)."""
    first = [Setting("resnet18", "bf16", True, True), Setting("resnet18", "fp16", False, False),
             Setting("digits_resnet", "bf16", True, False), Setting("digits_resnet", "bf16", False, False),
             Setting("resnet18", "fp32", False, False), Setting("resnet18", "tf32", False, False),
             Setting("resnet18", "bf16", False, True), Setting("resnet18", "bf16", False, False)]
    if smoke:  # a few settings that go through every code path, small enough for a CPU
        first = [Setting("digits_resnet", "fp32", False, False), Setting("digits_resnet", "bf16", False, True),
                 Setting("digits_resnet", "fp32", True, False), Setting("resnet18", "fp32", False, True)]
        return [s for s in first if s.case in cases and s.precision in precisions]
    grid = [Setting(c, p, comp, cl) for comp in (False, True) for c in ("resnet18", "digits_resnet")
            for p in PRECISIONS for cl in (False, True)]
    ordered = first + [s for s in grid if s not in first]
    return [s for s in ordered if s.case in cases and s.precision in precisions]


def _mode(s: Setting, model, device) -> str | None:
    """The torch.compile mode NodeTrainer uses for this setting (the hand-written loop uses the same)."""
    if not s.compiled:
        return None
    from nodetrainer.training.compiling import torch_mode
    return torch_mode(True, device, sum(p.numel() for p in model.parameters()))


def _ran(trainer) -> dict:
    return {"precision": trainer.precision.name, "compile_mode": trainer.compile_mode,
            "channels_last": trainer.channels_last,
            "compile_fallback": trainer.compiled.fallback if trainer.compiled is not None else None}


# -- main ------------------------------------------------------------------------------------------------------
def device_info(device: torch.device) -> dict:
    info = {"device": str(device), "torch": torch.__version__, "python": platform.python_version(),
            "numpy": np.__version__}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update({"name": torch.cuda.get_device_name(device),
                     "capability": list(torch.cuda.get_device_capability(device)),
                     "memory_gib": round(props.total_memory / 2**30, 1), "cuda": torch.version.cuda,
                     "cudnn": torch.backends.cudnn.version(), "bf16_supported": torch.cuda.is_bf16_supported()})
    else:
        info.update({"name": platform.processor() or platform.machine(), "torch_threads": torch.get_num_threads()})
    return info


TARGETS = {
    "resnet18 bf16/compiled/channels_last samples/s >= 1.4 x 7131 (the 2026-11-26 eager fp16 figure)":
        ("resnet18", "bf16/compiled/channels_last", "abs", 1.4 * 7131),
    "resnet18 bf16/compiled/channels_last >= 0.97 x hand-written": ("resnet18", "bf16/compiled/channels_last",
                                                                    "ratio", 0.97),
    "digits_resnet bf16 compiled (CUDA graphs) >= 2 x its eager": ("digits_resnet", "bf16", "speedup", 2.0),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, a few settings (runs on a CPU in minutes)")
    ap.add_argument("--device", default="auto", help="auto (cuda when available), cuda, cuda:N or cpu")
    ap.add_argument("--precisions", default=",".join(PRECISIONS))
    ap.add_argument("--cases", default="digits_resnet,resnet18")
    ap.add_argument("--rounds", type=int, default=1, help="rounds of every setting (default 1; a second round "
                                                          "runs only where time is left)")
    ap.add_argument("--time-limit-s", type=float, default=540.0,
                    help="start no new run after this many seconds (default 540; the JSON says what was skipped)")
    ap.add_argument("--digits-epochs", type=int, default=12)
    ap.add_argument("--resnet-epochs", type=int, default=4)
    ap.add_argument("--images", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args(argv)

    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    if device.type == "cpu":
        torch.set_num_threads(1)  # a CPU run is a smoke test of the script; one thread keeps it steady on shared cores
    report = {"check": "gpu_check (issue 13: compile, channels-last, memory parity)", "smoke": args.smoke,
              "device": device_info(device),
              "how": "per setting (precision/eager|compiled/contiguous|channels_last): NodeTrainer vs a hand-written "
                     "loop with the same setting; samples/s from the median epoch after the first; peak memory of "
                     "the first epoch (cuDNN autotuning, compiling) and after it (steady)",
              "targets": list(TARGETS), "results": {}, "errors": [], "skipped": [], "complete": False}
    if device.type != "cuda" and not args.smoke:
        report["note"] = "no CUDA device: these are CPU figures (use --smoke on a CPU)"
    missing = _missing_modules()
    if missing:
        report["errors"].append(f"nodetrainer cannot be imported without: {', '.join(missing)} "
                                f"(pip install {' '.join(missing)} scikit-learn)")
        return _finish(report)

    precisions = [p for p in args.precisions.split(",") if p]
    with tempfile.TemporaryDirectory(prefix="nt-gpu-check-") as tmp_name:
        tmp = Path(tmp_name)
        cases = {}
        for name in args.cases.split(","):
            try:
                cases[name] = {"digits_resnet": DigitsCase, "resnet18": ResNetCase}[name](args, device, tmp)
                report["results"][name] = {"setup": cases[name].describe()}
            except Exception as exc:
                report["errors"].append(f"{name}: setup failed: {type(exc).__name__}: {exc}")
                report.setdefault("error_tracebacks", []).append(traceback.format_exc(limit=8)[-3000:])
        settings = settings_in_order(list(cases), precisions, args.smoke)
        raw = {s: {"nodetrainer": [], "handwritten": [], "ratio": [], "peak_steady_mib": {}, "peak_first_epoch_mib": {},
                   "first": []} for s in settings}
        broken: set = set()
        for r in range(args.rounds):
            for i, s in enumerate(settings):
                if s in broken:
                    continue
                if time.perf_counter() - T0 > args.time_limit_s:
                    report["skipped"].append(f"round {r + 1}: {s.case} {s.key} (time limit)")
                    continue
                case = cases[s.case]
                order = ("nodetrainer", "handwritten") if (r + i) % 2 == 0 else ("handwritten", "nodetrainer")
                got = {}
                effective = _effective(s.precision, device)
                raw[s]["effective"] = effective
                raw[s]["first"].append(order[0])
                try:
                    for who in order:
                        _reset_memory(device)
                        if who == "nodetrainer":
                            secs, first_peak, ran = case.nodetrainer(s)
                            if ran["precision"] != effective:
                                raise RuntimeError(f"NodeTrainer ran {ran['precision']}, expected {effective}")
                            raw[s]["nodetrainer_ran"] = ran
                        else:
                            secs, first_peak = case.handwritten(s, effective)
                        _sync(device)
                        got[who] = case.samples_per_epoch() / secs
                        peak = _peak_mib(device)
                        if peak is not None:
                            raw[s]["peak_steady_mib"][who] = max(peak, raw[s]["peak_steady_mib"].get(who, 0))
                            raw[s]["peak_first_epoch_mib"].setdefault(who, []).append(first_peak)
                except Exception as exc:
                    broken.add(s)
                    report["errors"].append(f"{s.case} {s.key}: {type(exc).__name__}: {exc}")
                    report.setdefault("error_tracebacks", []).append(traceback.format_exc(limit=8)[-3000:])
                    _write(report)
                    continue
                for who in ("nodetrainer", "handwritten"):
                    raw[s][who].append(got[who])
                raw[s]["ratio"].append(got["nodetrainer"] / got["handwritten"])
                print(f"[{time.perf_counter() - T0:6.1f} s] round {r + 1} {s.case} {s.key}: nodetrainer "
                      f"{got['nodetrainer']:.0f}, hand-written {got['handwritten']:.0f} samples/s",
                      file=sys.stderr, flush=True)
                _fill(report, raw)
                _write(report)  # what is done so far survives a timeout
        _fill(report, raw)
    return _finish(report)


def _fill(report: dict, raw: dict) -> None:
    for s, v in raw.items():
        if not v["ratio"]:
            continue
        steady = v["peak_steady_mib"] or None
        entry = {
            "rounds": len(v["ratio"]),
            "effective_precision": v.get("effective", s.precision),
            "nodetrainer_ran": v.get("nodetrainer_ran"),
            "nodetrainer_samples_per_s": _r(_med(v["nodetrainer"])),
            "handwritten_samples_per_s": _r(_med(v["handwritten"])),
            "ratio_nodetrainer/handwritten": round(_med(v["ratio"]), 3),
            "ratio_all_rounds": [round(x, 3) for x in v["ratio"]],
            "peak_steady_mib": steady,
            "peak_memory_ratio_nodetrainer/handwritten": (round(steady["nodetrainer"] / steady["handwritten"], 3)
                                                          if steady and steady.get("handwritten") else None),
            "peak_first_epoch_mib": v["peak_first_epoch_mib"] or None,
            "went_first": v["first"],
        }
        report["results"][s.case][s.key] = entry
    report["target_results"] = _targets(report)


def _targets(report: dict) -> dict:
    out = {}
    for text, (case, key, kind, bound) in TARGETS.items():
        results = report["results"].get(case, {})
        if kind == "speedup":
            comp, eager = results.get(f"{key}/compiled/contiguous"), results.get(f"{key}/eager/contiguous")
            value = (comp["nodetrainer_samples_per_s"] / eager["nodetrainer_samples_per_s"]
                     if comp and eager else None)
        else:
            entry = results.get(key)
            value = None if not entry else (entry["nodetrainer_samples_per_s"] if kind == "abs"
                                            else entry["ratio_nodetrainer/handwritten"])
        out[text] = {"value": None if value is None else round(value, 3),
                     "met": None if value is None else value >= bound}
    return out


def _effective(precision: str, device: torch.device) -> str:
    """What NodeTrainer really runs for `precision` on `device` (fp16 on a CPU is bf16, tf32 off CUDA is fp32)."""
    from nodetrainer.training.precision import resolve_precision
    return resolve_precision(precision, device).name


def _write(report: dict) -> str:
    report["total_seconds"] = round(time.perf_counter() - T0, 1)
    text = json.dumps(report, indent=2)
    out = os.environ.get("OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        tmp = Path(out) / "gpu_check.json.tmp"
        tmp.write_text(text + "\n")
        tmp.replace(Path(out) / "gpu_check.json")
    return text


def _finish(report: dict) -> int:
    report["complete"] = True
    print(_write(report))
    return 0 if not report["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
