"""Toolbar and menu icons drawn in the theme's colours, so enabled ones stand out and disabled ones recede.

The SVGs in `resources/icons/` draw their lines in `INK` (#5b6573); `icon(name)` paints them with the
current theme's `icon` colour instead, and a disabled icon entirely in `icon_disabled` (also the
coloured ones, such as Train and Stop). The colours are chosen when an icon is painted, so a theme
switch needs no new icons, and Qt's own disabled rendering (which brightens icons on a dark palette)
is never used.
"""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from . import theme

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
INK = "#5b6573"
_COLOR = re.compile(r"#[0-9a-fA-F]{6}\b")


def coloured(svg: str, disabled: bool, palette: theme.Theme) -> str:
    """`svg` in `palette`'s icon colours: the ink recoloured, or every colour greyed when disabled."""
    if disabled:
        return _COLOR.sub(palette.icon_disabled.name(), svg)
    return re.sub(re.escape(INK), palette.icon.name(), svg, flags=re.IGNORECASE)


class ThemedIconEngine(QIconEngine):
    """Renders one SVG in the current theme's colours, for the mode asked (normal or disabled)."""

    def __init__(self, svg: str) -> None:
        super().__init__()
        self.svg = svg
        self._renderers: dict[tuple[str, bool], QSvgRenderer] = {}

    def renderer(self, mode: QIcon.Mode) -> QSvgRenderer:
        palette = theme.current()
        disabled = mode == QIcon.Mode.Disabled
        key = (palette.name, disabled)
        if key not in self._renderers:
            self._renderers[key] = QSvgRenderer(QByteArray(coloured(self.svg, disabled, palette).encode()))
        return self._renderers[key]

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        self.renderer(mode).render(painter, QRectF(rect))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> QIconEngine:
        return ThemedIconEngine(self.svg)


def icon(name: str) -> QIcon:
    """The icon `resources/icons/<name>.svg` in the theme's colours (an empty icon when there is none)."""
    path = ICONS / f"{name}.svg"
    if not path.exists():
        return QIcon()
    return QIcon(ThemedIconEngine(path.read_text(encoding="utf-8")))


__all__ = ["ICONS", "INK", "ThemedIconEngine", "coloured", "icon"]
