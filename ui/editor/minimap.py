"""The minimap: an overview of the whole graph in a corner of the canvas, with the part in view outlined.

Clicking or dragging on it centres the canvas on that point. It appears while
part of the graph is out of view (and can be switched off from the View menu).
Painting is cheap on a 1,000-node graph: the nodes and edges are drawn once into
a cached pixmap, redrawn only when the graph, the selection, the problems or the
theme change; panning and zooming only redraw the outline on top of it.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from .. import theme
from .items import NODE_H, NODE_W, NodeItem, warning_color

MAX_SIZE = QSize(220, 150)
MIN_SIDE = 48
PAD = 6.0
CORNER_GAP = 12  # from the canvas's edges


class Minimap(QWidget):
    def __init__(self, view) -> None:
        super().__init__(view)
        self.view = view
        self.enabled = True
        self._pixmap: QPixmap | None = None
        self._world = QRectF()
        self._scale = 1.0
        self._offset = QPointF()
        self._dragging = False
        self._refresh = QTimer(self)  # one redraw for a burst of changes (an auto-layout moves every node)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)
        self._refresh.timeout.connect(self.follow_view)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the canvas there")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)  # nothing under it is repainted with it
        scene = view.graph_scene
        scene.contentChanged.connect(self.invalidate)
        scene.badgesChanged.connect(self.restyle)
        scene.selectionChanged.connect(self._selection_changed)
        self._selected: set[str] = set()
        view.visibleAreaChanged.connect(self.follow_view)
        theme.manager().changed.connect(self.invalidate)
        self.hide()

    # -- what it shows -------------------------------------------------------------------------
    def set_enabled(self, enabled: bool) -> None:
        """Switch the minimap on or off (it still hides itself while the whole graph is in view)."""
        self.enabled = enabled
        self.follow_view()

    def invalidate(self) -> None:
        """The graph changed: redraw the overview once the burst of changes is over."""
        self._pixmap = None
        self._refresh.start()

    def needed(self) -> bool:
        """Whether part of the graph is out of view."""
        scene = self.view.graph_scene
        if not scene.nodes:
            return False
        return not self.view.visible_scene_rect().contains(scene.items_rect())

    def follow_view(self) -> None:
        """Show or hide as needed, keep to the canvas's corner, and redraw the outline of what is in view."""
        show = self.enabled and self.view.scene() is not None and self.needed()
        if show:
            self._place()
            if self.isHidden():
                self.show()
            self.update()
        elif not self.isHidden():
            self.hide()

    def _place(self) -> None:
        world = self.view.graph_scene.items_rect().adjusted(-NODE_W / 2, -NODE_H, NODE_W / 2, NODE_H)
        if world != self._world:
            self._pixmap = None
        self._world = world
        inner_w, inner_h = MAX_SIZE.width() - 2 * PAD, MAX_SIZE.height() - 2 * PAD
        scale = min(inner_w / max(world.width(), 1.0), inner_h / max(world.height(), 1.0))
        size = QSize(max(MIN_SIDE, round(world.width() * scale + 2 * PAD)),
                     max(MIN_SIDE, round(world.height() * scale + 2 * PAD)))
        if size != self.size():
            self.resize(size)
            self._pixmap = None
        self._scale = scale
        self._offset = QPointF((size.width() - world.width() * scale) / 2, (size.height() - world.height() * scale) / 2)
        area = self.view.viewport().geometry()
        self.move(area.right() - size.width() - CORNER_GAP, area.bottom() - size.height() - CORNER_GAP)

    # -- mapping -------------------------------------------------------------------------------
    def to_map(self, p: QPointF) -> QPointF:
        return QPointF((p.x() - self._world.left()) * self._scale, (p.y() - self._world.top()) * self._scale) \
            + self._offset

    def to_scene(self, p: QPointF) -> QPointF:
        q = p - self._offset
        return QPointF(q.x() / self._scale + self._world.left(), q.y() / self._scale + self._world.top())

    # -- painting ------------------------------------------------------------------------------
    def overview(self) -> QPixmap:
        """The nodes and edges at the minimap's scale (cached until the graph changes)."""
        if self._pixmap is None or self._pixmap.size() != self.size() * self.devicePixelRatioF():
            self._pixmap = self._draw_overview()
        return self._pixmap

    def _draw_overview(self) -> QPixmap:
        t = theme.current()
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(self.size() * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = self._scene_painter(pixmap)
        scene = self.view.graph_scene
        edge_color = QColor(t.edge)
        edge_color.setAlpha(150)
        painter.setPen(QPen(edge_color, 0))
        # forward edges only: the ones that carry the flow to the next band would cross the whole map
        painter.drawLines(scene.edge_drawing()[0])
        self._selected = {i.node_id for i in scene.selectedItems() if isinstance(i, NodeItem)}
        self._draw_nodes(painter, scene.nodes)
        painter.end()
        return pixmap

    def _scene_painter(self, pixmap: QPixmap) -> QPainter:
        """A painter on `pixmap` that draws in scene coordinates."""
        painter = QPainter(pixmap)
        painter.translate(self._offset)
        painter.scale(self._scale, self._scale)
        painter.translate(-self._world.topLeft())
        return painter

    def _draw_nodes(self, painter: QPainter, nodes) -> None:
        """Nodes as blocks in their category colour, the colour of their badge, or the selection colour;
        a few calls for all of them (one per colour)."""
        t = theme.current()
        painter.setPen(Qt.PenStyle.NoPen)
        w, h = max(NODE_W, 2 / self._scale), max(NODE_H, 2 / self._scale)
        layout = self.view.graph_scene.graph.layout
        groups: dict[str, list[QRectF]] = {}  # by category, or "!" + the level of a badge, or "selected"
        for node_id, item in nodes.items():
            key = ("selected" if node_id in self._selected else
                   "!" + item.badge_level if item.problems or item.flags else item.category)
            x, y = layout.get(node_id, (0.0, 0.0))
            groups.setdefault(key, []).append(QRectF(x, y, w, h))
        for key, rects in groups.items():
            painter.setBrush(t.accent if key == "selected" else t.error if key == "!error" else
                             warning_color(t) if key == "!warning" else t.category(key))
            painter.drawRects(rects)

    def restyle(self, ids) -> None:
        """Some nodes changed colour (a badge, the selection): repaint just those on the overview."""
        if self._pixmap is None:
            return
        scene = self.view.graph_scene
        nodes = {n: scene.nodes[n] for n in ids if n in scene.nodes}
        if nodes:
            painter = self._scene_painter(self._pixmap)
            self._draw_nodes(painter, nodes)
            painter.end()
            self.update()

    def _selection_changed(self) -> None:
        try:
            now = {i.node_id for i in self.view.graph_scene.selectedItems() if isinstance(i, NodeItem)}
        except RuntimeError:  # items already gone while the scene is cleared
            return
        changed, self._selected = now ^ self._selected, now
        self.restyle(changed)

    def paintEvent(self, event) -> None:
        t = theme.current()
        painter = QPainter(self)
        frame = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.fillRect(self.rect(), t.node_fill)
        painter.drawPixmap(0, 0, self.overview())
        painter.setPen(QPen(t.node_border, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(frame)
        seen = self.view.visible_scene_rect()
        box = QRectF(self.to_map(seen.topLeft()), self.to_map(seen.bottomRight())).intersected(frame)
        fill = QColor(t.accent)
        fill.setAlpha(40)
        painter.setBrush(fill)
        painter.setPen(QPen(t.accent, 1.5))
        painter.drawRect(box)
        painter.end()

    # -- navigating ------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self.view.centerOn(self.to_scene(event.position()))
            event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._dragging:
            self.view.centerOn(self.to_scene(event.position()))
            event.accept()

    def mouseReleaseEvent(self, event) -> None:
        self._dragging = False
        event.accept()
