"""Layered, left-to-right automatic layout of a graph (Qt-free).

Used by the editor on demand and for files without a `layout` section. Nodes are
assigned to columns by longest path from the sources (so every edge points to the
right), ordered within each column by a few barycenter sweeps to reduce
crossings, and each column is centred vertically. A graph with a cycle is still
laid out: edges that close a cycle are ignored for layering.
Positions are node top-left corners, whole numbers, as written to `layout:`.
"""
from __future__ import annotations

from typing import Iterable

from .graph import Graph

X_GAP = 220  # column pitch: node width (160) plus room for edges
Y_GAP = 110  # row pitch: node height (~80) plus a gap
SWEEPS = 4


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


def layered_layout(graph: Graph, nodes: Iterable[str] | None = None,
                   origin: tuple[float, float] = (0.0, 0.0)) -> dict[str, tuple[float, float]]:
    """Positions for `nodes` (default: all), laid out left to right from `origin`."""
    members = [n for n in graph.nodes] if nodes is None else [n for n in graph.nodes if n in set(nodes)]
    if not members:
        return {}
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
    ox, oy = origin
    top = min(y.values())
    return {n: (float(round(ox + column[n] * X_GAP)), float(round(oy + y[n] - top))) for n in members}


def layout_missing(graph: Graph) -> dict[str, tuple[float, float]]:
    """Positions for the nodes that have none. The whole graph is laid out, and the nodes without a
    position take their place in it, shifted by how far the placed nodes sit from theirs."""
    missing = [n for n in graph.nodes if n not in graph.layout]
    if not missing:
        return {}
    auto = layered_layout(graph)
    placed = [n for n in graph.nodes if n in graph.layout]
    if not placed:
        return {n: auto[n] for n in missing}
    dxs = sorted(graph.layout[n][0] - auto[n][0] for n in placed)
    dys = sorted(graph.layout[n][1] - auto[n][1] for n in placed)
    dx, dy = dxs[(len(dxs) - 1) // 2], dys[(len(dys) - 1) // 2]
    return {n: (auto[n][0] + dx, auto[n][1] + dy) for n in missing}
