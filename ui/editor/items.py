"""Graphics items for the canvas: nodes, their ports, edges and the wire being dragged.

Items only draw what the scene tells them (id, type, key parameters, output
shape, parameter count, problems, and flags set from outside the editor, such
as training's gradient warnings); they hold no graph logic. Nodes paint
everything themselves, their ports included (no child text items), into a
cached picture, which keeps a 1,000-node graph cheap to build and to pan. Three
levels of detail: from `LOD_MEDIUM` (70 %) the full node (the whole id in the
header, up to 16 characters at 100 %; type and key parameters; output shape and
parameter count), from `LOD_SIMPLE` (29 %) the id and the output shape in fonts
sized for the screen, below that a block in the category colour. Edges leave to
the right and arrive from the left; a residual skip along a row runs in a lane
below it, and an edge back to the start of the next band of an automatic layout
runs through the gap between the bands.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyle, QStyleOptionGraphicsItem

from nodetrainer import autolayout

from .. import theme

if TYPE_CHECKING:
    from .scene import GraphScene

NODE_W = float(autolayout.NODE_W)
NODE_H = float(autolayout.NODE_H)
HEADER_H = 24.0
PORT_R = 5.5
LOD_SIMPLE = 0.29  # below this zoom, nodes are plain blocks and edges straight hairlines
LOD_MEDIUM = 0.7  # below this zoom, nodes show their id and output shape in fonts large enough to read

NODE_BOUNDS = QRectF(-8, -15, NODE_W + 18, NODE_H + 18)  # body, ports, badge and selection outline

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


def _fonts() -> tuple[QFont, QFont, QFont, QFont]:
    bold = QFont()
    bold.setPointSizeF(9.5)
    bold.setBold(True)
    small = QFont()
    small.setPointSizeF(8.0)
    type_font = QFont(small)
    type_font.setBold(True)
    mono = QFont("DejaVu Sans Mono")
    mono.setStyleHint(QFont.StyleHint.Monospace)
    mono.setPointSizeF(8.0)
    return bold, small, type_font, mono


FONT_BOLD, FONT_SMALL, FONT_TYPE, FONT_MONO = _fonts()
MIN_ID_POINTS = 7.5  # a long id is set smaller, down to this size, before it is elided
HEADER_PAD = 8.0
MEDIUM_HEADER_H = NODE_H * 0.5  # the medium level of detail: the id on a taller header, the shape below
MEDIUM_PAD = 4.0


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


def draw_port(painter: QPainter, t: "theme.Theme", category: str, multi: bool, at: QPointF, hovered: bool) -> None:
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(t.accent if hovered else t.node_fill, 2.0))
    painter.setBrush(QBrush(t.accent if hovered else t.category(category)))
    if multi:
        painter.drawRoundedRect(QRectF(at.x() - PORT_R, at.y() - PORT_R - 6, 2 * PORT_R, 2 * PORT_R + 12),
                                PORT_R, PORT_R)
    else:
        painter.drawEllipse(at, PORT_R, PORT_R)


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
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
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
        """Only while hovered: otherwise its node draws it, into the node's cached picture (thousands of
        ports are not painted one by one on every frame)."""
        if self.hovered and option.levelOfDetailFromTransform(painter.worldTransform()) >= LOD_SIMPLE:
            draw_port(painter, theme.current(), self.node.category, self.multi, QPointF(0, 0), True)

    def hoverEnterEvent(self, event) -> None:
        self.hovered = True
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, False)
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self.update()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)

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

    def __init__(self, node_id: str, node_type: str, category: str, multi_input: bool, has_input: bool,
                 is_block: bool = False) -> None:
        super().__init__()
        self.node_id = node_id
        self.node_type = node_type
        self.category = category
        self.is_block = is_block  # a use of a block: drawn as a stack of cards; double-click opens it
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
        lines = [f"<b>{_html(self.node_id)}</b> ({'block ' if self.is_block else ''}{self.node_type})"]
        if self.is_block:
            lines.append("<i>double-click to open the block</i>")
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
        if lod < LOD_MEDIUM:
            self._paint_medium(painter, t, lod, selected, color, badge)
        else:
            self._paint_full(painter, t, selected, color, badge)
        for port in (self.input_port, self.output_port):
            if port is not None:
                draw_port(painter, t, self.category, port.multi, port.pos(), False)

    def _paint_full(self, painter: QPainter, t: "theme.Theme", selected: bool, color: QColor,
                    badge: QColor | None) -> None:
        border = t.accent if selected else (t.accent if self.drop_target else t.node_border)
        self._paint_body(painter, t, QPen(border, 2.0 if (selected or self.drop_target) else 1.0), color, HEADER_H)

        pad = HEADER_PAD
        painter.setPen(QColor("#ffffff"))
        font, text = self.header_label()
        painter.setFont(font)
        painter.drawText(QRectF(pad, 0, NODE_W - 2 * pad, HEADER_H), Qt.AlignmentFlag.AlignVCenter, text)

        # the type, then the key parameters
        line = QRectF(pad, HEADER_H + 3, NODE_W - 2 * pad, 16)
        fm_type = QFontMetricsF(FONT_TYPE)
        type_text = fm_type.elidedText(self.node_type, Qt.TextElideMode.ElideRight, line.width())
        type_w = fm_type.horizontalAdvance(type_text)
        painter.setFont(FONT_TYPE)
        painter.setPen(t.text)
        painter.drawText(line, Qt.AlignmentFlag.AlignVCenter, type_text)
        rest = line.adjusted(type_w + 6, 0, 0, 0)
        if self.params_text and rest.width() > 12:
            fm_small = QFontMetricsF(FONT_SMALL)
            painter.setFont(FONT_SMALL)
            painter.setPen(t.muted)
            painter.drawText(rest, Qt.AlignmentFlag.AlignVCenter,
                             fm_small.elidedText(self.params_text, Qt.TextElideMode.ElideRight, rest.width()))
        row = QRectF(pad, HEADER_H + 23, NODE_W - 2 * pad, 18)
        painter.setPen(t.text)
        painter.setFont(FONT_MONO)
        fm_mono = QFontMetricsF(FONT_MONO)
        count_w = QFontMetricsF(FONT_SMALL).horizontalAdvance(self.count_text)
        painter.drawText(row.adjusted(0, 0, -count_w - 6, 0), Qt.AlignmentFlag.AlignVCenter,
                         fm_mono.elidedText(self.shape_text or "?", Qt.TextElideMode.ElideRight,
                                            row.width() - count_w - 6))
        if self.count_text:
            painter.setFont(FONT_SMALL)
            painter.setPen(t.muted)
            painter.drawText(row, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self.count_text)
        if badge is not None:
            self._paint_badge(painter, t, badge, self.badge_rect())

    def mouseDoubleClickEvent(self, event) -> None:
        scene = self.scene()
        if scene is not None and hasattr(scene, "nodeDoubleClicked"):
            scene.nodeDoubleClicked.emit(self.node_id)
        event.accept()

    def _paint_body(self, painter: QPainter, t: "theme.Theme", pen: QPen | Qt.PenStyle, color: QColor,
                    header: float) -> None:
        """The rounded body in the node colour with a header band in the category colour (a use of a block:
        on two cards behind it, a stack of nodes)."""
        body = QRectF(0, 0, NODE_W, NODE_H)
        if self.is_block:
            painter.setPen(QPen(t.node_border, 1.0))
            painter.setBrush(t.node_fill)
            for offset in (6.0, 3.0):
                painter.drawRoundedRect(body.translated(offset, -offset), 6, 6)
        painter.setPen(pen)
        painter.setBrush(t.node_fill)
        painter.drawRoundedRect(body, 6, 6)
        outline = QPainterPath()
        outline.addRoundedRect(body.adjusted(0.5, 0.5, -0.5, -0.5), 5.5, 5.5)
        painter.save()
        painter.setClipPath(outline)
        painter.fillRect(QRectF(0, 0, NODE_W, header), color)
        painter.restore()

    def _paint_medium(self, painter: QPainter, t: "theme.Theme", lod: float, selected: bool, color: QColor,
                      badge: QColor | None) -> None:
        """Zoomed out to where the full text is too small: the id on the header and the output shape
        below it, in fonts sized for the screen (about 9 px and up)."""
        pen = (QPen(t.accent, 3 / lod) if selected else QPen(badge, 2.5 / lod) if badge is not None
               else QPen(t.node_border, 1 / lod))
        header = MEDIUM_HEADER_H
        self._paint_body(painter, t, pen, color, header)
        width = NODE_W - 2 * MEDIUM_PAD
        (id_font, id_text), (shape_font, shape_text) = self.medium_labels(lod)
        painter.setFont(id_font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(QRectF(MEDIUM_PAD, 0, width, header), Qt.AlignmentFlag.AlignCenter, id_text)
        painter.setFont(shape_font)
        painter.setPen(t.text)
        painter.drawText(QRectF(MEDIUM_PAD, header, width, NODE_H - header), Qt.AlignmentFlag.AlignCenter, shape_text)
        if badge is not None:
            size = min(15 / lod, 34.0)
            self._paint_badge(painter, t, badge, QRectF(NODE_W - size * 0.75, -size * 0.4, size, size), lod)

    def header_label(self) -> tuple[QFont, str]:
        """The id as the full level of detail sets it in the header: whole, in a smaller font if need be."""
        return fitted_text(FONT_BOLD, self.node_id, NODE_W - 2 * HEADER_PAD, MIN_ID_POINTS)

    def medium_labels(self, lod: float) -> tuple[tuple[QFont, str], tuple[QFont, str]]:
        """The id and the output shape as the medium level of detail sets them at zoom `lod`, each with
        its font, sized to read on screen (about 9 px and up from the zoom Fit goes down to)."""
        width = NODE_W - 2 * MEDIUM_PAD
        id_font = QFont(FONT_BOLD)
        id_font.setPixelSize(max(1, round(min(13 / lod, MEDIUM_HEADER_H * 0.75))))
        # a long id keeps its end, which tells nodes apart in a row of ids such as layer1_0_conv1, layer1_0_bn1
        id_label = fitted_text(id_font, self.node_id, width, 0, min_pixels=8.5 / lod, mode=Qt.TextElideMode.ElideLeft)
        mono = QFont(FONT_MONO)
        mono.setPixelSize(max(1, round(min(12 / lod, (NODE_H - MEDIUM_HEADER_H) * 0.72))))
        return id_label, fitted_text(mono, self.shape_text or "?", width, 0, min_pixels=8 / lod)

    def _paint_badge(self, painter: QPainter, t: "theme.Theme", badge: QColor, r: QRectF, lod: float = 1.0) -> None:
        painter.setPen(QPen(t.node_fill, 1.5 / min(lod, 1.0)))
        painter.setBrush(badge)
        painter.drawEllipse(r)
        painter.setPen(WARNING_TEXT if self.badge_level == "warning" else QColor("#ffffff"))
        font = QFont(FONT_BOLD)
        font.setPixelSize(max(1, round(r.height() * 0.62)))
        painter.setFont(font)
        count = self.badge_count
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, "!" if count == 1 else str(count))


def fitted_text(font: QFont, text: str, width: float, min_points: float, min_pixels: float | None = None,
                mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> tuple[QFont, str]:
    """`font`, made smaller (down to `min_points`, or `min_pixels` for a pixel-sized font) until `text`
    fits `width`, and the text, elided only when it does not fit even then."""
    fm = QFontMetricsF(font)
    needed = fm.horizontalAdvance(text)
    if needed <= width:
        return font, text
    smaller = QFont(font)
    if font.pixelSize() > 0:
        smaller.setPixelSize(max(1, math.ceil(min_pixels or 1), math.floor(font.pixelSize() * width / needed)))
    else:
        smaller.setPointSizeF(max(min_points, font.pointSizeF() * width / needed))
    fm = QFontMetricsF(smaller)
    return smaller, fm.elidedText(text, mode, width)


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
        self.straight_when_far = self.end.x() > self.start.x()  # zoomed out, a forward edge is a line
        self.setPath(edge_path(self.start, self.end))
        scene = self.scene()
        if scene is not None:
            scene.edges_moved()

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
        if lod < LOD_SIMPLE:  # (the view hides edge items this far out and draws them in one batch)
            painter.setPen(QPen(color, 0))  # cosmetic hairline
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(self.path())
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
    """A cubic curve leaving to the right and arriving from the left. A long edge between nodes on one
    row (a residual skip) runs just below them instead of through them; an edge back to the left onto a lower row (the
    flow wrapping to the next band of an automatic layout) runs down beside its source, left through the
    gap above its target's row and in from the left, like a carriage return."""
    dx = end.x() - start.x()
    dy = end.y() - start.y()
    path = QPainterPath(start)
    if dx > NODE_W * 1.6 and abs(dy) < NODE_H * 0.6:
        return _skip_path(start, end)
    if dx < -NODE_W * 0.5 and dy > NODE_H + 2 * RETURN_CORNER:
        return _return_path(start, end)
    reach = max(40.0, abs(dx) * 0.5) if dx > 0 else max(80.0, min(abs(dx) * 0.5 + 60, 240))
    path.cubicTo(start + QPointF(reach, 0), end - QPointF(reach, 0), end)
    return path


RETURN_CORNER = 14.0
SKIP_LANE = 12.0  # how far below the bottom of its row a skip edge runs
RETURN_OUT = 26.0  # how far right of its source (left of its target) a returning edge turns


def _skip_path(start: QPointF, end: QPointF) -> QPainterPath:
    lane = max(start.y(), end.y()) + NODE_H / 2 + SKIP_LANE
    turn = min(36.0, (end.x() - start.x()) / 4)
    path = QPainterPath(start)
    path.cubicTo(start + QPointF(turn * 0.8, 0), QPointF(start.x() + turn * 0.2, lane), QPointF(start.x() + turn, lane))
    path.lineTo(end.x() - turn, lane)
    path.cubicTo(QPointF(end.x() - turn * 0.2, lane), end - QPointF(turn * 0.8, 0), end)
    return path


def _return_path(start: QPointF, end: QPointF) -> QPainterPath:
    r, out = RETURN_CORNER, RETURN_OUT
    gap = end.y() - start.y() - NODE_H  # between the source's bottom and the target's top
    lane = end.y() - NODE_H / 2 - min(autolayout.BAND_GAP / 2, gap / 2)
    right, left = start.x() + out, end.x() - out
    path = QPainterPath(start)
    path.lineTo(right - r, start.y())
    path.quadTo(right, start.y(), right, start.y() + r)
    path.lineTo(right, lane - r)
    path.quadTo(right, lane, right - r, lane)
    path.lineTo(left + r, lane)
    path.quadTo(left, lane, left, lane + r)
    path.lineTo(left, end.y() - r)
    path.quadTo(left, end.y(), left + r, end.y())
    path.lineTo(end)
    return path


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
