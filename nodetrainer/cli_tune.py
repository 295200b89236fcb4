"""`nodetrainer tune`: the command-line face of nodetrainer.tune.

    nodetrainer tune FILE [--trials N] [--timeout S] [--jobs J] [--storage URL] [--study NAME] [--runs DIR]
    nodetrainer tune --resume DIR [--trials N] [--timeout S] [--jobs J]

Everything the file gets wrong is reported before any trial, one located line
a problem (exit 1). Then a tqdm bar counts trials, with one line per finished
trial (number, values sampled, value, pruned at which epoch or why it failed,
best so far); at the end, the best five in a table, the gain over trial 0 (the
file's own values) and Optuna's parameter importances. Ctrl-C stops the trial in
progress cleanly and keeps every finished one (exit 0; `--resume` continues);
a second Ctrl-C aborts.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from .interrupt import stop_on_ctrl_c
from .terminal_lines import TerminalLines

EXIT_OK, EXIT_INVALID = 0, 1


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("tune", help="hyperparameter search from the file's tune section (Optuna)",
                              description="Search the `tune` section's space with Optuna; writes a tune folder.")
    p.add_argument("file", metavar="FILE", nargs="?", help="graph file with a tune section (not with --resume)")
    p.add_argument("--trials", type=int, metavar="N", help="the study's total of trials (default: tune.trials)")
    p.add_argument("--timeout", type=float, metavar="S", help="start no trial after S seconds (default: tune.timeout_s)")
    p.add_argument("--jobs", type=int, metavar="J", default=1,
                   help="trials at once on this machine, as separate processes (torch threads = cores / J)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads per trial (default: torch's own, the cores, divided by --jobs)")
    p.add_argument("--storage", metavar="URL", help="an Optuna storage URL to share the study (default: the "
                                                    "tune folder's study.db)")
    p.add_argument("--study", metavar="NAME", help="the study's name in the storage (default: the graph's name)")
    p.add_argument("--runs", metavar="DIR", default="runs", help="folder of run folders (default: ./runs)")
    p.add_argument("--resume", metavar="DIR", help="continue the study of the tune folder DIR")
    p.add_argument("--debug", dest="sub_debug", action="store_true", help="show Python tracebacks on errors")
    p.set_defaults(func=cmd_tune)


def cmd_tune(args: argparse.Namespace) -> int:
    from .errors import ConfigError, Problem
    from .tune.plan import plan_resume, plan_tune
    from .tune.runner import run_study
    from .tune.trial import Control

    if args.jobs is None or args.jobs < 1:
        raise ConfigError(Problem(f"--jobs must be at least 1, got {args.jobs}", "nodetrainer tune"))
    from .training.threads import check_threads
    threads = check_threads(args.threads, "nodetrainer tune")
    if args.resume and args.file:
        raise ConfigError(Problem("give either a graph FILE to tune or --resume DIR, not both: a resumed study "
                                  "tunes the input.yaml in its tune folder", args.file))
    if args.resume:
        if args.storage or args.study:
            raise ConfigError(Problem("--storage and --study are kept in the tune folder; --resume takes neither",
                                      args.resume))
        plan = plan_resume(args.resume, trials=args.trials, timeout_s=args.timeout)
    elif args.file:
        plan = plan_tune(args.file, trials=args.trials, timeout_s=args.timeout, storage=args.storage,
                         study=args.study, runs_dir=args.runs)
    else:
        raise ConfigError(Problem("tune needs a graph FILE, or --resume DIR to continue a study", "nodetrainer tune"))

    view = TuneView(sys.stderr)
    control = Control()
    ctrl_c = stop_on_ctrl_c(control.stop, "stopping the trial in progress; finished trials are kept")
    try:
        result = run_study(plan, jobs=args.jobs, control=control, on_event=view, threads=threads)
    finally:
        ctrl_c.restore()
        view.close()
    for error in result.worker_errors:
        print(f"warning: {error}", file=sys.stderr)
    view.final(result, plan)
    return EXIT_OK


class TuneView(TerminalLines):
    """Renders tuning events: a tqdm bar of trials on a terminal, and one line per finished trial."""

    def __init__(self, stream: TextIO, live: bool | None = None) -> None:
        super().__init__(stream, live)
        self.names: dict[str, str] = {}
        self.metric = "value"

    def __call__(self, event: Any) -> None:
        from .tune import events as ev
        if isinstance(event, ev.StudyReady):
            from .tune.records import count_finished
            from .tune.space import short_names
            self.names = short_names(event.paths)
            self.metric = event.metric
            done = count_finished(event.records)
            self._write(f"tuning {event.metric} ({event.direction}) over {', '.join(event.paths)}: "
                        f"{event.target} trials, study '{event.study}', folder {event.folder}"
                        + (f"; {done} finished before" if done else ""))
            if self.live:
                from tqdm import tqdm
                self.bar = tqdm(total=event.target, initial=min(done, event.target), file=self.stream,
                                desc="trials", dynamic_ncols=True, leave=True)
        elif isinstance(event, ev.TrialEnded):
            self._write(self.line(event))
            if self.bar is not None and event.record.finished:
                self.bar.update(1)

    def line(self, event: Any) -> str:
        r = event.record
        values = " · ".join(f"{self.names.get(p, p)} {_value(v)}" for p, v in r.values.items())
        head = f"trial {r.number}" + (" (the file's values)" if r.baseline else "")
        if r.state == "complete":
            what = f"{self.metric} {r.value:.4g}"
        elif r.state == "pruned":
            what = f"pruned at epoch {r.pruned_epoch}" + (f" ({self.metric} {r.value:.4g})" if r.value is not None
                                                          else "")
        else:
            what = f"{r.state}: {r.note}" if r.note else r.state
        extra = ", ".join(x for x in (f"{r.epochs} epoch(s)" if r.epochs is not None else "",
                                      f"{r.seconds:.1f} s" if r.seconds is not None else "") if x)
        best = event.best
        tail = f" · best {best.value:.4g} (trial {best.number})" if best is not None else ""
        return f"{head}: {values} → {what}" + (f" [{extra}]" if extra else "") + tail

    def final(self, result: Any, plan: Any) -> None:
        from .tune.records import top
        from .tune.study import importances, open_study
        s = result.summary
        state = {"done": "finished", "exhausted": "finished (every grid point visited)",
                 "timeout": "stopped at the timeout", "stopped": "stopped; continue with --resume"}
        self._write(f"study {state.get(result.state, result.state)}: {s['n_complete']} complete, "
                    f"{s['n_pruned']} pruned, {s['n_failed']} failed"
                    + (f" ({s['n_diverged']} diverged)" if s.get("n_diverged") else "")
                    + (f", {s['n_interrupted']} interrupted" if s.get("n_interrupted") else "")
                    + f"; {s['epochs_trained']} epochs in {s['duration_s']:.0f} s")
        best = top(result.records, plan.direction, 5)
        if best:
            paths = plan.paths
            headers = ["rank", "trial", self.metric] + [self.names.get(p, p) for p in paths]
            rows = [[str(i + 1), str(r.number) + ("*" if r.baseline else ""), f"{r.value:.4g}"]
                    + [_value(r.values[p]) if p in r.values else "-" for p in paths] for i, r in enumerate(best)]
            widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
            self._write(f"best {len(best)} (* = the file's own values):")
            for row in [headers] + rows:
                self._write("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if s.get("baseline_value") is not None and s.get("best_value") is not None:
            gain = s["best_value"] - s["baseline_value"]
            scale, unit = (100.0, " points") if "accuracy" in self.metric or "f1" in self.metric else (1.0, "")
            self._write(f"{self.metric}: {s['baseline_value']:.4g} with the file's values (trial "
                        f"{s['baseline_trial']}), best {s['best_value']:.4g} (trial {s['best_trial']}), "
                        f"{'+' if gain >= 0 else ''}{gain * scale:.3g}{unit}")
        try:
            study = open_study(plan.open_storage(), plan.study_name, plan.direction)
            imp = importances(study)
        except Exception:
            imp = None
        if imp:
            self._write("importance (Optuna): " + ", ".join(f"{self.names.get(k, k)} {v:.2f}" for k, v in imp.items()))
        self._write(f"tune folder: {result.folder} (best.yaml holds the best values)" if s.get("best_trial") is not None
                    else f"tune folder: {result.folder}")


def _value(v: Any) -> str:
    from .tune.space import text
    return text(v)
