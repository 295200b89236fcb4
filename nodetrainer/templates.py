"""Ready-made blocks (Conv-BN-ReLU, residual block, MLP block) and starting values (Qt-free).

A template is format-1 text read through `fragments.parse_fragment`, so it becomes
ordinary nodes and edges with fresh ids; nothing about a template survives
insertion. `starter_params` gives the values a node dropped from the palette
starts with, so that a new node's required parameters are filled in with a common
choice the user then edits (the inspector shows every one). `starter_graph` is
what File > New opens: no nodes, and visible `data` and `training` sections
(`STARTER_DATA`, `STARTER_TRAINING`) written into the file like any other values.
The format's own defaults (what a file without those keys means) stay as the
contract says; see docs/graph-format.md, "Starting values of a new graph".
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable

from .errors import GraphError
from .fragments import Fragment, parse_fragment
from .graph import Graph
from .layers import REGISTRY


@dataclass(frozen=True)
class Template:
    name: str
    doc: str
    text: str


TEMPLATES: dict[str, Template] = {t.name: t for t in (
    Template("Conv-BN-ReLU", "3×3 convolution (same padding), batch norm and ReLU: the basic CNN stage.", """\
nodes:
  conv: {type: Conv2d, out_channels: 32, kernel_size: 3, padding: same, bias: false}
  bn:   {type: BatchNorm}
  relu: {type: ReLU}
edges:
  - conv -> bn -> relu
layout:
  conv: [0, 0]
  bn:   [220, 0]
  relu: [440, 0]
"""),
    Template("Residual block", "Two 3×3 conv-BN stages with an identity skip added back, then ReLU. "
             "Keep the channel count equal to the incoming one.", """\
nodes:
  res_in:    {type: Identity}
  res_conv1: {type: Conv2d, out_channels: 32, kernel_size: 3, padding: same, bias: false}
  res_bn1:   {type: BatchNorm}
  res_relu1: {type: ReLU}
  res_conv2: {type: Conv2d, out_channels: 32, kernel_size: 3, padding: same, bias: false}
  res_bn2:   {type: BatchNorm}
  res_add:   {type: Add}
  res_relu2: {type: ReLU}
edges:
  - res_in -> res_conv1 -> res_bn1 -> res_relu1 -> res_conv2 -> res_bn2 -> res_add -> res_relu2
  - res_in -> res_add
layout:
  res_in:    [0, 0]
  res_conv1: [220, 0]
  res_bn1:   [440, 0]
  res_relu1: [660, 0]
  res_conv2: [880, 0]
  res_bn2:   [1100, 0]
  res_add:   [1320, 110]
  res_relu2: [1540, 110]
"""),
    Template("MLP block", "Linear, ReLU and Dropout: one hidden layer of a multilayer perceptron.", """\
nodes:
  fc:   {type: Linear, out_features: 128}
  act:  {type: ReLU}
  drop: {type: Dropout, p: 0.2}
edges:
  - fc -> act -> drop
layout:
  fc:   [0, 0]
  act:  [220, 0]
  drop: [440, 0]
"""),
)}


def template_fragment(name: str, taken: Iterable[str] = ()) -> Fragment:
    """The template `name` as a fragment whose ids avoid `taken`."""
    template = TEMPLATES.get(name)
    if template is None:
        raise GraphError(f"no template named '{name}'")
    fragment, problems = parse_fragment(template.text, taken)
    if fragment is None:
        raise GraphError(problems)
    return fragment


# Values for required parameters (and a few defaults worth showing) of a node added from the palette.
STARTER_PARAMS: dict[str, dict[str, Any]] = {
    "Input": {"shape": [1, 8, 8]},
    "Linear": {"out_features": 64},
    "Conv1d": {"out_channels": 32, "kernel_size": 3},
    "Conv2d": {"out_channels": 32, "kernel_size": 3},
    "ConvTranspose2d": {"out_channels": 32, "kernel_size": 2, "stride": 2},
    "MaxPool1d": {"kernel_size": 2},
    "MaxPool2d": {"kernel_size": 2},
    "AvgPool1d": {"kernel_size": 2},
    "AvgPool2d": {"kernel_size": 2},
    "AdaptiveAvgPool2d": {"output_size": 1},
    "Embedding": {"num_embeddings": 1000, "embedding_dim": 64},
    "LSTM": {"hidden_size": 64},
    "GRU": {"hidden_size": 64},
    "Reshape": {"shape": [-1]},
}

# The sections File > New starts with, chosen so that a small CNN built from the palette on the digits reaches
# 97-99 % test accuracy with them untouched (benchmarks/newcomer_bench.py): a held-out test split; AdamW at 3e-3 with
# weight decay 0.01, a cosine schedule over 30 epochs and label smoothing 0.1.
STARTER_DATA: dict[str, Any] = {"source": "builtin:digits", "split": {"val": 0.15, "test": 0.15}}
STARTER_TRAINING: dict[str, Any] = {
    "label_smoothing": 0.1,
    "optimizer": {"type": "adamw", "lr": 0.003, "weight_decay": 0.01},
    "scheduler": {"type": "cosine"},
    "epochs": 30,
}
# Turning early stopping on in the app raises an epoch count the user has not chosen to this upper bound.
EARLY_STOPPING_EPOCHS = 100

# Short id stems for new nodes, as a person would name them.
ID_STEMS: dict[str, str] = {
    "Input": "input", "Output": "out", "Linear": "fc", "Conv1d": "conv", "Conv2d": "conv",
    "ConvTranspose2d": "upconv", "MaxPool1d": "pool", "MaxPool2d": "pool", "AvgPool1d": "pool", "AvgPool2d": "pool",
    "AdaptiveAvgPool2d": "pool", "GlobalAvgPool": "gap", "BatchNorm": "bn", "LayerNorm": "ln", "Dropout": "drop",
    "Flatten": "flat", "Reshape": "reshape", "Concat": "cat", "Embedding": "embed",
}


def starter_params(node_type: str) -> dict[str, Any]:
    """The parameters a new node of `node_type` starts with (checked against its schema)."""
    spec = REGISTRY.get(node_type)
    if spec is None:
        raise GraphError(f"unknown node type '{node_type}'")
    values = STARTER_PARAMS.get(node_type, {})
    return {k: spec.param_map[k].check(v) for k, v in values.items() if k in spec.param_map}


def starter_graph(name: str = "untitled") -> Graph:
    """A new, empty graph with the starting `data` and `training` sections (copies: safe to edit)."""
    graph = Graph(name)
    graph.data = copy.deepcopy(STARTER_DATA)
    graph.training = copy.deepcopy(STARTER_TRAINING)
    return graph


def id_stem(node_type: str) -> str:
    """'conv' for Conv2d, 'relu' for ReLU...: the base of a new node's id (then numbered)."""
    return ID_STEMS.get(node_type, node_type.lower())
