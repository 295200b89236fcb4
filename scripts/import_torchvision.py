"""Which torchvision classification models `nodetrainer import` brings in, and why the others are refused.

For every model of `torchvision.models.list_models(module=torchvision.models)`:
built with weights=None on the meta device (no memory, no download), imported
for a 3x224x224 input (299x299 for inception_v3), and checked to hold the
model's exact parameter count. With `--outputs NAME,...` those models are also
built for real, their weights copied into the compiled import, and the largest
absolute difference of the outputs on a random batch is reported.
Prints a table and writes JSON (default benchmarks/results/import_torchvision.json).

    python scripts/import_torchvision.py [--outputs resnet18,vgg11] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nodetrainer.importer import ImportRefused, convert_weights, import_model  # noqa: E402
from nodetrainer.importer.sources import load_torchvision  # noqa: E402

SIZE = {"inception_v3": 299}


def survey(name: str, models) -> dict:
    size = SIZE.get(name, 224)
    try:
        with torch.device("meta"):
            model = models.get_model(name, weights=None)
    except Exception:  # a builder that computes with tensors (regnet): built for real
        model = models.get_model(name, weights=None)
    started = time.perf_counter()
    try:
        result = import_model(model, [(3, size, size)], name, f"torchvision:{name}")
    except ImportRefused as exc:
        return {"model": name, "imported": False, "reason": str(exc.problems[0]).split(": ", 1)[1],
                "problems": len(exc.problems)}
    graph = result.graph
    return {"model": name, "imported": True, "params": result.source_params, "top_nodes": len(graph.nodes),
            "blocks": list(graph.blocks), "seconds": round(time.perf_counter() - started, 2)}


def outputs(name: str, models) -> float:
    size = SIZE.get(name, 224)
    torch.manual_seed(0)
    model = models.get_model(name, weights=None).eval()
    result = import_model(model, [(3, size, size)], name)
    from nodetrainer.compiler import compile_graph
    network = compile_graph(result.graph).eval()
    network.load_state_dict(convert_weights(result, model))
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        return float((network(x) - model(x)).abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", default="", help="models to compare outputs of, comma-separated")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "import_torchvision.json"))
    parser.add_argument("--only", default="", help="survey only these models")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)  # googlenet's and inception's init notices
    models = load_torchvision()
    names = args.only.split(",") if args.only else models.list_models(module=models)
    rows = []
    for name in names:
        row = survey(name, models)
        rows.append(row)
        print(f"{name:22s} " + (f"imported  {row['params']:>12,} params  {row['top_nodes']:3d} nodes  blocks: "
                                f"{', '.join(row['blocks']) or '-'}" if row["imported"] else f"refused   {row['reason']}"),
              flush=True)
    diffs = {}
    for name in [n for n in args.outputs.split(",") if n]:
        diffs[name] = outputs(name, models)
        print(f"{name}: max abs difference of the outputs {diffs[name]:.3g}", flush=True)
    summary = {"torch": torch.__version__, "torchvision": models.__name__ and sys.modules["torchvision"].__version__,
               "imported": sum(r["imported"] for r in rows), "refused": sum(not r["imported"] for r in rows),
               "models": rows, "output_max_abs_diff": diffs}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{summary['imported']} imported, {summary['refused']} refused; wrote {args.json}")


if __name__ == "__main__":
    main()
