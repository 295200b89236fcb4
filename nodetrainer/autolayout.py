"""Layered automatic layout of a graph, wrapped into bands that fit a window (Qt-free).

Used by the editor on demand and for files without a `layout` section. Nodes are
assigned to columns by longest path from the sources (so every edge points to the
right), ordered within each column by a few barycenter sweeps to reduce
crossings, and placed level with their input, so a main path stays on one row and
branches and residual skips run as side paths below it. A graph with a cycle is
still laid out: edges that close a cycle are ignored for layering.

A long graph would be one strip far wider than any window, so the columns are cut
into bands stacked top to bottom, read like lines of text: each band flows left to
right and the next one starts below it at the left. Cuts go where the fewest edges
cross (between two residual blocks of a ResNet, one edge), and the band width is
chosen so the whole graph fits a window of the given size at the largest zoom
(never above 100 %). Without a window size the graph stays one strip.
Positions are node top-left corners, whole numbers, as written to `layout:`.
"""
from __future__ import annotations

import math
from typing import Iterable

from .graph import Graph

NODE_W = 168  # a node's footprint on the canvas (the editor draws nodes this size)
NODE_H = 74
X_GAP = 210  # column pitch: node width plus room for an edge
Y_GAP = 100  # row pitch: node height plus room for a skip edge running below a row
BAND_GAP = 66  # between bands: room for the edge that carries the flow down to the next band
GRID = 10  # the editor's grid: every position is a multiple of it
VIEW = (1280.0, 800.0)  # the canvas a whole-graph layout is made to fit by default
SWEEPS = 4
MIN_BAND_COLUMNS = 3
WIDER_BAND_SLACK = 0.93  # a layout with fewer bands wins when its zoom is at least this share of the best
CROSSING_PENALTY = 0.12  # share of the zoom given up for each edge more than one between two bands (a cut skip)


def _acyclic_order(graph: Graph, members: list[str]) -> tuple[list[str], set[tuple[str, str]]]:
    """A topological order of `members` and the set of edges ignored to break cycles."""
    member_set = set(members)
    succ: dict[str, list[str]] = {n: [] for n in members}
    for target in members:
        for source in graph.inputs.get(target, []):
            if source in member_set:
                succ[source].append(target)
    # iterative DFS: back edges are the ones that close cycles
    state: dict[str, int] = {}
    post: list[str] = []
    back: set[tuple[str, str]] = set()
    for root in members:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                post.append(node)
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    return post[::-1], back


def _strip(graph: Graph, members: list[str]) -> tuple[dict[str, int], dict[str, float], list[tuple[str, str]]]:
    """The unwrapped layout: each node's column, its y in the strip, and the edges kept for layering."""
    member_set = set(members)
    order, back = _acyclic_order(graph, members)
    preds = {n: [s for s in graph.inputs.get(n, []) if s in member_set and (s, n) not in back] for n in members}
    succs: dict[str, list[str]] = {n: [] for n in members}
    for n, ps in preds.items():
        for s in ps:
            succs[s].append(n)

    column: dict[str, int] = {}
    for n in order:
        column[n] = max((column[p] + 1 for p in preds[n]), default=0)
    # pull sources right next to their first consumer (an Input feeding only a late merge stays close)
    for n in reversed(order):
        if not preds[n] and succs[n]:
            column[n] = max(column[n], min(column[s] for s in succs[n]) - 1)

    file_rank = {n: i for i, n in enumerate(graph.nodes)}
    columns: list[list[str]] = [[] for _ in range(max(column.values()) + 1)]
    for n in sorted(members, key=file_rank.__getitem__):
        columns[column[n]].append(n)

    def sweep(cols: list[list[str]], neighbours: dict[str, list[str]]) -> None:
        rank: dict[str, float] = {}
        for i, col in enumerate(cols):
            for j, n in enumerate(col):
                rank.setdefault(n, j)
            if i == 0:
                continue
            prev = {n: k for k, n in enumerate(cols[i - 1])}

            def key(n: str, j: int) -> tuple[float, int]:
                ranks = [prev[m] for m in neighbours[n] if m in prev]
                return (sum(ranks) / len(ranks) if ranks else j, j)

            col[:] = [n for _, n in sorted((key(n, j), n) for j, n in enumerate(col))]

    for _ in range(SWEEPS):
        sweep(columns, preds)
        reversed_cols = columns[::-1]
        sweep(reversed_cols, succs)

    # rows: a node sits level with its (lower-median) input, pushed down only to clear the node above,
    # so a main path stays straight and side branches hang below it
    y: dict[str, float] = {}
    for i, col in enumerate(columns):
        floor = None
        for j, n in enumerate(col):
            ins = sorted(y[p] for p in preds[n] if p in y)
            want = ins[(len(ins) - 1) // 2] if ins else (0.0 if i == 0 else j * Y_GAP)
            if floor is not None:
                want = max(want, floor)
            y[n] = want
            floor = want + Y_GAP
    edges = [(s, n) for n, ps in preds.items() for s in ps]
    return column, y, edges


def _cut_costs(count: int, column: dict[str, int], edges: list[tuple[str, str]]) -> list[int]:
    """cost[c]: how many edges cross a cut between column c - 1 and column c."""
    diff = [0] * (count + 1)
    for s, t in edges:
        a, b = column[s], column[t]
        if a < b:
            diff[a + 1] += 1
            diff[b + 1] -= 1
    costs, running = [], 0
    for c in range(count + 1):
        running += diff[c]
        costs.append(running)
    return costs


def _bands(count: int, width: int, costs: list[int]) -> list[tuple[int, int]]:
    """Column ranges [a, b) of at most `width` columns, each cut where the fewest edges cross (the
    latest such place, so bands stay wide, unless that would leave a stub of a few columns at the end)."""
    bands, a = [], 0
    while a < count:
        if count - a <= width:
            bands.append((a, count))
            break
        low = a + max(1, math.ceil(width * 0.6))
        # fewest crossing edges, then no stub of a last band, then the widest band
        b = min(range(low, a + width + 1), key=lambda c: (costs[c], -min(count - c, low - a), -c))
        bands.append((a, b))
        a = b
    return bands


def _wrap(count: int, column: dict[str, int], y: dict[str, float], edges: list[tuple[str, str]],
          view: tuple[float, float]) -> list[tuple[int, int]]:
    """The bands that let the whole graph fit `view` at the largest zoom (capped at 100 %), preferring
    fewer, wider bands when the gain is small."""
    costs = _cut_costs(count, column, edges)
    top = [math.inf] * count
    bottom = [-math.inf] * count
    for n, c in column.items():
        top[c] = min(top[c], y[n])
        bottom[c] = max(bottom[c], y[n])
    options: dict[int, tuple[float, int, list[tuple[int, int]]]] = {}

    def consider(width: int) -> None:
        width = min(count, max(MIN_BAND_COLUMNS, width))
        if width in options:
            return
        bands = _bands(count, width, costs)
        span_w = max(b - a for a, b in bands) * X_GAP - (X_GAP - NODE_W)
        span_h = sum(max(bottom[a:b]) - min(top[a:b]) + NODE_H for a, b in bands) + BAND_GAP * (len(bands) - 1)
        zoom = min(view[0] / span_w, view[1] / span_h, 1.0)
        crossing = sum(max(0, costs[a] - 1) for a, _ in bands[1:])  # more than the one edge to the next band
        options[width] = (zoom * (1 - CROSSING_PENALTY * min(crossing, 5)), len(bands), bands)

    # coarse widths first (each 20 % more than the last), then every width near the best of them
    for k in range(int(math.log(max(count, 2) / MIN_BAND_COLUMNS) / math.log(1.2)) + 2):
        consider(round(MIN_BAND_COLUMNS * 1.2 ** k))
    consider(count)
    coarse = max(options, key=lambda w: options[w][0])
    for width in range(math.floor(coarse / 1.25), math.ceil(coarse * 1.25) + 1):
        consider(width)
    best = max(score for score, _, _ in options.values())
    return min((o for o in options.values() if o[0] >= best * WIDER_BAND_SLACK), key=lambda o: (o[1], -o[0]))[2]


def layered_layout(graph: Graph, nodes: Iterable[str] | None = None, origin: tuple[float, float] = (0.0, 0.0),
                   view: tuple[float, float] | None = None) -> dict[str, tuple[float, float]]:
    """Positions for `nodes` (default: all), laid out left to right from `origin`; with a `view`
    (width, height of the canvas), wrapped into bands top to bottom so the graph fits it."""
    chosen = None if nodes is None else set(nodes)
    members = [n for n in graph.nodes if chosen is None or n in chosen]
    if not members:
        return {}
    column, y, edges = _strip(graph, members)
    count = max(column.values()) + 1
    bands = _wrap(count, column, y, edges, view) if view is not None else [(0, count)]
    band_of = [0] * count
    for i, (a, b) in enumerate(bands):
        for c in range(a, b):
            band_of[c] = i
    band_top: list[float] = []
    offset = 0.0
    for a, b in bands:
        inside = [y[n] for n in members if a <= column[n] < b]
        band_top.append(offset - min(inside))
        offset += math.ceil((max(inside) - min(inside) + NODE_H + BAND_GAP) / GRID) * GRID
    ox, oy = origin
    positions = {}
    for n in members:
        band = band_of[column[n]]
        x = (column[n] - bands[band][0]) * X_GAP
        positions[n] = (float(round(ox + x)), float(round(oy + y[n] + band_top[band])))
    return positions


def layout_missing(graph: Graph, view: tuple[float, float] | None = VIEW) -> dict[str, tuple[float, float]]:
    """Positions for the nodes that have none. The whole graph is laid out (wrapped to fit `view`), and
    the nodes without a position take their place in it, shifted by how far the placed nodes sit from
    theirs."""
    missing = [n for n in graph.nodes if n not in graph.layout]
    if not missing:
        return {}
    auto = layered_layout(graph, view=view)
    placed = [n for n in graph.nodes if n in graph.layout]
    if not placed:
        return {n: auto[n] for n in missing}
    dxs = sorted(graph.layout[n][0] - auto[n][0] for n in placed)
    dys = sorted(graph.layout[n][1] - auto[n][1] for n in placed)
    dx, dy = dxs[(len(dxs) - 1) // 2], dys[(len(dys) - 1) // 2]
    return {n: (auto[n][0] + dx, auto[n][1] + dy) for n in missing}
