"""GUI training throughput and a live view, against headless training measured in the same run.

Trains each graph file (default: graphs/digits_mlp.yaml and graphs/digits_cnn.yaml,
made longer: more epochs, no early stopping, so each run lasts seconds) on a
quiet machine and with CPU hogs beside it (`--hogs 0 2`: busy processes that
run for the whole configuration), three ways, in interleaved rounds so machine
noise hits all of them alike:

- cli:      `python -m nodetrainer.cli train FILE` in a subprocess (what a user runs);
- headless: prepare(FILE).run() in this process, no Qt involved;
- gui:      the TrainingDock, shown (offscreen) with live plots, trained by pressing Train.

Throughput is the trainer's own samples/s (Finished.samples_per_s / summary.json:
training steps only, data loading and compiling excluded). While the GUI trains,
a 10 ms QTimer measures how late it fires: the UI event loop's latency.

Every mode uses the same number of torch threads: by default the GUI's own choice
(torch's default less one when that would be every CPU, leaving a core to the UI;
the subprocess gets it as OMP_NUM_THREADS), so the ratio measures what the GUI
costs and not a thread setting. `--threads 0` keeps torch's default everywhere
(the GUI still leaves a core), which is what users get out of the box.

The GUI runs also record how live the view was while training: progress-bar
updates and plot redraws per second and the longest gap between two of each.

Prints one JSON object (and writes it with --out): per graph and hog count, per
mode the median and all samples/s, the ratios gui/cli and gui/headless (median
of the per-round ratios), the latency percentiles, the live-view figures and
paint statistics. Targets: ratio >= 0.95; progress at least twice a second and
plots at least once a second (max gaps <= 0.5 s and <= 1 s); p99 latency <= 50 ms.
Not a test; never asserts.

    .venv/bin/python benchmarks/gui_training_bench.py [--graphs FILE...] [--hogs 0 2] [--epochs N] [--rounds R]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


HOG = ("import os, time\nppid, end = os.getppid(), time.time() + 3600\n"
       "while os.getppid() == ppid and time.time() < end:\n    for _ in range(200000): pass\n")


def start_hogs(n: int) -> list[subprocess.Popen]:
    """n busy processes (ending with this one at the latest)."""
    return [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(n)]


def bench_file(graph: Path, out_dir: Path, epochs: int, batch_size: int | None) -> Path:
    from nodetrainer.graphfile import dump_graph, load_graph
    g = load_graph(graph)
    training = dict(g.training or {})
    training.pop("early_stopping", None)
    training["epochs"] = epochs
    if batch_size:
        training["batch_size"] = batch_size
    training["device"] = "cpu"
    g.set_section("training", training)
    data = dict(g.data or {})
    source = str(data.get("source", ""))
    kind, _, location = source.partition(":")
    if kind in ("csv", "npz", "images") and not Path(location).is_absolute():
        data["source"] = f"{kind}:{(graph.parent / location).resolve()}"
        g.set_section("data", data)
    path = out_dir / f"{graph.stem}-bench.yaml"
    path.write_text(dump_graph(g))
    return path


def run_cli(path: Path, runs: Path, threads: int | None) -> float:
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    before = set(runs.glob("*/*"))
    subprocess.run([sys.executable, "-m", "nodetrainer.cli", "train", str(path), "--runs", str(runs)],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (new,) = set(runs.glob("*/*")) - before
    return float(json.loads((new / "summary.json").read_text())["samples_per_s"])


def run_headless(path: Path, runs: Path) -> float:
    from nodetrainer.training.run import prepare
    session = prepare(path, runs_dir=runs)
    return float(session.run().samples_per_s)


def run_gui(dock, app, path: Path, probe_latency: bool) -> dict:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer
    from nodetrainer.graphfile import load_graph

    widget = dock.training
    widget.set_graph(load_graph(path))
    lateness: list[float] = []
    clock = QElapsedTimer()
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(10)
    last = [0]

    def tick() -> None:
        now = clock.nsecsElapsed()
        if last[0] and widget.worker.state == "running":
            lateness.append(max(0.0, (now - last[0]) / 1e6 - 10.0))
        last[0] = now

    probe.timeout.connect(tick)
    loop = QEventLoop()
    widget.stateChanged.connect(lambda s: loop.quit() if s == "idle" else None)
    window: dict[str, float] = {}  # the UI thread's CPU clock from the run's start to its end (not preparing)

    def mark(update) -> None:
        if update.started is not None:
            window["cpu0"], window["paints0"] = time.thread_time(), widget.plots.view.paints
            window["updates0"] = widget.worker.updates_delivered
        if update.finished is not None or update.failed is not None:
            window["cpu1"], window["paints1"] = time.thread_time(), widget.plots.view.paints
            window["updates1"] = widget.worker.updates_delivered

    widget.worker.updated.connect(mark)
    shown: list[float] = []  # when the progress bar moved while training
    redrawn: list[float] = []  # when the plots redrew while training
    def moved(update) -> None:
        if update.progress or update.epochs:
            shown.append(time.perf_counter())

    widget.worker.updated.connect(moved)
    plots_redraw = widget.plots.redraw

    def timed_redraw(final: bool = False) -> int:
        if widget.worker.state == "running":
            redrawn.append(time.perf_counter())
        return plots_redraw(final)

    widget.plots.redraw = timed_redraw
    updates_before = widget.worker.updates_delivered
    paints_before = widget.plots.view.paints
    clock.start()
    if probe_latency:
        probe.start()
    t0 = time.perf_counter()
    cpu0 = time.thread_time()
    widget.train()
    loop.exec()
    wall = time.perf_counter() - t0
    ui_cpu = time.thread_time() - cpu0
    probe.stop()
    widget.stateChanged.disconnect()
    widget.worker.updated.disconnect(mark)
    widget.worker.updated.disconnect(moved)
    widget.plots.redraw = plots_redraw
    finished = widget.last_finished
    return {"samples_per_s": float(finished.samples_per_s), "train_s": float(finished.duration_s), "wall_s": wall,
            "ui_cpu_s": ui_cpu, "ui_cpu_training_s": window.get("cpu1", 0.0) - window.get("cpu0", 0.0),
            "paints_training": window.get("paints1", 0) - window.get("paints0", 0),
            "updates_training": window.get("updates1", 0) - window.get("updates0", 0),
            "lateness_ms": lateness, "updates": widget.worker.updates_delivered - updates_before,
            "paints": widget.plots.view.paints - paints_before, "paint_cost_ms": widget.plots.view.paint_cost * 1e3,
            "points": widget.plots.point_counts(), "live": live_figures(shown, redrawn)}


def live_figures(shown: list[float], redrawn: list[float]) -> dict:
    """Progress updates and plot redraws per second while training, and the longest gap between two of each."""
    def figures(times: list[float]) -> tuple[float, float | None]:
        if len(times) < 2:
            return 0.0, None
        span = times[-1] - times[0]
        return (len(times) - 1) / span if span > 0 else 0.0, max(b - a for a, b in zip(times, times[1:]))
    progress_rate, progress_gap = figures(shown)
    plot_rate, plot_gap = figures(redrawn)
    return {"progress_per_s": progress_rate, "max_progress_gap_s": progress_gap,
            "plot_redraws_per_s": plot_rate, "max_plot_gap_s": plot_gap}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))
    return s[k]


def bench_config(dock, app, path: Path, runs: Path, rounds: int, threads: int, cli: bool) -> dict:
    """Interleaved rounds of every mode for one graph file under the current machine load."""
    import torch

    run_headless(path, runs)  # warm-up: imports, data set caches, allocator
    modes = ["headless", "gui", "gui_probe"] + (["cli"] if cli else [])
    results: dict[str, list] = {m: [] for m in modes}
    gui_runs: list[dict] = []  # with the latency probe (a 10 ms timer, itself a small load on the UI thread)
    plain_runs: list[dict] = []  # without it: the throughput a user gets
    for r in range(rounds):
        order = modes[r % len(modes):] + modes[: r % len(modes)]
        for mode in order:
            if mode == "cli":
                results["cli"].append(run_cli(path, runs, threads or torch.get_num_threads()))
            elif mode == "headless":
                results["headless"].append(run_headless(path, runs))
            else:
                g = run_gui(dock, app, path, probe_latency=mode == "gui_probe")
                (gui_runs if mode == "gui_probe" else plain_runs).append(g)
                results[mode].append(g["samples_per_s"])

    def ratio(base: str, mode: str = "gui") -> dict:
        per_round = [g / b for g, b in zip(results[mode], results[base])]
        return {"median_of_rounds": round(statistics.median(per_round), 3),
                "rounds": [round(x, 3) for x in per_round],
                "of_medians": round(statistics.median(results[mode]) / statistics.median(results[base]), 3)}

    lateness = [x for g in gui_runs for x in g["lateness_ms"]]
    train_s = sum(g["train_s"] for g in plain_runs)
    live = [g["live"] for g in plain_runs]
    gaps = [x for x in (v["max_progress_gap_s"] for v in live) if x is not None]
    plot_gaps = [x for x in (v["max_plot_gap_s"] for v in live) if x is not None]
    return {
        "samples_per_s": {m: {"median": round(statistics.median(v)), "all": [round(x) for x in v]}
                          for m, v in results.items()},
        "gui_vs_headless": ratio("headless"),
        **({"gui_vs_cli": ratio("cli")} if "cli" in results else {}),
        "gui_with_latency_probe_vs_headless": ratio("headless", "gui_probe"),
        "headless_spread": round(max(results["headless"]) / min(results["headless"]), 2),
        "live_view": {
            "progress_updates_per_s": round(statistics.median(v["progress_per_s"] for v in live), 1),
            "max_progress_gap_s": round(max(gaps), 2) if gaps else None,
            "plot_redraws_per_s": round(statistics.median(v["plot_redraws_per_s"] for v in live), 1),
            "max_plot_gap_s": round(max(plot_gaps), 2) if plot_gaps else None,
        },
        "ui_latency_ms": {"p50": round(percentile(lateness, 50), 2), "p99": round(percentile(lateness, 99), 2),
                          "max": round(max(lateness), 2) if lateness else None, "samples": len(lateness)},
        "ui_updates_per_s": round(sum(g["updates_training"] for g in plain_runs) / max(train_s, 1e-9), 1),
        "plot_paints_per_s": round(sum(g["paints_training"] for g in plain_runs) / max(train_s, 1e-9), 1),
        "plot_paint_cpu_ms": round(statistics.median(g["paint_cost_ms"] for g in plain_runs), 1),
        "ui_thread_cpu_share_while_training": round(
            statistics.median(g["ui_cpu_training_s"] / g["train_s"] for g in plain_runs), 3),
        "plot_points_last_run": plain_runs[-1]["points"] if plain_runs else {},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graphs", nargs="+", default=[str(ROOT / "graphs" / "digits_mlp.yaml"),
                                                    str(ROOT / "graphs" / "digits_cnn.yaml")])
    ap.add_argument("--hogs", nargs="+", type=int, default=[0, 2], help="busy processes beside each configuration")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=None, help="default: each graph's own")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads for every mode (default: what the GUI uses, torch's default less "
                         "one when that is every CPU; 0: torch's default everywhere)")
    ap.add_argument("--no-cli", action="store_true", help="skip the subprocess mode")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()

    import torch
    if args.threads is None:  # the GUI's own choice (ui/training/worker.py: _leave_a_core), for every mode
        cores = os.cpu_count() or 1
        args.threads = cores - 1 if cores > 1 and torch.get_num_threads() >= cores else torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([])
    from nodetrainer.graphfile import load_graph
    from ui.training import TrainingDock

    tmp = Path(tempfile.mkdtemp(prefix="nodetrainer-gui-bench-"))
    runs = tmp / "runs"
    configs = []
    for graph in args.graphs:
        path = bench_file(Path(graph), tmp, args.epochs, args.batch_size)
        dock = TrainingDock(load_graph(path), runs_dir=runs)
        dock.resize(1400, 820)
        dock.show()
        app.processEvents()
        for hogs in args.hogs:
            procs = start_hogs(hogs)
            try:
                result = bench_config(dock, app, path, runs, args.rounds, args.threads, not args.no_cli)
            finally:
                for p in procs:
                    p.kill()
            configs.append({"graph": Path(graph).name, "hogs": hogs, **result})
        dock.request_shutdown()
    out = {
        "epochs": args.epochs, "rounds": args.rounds, "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "configs": configs,
        "targets": {"gui_vs_cli": 0.95, "max_progress_gap_s": 0.5, "max_plot_gap_s": 1.0, "p99_latency_ms": 50},
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
