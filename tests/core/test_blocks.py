"""Blocks: reading and writing them, problems located inside them, shapes, parameters and code through them."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from nodetrainer.cli import main
from nodetrainer.codegen import generate
from nodetrainer.compiler import compile_graph
from nodetrainer.graphfile import dump_graph, load_graph, read_graph
from nodetrainer.paths import get_value, param_for, set_value
from nodetrainer.summary import summarize
from nodetrainer.validate import check_graph

ROOT = Path(__file__).resolve().parents[2]
RESNET = ROOT / "graphs" / "resnet18.yaml"
FLAT = ROOT / "tests" / "fixtures" / "resnet18_flat.yaml"

NESTED = """\
nodetrainer: 1
name: nested
description: A stage of residual blocks, the stage itself a block.

blocks:
  res:
    params: {width: 16, act: true}
    nodes:
      x:    {type: Input}
      fc1:  {type: Linear, out_features: $width, bias: $act}
      relu: {type: ReLU}
      fc2:  {type: Linear, out_features: $width}
      add:  {type: Add}
      out:  {type: Output}
    edges:
      - x -> fc1 -> relu -> fc2 -> add -> out
      - x -> add

  stage:
    params: {width: 16, depth: 2}
    nodes:
      x:    {type: Input}
      proj: {type: Linear, out_features: $width}
      body: {type: res, width: $width, repeat: $depth}
      out:  {type: Output}
    edges:
      - x -> proj -> body -> out

nodes:
  features: {type: Input, shape: [12]}
  s1:       {type: stage}
  s2:       {type: stage, width: 24, depth: 3}
  head:     {type: Linear, out_features: 3}
  out:      {type: Output}

edges:
  - features -> s1 -> s2 -> head -> out
"""


def read(text: str, tmp_path: Path, name: str = "g.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    graph, problems = read_graph(path.read_bytes(), str(path))
    if graph is not None:  # as `nodetrainer check` does: reading problems, then the validator's others
        seen = {(p.line, p.node, p.block, p.message) for p in problems}
        problems += [p for p in check_graph(graph).problems if (p.line, p.node, p.block, p.message) not in seen]
    return graph, problems


def test_resnet18_reads_as_15_nodes_with_the_flat_networks_parameters_and_multiply_adds():
    blocks, flat = load_graph(RESNET), load_graph(FLAT)
    assert len(blocks.nodes) == 16 and len(flat.nodes) == 71  # 15 and an Output, against 70 and an Output
    assert list(blocks.blocks) == ["basic", "basic_down"]
    folded, unfolded = summarize(blocks), summarize(flat)
    assert folded.total_params == unfolded.total_params == 11_689_512
    assert folded.total_macs == unfolded.total_macs
    layer1 = next(r for r in folded.rows if r.id == "layer1")
    assert (layer1.type, layer1.output_shape, layer1.params) == ("basic", (64, 56, 56), 2 * 73_984)
    assert dump_graph(blocks) == RESNET.read_text()


def test_summary_folds_blocks_and_expand_unfolds_them(capsys):
    assert main(["summary", str(RESNET)]) == 0
    folded = capsys.readouterr().out
    assert "layer2_0" in folded and "layer2_0/conv1" not in folded and "11,689,512" in folded
    assert main(["summary", str(RESNET), "--expand", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 11_689_512
    layer1 = next(n for n in data["nodes"] if n["id"] == "layer1")
    assert [n["id"] for n in layer1["nodes"]][:2] == ["layer1[0]/conv1", "layer1[0]/bn1"]
    assert sum(n["params"] for n in layer1["nodes"]) == layer1["params"]
    down = next(n for n in data["nodes"] if n["id"] == "layer2_0")
    assert {"id": "layer2_0/down", "type": "Conv2d", "output_shape": [128, 28, 28], "params": 8192,
            "macs": 6_422_528} in down["nodes"]


def test_blocks_compute_exactly_the_flat_network():
    blocks, flat = compile_graph(load_graph(RESNET)).eval(), compile_graph(load_graph(FLAT)).eval()
    a, b = blocks.state_dict(), flat.state_dict()
    assert [v.shape for v in a.values()] == [v.shape for v in b.values()]  # the same layers in the same order
    blocks.load_state_dict(dict(zip(a, b.values())))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(blocks(x), flat(x))
    assert "layer1.1.conv2.weight" in a and "layer2_0.down.weight" in a  # named like hand-written code


class HandWrittenBasic(nn.Module):
    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.down = nn.Conv2d(in_channels, channels, 1, stride, bias=False)
        self.down_bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.down_bn(self.down(x)))


def test_shapes_and_parameters_match_a_hand_written_block():
    graph = load_graph(RESNET)
    report = check_graph(graph)
    model = compile_graph(graph).eval()
    hand = HandWrittenBasic(128, 256, 2).eval()
    mine = model.layer3_0
    assert sum(p.numel() for p in hand.parameters()) == report.shapes.cost("layer3_0").params
    mine.load_state_dict(hand.state_dict())
    x = torch.randn(2, 128, 28, 28)  # what layer3_0 gets
    with torch.no_grad():
        assert torch.allclose(mine(x), hand(x), atol=1e-6)
    assert tuple(hand(x).shape[1:]) == report.shapes.shapes["layer3_0"]


def test_generated_code_has_one_class_per_block_used_like_hand_written_code():
    source = generate(load_graph(RESNET)).source
    assert source.count("class Basic(nn.Module):") == 1 and source.count("class BasicDown(nn.Module):") == 1
    assert "    def __init__(self, in_channels, channels=128, stride=2):" in source
    assert "        self.conv1 = nn.Conv2d(in_channels, channels, kernel_size=3, stride=stride, padding=1, bias=False)" in source
    assert "        self.layer1 = nn.Sequential(Basic(in_channels=64), Basic(in_channels=64))" in source
    assert "        self.layer3_0 = BasicDown(in_channels=128, channels=256)" in source
    assert "        x = self.layer2_0(x)  # [B, 128, 28, 28]" in source


def test_nested_blocks_and_repeat_from_a_parameter(tmp_path):
    graph, problems = read(NESTED, tmp_path)
    assert problems == []
    assert dump_graph(graph) == NESTED
    report = check_graph(graph)
    res = lambda n_in, w: (n_in * w + w) + (w * w + w)  # fc1, fc2 with their biases  # noqa: E731
    s1 = 12 * 16 + 16 + 2 * res(16, 16)
    s2 = 16 * 24 + 24 + 3 * res(24, 24)
    assert report.shapes.cost("s1").params == s1 and report.shapes.cost("s2").params == s2
    source = generate(graph).source
    assert "self.body = nn.Sequential(*(Res(in_features=width, width=width) for _ in range(depth)))" in source
    assert "    def __init__(self, in_features, width=16, depth=2):" in source
    assert "self.fc1 = nn.Linear(in_features, width, bias=act)" in source
    model = compile_graph(graph).eval()
    assert sum(p.numel() for p in model.parameters()) == s1 + s2 + 24 * 3 + 3
    assert len(model.s2.body) == 3
    x = torch.randn(4, 12)
    with torch.no_grad():
        out = model(x)
        assert out.shape == (4, 3)
        assert torch.allclose(model(x[:1]), out[:1], atol=1e-6)  # each sample alone


def test_a_parameter_that_changes_a_layers_kind_gets_a_class_per_kind(tmp_path):
    graph, problems = read("""\
        nodetrainer: 1
        name: kinds
        blocks:
          drop:
            params: {channelwise: false}
            nodes:
              x:  {type: Input}
              d:  {type: Dropout, p: 0.1, channelwise: $channelwise}
              y:  {type: Output}
            edges:
              - x -> d -> y
        nodes:
          image: {type: Input, shape: [2, 4, 4]}
          a:     {type: drop}
          b:     {type: drop, channelwise: true}
          out:   {type: Output}
        edges:
          - image -> a -> b -> out
        """, tmp_path)
    assert problems == []
    source = generate(graph).source
    assert "class Drop(nn.Module):" in source and "class Drop2(nn.Module):" in source
    assert "self.a = Drop()" in source and "self.b = Drop2(channelwise=True)" in source
    model = compile_graph(graph)
    assert isinstance(model.a.d, nn.Dropout) and isinstance(model.b.d, nn.Dropout2d)


def test_problems_inside_blocks_are_located_at_the_use_and_the_inner_node(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    text = RESNET.read_text()
    assert "  layer2_0: {type: basic_down}\n" in text
    path.write_text(text.replace("layer2_0: {type: basic_down}", "layer2_0: {type: basic_down, channels: 0}"))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if t.startswith("  layer2_0:"))
    assert out[0] == f"{path}:{line}: node layer2_0/conv1: 'out_channels' must be >= 1, got 0 (from channels)"

    graph, problems = read("""\
        nodetrainer: 1
        name: shapes
        blocks:
          head:
            params: {classes: 10}
            nodes:
              x:   {type: Input}
              fc:  {type: Linear, out_features: $classes}
              out: {type: Output}
            edges:
              - x -> fc -> out
        nodes:
          image: {type: Input, shape: [1, 8, 8]}
          top:   {type: head}
          out:   {type: Output}
        edges:
          - image -> top -> out
        """, tmp_path)
    [problem] = problems
    assert (problem.node, problem.line, problem.block) == ("top/fc", 8, None)  # the line of fc in the block
    assert problem.message.startswith("Linear got a rank-3 tensor [1, 8, 8]; add a Flatten")


def test_mistakes_in_a_definition_are_named_once_with_the_block(tmp_path):
    _, problems = read("""\
        nodetrainer: 1
        name: defs
        blocks:
          a:
            params: {width: 0, type: 3}
            nodes:
              x:   {type: Input, shape: [3]}
              fc:  {type: Linear, out_features: $width}
              fc2: {type: Linear, out_features: $widht}
              b:   {type: b}
            edges:
              - x -> fc -> fc2 -> b
          b:
            nodes:
              x:   {type: Input}
              a:   {type: a}
              out: {type: Output}
            edges:
              - x -> a -> out
          Linear:
            nodes: {}
            edges: []
        nodes:
          x:   {type: Input, shape: [3]}
          out: {type: Output}
        edges:
          - x -> out
        """, tmp_path)
    text = [str(p).split(": ", 1)[1] for p in problems]
    assert "block a: 'type' cannot name a block parameter: a use of the block has its own 'type'" in text
    assert "block a: node x: a block's Input takes the caller's tensor: remove 'shape'" in text
    assert any(t.startswith("block a: node fc2: '$widht' names no parameter of block a (did you mean 'width'?)")
               for t in text)
    assert "block a: block a uses itself: a -> b -> a; a block may use other blocks, never itself" in text
    assert any(t.startswith("block name 'Linear' is the name of a node type") for t in text)
    graph, problems = read("""\
        nodetrainer: 1
        name: defaults
        blocks:
          a:
            params: {width: 0}
            nodes:
              x:  {type: Input}
              fc: {type: Linear, out_features: $width}
            edges:
              - x -> fc
        nodes:
          x:   {type: Input, shape: [3]}
          a:   {type: a, width: 4}
          out: {type: Output}
        edges:
          - x -> a -> out
        """, tmp_path)
    text = [str(p).split(": ", 1)[1] for p in problems]
    assert "block a: block a has no Output; add one after the node whose value the block gives" in text
    assert "block a: node fc: 'out_channels' must be >= 1, got 0 (the default of $width)".replace(
        "out_channels", "out_features") in text


def test_repeat_chains_copies_and_refuses_a_block_that_changes_the_shape(tmp_path):
    text = RESNET.read_text().replace("layer1:   {type: basic, repeat: 2}", "layer1:   {type: basic, repeat: 3}")
    graph, problems = read(text, tmp_path)
    assert problems == []
    assert check_graph(graph).shapes.cost("layer1").params == 3 * 73_984
    assert len(compile_graph(graph).layer1) == 3
    graph, problems = read("""\
        nodetrainer: 1
        name: pooled
        blocks:
          squash:
            nodes:
              x:    {type: Input}
              conv: {type: Conv2d, out_channels: 4, kernel_size: 1}
              pool: {type: GlobalAvgPool}
              y:    {type: Output}
            edges:
              - x -> conv -> pool -> y
        nodes:
          image: {type: Input, shape: [3, 8, 8]}
          sq:    {type: squash, repeat: 2}
          out:   {type: Output}
        edges:
          - image -> sq -> out
        """, tmp_path)
    [problem] = problems  # the second copy gets the first one's [4]
    assert (problem.node, problem.line) == ("sq[1]/conv", 7)
    assert problem.message == "Conv2d expects [C, H, W], got [4]"


def test_tuning_paths_reach_block_parameters_and_repeat():
    graph = load_graph(RESNET).copy()
    assert param_for(graph, "nodes.layer1.repeat").check(4) == 4
    with pytest.raises(ValueError, match="must be >= 1"):
        param_for(graph, "nodes.layer1.repeat").check(0)
    assert get_value(graph, "blocks.basic.params.channels") == 64
    assert get_value(graph, "nodes.layer2_0.stride") == 2
    set_value(graph, "nodes.layer1.repeat", 4)
    set_value(graph, "blocks.basic_down.params.stride", 1)
    set_value(graph, "blocks.basic.nodes.conv1.kernel_size", 5)
    assert "layer1[0]/add" in [p.node for p in check_graph(graph).problems]  # 54x54 against 56x56: every use
    set_value(graph, "blocks.basic.nodes.conv1.padding", 2)
    report = check_graph(graph)
    assert report.problems == []
    assert report.shapes.shapes["layer4_1"] == (512, 56, 56)  # no downsampling left
    assert report.shapes.cost("layer1").params == 4 * (64 * 64 * 25 + 64 * 64 * 9 + 256)
    graph.tune = {"space": {"nodes.layer1.repeat": {"int": [1, 4]}, "blocks.basic.params.channels": {"choice": [32, 64]},
                            "blocks.basic.params.chanels": {"choice": [1]}}}
    [problem] = check_graph(graph).problems
    assert "block basic has no parameter 'chanels' (did you mean 'channels'?)" in problem.message
