"""A newcomer's first CNN with the app's new-graph defaults: test accuracy and time over seeds (CPU).

    .venv/bin/python benchmarks/newcomer_bench.py                 # 2 networks x 3 settings x 5 seeds, a few minutes
    .venv/bin/python benchmarks/newcomer_bench.py --seeds 1       # a smoke run
    .venv/bin/python benchmarks/newcomer_bench.py -o benchmarks/results/newcomer_cpu.json

Prints one JSON document (and writes it with -o). Not a test: nothing here fails on a missed target; the JSON
says which targets were met. Targets (issue 8, "Defaults that reach a good model"), every training default of a
new graph untouched, one torch thread (the other core of a 2-core machine is the UI's):

- the newcomer CNN, Input -> Conv2d 32 (kernel 3, padding 1) -> BatchNorm -> ReLU -> MaxPool2d -> Conv2d 64 ->
  ReLU -> GlobalAvgPool -> Linear 10 -> Output: test accuracy >= 0.97, under 60 s a run;
- the same with Flatten instead of GlobalAvgPool: >= 0.98, under 60 s a run.

The networks are built as the app builds them: `starter_graph()` (File > New: its data and training
sections), each node with the palette's starting parameters (`starter_params`), then only the edits a
newcomer makes (padding 1 on the first convolution, 64 filters on the second, 10 outputs on the Linear).
Each seed is `training.seed` (weights, batch order); the split is the new graph's own (seed 0).

Baseline, measured in the same run, alternating with the defaults seed by seed so load from other
processes hits both alike: the same graphs with the file format's defaults (`training` left out: Adam
1e-3, no schedule, 20 epochs) on the same split. `gain` is the median accuracy difference. Also
reported, without a target: `early_stopping`, the new graph after ticking early stopping in the app
(which raises epochs to 100 as its upper bound).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from nodetrainer.graph import Graph  # noqa: E402
from nodetrainer.templates import (EARLY_STOPPING_EPOCHS, STARTER_DATA, STARTER_TRAINING, id_stem,  # noqa: E402
                                   starter_graph, starter_params)
from nodetrainer.training.run import prepare  # noqa: E402
from nodetrainer.validate import check_graph  # noqa: E402

# (type, the newcomer's own edits on top of the palette's starting parameters)
NEWCOMER = [("Input", {}), ("Conv2d", {"padding": 1}), ("BatchNorm", {}), ("ReLU", {}), ("MaxPool2d", {}),
            ("Conv2d", {"out_channels": 64}), ("ReLU", {}), ("GlobalAvgPool", {}), ("Linear", {"out_features": 10}),
            ("Output", {})]
NETWORKS = {"gap": "GlobalAvgPool", "flatten": "Flatten"}
TARGETS = {"gap": 0.97, "flatten": 0.98}
TIME_LIMIT_S = 60.0


def newcomer_graph(head: str, training: dict[str, Any] | None = None) -> Graph:
    """The newcomer CNN (with `head` before the Linear) on a new graph, as the palette builds it."""
    graph = starter_graph("newcomer-" + head.lower())
    if training is not None:
        graph.training = copy.deepcopy(training) or None
    previous = None
    for node_type, edits in NEWCOMER:
        node_type = head if node_type == "GlobalAvgPool" else node_type
        node_id = graph.unused_id(id_stem(node_type) if node_type in ("Input", "Output") else f"{id_stem(node_type)}1")
        graph.add_node(node_id, node_type, {**starter_params(node_type), **edits})
        if previous is not None:
            graph.connect(previous, node_id)
        previous = node_id
    problems = check_graph(graph).problems
    assert not problems, problems
    return graph


def train_once(graph: Graph, seed: int) -> dict[str, Any]:
    """One run as Train does it: pre-flight (data, compile) and training; wall_s counts both."""
    started = time.perf_counter()
    session = prepare(graph, {"seed": seed}, runs_dir=None)  # the loop as the app and the CLI run it
    prepared = time.perf_counter()
    result = session.run()
    ended = time.perf_counter()
    assert result.reason in ("completed", "early_stopped"), result.error
    return {"seed": seed, "test_accuracy": result.test["accuracy"], "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run, "wall_s": round(ended - started, 2),
            "prepare_s": round(prepared - started, 2)}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    accs = [r["test_accuracy"] for r in runs]
    walls = [r["wall_s"] for r in runs]
    return {"test_accuracy_median": statistics.median(accs), "test_accuracy_min": min(accs),
            "wall_s_median": statistics.median(walls), "wall_s_max": max(walls), "runs": runs}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="training seeds 0..N-1 (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one core left to the UI)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="only the new-graph defaults (no format-defaults baseline, no early-stopping variant)")
    parser.add_argument("-o", "--output", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seeds = list(range(args.seeds))
    out: dict[str, Any] = {
        "benchmark": "newcomer_bench",
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
                    "threads": args.threads, "device": "cpu", "cpus": os.cpu_count(),
                    "load_average_at_start": os.getloadavg()},
        "new_graph": {"data": STARTER_DATA, "training": STARTER_TRAINING},
        "seeds": seeds,
        "networks": {},
    }
    started = time.perf_counter()
    for name, head in NETWORKS.items():
        ticked = {**STARTER_TRAINING, "epochs": EARLY_STOPPING_EPOCHS, "early_stopping": {}}
        graphs = {"defaults": newcomer_graph(head), "format_defaults": newcomer_graph(head, {}),
                  "early_stopping": newcomer_graph(head, ticked)}
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in graphs}
        for seed in seeds:
            for kind, graph in graphs.items():
                if kind != "defaults" and args.no_baseline:
                    continue
                runs[kind].append(train_once(graph, seed))
                print(f"{name} {kind} seed {seed}: {runs[kind][-1]}", file=sys.stderr, flush=True)
        entry = {"head": head, "defaults": summarize(runs["defaults"])}
        if runs["format_defaults"]:
            entry["format_defaults"] = summarize(runs["format_defaults"])
            entry["gain"] = entry["defaults"]["test_accuracy_median"] - entry["format_defaults"]["test_accuracy_median"]
        if runs["early_stopping"]:
            entry["early_stopping"] = summarize(runs["early_stopping"])
        d = entry["defaults"]
        entry["target"] = {"test_accuracy": TARGETS[name], "wall_s_under": TIME_LIMIT_S,
                           "met": d["test_accuracy_min"] >= TARGETS[name] and d["wall_s_max"] < TIME_LIMIT_S}
        out["networks"][name] = entry
    out["total_s"] = round(time.perf_counter() - started, 1)
    out["machine"]["load_average_at_end"] = os.getloadavg()
    out["all_targets_met"] = all(e["target"]["met"] for e in out["networks"].values())
    text = json.dumps(out, indent=2)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    return out


if __name__ == "__main__":
    main()
