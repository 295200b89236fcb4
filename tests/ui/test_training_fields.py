"""The training dock's fields are the inspector's editors (ui.widgets.params): a refused value stays as
typed with the reason, and Ctrl+Z after a committed edit undoes the document's step."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from nodetrainer.graphfile import dump_graph

ROOT = Path(__file__).resolve().parents[2]


def test_a_training_field_refuses_as_typed_and_ctrl_z_undoes_the_document_step(window, qtbot):
    window.open_path(ROOT / "graphs" / "digits_mlp.yaml")
    window.training_dock.raise_()
    window.activateWindow()
    qtbot.waitActive(window)
    panel = window.training_dock.training.training_panel
    epochs, stack = panel.top.editors["epochs"], window.doc.undo_stack
    before, held = dump_graph(window.doc.graph), epochs.value()
    epochs.setFocus()
    epochs.lineEdit().selectAll()
    qtbot.keyClicks(epochs, "-5")
    qtbot.keyClick(epochs, Qt.Key.Key_Return)
    assert epochs.text() == "-5" and panel.top.errors["epochs"].text().endswith("got -5")
    assert panel.top.errors["epochs"].isVisibleTo(panel) and dump_graph(window.doc.graph) == before
    epochs.lineEdit().selectAll()
    qtbot.keyClicks(epochs, "7")
    qtbot.keyClick(epochs, Qt.Key.Key_Return)
    assert window.doc.graph.training["epochs"] == 7 and stack.index() == 1
    assert epochs.hasFocus()
    qtbot.keyClick(epochs, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stack.index() == 0 and dump_graph(window.doc.graph) == before
    assert epochs.value() == held and epochs.text() == str(held)
