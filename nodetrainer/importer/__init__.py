"""Import an existing PyTorch model as a graph file (`nodetrainer import`, File > Import PyTorch model…).

`import_model(module, shapes, name)` traces the module with `torch.fx`
(`trace`), maps each call to a node type with its parameters read from the
module (`ops`), turns submodule classes used more than once into blocks
(`structure`, with parameter names from the classes' own code:
`source_names`), and checks the result like any file: it must pass the
validator and hold exactly the module's parameters. What cannot be expressed is
an `ImportRefused` error with one located line per op; nothing is built.
`convert_weights` renames the module's weights to the graph's network, for
`training.init_from`. `sources.load_source` finds SOURCE (`file.py:NAME`,
`torchvision:NAME`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import NodeTrainerError, Problem
from ..graph import Graph


class ImportRefused(NodeTrainerError):
    """The model cannot be expressed as a graph: one problem per op that has no node type."""


@dataclass
class ImportResult:
    graph: Graph
    modules: dict[str, str]  # node path -> path of the source module whose weights it holds
    source_params: int


def import_model(module: nn.Module, shapes: list[tuple[int, ...]], name: str, source: str | None = None) -> ImportResult:
    """`module` as a graph named `name`, for inputs of `shapes` (one sample each, no batch dimension)."""
    from ..validate import check_graph
    from .structure import Builder
    from .trace import trace

    where = source or name
    traced = trace(module, [tuple(s) for s in shapes], where)
    if traced.problems:
        raise ImportRefused(traced.problems)
    imported = Builder(traced, module, name).build()
    graph = imported.graph
    report = check_graph(graph)
    if report.problems:  # a mapping this importer got wrong: said as it is, never written
        raise ImportRefused([Problem(f"the imported graph does not check: {p}", where) for p in report.problems])
    total = report.shapes.total().params
    expected = sum(p.numel() for p in module.parameters())
    if total != expected:
        raise ImportRefused(Problem(f"the imported graph holds {total:,} parameters, the model {expected:,}; "
                                    "some layer holds weights no node type has", where))
    return ImportResult(graph, imported.modules, expected)


def convert_weights(result: ImportResult, module: nn.Module) -> dict[str, torch.Tensor]:
    """The module's weights (and buffers such as BatchNorm's running statistics) named as the graph's
    network names them, ready for `load_state_dict` or a file for `training.init_from`."""
    from ..codegen import generate
    generated = generate(result.graph)
    out: dict[str, torch.Tensor] = {}
    for path, source in result.modules.items():
        target = generated.module_of.get(path)
        if target is None:
            continue
        for key, value in module.get_submodule(source).state_dict().items():
            out[f"{target}.{key}"] = value.detach().clone()
    return out


__all__ = ["ImportRefused", "ImportResult", "import_model", "convert_weights"]
