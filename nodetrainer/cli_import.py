"""`nodetrainer import`: a graph file from an existing PyTorch model (see `nodetrainer.importer`)."""
from __future__ import annotations

import argparse


def add_commands(sub) -> None:
    p = sub.add_parser("import", help="a graph file from an existing PyTorch model (torch.fx)")
    p.add_argument("source", metavar="SOURCE", help="path/to/file.py:NAME or torchvision:NAME")
    p.add_argument("--input-shape", required=True, action="append", metavar="SHAPE",
                   help="one sample's shape without the batch dimension, e.g. 3,224,224 (once per input)")
    p.add_argument("-o", "--output", metavar="OUT", help="graph file to write (default: NAME.yaml)")
    p.add_argument("--weights", metavar="STATE_DICT",
                   help="a state dict of the model: written beside the graph for training.init_from")
    p.add_argument("--debug", dest="sub_debug", action="store_true", help="show Python tracebacks on errors")
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from .importer.command import run_import
    return run_import(args.source, args.input_shape, args.output, args.weights)
