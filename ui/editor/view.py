"""The canvas view: zoom around the cursor, pan, fit, grid, box selection, and Tab for quick-add.

Wheel zooms about the point under the cursor; the middle button (or Space with
the left button) pans; dragging on empty canvas draws a selection box. The grid
is drawn in `drawBackground` as batched lines, with the fine grid dropped when
zoomed out.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPen
from PySide6.QtWidgets import QGraphicsView, QToolTip

from .. import theme
from .items import LOD_SIMPLE
from .quickadd import QuickAdd
from .scene import GraphScene

MIN_ZOOM, MAX_ZOOM = 0.01, 4.0


class GraphView(QGraphicsView):
    zoomChanged = Signal(float)

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

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(math.pow(1.0015, delta), event.position())
        event.accept()

    def fit(self, ids=None) -> None:
        """Show every node (or the given ones), at most at 100 %."""
        rect = self.graph_scene.items_rect(ids)
        if rect.isNull():
            rect = QRectF(-200, -150, 400, 300)
        rect = rect.adjusted(-40, -40, 40, 40)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.zoom_by(1.0 / self.zoom())
            self.centerOn(rect.center())
        elif self.zoom() < MIN_ZOOM:
            self.zoom_by(MIN_ZOOM / self.zoom())
            self.centerOn(rect.center())
        self._zoomed()

    def center_on_node(self, node_id: str) -> None:
        item = self.graph_scene.nodes.get(node_id)
        if item is not None:
            self.centerOn(item.center())

    def cursor_scene_pos(self) -> QPointF:
        """Where the cursor is on the canvas, or the view centre when it is outside."""
        local = self.viewport().mapFromGlobal(self.cursor().pos())
        if self.viewport().rect().contains(local):
            return self.mapToScene(local)
        return self.mapToScene(self.viewport().rect().center())

    # -- grid ------------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        t = theme.current()
        painter.fillRect(rect, t.background)
        zoom = self.zoom()
        for step, color, min_zoom in ((20, t.grid_minor, 0.6), (100, t.grid_major, 0.15)):
            if zoom < min_zoom:
                continue
            left = math.floor(rect.left() / step) * step
            top = math.floor(rect.top() / step) * step
            lines = [QLineF(x, rect.top(), x, rect.bottom()) for x in _range(left, rect.right(), step)]
            lines += [QLineF(rect.left(), y, rect.right(), y) for y in _range(top, rect.bottom(), step)]
            painter.setPen(QPen(color, 0))
            painter.drawLines(lines)

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
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

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
                                         connect_to=None if from_output else other)
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
