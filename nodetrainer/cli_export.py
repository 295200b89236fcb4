"""`nodetrainer export SOURCE --to python|onnx|onnx-int8|script [-o OUT]`.

SOURCE is a graph file or a run folder (its graph.yaml and kept weights). Each
target checks what it made before writing (see nodetrainer/export); the command
prints what it wrote and the check's figures on standard error, or one line per
problem and exit 1 when it refuses. `python` from a graph file without `-o`
prints the module on standard output, as `-o -` does for `python` and `script`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .errors import ConfigError, Problem

EXIT_OK = 0


def add_command(subparsers: Any, debug_option: Any) -> None:
    from .export import TARGETS
    p = subparsers.add_parser("export", help="write the network as code, ONNX, INT8 ONNX or a training script",
                              description="Export SOURCE, a graph file or a run folder (then its kept weights).")
    p.add_argument("source", metavar="SOURCE", help="graph file or run folder")
    p.add_argument("--to", default="python", choices=TARGETS, help="target (default: python)")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: named after the graph, here; "
                   "python from a graph file: standard output)")
    debug_option(p)
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from .export import default_output, export, open_source

    source = open_source(args.source)
    to_stdout = args.output == "-" or (args.output is None and args.to == "python" and not source.from_run)
    if to_stdout:
        return _print_source(source, args.to)
    out = Path(args.output) if args.output else default_output(source, args.to)
    if not out.parent.is_dir():
        raise ConfigError(Problem(f"the folder {out.parent} does not exist; create it or choose another -o", str(out)))
    if out.exists() and out.is_dir():
        raise ConfigError(Problem("is a folder; -o names the file to write", str(out)))
    try:
        result = export(source, args.to, out)
    except OSError as exc:
        from .training.checkpoint import write_error_text
        where = Path(exc.filename) if getattr(exc, "filename", None) else out
        raise ConfigError(Problem(write_error_text(where, exc), str(out))) from None
    for line in result.lines:
        print(line, file=sys.stderr)
    return EXIT_OK


def _print_source(source: Any, target: str) -> int:
    """The module (or script) on standard output, checked like a written file."""
    if target not in ("python", "script"):
        raise ConfigError(Problem(f"--to {target} writes a binary file; give -o OUT", str(source.path)))
    if target == "python" and source.from_run:
        raise ConfigError(Problem("a run exports to two files (the module and its weights); give -o OUT.py",
                                  str(source.path)))
    if target == "python":
        from .export.python import checked_source
        sys.stdout.write(checked_source(source))
    else:
        from .export.script import script_source
        sys.stdout.write(script_source(source))
    return EXIT_OK
