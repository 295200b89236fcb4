"""`nodetrainer predict RUN FILE... [--top K]`: the kept model of a run on image or CSV files, as JSON.

Prints `{"run": RUN, "task": ..., "predictions": [...]}` with one entry per sample
(an image file, or each row of a CSV file with its `line`): the `top` K classes
with probabilities (class names when the data set has them), or the predicted
`value` for regression. Bad input is one located line and exit status 1.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

EXIT_OK = 0


def add_commands(subparsers: Any) -> None:
    p = subparsers.add_parser("predict", help="the kept model's predictions for image or CSV files, as JSON",
                              description="Predict with the weights RUN kept, on raw samples: image files, or "
                                          "CSV files with the training CSV's feature columns (the run's "
                                          "normalization applies).")
    p.add_argument("run", metavar="RUN", help="a run folder")
    p.add_argument("files", metavar="FILE", nargs="+", help="image files (png, jpg, ...) or CSV files of rows")
    p.add_argument("--top", metavar="K", type=_positive, default=3, help="classes per sample (default: 3)")
    p.add_argument("--debug", dest="sub_debug", action="store_true", help="show Python tracebacks on errors")
    p.set_defaults(func=cmd_predict)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_predict(args: argparse.Namespace) -> int:
    from .training.predict import TrainedModel

    model = TrainedModel.load(args.run)
    samples = model.predict_files(args.files, top=args.top)  # every file is read before anything is printed
    print(json.dumps({"run": str(args.run), "task": model.task,
                      "predictions": [s.to_json() for s in samples]}, indent=2))
    return EXIT_OK
