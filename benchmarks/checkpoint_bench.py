"""What checkpointing costs a small model: seconds per epoch of the digits MLP with and without it.

    python benchmarks/checkpoint_bench.py [--rounds 6] [--epochs 8] [--threads 1]

Modes, interleaved round by round (the order rotates, so machine noise hits all alike):

- `none`: no run folder, nothing written (the baseline);
- `default`: a run folder with the default policy (last.pt after the first epoch, then every 10 s,
  snapshot in memory and written by the background thread);
- `every_epoch`: the same with checkpoint_interval_s = 0, a snapshot after every epoch (the worst case
  of the policy, showing what one background write costs the training thread).

An epoch's time is the gap between consecutive EpochEnded events (epochs 2..N), so it includes taking
the snapshot and the background thread's competition for the CPU; the run's final writes are reported
apart (`end_s`: from the last EpochEnded to the end of fit). Prints JSON with medians, the ratios to
`none`, and the median over rounds of each round's ratio (runs of one round are back to back, so this
one cancels slow drifts of the machine's load); target: that `default / none` <= 1.02.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from nodetrainer.training import events as ev  # noqa: E402
from nodetrainer.training.run import prepare  # noqa: E402
from nodetrainer.training.trainer import TrainerOptions  # noqa: E402

MODES = {"none": None, "default": TrainerOptions().checkpoint_interval_s, "every_epoch": 0.0}


def one_run(mode: str, epochs: int, runs: Path) -> tuple[list[float], float]:
    interval = MODES[mode]
    options = TrainerOptions() if interval is None else TrainerOptions(checkpoint_interval_s=interval)
    session = prepare(ROOT / "graphs" / "digits_mlp.yaml", {"epochs": epochs, "device": "cpu",
                                                           "early_stopping.patience": 10_000},
                      runs_dir=None if interval is None else runs, options=options)
    stamps: list[float] = []
    session.subscribe(lambda e: stamps.append(time.perf_counter()) if isinstance(e, ev.EpochEnded) else None)
    result = session.run()
    end = time.perf_counter()
    assert result.reason == "completed" and not result.unsaved, result
    return [b - a for a, b in zip(stamps, stamps[1:])], end - stamps[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gaps: dict[str, list[float]] = {m: [] for m in MODES}
    ends: dict[str, list[float]] = {m: [] for m in MODES}
    paired: dict[str, list[float]] = {m: [] for m in MODES}  # per round: this mode's median epoch / none's
    order = list(MODES)
    with tempfile.TemporaryDirectory() as tmp:
        one_run("none", 2, Path(tmp))  # warm-up: imports, data, first allocations
        for r in range(args.rounds):
            round_median = {}
            for mode in order[r % len(order):] + order[:r % len(order)]:
                g, e = one_run(mode, args.epochs, Path(tmp) / "runs")
                gaps[mode] += g
                ends[mode].append(e)
                round_median[mode] = statistics.median(g)
            for mode in MODES:
                paired[mode].append(round_median[mode] / round_median["none"])
    median = {m: statistics.median(v) for m, v in gaps.items()}
    paired_ratio = {m: statistics.median(v) for m, v in paired.items()}
    report = {
        "model": "graphs/digits_mlp.yaml (train split 1258 samples, batch 64)",
        "threads": args.threads, "rounds": args.rounds, "epochs_per_run": args.epochs,
        "seconds_per_epoch_median": {m: round(v, 5) for m, v in median.items()},
        "ratio_to_none": {m: round(v / median["none"], 3) for m, v in median.items()},
        "ratio_to_none_paired_by_round": {m: round(v, 3) for m, v in paired_ratio.items()},
        "end_s_median": {m: round(statistics.median(v), 4) for m, v in ends.items()},
        "target_default_over_none": 1.02,
        "met": paired_ratio["default"] <= 1.02,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
