"""Editors generated from `nodetrainer.schema.Param` declarations, and a form of them for one section.

`editor_for(param)` picks the widget from the parameter's kind (choice → combo
box, int → spin box, float → a line edit that takes 1e-3, bool → check box,
lists → "a, b"), its range and its one-line doc (the tooltip). An editor emits
`edited(value)` only for a user's edit; `set_value` never echoes. A float or
list editor holding text that `Param.check` refuses turns red, shows the reason
as its tooltip and emits nothing, so only valid values reach the graph.

`ParamForm` lays out the editors of one settings section and reports
`edited(key, value)`; `value is None` means "the default": the caller removes
the key, so a section only ever holds what differs from the defaults.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QWidget)

from nodetrainer.schema import Param

INT_LIMIT = 2_000_000_000


def _doc(param: Param, extra: str = "") -> str:
    parts = [param.doc] if param.doc else []
    rng = param._range_text() if (param.lo is not None or param.hi is not None) else ""  # noqa: SLF001
    if rng:
        parts.append(f"({rng})")
    if param.default is not None and not param.required:
        parts.append(f"default: {fmt(param.default)}")
    if extra:
        parts.append(extra)
    return " ".join(parts)


def fmt(value: Any) -> str:
    """A value as a user would type it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return "" if value is None else str(value)


class _Editor:
    """Mixin: `edited(value)` for user edits only."""

    param: Param

    def set_value(self, value: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def value(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


class ChoiceEdit(QComboBox, _Editor):
    edited = Signal(object)

    def __init__(self, param: Param, none_label: str | None = None, choices: Iterable[Any] | None = None) -> None:
        super().__init__()
        self.param = param
        self.none_label = none_label
        self.set_choices(choices if choices is not None else param.choices)
        self.setToolTip(_doc(param))
        self.activated.connect(lambda _i: self.edited.emit(self.value()))

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
        self.blockSignals(True)
        index = next((i for i in range(self.count()) if self.itemData(i) == value
                      and type(self.itemData(i)) is type(value)), -1)
        if index < 0 and value is not None:
            self.addItem(fmt(value), value)  # a value the file holds that is not offered: keep it visible
            index = self.count() - 1
        self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)

    def value(self) -> Any:
        return self.currentData()


class IntEdit(QSpinBox, _Editor):
    edited = Signal(object)

    def __init__(self, param: Param) -> None:
        super().__init__()
        self.param = param
        lo = -INT_LIMIT if param.lo is None else int(param.lo) + (1 if param.lo_open else 0)
        hi = INT_LIMIT if param.hi is None else int(param.hi) - (1 if param.hi_open else 0)
        self.setRange(max(lo, -INT_LIMIT), min(hi, INT_LIMIT))
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.setToolTip(_doc(param))
        self.valueChanged.connect(lambda v: self.edited.emit(int(v)))

    def set_value(self, value: Any) -> None:
        self.blockSignals(True)
        self.setValue(int(value) if isinstance(value, int) and not isinstance(value, bool)
                      else int(self.param.default if isinstance(self.param.default, int) else self.minimum()))
        self.blockSignals(False)

    def value(self) -> int:
        return int(super().value())


class BoolEdit(QCheckBox, _Editor):
    edited = Signal(object)

    def __init__(self, param: Param, text: str = "") -> None:
        super().__init__(text)
        self.param = param
        self.setToolTip(_doc(param))
        self.toggled.connect(lambda v: self.edited.emit(bool(v)))

    def set_value(self, value: Any) -> None:
        self.blockSignals(True)
        self.setChecked(bool(value) if isinstance(value, bool) else bool(self.param.default))
        self.blockSignals(False)

    def value(self) -> bool:
        return self.isChecked()


class TextEdit(QLineEdit, _Editor):
    """float, floats, ints and str parameters: typed text checked by `Param.check` when editing ends.
    Empty text means the default (shown as the placeholder)."""

    edited = Signal(object)

    def __init__(self, param: Param, default_text: str | None = None) -> None:
        super().__init__()
        self.param = param
        self._value: Any = None
        self.set_default_text(default_text)
        self.setClearButtonEnabled(False)
        self.setToolTip(_doc(param))
        self.editingFinished.connect(self._commit)

    def set_default_text(self, text: str | None) -> None:
        if text is None:
            text = fmt(self.param.default) if not self.param.required and self.param.default is not None else ""
        self.setPlaceholderText(text)

    def parse(self, text: str) -> Any:
        """The checked value of `text` (None for empty); ValueError with the reason."""
        text = text.strip()
        if not text:
            return None
        kind = self.param.kind
        if kind == "float":
            raw: Any = _number(text)
        elif kind in ("floats", "ints"):
            raw = [_number(t) for t in text.replace("[", "").replace("]", "").split(",") if t.strip()]
            if kind == "ints":
                raw = [int(v) if isinstance(v, float) and v.is_integer() else v for v in raw]
        else:
            raw = text
        return self.param.check(raw)

    def _commit(self) -> None:
        try:
            value = self.parse(self.text())
        except ValueError as exc:
            self._invalid(str(exc))
            return
        self._valid()
        if value != self._value:
            self._value = value
            self.edited.emit(value)

    def _invalid(self, message: str) -> None:
        self.setStyleSheet("QLineEdit { border: 1px solid #d93636; }")
        self.setToolTip(message)

    def _valid(self) -> None:
        self.setStyleSheet("")
        self.setToolTip(_doc(self.param))

    def set_value(self, value: Any) -> None:
        self._value = value
        self._valid()
        self.blockSignals(True)
        text = fmt(value)
        if text != self.text():
            self.setText(text)
        self.blockSignals(False)

    def value(self) -> Any:
        return self._value


def _number(text: str) -> Any:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"'{text}' is not a finite number")
    return value


def editor_for(param: Param, none_label: str | None = None) -> QWidget:
    """The editor widget for one parameter."""
    if param.kind == "choice":
        label = none_label if none_label is not None else ("default" if param.default is None else None)
        return ChoiceEdit(param, label)
    if param.kind == "int":
        return IntEdit(param)
    if param.kind == "bool":
        return BoolEdit(param)
    return TextEdit(param)


class ParamForm(QWidget):
    """Editors for the parameters of one section, in declaration order; `edited(key, value)`."""

    edited = Signal(str, object)

    def __init__(self, params: dict[str, Param], keys: Iterable[str] | None = None,
                 labels: dict[str, str] | None = None, parent: QWidget | None = None,
                 none_labels: dict[str, str] | None = None) -> None:
        super().__init__(parent)
        self.params = params
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.editors: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        for key in (keys if keys is not None else params):
            self.add(key, editor_for(params[key], (none_labels or {}).get(key)), (labels or {}).get(key))

    def add(self, key: str, editor: QWidget, label: str | None = None) -> QWidget:
        text = label or key.replace("_", " ")
        lab = QLabel(text)
        lab.setToolTip(editor.toolTip())
        self.layout_.addRow(lab, editor)
        self.editors[key] = editor
        self.labels[key] = lab
        editor.edited.connect(lambda value, k=key: self.edited.emit(k, value))
        return editor

    def set_values(self, raw: dict[str, Any]) -> None:
        """Shows `raw`'s values (missing keys: the defaults; text fields: empty with the default as hint)."""
        for key, editor in self.editors.items():
            param = self.params.get(key)
            value = raw.get(key)
            if param is not None and value is not None:
                try:
                    value = param.check(value)
                except ValueError:
                    pass
            if value is None and param is not None and not isinstance(editor, TextEdit):
                value = param.default if not param.required else None
            editor.set_value(value)

    def show_only(self, keys: Iterable[str]) -> None:
        """Hides the rows of keys not in `keys` (e.g. the parameters another optimizer does not take)."""
        wanted = set(keys)
        for key in self.editors:
            self.layout_.setRowVisible(self.editors[key], key in wanted)


__all__ = ["ChoiceEdit", "IntEdit", "BoolEdit", "TextEdit", "ParamForm", "editor_for", "fmt"]
