"""Helpers for the editor tests that act as a mouse would: drops on the canvas viewport, drags between ports."""
from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def viewport_point(win, scene_pos: QPointF) -> QPoint:
    return win.view.mapFromScene(scene_pos)


def drop(win, mime: QMimeData, scene_pos: QPointF) -> None:
    """Deliver a drag-and-drop to the canvas viewport the way a window system would."""
    vp = win.view.viewport()
    point = QPointF(viewport_point(win, scene_pos))
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(vp, QDragEnterEvent(point.toPoint(), actions, mime, buttons, mods))
    QApplication.sendEvent(vp, QDragMoveEvent(point.toPoint(), actions, mime, buttons, mods))
    QApplication.sendEvent(vp, QDropEvent(point, actions, mime, buttons, mods))


def palette_drop(win, name: str, scene_pos: QPointF, kind: str = "node") -> list[str]:
    """Drag a palette entry onto the canvas; returns the ids of the nodes it added."""
    before = set(win.doc.graph.nodes)
    item = win.palette.item(name, kind)
    mime = win.palette.tree.mimeData([item])
    drop(win, mime, scene_pos)
    return [n for n in win.doc.graph.nodes if n not in before]


def mouse_drag(win, start: QPointF, end: QPointF, steps: int = 4) -> None:
    """Press at `start`, move to `end` in a few steps and release, on the canvas viewport."""
    vp = win.view.viewport()
    a, b = viewport_point(win, start), viewport_point(win, end)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, steps + 1):
        p = a + (b - a) * (i / steps)
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def wire(win, source: str, target: str) -> None:
    """Drag from `source`'s output port to `target`'s input port."""
    scene = win.scene
    start = scene.nodes[source].output_port.scenePos()
    end = scene.nodes[target].input_port.scenePos() if scene.nodes[target].input_port else scene.nodes[target].center()
    mouse_drag(win, start, end)


def select(win, ids) -> None:
    """Select nodes on the canvas and let the window catch up (the inspector follows the selection)."""
    win.scene.select_ids(ids)
    QApplication.processEvents()
