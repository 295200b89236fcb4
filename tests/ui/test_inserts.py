"""Every way of adding a node leaves no two nodes overlapping, on a wrapped ResNet-18 and on a packed graph."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from nodetrainer.autolayout import GRID, NODE_H, NODE_W, X_GAP, Y_GAP

from uihelpers import mouse_drag, palette_drop, select

ROOT = Path(__file__).resolve().parents[2]


def packed_graph(tmp_path: Path) -> Path:
    """A chain of 40 Linear/ReLU nodes laid out by hand in rows of 8, 12 px apart, rows 10 px apart."""
    lines = ["nodetrainer: 1", "name: packed", "nodes:", "  x: {type: Input, shape: [16]}"]
    ids = ["x"]
    for i in range(1, 39):
        node = f"fc{i}" if i % 2 else f"act{i}"
        lines.append(f"  {node}: {{type: Linear, out_features: 16}}" if i % 2 else f"  {node}: {{type: ReLU}}")
        ids.append(node)
    lines.append("  out: {type: Output}")
    ids.append("out")
    lines += ["edges:", "  - " + " -> ".join(ids), "layout:"]
    lines += [f"  {n}: [{(i % 8) * (NODE_W + 12):.0f}, {(i // 8) * (NODE_H + 10):.0f}]" for i, n in enumerate(ids)]
    path = tmp_path / "packed.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(params=["resnet18", "packed"])
def dense(request, window, tmp_path):
    path = ROOT / "tests" / "fixtures" / "resnet18_flat.yaml" if request.param == "resnet18" else packed_graph(tmp_path)
    assert window.open_path(path, ask=False)
    assert overlapping(window) == []
    window.view.set_zoom(1.0)
    return request.param


def overlapping(window) -> list[tuple[str, str]]:
    """Pairs of nodes whose rectangles overlap; also checks that the canvas shows every node where the
    graph has it."""
    layout = window.doc.graph.layout
    for node_id, item in window.scene.nodes.items():
        assert (item.pos().x(), item.pos().y()) == layout[node_id]
    ids = sorted(layout)
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]
            if abs(layout[a][0] - layout[b][0]) < NODE_W and abs(layout[a][1] - layout[b][1]) < NODE_H]


def an_edge(window, dense: str) -> tuple[str, str]:
    return ("layer2_0_conv1", "layer2_0_bn1") if dense == "resnet18" else ("fc11", "act12")


def double_click_palette(window, name: str) -> None:
    """Double-click a palette entry as a mouse does (press and release, then the second click)."""
    tree = window.palette.tree
    item = window.palette.item(name)
    tree.scrollToItem(item)
    point = tree.visualItemRect(item).center()
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    QTest.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


def beside(window, node_id: str, source: str, row: int = 0) -> bool:
    """Whether `node_id` stands one column right of `source` (`row` rows below it), on the grid."""
    (x, y), (sx, sy) = window.doc.graph.layout[node_id], window.doc.graph.layout[source]
    return x == sx + X_GAP and abs(y - (sy + row * Y_GAP)) < GRID


def show(window, node_id: str) -> None:
    window.view.centerOn(window.scene.nodes[node_id].center())


def test_a_node_dropped_on_an_edge_lands_beside_its_source_and_pushes_the_rest_aside(window, dense):
    source, target = an_edge(window, dense)
    g = window.doc.graph
    tx = g.layout[target][0]
    show(window, target)
    added = palette_drop(window, "Dropout", window.scene.edges[(source, target)].path().pointAtPercent(0.5))
    assert len(added) == 1 and g.inputs[added[0]] == [source] and g.inputs[target] == [added[0]]
    assert beside(window, added[0], source)
    assert g.layout[target][0] > tx  # pushed aside
    assert overlapping(window) == []
    window.act_undo.trigger()  # one step, positions included
    assert g.layout[target][0] == tx and overlapping(window) == []


def test_a_free_node_dragged_onto_an_edge_goes_in_beside_its_source(window, dense):
    source, target = an_edge(window, dense)
    g = window.doc.graph
    show(window, target)
    free = window.view.visible_scene_rect().bottomRight() - QPointF(150, 60)
    added = palette_drop(window, "Dropout", free)
    assert overlapping(window) == []
    item = window.scene.nodes[added[0]]
    mouse_drag(window, item.center(), window.scene.edges[(source, target)].path().pointAtPercent(0.5), steps=6)
    assert g.inputs[target] == added
    assert beside(window, added[0], source)
    assert overlapping(window) == []


def test_a_palette_double_click_appends_to_the_selected_node_beside_it(window, dense):
    g = window.doc.graph
    source = "layer1_1_conv1" if dense == "resnet18" else "fc21"  # feeds a node already: a side branch
    select(window, [source])
    double_click_palette(window, "Dropout")
    new = window.scene.selected_ids()
    assert len(new) == 1 and g.inputs[new[0]] == [source]
    assert beside(window, new[0], source, row=1)  # a side branch under the path it leaves
    assert overlapping(window) == []
    # without a selection it goes to the free spot nearest the view centre
    window.scene.clearSelection()
    double_click_palette(window, "Dropout")
    assert len(window.scene.selected_ids()) == 1 and overlapping(window) == []


def test_tab_adds_beside_the_selected_node(window, dense):
    g = window.doc.graph
    source = "act38" if dense == "packed" else "layer3_1_add"
    select(window, [source])
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Tab)
    popup = window.view.quick_add
    QTest.keyClicks(popup.search, "Identity")
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    new = window.scene.selected_ids()
    assert len(new) == 1 and g.inputs[new[0]] == [source]
    assert beside(window, new[0], source, row=1)  # the source feeds a node already: a side branch
    assert overlapping(window) == []


def test_a_wire_dropped_among_nodes_adds_a_node_clear_of_them(window, dense):
    g = window.doc.graph
    source = "layer2_1_relu1" if dense == "resnet18" else "fc15"  # the latter ends a packed row
    show(window, source)
    start = window.scene.nodes[source].output_port.scenePos()
    step = QPointF(X_GAP - NODE_W / 2, NODE_H * 0.9) if dense == "resnet18" else QPointF(60, 20)
    mouse_drag(window, start, start + step)  # onto empty canvas, close to other nodes
    popup = window.view.quick_add
    assert popup.isVisible()
    QTest.keyClicks(popup.search, "Identity")
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    new = window.scene.selected_ids()
    assert len(new) == 1 and g.inputs[new[0]] == [source]
    assert overlapping(window) == []


def test_drops_pastes_templates_and_duplicates_on_top_of_nodes_land_beside_them(window, dense):
    busy = "layer2_0_relu1" if dense == "resnet18" else "fc13"
    show(window, busy)
    on_top = window.scene.nodes[busy].center()
    assert len(palette_drop(window, "ReLU", on_top)) == 1
    assert overlapping(window) == []
    assert len(palette_drop(window, "Residual block", on_top, kind="template")) == 8
    assert overlapping(window) == []
    select(window, [busy])
    window.view.setFocus()
    window.act_copy.trigger()
    assert QGuiApplication.clipboard().text()
    assert window.paste(on_top)
    assert overlapping(window) == []
    select(window, [busy])
    window.act_duplicate.trigger()
    assert len(window.scene.selected_ids()) == 1 and overlapping(window) == []
