"""A new user's first minutes: the empty canvas says how to start, offers starter graphs and shows no errors;
a new graph carries a test split and starting settings; the settings a user reaches for first are in sight."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from nodetrainer.templates import EARLY_STOPPING_EPOCHS, STARTER_DATA, STARTER_TRAINING, starter_graph

from uihelpers import palette_drop


def centre(widget) -> QPoint:
    return widget.geometry().center()


def test_an_empty_canvas_shows_how_to_start_and_no_errors(window):
    hint = window.empty_hint
    assert window.doc.is_empty and hint.shown
    text = hint.text.text()
    for how in ("Drag", "Double-click", "Tab"):
        assert f"<b>{how}</b>" in text
    assert [b.text() for b in hint.example_buttons.values()] == ["Digits MLP", "Digits CNN", "Digits ResNet"]
    assert window.doc.problems == []  # the missing Input and Output are not errors yet
    assert window.problems.list.count() == 1 and "add nodes from the palette" in window.problems.list.item(0).text()
    assert "problem" not in window.validity.text() and "empty graph" in window.validity.text()
    assert window.problems_dock.windowTitle() == "Problems"
    assert "empty graph" in window.inspector.status.text() and "valid" not in window.inspector.status.text()
    assert "empty graph" in window.code.code() and "Input" in window.code.code() and "problem" not in window.code.code()
    # the hint sits in the middle of the canvas, inside it
    area = window.view.viewport().geometry()
    assert area.contains(hint.text.geometry()) and area.contains(hint.buttons.geometry())
    assert abs(hint.text.geometry().center().x() - area.center().x()) <= 2


def test_the_hint_leaves_the_canvas_usable_under_it(window):
    hint = window.empty_hint
    # the text lets clicks, double-clicks and drops through to the canvas; the buttons take their clicks
    assert window.view.childAt(centre(hint.text)) is window.view.viewport()
    button = next(iter(hint.example_buttons.values()))
    assert window.view.childAt(hint.buttons.mapTo(window.view, centre(button))) is button
    # a node dropped right under the hint lands on the canvas
    under = window.view.mapToScene(window.view.viewport().mapFrom(window.view, centre(hint.text)))
    assert palette_drop(window, "Input", QPointF(under)) == ["input"]


def test_the_hint_leaves_with_the_first_node_and_returns_when_the_graph_is_empty_again(window):
    palette_drop(window, "Linear", QPointF(100, 100))
    assert not window.empty_hint.shown
    assert window.doc.problems  # from the first node on, problems are listed as always
    assert any("no Input node" in p.message for p in window.doc.problems)
    window.act_undo.trigger()
    assert window.doc.is_empty and window.empty_hint.shown and window.doc.problems == []
    assert "add nodes from the palette" in window.problems.list.item(0).text()
    window.act_redo.trigger()
    window.select_all()
    window.delete_selection()
    assert window.empty_hint.shown


def test_a_starter_button_opens_the_example_as_an_unsaved_copy(window, qtbot):
    hint = window.empty_hint
    path, button = list(hint.example_buttons.items())[1]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.doc.origin == path and window.doc.path is None  # Save asks where: the example stays as it is
    assert "conv1" in window.scene.nodes and not hint.shown
    window.new_file()
    assert window.doc.is_empty and hint.shown


def test_a_new_graph_has_a_test_split_and_the_starting_settings(window):
    assert window.open_example(next(iter(window.empty_hint.example_buttons)))
    window.new_file()
    graph = window.doc.graph
    assert graph.data == STARTER_DATA and STARTER_DATA["split"]["test"] > 0
    assert graph.training == STARTER_TRAINING
    assert not window.doc.modified  # the starting settings are the new graph, not an edit
    data = window.training_dock.training.data_panel
    assert data.builtin.currentData() == "digits"
    assert data.split.editors["test"].text() == "0.15"
    panel = window.training_dock.training.training_panel
    assert panel.top.editors["epochs"].value() == STARTER_TRAINING["epochs"]
    assert panel.optimizer.editors["type"].value() == "adamw"
    tabs = window.training_dock.training.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Data", "Settings", "Runs", "Tune", "Results", "Try it"]


def test_turning_early_stopping_on_lifts_the_epoch_cap_and_says_so(window):
    panel = window.training_dock.training.training_panel
    graph, epochs = window.doc.graph, panel.top.editors["epochs"]
    assert "runs all 30 epochs" in panel.early_note.text()
    panel.early_box.setChecked(True)
    assert graph.training["early_stopping"] == {} and graph.training["epochs"] == EARLY_STOPPING_EPOCHS
    assert epochs.value() == EARLY_STOPPING_EPOCHS and epochs.font().bold()
    assert "at most 100 epochs" in panel.early_note.text() and "5 epochs without a better val_loss" in \
        panel.early_note.text()
    assert panel.early_group.isEnabled()
    assert window.doc.undo_stack.count() == 1  # one step: undo turns it off with the old count
    panel.early_box.setChecked(False)
    assert "early_stopping" not in graph.training and graph.training["epochs"] == STARTER_TRAINING["epochs"]
    assert not panel.early_group.isEnabled()
    panel.early_box.setChecked(True)
    window.act_undo.trigger()
    assert "early_stopping" not in graph.training and epochs.value() == STARTER_TRAINING["epochs"]


def test_an_epoch_count_the_user_chose_stays_when_early_stopping_goes_on(window):
    panel = window.training_dock.training.training_panel
    graph = window.doc.graph
    panel.top.editors["epochs"].setValue(12)
    panel.early_box.setChecked(True)
    assert graph.training["epochs"] == 12 and "at most 12 epochs" in panel.early_note.text()
    panel.early_box.setChecked(False)
    assert graph.training["epochs"] == 12


def test_the_most_used_settings_are_in_sight_in_a_low_dock(qtbot):
    from ui.training.training_panel import TrainingPanel
    host = QWidget()
    QVBoxLayout(host).setContentsMargins(0, 0, 0, 0)
    panel = TrainingPanel(starter_graph())
    host.layout().addWidget(panel)
    qtbot.addWidget(host)
    host.resize(380, 250)  # what a ~300 px Training dock leaves under its title and tabs
    host.show()
    qtbot.waitExposed(host)
    first = [panel.top.editors["epochs"], panel.early_box, panel.optimizer.editors["type"],
             panel.optimizer.editors["lr"], panel.top.editors["batch_size"]]
    for widget in first:
        seen = widget.visibleRegion().boundingRect()
        assert seen.height() == widget.height() and seen.width() == widget.width(), widget.objectName()
