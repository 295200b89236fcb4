"""Placing new nodes: beside their source, pushing what is in the way aside, never on top of another node."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from nodetrainer import placement
from nodetrainer.autolayout import NODE_H, NODE_W, VIEW, X_GAP, Y_GAP, layered_layout
from nodetrainer.graph import Graph
from nodetrainer.graphfile import load_graph

ROOT = Path(__file__).resolve().parents[2]


def overlapping(layout: dict) -> list[tuple[str, str]]:
    ids = sorted(layout)
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]
            if abs(layout[a][0] - layout[b][0]) < NODE_W and abs(layout[a][1] - layout[b][1]) < NODE_H]


def resnet() -> Graph:
    g = load_graph(ROOT / "tests" / "fixtures" / "resnet18_flat.yaml")
    g.layout = layered_layout(g, view=VIEW)
    return g


def with_new(layout: dict, spot, moves: dict) -> dict:
    return {**layout, **moves, "new": spot}


def test_an_insert_into_an_edge_lands_beside_the_source_and_pushes_the_rest_of_the_row():
    g = resnet()
    before = dict(g.layout)
    spot, moves = placement.into_edge(g, "layer2_0_conv1", "layer2_0_bn1")
    sx, sy = before["layer2_0_conv1"]
    assert spot == (sx + X_GAP, sy)
    row = ["layer2_0_bn1", "layer2_0_relu1", "layer2_0_conv2", "layer2_0_bn2", "layer2_0_add"]
    assert set(moves) == set(row)  # the rest of the block's row, nothing else
    assert all(moves[n] == (before[n][0] + X_GAP, before[n][1]) for n in row)
    assert overlapping(with_new(before, spot, moves)) == []


def test_an_insert_at_the_end_of_a_band_needs_no_room():
    g = resnet()
    spot, moves = placement.into_edge(g, "layer1_0_add", "layer1_0_relu2")  # the edge down to the next band
    assert moves == {} and spot == (g.layout["layer1_0_add"][0] + X_GAP, g.layout["layer1_0_add"][1])


def test_appending_continues_the_row_of_a_source_that_feeds_nothing():
    g = resnet()
    spot, moves = placement.after(g, "out")
    assert spot == (g.layout["out"][0] + X_GAP, g.layout["out"][1]) and moves == {}


def test_a_branch_goes_below_its_source_and_moves_everything_below_down_as_a_whole():
    g = resnet()
    before = dict(g.layout)
    spot, moves = placement.after(g, "layer1_1_conv1")  # it feeds bn1 already, and the next band is close
    sx, sy = before["layer1_1_conv1"]
    assert spot == (sx + X_GAP, sy + Y_GAP)
    assert moves and all(before[n][1] > sy for n in moves)  # only what is below the source's row moves
    shifts = {(moves[n][0] - before[n][0], moves[n][1] - before[n][1]) for n in moves}
    assert len(shifts) == 1 and next(iter(shifts))[0] == 0  # every band below moves down by the same amount
    assert overlapping(with_new(before, spot, moves)) == []
    # a source with room below needs nothing moved
    spot, moves = placement.after(g, "layer2_0_relu1")
    assert moves == {} and overlapping(with_new(g.layout, spot, moves)) == []


def test_a_node_pushed_into_one_that_must_stay_jumps_past_it():
    layout = {"a": (0.0, 0.0), "b": (210.0, 0.0), "fixed": (420.0, 0.0)}
    moves = placement.push_right(layout, {"new": (200.0, 0.0), "fixed": (420.0, 0.0)})
    assert moves == {"b": (630.0, 0.0)}


def test_a_free_spot_is_the_nearest_one_clear_of_every_node():
    layout = {"a": (0.0, 0.0)}
    assert placement.free_position(layout, (500.0, 0.0)) == (500.0, 0.0)
    x, y = placement.free_position(layout, (20.0, 10.0))
    assert overlapping({"a": (0.0, 0.0), "new": (x, y)}) == []
    assert abs(y - 10) + abs(x - 20) < NODE_W + NODE_H
    # in the middle of a packed block the search gives up and goes below everything
    packed = {f"n{i}_{j}": (i * 180.0, j * 80.0) for i in range(30) for j in range(30)}
    x, y = placement.free_position(packed, (2700.0, 1200.0))
    assert overlapping({**packed, "new": (x, y)}) == []


def test_a_fragment_moves_as_a_whole_to_the_nearest_free_place():
    g = resnet()
    fragment = {"p": g.layout["layer1_1_conv1"], "q": (g.layout["layer1_1_conv1"][0] + X_GAP,
                                                       g.layout["layer1_1_conv1"][1])}
    dx, dy = placement.free_offset(g.layout, fragment)
    moved = {n: (x + dx, y + dy) for n, (x, y) in fragment.items()}
    assert (dx, dy) != (0.0, 0.0) and overlapping({**g.layout, **moved}) == []


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_no_insert_ever_leaves_two_nodes_overlapping(data):
    """Random graphs laid out densely (wrapped, or packed by hand), then each kind of insert."""
    count = data.draw(st.integers(3, 40))
    g = Graph("random")
    g.add_node("n0", "Input", {"shape": [8]})
    for i in range(1, count):
        g.add_node(f"n{i}", "ReLU")
        g.connect(f"n{data.draw(st.integers(0, i - 1))}", f"n{i}")
    if data.draw(st.booleans()):
        g.layout = layered_layout(g, view=data.draw(st.sampled_from([VIEW, (600, 900), (3000, 600)])))
    else:  # by hand, tightly: columns 180 apart, rows 80 apart
        cols = data.draw(st.integers(1, 8))
        g.layout = {f"n{i}": ((i % cols) * 180.0, (i // cols) * 80.0) for i in range(count)}
    assert overlapping(g.layout) == []
    kind = data.draw(st.sampled_from(["edge", "after", "free"]))
    if kind == "edge":
        source, target = data.draw(st.sampled_from(g.edges()))
        spot, moves = placement.into_edge(g, source, target)
    elif kind == "after":
        spot, moves = placement.after(g, data.draw(st.sampled_from(list(g.nodes))))
    else:
        want = (data.draw(st.integers(-200, 1500)) * 1.0, data.draw(st.integers(-200, 900)) * 1.0)
        spot, moves = placement.free_position(g.layout, want), {}
    assert overlapping(with_new(g.layout, spot, moves)) == []
