"""The canvas view: zoom around the cursor, pan, fit, grid, box selection, Tab for quick-add, Ctrl+F to find.

Wheel zooms about the point under the cursor; the middle button (or Space with
the left button) pans; dragging on empty canvas draws a selection box. Fit shows
the whole graph at most at 100 % and never below `FIT_MIN_ZOOM`, where nodes
still show their id and output shape; a graph too big for that is shown from its
start, with the minimap (`minimap.py`) for the rest. `reveal` selects a node and
centres it, zooming in when its text is too small (find, the Problems and
Summary panels). The grid is drawn in `drawBackground` as batched lines over the
part in view, with the fine grid dropped when zoomed out; zoomed out past the
medium level of detail, every edge is drawn there too, in one batch.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPen, QTransform
from PySide6.QtWidgets import QGraphicsView, QToolTip

from .. import theme
from .items import LOD_MEDIUM, LOD_SIMPLE
from .breadcrumb import Breadcrumb
from .find import FindBar
from .minimap import Minimap
from .quickadd import QuickAdd
from .scene import GraphScene

MIN_ZOOM, MAX_ZOOM = 0.01, 4.0
FIT_MIN_ZOOM = 0.3  # Fit never goes below this: nodes still show their id and output shape (LOD_SIMPLE)
READABLE_ZOOM = 1.0  # revealing a node zooms in to this when its text is too small to read
FIT_MARGIN = 40.0


class GraphView(QGraphicsView):
    zoomChanged = Signal(float)
    visibleAreaChanged = Signal()  # panned, zoomed or resized

    def __init__(self, scene: GraphScene, parent=None) -> None:
        super().__init__(scene, parent)
        self.graph_scene = scene
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self._space = False
        self.quick_add = QuickAdd(self)
        self.quick_add.chosen.connect(self._quick_added)
        self._quick_pos = QPointF()
        self._quick_link: tuple[str, bool] | None = None  # a wire dropped on empty canvas: (node, from output)
        scene.wireDroppedOnEmpty.connect(self._wire_dropped)
        theme.manager().changed.connect(self._theme_changed)
        self.minimap = Minimap(self)
        self.breadcrumb = Breadcrumb(scene.doc, self)
        self.find_bar = FindBar(self)
        self.find_bar.highlighted.connect(self.center_on_node)
        self.find_bar.chosen.connect(self.reveal)
        self.find_bar.cancelled.connect(self._find_cancelled)
        self._before_find: tuple[QTransform, QPointF] | None = None

    def _theme_changed(self) -> None:
        self.resetCachedContent()
        for item in self.graph_scene.items():
            item.update()
        self.viewport().update()

    # -- zoom and fit ------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        new = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        factor = new / self.zoom()
        if anchor is not None:
            old_anchor = self.transformationAnchor()
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
            before = self.mapToScene(anchor.toPoint())
            self.scale(factor, factor)
            after = self.mapToScene(anchor.toPoint())
            delta = after - before
            self.translate(delta.x(), delta.y())
            self.setTransformationAnchor(old_anchor)
        else:
            self.scale(factor, factor)
        self._zoomed()

    def _zoomed(self) -> None:
        self.graph_scene.set_detailed(self.zoom() >= LOD_SIMPLE)
        self.zoomChanged.emit(self.zoom())
        self.visibleAreaChanged.emit()

    def visible_scene_rect(self) -> QRectF:
        """The part of the canvas in view, in scene coordinates."""
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        if self.scene() is not None:  # None while the scene is being destroyed with the window
            self.visibleAreaChanged.emit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.scene() is not None:
            self.visibleAreaChanged.emit()

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(math.pow(1.0015, delta), event.position())
        event.accept()

    def set_zoom(self, zoom: float) -> None:
        """Zoom to `zoom` about the view centre."""
        center = self.mapToScene(self.viewport().rect().center())
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self.centerOn(center)
        self._zoomed()

    def fit(self, ids=None) -> None:
        """Show every node (or the given ones), at most at 100 %. A graph too large to show whole at the
        zoom where node text still reads is shown from its start (top left) at that zoom instead."""
        rect = self.graph_scene.items_rect(ids)
        if rect.isNull():
            rect = QRectF(-200, -150, 400, 300)
        rect = rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        area = self.viewport().rect()
        zoom = min(area.width() / rect.width(), area.height() / rect.height())
        zoom = max(FIT_MIN_ZOOM, min(1.0, zoom))
        self.setTransform(QTransform.fromScale(zoom, zoom))
        seen_w, seen_h = area.width() / zoom, area.height() / zoom
        x = rect.center().x() if rect.width() <= seen_w else rect.left() + seen_w / 2
        y = rect.center().y() if rect.height() <= seen_h else rect.top() + seen_h / 2
        self.centerOn(QPointF(x, y))
        self._zoomed()

    def center_on_node(self, node_id: str) -> None:
        item = self.graph_scene.nodes.get(node_id)
        if item is not None:
            self.centerOn(item.center())

    def reveal(self, node_id: str) -> bool:
        """Select a node and centre it, zooming in to a readable size when its text is too small."""
        item = self.graph_scene.nodes.get(node_id)
        if item is None:
            return False
        self.graph_scene.select_ids([node_id])
        if self.zoom() < LOD_MEDIUM:
            self.set_zoom(READABLE_ZOOM)
        self.centerOn(item.center())
        return True

    def cursor_scene_pos(self) -> QPointF:
        """Where the cursor is on the canvas, or the view centre when it is outside."""
        local = self.viewport().mapFromGlobal(self.cursor().pos())
        if self.viewport().rect().contains(local):
            return self.mapToScene(local)
        return self.mapToScene(self.viewport().rect().center())

    # -- grid ------------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        t = theme.current()
        rect = rect.intersected(self.visible_scene_rect().adjusted(-2, -2, 2, 2))  # may span the whole graph
        painter.fillRect(rect, t.background)
        zoom = self.zoom()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # straight hairlines: half the cost
        for step, color, min_zoom in ((20, t.grid_minor, 0.6), (100, t.grid_major, 0.15)):
            if zoom < min_zoom:
                continue
            left = math.floor(rect.left() / step) * step
            top = math.floor(rect.top() / step) * step
            lines = [QLineF(x, rect.top(), x, rect.bottom()) for x in _range(left, rect.right(), step)]
            lines += [QLineF(rect.left(), y, rect.right(), y) for y in _range(top, rect.bottom(), step)]
            painter.setPen(QPen(color, 0))
            painter.drawLines(lines)
        if not self.graph_scene.detailed:  # zoomed far out: every edge in one batch, under the nodes
            lines, paths = self.graph_scene.edge_drawing()
            painter.setPen(QPen(t.edge, 0))
            painter.drawLines(lines)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for path in paths:
                painter.drawPath(path)
        painter.restore()

    # -- panning ---------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            point = event.position().toPoint()
            delta = point - self._pan_from
            self._pan_from = point
            self.pan_by(delta.x(), delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view by a number of screen pixels."""
        zoom = self.zoom()
        center = self.mapToScene(self.viewport().rect().center())
        self.centerOn(center - QPointF(dx / zoom, dy / zoom))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if event.key() == Qt.Key.Key_Escape and self.graph_scene.wire is not None:
            self.graph_scene.cancel_wire()
            return
        if event.key() == Qt.Key.Key_Escape and self.breadcrumb.back():  # out of an open block
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    # -- find --------------------------------------------------------------------------------
    def open_find(self) -> None:
        """Ctrl+F: a search box for a node by id or type, at the top right of the canvas."""
        area = self.viewport().rect()
        self._before_find = (self.transform(), self.mapToScene(area.center()))
        corner = self.viewport().mapToGlobal(area.topRight())
        self.find_bar.popup_at(corner - QPoint(self.find_bar.width() + 12, -12), self.graph_scene.graph)

    def _find_cancelled(self) -> None:
        """Escape in the find box: back to the view from before the search."""
        if self._before_find is not None:
            transform, center = self._before_find
            self.setTransform(transform)
            self.centerOn(center)
            self._zoomed()
        self._before_find = None

    # -- quick add -------------------------------------------------------------------------
    def viewportEvent(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:  # node and edge tooltips are built only when shown
            for item in self.items(event.pos()):
                text = item.tooltip() if hasattr(item, "tooltip") else item.toolTip()
                if text:
                    QToolTip.showText(event.globalPos(), text, self.viewport())
                    return True
            QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab:
            self.open_quick_add()
            return True
        return super().event(event)

    def _wire_dropped(self, node_id: str, from_output: bool, pos: QPointF) -> None:
        self.open_quick_add(pos)
        self._quick_link = (node_id, from_output)

    def open_quick_add(self, scene_pos: QPointF | None = None) -> None:
        self._quick_link = None
        self._quick_pos = scene_pos if scene_pos is not None else self.cursor_scene_pos()
        self.quick_add.popup_at(self.viewport().mapToGlobal(self.mapFromScene(self._quick_pos)))

    def _quick_added(self, kind: str, name: str) -> None:
        from .items import NODE_H, NODE_W
        scene = self.graph_scene
        pos = (self._quick_pos.x() - NODE_W / 2, self._quick_pos.y() - NODE_H / 2)
        if kind == "template":
            ids = scene.doc.insert_template(name, pos) or []
        elif self._quick_link is not None:
            other, from_output = self._quick_link
            node_id = scene.doc.add_node(name, pos, connect_from=other if from_output else None,
                                         connect_to=None if from_output else other, beside_source=False)
            ids = [node_id] if node_id else []
        else:
            selected = scene.selected_ids()
            node_id = scene.doc.add_node(name, pos, connect_from=selected[0] if len(selected) == 1 else None)
            ids = [node_id] if node_id else []
        self._quick_link = None
        scene.select_ids(ids)
        self.setFocus()


def _range(start: float, stop: float, step: float):
    v = start
    while v <= stop:
        yield v
        v += step
