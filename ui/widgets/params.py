"""The one place a `nodetrainer.schema.Param` becomes an editor widget, and a form of such editors.

`editor_for(param)` picks the widget from the parameter's kind:

- choice → `ChoiceEdit` (a combo box; a value the file holds that is not offered stays visible),
- int, int_or_null → `IntEdit` (a spin box whose arrows stay in the range; any integer may be typed,
  and `Param.check` decides when editing ends. An unset required, null or default-less int shows
  "required", "none" or "default", one step below the range),
- bool → `BoolEdit` (a check box),
- float, floats, ints, size, padding, str → `TextEdit`: typed text (`1e-3`; lists as `a, b`;
  `same` for padding) checked by `Param.check` when editing ends. Empty text means the default,
  shown as the placeholder "default: X" (a required one shows an example instead).

Every editor has the parameter's doc, range and default as its tooltip, emits `edited(value)` only
for a user's edit (`set_value` never echoes; `None` means "the default") and shows a refused value
one way, `set_problem(message)`: a red frame, the reason as the tooltip and, in a `ParamForm`, the
reason under the field. A refused value stays as typed (`-5` is not turned into 5). A `TextEdit` or
`IntEdit` refuses what `Param.check` refuses by itself and emits nothing; a caller that refuses a
value (the document, a rename) reports it with `ParamForm.set_problem` while handling `edited`.

Undo belongs to the document once a value is committed: Ctrl+Z (and redo) in a field that shows the
value it holds goes on to the window's undo action. In a field with typing not yet committed, or
showing a refused value, Ctrl+Z first brings back the value held.

`ParamForm` lays out editors in declaration order (label, field, hidden reason row) and reports
`edited(key, value)`; `set_values` shows a section or a node's parameters without echoing, a value
the file sets in bold.
"""
from __future__ import annotations

import math
import re
from typing import Any, Iterable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import (QFocusEvent, QFont, QKeyEvent, QKeySequence, QPainter, QPaintEvent, QPalette, QPen,
                           QValidator)
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QSpinBox,
                               QWidget)

from nodetrainer.schema import Param

from .. import theme

INT_LIMIT = 2**31 - 2  # QSpinBox holds 32-bit ints; the lowest one is kept for "required"/"none"/"default"
_NUMBERISH = re.compile(r"\s*[+\-]?[0-9.eE+\-\s]*")  # what someone typing a number may have typed so far
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

    The concrete classes declare `edited = Signal(object)` and `problemChanged = Signal(str)`. Editors of
    typed values (`TextEdit`, `IntEdit`) also keep the value their receiver holds (`_held`), so that a
    refusal leaves it alone and undo knows whether the field has anything of its own to undo.
    """

    param: Param
    _problem = ""
    _held: Any = None
    _sending = False
    _before: Any = None
    _own_refusal = False

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
        """Marks the shown value refused (`message`: why) or, with "", fine again. A refusal while the
        editor sends `edited` (the receiver's) keeps the value held before."""
        if message and self._sending:
            self._held = self._before
        self._own_refusal = False
        if message == self._problem:
            return
        self._problem = message
        self._mark(bool(message))
        self.setToolTip(message or describe(self.param))
        self.problemChanged.emit(message)

    def _mark(self, refused: bool) -> None:
        """Shows the value as refused (a red frame and red text) or not."""
        error = theme.current().error.name()
        widget = type(self).__mro__[1].__name__
        self.setStyleSheet(f"{widget} {{ border: 1px solid {error}; color: {error}; }}" if refused else "")

    def _refuse(self, message: str) -> None:
        """The editor's own refusal (`Param.check`'s): the receiver never sees the value."""
        _Editor.set_problem(self, message)
        self._own_refusal = True

    def _decide(self, value: Any) -> None:
        """A value the editor's check accepted: sent when it is new, or when the receiver refused the last
        one (it decides again); the value held, typed back over the editor's own refusal, just clears it."""
        if value != self._held or (self._problem and not self._own_refusal):
            self._send(value)
        else:
            _Editor.set_problem(self, "")

    def _send(self, value: Any) -> None:
        """Emits `edited(value)` for a value the editor's own check accepted; the receiver may refuse it."""
        self._before, self._held, self._sending = self._held, value, True
        _Editor.set_problem(self, "")
        try:
            self.edited.emit(value)
        finally:
            self._sending = False

    # -- undo: the field's own, or the document's ------------------------------------------
    def pending(self) -> bool:
        """Whether the field shows something other than the value held: typing not yet committed, or a
        refused value."""
        return False

    def revert(self) -> None:
        """Shows the value held again (dropping a refused value)."""
        self.set_value(self._held)

    def _undo_event(self, event: QEvent) -> bool:
        """Handles the undo and redo keys: True when `event` was one of them (the caller then returns True).
        A field with nothing pending lets them through to the window's actions (the document's undo);
        otherwise undo drops what the field shows (typing, or a refused value) for the value held."""
        if event.type() not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) or not isinstance(event, QKeyEvent):
            return False
        undo = event.matches(QKeySequence.StandardKey.Undo)
        if not undo and not event.matches(QKeySequence.StandardKey.Redo):
            return False
        if not self.pending():
            event.ignore()  # not the field's: the window's undo/redo action takes it
            return True
        if not undo:
            return False  # the line edit's own redo
        event.accept()
        if event.type() == QEvent.Type.KeyPress:
            self.revert()
        return True


class _PaintedMark:
    """The refused look for spin and combo boxes, which a style sheet would strip of their native arrows:
    red text through the palette and a red frame painted over the native one."""

    def _mark(self, refused: bool) -> None:
        for widget in (self, getattr(self, "lineEdit", lambda: None)()):
            if widget is None:
                continue
            palette = QPalette()  # resolves nothing: everything inherited again
            if refused:
                for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
                    palette.setColor(role, theme.current().error)
            widget.setPalette(palette)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._problem:
            painter = QPainter(self)
            painter.setPen(QPen(theme.current().error, 1))
            painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
            painter.end()


class ChoiceEdit(_PaintedMark, QComboBox, _Editor):
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


class IntEdit(_PaintedMark, QSpinBox, _Editor):
    """An integer: the arrows and the wheel stay within the parameter's range, while any integer can be
    typed; `Param.check` decides when editing ends, and a refused number stays as typed, in red.

    "No value" (an unset required int, null, or "the default" where the default is not a number) is the
    spin box's lowest value, shown as "required", "none" or "default", one arrow step below the range.
    """

    edited = Signal(object)
    problemChanged = Signal(str)
    _decided = False

    def __init__(self, param: Param) -> None:
        super().__init__()
        self._setup(param)
        lo = -INT_LIMIT if param.lo is None else math.floor(param.lo) + 1 if param.lo_open else math.ceil(param.lo)
        hi = INT_LIMIT if param.hi is None else math.ceil(param.hi) - 1 if param.hi_open else math.floor(param.hi)
        self.lo, self.hi = max(lo, -INT_LIMIT), min(hi, INT_LIMIT)  # where the arrows go
        self.special = ("none" if param.kind == "int_or_null" else "required" if param.required
                        else "default" if param.default is None else "")
        self.setRange(-INT_LIMIT - 1, INT_LIMIT)  # anything typed stays visible; the lowest means "no value"
        if self.special:
            self.setSpecialValueText(self.special)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.set_value(None)  # the default
        self.valueChanged.connect(self._commit)

    def _of(self, shown: int) -> int | None:
        return None if shown == self.minimum() else int(shown)

    def _commit(self, shown: int) -> None:
        self._decided = True
        value = self._of(shown)
        if value is not None or self.param.required:  # "required" typed in: refused, as nothing
            try:
                value = self.param.check(value)
            except ValueError as exc:
                self._refuse(str(exc))
                return
        self._decide(value)

    def stepBy(self, steps: int) -> None:
        """Arrows, Page keys and the wheel: within the range, and to "none"/"default" below it."""
        shown = super().value()
        choosable_none = bool(self.special) and not self.param.required
        if shown == self.minimum():
            target = self.lo + steps - 1 if steps > 0 else shown
        else:
            target = min(max(shown + steps, self.lo), self.hi)
            if shown + steps < self.lo and choosable_none and shown <= self.lo:
                target = self.minimum()
        self.setValue(target)

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:
        shown = super().value()
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if shown == self.minimum() or shown < self.hi:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if shown != self.minimum() and (shown > self.lo or (shown == self.lo and self.special
                                                              and not self.param.required)):
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags

    def set_value(self, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            default = self.param.default
            value = default if isinstance(default, int) and not self.special else self.minimum()
        self.blockSignals(True)
        self.setValue(value)
        self.blockSignals(False)
        self._held = self._of(value)
        self.set_problem("")

    def value(self) -> int | None:
        """The value held (a refused number shown in red is not it)."""
        return self._held

    def _text_of(self, value: int | None) -> str:
        return self.specialValueText() if value is None and self.special else self.textFromValue(
            self.minimum() if value is None else value)

    def pending(self) -> bool:
        return bool(self._problem) or self.lineEdit().text() != self._text_of(self._held)

    # -- text that is not an integer (2.5, 1e3, a lone "-"): refused as typed too -----------------
    def validate(self, text: str, pos: int) -> object:
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Invalid and _NUMBERISH.fullmatch(text):
            state = QValidator.State.Intermediate  # kept as typed; refused when editing ends
        return state, text, pos

    def _finish_typing(self) -> bool:
        """Editing ends on text the spin box cannot take: empty text is "no value" (the default) unless
        a value is required; anything else is refused as typed. True when the text was such."""
        text = self.lineEdit().text()
        if QSpinBox.validate(self, text, 0)[0] == QValidator.State.Acceptable:
            return False
        empty = not text.strip()
        if empty and not self.param.required:  # no value: "none"/"default", or the default number
            self.setValue(self.minimum() if self.special else self.param.default)
            return True
        try:
            self.param.check(None if empty else _token(text))
            problem = f"'{self.param.name}' must be an integer, got {text.strip()!r}"
        except ValueError as exc:
            problem = str(exc)
        self.lineEdit().setText(text)
        self._refuse(problem)
        return True

    def focusOutEvent(self, event: QFocusEvent) -> None:
        typed = self.lineEdit().text()
        taken = QSpinBox.validate(self, typed, 0)[0] == QValidator.State.Acceptable
        self._decided = False
        super().focusOutEvent(event)  # puts the last value back where the text is not a number it holds
        if not taken:
            self.lineEdit().setText(typed)
            self._finish_typing()
        elif self._problem and not self._decided:  # the number it already held, shown refused: decide again
            self._commit(super().value())

    def event(self, event: QEvent) -> bool:
        if self._undo_event(event):
            return True
        if (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._finish_typing()):
            event.accept()
            return True
        return super().event(event)


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

    def __init__(self, param: Param) -> None:
        super().__init__()
        self._setup(param)
        self._held = None
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
            self._refuse(str(exc))
            return
        self._decide(value)

    def set_value(self, value: Any) -> None:
        self._held = value
        text = fmt(value)
        if text != self.text():
            self.setText(text)
        self.set_problem("")

    def value(self) -> Any:
        """The value held (a refused text shown in red is not it)."""
        return self._held

    def pending(self) -> bool:
        if self._problem:
            return True
        try:
            return self.parse(self.text()) != self._held
        except ValueError:
            return True

    def event(self, event: QEvent) -> bool:
        return True if self._undo_event(event) else super().event(event)


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
