"""Pieces of graphs as format-1 text: copy a selection out, paste text in with fresh ids (Qt-free).

The clipboard format is the file format itself, so a user can copy nodes from the
editor into a text editor and back, or paste a whole graph file. `copy_fragment`
writes the selected nodes, the edges among them and their layout with
`dump_graph`; `parse_fragment` reads text with `read_graph` (so pasted text is
checked exactly as a file is) and renames ids that are taken. Text may leave out
`nodetrainer:`, `name:` and `edges:`, or be just the lines of a `nodes:` mapping.
Applying a fragment is left to the caller (the editor wraps each node and edge in
an undoable command); `Fragment` lists the edits in the order to make them.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from typing import Iterable

from .autolayout import layered_layout
from .errors import Problem
from .graph import MAX_ID_LENGTH, Graph, Node, id_problem
from .graphfile import dump_graph, read_graph

_TOP = re.compile(r"^(nodetrainer|name|nodes|edges)\s*:", re.M)
_ANY_TOP = re.compile(r"^(nodetrainer|name|description|blocks|nodes|edges|data|training|tune|layout)\s*:")


@dataclass
class Fragment:
    """Nodes (fresh ids, file order), edges in the order to connect them, and a position for every node."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    layout: dict[str, tuple[float, float]] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)  # id in the text -> id given, where they differ
    blocks: list = field(default_factory=list)  # the blocks its nodes use (graph.Block), to add where missing

    @property
    def ids(self) -> list[str]:
        return [n.id for n in self.nodes]

    def entry(self) -> str | None:
        """The first node without an input inside the fragment (where an edge into it would go)."""
        targets = {t for _, t in self.edges}
        return next((n.id for n in self.nodes if n.id not in targets), None)

    def exit(self) -> str | None:
        """The last node that feeds nothing inside the fragment."""
        sources = {s for s, _ in self.edges}
        return next((n.id for n in reversed(self.nodes) if n.id not in sources), None)

    def moved_to(self, x: float, y: float) -> "Fragment":
        """A copy whose bounding box starts at (x, y), on whole numbers."""
        if not self.layout:
            return self
        left = min(p[0] for p in self.layout.values())
        top = min(p[1] for p in self.layout.values())
        layout = {n: (float(round(px - left + x)), float(round(py - top + y))) for n, (px, py) in self.layout.items()}
        return replace(self, layout=layout)


def copy_fragment(graph: Graph, ids: Iterable[str]) -> str:
    """Format-1 text of the nodes `ids` (in file order), the edges among them and their layout."""
    chosen = set(ids)
    sub = Graph(graph.name)
    owner = graph.owner or graph
    needed = [n.type for n in graph.nodes.values() if n.id in chosen and n.type in owner.blocks]
    while needed:  # the blocks the nodes use, and the blocks those use
        name = needed.pop()
        if name not in sub.blocks:
            sub.blocks[name] = owner.blocks[name].copy_into(sub)
            needed += [n.type for n in owner.blocks[name].body.nodes.values() if n.type in owner.blocks]
    sub.blocks = {name: sub.blocks[name] for name in owner.blocks if name in sub.blocks}  # file order
    for block in sub.blocks.values():
        block.adopt(sub)
    for node_id, node in graph.nodes.items():
        if node_id in chosen:
            sub.nodes[node_id] = copy.deepcopy(node)
            sub.inputs[node_id] = [s for s in graph.inputs.get(node_id, []) if s in chosen]
            if node_id in graph.layout:
                sub.layout[node_id] = graph.layout[node_id]
    return dump_graph(sub)


def fresh_id(base: str, taken: set[str]) -> str:
    """`base`, or `base2`, `base3`... the first one not in `taken` (as Graph.unused_id)."""
    base = re.sub(r"\W", "_", base) or "node"
    if base[0].isdigit():
        base = "_" + base
    base = base[:MAX_ID_LENGTH - 6]
    if base not in taken and not id_problem(base):
        return base
    stem = base.rstrip("0123456789") or base
    i = 2
    while f"{stem}{i}" in taken:
        i += 1
    return f"{stem}{i}"


def _complete(text: str) -> tuple[str, int]:
    """Text with the keys a file needs added where a fragment leaves them out; and how many lines went before."""
    present = set(_TOP.findall(text))
    if "nodes" not in present:  # the lines before the first section are the nodes
        lines = text.strip("\n").splitlines()
        end = next((i for i, line in enumerate(lines) if _ANY_TOP.match(line)), len(lines))
        body = ["  " + line if line.strip() else line for line in lines[:end]]
        text = "\n".join(["nodes:"] + body + lines[end:]) + "\n"
        before = 1
    else:
        before = 0
    head = []
    if "nodetrainer" not in present:
        head.append("nodetrainer: 1")
    if "name" not in present:
        head.append("name: pasted")
    text = "".join(h + "\n" for h in head) + text
    if "edges" not in present:
        text = text.rstrip("\n") + "\nedges: []\n"
    return text, before + len(head)


def parse_fragment(text: str, taken: Iterable[str] = ()) -> tuple[Fragment | None, list[Problem]]:
    """Read format-1 text as a fragment whose ids avoid `taken`. Nodes without a position are laid
    out automatically. Returns (None, problems) when the text is not a valid fragment."""
    if not text or not text.strip():
        return None, [Problem("there is no text to paste")]
    full, shift = _complete(text)
    graph, problems = read_graph(full, "<clipboard>")
    if shift:
        problems = [replace(p, line=p.line - shift if p.line and p.line > shift else p.line) for p in problems]
    if graph is None or problems:
        return None, problems or [Problem("the text is not a graph")]
    if not graph.nodes:
        return None, [Problem("the text holds no nodes", "<clipboard>")]
    used = set(taken)
    rename: dict[str, str] = {}
    for node_id in graph.nodes:
        new = fresh_id(node_id, used)
        used.add(new)
        rename[node_id] = new
    missing = [n for n in graph.nodes if n not in graph.layout]
    layout = dict(graph.layout)
    if missing:
        auto = layered_layout(graph, missing)
        if graph.layout:  # below what has a position
            bottom = max(y for _, y in graph.layout.values()) + 110
            left = min(x for x, _ in graph.layout.values())
            auto = {n: (x + left, y - min(q for _, q in auto.values()) + bottom) for n, (x, y) in auto.items()}
        layout.update(auto)
    fragment = Fragment(
        nodes=[Node(rename[n.id], n.type, copy.deepcopy(n.params)) for n in graph.nodes.values()],
        edges=[(rename[s], rename[t]) for s, t in graph.edges()],
        layout={rename[n]: layout[n] for n in graph.nodes},
        renamed={old: new for old, new in rename.items() if old != new},
        blocks=list(graph.blocks.values()),
    )
    return fragment, []
