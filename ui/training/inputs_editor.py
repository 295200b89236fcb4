"""Several Inputs in the Data tab: each Input node gets its CSV columns or NPZ array by picking.

`InputsEditor.show_inputs(inputs, choices, mapping)` lays out one row per Input
node: its id, its shape beside the shape of the part it gets (red when they
differ, with the reason when the value names nothing), and the picker: a combo
box of the NPZ arrays, or a "Columns…" button that opens a checkable list of
the columns (a column another Input takes says so). A pick emits
`mappingEdited(dict)` with the whole new `data.inputs` mapping (columns written
with ranges by `preview.columns_spec`); the data panel writes it through the
document like every other data setting. The numbers (part shapes, which columns
a value picks) come from `nodetrainer.data.preview`.
"""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QGridLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from nodetrainer.data.preview import columns_spec, mapped_columns, mapped_shape

ERROR = "#d93636"


class ColumnPicker(QDialog):
    """A checkable list of the source's columns for one Input; columns of other Inputs are marked."""

    def __init__(self, input_id: str, columns: list[str], picked: list[str], taken: dict[str, str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Columns of {input_id}")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"The columns Input <b>{input_id}</b> takes, in the file's order:"))
        self.list = QListWidget()
        for name in columns:
            text = name + (f"   (→ {taken[name]})" if name in taken else "")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in picked else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(340, 460)

    def picked(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]


class InputsEditor(QWidget):
    mappingEdited = Signal(object)  # the new data.inputs mapping (dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(2, 1)
        self.inputs: list[tuple[str, tuple[int, ...]]] = []
        self.choices: Any = None
        self.mapping: dict[str, Any] = {}
        self.shape_labels: dict[str, QLabel] = {}
        self.pickers: dict[str, QWidget] = {}
        self.note = QLabel()
        self.note.setWordWrap(True)

    def show_inputs(self, inputs: list[tuple[str, tuple[int, ...]]], choices: Any, mapping: dict[str, Any]) -> None:
        """One row per (Input id, Input shape); `choices` is what the source offers (None: not known yet)."""
        self.inputs, self.choices, self.mapping = list(inputs), choices, dict(mapping or {})
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.shape_labels, self.pickers = {}, {}
        self.note = QLabel()
        self.note.setWordWrap(True)
        for row, (input_id, shape) in enumerate(self.inputs):
            self.grid.addWidget(QLabel(f"<b>{input_id}</b>"), row, 0)
            picker = self._picker(input_id)
            self.grid.addWidget(picker, row, 1)
            label = QLabel()
            label.setWordWrap(True)
            self.grid.addWidget(label, row, 2)
            self.pickers[input_id], self.shape_labels[input_id] = picker, label
            self._show_shape(input_id, shape)
        self.grid.addWidget(self.note, len(self.inputs), 0, 1, 3)
        if choices is None:
            self.note.setText("Reading the source's columns…")
        else:
            what = "columns" if choices.kind == "columns" else "arrays"
            self.note.setText(f"Each Input takes its own {what}; every one but the target goes to exactly one Input.")

    def _picker(self, input_id: str) -> QWidget:
        choices = self.choices
        if choices is not None and choices.kind == "arrays":
            box = QComboBox()
            box.addItem("choose an array…", None)
            for name, shape in choices.shapes.items():
                box.addItem(f"{name} {list(shape)}", name)
            box.setCurrentIndex(max(0, box.findData(self.mapping.get(input_id))))
            box.activated.connect(lambda _i, i=input_id, b=box: self.pick(i, b.currentData()))
            return box
        button = QPushButton("Columns…")
        button.setEnabled(choices is not None)
        button.clicked.connect(lambda _c=False, i=input_id: self._open_picker(i))
        count = len(mapped_columns(choices, self.mapping.get(input_id))) if choices is not None else 0
        if count:
            button.setText(f"{count} column{'s' * (count != 1)}…")
        return button

    def _open_picker(self, input_id: str) -> None:
        columns = list(self.choices.shapes)
        taken = {c: other for other, spec in self.mapping.items() if other != input_id
                 for c in mapped_columns(self.choices, spec)}
        dialog = ColumnPicker(input_id, columns, mapped_columns(self.choices, self.mapping.get(input_id)), taken, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.pick(input_id, dialog.picked())

    def pick(self, input_id: str, value: Any) -> None:
        """Gives Input `input_id` an array name, or a list of column names (written with ranges)."""
        mapping = copy.deepcopy(self.mapping)
        if isinstance(value, list):
            value = columns_spec(value, list(self.choices.shapes)) if value else None
        if value is None or value == []:
            mapping.pop(input_id, None)
        else:
            mapping[input_id] = value
        self.mapping = mapping
        self.mappingEdited.emit(mapping)

    def _show_shape(self, input_id: str, shape: tuple[int, ...]) -> None:
        label = self.shape_labels[input_id]
        if self.choices is None:
            label.setText(f"Input {list(shape)}")
            return
        part, why = mapped_shape(self.choices, self.mapping.get(input_id))
        if part is None:
            label.setText(f"Input {list(shape)} · part: {why}")
            label.setStyleSheet(f"color: {ERROR};")
        else:
            label.setText(f"Input {list(shape)} · part {list(part)}" + ("" if part == tuple(shape) else "  ⚠"))
            label.setStyleSheet("" if part == tuple(shape) else f"color: {ERROR};")

    def shape_text(self, input_id: str) -> str:
        """What the row of `input_id` says about shapes (tests)."""
        return self.shape_labels[input_id].text()


__all__ = ["InputsEditor", "ColumnPicker"]
