"""Automatic layout: left to right, wrapped into bands that fit a canvas, side paths for branches and skips."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nodetrainer.autolayout import GRID, NODE_H, NODE_W, VIEW, X_GAP, layered_layout, layout_missing
from nodetrainer.graph import Graph
from nodetrainer.graphfile import load_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "graphs").glob("*.yaml"))
MARGIN = 40  # what Fit leaves around the graph


def overlaps(pos: dict) -> list[tuple[str, str]]:
    ids = sorted(pos)
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]
            if abs(pos[a][0] - pos[b][0]) < NODE_W and abs(pos[a][1] - pos[b][1]) < NODE_H]


def flows(graph: Graph, pos: dict) -> bool:
    """Every edge points right, or down to a later band (its target's row is wholly below its source)."""
    return all(pos[s][0] < pos[t][0] or pos[t][1] >= pos[s][1] + NODE_H for s, t in graph.edges())


def fit_zoom(pos: dict, view=VIEW) -> float:
    width = max(x for x, _ in pos.values()) - min(x for x, _ in pos.values()) + NODE_W + 2 * MARGIN
    height = max(y for _, y in pos.values()) - min(y for _, y in pos.values()) + NODE_H + 2 * MARGIN
    return min(view[0] / width, view[1] / height)


def rows(pos: dict) -> dict[float, list[str]]:
    out: dict[float, list[str]] = {}
    for n, (_x, y) in pos.items():
        out.setdefault(y, []).append(n)
    return out


def chain(length: int) -> Graph:
    g = Graph("chain")
    g.add_node("x", "Input", {"shape": [8]})
    prev = "x"
    for i in range(length - 2):
        g.add_node(f"fc{i}", "Linear", {"out_features": 8})
        g.connect(prev, f"fc{i}")
        prev = f"fc{i}"
    g.add_node("out", "Output")
    g.connect(prev, "out")
    return g


def test_layout_code_does_not_import_qt():
    code = ("import sys, nodetrainer.autolayout, nodetrainer.placement; "
            "assert not any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_every_example_flows_in_bands_on_the_grid_without_overlaps():
    assert EXAMPLES
    for path in EXAMPLES:
        g = load_graph(path)
        pos = layered_layout(g, view=VIEW)
        assert set(pos) == set(g.nodes)
        assert flows(g, pos), path.name
        assert overlaps(pos) == [], path.name
        assert all(v % GRID == 0 for p in pos.values() for v in p), path.name
        assert fit_zoom(pos) >= 0.45, path.name  # fits a 1280x800 canvas with its text readable


def test_resnet18_is_one_residual_block_per_band_and_fits_where_the_strip_did_not():
    g = load_graph(ROOT / "tests" / "fixtures" / "resnet18_flat.yaml")
    strip = layered_layout(g)
    assert max(x for x, _ in strip.values()) > 12_000 and fit_zoom(strip) < 0.1  # as it opened before
    pos = layered_layout(g, view=VIEW)
    assert fit_zoom(pos) >= 0.45
    main_rows = sorted(y for x, y in pos.values() if x == 0)  # each band starts at the left, on its main row
    assert len(main_rows) >= 8
    band_of = {n: max(i for i, y in enumerate(main_rows) if y <= pos[n][1]) for n in g.nodes}
    # the flow goes from band to band along exactly one edge (cut between blocks, never across a skip)
    crossing = [(s, t) for s, t in g.edges() if band_of[s] != band_of[t]]
    assert len(crossing) == len(main_rows) - 1
    assert all(band_of[t] == band_of[s] + 1 and pos[t][0] == 0 for s, t in crossing)
    for block in ("layer1_0", "layer1_1", "layer2_1", "layer4_1"):  # a skip stays on its block's row
        add = f"{block}_add"
        skip_source = [s for s in g.inputs[add] if not s.endswith("bn2")][0]
        assert band_of[skip_source] == band_of[add] and pos[skip_source][1] == pos[add][1]
    for stage in (2, 3, 4):  # a downsampling branch runs on a row of its own, below its block
        conv, down, down_bn = (f"layer{stage}_0_{n}" for n in ("conv1", "down", "down_bn"))
        assert pos[down][1] == pos[down_bn][1] > pos[conv][1]
        assert band_of[down] == band_of[conv]


def test_a_long_chain_wraps_into_rows_and_a_short_one_stays_one_row():
    short = layered_layout(chain(5), view=VIEW)
    assert len(rows(short)) == 1
    long = layered_layout(chain(60), view=VIEW)
    assert len(rows(long)) >= 4 and fit_zoom(long) >= 0.45
    g = chain(60)
    assert flows(g, long) and overlaps(long) == []
    # rows read like lines of text: each starts at the left, one under the other
    starts = sorted(min((pos for pos in long.values() if pos[1] == y)) for y in rows(long))
    assert all(x == 0 for x, _ in starts)


def test_the_bands_follow_the_shape_of_the_canvas():
    g = chain(60)
    wide = layered_layout(g, view=(2400, 800))
    tall = layered_layout(g, view=(600, 1200))
    assert len(rows(tall)) > len(rows(wide))
    assert max(x for x, _ in tall.values()) < max(x for x, _ in wide.values())


def test_without_a_view_the_layout_is_one_strip_with_a_straight_main_path():
    for path in EXAMPLES:
        g = load_graph(path)
        pos = layered_layout(g)
        assert all(pos[s][0] < pos[t][0] for s, t in g.edges()), path.name
        assert overlaps(pos) == [], path.name
    g = load_graph(ROOT / "graphs" / "digits_resnet.yaml")
    pos = layered_layout(g)
    assert pos["image"][1] == pos["skip"][1] == pos["out"][1]
    assert pos["relu1"][1] == pos["skip"][1]  # the skip's source sits on the main row too


def test_a_selection_is_laid_out_as_one_strip_at_its_place():
    g = chain(30)
    chosen = [f"fc{i}" for i in range(5, 15)]
    pos = layered_layout(g, chosen, origin=(500, 300))
    assert set(pos) == set(chosen)
    assert len(rows(pos)) == 1 and min(x for x, _ in pos.values()) == 500


def test_layout_survives_cycles():
    g = load_graph(ROOT / "graphs" / "digits_resnet.yaml")
    g.inputs["conv1"].append("relu2")  # a cycle, as a broken file may hold
    assert len(layered_layout(g, view=VIEW)) == len(g.nodes)
    assert len(layered_layout(g)) == len(g.nodes)


def test_nodes_without_a_position_join_the_ones_that_have_one():
    g = load_graph(ROOT / "graphs" / "digits_cnn.yaml")
    g.layout = {"image": (1000.0, 500.0), "conv1": (1000.0 + X_GAP, 500.0)}
    placed = layout_missing(g)
    assert set(placed) == set(g.nodes) - {"image", "conv1"}
    assert placed["relu1"] == (1000.0 + 2 * X_GAP, 500.0)
    assert overlaps({**g.layout, **placed}) == []
