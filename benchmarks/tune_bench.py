"""Tuning benchmarks (CPU): what pruning saves and costs, --jobs 2 against --jobs 1, and a trial's overhead
against `nodetrainer train`.

    .venv/bin/python benchmarks/tune_bench.py                    # full run: about 15-30 minutes on 2 cores
    .venv/bin/python benchmarks/tune_bench.py --quick            # every part, small: a few minutes
    .venv/bin/python benchmarks/tune_bench.py --only pruning --trials 30 --epochs 15

Prints one JSON document (and writes it with --out). Benchmarks, not tests: nothing fails on a missed
target; the JSON says which were met. Targets (issue 10):

- pruning: the digits CNN (graphs/digits_cnn.yaml), N trials of TPE over the learning rate (log), weight
  decay (log), dropout, the width of conv1 and the batch size, with the median pruner and without; the
  same sampler seed. Pruning saves >= 40 % of the epochs trained and costs <= 0.3 points of the best
  validation accuracy. Also: the best trial's test accuracy and its gain over trial 0 (the file's values).
- jobs: trials per minute of the same small study with --jobs 2 (two worker processes, one torch thread
  each, on the folder's SQLite study) and --jobs 1 (this process, torch threads = cores, as the command
  line does; and with one thread, for reference), and that the shared study's trial numbers are distinct,
  none is lost and the summary counts them all.
- overhead: a trial's training throughput (samples/s) within 5 % of `nodetrainer train` on the same
  graph (runs alternate, medians), and the wall time of each.

The machine's load average at start and end is in the JSON: these machines are shared, and the figures
are only as quiet as the machine was. Threads: 1 unless a part says otherwise (a 2-thread OpenMP team
stalls on a shared 2-core machine, see training_bench.py).
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

SPACE = {
    "training.optimizer.lr": {"log_uniform": [1.0e-4, 3.0e-2]},
    "training.optimizer.weight_decay": {"log_uniform": [1.0e-6, 1.0e-2]},
    "nodes.drop.p": {"uniform": [0.0, 0.6]},
    "nodes.conv1.out_channels": {"int": [8, 64], "log": True},
    "training.batch_size": {"choice": [32, 64, 128]},
}


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def digits_cnn(epochs: int | None) -> Any:
    from nodetrainer.graphfile import load_graph
    graph = load_graph(ROOT / "graphs" / "digits_cnn.yaml")
    if epochs is not None:
        training = dict(graph.training)
        training["epochs"] = epochs
        graph.training = training
    return graph


def test_accuracy(run_dir: str | None) -> float | None:
    if not run_dir:
        return None
    try:
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return (summary.get("test") or {}).get("accuracy")


def study(graph: Any, runs: Path, tune: dict[str, Any], threads: int, jobs: int = 1) -> dict[str, Any]:
    from nodetrainer.tune.plan import plan_tune
    from nodetrainer.tune.records import best_of
    from nodetrainer.tune.runner import run_study

    plan = plan_tune(graph, runs_dir=runs, tune=tune)
    t0 = time.perf_counter()
    result = run_study(plan, jobs=jobs, threads=threads)
    wall = time.perf_counter() - t0
    recs = result.records
    best = best_of(recs, plan.direction)
    base = next((r for r in recs if r.baseline), None)
    finished = [r for r in recs if r.finished]
    return {
        "folder": str(result.folder),
        "wall_s": round(wall, 1),
        "trials_finished": len(finished),
        "trials_per_min": round(len(finished) / wall * 60, 2),
        "epochs_trained": result.summary["epochs_trained"],
        "n_complete": result.summary["n_complete"], "n_pruned": result.summary["n_pruned"],
        "n_failed": result.summary["n_failed"],
        "pruned_at_epochs": sorted(r.pruned_epoch for r in recs if r.state == "pruned"),
        "best_trial": best.number if best else None,
        "best_val_accuracy": best.value if best else None,
        "best_params": best.values if best else None,
        "best_test_accuracy": test_accuracy(best.run_dir) if best else None,
        "baseline_val_accuracy": base.value if base else None,
        "baseline_test_accuracy": test_accuracy(base.run_dir) if base else None,
        "trial_numbers": [r.number for r in recs],
        "summary_counts_all": result.summary["n_complete"] + result.summary["n_pruned"]
        + result.summary["n_failed"] == len(finished),
    }


def part_pruning(args: argparse.Namespace, runs: Path) -> dict[str, Any]:
    """Per seed (the file's training seed, which also seeds the sampler): the study with the median pruner and
    without; medians over seeds."""
    out: dict[str, Any] = {"trials": args.trials, "space": SPACE, "seeds": list(range(args.seeds)), "by_seed": []}
    for seed in range(args.seeds):
        graph = digits_cnn(args.epochs)
        training = dict(graph.training)
        training["seed"] = seed
        graph.training = training
        out["epochs_per_trial"] = training["epochs"]
        out["early_stopping"] = training.get("early_stopping")
        one: dict[str, Any] = {"seed": seed}
        for pruner in ("median", "none"):
            tune = {"metric": "val_accuracy", "direction": "maximize", "sampler": "tpe", "pruner": pruner,
                    "trials": args.trials, "space": SPACE}
            one[pruner] = study(graph, runs / f"s{seed}" / pruner, tune, args.threads)
            print(f"pruning: seed {seed} {pruner} done: {one[pruner]['wall_s']} s", file=sys.stderr, flush=True)
        med, none = one["median"], one["none"]
        one["epochs_saved_share"] = round(1 - med["epochs_trained"] / none["epochs_trained"], 3)
        one["best_val_accuracy_cost_points"] = round((none["best_val_accuracy"] - med["best_val_accuracy"]) * 100, 2)
        if none["best_test_accuracy"] is not None and med["best_test_accuracy"] is not None:
            one["best_test_accuracy_cost_points"] = round((none["best_test_accuracy"] - med["best_test_accuracy"])
                                                          * 100, 2)
        for name in ("median", "none"):
            s = one[name]
            if s["best_test_accuracy"] is not None and s["baseline_test_accuracy"] is not None:
                s["test_gain_over_baseline_points"] = round((s["best_test_accuracy"] - s["baseline_test_accuracy"])
                                                            * 100, 2)
            if s["best_val_accuracy"] is not None and s["baseline_val_accuracy"] is not None:
                s["val_gain_over_baseline_points"] = round((s["best_val_accuracy"] - s["baseline_val_accuracy"])
                                                           * 100, 2)
        out["by_seed"].append(one)
    saved = statistics.median(o["epochs_saved_share"] for o in out["by_seed"])
    cost = statistics.median(o["best_val_accuracy_cost_points"] for o in out["by_seed"])
    out["median_epochs_saved_share"] = saved
    out["median_best_val_accuracy_cost_points"] = cost
    tests = [o["best_test_accuracy_cost_points"] for o in out["by_seed"] if "best_test_accuracy_cost_points" in o]
    out["median_best_test_accuracy_cost_points"] = statistics.median(tests) if tests else None
    val_size = None
    try:
        graph = digits_cnn(None)
        val_size = round(1797 * graph.data["split"]["val"])
    except Exception:
        pass
    out["one_validation_sample_in_points"] = round(100 / val_size, 2) if val_size else None
    out["targets"] = {"pruning saves >= 40 % of the epochs": saved >= 0.40,
                      "pruning costs <= 0.3 points of best validation accuracy": cost <= 0.3}
    return out


def part_jobs(args: argparse.Namespace, runs: Path) -> dict[str, Any]:
    graph = digits_cnn(args.jobs_epochs)
    tune = {"metric": "val_accuracy", "direction": "maximize", "sampler": "random", "pruner": "none",
            "trials": args.jobs_trials, "space": SPACE}
    cores = os.cpu_count() or 1
    out: dict[str, Any] = {"trials": args.jobs_trials, "epochs_per_trial": graph.training["epochs"], "cores": cores}
    out["jobs_1_threads_cores"] = study(graph, runs / "j1", tune, threads=cores)
    print("jobs: 1 done", file=sys.stderr, flush=True)
    out["jobs_2"] = study(graph, runs / "j2", tune, threads=max(1, cores // 2), jobs=2)
    print("jobs: 2 done", file=sys.stderr, flush=True)
    out["jobs_1_thread_1"] = study(graph, runs / "j1t1", tune, threads=1)
    print("jobs: 1 (1 thread) done", file=sys.stderr, flush=True)
    j2 = out["jobs_2"]
    numbers = j2["trial_numbers"]
    out["shared_storage_check"] = {"distinct_numbers": len(numbers) == len(set(numbers)),
                                   "none_lost": numbers == list(range(len(numbers))),
                                   "summary_counts_all": j2["summary_counts_all"],
                                   "finished": j2["trials_finished"]}
    out["trials_per_min_ratio_jobs2_over_jobs1"] = round(j2["trials_per_min"]
                                                         / out["jobs_1_threads_cores"]["trials_per_min"], 2)
    out["trials_per_min_ratio_jobs2_over_jobs1_one_thread"] = round(
        j2["trials_per_min"] / out["jobs_1_thread_1"]["trials_per_min"], 2)
    return out


def part_overhead(args: argparse.Namespace, runs: Path) -> dict[str, Any]:
    """`nodetrainer train` (prepare + run with a run folder, its defaults) against a one-trial study of the same
    graph (trial 0: the file's values), alternating."""
    import torch

    from nodetrainer.training.run import prepare
    from nodetrainer.tune.plan import plan_tune
    from nodetrainer.tune.runner import run_study

    torch.set_num_threads(args.threads)
    graph = digits_cnn(args.overhead_epochs)
    training = dict(graph.training)
    training.pop("early_stopping", None)  # the same number of epochs in both
    graph.training = training
    tune = {"metric": "val_accuracy", "pruner": "none", "trials": 1,
            "space": {"nodes.drop.p": {"uniform": [0.0, 0.6]}}}
    train_rate, trial_rate, train_wall, trial_wall, trial_epoch, train_epoch = [], [], [], [], [], []
    for i in range(args.rounds):
        for who in (("train", "trial") if i % 2 == 0 else ("trial", "train")):
            if who == "train":
                t0 = time.perf_counter()
                session = prepare(graph, runs_dir=runs / "train")
                result = session.run()
                train_wall.append(time.perf_counter() - t0)
                train_rate.append(result.samples_per_s)
                train_epoch.append(statistics.median(r["seconds"] for r in result.history))
            else:
                plan = plan_tune(graph, runs_dir=runs / "trial", tune=tune)
                t0 = time.perf_counter()
                res = run_study(plan, threads=args.threads)
                trial_wall.append(time.perf_counter() - t0)
                rec = res.records[0]
                summary = json.loads((Path(rec.run_dir) / "summary.json").read_text())
                trial_rate.append(summary["samples_per_s"])
                from nodetrainer.training.history import read_metrics
                trial_epoch.append(statistics.median(r["seconds"] for r in read_metrics(rec.run_dir)))
    ratio = statistics.median(trial_rate) / statistics.median(train_rate)
    return {
        "epochs": args.overhead_epochs, "rounds": args.rounds, "threads": args.threads,
        "train_samples_per_s": [round(x, 1) for x in train_rate],
        "trial_samples_per_s": [round(x, 1) for x in trial_rate],
        "trial_over_train_samples_per_s": round(ratio, 3),
        "train_median_epoch_s": round(statistics.median(train_epoch), 3),
        "trial_median_epoch_s": round(statistics.median(trial_epoch), 3),
        "train_wall_s": [round(x, 2) for x in train_wall],
        "trial_wall_s (study incl. storage, trial 0, files)": [round(x, 2) for x in trial_wall],
        "note": "train keeps its default gradient-health reports; trials turn them off",
        "targets": {"trial samples/s within 5 % of train": ratio >= 0.95},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["pruning", "jobs", "overhead"], action="append")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3, help="pruning part: studies per pruner, one per seed")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per trial (default: the file's 30)")
    parser.add_argument("--jobs-trials", type=int, default=8)
    parser.add_argument("--jobs-epochs", type=int, default=8)
    parser.add_argument("--overhead-epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every part")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs, args.jobs_trials, args.jobs_epochs, args.seeds = 6, 3, 4, 2, 1
        args.overhead_epochs, args.rounds = 3, 1
    import torch
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {"benchmark": "tune_bench", "python": platform.python_version(),
                              "torch": torch.__version__, "cpu_count": os.cpu_count(),
                              "load_average_start": load_average(), "args": vars(args)}
    import optuna
    report["optuna"] = optuna.__version__
    parts = args.only or ["overhead", "jobs", "pruning"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        t0 = time.perf_counter()
        if "overhead" in parts:
            report["overhead"] = part_overhead(args, runs / "overhead")
        if "jobs" in parts:
            report["jobs"] = part_jobs(args, runs / "jobs")
        if "pruning" in parts:
            report["pruning"] = part_pruning(args, runs / "pruning")
        report["total_s"] = round(time.perf_counter() - t0, 1)
    report["load_average_end"] = load_average()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
