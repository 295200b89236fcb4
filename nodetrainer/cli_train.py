"""`nodetrainer train` and `nodetrainer evaluate`: the command-line face of nodetrainer.training.

`add_commands(subparsers)` registers both; `nodetrainer.cli.main` dispatches to
`cmd_train`/`cmd_evaluate` and prints `NodeTrainerError` problems one line each.

train: a tqdm progress bar fed by the trainer's throttled Progress events (epoch,
loss, last validation metric, samples/s, ETA); on a terminal it is one live
line, otherwise (logs, CI) one line per epoch. Ctrl-C stops the run cleanly
after the current step (last.pt, best.pt and summary.json written, resumable
with --resume) and exits 0, as the format's contract says of a run stopped
early; a second Ctrl-C aborts at once (exit 130; the run folder keeps its last
checkpoint). Exit status: 0 trained (also stopped early or by Ctrl-C), 1 invalid
graph, data or config, a training error, or a run folder that could not be
written (one line says which file and why), 3 diverged. With `--nproc-per-node N`
(N > 1) or `--nnodes M` the run goes to cli_distributed.py.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import traceback
from typing import Any, TextIO

from .interrupt import stop_on_ctrl_c
from .terminal_lines import TerminalLines

EXIT_OK, EXIT_INVALID, EXIT_DIVERGED = 0, 1, 3


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("train", help="train a graph file; writes a run folder",
                              description="Train FILE (or continue a run with --resume RUN).")
    p.add_argument("file", metavar="FILE", nargs="?", help="graph file (not needed with --resume)")
    p.add_argument("--epochs", type=int, metavar="N", help="override training.epochs")
    p.add_argument("--device", metavar="D", help="override training.device: auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--precision", metavar="P", choices=["fp32", "tf32", "fp16", "bf16"],
                   help="override training.precision: fp32, tf32, fp16, bf16")
    p.add_argument("--runs", metavar="DIR", default="runs", help="folder of run folders (default: ./runs)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads torch uses (default: torch's own, the machine's cores or OMP_NUM_THREADS)")
    p.add_argument("--resume", metavar="RUN", help="continue the run folder RUN from its last.pt")
    p.add_argument("--debug", dest="sub_debug", action="store_true", help="show Python tracebacks on errors")
    from .cli_distributed import add_options
    add_options(p)
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("evaluate", help="metrics of a run's kept weights, as JSON")
    p.add_argument("run", metavar="RUN", help="a run folder")
    p.add_argument("--split", choices=["val", "test"], default="test", help="split to evaluate (default: test)")
    p.add_argument("--device", metavar="D", help="device to evaluate on")
    p.add_argument("--debug", dest="sub_debug", action="store_true", help="show Python tracebacks on errors")
    p.set_defaults(func=cmd_evaluate)


def cmd_train(args: argparse.Namespace) -> int:
    from .cli_distributed import launch, wants_launch
    from .errors import ConfigError, Problem
    from .training.run import prepare, resume

    if wants_launch(args):  # several processes: torch.distributed.run starts them (cli_distributed.py)
        return launch(args)
    from .training.threads import check_threads, use_threads
    overrides = {"epochs": args.epochs, "device": args.device, "precision": args.precision}
    use_threads(check_threads(getattr(args, "threads", None), "nodetrainer train"))
    if args.resume and args.file:
        raise ConfigError(Problem("give either a graph FILE to train or --resume RUN, not both: a resumed run "
                                  "trains the graph.yaml in its run folder", args.file))
    on_phase = _phase_lines(sys.stderr)
    if args.resume:
        session = resume(args.resume, overrides, on_phase=on_phase)
    elif args.file:
        session = prepare(args.file, overrides, runs_dir=args.runs, on_phase=on_phase)
    else:
        raise ConfigError(Problem("train needs a graph FILE, or --resume RUN to continue a run", "nodetrainer train"))

    graph_file = args.file if not args.resume else str(session.run_dir / "graph.yaml")
    view = ProgressView(sys.stderr, graph_file, session.graph)
    session.subscribe(view)
    interrupted = stop_on_ctrl_c(session.stop, "stopping after this step")
    try:
        result = session.run()
    finally:
        interrupted.restore()
        view.close()
    if result.reason == "failed":
        node_line = session.graph.line_of("nodes", result.error_node) if result.error_node else None
        print(Problem(result.error or "training failed", graph_file, node_line, result.error_node), file=sys.stderr)
        exc = session.trainer.last_exception
        if getattr(args, "sub_debug", False) or getattr(args, "debug", False):
            if exc is not None:
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        return EXIT_INVALID
    if result.unsaved:
        print(Problem(f"the run's results were not saved: {result.unsaved}", str(session.run_dir)), file=sys.stderr)
        return EXIT_INVALID
    if result.reason == "diverged":
        return EXIT_DIVERGED
    return EXIT_OK  # also after Ctrl-C: the run stopped cleanly and is saved


def _phase_lines(stream: TextIO) -> Any:
    """Prints the preparation phases that can take long (compiling) as a line each; the others are quick."""
    from .training.run import COMPILING_PHASE

    def on_phase(text: str) -> None:
        if text == COMPILING_PHASE:
            print(f"{text}…", file=stream, flush=True)
    return on_phase


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .training.run import evaluate_run

    metrics = evaluate_run(args.run, args.split, device=args.device)
    print(json.dumps({k: _json_number(v) for k, v in metrics.items()}, indent=2))
    return EXIT_OK


class ProgressView(TerminalLines):
    """Renders training events on a stream: a tqdm bar on a terminal, one line per epoch otherwise."""

    def __init__(self, stream: TextIO, graph_file: str | None, graph: Any = None, live: bool | None = None):
        super().__init__(stream, live)
        self.graph_file = graph_file
        self.graph = graph
        self.total_epochs = 0
        self.steps = 1
        self.epoch_note = ""
        self.monitor_key: str | None = None
        self.unsaved_told = False

    def __call__(self, event: Any) -> None:
        from .training import events as ev
        if isinstance(event, ev.Started):
            self.total_epochs, self.steps = event.total_epochs, max(1, event.steps_per_epoch)
            where = f" in {event.run_dir}" if event.run_dir else ""
            how = f", compiled ({event.compiled}) in {event.compile_s:.1f} s" if event.compiled else ""
            how += ", channels-last" if event.channels_last else ""
            self._write(f"training on {event.device} ({event.precision}{how}), {event.total_epochs} epochs of "
                        f"{event.steps_per_epoch} steps{where}")
            if self.live:
                self.bar = _bar_class()(total=event.total_epochs * self.steps,
                                        initial=(event.start_epoch - 1) * self.steps, file=self.stream,
                                        dynamic_ncols=True, leave=True, mininterval=0.1,
                                        desc=f"epoch {event.start_epoch}/{event.total_epochs}",
                                        bar_format="{desc} {percentage:3.0f}%|{bar}| {info}")
        elif isinstance(event, ev.Progress):
            if self.bar is not None:
                self.bar.n = (event.epoch - 1) * self.steps + event.step
                self.bar.set_description_str(f"epoch {event.epoch}/{self.total_epochs}", refresh=False)
                self.bar.info = (f"loss {event.loss:.4g}{self.epoch_note}, {_rate(event.samples_per_s)}, "
                                 f"ETA {_duration(event.eta_s)}")
                self.bar.refresh()
        elif isinstance(event, ev.EpochEnded):
            val = {k: v for k, v in event.metrics.items() if k.startswith("val_") and k != "val_loss"}
            key = next(iter(val), None) or ("val_loss" if "val_loss" in event.metrics else None)
            self.epoch_note = f", {key} {event.metrics[key]:.4g}" if key else ""
            if self.bar is not None:
                self.bar.n = event.epoch * self.steps
                self.bar.set_description_str(f"epoch {event.epoch}/{self.total_epochs}", refresh=False)
                self.bar.info = f"loss {event.metrics.get('train_loss', float('nan')):.4g}{self.epoch_note}"
                self.bar.refresh()
            else:
                self._write(f"epoch {event.epoch}/{self.total_epochs}: {_metrics_text(event.metrics)} "
                            f"(lr {event.lr:.3g}, {event.seconds:.2f} s)")
        elif isinstance(event, ev.Warning):
            if event.kind == ev.UNSAVED:  # the first says the disk is in trouble; the end says what was lost
                if self.unsaved_told:
                    return
                self.unsaved_told = True
            node = f"node {event.node}: " if event.node else ""
            self._write(f"{event.level}: {node}{event.message}")
        elif isinstance(event, ev.Finished):
            self.close()
            best = f"best epoch {event.best_epoch}: {_metrics_text(event.best)}" if event.best else "no epoch completed"
            self._write(f"{_REASON_TEXT.get(event.reason, event.reason)} after {event.epochs_run} epoch(s) "
                        f"in {_duration(event.duration_s)}; {best}")
            if event.test:
                self._write(f"test: {_metrics_text(event.test)}")
            if event.run_dir:
                self._write(f"run folder: {event.run_dir}")
        elif isinstance(event, ev.Failed):
            self.close()


def _bar_class() -> Any:
    """tqdm with an `info` field for the bar format (its own postfix always starts with ', ')."""
    from tqdm import tqdm

    class Bar(tqdm):
        info = ""

        @property
        def format_dict(self) -> dict:
            return {**super().format_dict, "info": self.info}

    return Bar


_REASON_TEXT = {"completed": "completed", "early_stopped": "stopped early (no more improvement)",
                "diverged": "diverged (non-finite loss); kept the last finite weights",
                "stopped": "stopped on request; continue with --resume"}


def _metrics_text(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, (int, float)) else f"{k} {v}" for k, v in metrics.items())


def _rate(samples_per_s: float) -> str:
    return f"{samples_per_s / 1000:.1f}k samples/s" if samples_per_s >= 1000 else f"{samples_per_s:.0f} samples/s"


def _duration(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _json_number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value
