"""What edges to unknown ids cost `nodetrainer check`: linear, not (unknown ids) x (nodes).

    python benchmarks/reader_bench.py [--sizes 1000 3000] [--rounds 3]

For N in --sizes, a file with N ReLU nodes and N edges, once with every edge naming an unknown,
near-miss id (`nodx_7 -> node_7`: each would get a did-you-mean) and once, as the baseline of the same
size, with every edge naming a declared node. Both are read and checked in this process
(`read_graph` + `check_graph`, what `check` and the editor do), alternating, medians of --rounds.
Prints JSON: seconds per case and the ratio unknown / known. Target: ratio <= 3 at every size (the
did-you-mean budget bounds the extra work; before it, 1,000 such edges took 20 s and 3,000 took 332 s
on the shared 2-core machine, process start included).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nodetrainer.graphfile import read_graph  # noqa: E402
from nodetrainer.validate import check_graph  # noqa: E402


def make(n: int, unknown: bool) -> str:
    lines = ["nodetrainer: 1", "name: many", "nodes:", "  image: {type: Input, shape: [4]}", "  out: {type: Output}"]
    lines += [f"  node_{i}: {{type: ReLU}}" for i in range(n)]
    lines += ["edges:", "  - image -> out"]
    lines += [f"  - {'nodx' if unknown else 'image'}_{i} -> node_{i}" if unknown else f"  - image -> node_{i}"
              for i in range(n)]
    return "\n".join(lines) + "\n"


def seconds(text: str) -> float:
    start = time.perf_counter()
    graph, problems = read_graph(text, "many.yaml")
    check_graph(graph)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report = {}
    for n in args.sizes:
        texts = {"unknown": make(n, True), "known": make(n, False)}
        times = {k: [] for k in texts}
        for _ in range(args.rounds):
            for kind, text in texts.items():
                times[kind].append(seconds(text))
        med = {k: statistics.median(v) for k, v in times.items()}
        report[str(n)] = {"unknown_s": round(med["unknown"], 3), "known_s": round(med["known"], 3),
                          "ratio": round(med["unknown"] / med["known"], 2), "met": med["unknown"] / med["known"] <= 3}
    print(json.dumps({"check_seconds_by_edges": report, "target_ratio": 3}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
