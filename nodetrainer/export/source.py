"""What an export starts from: a graph file as it is, or a run folder with the weights it kept.

`open_source(path)` reads either. From a run folder the export gets the run's
`graph.yaml`, the kept weights (best.pt unless the run kept last.pt) and the
normalization statistics fitted on the training split, so every target can take
raw samples as `nodetrainer evaluate` and `predict` do. `network()` builds the
module an export writes (with the statistics as buffers when from a run) and
`reference()` the module it must agree with: the trained network behind the
run's own normalization.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..codegen import GeneratedModel, Trained, generate
from ..errors import ConfigError, GraphError, Problem
from ..graph import Graph

EXAMPLE_BATCH = 5  # samples in the batch every export is checked on


@dataclass
class ExportSource:
    """A graph ready to export, with a run's kept weights and statistics when it came from a run folder."""

    graph: Graph
    path: Path  # the graph file or run folder given
    checkpoint: dict[str, Any] | None = None  # the run's kept checkpoint: "model", "normalizer", "task", ...

    @property
    def from_run(self) -> bool:
        return self.checkpoint is not None

    @property
    def weights(self) -> dict[str, torch.Tensor] | None:
        return self.checkpoint["model"] if self.checkpoint else None

    @property
    def input_ids(self) -> list[str]:
        return self.graph.input_ids()

    @property
    def output_ids(self) -> list[str]:
        return self.graph.output_ids()

    def normalizers(self) -> dict[str, Any]:
        """The run's fitted Normalizer of each normalized Input by id ({} for a graph file or no normalization)."""
        from ..data.normalize import run_normalizers
        return run_normalizers(self.checkpoint, self.input_ids) if self.checkpoint else {}

    def normalizer(self) -> Any:
        """The first Input's fitted Normalizer, or None (a graph file, or a run that did not normalize it)."""
        return self.normalizers().get(self.input_ids[0])

    def trained(self) -> Trained | None:
        """What a module exported from this run adds: the statistics of each normalized Input and the run's name."""
        if not self.from_run:
            return None
        normalized = {i: tuple(n.shift.shape) for i, n in self.normalizers().items()}
        return Trained(normalized, str(self.path))

    def generated(self) -> GeneratedModel:
        """The module's source as an export writes it (raw inputs and `load_trained` when from a run)."""
        name = self.graph.path.name if self.graph.path and not self.from_run else None
        return generate(self.graph, source_name=name, trained=self.trained())

    def state_dict(self, generated: GeneratedModel) -> dict[str, torch.Tensor]:
        """The weights of the exported module: the run's kept weights plus the normalization buffers
        (the random initialization, seeded with training.seed, for a graph file)."""
        if not self.from_run:
            return self.reference().state_dict()
        state = {k: v.detach().clone() for k, v in self.weights.items()}
        norms = self.normalizers()
        for input_id, (shift, scale) in generated.buffers.items():
            state[shift] = norms[input_id].shift.clone()
            state[scale] = norms[input_id].scale.clone()
        return state

    def network(self, generated: GeneratedModel | None = None) -> nn.Module:
        """The exported module with its weights, in evaluation mode."""
        from ..compiler import compile_source
        generated = generated or self.generated()
        model = compile_source(generated, self.graph.name)()
        model.load_state_dict(self.state_dict(generated))
        return model.eval()

    def reference(self) -> nn.Module:
        """The network as nodetrainer runs it: compiled from the graph, with the run's weights (or the seeded
        initialization), in evaluation mode; `reference_inputs` gives what it must be fed."""
        from ..compiler import compile_graph
        from ..training.seeding import seed_everything
        seed_everything(self._seed())
        model = compile_graph(self.graph)
        if self.weights is not None:
            model.load_state_dict(self.weights)
        return model.eval()

    def reference_inputs(self, raw: list[torch.Tensor]) -> list[torch.Tensor]:
        """Raw samples as the run's network sees them (normalized with the training split's statistics)."""
        norms = self.normalizers()
        return [norms[i].apply(x) if i in norms else x for i, x in zip(self.input_ids, raw)]

    def example_inputs(self, batch: int = EXAMPLE_BATCH, seed: int = 0) -> list[torch.Tensor]:
        """A seeded batch of raw samples for every Input: around the training data's mean and spread when
        the statistics are known, token ids below the smallest vocabulary for int64 inputs."""
        from ..validate import check_graph
        tensors = check_graph(self.graph).shapes.tensors
        gen = torch.Generator().manual_seed(seed)
        norms = self.normalizers()
        vocab = min([int(n.resolved()["num_embeddings"]) for n in self.graph.nodes.values()
                     if n.type == "Embedding"] or [2])
        out = []
        for input_id in self.input_ids:
            t = tensors[input_id]
            if t.dtype == "int64":
                out.append(torch.randint(0, vocab, (batch, *t.shape), generator=gen))
                continue
            x = torch.randn((batch, *t.shape), generator=gen)
            if input_id in norms:
                x = x * norms[input_id].scale + norms[input_id].shift
            out.append(x)
        return out

    def _seed(self) -> int:
        return int(self.graph.training_config().seed)


def with_absolute_data(graph: Graph, base: Path) -> Graph:
    """A copy of `graph` whose relative data path (csv:, npz:, images:) is made absolute from `base`, so the
    copy can be written anywhere (the app exports an edited graph through a temporary file)."""
    import copy
    g = graph.copy()
    data = copy.deepcopy(g.data) if isinstance(g.data, dict) else None
    source = data.get("source") if data else None
    if isinstance(source, str):
        kind, sep, location = source.partition(":")
        if sep and kind in ("csv", "npz", "images") and location and not Path(location).expanduser().is_absolute():
            data["source"] = f"{kind}:{(Path(base) / location).resolve()}"
            g.data = data
    return g


def open_source(path: str | os.PathLike) -> ExportSource:
    """A graph file or a run folder (its graph.yaml and kept weights); NodeTrainerError with located problems
    when the graph is invalid or the folder holds no run."""
    from ..graphfile import load_graph
    from ..training.run import kept_weights
    from ..training.runs import GRAPH_FILE, RunFolder
    from ..validate import check_graph

    path = Path(path)
    if path.is_dir():
        run = RunFolder(path)
        checkpoint = kept_weights(run)
        graph = load_graph(run.path / GRAPH_FILE)
    elif path.exists():
        checkpoint = None
        graph = load_graph(path)
    else:
        raise ConfigError(Problem("no such graph file or run folder", str(path)))
    problems = check_graph(graph).problems
    if problems:
        raise GraphError(problems)
    source = ExportSource(graph, path, checkpoint)
    if checkpoint is not None and not isinstance(checkpoint.get("model"), dict):
        raise ConfigError(Problem("the run's checkpoint holds no model weights", str(path)))
    return source


__all__ = ["ExportSource", "open_source", "with_absolute_data", "EXAMPLE_BATCH"]
