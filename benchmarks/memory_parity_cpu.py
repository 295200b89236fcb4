"""Does NodeTrainer's training step hold more memory than a hand-written one? Measured on the CPU.

    python benchmarks/memory_parity_cpu.py [--size 112] [--batch 8] [--steps 3]

The GPU check of 2026-11-26 reported ResNet-18 at batch 256 peaking at 10.6 GB under NodeTrainer against
7.0 GB hand-written in fp32/tf32 (bf16/fp16 matched). This script looks for anything in NodeTrainer's own
step that could hold extra activations or gradients (gradient-health reports, a loss kept with its graph,
outputs kept for metrics, zero_grad without set_to_none, the best-weights copy, autocast differences) by
running the same ResNet-18 (graphs/resnet18.yaml, its Input resized to --size) for --steps optimizer steps
through `Trainer.fit()` and through a hand-written loop, each under torch.profiler with profile_memory=True,
and integrating the allocations and frees of every op in time order into a live-bytes curve: its maximum is
the peak. The difference of the peaks, and how it compares with the size of the weights (NodeTrainer keeps
one copy of the best weights on the device), says whether the step holds more than the hand-written one.

cuDNN autotuning (the GPU-only suspect) cannot show here; gpu_check.py now separates the first epoch's peak
(autotuning) from the steady one. Writes benchmarks/results/memory_parity_cpu_<date>.json.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

MIB = 2**20


def peak_bytes(fn) -> tuple[int, int]:
    """(peak, final) live bytes allocated on the CPU while fn() runs, from the profiler's memory records."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    live = peak = 0
    for e in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += e.self_cpu_memory_usage
        peak = max(peak, live)
    return peak, live


def setup(size: int, precision: str, batch: int, steps: int):
    from nodetrainer.compiler import compile_graph
    from nodetrainer.graphfile import load_graph
    from nodetrainer.training.seeding import seed_everything
    g = load_graph(ROOT / "graphs" / "resnet18.yaml").copy()
    inputs = g.input_ids()
    g.nodes[inputs[0]].params["shape"] = [3, size, size]
    training = dict(g.training or {})
    training.pop("early_stopping", None)
    training.update({"epochs": 1, "batch_size": batch, "precision": precision, "device": "cpu",
                     "scheduler": {"type": "none"}})
    g.training = training
    cfg = g.training_config()
    seed_everything(0)
    model = compile_graph(g)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((batch * steps, 3, size, size), generator=gen)
    y = torch.randint(0, 1000, (batch * steps,), generator=gen)
    return cfg, model, x, y


def run_nodetrainer(size, precision, batch, steps, grad_stats: bool):
    from nodetrainer.training.trainer import Trainer, TrainerOptions
    cfg, model, x, y = setup(size, precision, batch, steps)
    trainer = Trainer(model, cfg, (x, y), task="classification", num_classes=1000, num_outputs=1000,
                      options=TrainerOptions(grad_stats=grad_stats, channels_last=False))
    result = trainer.fit()
    assert result.reason == "completed", result.error


def run_handwritten(size, precision, batch, steps):
    from nodetrainer.training.optimizers import build_optimizer
    cfg, model, x, y = setup(size, precision, batch, steps)
    opt = build_optimizer(cfg.optimizer, model)
    dtype = {"bf16": torch.bfloat16}.get(precision)
    total = torch.zeros((), dtype=torch.float64)
    model.train()
    for i in range(steps):
        xb, yb = x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.detach() * len(xb)
    float(total)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg, model, x, _ = setup(args.size, "fp32", args.batch, args.steps)
    weights_mib = sum(p.numel() * p.element_size() for p in model.parameters()) / MIB
    data_mib = x.numel() * x.element_size() / MIB
    out = {"bench": "peak CPU memory of ResNet-18 training steps: NodeTrainer's Trainer.fit vs a hand-written loop",
           "torch": torch.__version__, "image_size": args.size, "batch": args.batch, "steps": args.steps,
           "weights_mib": round(weights_mib, 1), "data_mib": round(data_mib, 1), "results": {}}
    for precision in ("fp32", "bf16"):
        row = {}
        for name, fn in (("handwritten", lambda: run_handwritten(args.size, precision, args.batch, args.steps)),
                         ("nodetrainer", lambda: run_nodetrainer(args.size, precision, args.batch, args.steps, True)),
                         ("nodetrainer_no_grad_stats",
                          lambda: run_nodetrainer(args.size, precision, args.batch, args.steps, False))):
            peak, final = peak_bytes(fn)
            row[name] = {"peak_mib": round(peak / MIB, 1), "retained_at_end_mib": round(final / MIB, 1)}
        diff = row["nodetrainer"]["peak_mib"] - row["handwritten"]["peak_mib"]
        row["peak_difference_mib"] = round(diff, 1)
        row["peak_difference_in_weight_copies"] = round(diff / weights_mib, 2)
        row["peak_ratio_nodetrainer/handwritten"] = round(row["nodetrainer"]["peak_mib"] /
                                                          row["handwritten"]["peak_mib"], 3)
        out["results"][precision] = row
        print(precision, row, file=sys.stderr)
    path = ROOT / "benchmarks" / "results" / f"memory_parity_cpu_{datetime.date.today().isoformat()}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
