"""The Qt-free pieces the editor relies on: fragments (copy/paste text) and templates (layout: tests/core)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from nodetrainer.fragments import copy_fragment, fresh_id, parse_fragment
from nodetrainer.graph import Graph, id_problem
from nodetrainer.graphfile import dump_graph, load_graph
from nodetrainer.templates import STARTER_PARAMS, TEMPLATES, starter_params, template_fragment
from nodetrainer.validate import check_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "graphs").glob("*.yaml"))


def test_core_additions_do_not_import_qt():
    code = ("import sys, nodetrainer.autolayout, nodetrainer.fragments, nodetrainer.templates; "
            "assert not any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_copy_then_paste_recreates_nodes_edges_and_input_order_with_fresh_ids():
    g = load_graph(ROOT / "graphs" / "digits_resnet.yaml")
    text = copy_fragment(g, ["relu1", "conv2", "bn2", "skip"])
    fragment, problems = parse_fragment(text, g.nodes)
    assert problems == []
    assert fragment.renamed == {"relu1": "relu3", "conv2": "conv3", "bn2": "bn3", "skip": "skip2"}
    assert ("relu3", "skip2") in fragment.edges and ("bn3", "skip2") in fragment.edges
    # the skip's inputs keep their order: bn2 first, then relu1
    into_skip = [s for s, t in fragment.edges if t == "skip2"]
    assert into_skip == ["bn3", "relu3"]
    assert fragment.entry() == "relu3" and fragment.exit() == "skip2"
    assert set(fragment.layout) == set(fragment.ids)


def test_paste_accepts_bare_node_lines_and_reports_located_problems():
    fragment, problems = parse_fragment("a: {type: ReLU}\nb: {type: Linear, out_features: 4}\n")
    assert problems == [] and fragment.ids == ["a", "b"] and fragment.edges == []
    fragment, problems = parse_fragment("nodes:\n  a: {type: ReLU}\nedges:\n  - a -> ghost\n")
    assert fragment is None and problems[0].line == 4 and "ghost" in problems[0].message
    fragment, problems = parse_fragment("x: {type: Conv2d, out_channels: 8}\n")
    assert fragment is None and problems[0].line == 1 and "kernel_size" in problems[0].message
    assert parse_fragment("   ")[0] is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["conv1", "conv", "x", "relu2", "_a9", "out"]), min_size=1, max_size=12))
def test_fresh_ids_are_valid_and_unique(bases):
    taken: set[str] = {"conv1", "relu2"}
    for base in bases:
        new = fresh_id(base, taken)
        assert new not in taken and id_problem(new) is None
        taken.add(new)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_copying_any_selection_of_an_example_round_trips(data):
    g = load_graph(data.draw(st.sampled_from(EXAMPLES)))
    chosen = data.draw(st.lists(st.sampled_from(list(g.nodes)), min_size=1, unique=True))
    fragment, problems = parse_fragment(copy_fragment(g, chosen))  # nothing taken: ids unchanged
    assert problems == []
    assert fragment.ids == [n for n in g.nodes if n in chosen]
    assert fragment.edges == [(s, t) for s, t in g.edges() if s in chosen and t in chosen]
    assert all(fragment.nodes[i].params == g.nodes[n].params for i, n in enumerate(fragment.ids))


def test_templates_are_ordinary_valid_nodes():
    for name in TEMPLATES:
        fragment = template_fragment(name)
        g = Graph("t")
        g.add_node("image", "Input", {"shape": [64] if name == "MLP block" else [32, 8, 8]})
        for node in fragment.nodes:
            g.add_node(node.id, node.type, node.params, fragment.layout[node.id])
        for s, t in fragment.edges:
            g.connect(s, t)
        g.connect("image", fragment.entry())
        g.add_node("out", "Output")
        g.connect(fragment.exit(), "out")
        report = check_graph(g)
        assert report.ok, (name, [str(p) for p in report.problems])
        assert dump_graph(g)


def test_starter_params_pass_their_schema():
    for node_type in STARTER_PARAMS:
        assert starter_params(node_type) == STARTER_PARAMS[node_type]
