"""The inspector as a user meets it: refused values stay as typed with the reason, and Ctrl+Z after a
committed edit undoes the document's step, also with the focus still in the field."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from uihelpers import select
from nodetrainer.graphfile import dump_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "graphs" / "digits_resnet.yaml"


def type_into(qtbot, field, text: str) -> None:
    """Focus `field`, replace its text by typing, and press Enter."""
    field.setFocus()
    (field.lineEdit() if hasattr(field, "lineEdit") else field).selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def ctrl_z(qtbot, field) -> None:
    qtbot.keyClick(field, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def open_conv1(window, qtbot):
    window.open_path(EXAMPLE)
    window.activateWindow()
    qtbot.waitActive(window)
    select(window, ["conv1"])
    return window.inspector


def test_a_negative_out_channels_is_refused_and_shown_as_typed(window, qtbot):
    ins = open_conv1(window, qtbot)
    before = dump_graph(window.doc.graph)
    box = ins.editors["out_channels"]
    type_into(qtbot, box, "-5")
    assert box.text() == "-5"  # not turned into 5
    assert ins.errors["out_channels"].text() == "'out_channels' must be >= 1, got -5"
    assert ins.errors["out_channels"].isVisibleTo(ins)
    assert box.lineEdit().palette().text().color().name() == "#d93636"  # red, the light theme's error colour
    type_into(qtbot, box, "0")
    assert box.text() == "0" and ins.errors["out_channels"].text().endswith("got 0")  # not "got nothing"
    assert dump_graph(window.doc.graph) == before and window.doc.undo_stack.count() == 0


def test_ctrl_z_in_a_committed_field_undoes_the_document_step(window, qtbot):
    ins = open_conv1(window, qtbot)
    graph, stack = window.doc.graph, window.doc.undo_stack
    box = ins.editors["out_channels"]
    type_into(qtbot, box, "16")
    assert graph.nodes["conv1"].params["out_channels"] == 16 and stack.index() == 1
    assert box.hasFocus()
    ctrl_z(qtbot, box)
    assert graph.nodes["conv1"].params["out_channels"] == 32 and stack.index() == 0
    assert box.text() == "32"  # the field follows the document
    qtbot.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert graph.nodes["conv1"].params["out_channels"] == 16 and stack.index() == 1  # and redo

    # a text field (padding): the same, and typing not yet committed is the field's own to undo
    pad = ins.editors["padding"]
    type_into(qtbot, pad, "same")
    assert graph.nodes["conv1"].params["padding"] == "same" and stack.index() == 2
    qtbot.keyClicks(pad, "x")
    ctrl_z(qtbot, pad)
    assert pad.text() == "same" and stack.index() == 2  # the typing is dropped, the document untouched
    ctrl_z(qtbot, pad)
    assert graph.nodes["conv1"].params["padding"] == 1 and stack.index() == 1 and pad.text() == "1"


def test_ctrl_z_on_a_refused_value_first_brings_back_the_value_held(window, qtbot):
    ins = open_conv1(window, qtbot)
    stack = window.doc.undo_stack
    box = ins.editors["out_channels"]
    type_into(qtbot, box, "16")
    type_into(qtbot, box, "-5")
    ctrl_z(qtbot, box)
    assert box.text() == "16" and not ins.errors["out_channels"].isVisibleTo(ins) and stack.index() == 1
    ctrl_z(qtbot, box)
    assert window.doc.graph.nodes["conv1"].params["out_channels"] == 32 and stack.index() == 0


def test_the_graph_name_goes_through_the_document_with_the_core_s_rule(window, qtbot):
    window.open_path(EXAMPLE)
    window.inspector.show_node(None)
    name = window.inspector.editors["name"]
    type_into(qtbot, name, "bad/name")
    assert window.doc.graph.name == "digits-resnet" and name.text() == "bad/name"
    assert window.inspector.errors["name"].text().startswith("'name' must be up to 64 letters")
    assert window.doc.set_name("bad/name") == window.inspector.errors["name"].text()  # one rule, one message
    type_into(qtbot, name, "my net")
    assert window.doc.graph.name == "my net" and window.doc.undo_stack.index() == 1
