"""GPU check of the training engine: samples/s per precision against a hand-written loop.

    python benchmarks/gpu_check.py            # on a CUDA machine: the real sizes, about 1-3 minutes
    python benchmarks/gpu_check.py --smoke    # tiny sizes; also runs on a CPU (checks the script itself)

For fp32, tf32, bf16 and fp16 it trains, side by side in one process:

- the residual CNN graphs/digits_resnet.yaml on the digits data, through
  `prepare()`/`run()` (the data resident on the GPU, batch 64 as in the file,
  one validation pass an epoch), and
- ResNet-18 graphs/resnet18.yaml on synthetic 224x224 images (2048 images made
  on the GPU, 1000 classes, batch 256) through the `Trainer` API,

each against a hand-written loop: the same compiled model and initial weights,
the same optimizer (built by NodeTrainer's build_optimizer: fused where
available), the same backend flags (TF32 switches, cudnn.benchmark), autocast
and GradScaler for the same precision, randperm batches of the same tensors on
the device, the same validation pass, one host read an epoch. No scheduler, no
early stopping. An epoch's time is the wall time between two consecutive epoch
ends (each one a host-device synchronization); a run's samples/s is training
samples an epoch / the median epoch time after the first (warm-up, cuDNN
autotuning). Pairs alternate which contender goes first, round after round,
until --time-limit-s; ratios are per round, then the median.

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
    def __init__(self):
        self.start, self.ends = None, []

    def begin(self):
        self.start = time.perf_counter()

    def tick(self):
        self.ends.append(time.perf_counter())

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


def handwritten(model, optimizer, x, y, batch, epochs, precision, device, xval=None, yval=None, eval_batch=None):
    """Device-resident tensors, randperm batches, autocast (+ GradScaler for fp16); one read an epoch."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    autocast = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else contextlib.nullcontext
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" and device.type == "cuda" else None
    n = len(x)
    steps = math.ceil(n / batch)
    clock = EpochClock()
    with hand_flags(precision, device):
        _sync(device)
        clock.begin()
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(n, device=device)
            train_loss = torch.zeros((), dtype=torch.float64, device=device)
            for i in range(steps):
                idx = perm[i * batch:(i + 1) * batch]
                xb, yb = x.index_select(0, idx), y.index_select(0, idx)
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
                        xb, yb = xval[i:i + eval_batch], yval[i:i + eval_batch]
                        out = model(xb)
                        vloss.add_(F.cross_entropy(out, yb), alpha=len(yb))
                        correct.add_((out.argmax(-1) == yb).sum())
                parts += [vloss, correct]
            values = torch.stack(parts).tolist()  # the one host read of the epoch
            clock.tick()
    if not all(math.isfinite(v) for v in values):
        raise RuntimeError(f"hand-written loop: non-finite loss in {precision}")
    return clock.steady()


# -- NodeTrainer -------------------------------------------------------------------------------------------
def nodetrainer_epoch_clock(subscribe):
    from nodetrainer.training.events import EpochEnded, Started
    clock = EpochClock()

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

    def _graph(self, precision):
        g = fixed_epochs_graph(self.graph_path, {"epochs": self.epochs, "precision": precision,
                                                 "device": str(self.device)})
        if self.data_override:
            g.data = dict(self.data_override)
        return g

    def nodetrainer(self, precision):
        from nodetrainer.training.run import prepare
        session = prepare(self._graph(precision), runs_dir=self.tmp / "runs")
        clock = nodetrainer_epoch_clock(session.subscribe)
        if session.trainer.steps_per_epoch != math.ceil(len(self.data[0]) / self.batch):
            raise RuntimeError("NodeTrainer's steps per epoch differ from the hand-written loop's")
        result = session.run()
        if result.reason != "completed":
            raise RuntimeError(f"NodeTrainer run ended '{result.reason}': {result.error}")
        return clock.steady(), session.trainer.precision.name

    def handwritten(self, precision, effective):
        from nodetrainer.compiler import compile_graph
        from nodetrainer.training.optimizers import build_optimizer
        from nodetrainer.training.seeding import seed_everything
        g = self._graph(precision)
        cfg = g.training_config()
        seed_everything(cfg.seed)
        model = compile_graph(g).to(self.device)
        opt = build_optimizer(cfg.optimizer, model)
        x, y, xv, yv = self.data
        return handwritten(model, opt, x, y, self.batch, self.epochs, effective, self.device, xv, yv, 4 * self.batch)

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

    def _setup(self, precision):
        from nodetrainer.compiler import compile_graph
        from nodetrainer.training.seeding import seed_everything
        # the file's SGD (momentum 0.9, Nesterov, weight decay 1e-4) at lr 0.01: random labels, no warm-up
        g = fixed_epochs_graph(self.graph_path, {"epochs": self.epochs, "precision": precision,
                                                 "batch_size": self.batch, "device": str(self.device)})
        g.training["optimizer"] = dict(g.training["optimizer"], lr=0.01)
        cfg = g.training_config()
        seed_everything(cfg.seed)
        return cfg, compile_graph(g)

    def nodetrainer(self, precision):
        from nodetrainer.training.trainer import Trainer
        cfg, model = self._setup(precision)
        trainer = Trainer(model, cfg, (self.x, self.y), task="classification", num_classes=self.classes,
                          device=self.device, num_outputs=self.classes)
        clock = nodetrainer_epoch_clock(trainer.subscribe)
        result = trainer.fit()
        if result.reason != "completed":
            raise RuntimeError(f"NodeTrainer run ended '{result.reason}': {result.error}")
        return clock.steady(), trainer.precision.name

    def handwritten(self, precision, effective):
        from nodetrainer.training.optimizers import build_optimizer
        cfg, model = self._setup(precision)
        model = model.to(self.device)
        opt = build_optimizer(cfg.optimizer, model)
        return handwritten(model, opt, self.x, self.y, self.batch, self.epochs, effective, self.device)

    def samples_per_epoch(self):
        return self.n

    def describe(self):
        return {"graph": "graphs/resnet18.yaml", "data": f"synthetic: {self.n} random images 3x{self.size}x"
                f"{self.size} made on the device, {self.classes} random classes", "batch_size": self.batch,
                "epochs_per_run": self.epochs, "optimizer": "the file's SGD (momentum 0.9, Nesterov, weight decay "
                "1e-4 on weights), lr 0.01, no scheduler", "how": "Trainer(model, config, (x, y)).fit() (no run "
                "folder, no validation) vs the hand-written loop"}


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (runs on a CPU in under a minute)")
    ap.add_argument("--device", default="auto", help="auto (cuda when available), cuda, cuda:N or cpu")
    ap.add_argument("--precisions", default=",".join(PRECISIONS))
    ap.add_argument("--cases", default="digits_resnet,resnet18")
    ap.add_argument("--rounds", type=int, default=2, help="most rounds of every pair (default 2)")
    ap.add_argument("--time-limit-s", type=float, default=240.0,
                    help="start no new run after this many seconds (default 240; the JSON says what was skipped)")
    ap.add_argument("--digits-epochs", type=int, default=20)
    ap.add_argument("--resnet-epochs", type=int, default=5)
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
    report = {"check": "gpu_check (issue 3: training engine)", "smoke": args.smoke, "device": device_info(device),
              "target": "nodetrainer/handwritten samples/s ratio >= 0.95 (within 5% of the hand-written loop)",
              "results": {}, "errors": [], "skipped": [], "complete": False}
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
        cases = []
        for name in args.cases.split(","):
            try:
                case = {"digits_resnet": DigitsCase, "resnet18": ResNetCase}[name](args, device, tmp)
                cases.append(case)
                report["results"][name] = {"setup": case.describe()}
            except Exception as exc:
                report["errors"].append(f"{name}: setup failed: {type(exc).__name__}: {exc}")
                report.setdefault("error_tracebacks", []).append(traceback.format_exc(limit=8)[-3000:])
        raw = {(c.name, p): {"nodetrainer": [], "handwritten": [], "ratio": [], "peak_mib": {}} for c in cases
               for p in precisions}
        broken: set = set()
        for r in range(args.rounds):
            for case in cases:
                for precision in precisions:
                    key = (case.name, precision)
                    if key in broken:
                        continue
                    if time.perf_counter() - T0 > args.time_limit_s:
                        report["skipped"].append(f"round {r + 1}: {case.name} {precision} (time limit)")
                        continue
                    order = ("nodetrainer", "handwritten") if r % 2 == 0 else ("handwritten", "nodetrainer")
                    got = {}
                    effective = _effective(precision, device)
                    raw[key]["effective"] = effective
                    try:
                        for who in order:
                            _reset_memory(device)
                            if who == "nodetrainer":
                                secs, ran = case.nodetrainer(precision)
                                if ran != effective:
                                    raise RuntimeError(f"NodeTrainer ran {ran}, expected {effective}")
                            else:
                                secs = case.handwritten(precision, effective)
                            _sync(device)
                            got[who] = case.samples_per_epoch() / secs
                            peak = _peak_mib(device)
                            if peak is not None:
                                raw[key]["peak_mib"][who] = max(peak, raw[key]["peak_mib"].get(who, 0))
                    except Exception as exc:
                        broken.add(key)
                        report["errors"].append(f"{case.name} {precision}: {type(exc).__name__}: {exc}")
                        report.setdefault("error_tracebacks", []).append(traceback.format_exc(limit=8)[-3000:])
                        _write(report)
                        continue
                    raw[key]["nodetrainer"].append(got["nodetrainer"])
                    raw[key]["handwritten"].append(got["handwritten"])
                    raw[key]["ratio"].append(got["nodetrainer"] / got["handwritten"])
                    print(f"[{time.perf_counter() - T0:6.1f} s] round {r + 1} {case.name} {precision}: nodetrainer "
                          f"{got['nodetrainer']:.0f}, hand-written {got['handwritten']:.0f} samples/s",
                          file=sys.stderr, flush=True)
                    _fill(report, raw)
                    _write(report)  # what is done so far survives a timeout
        _fill(report, raw)
    return _finish(report)


def _fill(report: dict, raw: dict) -> None:
    for (name, precision), v in raw.items():
        entry = {"rounds": len(v["ratio"])}
        if v["ratio"]:
            entry.update({
                "effective_precision": v.get("effective", precision),
                "nodetrainer_samples_per_s": _r(_med(v["nodetrainer"])),
                "handwritten_samples_per_s": _r(_med(v["handwritten"])),
                "ratio_nodetrainer/handwritten": round(_med(v["ratio"]), 3),
                "ratio_all_rounds": [round(x, 3) for x in v["ratio"]],
                "peak_memory_mib": v["peak_mib"] or None,
            })
        report["results"][name][precision] = entry


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
