"""Where start-up goes: `nodetrainer train graphs/digits_cnn.yaml` to its first progress line, and the app's
Train press to the first training step.

    python benchmarks/startup_bench.py [--rounds 3] [--out benchmarks/results/startup_cpu_<date>.json]

Three measurements, interleaved round by round, each in a fresh process:

- `torch_import`: `python -c "import torch"` (the baseline the CLI target is stated against);
- `cli`: `nodetrainer train graphs/digits_cnn.yaml --epochs 1` (its entry point) until its first line on stderr
  (`training on cpu ...`, written when training starts), measured from the parent;
- `phases`: the same run inside one process (`--child`), timed piece by piece: importing torch, importing
  the command line and training modules, reading the graph, each preparation phase `prepare()` reports
  (checking, loading the data, normalization is part of loading, building the model, the optimizer, creating the
  run folder), and from `run()` to the end of the first optimizer step (the first GradientStats event, sent
  right after step 1);
- `app`: another fresh process imports what the app's warm-up imports while the window is shown
  (ui/training/warmup.py), then times prepare() and the first step: what pressing Train in an open app costs.

Targets (issue 13): CLI first line within torch_import + 2 s; app press to first step within 1.5 s.
All figures are wall seconds on a shared, loaded 2-core machine: medians over the rounds, ratios per round.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRAPH = ROOT / "graphs" / "digits_cnn.yaml"
CLI = "import sys; from nodetrainer.cli import main; sys.exit(main())"  # what the `nodetrainer` script runs


def child(runs: str) -> dict:
    """One cold start in this process, piece by piece (seconds)."""
    t = {}
    t0 = time.perf_counter()
    import torch  # noqa: F401
    t["import_torch"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    from nodetrainer.training import events as ev
    from nodetrainer.training.run import prepare
    import nodetrainer.cli  # noqa: F401
    t["import_nodetrainer"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    from nodetrainer.graphfile import load_graph
    graph = load_graph(GRAPH)
    t["read_graph"] = time.perf_counter() - t2
    phases: list[tuple[str, float]] = []
    t3 = time.perf_counter()
    session = prepare(graph, {"epochs": 1}, runs_dir=runs, on_phase=lambda p: phases.append((p, time.perf_counter())))
    end = time.perf_counter()
    marks = phases + [("(end of prepare)", end)]
    t["prepare_total"] = end - t3
    t["prepare_phases"] = {name: round(marks[i + 1][1] - at, 4) for i, (name, at) in enumerate(marks[:-1])}
    t["prepare_before_first_phase"] = (phases[0][1] - t3) if phases else None
    first = {}

    def on_event(e):
        if isinstance(e, ev.Started) and "started" not in first:
            first["started"] = time.perf_counter()
        if isinstance(e, ev.GradientStats) and "step" not in first:
            first["step"] = time.perf_counter()
            session.stop()
    session.subscribe(on_event)
    t4 = time.perf_counter()
    session.run()
    t["run_to_started"] = first["started"] - t4
    t["run_to_first_step"] = first["step"] - t4
    t["to_first_step_total"] = first["step"] - t0
    t["to_started_total"] = first["started"] - t0

    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in t.items()}


def child_app(runs: str) -> dict:
    """The app: its warm-up imports (ui/training/warmup.py, done while the window is shown) finished, then Train is
    pressed: prepare() and the first optimizer step, the first run of this process."""
    import importlib
    import sys
    sys.path.insert(0, str(ROOT))
    from ui.training.warmup import MODULES
    t0 = time.perf_counter()
    for name in MODULES:
        importlib.import_module(name)
    t = {"warm_up_imports": time.perf_counter() - t0}
    from nodetrainer.training import events as ev
    from nodetrainer.training.run import prepare
    first = {}
    t1 = time.perf_counter()
    session = prepare(GRAPH, {"epochs": 1}, runs_dir=runs)
    t["app_prepare"] = time.perf_counter() - t1

    def on_event(e):
        if isinstance(e, ev.GradientStats) and "step" not in first:
            first["step"] = time.perf_counter()
            session.stop()
    session.subscribe(on_event)
    session.run()
    t["app_press_to_first_step"] = first["step"] - t1
    return {k: round(v, 4) for k, v in t.items()}


def first_line_seconds(cmd: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, cwd=ROOT, text=True)
    line = proc.stderr.readline()
    elapsed = time.perf_counter() - t0
    proc.kill()
    proc.wait()
    return elapsed, line.strip()


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" /
                                         f"startup_cpu_{datetime.date.today().isoformat()}.json"))
    ap.add_argument("--child", metavar="RUNS", help=argparse.SUPPRESS)
    ap.add_argument("--child-app", metavar="RUNS", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    if args.child_app:
        print(json.dumps(child_app(args.child_app)))
        return
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    py = sys.executable
    rows = {"torch_import": [], "cli_first_line": [], "phases": [], "app": []}
    line = ""
    with tempfile.TemporaryDirectory() as runs:
        for r in range(args.rounds):
            order = ["torch", "cli", "child", "app"] if r % 2 == 0 else ["app", "child", "cli", "torch"]
            for what in order:
                if what == "torch":
                    rows["torch_import"].append(timed([py, "-c", "import torch"], env))
                elif what == "cli":
                    secs, line = first_line_seconds([py, "-c", CLI, "train", str(GRAPH), "--epochs", "1",
                                                     "--runs", runs], env)
                    rows["cli_first_line"].append(secs)
                elif what == "app":
                    out = subprocess.run([py, __file__, "--child-app", runs], env=env, cwd=ROOT, capture_output=True,
                                         text=True, check=True)
                    rows["app"].append(json.loads(out.stdout.strip().splitlines()[-1]))
                else:
                    out = subprocess.run([py, __file__, "--child", runs], env=env, cwd=ROOT, capture_output=True,
                                         text=True, check=True)
                    rows["phases"].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1}: torch {rows['torch_import'][-1]:.2f} s, cli first line "
                  f"{rows['cli_first_line'][-1]:.2f} s", file=sys.stderr)
    med = statistics.median
    over = [c - t for c, t in zip(rows["cli_first_line"], rows["torch_import"])]
    phases = rows["phases"]
    keys = [k for k, v in phases[0].items() if isinstance(v, (int, float))]
    report = {
        "bench": "start-up of `nodetrainer train graphs/digits_cnn.yaml` (CPU)",
        "torch": __import__("torch").__version__, "python": sys.version.split()[0], "cores": os.cpu_count(),
        "rounds": args.rounds, "first_line": line,
        "torch_import_s": round(med(rows["torch_import"]), 3),
        "cli_first_line_s": round(med(rows["cli_first_line"]), 3),
        "cli_first_line_minus_torch_import_s": round(med(over), 3),
        "cli_first_line_minus_torch_import_all_rounds": [round(x, 3) for x in over],
        "target_cli": "first line within torch import + 2 s",
        "in_process_median_s": {k: round(med(p[k] for p in phases if p.get(k) is not None), 4) for k in keys},
        "prepare_phases_median_s": {name: round(med(p["prepare_phases"].get(name, 0.0) for p in phases), 4)
                                    for name in phases[0]["prepare_phases"]},
        "app_median_s": {k: round(med(a[k] for a in rows["app"]), 4) for k in rows["app"][0]},
        "target_app": "app_press_to_first_step (prepare + first step, after the warm-up imports) within 1.5 s",
        "raw": rows,
    }
    text = json.dumps(report, indent=2)
    Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
