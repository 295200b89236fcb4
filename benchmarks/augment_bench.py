"""Augmentation benchmark: training samples/s with and without data.augment, and its accuracy effect.

    .venv/bin/python benchmarks/augment_bench.py --out benchmarks/results/augment_cpu_2026-11-30.json
    .venv/bin/python benchmarks/augment_bench.py --quick                 # small, for a smoke run
    .venv/bin/python benchmarks/augment_bench.py --device cuda           # ResNet-18 on synthetic images (GPU)

Prints one JSON document (and writes it with --out). A benchmark, not a test: nothing fails on
a missed target; the JSON says whether it was met. Targets (issue 14):

- speed: the digits CNN (graphs/digits_cnn.yaml) trained through `prepare` on the CPU with
  and without augmentation, interleaved round by round in this one process (plain, augmented,
  plain, ...), each round a fresh session of --speed-epochs epochs; samples/s is the trainer's
  own count of training samples over training seconds (evaluation excluded). The ratio is the
  median over rounds of (augmented samples/s / plain samples/s); target: augmentation at most
  15 % slower (ratio >= 0.85) for the set of changes used on digits, also reported for all six
  changes at once (flip included, which digits do not want).
- accuracy: test accuracy of the digits CNN with and without the digits augmentation over
  --seeds seeds (training.seed) at --epochs epochs each; mean, standard deviation and per seed.
- `--device cuda`: the same speed comparison for ResNet-18 (graphs/resnet18.yaml, 3x224x224)
  on a synthetic NPZ of random images, on the GPU; no accuracy part.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

DIGITS_AUGMENT = {"crop": 1, "rotate": 10, "scale": [0.9, 1.1]}  # changes that keep a digit a digit
ALL_AUGMENT = {"flip": True, "crop": 1, "rotate": 10, "scale": [0.9, 1.1], "jitter": 0.2, "cutout": 2}
TARGET_RATIO = 0.85


def _graph(path: Path, augment: dict | None, data: dict | None = None) -> Any:
    from nodetrainer.graphfile import load_graph
    g = load_graph(path)
    section = dict(data if data is not None else g.data)
    section.pop("augment", None)
    if augment:
        section["augment"] = dict(augment)
    g.data = section
    return g


def _session(g: Any, overrides: dict) -> Any:
    from nodetrainer.training.run import prepare
    from nodetrainer.training.trainer import TrainerOptions
    return prepare(g, overrides, runs_dir=None, options=TrainerOptions(grad_stats=False))


def speed(path: Path, device: str, rounds: int, epochs: int, batch_size: int | None,
          data: dict | None = None) -> dict[str, Any]:
    """Interleaved rounds: plain, digits augmentation, all changes; samples/s of each and ratios."""
    modes = {"plain": None, "augment": DIGITS_AUGMENT, "augment_all": ALL_AUGMENT}
    rates: dict[str, list[float]] = {m: [] for m in modes}
    overrides: dict[str, Any] = {"epochs": epochs, "device": device}
    if batch_size:
        overrides["batch_size"] = batch_size
    for _ in range(rounds):
        for mode, augment in modes.items():
            g = _graph(path, augment, data)
            g.data = {**g.data, "split": {"val": 0.0, "test": 0.0, "seed": 0}}  # the speed of training alone
            g.training = {k: v for k, v in (g.training or {}).items() if k != "early_stopping"}
            session = _session(g, overrides)
            session.run()
            t = session.trainer
            rates[mode].append(t.samples_seen / max(t.train_seconds, 1e-9))
    out: dict[str, Any] = {"rounds": rounds, "epochs_per_round": epochs, "device": device,
                           "samples_per_s": {m: [round(r, 1) for r in v] for m, v in rates.items()},
                           "median_samples_per_s": {m: round(statistics.median(v), 1) for m, v in rates.items()}}
    for mode in ("augment", "augment_all"):
        ratios = [a / p for a, p in zip(rates[mode], rates["plain"])]
        out[f"ratio_{mode}"] = round(statistics.median(ratios), 3)
        out[f"ratios_{mode}"] = [round(r, 3) for r in ratios]
    out["augment_settings"], out["augment_all_settings"] = DIGITS_AUGMENT, ALL_AUGMENT
    return out


def accuracy(path: Path, seeds: int, epochs: int) -> dict[str, Any]:
    """Test accuracy with and without the digits augmentation over `seeds` seeds."""
    acc: dict[str, list[float]] = {"plain": [], "augment": []}
    ran: dict[str, list[int]] = {"plain": [], "augment": []}
    for seed in range(seeds):
        for mode, augment in (("plain", None), ("augment", DIGITS_AUGMENT)):
            result = _session(_graph(path, augment), {"epochs": epochs, "device": "cpu", "seed": seed}).run()
            acc[mode].append(float((result.test or {}).get("accuracy", float("nan"))))
            ran[mode].append(int(result.epochs_run))
    summary = {m: {"mean": round(statistics.mean(v), 4), "std": round(statistics.pstdev(v), 4),
                   "per_seed": [round(a, 4) for a in v], "epochs_run": ran[m]} for m, v in acc.items()}
    summary["difference_mean"] = round(summary["augment"]["mean"] - summary["plain"]["mean"], 4)
    return {"seeds": seeds, "epochs": epochs, "augment_settings": DIGITS_AUGMENT, **summary}


def synthetic_images(folder: Path, n: int = 2000, classes: int = 1000) -> dict:
    """An NPZ of random 3x224x224 images (every class present) for ResNet-18; the data section to use it."""
    rng = np.random.default_rng(0)
    path = folder / "synthetic.npz"
    np.savez(path, x=rng.random((n, 3, 224, 224), dtype=np.float32), y=np.arange(n) % classes)
    return {"source": f"npz:{path}", "split": {"val": 0.0, "test": 0.0, "seed": 0}, "normalize": "standard"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (digits CNN) or cuda (ResNet-18, synthetic images)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--speed-epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30, help="epochs of each accuracy run (early stopping as the file says)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2 rounds, 2 seeds, 3 epochs")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seeds, args.epochs, args.speed_epochs = 2, 2, 3, 1
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "augment", "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
        "cpu_count": os.cpu_count(), "threads": args.threads, "torch": torch.__version__,
        "python": platform.python_version(), "target": f"augmented samples/s >= {TARGET_RATIO} x plain (CPU)"}
    if args.device.startswith("cuda"):
        with tempfile.TemporaryDirectory() as tmp:
            data = synthetic_images(Path(tmp))
            result["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
            result["speed_resnet18"] = speed(ROOT / "graphs" / "resnet18.yaml", args.device, args.rounds,
                                             args.speed_epochs, 128, data)
            result["target_met"] = result["speed_resnet18"]["ratio_augment"] >= TARGET_RATIO
    else:
        result["speed_digits_cnn"] = speed(ROOT / "graphs" / "digits_cnn.yaml", "cpu", args.rounds,
                                           args.speed_epochs, None)
        result["target_met"] = result["speed_digits_cnn"]["ratio_augment"] >= TARGET_RATIO
        result["accuracy_digits_cnn"] = accuracy(ROOT / "graphs" / "digits_cnn.yaml", args.seeds, args.epochs)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
