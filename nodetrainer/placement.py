"""Where a new node goes on the canvas, and which nodes step aside to make room (Qt-free).

Every way of adding nodes ends here, so no insert leaves nodes on top of each other:
- a node inserted into an edge lands beside the edge's source (one column to the right)
  and the nodes in its way, the edge's target and whatever follows it on that row,
  are pushed right by as much as they need (`into_edge`);
- a node appended to a source (Tab or a palette double-click with one node selected)
  continues the source's row when the source feeds nothing yet, and otherwise starts a
  side branch in the row below, moving down what is there (`after`);
- anything else (a drop, a paste, a template) goes to the free spot nearest to where it
  was asked for (`free_offset`).
Positions are node top-left corners on the editor's grid; a node covers NODE_W x NODE_H.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping

from .autolayout import GRID, NODE_H, NODE_W, X_GAP, Y_GAP
from .graph import Graph

Position = tuple[float, float]

CLEARANCE = 20.0  # the least gap a placed node keeps to its neighbours
SEARCH_STEP = 20.0
SEARCH_RINGS = 40  # how far (in steps) the search for a free spot goes before it puts the node below all others
_CELL = 256.0


class _Index:
    """Node positions bucketed by area, for quick questions about what is near a rectangle."""

    def __init__(self, layout: Mapping[str, Position]) -> None:
        self.pos: dict[str, Position] = dict(layout)
        self.cells: dict[tuple[int, int], set[str]] = {}
        for node_id, p in self.pos.items():
            self._cells_add(node_id, p)

    def _keys(self, x: float, y: float, w: float, h: float):
        for i in range(math.floor(x / _CELL), math.floor((x + w) / _CELL) + 1):
            for j in range(math.floor(y / _CELL), math.floor((y + h) / _CELL) + 1):
                yield i, j

    def _cells_add(self, node_id: str, p: Position) -> None:
        for key in self._keys(p[0], p[1], NODE_W, NODE_H):
            self.cells.setdefault(key, set()).add(node_id)

    def move(self, node_id: str, p: Position) -> None:
        old = self.pos.get(node_id)
        if old is not None:
            for key in self._keys(old[0], old[1], NODE_W, NODE_H):
                self.cells.get(key, set()).discard(node_id)
        self.pos[node_id] = p
        self._cells_add(node_id, p)

    def near(self, p: Position, margin_x: float, margin_y: float) -> set[str]:
        """Ids of nodes whose rectangle comes within the margins of a node at `p`."""
        found: set[str] = set()
        for key in self._keys(p[0] - margin_x, p[1] - margin_y, NODE_W + 2 * margin_x, NODE_H + 2 * margin_y):
            found |= self.cells.get(key, set())
        return {n for n in found if _close(self.pos[n], p, margin_x, margin_y)}


def _close(a: Position, b: Position, margin_x: float, margin_y: float) -> bool:
    """Whether two node rectangles overlap once one is grown by the margins."""
    return (abs(a[0] - b[0]) < NODE_W + margin_x) and (abs(a[1] - b[1]) < NODE_H + margin_y)


def overlap(a: Position, b: Position) -> bool:
    """Whether nodes at `a` and `b` overlap."""
    return _close(a, b, 0.0, 0.0)


def _snap_up(value: float) -> float:
    return float(math.ceil(value / GRID - 1e-9) * GRID)


def snap(p: Position) -> Position:
    """`p` on the grid."""
    return (float(round(p[0] / GRID) * GRID), float(round(p[1] / GRID) * GRID))


def free_offset(layout: Mapping[str, Position], positions: Mapping[str, Position],
                ignore: Iterable[str] = ()) -> tuple[float, float]:
    """The shift, nearest to none, that puts every node of `positions` (new nodes, or nodes being moved)
    clear of the nodes in `layout`; past the search radius, the shift that puts them below all nodes."""
    skip = set(ignore) | set(positions)
    index = _Index({n: p for n, p in layout.items() if n not in skip})
    if not index.pos or not positions:
        return (0.0, 0.0)

    def free(dx: float, dy: float) -> bool:
        return all(not index.near((x + dx, y + dy), CLEARANCE, CLEARANCE) for x, y in positions.values())

    for ring in range(SEARCH_RINGS + 1):
        offsets = [(i, j) for i in range(-ring, ring + 1) for j in range(-ring, ring + 1)
                   if max(abs(i), abs(j)) == ring]
        offsets.sort(key=lambda o: (o[0] ** 2 + (o[1] * 1.6) ** 2, o[1], o[0]))  # rows are cheaper to skip
        for i, j in offsets:
            if free(i * SEARCH_STEP, j * SEARCH_STEP):
                return (i * SEARCH_STEP, j * SEARCH_STEP)
    top = min(y for _, y in positions.values())
    bottom = max(y for _, y in index.pos.values()) + NODE_H + CLEARANCE + GRID
    return (0.0, _snap_up(bottom - top))


def free_position(layout: Mapping[str, Position], want: Position, ignore: Iterable[str] = ()) -> Position:
    """The free spot nearest `want` for one new node."""
    dx, dy = free_offset(layout, {"\0new": want}, ignore)
    return (want[0] + dx, want[1] + dy)


def push_right(layout: Mapping[str, Position], placed: Mapping[str, Position],
               ignore: Iterable[str] = ()) -> dict[str, Position]:
    """New positions for the nodes in the way of `placed` (nodes that keep the given positions): each is
    pushed right just far enough to stand a column pitch from the node that pushes it, and pushes on in
    turn whatever it then runs into (on a row of a layout, the rest of the row)."""
    fixed = set(placed)
    skip = set(ignore)
    index = _Index({n: p for n, p in layout.items() if n not in skip and n not in fixed})
    for node_id, p in placed.items():
        index.move(node_id, p)
    gap = X_GAP - NODE_W
    moved: dict[str, Position] = {}
    queue = deque(placed)
    budget = 50 * (len(index.pos) + 1)  # pushes only ever go right, so this is never reached
    while queue and budget:
        budget -= 1
        pusher = queue.popleft()
        px, py = index.pos[pusher]
        for other in sorted(index.near((px, py), gap, 0.0) - {pusher}):
            ox, oy = index.pos[other]
            if ox <= px - NODE_W or (other in fixed and pusher in fixed):
                continue  # left of it, not in the way; or placed together by the caller
            # the node in the way moves on; a node that must stay is jumped by the one pushed into it
            mover, anchor = (pusher, other) if other in fixed else (other, pusher)
            new_x = _snap_up(index.pos[anchor][0] + X_GAP)
            mx, my = index.pos[mover]
            if new_x > mx:
                index.move(mover, (new_x, my))
                moved[mover] = (new_x, my)
                queue.append(mover)
            if mover == pusher:
                break  # looked at again from where it now is
    return moved


def open_row(layout: Mapping[str, Position], spot: Position, ignore: Iterable[str] = ()) -> dict[str, Position]:
    """Moves that clear `spot` for a new node by shifting everything from the first node in the way
    downwards by as much as it takes (like inserting a line of text): rows and bands below keep their
    shape."""
    skip = set(ignore)
    rest = {n: p for n, p in layout.items() if n not in skip}
    index = _Index(rest)
    blocking = index.near(spot, CLEARANCE, CLEARANCE)
    if not blocking:
        return {}
    threshold = min(rest[n][1] for n in blocking)
    shift = _snap_up(max(spot[1] + Y_GAP - rest[n][1] for n in blocking))
    return {n: (x, y + shift) for n, (x, y) in rest.items() if y >= threshold}


def after(graph: Graph, source: str, node: str | None = None) -> tuple[Position, dict[str, Position]]:
    """Where a node fed from `source` goes: on the source's row one column to the right when the source
    feeds nothing else (the nodes there pushed right), otherwise one row below that, as a side branch
    (what is there moved down, see `open_row`). Returns its position and the moves that make room."""
    layout = {n: p for n, p in graph.layout.items() if n != node}
    sx, sy = layout[source]
    if not [t for t in graph.successors(source) if t != node]:
        spot = snap((sx + X_GAP, sy))
        return spot, push_right(layout, {"\0new": spot})
    spot = snap((sx + X_GAP, sy + Y_GAP))
    return spot, open_row(layout, spot)


def into_edge(graph: Graph, source: str, target: str, node: str | None = None) -> tuple[Position, dict[str, Position]]:
    """Where a node inserted into the edge source -> target goes: beside the source, one column to its
    right, with the target and the nodes after it on that row pushed right. Returns its position and the
    moves that make room."""
    layout = {n: p for n, p in graph.layout.items() if n != node}
    sx, sy = layout[source]
    spot = snap((sx + X_GAP, sy))
    return spot, push_right(layout, {"\0new": spot})
