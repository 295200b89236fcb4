"""Light and dark themes: the application palette and the editor's colours.

The mode is "system" (follow the platform's colour scheme, and change with it),
"light" or "dark". `current()` is the `Theme` the canvas paints with; `changed`
fires after a switch so views repaint. Node colours come from the layer
category, so a new layer type is coloured without touching the UI. Toolbar
icons are painted in `icon` / `icon_disabled` (`ui.icons`), so an enabled icon
stands out from the bar and a disabled one recedes, in either theme.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

MODES = ("system", "light", "dark")


@dataclass(frozen=True)
class Theme:
    name: str
    background: QColor
    grid_minor: QColor
    grid_major: QColor
    node_fill: QColor
    node_border: QColor
    text: QColor
    muted: QColor
    edge: QColor
    accent: QColor
    error: QColor
    categories: dict[str, QColor]
    icon: QColor  # toolbar icons: enabled ones stand out from the bar, disabled ones recede into it
    icon_disabled: QColor

    def category(self, name: str) -> QColor:
        return self.categories.get(name, self.muted)


def _c(hex_: str) -> QColor:
    return QColor(hex_)


LIGHT = Theme(
    "light",
    background=_c("#f4f5f7"), grid_minor=_c("#e6e8ec"), grid_major=_c("#d5d9e0"),
    node_fill=_c("#ffffff"), node_border=_c("#b8bfca"), text=_c("#1d2330"), muted=_c("#5c6675"),
    edge=_c("#7d8796"), accent=_c("#2f7fe0"), error=_c("#d93636"),
    categories={"io": _c("#1f9d74"), "layers": _c("#3570c9"), "activations": _c("#e08a1e"),
                "normalization": _c("#8a4fc4"), "reshape": _c("#6f7f8f"), "merge": _c("#c2417d"), "blocks": _c("#2a8a9e"),
                "templates": _c("#4a8f9c")},
    icon=_c("#4a5361"), icon_disabled=_c("#b9bfc8"),
)

DARK = Theme(
    "dark",
    background=_c("#1b1e24"), grid_minor=_c("#23272e"), grid_major=_c("#2e333c"),
    node_fill=_c("#2a2f38"), node_border=_c("#454c58"), text=_c("#e4e7ec"), muted=_c("#9aa3b0"),
    edge=_c("#8a94a3"), accent=_c("#4f9bff"), error=_c("#ff5c5c"),
    categories={"io": _c("#35c192"), "layers": _c("#5b94ea"), "activations": _c("#f2a03d"),
                "normalization": _c("#a877dd"), "reshape": _c("#93a2b2"), "merge": _c("#e0619c"), "blocks": _c("#3fb3c9"),
                "templates": _c("#63b3c2")},
    icon=_c("#d5dae2"), icon_disabled=_c("#555c67"),
)


def dark_palette() -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, c in ((role.Window, "#24272e"), (role.WindowText, "#e4e7ec"), (role.Base, "#1b1e24"),
                 (role.AlternateBase, "#2a2f38"), (role.ToolTipBase, "#2a2f38"), (role.ToolTipText, "#e4e7ec"),
                 (role.PlaceholderText, "#7d8796"), (role.Text, "#e4e7ec"), (role.Button, "#2e333c"),
                 (role.ButtonText, "#e4e7ec"), (role.BrightText, "#ff5c5c"), (role.Link, "#4f9bff"),
                 (role.Highlight, "#3d7bd6"), (role.HighlightedText, "#ffffff"), (role.Mid, "#3a404a"),
                 (role.Dark, "#15171c"), (role.Light, "#3a404a"), (role.Midlight, "#333942"),
                 (role.Shadow, "#000000")):
        p.setColor(r, QColor(c))
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, QColor("#6b7380"))
    return p


class ThemeManager(QObject):
    """Holds the chosen mode and applies it to the application."""

    changed = Signal()

    def __init__(self, mode: str = "system") -> None:
        super().__init__()
        self.mode = mode if mode in MODES else "system"
        self.theme = LIGHT
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(self._system_changed)

    def _system_changed(self, *_args) -> None:
        if self.mode == "system":
            self.apply()

    def set_mode(self, mode: str) -> None:
        self.mode = mode if mode in MODES else "system"
        self.apply()

    def apply(self) -> None:
        dark = self.mode == "dark" or (
            self.mode == "system" and QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark)
        app = QApplication.instance()
        if app is not None:
            app.setStyle("Fusion")
            app.setPalette(dark_palette() if dark else app.style().standardPalette())
        self.theme = DARK if dark else LIGHT
        self.changed.emit()


_manager: ThemeManager | None = None


def manager() -> ThemeManager:
    global _manager
    if _manager is None:
        _manager = ThemeManager()
    return _manager


def current() -> Theme:
    return _manager.theme if _manager is not None else LIGHT
