"""Building the digits CNN by hand: palette drops, port drags, inspector edits; then undo it all and redo it."""
from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QSpinBox

from nodetrainer.graphfile import dump_graph
from nodetrainer.templates import starter_graph
from nodetrainer.validate import check_graph

from uihelpers import palette_drop, wire, select

CHAIN = ["Input", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "Output"]


def build_digits_cnn(window) -> list[str]:
    ids = []
    for i, node_type in enumerate(CHAIN):
        added = palette_drop(window, node_type, QPointF(100 + i * 220, 100))
        assert len(added) == 1, f"dropping {node_type} added {added}"
        ids.append(added[0])
    for source, target in zip(ids, ids[1:]):
        wire(window, source, target)
    # Linear 10 through the inspector: select the node, type into its out_features box
    linear = ids[CHAIN.index("Linear")]
    select(window, [linear])
    box = window.inspector.editors["out_features"]
    assert isinstance(box, QSpinBox)
    box.setValue(10)
    return ids


def test_build_the_digits_cnn_by_hand(window):
    ids = build_digits_cnn(window)
    graph = window.doc.graph
    assert ids == ["input", "conv1", "relu1", "pool1", "flat1", "fc1", "out"]
    assert graph.edges() == list(zip(ids, ids[1:]))
    assert graph.nodes["fc1"].params == {"out_features": 10}
    assert graph.nodes["input"].params == {"shape": [1, 8, 8]}

    # what the user sees: no problems, shapes and parameter counts on the nodes
    assert window.doc.problems == []
    assert check_graph(graph).ok
    nodes = window.scene.nodes
    assert nodes["conv1"].shape_text == "32×6×6"
    assert nodes["conv1"].count_text == "320 params"
    assert nodes["pool1"].shape_text == "32×3×3"
    assert nodes["flat1"].shape_text == "288"
    assert nodes["fc1"].shape_text == "10"
    assert nodes["fc1"].count_text == "2.9k params"
    assert all(not item.problems for item in nodes.values())
    assert "valid" in window.validity.text()
    assert "No problems" in window.problems.list.item(0).text()
    # the summary panel and code view agree with the core
    window.summary_dock.raise_()
    window.summary.refresh()
    assert window.summary.table.rowCount() == 7
    assert "3,210 parameters" in window.summary.totals.text()
    window.code_dock.raise_()
    code = window.code.text()
    assert "nn.Conv2d(1, 32, 3)" in code.replace("kernel_size=", "")
    assert "nn.Linear(288, 10)" in code
    assert window.isWindowModified()


def test_undo_everything_then_redo_gives_identical_yaml(window):
    build_digits_cnn(window)
    built = dump_graph(window.doc.graph)
    stack = window.doc.undo_stack
    steps = stack.count()
    assert steps == 7 + 6 + 1  # one step per drop, per connection and per parameter edit

    while stack.canUndo():
        window.act_undo.trigger()
    assert window.doc.graph.nodes == {}
    assert window.scene.nodes == {} and window.scene.edges == {}
    assert dump_graph(window.doc.graph) == dump_graph(starter_graph())  # a new graph, with its starting settings
    assert not window.isWindowModified()

    while stack.canRedo():
        window.act_redo.trigger()
    assert dump_graph(window.doc.graph) == built
    assert set(window.scene.nodes) == set(window.doc.graph.nodes)
    assert set(window.scene.edges) == set(window.doc.graph.edges())
    assert window.doc.problems == []


def test_a_new_node_shows_its_problem_as_a_badge_and_in_the_problems_panel(window, qtbot):
    palette_drop(window, "Linear", QPointF(100, 100))
    item = window.scene.nodes["fc1"]
    assert item.problems  # no input yet
    panel = [window.problems.list.item(i).text() for i in range(window.problems.list.count())]
    assert any("fc1" in text and "no input" in text for text in panel)
    assert any("no Input node" in text for text in panel)
    assert "problem" in window.validity.text()
    # clicking the problem selects its node
    row = next(i for i, text in enumerate(panel) if "fc1" in text)
    window.problems.list.itemClicked.emit(window.problems.list.item(row))
    assert window.scene.selected_ids() == ["fc1"]
    qtbot.waitUntil(lambda: window.inspector.node_id == "fc1", timeout=2000)
