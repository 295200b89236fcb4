"""Finding one's way in a big graph: Fit at a readable zoom, levels of detail, Ctrl+F, the minimap, full ids."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from nodetrainer.graphfile import load_graph
from ui.editor.find import find_nodes
from ui.editor.items import LOD_MEDIUM, LOD_SIMPLE, NODE_H, NODE_W, NodeItem
from ui.editor.view import FIT_MIN_ZOOM

ROOT = Path(__file__).resolve().parents[2]
RESNET = ROOT / "tests" / "fixtures" / "resnet18_flat.yaml"


def residual_mlp(tmp_path: Path, blocks: int) -> Path:
    """A graph of 5 * blocks + 2 nodes without a layout (so it opens auto-laid out)."""
    lines = ["nodetrainer: 1", "name: big", "nodes:", "  x: {type: Input, shape: [16]}"]
    edges, prev = [], "x"
    for i in range(1, blocks + 1):
        lines += [f"  fc{i}: {{type: Linear, out_features: 16}}", f"  bn{i}: {{type: BatchNorm}}",
                  f"  act{i}: {{type: ReLU}}", f"  drop{i}: {{type: Dropout}}", f"  add{i}: {{type: Add}}"]
        edges += [f"  - {prev} -> fc{i} -> bn{i} -> act{i} -> drop{i} -> add{i}", f"  - {prev} -> add{i}"]
        prev = f"add{i}"
    lines.append("  out: {type: Output}")
    edges.append(f"  - {prev} -> out")
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines + ["edges:"] + edges) + "\n")
    return path


def in_view(window, node_id: str) -> bool:
    item = window.scene.nodes[node_id]
    return window.view.visible_scene_rect().contains(QRectF(item.pos(), QSizeF(NODE_W, NODE_H)))


def view_center(window) -> QPointF:
    return window.view.mapToScene(window.view.viewport().rect().center())


def near(a: QPointF, b: QPointF, tolerance: float = 2.0) -> bool:
    return abs(a.x() - b.x()) <= tolerance and abs(a.y() - b.y()) <= tolerance


def test_resnet18_opens_whole_at_a_zoom_that_shows_ids_and_shapes(window, qtbot):
    window.resize(1440, 900)  # the canvas of a 1440x900 window, with the docks as they open
    qtbot.waitUntil(lambda: window.view.viewport().width() > 800)
    assert window.open_path(RESNET, ask=False)
    window.act_fit.trigger()
    zoom = window.view.zoom()
    assert LOD_SIMPLE <= FIT_MIN_ZOOM <= zoom < LOD_MEDIUM  # the medium level of detail
    assert all(in_view(window, n) for n in window.scene.nodes)
    assert window.scene.detailed  # ports show: nodes can be wired at this zoom
    # the medium level shows the output shape, and the id's end, in fonts of 8 px and up on screen
    for node_id, shape in (("layer1_0_conv1", "64×56×56"), ("layer3_0_down_bn", "256×14×14"), ("fc", "1000")):
        (id_font, id_text), (shape_font, shape_text) = window.scene.nodes[node_id].medium_labels(zoom)
        assert shape_text == shape
        assert id_text.lstrip("…") and node_id.endswith(id_text.lstrip("…"))
        assert id_font.pixelSize() * zoom >= 8 and shape_font.pixelSize() * zoom >= 7.9
    assert not window.view.minimap.isVisible()  # everything is in view


def test_fit_never_zooms_below_where_text_shows_and_starts_a_big_graph_at_its_input(window, tmp_path):
    assert window.open_path(residual_mlp(tmp_path, 80), ask=False)
    window.view.zoom_by(0.05)
    window.act_fit.trigger()
    assert window.view.zoom() == FIT_MIN_ZOOM
    assert in_view(window, "x")  # the top left, where the graph starts
    assert not in_view(window, "out")
    assert window.view.minimap.isVisible()  # the rest is on the minimap


def test_ids_of_up_to_16_characters_are_whole_at_100_percent_and_in_tooltips():
    ids = list(load_graph(RESNET).nodes) + ["encoder_block_12", "attention_output", "layer4_1_down_bn"]
    assert max(len(i) for i in ids) == 16
    for node_id in ids:
        item = NodeItem(node_id, "Conv2d", "layers", multi_input=False, has_input=True)
        assert item.header_label()[1] == node_id
        assert f"<b>{node_id}</b>" in item.tooltip()


def test_find_by_id_or_type_selects_and_centres_at_a_readable_zoom(window, qtbot):
    assert window.open_path(RESNET, ask=False)
    window.act_fit.trigger()
    assert window.act_find.shortcut() == QKeySequence(QKeySequence.StandardKey.Find)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    bar = window.view.find_bar
    qtbot.waitUntil(bar.isVisible)
    QTest.keyClicks(bar.search, "down_bn")
    listed = [bar.list.item(i).text().split()[0] for i in range(bar.list.count())]
    assert listed == ["layer2_0_down_bn", "layer3_0_down_bn", "layer4_0_down_bn"]
    QTest.keyClick(bar.search, Qt.Key.Key_Down)
    QTest.keyClick(bar.search, Qt.Key.Key_Return)
    assert not bar.isVisible()
    assert window.scene.selected_ids() == ["layer3_0_down_bn"]
    assert window.view.zoom() >= LOD_MEDIUM  # full detail: every label reads
    assert near(view_center(window), window.scene.nodes["layer3_0_down_bn"].center())
    # by type; an exact id comes first
    assert find_nodes(window.doc.graph, "Flatten") == ["flat"]
    assert find_nodes(window.doc.graph, "fc")[0] == "fc"
    assert len(find_nodes(window.doc.graph, "BatchNorm")) == 20


def test_escape_in_find_puts_the_view_back(window, qtbot):
    assert window.open_path(RESNET, ask=False)
    window.act_fit.trigger()
    zoom, center = window.view.zoom(), view_center(window)
    window.act_find.trigger()
    bar = window.view.find_bar
    qtbot.waitUntil(bar.isVisible)
    QTest.keyClicks(bar.search, "avgpool")  # moving through the matches shows each one
    assert near(view_center(window), window.scene.nodes["avgpool"].center(), 1 / zoom + 1)
    QTest.keyClick(bar.search, Qt.Key.Key_Escape)
    assert window.view.zoom() == zoom and near(view_center(window), center, 1 / zoom + 1)
    assert window.scene.selected_ids() == []


def test_the_minimap_shows_the_graph_and_moves_the_view_where_it_is_clicked_or_dragged(window, qtbot):
    assert window.open_path(RESNET, ask=False)
    view, minimap = window.view, window.view.minimap
    view.set_zoom(1.0)
    view.centerOn(window.scene.nodes["image"].center())
    qtbot.waitUntil(minimap.isVisible)
    area = view.viewport().geometry()
    assert area.contains(minimap.geometry())  # in a corner of the canvas
    target = window.scene.nodes["layer3_1_bn2"].center()
    QTest.mouseClick(minimap, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     minimap.to_map(target).toPoint())
    assert near(view_center(window), target, 1 / minimap._scale + 1)
    start, end = minimap.to_map(target).toPoint(), minimap.to_map(window.scene.nodes["out"].center()).toPoint()
    QTest.mousePress(minimap, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(minimap, (start + end) / 2)
    QTest.mouseMove(minimap, end)
    QTest.mouseRelease(minimap, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert in_view(window, "out")
    # it can be switched off, and hides when the whole graph is in view
    window.act_minimap.trigger()
    assert not minimap.isVisible()
    window.act_minimap.trigger()
    qtbot.waitUntil(minimap.isVisible)
    window.resize(1440, 900)
    window.act_fit.trigger()
    qtbot.waitUntil(lambda: not minimap.isVisible())


def test_the_minimap_redraws_its_overview_only_when_the_graph_changes(window, qtbot):
    assert window.open_path(RESNET, ask=False)
    view, minimap = window.view, window.view.minimap
    view.set_zoom(1.0)
    qtbot.waitUntil(minimap.isVisible)
    first = minimap.overview().cacheKey()
    view.pan_by(40, 25)
    view.zoom_by(1.2)
    assert minimap.overview().cacheKey() == first  # panning and zooming only move the outline
    window.doc.move({"out": (0.0, -400.0)})
    qtbot.waitUntil(lambda: minimap.to_map(QPointF(0, -400)).y() >= 0)  # the overview grew to hold it
    assert minimap.overview().cacheKey() != first
    assert view.viewport().geometry().contains(minimap.geometry())
