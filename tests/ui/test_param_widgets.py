"""ui.widgets.params: the one place a `Param` becomes an editor (used by the inspector and the training dock)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from nodetrainer.schema import Param


@pytest.fixture
def form(qtbot):
    from ui.widgets.params import ParamForm
    params = {
        "lr": Param("lr", "float", 0.001, "learning rate", lo=0, lo_open=True),
        "epochs": Param("epochs", "int", 20, "passes over the data", lo=1, hi=1000),
        "units": Param("units", "int", doc="how many"),
        "loss": Param("loss", "choice", "mse", "the loss", choices=("mse", "l1", "huber")),
        "shuffle": Param("shuffle", "bool", True),
        "kernel": Param("kernel", "size", doc="window", lo=1, length=2),
        "padding": Param("padding", "padding", 0, lo=0, length=2),
    }
    f = ParamForm(params)
    qtbot.addWidget(f)
    f.show()
    edits = []
    f.edited.connect(lambda key, value: edits.append((key, value)))
    return f, edits


def type_text(editor, text: str) -> None:
    editor.setText(text)
    editor.editingFinished.emit()


def test_a_float_refuses_out_of_range_text_with_the_reason_and_emits_nothing(form):
    f, edits = form
    lr = f.editors["lr"]
    assert lr.placeholderText() == "default: 0.001" and "learning rate" in lr.toolTip()
    type_text(lr, "-3")
    assert edits == []
    assert "'lr' must be > 0" in lr.toolTip() and "d93636" in lr.styleSheet()
    assert "'lr' must be > 0" in f.errors["lr"].text() and f.errors["lr"].isVisibleTo(f)  # under the field
    type_text(lr, "1e-2")
    assert edits == [("lr", 0.01)] and not f.errors["lr"].isVisibleTo(f) and lr.styleSheet() == ""
    type_text(lr, "")  # empty: back to the default
    assert edits[-1] == ("lr", None)


def test_an_int_spin_box_s_arrows_stay_in_the_param_s_range(form, qtbot):
    f, edits = form
    epochs, units = f.editors["epochs"], f.editors["units"]
    assert units.text() == "required" and units.value() is None  # unset: shown, not a number
    epochs.set_value(999)
    for _ in range(3):
        qtbot.keyClick(epochs, Qt.Key.Key_Up)
    assert epochs.text() == "1000" and edits == [("epochs", 1000)]  # the arrows stop at the top
    epochs.set_value(2)
    for _ in range(3):
        qtbot.keyClick(epochs, Qt.Key.Key_Down)
    assert epochs.text() == "1" and edits[-1] == ("epochs", 1)
    epochs.setValue(7)
    assert edits[-1] == ("epochs", 7)
    assert f.labels["units"].text() == "units *"


def type_into_spin_box(qtbot, box, text: str) -> None:
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def test_a_refused_int_stays_as_typed_in_red_with_the_reason(form, qtbot):
    f, edits = form
    units, epochs = f.editors["units"], f.editors["epochs"]
    type_into_spin_box(qtbot, epochs, "-5")
    assert epochs.text() == "-5"  # not 5: the sign is kept
    assert f.errors["epochs"].text() == "'epochs' must be >= 1 and <= 1000, got -5"
    assert f.errors["epochs"].isVisibleTo(f) and epochs.lineEdit().palette().text().color().name() == "#d93636"
    assert edits == [] and epochs.value() == 20  # nothing sent; the value held is still the default
    type_into_spin_box(qtbot, epochs, "0")
    assert epochs.text() == "0" and f.errors["epochs"].text().endswith("got 0")  # not "got nothing"
    type_into_spin_box(qtbot, epochs, "5000")
    assert epochs.text() == "5000" and f.errors["epochs"].text().endswith("got 5000")
    type_into_spin_box(qtbot, epochs, "12")
    assert edits == [("epochs", 12)] and not f.errors["epochs"].isVisibleTo(f)
    assert epochs.lineEdit().palette().text().color().name() != "#d93636"
    type_into_spin_box(qtbot, units, "0")  # no range: 0 is a number like any other, not "required"
    assert units.text() == "0" and edits[-1] == ("units", 0)


def test_text_that_is_no_integer_is_refused_as_typed_also_when_focus_leaves(form, qtbot):
    f, edits = form
    epochs, units, lr = f.editors["epochs"], f.editors["units"], f.editors["lr"]
    type_into_spin_box(qtbot, epochs, "2.5")  # not 25: the point is kept
    assert epochs.text() == "2.5" and f.errors["epochs"].text().endswith("got 2.5")
    epochs.setFocus()
    epochs.lineEdit().selectAll()
    qtbot.keyClicks(epochs, "-7")
    lr.setFocus()  # leaving the field ends the edit too, and keeps what was typed
    assert epochs.text() == "-7" and f.errors["epochs"].text().endswith("got -7") and edits == []
    epochs.setFocus()
    epochs.lineEdit().selectAll()
    qtbot.keyClick(epochs, Qt.Key.Key_Delete)
    qtbot.keyClick(epochs, Qt.Key.Key_Return)  # empty: the default, as in a text field
    assert epochs.text() == "20" and not f.errors["epochs"].isVisibleTo(f)
    units.setFocus()
    units.lineEdit().selectAll()
    qtbot.keyClick(units, Qt.Key.Key_Delete)
    qtbot.keyClick(units, Qt.Key.Key_Return)  # a required value left empty: here "nothing" is the truth
    assert units.text() == "" and f.errors["units"].text() == "'units' must be an integer, got nothing"
    assert edits == []


def test_undo_keys_in_a_field_undo_the_typing_a_refusal_or_else_reach_the_window(form, qtbot):
    from PySide6.QtGui import QAction, QKeySequence
    f, edits = form
    undone = []
    action = QAction("Undo", f)
    action.setShortcut(QKeySequence.StandardKey.Undo)
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    action.triggered.connect(lambda: undone.append(True))
    f.addAction(action)
    epochs, lr = f.editors["epochs"], f.editors["lr"]
    type_into_spin_box(qtbot, epochs, "12")
    qtbot.keyClick(epochs, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert undone == [True] and epochs.text() == "12"  # committed: the window's undo takes the key
    type_into_spin_box(qtbot, epochs, "-3")
    qtbot.keyClick(epochs, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert undone == [True] and epochs.text() == "12" and not f.errors["epochs"].isVisibleTo(f)  # refusal dropped
    lr.setFocus()
    qtbot.keyClicks(lr, "0.5")
    qtbot.keyClick(lr, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert undone == [True] and lr.text() == ""  # typing not committed yet: the field drops it
    lr.setText("0.5")
    qtbot.keyClick(lr, Qt.Key.Key_Return)
    assert edits[-1] == ("lr", 0.5)
    qtbot.keyClick(lr, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert undone == [True, True]
def test_a_choice_shows_the_choices(form):
    f, edits = form
    loss = f.editors["loss"]
    assert [loss.itemData(i) for i in range(loss.count())] == ["mse", "l1", "huber"]
    loss.activated.emit(loss.findData("huber"))
    assert edits == [("loss", "huber")]


def test_tuples_are_typed_as_a_comma_list_and_padding_takes_same(form):
    f, edits = form
    type_text(f.editors["kernel"], "3, 5")
    type_text(f.editors["padding"], "same")
    type_text(f.editors["kernel"], "3")
    assert edits == [("kernel", [3, 5]), ("padding", "same"), ("kernel", 3)]
    assert f.editors["kernel"].placeholderText() == "e.g. 3 or 3, 5"  # required: an example, not a default
    f.set_values({"kernel": [2, 2]})
    assert f.editors["kernel"].text() == "2, 2" and f.editors["kernel"].font().bold()


def test_set_value_does_not_emit(form):
    f, edits = form
    f.set_values({"lr": 0.5, "epochs": 9, "units": 4, "loss": "l1", "shuffle": False, "padding": [1, 2]})
    for editor, value in [(f.editors["lr"], 0.25), (f.editors["epochs"], 3), (f.editors["loss"], "mse"),
                          (f.editors["shuffle"], True), (f.editors["kernel"], [4, 4])]:
        editor.set_value(value)
        assert editor.value() == value
    assert edits == []
    assert f.editors["epochs"].value() == 3 and f.editors["lr"].text() == "0.25"
    f.set_values({})  # missing keys: the defaults (text fields empty, the default as the placeholder)
    assert f.editors["epochs"].value() == 20 and f.editors["lr"].text() == "" and f.editors["shuffle"].isChecked()
    assert edits == []


def test_a_value_refused_by_the_receiver_is_shown_and_sent_again(form):
    f, edits = form
    lr = f.editors["lr"]
    type_text(lr, "0.5")
    f.set_problem("lr", "too large for this optimizer")
    assert f.errors["lr"].text() == "too large for this optimizer" and f.errors["lr"].isVisibleTo(f)
    lr.editingFinished.emit()  # the same text again reaches the receiver, which decides again
    assert edits == [("lr", 0.5), ("lr", 0.5)] and not f.errors["lr"].isVisibleTo(f)
    f.set_problem("loss", "refused")
    f.show_only(["epochs"])  # a hidden row hides its reason too
    assert not f.errors["loss"].isVisibleTo(f)
    f.show_only(list(f.editors))
    assert f.errors["loss"].isVisibleTo(f) and f.editors["loss"].palette().buttonText().color().name() == "#d93636"
