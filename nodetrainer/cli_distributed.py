"""`nodetrainer train FILE --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]`.

The launcher checks the graph, makes the run folder (on the machine of node rank
0) and starts N workers through `torch.distributed.run`'s launcher API
(`elastic_launch`, what `torchrun` itself runs; static rendezvous at A:P, a free
local port when one machine is used and none is given). Each worker runs
`worker` with a plain dict: it prepares or resumes the run as one rank
(training/distributed.py) and rank 0 draws the progress display.

Outcomes: every worker returns the exit status of the run (0, or 3 diverged),
and the launcher returns rank 0's. A problem found before training (the data,
the device) is printed as the one-process run prints it. A rank that fails (an
exception in training, a kill) takes the others down with it through the
launcher; the launcher prints one line naming the rank, and the run folder keeps
its last checkpoint for `--resume`. A fresh run folder that never got past its
graph.yaml is removed.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 130
REPORT = "rank-{rank}.json"  # a worker's account of why it failed, in the launch's report folder


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("several processes (torch.distributed.run, DDP)")
    group.add_argument("--nproc-per-node", type=int, metavar="N", help="processes on this machine (one per GPU; "
                       "gloo on the CPU); 1 is the plain run")
    group.add_argument("--nnodes", type=int, default=1, metavar="M", help="machines taking part (default 1)")
    group.add_argument("--node-rank", type=int, default=0, metavar="R", help="this machine's rank, 0..M-1")
    group.add_argument("--master-addr", metavar="A", help="address of the node-rank-0 machine (default 127.0.0.1)")
    group.add_argument("--master-port", type=int, metavar="P",
                       help="its free port (default: any free port for one machine, 29500 for several)")


def wants_launch(args: argparse.Namespace) -> bool:
    nproc = args.nproc_per_node
    return nproc is not None and (nproc > 1 or args.nnodes > 1)


def launch(args: argparse.Namespace) -> int:
    """Starts the workers and turns their outcome into an exit status and at most a few lines."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    from .errors import ConfigError, Problem
    from .training.distributed import failure_line, free_port

    _check_options(args)
    run_dir, created = _run_folder(args)
    nproc, nnodes = args.nproc_per_node, args.nnodes
    port = args.master_port or (free_port() if nnodes == 1 else 29500)
    if nnodes > 1 and not args.master_addr:
        raise ConfigError(Problem("--nnodes above 1 needs --master-addr: the address of the node-rank-0 machine",
                                  "nodetrainer train"))
    endpoint = f"{args.master_addr or '127.0.0.1'}:{port}"
    config = LaunchConfig(min_nodes=nnodes, max_nodes=nnodes, nproc_per_node=nproc, run_id="nodetrainer",
                          rdzv_backend="static", rdzv_endpoint=endpoint, rdzv_configs={"rank": args.node_rank},
                          max_restarts=0, monitor_interval=0.1, start_method="spawn")
    if "OMP_NUM_THREADS" not in os.environ:  # the CPU's cores shared among this machine's workers
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    debug = bool(getattr(args, "sub_debug", False) or getattr(args, "debug", False))
    with tempfile.TemporaryDirectory(prefix="nodetrainer-launch-") as reports, _quiet_launcher():
        spec = {"file": args.file, "resume": args.resume, "run_dir": str(run_dir) if run_dir else None,
                "overrides": _overrides(args), "debug": debug, "reports": reports}
        try:
            results = elastic_launch(config, worker)(spec)
        except ChildFailedError as exc:
            lines = _reported(reports, exc) or [f"nodetrainer: {failure_line(exc)}"]
            _tidy(run_dir, created)
            if run_dir is not None and (Path(run_dir) / "last.pt").exists():
                lines[-1] += (f"; the run keeps its last checkpoint: continue with nodetrainer train --resume "
                              f"{run_dir} --nproc-per-node {nproc}")
            for line in lines:
                print(line, file=sys.stderr)
            return EXIT_INVALID
        except (KeyboardInterrupt, SignalException):  # Ctrl-C (or a kill) reaches every process
            print("interrupted; the run keeps its last checkpoint"
                  + (f": continue with nodetrainer train --resume {run_dir}" if run_dir else ""), file=sys.stderr)
            return EXIT_INTERRUPTED
    codes = [code for code in (results or {}).values() if isinstance(code, int)]
    return (results or {}).get(0, max(codes, default=EXIT_OK))


def worker(spec: dict[str, Any]) -> int:
    """One rank's run (called by torch.distributed.run in a fresh process): the run's exit status. A failure
    writes its account for the launcher and raises, so the launcher stops the other ranks."""
    from .cli_train import EXIT_DIVERGED, ProgressView
    from .errors import NodeTrainerError, Problem
    from .training.distributed import Distributed
    from .training.run import prepare, resume

    dist = Distributed.from_env()
    rank = dist.rank if dist else 0
    try:
        if spec["resume"]:
            session = resume(spec["resume"], spec["overrides"], distributed=dist)
        else:
            session = prepare(spec["file"], spec["overrides"], runs_dir=None, run_dir=spec["run_dir"],
                              distributed=dist)
    except NodeTrainerError as exc:
        _report(spec, rank, [str(p) for p in exc.problems])
        raise SystemExit(EXIT_INVALID) from None
    graph_file = spec["file"] or str(Path(spec["resume"]) / "graph.yaml")
    view = None
    if rank == 0:
        view = ProgressView(sys.stderr, graph_file, session.graph)
        session.subscribe(view)
    try:
        result = session.run()
    finally:
        if view is not None:
            view.close()
    if result.reason == "failed":
        node_line = session.graph.line_of("nodes", result.error_node) if result.error_node else None
        problem = Problem(result.error or "training failed", graph_file, node_line, result.error_node)
        _report(spec, rank, [f"rank {rank}: {problem}"])
        exc = session.trainer.last_exception
        if spec["debug"] and exc is not None:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        raise RuntimeError(f"rank {rank}: {problem}")
    if dist is not None:
        dist.close()
    if result.unsaved and rank == 0:
        print(Problem(f"the run's results were not saved: {result.unsaved}", str(session.run_dir)), file=sys.stderr)
        return EXIT_INVALID
    return EXIT_DIVERGED if result.reason == "diverged" else EXIT_OK


# -- helpers ---------------------------------------------------------------------------------
def _check_options(args: argparse.Namespace) -> None:
    from .errors import ConfigError, Problem
    where = "nodetrainer train"
    if args.nproc_per_node < 1:
        raise ConfigError(Problem(f"--nproc-per-node must be 1 or more, got {args.nproc_per_node}", where))
    if args.nnodes < 1 or not 0 <= args.node_rank < args.nnodes:
        raise ConfigError(Problem(f"--node-rank must be 0..{args.nnodes - 1} for --nnodes {args.nnodes}, "
                                  f"got {args.node_rank}", where))
    if args.master_port is not None and not 0 < args.master_port < 65536:
        raise ConfigError(Problem(f"--master-port must be a port number, got {args.master_port}", where))


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"epochs": args.epochs, "device": args.device, "precision": args.precision}


def _run_folder(args: argparse.Namespace) -> tuple[Path | None, bool]:
    """(the run folder rank 0 writes, whether it was made now); only the node-rank-0 machine has one."""
    from .errors import ConfigError, GraphError, Problem
    from .graphfile import dump_graph, load_graph
    from .training.run import apply_overrides
    from .training.runs import LAST_FILE, RunFolder
    from .validate import check_graph

    if args.resume and args.file:
        raise ConfigError(Problem("give either a graph FILE to train or --resume RUN, not both", args.file))
    if args.resume:
        if not (Path(args.resume) / LAST_FILE).exists():
            raise ConfigError(Problem(f"not a run folder that can be resumed: it has no {LAST_FILE}", args.resume))
        return (Path(args.resume) if args.node_rank == 0 else None), False
    if not args.file:
        raise ConfigError(Problem("train needs a graph FILE, or --resume RUN to continue a run", "nodetrainer train"))
    graph = apply_overrides(load_graph(args.file), _overrides(args))
    problems = check_graph(graph).problems
    if problems:
        raise GraphError(problems)
    if args.node_rank != 0:
        return None, False
    run = RunFolder.create(args.runs, graph.name)
    run.write_graph(dump_graph(graph))
    return run.path, True


def _tidy(run_dir: Path | None, created: bool) -> None:
    """Removes a run folder this launch made that holds nothing but its graph.yaml (training never started)."""
    if run_dir is None or not created:
        return
    try:
        if {p.name for p in Path(run_dir).iterdir()} <= {"graph.yaml"}:
            shutil.rmtree(run_dir)
            Path(run_dir).parent.rmdir()  # the graph's folder too, when this was its only run
    except OSError:
        pass


def _report(spec: dict[str, Any], rank: int, lines: list[str]) -> None:
    try:
        (Path(spec["reports"]) / REPORT.format(rank=rank)).write_text(json.dumps(lines))
    except OSError:
        pass


def _reported(folder: str, exc: Any) -> list[str]:
    """The account of the first rank that failed and left one (problems found before training, or the
    training error of the rank), else []."""
    failures = sorted((getattr(exc, "failures", None) or {}).items(), key=lambda item: (item[1].timestamp, item[0]))
    for rank, _ in failures:
        path = Path(folder) / REPORT.format(rank=rank)
        if path.exists():
            try:
                return [str(line) for line in json.loads(path.read_text())]
            except (OSError, ValueError):
                continue
    return []


class _quiet_launcher:
    """The launcher logs each start and each process it stops; the user gets one line from us instead."""

    NAMES = ("torch.distributed", "torch.multiprocessing")

    def __enter__(self) -> None:
        names = [n for n in logging.root.manager.loggerDict if n.startswith(self.NAMES)]
        self.saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in {*self.NAMES, *names}]
        for logger, _ in self.saved:
            logger.setLevel(logging.CRITICAL + 1)

    def __exit__(self, *exc: Any) -> None:
        for logger, level in self.saved:
            logger.setLevel(level)
