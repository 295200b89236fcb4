"""The `nodetrainer` command line: check, summary, export (cli_export.py), train, evaluate (cli_train.py), predict
(cli_predict.py), tune (cli_tune.py), import (cli_import.py).

Every error is printed as one located line per problem and no traceback unless
`--debug` is given (before or after the command). Exit status: 0 success,
1 invalid input, 2 an internal error (a bug), 3 diverged (train), 130 a second
Ctrl-C aborting a run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import NodeTrainerError, Problem

EXIT_OK, EXIT_INVALID = 0, 1


def _read_checked(path: str):
    """(graph, report) or raises NodeTrainerError with every problem of the file."""
    from .graphfile import load_graph
    from .validate import check_graph

    graph = load_graph(path)
    report = check_graph(graph)
    if report.problems:
        raise NodeTrainerError(report.problems)
    return graph, report


def cmd_check(args: argparse.Namespace) -> int:
    from .graphfile import read_graph
    from .validate import check_graph

    status = EXIT_OK
    for name in args.files:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            print(Problem(f"cannot read the file: {exc.strerror or exc}", name))
            status = EXIT_INVALID
            continue
        graph, problems = read_graph(data, name)
        if graph is not None:
            seen = {(p.line, p.node, p.block, p.message) for p in problems}
            problems += [p for p in check_graph(graph).problems if (p.line, p.node, p.block, p.message) not in seen]
        problems.sort(key=lambda p: (p.line or 0))
        for problem in problems:
            print(problem)
        if problems:
            status = EXIT_INVALID
        elif not args.quiet:
            print(f"{name}: ok ({len(graph.nodes)} nodes)")
    return status


def cmd_summary(args: argparse.Namespace) -> int:
    from .summary import format_table, summarize

    graph, report = _read_checked(args.file)
    summary = summarize(graph, report, expand=args.expand)
    print(json.dumps(summary.to_json(), indent=2) if args.json else format_table(summary))
    return EXIT_OK


def _debug_option(parser: argparse.ArgumentParser) -> None:
    """--debug after the command too (nodetrainer check --debug FILE)."""
    parser.add_argument("--debug", dest="sub_debug", action="store_true", help="show Python tracebacks on errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nodetrainer", description="Check, summarize, export and train graph files.")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="validate graph files; prints FILE:LINE: node ID: message per problem")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing for valid files")
    _debug_option(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("summary", help="per node: type, output shape, parameters, multiply-adds")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--expand", action="store_true", help="unfold each use of a block into its nodes")
    _debug_option(p)
    p.set_defaults(func=cmd_summary)

    from . import cli_export
    cli_export.add_command(sub, _debug_option)

    try:
        from . import cli_train
    except ImportError:
        cli_train = None
    if cli_train is not None and hasattr(cli_train, "add_commands"):
        cli_train.add_commands(sub)
    from . import cli_import, cli_predict, cli_tune
    cli_predict.add_commands(sub)
    cli_tune.add_commands(sub)
    cli_import.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or getattr(args, "sub_debug", False)
    try:
        return args.func(args)
    except NodeTrainerError as exc:
        if debug:
            raise
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (| head): nothing more to say, and nobody to say it to
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's exit flush must not fail again
        except OSError:
            pass
        return EXIT_INVALID
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            raise
        print(f"nodetrainer: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
