"""Channels-last vs contiguous memory format on the CPU: digits CNN graphs, interleaved rounds.

    python benchmarks/channels_last_bench.py [--rounds 5] [--threads 1]

Each round trains every graph twice through prepare()/run() (3 epochs, no run
folder, no gradient reports), once with TrainerOptions(channels_last=True) and
once with False, alternating which goes first; an epoch's time is the median of
epochs 2-3 (the first warms up). Ratios are per round (channels-last epoch time /
contiguous epoch time; below 1 means channels-last is faster), then the median.
Writes benchmarks/results/channels_last_cpu_<date>.json. This decides the CPU part
of the rule in nodetrainer/training/channels_last.py.
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from nodetrainer.training.run import prepare  # noqa: E402
from nodetrainer.training.trainer import TrainerOptions  # noqa: E402

GRAPHS = ("graphs/digits_cnn.yaml", "graphs/digits_resnet.yaml")


def epoch_time(graph: str, channels_last: bool) -> float:
    session = prepare(ROOT / graph, {"epochs": 3, "device": "cpu"}, runs_dir=None,
                      options=TrainerOptions(channels_last=channels_last, grad_stats=False))
    result = session.run()
    return statistics.median(row["seconds"] for row in result.history[1:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = {"bench": "channels-last vs contiguous, CPU", "torch": torch.__version__, "threads": args.threads,
           "rounds": args.rounds, "results": {}}
    for graph in GRAPHS:
        times = {True: [], False: []}
        for r in range(args.rounds):
            for cl in ((False, True) if r % 2 == 0 else (True, False)):
                times[cl].append(epoch_time(graph, cl))
        ratios = [a / b for a, b in zip(times[True], times[False])]
        out["results"][graph] = {"channels_last_epoch_s": [round(x, 4) for x in times[True]],
                                 "contiguous_epoch_s": [round(x, 4) for x in times[False]],
                                 "ratio_channels_last/contiguous_time": round(statistics.median(ratios), 3),
                                 "ratio_all_rounds": [round(x, 3) for x in ratios]}
        print(graph, out["results"][graph], file=sys.stderr)
    path = ROOT / "benchmarks" / "results" / f"channels_last_cpu_{datetime.date.today().isoformat()}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
