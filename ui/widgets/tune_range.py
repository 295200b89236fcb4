"""The range dialog: how far a tuned value may go (`uniform`, `log uniform`, `int`, `choice`).

`RangeDialog.ask(parent, graph, path, param, initial)` returns the range as the
file writes it (`{log_uniform: [1e-4, 1e-2]}`, `{int: [32, 256], log: true}`,
`{choice: [sgd, adam]}`) or None when cancelled. The core judges every range
(`nodetrainer.tune.space.range_problem`, what `nodetrainer tune` would say at
its line); a refused one is shown in red under the fields and OK stays off.
Used by the inspector's "Tune this…" and the Tune tab's "Add…" and "Edit…".
"""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QVBoxLayout, QWidget)

from nodetrainer.schema import Param
from nodetrainer.tune.space import choices_from_text, choices_text, range_problem

from .. import theme
from .params import describe, fmt

KINDS = [("uniform", "uniform"), ("log uniform", "log_uniform"), ("integer", "int"), ("choice", "choice")]


class RangeDialog(QDialog):
    def __init__(self, graph: Any, path: str, param: Param | None, initial: dict[str, Any] | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph, self.path, self.param = graph, path, param
        self.setWindowTitle(f"Tune {path}")
        self.setMinimumWidth(380)
        self.kind = QComboBox()
        for text, key in KINDS:
            self.kind.addItem(text, key)
        self.low, self.high, self.step = QLineEdit(), QLineEdit(), QLineEdit()
        self.step.setPlaceholderText("none")
        self.log = QCheckBox("log scale")
        self.choices = QLineEdit()
        self.choices.setPlaceholderText("values separated by commas, e.g. 32, 64, 128")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {theme.current().error.name()};")
        about = QLabel(describe(param) if param is not None else "a whole section: choose mappings to merge over it")
        about.setWordWrap(True)
        form = QFormLayout()
        form.addRow("range", self.kind)
        form.addRow("low", self.low)
        form.addRow("high", self.high)
        form.addRow("step", self.step)
        form.addRow("", self.log)
        form.addRow("choices", self.choices)
        self.form = form
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{path}</b>")
        layout.addWidget(title)
        layout.addWidget(about)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.set_range(initial or {"uniform": [0.0, 1.0]})
        self.kind.currentIndexChanged.connect(self._kind_changed)
        for edit in (self.low, self.high, self.step, self.choices):
            edit.textChanged.connect(self._check)
        self.log.toggled.connect(self._check)
        self._kind_changed()

    def set_range(self, rng: dict[str, Any]) -> None:
        kind = next((k for _, k in KINDS if k in rng), "uniform")
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        if kind == "choice":
            self.choices.setText(choices_text(list(rng["choice"])))
        else:
            lo, hi = rng[kind]
            self.low.setText(fmt(lo))
            self.high.setText(fmt(hi))
            self.step.setText(fmt(rng.get("step")) if rng.get("step") is not None else "")
            self.log.setChecked(bool(rng.get("log")) or kind == "log_uniform")

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        numeric = kind != "choice"
        for w in (self.low, self.high, self.step, self.log):
            self.form.setRowVisible(w, numeric)
        self.form.setRowVisible(self.choices, not numeric)
        self.log.setEnabled(kind != "log_uniform")
        if kind == "log_uniform":
            self.log.setChecked(True)
        self._check()

    def value(self) -> dict[str, Any]:
        """The range as the file writes it; ValueError naming what cannot be read."""
        kind = self.kind.currentData()
        if kind == "choice":
            return {"choice": choices_from_text(self.choices.text())}
        number = int if kind == "int" else float
        try:
            lo, hi = number(self.low.text().strip()), number(self.high.text().strip())
        except ValueError:
            raise ValueError(f"low and high must be {'integers' if kind == 'int' else 'numbers'}") from None
        rng: dict[str, Any] = {kind: [lo, hi]}
        if self.step.text().strip():
            try:
                rng["step"] = number(self.step.text().strip())
            except ValueError:
                raise ValueError("step must be a number") from None
        if self.log.isChecked() and kind in ("uniform", "int"):
            if kind == "uniform":
                rng = {"log_uniform": [lo, hi], **({"step": rng["step"]} if "step" in rng else {})}
            else:
                rng["log"] = True
        return rng

    def _check(self) -> None:
        try:
            message = range_problem(self.graph, self.path, self.value(), _sampler(self.graph)) or ""
        except ValueError as exc:
            message = str(exc)
        self.problem.setText(message)
        self.problem.setVisible(bool(message))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not message)

    @classmethod
    def ask(cls, parent: QWidget | None, graph: Any, path: str, param: Param | None,
            initial: dict[str, Any] | None) -> dict[str, Any] | None:
        dialog = cls(graph, path, param, initial, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.value()


def _sampler(graph: Any) -> str:
    tune = graph.tune if isinstance(graph.tune, dict) else {}
    sampler = tune.get("sampler", "tpe")
    return sampler if sampler in ("tpe", "random", "grid") else "tpe"


__all__ = ["RangeDialog"]
