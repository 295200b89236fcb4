"""Whole-process CPU benchmark: NodeTrainer vs PyTorch Lightning vs a hand-written loop, eager and compiled.

    python benchmarks/lightning_bench.py [--rounds 2] [--compiled-rounds 1] [--epochs 2,12] [--mlp-epochs 2,62]

Every contender does the same work as a whole process, the way a user runs it:
start Python, load the digits (the same normalized splits, from nodetrainer.data),
build the network from the same graph file (same code, same seed), and train with
Adam (lr 1e-3, fused, what NodeTrainer picks), batch 64, no scheduler, no early
stopping; every epoch one shuffled training pass, one validation pass (batch 256:
loss and accuracy), and the best weights by validation loss kept on disk:

- `nodetrainer`: `nodetrainer train FILE` (its entry point) on a copy of the graph with those settings;
  `compile: true` for the compiled variant. It also writes its run folder (best.pt, last.pt, metrics, summary).
- `lightning`: a LightningModule around the same network, `Trainer(max_epochs=E, logger=False, progress bar
  off)` with `ModelCheckpoint(monitor="val_loss", save_top_k=1)`, DataLoaders over TensorDatasets (the usual
  way); compiled: `torch.compile(network)` inside the module.
- `handwritten`: randperm batches of resident tensors, the same step and validation pass, `torch.save` of the
  state dict when the validation loss improves; compiled: `torch.compile(network)`.

A compiled process spends most of its life compiling (about 40 s here, torch's caches warm), so by
default only the first round runs the compiled variants (--compiled-rounds) to stay near 15 minutes.
Per-epoch time comes from two epoch counts: (T(E2) - T(E1)) / (E2 - E1) of whole-process wall times, so
start-up (imports, data, compiling) cancels. Rounds interleave every contender and mode, rotating who goes
first; ratios are per round, then the median. One torch thread everywhere (the machines here have 2 shared
cores; see training_bench.py). Writes benchmarks/results/lightning_cpu_<date>.json.

Target (issue 13): compiled digits CNN >= 1.2x NodeTrainer eager (epoch time eager / compiled). When it is
missed, `--profile` adds a torch.profiler table of one epoch of the CNN, eager and compiled, to the JSON.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GRAPHS = {"digits_mlp": ROOT / "graphs" / "digits_mlp.yaml", "digits_cnn": ROOT / "graphs" / "digits_cnn.yaml"}
CONTENDERS = ("nodetrainer", "lightning", "handwritten")
MODES = ("eager", "compiled")
BATCH, EVAL_BATCH, LR = 64, 256, 1e-3
CLI = "import sys; from nodetrainer.cli import main; sys.exit(main())"


def bench_graph(model: str, epochs: int, compiled: bool, folder: Path) -> Path:
    """The graph file with the benchmark's settings: no scheduler, no early stopping, fixed epochs, CPU."""
    from nodetrainer.graphfile import dump_graph, load_graph
    g = load_graph(GRAPHS[model]).copy()
    training = dict(g.training or {})
    for key in ("early_stopping", "scheduler", "label_smoothing"):
        training.pop(key, None)
    training.update({"epochs": epochs, "batch_size": BATCH, "optimizer": {"type": "adam", "lr": LR},
                     "device": "cpu", "compile": compiled})
    g.training = training
    path = folder / f"{model}-{epochs}-{int(compiled)}.yaml"
    path.write_text(dump_graph(g))
    return path


# -- children (each a whole process) ----------------------------------------------------------------
def _data_and_model(graph: Path):
    import torch
    from nodetrainer.compiler import compile_graph
    from nodetrainer.data import load_dataset
    from nodetrainer.graphfile import load_graph
    from nodetrainer.training.seeding import seed_everything
    g = load_graph(graph)
    cfg = g.training_config()
    ds = load_dataset(g.data_config(), graph.parent, cfg.task)
    seed_everything(cfg.seed)
    net = compile_graph(g)
    tensors = [torch.as_tensor(t) for t in (ds.train.x, ds.train.y, ds.val.x, ds.val.y)]
    return cfg, net, tensors


def child_handwritten(graph: Path, out_dir: Path) -> None:
    import torch
    import torch.nn.functional as F
    cfg, net, (x, y, xv, yv) = _data_and_model(graph)
    model = torch.compile(net) if cfg.compile else net
    opt = torch.optim.Adam(net.parameters(), lr=LR, fused=True)
    best = float("inf")
    gen = torch.Generator().manual_seed(cfg.seed)
    t0 = time.perf_counter()
    for _ in range(cfg.epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = torch.zeros((), dtype=torch.float64)
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            xb, yb = x[idx], y[idx]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        model.eval()
        vloss = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        with torch.inference_mode():
            for i in range(0, len(xv), EVAL_BATCH):
                out = model(xv[i:i + EVAL_BATCH])
                vloss += F.cross_entropy(out, yv[i:i + EVAL_BATCH], reduction="sum")
                correct += (out.argmax(-1) == yv[i:i + EVAL_BATCH]).sum()
        val_loss = float(vloss) / len(xv)
        if val_loss < best:
            best = val_loss
            torch.save(net.state_dict(), out_dir / "best.pt")
    (out_dir / "fit_seconds").write_text(repr(time.perf_counter() - t0))


def child_lightning(graph: Path, out_dir: Path) -> None:
    import logging
    import warnings

    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset
    warnings.filterwarnings("ignore")
    from nodetrainer.importer.sources import load_torchvision
    load_torchvision()  # torchmetrics (imported by Lightning) imports torchvision; this makes a mismatched one load
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint
    for name in ("lightning", "pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    cfg, net, (x, y, xv, yv) = _data_and_model(graph)

    class Lit(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.compile(net) if cfg.compile else net

        def training_step(self, batch, _i):
            xb, yb = batch
            loss = F.cross_entropy(self.net(xb), yb)
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch, _i):
            xb, yb = batch
            out = self.net(xb)
            self.log("val_loss", F.cross_entropy(out, yb), on_epoch=True)
            self.log("val_accuracy", (out.argmax(-1) == yb).float().mean(), on_epoch=True)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=LR, fused=True)

    pl.seed_everything(cfg.seed, verbose=False)
    train = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    val = DataLoader(TensorDataset(xv, yv), batch_size=EVAL_BATCH)
    trainer = pl.Trainer(max_epochs=cfg.epochs, accelerator="cpu", devices=1, logger=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(out_dir),
                         callbacks=[ModelCheckpoint(dirpath=str(out_dir), monitor="val_loss", save_top_k=1)])
    t0 = time.perf_counter()
    trainer.fit(Lit(), train, val)
    (out_dir / "fit_seconds").write_text(repr(time.perf_counter() - t0))


def run_child(who: str, graph: Path, tmp: Path, env: dict) -> tuple[float, float]:
    """(whole-process wall seconds, seconds of the training call inside: fit() / the loop / summary's duration)."""
    out = Path(tempfile.mkdtemp(dir=tmp))
    if who == "nodetrainer":
        cmd = [sys.executable, "-c", CLI, "train", str(graph), "--runs", str(out), "--threads", "1"]
    else:
        cmd = [sys.executable, __file__, "--child", who, str(graph), str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{who} {graph.name} failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")
    if who == "nodetrainer":
        summary = json.loads(next(out.glob("*/*/summary.json")).read_text())
        return secs, float(summary["duration_s"])
    return secs, float((out / "fit_seconds").read_text())


# -- profile of one CNN epoch -------------------------------------------------------------------------------
def profile_cnn(tmp: Path) -> dict:
    """torch.profiler tables (top ops by self CPU time) of NodeTrainer training the CNN, eager and compiled."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from nodetrainer.training.run import prepare
    torch.set_num_threads(1)
    tables = {}
    for compiled in (False, True):
        session = prepare(bench_graph("digits_cnn", 2, compiled, tmp), runs_dir=None)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            session.run()
        tables["compiled" if compiled else "eager"] = prof.key_averages().table(
            sort_by="self_cpu_time_total", row_limit=14, max_name_column_width=60)
    return tables


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--compiled-rounds", type=int, default=1,
                    help="rounds that include the compiled runs (each compiled process compiles: ~40 s here)")
    ap.add_argument("--epochs", default="2,12", help="the CNN's two epoch counts E1,E2")
    ap.add_argument("--mlp-epochs", default="2,62", help="the MLP's two epoch counts (its epochs are ~10x shorter)")
    ap.add_argument("--models", default="digits_mlp,digits_cnn")
    ap.add_argument("--contenders", default=",".join(CONTENDERS))
    ap.add_argument("--profile", action="store_true", help="add profiler tables of the CNN (eager, compiled)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" /
                                         f"lightning_cpu_{datetime.date.today().isoformat()}.json"))
    ap.add_argument("--child", nargs=3, metavar=("WHO", "GRAPH", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        import torch
        torch.set_num_threads(1)
        who, graph, out = args.child
        {"handwritten": child_handwritten, "lightning": child_lightning}[who](Path(graph), Path(out))
        return

    t_start = time.perf_counter()
    counts = {"digits_cnn": tuple(int(v) for v in args.epochs.split(",")),
              "digits_mlp": tuple(int(v) for v in args.mlp_epochs.split(","))}
    models = args.models.split(",")
    contenders = args.contenders.split(",")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    runs = [(who, m, mode) for m in models for mode in MODES for who in contenders]
    raw: dict[str, list] = {f"{w}/{m}/{mode}": [] for w, m, mode in runs}
    errors = []
    with tempfile.TemporaryDirectory(prefix="nt-lightning-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for r in range(args.rounds):
            order = runs if r % 2 == 0 else runs[::-1]
            for who, m, mode in order:
                key = f"{who}/{m}/{mode}"
                if mode == "compiled" and r >= args.compiled_rounds:
                    continue
                e1, e2 = counts[m]
                try:
                    secs, fit = {}, {}
                    for e in ((e1, e2) if r % 2 == 0 else (e2, e1)):
                        secs[e], fit[e] = run_child(who, bench_graph(m, e, mode == "compiled", tmp), tmp, env)
                    raw[key].append({"t1": round(secs[e1], 3), "t2": round(secs[e2], 3),
                                     "fit1": round(fit[e1], 3), "fit2": round(fit[e2], 3),
                                     "per_epoch": (secs[e2] - secs[e1]) / (e2 - e1),
                                     "per_epoch_in_fit": (fit[e2] - fit[e1]) / (e2 - e1)})
                    print(f"[{time.perf_counter() - t_start:6.0f} s] round {r + 1} {key}: "
                          f"{raw[key][-1]['per_epoch']:.3f} s/epoch (in fit: {raw[key][-1]['per_epoch_in_fit']:.3f})",
                          file=sys.stderr, flush=True)
                except Exception as exc:
                    errors.append(f"round {r + 1} {key}: {exc}")
                    print(errors[-1], file=sys.stderr, flush=True)
        profile = profile_cnn(tmp) if args.profile else None

    med = statistics.median
    results: dict = {}
    for key, rows in raw.items():
        if rows:
            results[key] = {"seconds_per_epoch": round(med(r["per_epoch"] for r in rows), 4),
                            "seconds_per_epoch_in_fit": round(med(r["per_epoch_in_fit"] for r in rows), 4),
                            "all_rounds": rows}

    def ratio(a: str, b: str, field: str) -> float | None:
        """b's per-epoch time / a's, per round, then the median (above 1: a is faster)."""
        ra, rb = raw.get(a, []), raw.get(b, [])
        pairs = [y[field] / x[field] for x, y in zip(ra, rb) if x[field] > 0]
        return round(med(pairs), 3) if pairs else None

    ratios, ratios_in_fit = {}, {}
    for field, out in (("per_epoch", ratios), ("per_epoch_in_fit", ratios_in_fit)):
        for m in models:
            for mode in MODES:
                out[f"{m}/{mode}: lightning/nodetrainer"] = ratio(f"nodetrainer/{m}/{mode}", f"lightning/{m}/{mode}",
                                                                  field)
                out[f"{m}/{mode}: handwritten/nodetrainer"] = ratio(f"nodetrainer/{m}/{mode}",
                                                                    f"handwritten/{m}/{mode}", field)
            for who in contenders:
                out[f"{m}: {who} eager/compiled"] = ratio(f"{who}/{m}/compiled", f"{who}/{m}/eager", field)
    import torch
    report = {
        "bench": "whole processes: train, validate and keep the best checkpoint every epoch (CPU)",
        "torch": torch.__version__, "python": sys.version.split()[0], "cores": os.cpu_count(), "threads": 1,
        "epochs": {m: list(counts[m]) for m in models}, "rounds": args.rounds, "compiled_rounds": args.compiled_rounds,
        "how": "seconds_per_epoch = (T(E2) - T(E1)) / (E2 - E1) of whole-process wall times; ratios per round, "
               "then the median; a ratio x/y above 1 means y is faster",
        "target": "digits_cnn: nodetrainer eager/compiled >= 1.2",
        "target_met": (ratios.get("digits_cnn: nodetrainer eager/compiled") or 0) >= 1.2,
        "target_met_in_fit": (ratios_in_fit.get("digits_cnn: nodetrainer eager/compiled") or 0) >= 1.2,
        "ratios": ratios,
        "ratios_in_fit": ratios_in_fit,
        "in_fit_note": "the same two-epoch-count difference of the time each process spent in its training call "
                       "(NodeTrainer: summary.json's duration_s; Lightning: Trainer.fit; hand-written: its loop): "
                       "process start-up noise of this loaded machine (seconds) does not enter it",
        "results": results, "errors": errors,
        "total_seconds": round(time.perf_counter() - t_start, 1),
    }
    if profile:
        report["profile_cnn_one_run_of_2_epochs"] = profile
    text = json.dumps(report, indent=2)
    Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
