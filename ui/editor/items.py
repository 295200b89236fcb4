"""Graphics items for the canvas: nodes, their ports, edges and the wire being dragged.

Items only draw what the scene tells them (id, type, key parameters, output
shape, parameter count, problems, and flags set from outside the editor, such
as training's gradient warnings); they hold no graph logic. Nodes paint
everything themselves (no child text items) and simplify when zoomed out, which
keeps a 1,000-node graph cheap to build and to pan.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyle, QStyleOptionGraphicsItem

from .. import theme

if TYPE_CHECKING:
    from .scene import GraphScene

NODE_W = 168.0
NODE_H = 74.0
HEADER_H = 24.0
PORT_R = 5.5
LOD_SIMPLE = 0.22  # below this zoom, nodes are plain blocks and edges straight hairlines
LOD_MEDIUM = 0.5  # below this zoom, nodes show only their id, in a font large enough to read

NODE_BOUNDS = QRectF(-3, -10, NODE_W + 6, NODE_H + 13)  # body, badge and selection outline

ABBREVIATIONS = {
    "out_channels": "ch", "kernel_size": "k", "out_features": "out", "hidden_size": "hidden", "stride": "s",
    "padding": "pad", "dilation": "dil", "groups": "groups", "num_embeddings": "vocab", "embedding_dim": "dim",
    "negative_slope": "slope", "output_size": "size", "output_padding": "out_pad", "num_layers": "layers",
    "bidirectional": "bidir", "return_sequences": "seq", "channelwise": "2d",
}


# warning badges (errors use theme.error): amber, apart from the activations' orange, with dark text on it
WARNING_COLORS = {"light": QColor("#f2bb05"), "dark": QColor("#f5c842")}
WARNING_TEXT = QColor("#1d2330")
WARNING_TOOLTIP_COLORS = {"light": QColor("#a86b00"), "dark": QColor("#f5c842")}  # readable on a tooltip
FLAG_LABELS = {"training": "training", "data": "data"}  # prefixes of flag messages in a node's tooltip


def warning_color(t: "theme.Theme") -> QColor:
    return WARNING_COLORS.get(t.name, WARNING_COLORS["light"])


def _fonts() -> tuple[QFont, QFont, QFont]:
    bold = QFont()
    bold.setPointSizeF(9.5)
    bold.setBold(True)
    small = QFont()
    small.setPointSizeF(8.0)
    mono = QFont("DejaVu Sans Mono")
    mono.setStyleHint(QFont.StyleHint.Monospace)
    mono.setPointSizeF(8.0)
    return bold, small, mono


FONT_BOLD, FONT_SMALL, FONT_MONO = _fonts()


def fmt_value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    return str(value)


def fmt_count(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            text = f"{n / size:.1f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return str(n)


class PortItem(QGraphicsItem):
    """An input (left) or output (right) port. Dragging from it draws a wire; the scene connects on release."""

    def __init__(self, node: "NodeItem", is_output: bool, multi: bool = False) -> None:
        super().__init__(node)
        self.node = node
        self.is_output = is_output
        self.multi = multi
        self.hovered = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setPos(NODE_W if is_output else 0.0, NODE_H / 2)
        self.setZValue(2)
        self.setToolTip("output: drag to an input to connect" if is_output else
                        ("inputs (any number, in order): drag from an output here" if multi else
                         "input: drag from an output here"))

    def boundingRect(self) -> QRectF:
        r = PORT_R + 4
        return QRectF(-r, -r - (6 if self.multi else 0), 2 * r, 2 * r + (12 if self.multi else 0))

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.boundingRect())
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        t = theme.current()
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LOD_SIMPLE:
            return
        color = t.category(self.node.category)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(t.node_fill if not self.hovered else t.accent, 2.0))
        painter.setBrush(QBrush(t.accent if self.hovered else color))
        if self.multi:
            painter.drawRoundedRect(QRectF(-PORT_R, -PORT_R - 6, 2 * PORT_R, 2 * PORT_R + 12), PORT_R, PORT_R)
        else:
            painter.drawEllipse(QPointF(0, 0), PORT_R, PORT_R)

    def scene_center(self) -> QPointF:
        return self.scenePos()

    def hoverEnterEvent(self, event) -> None:
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self.update()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.scene().begin_wire(self)
            event.accept()
        else:
            event.ignore()

    def mouseMoveEvent(self, event) -> None:
        self.scene().update_wire(event.scenePos())

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.scene().end_wire(event.scenePos())


class NodeItem(QGraphicsItem):
    """A node: category stripe, id, type, key parameters, output shape, parameter count, and one badge for
    its validation problems and its flags (category, level, message): red when any is an error, orange
    for warnings only; the count when more than one."""

    def __init__(self, node_id: str, node_type: str, category: str, multi_input: bool, has_input: bool) -> None:
        super().__init__()
        self.node_id = node_id
        self.node_type = node_type
        self.category = category
        self.params_text = ""
        self.shape_text = ""
        self.count_text = ""
        self.problems: list[str] = []
        self.flags: list[tuple[str, str, str]] = []  # (category, "error" | "warning", message)
        self.edges: list[EdgeItem] = []
        self.drop_target = False
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        self.input_port = PortItem(self, False, multi_input) if has_input else None
        self.output_port = PortItem(self, True) if node_type != "Output" else None

    # -- content set by the scene ---------------------------------------------------------
    def set_content(self, params_text: str | None = None, shape_text: str | None = None,
                    count_text: str | None = None, problems: list[str] | None = None,
                    flags: list[tuple[str, str, str]] | None = None) -> None:
        changed = False
        for attr, value in (("params_text", params_text), ("shape_text", shape_text),
                            ("count_text", count_text), ("problems", problems), ("flags", flags)):
            if value is not None and getattr(self, attr) != value:
                setattr(self, attr, value)
                changed = True
        if changed:
            self.update()

    def set_ports_visible(self, visible: bool) -> None:
        for port in (self.input_port, self.output_port):
            if port is not None:
                port.setVisible(visible)

    def set_id(self, node_id: str) -> None:
        self.node_id = node_id
        self.update()

    def tooltip(self) -> str:
        """Built when asked (the view shows it on hover): id, type, output, parameters, every problem."""
        lines = [f"<b>{_html(self.node_id)}</b> ({self.node_type})"]
        if self.shape_text:
            lines.append(f"output: {self.shape_text}")
        if self.count_text:
            lines.append(f"parameters: {self.count_text}")
        t = theme.current()
        lines += [f"<span style='color:{t.error.name()}'>⚠ {_html(p)}</span>" for p in self.problems]
        for category, level, message in self.flags:
            color = t.error if level == "error" else WARNING_TOOLTIP_COLORS.get(t.name, WARNING_TOOLTIP_COLORS["light"])
            label = FLAG_LABELS.get(category, category)
            lines.append(f"<span style='color:{color.name()}'>⚠ {_html(label)}: {_html(message)}</span>")
        return "<br>".join(lines)

    @property
    def badge_count(self) -> int:
        return len(self.problems) + len(self.flags)

    @property
    def badge_level(self) -> str | None:
        """The badge's level: 'error' (red), 'warning' (orange) or None (no badge)."""
        if self.problems or any(level == "error" for _c, level, _m in self.flags):
            return "error"
        return "warning" if self.flags else None

    def badge_color(self, t: "theme.Theme") -> QColor | None:
        level = self.badge_level
        return None if level is None else t.error if level == "error" else warning_color(t)

    # -- geometry -------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return NODE_BOUNDS

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, NODE_W, NODE_H), 6, 6)
        return path

    def center(self) -> QPointF:
        return self.pos() + QPointF(NODE_W / 2, NODE_H / 2)

    def badge_rect(self) -> QRectF:
        return QRectF(NODE_W - 14, -8, 18, 18)

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.adjust()
        return super().itemChange(change, value)

    # -- painting -------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        t = theme.current()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        color = t.category(self.category)
        body = QRectF(0, 0, NODE_W, NODE_H)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        badge = self.badge_color(t)
        if lod < LOD_SIMPLE:  # zoomed out: a block in the category colour, red (orange) with a problem (warning)
            painter.setPen(QPen(t.accent, 4 / max(lod, 0.01)) if selected else Qt.PenStyle.NoPen)
            painter.setBrush(badge if badge is not None else color)
            painter.drawRect(body)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if lod < LOD_MEDIUM:  # zoomed out: the id, large enough to read, on the category colour
            painter.setPen(QPen(t.accent, 3 / lod) if selected else QPen(badge, 2 / lod) if badge is not None
                           else Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(body, 6, 6)
            font = QFont(FONT_BOLD)
            font.setPointSizeF(min(9.0 / lod, 26.0))
            painter.setFont(font)
            painter.setPen(QColor("#ffffff"))
            inner = body.adjusted(6, 2, -6, -2)
            painter.drawText(inner, Qt.AlignmentFlag.AlignCenter,
                             QFontMetricsF(font).elidedText(self.node_id, Qt.TextElideMode.ElideRight, inner.width()))
            return
        border = t.accent if selected else (t.accent if self.drop_target else t.node_border)
        painter.setPen(QPen(border, 2.0 if (selected or self.drop_target) else 1.0))
        painter.setBrush(t.node_fill)
        painter.drawRoundedRect(body, 6, 6)
        # header band in the category colour
        outline = QPainterPath()
        outline.addRoundedRect(body.adjusted(0.5, 0.5, -0.5, -0.5), 5.5, 5.5)
        painter.save()
        painter.setClipPath(outline)
        painter.fillRect(QRectF(0, 0, NODE_W, HEADER_H), color)
        painter.restore()

        pad = 8.0
        painter.setPen(QColor("#ffffff"))
        painter.setFont(FONT_BOLD)
        fm_bold = QFontMetricsF(FONT_BOLD)
        painter.setFont(FONT_SMALL)
        fm_small = QFontMetricsF(FONT_SMALL)
        type_w = fm_small.horizontalAdvance(self.node_type)
        painter.drawText(QRectF(NODE_W - pad - type_w, 0, type_w + 1, HEADER_H),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self.node_type)
        painter.setFont(FONT_BOLD)
        id_w = NODE_W - 2 * pad - type_w - 6
        painter.drawText(QRectF(pad, 0, id_w, HEADER_H), Qt.AlignmentFlag.AlignVCenter,
                         fm_bold.elidedText(self.node_id, Qt.TextElideMode.ElideRight, id_w))

        painter.setFont(FONT_SMALL)
        painter.setPen(t.muted)
        painter.drawText(QRectF(pad, HEADER_H + 3, NODE_W - 2 * pad, 16), Qt.AlignmentFlag.AlignVCenter,
                         fm_small.elidedText(self.params_text, Qt.TextElideMode.ElideRight, NODE_W - 2 * pad))
        row = QRectF(pad, HEADER_H + 23, NODE_W - 2 * pad, 18)
        painter.setPen(t.text)
        painter.setFont(FONT_MONO)
        fm_mono = QFontMetricsF(FONT_MONO)
        count_w = fm_small.horizontalAdvance(self.count_text)
        painter.drawText(row.adjusted(0, 0, -count_w - 6, 0), Qt.AlignmentFlag.AlignVCenter,
                         fm_mono.elidedText(self.shape_text or "?", Qt.TextElideMode.ElideRight,
                                            row.width() - count_w - 6))
        if self.count_text:
            painter.setFont(FONT_SMALL)
            painter.setPen(t.muted)
            painter.drawText(row, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self.count_text)

        if badge is not None:
            r = self.badge_rect()
            painter.setPen(QPen(t.node_fill, 1.5))
            painter.setBrush(badge)
            painter.drawEllipse(r)
            painter.setPen(WARNING_TEXT if self.badge_level == "warning" else QColor("#ffffff"))
            painter.setFont(FONT_BOLD)
            count = self.badge_count
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, "!" if count == 1 else str(count))


class EdgeItem(QGraphicsPathItem):
    """A curved edge from a source's output port to a target's input port."""

    def __init__(self, source: NodeItem, target: NodeItem) -> None:
        super().__init__()
        self.source = source
        self.target = target
        self.highlight = False
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setPen(QPen(Qt.GlobalColor.transparent, 4.0))  # only widens the bounding rect to the thickest stroke
        self.setZValue(0)
        self.setAcceptHoverEvents(True)
        source.edges.append(self)
        target.edges.append(self)
        self.adjust()

    @property
    def key(self) -> tuple[str, str]:
        return (self.source.node_id, self.target.node_id)

    def detach(self) -> None:
        for node in (self.source, self.target):
            if self in node.edges:
                node.edges.remove(self)

    def adjust(self) -> None:
        self.start, self.end = port_point(self.source, True), port_point(self.target, False)
        self.setPath(edge_path(self.start, self.end))

    def tooltip(self) -> str:
        return f"{self.source.node_id} → {self.target.node_id}"

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        t = theme.current()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        color = t.accent if (selected or self.highlight) else t.edge
        width = 3.0 if (selected or self.highlight) else 1.8
        if lod < LOD_SIMPLE:
            pen = QPen(color, 0)  # cosmetic hairline
            painter.setPen(pen)
            painter.drawLine(self.start, self.end)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())


class WireItem(QGraphicsPathItem):
    """The edge being dragged from a port."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(5)
        t = theme.current()
        self.setPen(QPen(t.accent, 2.0, Qt.PenStyle.DashLine, Qt.PenCapStyle.RoundCap))

    def set_ends(self, start: QPointF, end: QPointF, from_output: bool) -> None:
        self.setPath(edge_path(start, end) if from_output else edge_path(end, start))


def port_point(node: NodeItem, output: bool) -> QPointF:
    return node.pos() + QPointF(NODE_W if output else 0.0, NODE_H / 2)


def edge_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A cubic curve leaving to the right and arriving from the left; a long edge between nodes on one
    row arcs below them instead of running through them."""
    dx = end.x() - start.x()
    dy = end.y() - start.y()
    path = QPainterPath(start)
    if dx > 0 and abs(dy) < NODE_H * 0.6 and dx > NODE_W * 1.6:
        drop = NODE_H * 0.9
        path.cubicTo(start + QPointF(min(dx * 0.25, 120), drop), end + QPointF(-min(dx * 0.25, 120), drop), end)
        return path
    reach = max(40.0, abs(dx) * 0.5) if dx > 0 else max(80.0, min(abs(dx) * 0.5 + 60, 240))
    path.cubicTo(start + QPointF(reach, 0), end - QPointF(reach, 0), end)
    return path


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
