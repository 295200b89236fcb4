"""The one place a `nodetrainer.schema.Param` becomes an editor widget, and a form of such editors.

`editor_for(param)` picks the widget from the parameter's kind:

- choice → `ChoiceEdit` (a combo box; a value the file holds that is not offered stays visible),
- int, int_or_null → `IntEdit` (a spin box bounded by the range; an unset required, null or
  default-less int shows "required", "none" or "default" at the bottom of the range),
- bool → `BoolEdit` (a check box),
- float, floats, ints, size, padding, str → `TextEdit`: typed text (`1e-3`; lists as `a, b`;
  `same` for padding) checked by `Param.check` when editing ends. Empty text means the default,
  shown as the placeholder "default: X" (a required one shows an example instead).

Every editor has the parameter's doc, range and default as its tooltip, emits `edited(value)` only
for a user's edit (`set_value` never echoes; `None` means "the default") and shows a refused value
one way, `set_problem(message)`: a red frame, the reason as the tooltip and, in a `ParamForm`, the
reason under the field. A `TextEdit` refuses what `Param.check` refuses by itself and emits nothing;
a caller that refuses a value (the document, a rename) reports it with `ParamForm.set_problem`.

`ParamForm` lays out editors in declaration order (label, field, hidden reason row) and reports
`edited(key, value)`; `set_values` shows a section or a node's parameters without echoing, a value
the file sets in bold.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QWidget

from nodetrainer.schema import Param

from .. import theme

INT_LIMIT = 2**31 - 2  # QSpinBox holds 32-bit ints; one below the range is kept for "required"/"none"
EXAMPLES = {"ints": "e.g. 1, 8, 8", "floats": "e.g. 0.9, 0.999", "float": "e.g. 0.5"}


def fmt(value: Any) -> str:
    """A value as a user would type it: `true`, `0.001`, `3, 5`; `None` as empty text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)  # the shortest text that reads back as the same float
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return "" if value is None else str(value)


def describe(param: Param) -> str:
    """The tooltip: the doc, the range, and whether the value is required or what it defaults to."""
    parts = [param.doc] if param.doc else []
    if param.lo is not None or param.hi is not None:
        parts.append(f"({param._range_text()})")  # noqa: SLF001 - the schema's own wording
    if param.required:
        parts.append("(required)")
    elif param.default is not None:
        parts.append(f"(default: {fmt(param.default)})")
    return " ".join(parts)


def placeholder(param: Param) -> str:
    """What an empty text field shows: the default, or an example of what a required value looks like."""
    if not param.required:
        return "default" if param.default is None else f"default: {fmt(param.default)}"
    n = param.length or 1
    if param.kind in ("size", "padding"):
        example = "e.g. 3" + (f" or {fmt([3, 5, 5][:n])}" if n > 1 else "")
        return example + (" or same" if param.kind == "padding" else "")
    return EXAMPLES.get(param.kind, "")


class _Editor:
    """What every editor shares: its `Param`, the tooltip and `set_problem`.

    The concrete classes declare `edited = Signal(object)` and `problemChanged = Signal(str)`.
    """

    param: Param
    _problem = ""

    def _setup(self, param: Param) -> None:
        self.param = param
        self.setToolTip(describe(param))

    def set_value(self, value: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def value(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def problem(self) -> str:
        return self._problem

    def set_problem(self, message: str) -> None:
        """Marks the shown value refused (`message`: why) or, with "", fine again."""
        if message == self._problem:
            return
        self._problem = message
        frame = f"{type(self).__mro__[1].__name__} {{ border: 1px solid {theme.current().error.name()}; }}"
        self.setStyleSheet(frame if message else "")
        self.setToolTip(message or describe(self.param))
        self.problemChanged.emit(message)


class ChoiceEdit(QComboBox, _Editor):
    edited = Signal(object)
    problemChanged = Signal(str)

    def __init__(self, param: Param, none_label: str | None = None, choices: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._setup(param)
        self.none_label = none_label
        self.set_choices(choices if choices is not None else param.choices)  # showing the default
        self.activated.connect(lambda i: self.edited.emit(self.itemData(i)))

    def set_choices(self, choices: Iterable[Any]) -> None:
        current = self.value() if self.count() else None
        self.blockSignals(True)
        self.clear()
        if self.none_label is not None:
            self.addItem(self.none_label, None)
        for c in choices:
            self.addItem(fmt(c), c)
        self.blockSignals(False)
        self.set_value(current)

    def set_value(self, value: Any) -> None:
        if value is None and self.none_label is None and not self.param.required:
            value = self.param.default
        self.blockSignals(True)
        index = next((i for i in range(self.count()) if self.itemData(i) == value
                      and type(self.itemData(i)) is type(value)), -1)
        if index < 0 and value is not None:
            self.addItem(fmt(value), value)  # a value the file holds that is not offered: keep it visible
            index = self.count() - 1
        self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)
        self.set_problem("")

    def value(self) -> Any:
        return self.currentData()


class IntEdit(QSpinBox, _Editor):
    edited = Signal(object)
    problemChanged = Signal(str)

    def __init__(self, param: Param) -> None:
        super().__init__()
        self._setup(param)
        lo = -INT_LIMIT if param.lo is None else math.floor(param.lo) + 1 if param.lo_open else math.ceil(param.lo)
        hi = INT_LIMIT if param.hi is None else math.ceil(param.hi) - 1 if param.hi_open else math.floor(param.hi)
        lo, hi = max(lo, -INT_LIMIT), min(hi, INT_LIMIT)
        self.special = ("none" if param.kind == "int_or_null" else "required" if param.required
                        else "default" if param.default is None else "")
        if self.special:  # one below the range stands for "no value"
            lo -= 1
            self.setSpecialValueText(self.special)
        self.setRange(lo, hi)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.set_value(None)  # the default
        self.valueChanged.connect(lambda v: self.edited.emit(self._of(v)))

    def _of(self, shown: int) -> int | None:
        return None if self.special and shown == self.minimum() else int(shown)

    def set_value(self, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            default = self.param.default
            value = default if isinstance(default, int) and not self.special else self.minimum()
        self.blockSignals(True)
        self.setValue(value)
        self.blockSignals(False)
        self.set_problem("")

    def value(self) -> int | None:
        return self._of(super().value())


class BoolEdit(QCheckBox, _Editor):
    edited = Signal(object)
    problemChanged = Signal(str)

    def __init__(self, param: Param) -> None:
        super().__init__()
        self._setup(param)
        self.set_value(None)  # the default
        self.toggled.connect(lambda v: self.edited.emit(bool(v)))

    def set_value(self, value: Any) -> None:
        self.blockSignals(True)
        self.setChecked(value if isinstance(value, bool) else self.param.default is True)
        self.blockSignals(False)
        self.set_problem("")

    def value(self) -> bool:
        return self.isChecked()


class TextEdit(QLineEdit, _Editor):
    """float, floats, ints, size, padding and str parameters: typed text checked by `Param.check` when
    editing ends. Empty text means the default (shown as the placeholder)."""

    edited = Signal(object)
    problemChanged = Signal(str)
    _FORGOTTEN = object()

    def __init__(self, param: Param) -> None:
        super().__init__()
        self._setup(param)
        self._value: Any = None
        self.setPlaceholderText(placeholder(param))
        self.editingFinished.connect(self._commit)

    def set_default(self, value: Any) -> None:
        """Shows `value` as the default (where it depends on other settings, as a scheduler's gamma)."""
        self.setPlaceholderText(f"default: {fmt(value)}")

    def parse(self, text: str) -> Any:
        """The checked value of `text` (None for empty); ValueError with the reason."""
        text = text.strip()
        kind = self.param.kind
        if kind != "str":
            text = text.strip("[]()").strip()
        if not text:
            return None
        if kind in ("floats", "ints", "size", "padding"):
            items = [_token(t) for t in text.split(",") if t.strip()]
            raw: Any = items[0] if kind in ("size", "padding") and len(items) == 1 else items
        elif kind == "str":
            raw = text
        else:
            raw = _token(text)
        return self.param.check(raw)

    def _commit(self) -> None:
        try:
            value = self.parse(self.text())
        except ValueError as exc:
            _Editor.set_problem(self, str(exc))
            return
        _Editor.set_problem(self, "")
        if value != self._value:
            self._value = value
            self.edited.emit(value)

    def set_problem(self, message: str) -> None:
        if message:  # refused by the receiver: the same text, entered again, is sent again
            self._value = self._FORGOTTEN
        super().set_problem(message)

    def set_value(self, value: Any) -> None:
        self._value = value
        text = fmt(value)
        if text != self.text():
            self.setText(text)
        self.set_problem("")

    def value(self) -> Any:
        return None if self._value is self._FORGOTTEN else self._value


def _token(text: str) -> Any:
    """One typed item: an int, a float, or the text itself (for `Param.check` to explain)."""
    text = text.strip()
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return text


def editor_for(param: Param, none_label: str | None = None) -> QWidget:
    """The editor widget for one parameter."""
    if param.kind == "choice":
        label = none_label if none_label is not None else ("default" if param.default is None else None)
        return ChoiceEdit(param, label)
    if param.kind in ("int", "int_or_null"):
        return IntEdit(param)
    if param.kind == "bool":
        return BoolEdit(param)
    return TextEdit(param)


class ParamForm(QWidget):
    """Editors for the parameters of one section or node, in declaration order; `edited(key, value)`.

    `labels` renames rows (by default a key's underscores become spaces); a required parameter's label
    ends in " *". `add` takes any editor of this module, also into another form layout (`layout`), so
    a panel can spread one section's editors over several groups.
    """

    edited = Signal(str, object)

    def __init__(self, params: dict[str, Param], keys: Iterable[str] | None = None,
                 labels: dict[str, str] | None = None, parent: QWidget | None = None,
                 none_labels: dict[str, str] | None = None) -> None:
        super().__init__(parent)
        self.params = params
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.label_texts = labels or {}
        self.editors: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.errors: dict[str, QLabel] = {}
        self._layouts: dict[str, QFormLayout] = {}
        self._hidden: set[str] = set()
        for key in (keys if keys is not None else params):
            self.add(key, editor_for(params[key], (none_labels or {}).get(key)))

    def add(self, key: str, editor: QWidget, label: str | None = None, layout: QFormLayout | None = None,
            row: int | None = None) -> QWidget:
        """Adds `editor`'s row (at `row`, by default last) with the row for its refusals under it."""
        assert isinstance(editor, _Editor), "ParamForm takes the editors of ui.widgets.params"
        layout = layout or self.layout_
        if label is None:
            label = self.label_texts.get(key, key.replace("_", " ")) + (" *" if editor.param.required else "")
        lab = QLabel(label)
        lab.setToolTip(describe(editor.param))
        error = QLabel()
        error.setWordWrap(True)
        error.setStyleSheet(f"color: {theme.current().error.name()};")
        row = layout.rowCount() if row is None else row
        layout.insertRow(row, lab, editor)
        layout.insertRow(row + 1, "", error)
        layout.setRowVisible(error, False)
        editor.setObjectName(key)
        self.editors[key], self.labels[key], self.errors[key], self._layouts[key] = editor, lab, error, layout
        editor.edited.connect(lambda value, k=key: self.edited.emit(k, value))
        editor.problemChanged.connect(lambda _m, k=key: self._show_problem(k))
        return editor

    def set_problem(self, key: str, message: str) -> None:
        """Shows why the value of `key` was refused ("" clears it)."""
        editor = self.editors.get(key)
        if isinstance(editor, _Editor):
            editor.set_problem(message)

    def _show_problem(self, key: str) -> None:
        message = self.editors[key].problem()
        self.errors[key].setText(message)
        self._layouts[key].setRowVisible(self.errors[key], bool(message) and key not in self._hidden)

    def set_values(self, raw: dict[str, Any]) -> None:
        """Shows `raw`'s values, a value `raw` holds in bold; a missing key shows the default (a text
        field: empty, with the default as its placeholder). Emits nothing."""
        for key, editor in self.editors.items():
            param = self.params.get(key)
            if param is None:  # an editor for something else (a node's id)
                continue
            value = raw.get(key)
            if value is not None:
                try:
                    value = param.check(value)
                except ValueError:
                    pass
            editor.set_value(value)
            font = QFont(editor.font())
            font.setBold(key in raw)
            editor.setFont(font)

    def show_only(self, keys: Iterable[str]) -> None:
        """Hides the rows of keys not in `keys` (e.g. the parameters another optimizer does not take)."""
        wanted = set(keys)
        self._hidden = set(self.editors) - wanted
        for key, editor in self.editors.items():
            self._layouts[key].setRowVisible(editor, key in wanted)
            self._show_problem(key)


__all__ = ["BoolEdit", "ChoiceEdit", "IntEdit", "ParamForm", "TextEdit", "describe", "editor_for", "fmt",
           "placeholder"]
