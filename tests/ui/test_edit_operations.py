"""Editing on the canvas: refused connections, insert on an edge, copy/paste, delete, moves, rename, layout."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolButton

from nodetrainer.autolayout import NODE_H
from nodetrainer.graphfile import dump_graph
from nodetrainer.placement import overlap

from uihelpers import mouse_drag, palette_drop, wire, select

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "graphs" / "digits_cnn.yaml"


def chain(window, *types: str, y: float = 100) -> list[str]:
    ids = [palette_drop(window, t, QPointF(100 + i * 220, y))[0] for i, t in enumerate(types)]
    for s, t in zip(ids, ids[1:]):
        wire(window, s, t)
    return ids


def test_a_refused_connection_says_why_in_the_status_bar(window):
    ids = chain(window, "Input", "Linear", "ReLU")
    before = dump_graph(window.doc.graph)
    steps = window.doc.undo_stack.count()
    # ReLU already has its input from fc1: a second one is refused
    wire(window, "input", "relu1")
    assert "relu1 (ReLU) already has its input from fc1" in window.statusBar().currentMessage()
    # a cycle
    wire(window, "relu1", "fc1")
    assert "already has its input" in window.statusBar().currentMessage()
    assert dump_graph(window.doc.graph) == before and window.doc.undo_stack.count() == steps  # refused: nothing changed
    palette_drop(window, "Add", QPointF(100, 300))
    wire(window, "relu1", "add1")
    wire(window, "add1", "relu1")
    assert "already has its input" in window.statusBar().currentMessage()
    wire(window, "input", "add1")
    wire(window, "add1", "input")
    assert "input is an Input and takes no incoming edges" in window.statusBar().currentMessage()
    # itself
    wire(window, "add1", "add1")
    assert "cannot feed itself" in window.statusBar().currentMessage()
    palette_drop(window, "Add", QPointF(320, 300))
    wire(window, "add1", "add2")
    steps = window.doc.undo_stack.count()
    wire(window, "add2", "add1")
    assert "would make a cycle" in window.statusBar().currentMessage()
    assert window.doc.undo_stack.count() == steps and "add2 -> add1" not in dump_graph(window.doc.graph)
    assert ids == ["input", "fc1", "relu1"]
    assert window.doc.graph.inputs["relu1"] == ["fc1"]
    assert window.doc.graph.inputs["add1"] == ["relu1", "input"]


def test_dropping_a_node_on_an_edge_inserts_it(window):
    chain(window, "Input", "Linear", "Output")
    target = window.scene.edges[("fc1", "out")].path().pointAtPercent(0.5)
    palette_drop(window, "ReLU", target)
    g = window.doc.graph
    assert g.inputs["relu1"] == ["fc1"] and g.inputs["out"] == ["relu1"]
    window.act_undo.trigger()  # one step
    assert "relu1" not in g.nodes and g.inputs["out"] == ["fc1"]


def test_dragging_a_free_node_onto_an_edge_inserts_it_in_one_step(window):
    chain(window, "Input", "Linear", "Output")
    palette_drop(window, "Dropout", QPointF(400, 400))
    g = window.doc.graph
    item = window.scene.nodes["drop1"]
    before = g.layout["drop1"]
    edge = window.scene.edges[("fc1", "out")]
    target = edge.path().pointAtPercent(0.5)
    mouse_drag(window, item.center(), target, steps=6)
    assert g.inputs["drop1"] == ["fc1"] and g.inputs["out"] == ["drop1"]
    assert window.doc.undo_stack.undoText().startswith("Insert drop1")
    window.act_undo.trigger()
    assert g.inputs["out"] == ["fc1"] and not g.inputs["drop1"]
    assert g.layout["drop1"] == before == (320, 360)  # dropped centred on the cursor, snapped to the grid


def test_a_drag_moves_the_whole_selection_as_one_undo_step(window):
    chain(window, "Input", "Linear", "Output")
    g = window.doc.graph
    select(window, ["input", "fc1"])
    start = dict(g.layout)
    center = window.scene.nodes["fc1"].center()
    mouse_drag(window, center, center + QPointF(60, 80), steps=5)
    assert g.layout["fc1"] == (start["fc1"][0] + 60, start["fc1"][1] + 80)
    assert g.layout["input"] == (start["input"][0] + 60, start["input"][1] + 80)
    assert g.layout["out"] == start["out"]
    assert window.doc.undo_stack.undoText() == "Move 2 nodes"
    window.act_undo.trigger()
    assert g.layout == start
    assert window.scene.nodes["fc1"].pos() == QPointF(*start["fc1"])


def test_copy_and_paste_as_yaml_text(window):
    window.open_path(EXAMPLE)
    select(window, ["conv1", "relu1", "conv2"])
    window.view.setFocus()
    window.act_copy.trigger()
    text = QGuiApplication.clipboard().text()
    assert text.startswith("nodetrainer: 1")
    assert "conv1: {type: Conv2d, out_channels: 32, kernel_size: 3, padding: 1}" in text
    assert "- conv1 -> relu1 -> conv2" in text
    count = len(window.doc.graph.nodes)
    pasted = window.paste(QPointF(300, 600))
    g = window.doc.graph
    assert pasted == ["conv3", "relu4", "conv4"]
    assert len(g.nodes) == count + 3
    assert g.inputs["relu4"] == ["conv3"] and g.inputs["conv4"] == ["relu4"]
    assert g.nodes["conv3"].params == g.nodes["conv1"].params
    assert window.scene.selected_ids() == pasted
    assert "conv1 → conv3" in window.statusBar().currentMessage()
    window.act_undo.trigger()  # the paste is one step
    assert len(g.nodes) == count


def test_paste_text_from_a_text_editor_and_refuse_bad_text(window):
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("hidden: {type: Linear, out_features: 16}\nact: {type: GELU}\n")
    assert window.paste(QPointF(0, 0)) == ["hidden", "act"]
    clipboard.setText("hidden: {type: Linear, out_feature: 16}\n")
    assert window.paste(QPointF(0, 0)) is None
    message = window.statusBar().currentMessage()
    assert message.startswith("Cannot paste: line 1: unknown key 'out_feature'")
    assert "did you mean 'out_features'" in message
    clipboard.setText("just some words")
    assert window.paste() is None
    assert window.statusBar().currentMessage().startswith("Cannot paste")


def test_cut_duplicate_delete_and_undo_restore_order_and_edges(window):
    window.open_path(EXAMPLE)
    g = window.doc.graph
    original = dump_graph(g)
    select(window, ["relu1", "conv2"])
    window.act_delete.trigger()
    assert "relu1" not in g.nodes and "conv2" not in g.nodes
    assert "relu1" not in window.scene.nodes
    window.act_undo.trigger()
    assert dump_graph(g) == original

    select(window, ["drop"])
    window.act_cut.trigger()
    assert "drop" not in g.nodes
    assert "drop: {type: Dropout, p: 0.25}" in QGuiApplication.clipboard().text()
    window.act_undo.trigger()
    assert dump_graph(g) == original

    select(window, ["fc", "relu3"])
    window.act_duplicate.trigger()
    assert window.scene.selected_ids() == ["fc2", "relu4"]
    assert g.inputs["relu4"] == ["fc2"]
    window.act_undo.trigger()
    # deleting an edge alone
    window.scene.clearSelection()
    window.scene.edges[("pool", "flat")].setSelected(True)
    window.act_delete.trigger()
    assert g.inputs["flat"] == []
    window.act_undo.trigger()
    assert dump_graph(g) == original


def test_inspector_edits_are_checked_and_undoable(window):
    window.open_path(EXAMPLE)
    g = window.doc.graph
    select(window, ["conv1"])
    ins = window.inspector
    ins.editors["out_channels"].setValue(16)
    assert g.nodes["conv1"].params["out_channels"] == 16
    assert window.scene.nodes["conv1"].shape_text == "16×8×8"
    # a tuple field
    pad = ins.editors["padding"]
    pad.setText("same")
    pad.editingFinished.emit()
    assert g.nodes["conv1"].params["padding"] == "same"
    pad.setText("1, 2, 3")
    pad.editingFinished.emit()
    assert g.nodes["conv1"].params["padding"] == "same"  # refused, and said why under the field
    assert "'padding' must be" in ins.errors["padding"].text() and ins.errors["padding"].isVisibleTo(ins)
    # a default value is left out of the file
    ins.editors["bias"].setChecked(False)
    assert g.nodes["conv1"].params["bias"] is False
    ins.editors["bias"].setChecked(True)
    assert "bias" not in g.nodes["conv1"].params
    combo = ins.editors["init"]
    combo.activated.emit(combo.findText("orthogonal"))
    assert g.nodes["conv1"].params["init"] == "orthogonal"
    # rename with validation
    id_edit = ins.editors["id"]
    id_edit.setText("class")
    id_edit.editingFinished.emit()
    assert "conv1" in g.nodes and "Python keyword" in ins.errors["id"].text()
    id_edit.setText("relu1")
    id_edit.editingFinished.emit()
    assert "already exists" in ins.errors["id"].text()
    id_edit.setText("stem")
    id_edit.editingFinished.emit()
    assert "stem" in g.nodes and g.inputs["relu1"] == ["stem"]
    assert window.scene.nodes["stem"].node_id == "stem"
    while window.doc.undo_stack.canUndo():
        window.act_undo.trigger()
    assert g.nodes["conv1"].params == {"out_channels": 32, "kernel_size": 3, "padding": 1}
    assert window.scene.nodes["conv1"].shape_text == "32×8×8"


def test_auto_layout_is_one_step_and_flows_left_to_right_in_bands_that_fit_the_canvas(window):
    window.open_path(ROOT / "graphs" / "digits_resnet.yaml")
    g = window.doc.graph
    for n in g.nodes:
        g.layout[n] = (0.0, 0.0)
    window.act_layout.trigger()
    # every edge points right, or down to the start of the next band
    assert all(g.layout[s][0] < g.layout[t][0] or g.layout[t][1] >= g.layout[s][1] + NODE_H for s, t in g.edges())
    assert not [(a, b) for a in g.nodes for b in g.nodes if a < b and overlap(g.layout[a], g.layout[b])]
    assert window.doc.undo_stack.undoText() == "Auto-layout"
    assert window.view.zoom() >= 0.6  # fitted, with text to read


def test_tab_opens_quick_add_and_enter_adds_connected_to_the_selection(window, qtbot):
    palette_drop(window, "Input", QPointF(100, 100))
    select(window, ["input"])
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Tab)
    popup = window.view.quick_add
    assert popup.isVisible()
    QTest.keyClicks(popup.search, "flat")
    assert popup.list.currentItem().text().startswith("Flatten")
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    assert not popup.isVisible()
    assert window.doc.graph.inputs["flat1"] == ["input"]
    assert window.scene.selected_ids() == ["flat1"]


def test_palette_search_and_templates(window):
    window.palette.search.setText("norm")
    assert set(window.palette.visible_names()) == {"BatchNorm", "LayerNorm", "Conv-BN-ReLU"} or \
        {"BatchNorm", "LayerNorm"} <= set(window.palette.visible_names())
    window.palette.search.setText("")
    added = palette_drop(window, "Residual block", QPointF(0, 0), kind="template")
    g = window.doc.graph
    assert len(added) == 8 and g.inputs["res_add"] == ["res_bn2", "res_in"]
    window.act_undo.trigger()
    assert g.nodes == {}


def test_a_wire_dropped_on_empty_canvas_offers_a_connected_node(window):
    palette_drop(window, "Input", QPointF(100, 100))
    start = window.scene.nodes["input"].output_port.scenePos()
    mouse_drag(window, start, start + QPointF(300, 150))
    popup = window.view.quick_add
    assert popup.isVisible()
    QTest.keyClicks(popup.search, "Linear")
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    g = window.doc.graph
    assert g.inputs["fc1"] == ["input"]
    window.act_undo.trigger()  # adding and connecting is one step
    assert "fc1" not in g.nodes


def test_the_inspector_reorders_a_concat_s_inputs(window):
    window.doc.paste_text("a: {type: Input, shape: [4]}\nb: {type: Input, shape: [6]}\ncat: {type: Concat}\n"
                          "edges:\n  - a -> cat\n  - b -> cat\n", (0, 0))
    g = window.doc.graph
    assert g.inputs["cat"] == ["a", "b"]
    select(window, ["cat"])
    inputs = window.inspector.editors["inputs"]
    assert [inputs.item(i).text() for i in range(inputs.count())] == ["a", "b"]
    inputs.setCurrentRow(1)
    window.inspector.findChild(QToolButton, "input_up").click()
    assert g.inputs["cat"] == ["b", "a"]
    assert [inputs.item(i).text() for i in range(inputs.count())] == ["b", "a"]
    assert window.scene.nodes["cat"].shape_text == "10"
    window.act_undo.trigger()
    assert g.inputs["cat"] == ["a", "b"]
    assert [inputs.item(i).text() for i in range(inputs.count())] == ["a", "b"]
