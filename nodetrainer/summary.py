"""Per-node parameters and multiply-adds, by arithmetic only.

Nothing is allocated: a graph of 10^13 parameters summarizes as fast as a small one.
A use of a block is one row with the totals of its copies' nodes; `expand`
unfolds it into the rows of each copy's nodes (ids as paths: `layer2_0/conv1`,
`layer1[1]/conv1` for the second copy of a repeat), nested as deep as blocks go.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import GraphError
from .graph import Graph
from .shapes import ShapeResult
from .validate import Report, check_graph


@dataclass(frozen=True)
class Row:
    id: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    children: tuple["Row", ...] = ()  # a block's nodes, when expanded

    def to_json(self) -> dict:
        out = {"id": self.id, "type": self.type, "output_shape": list(self.output_shape), "params": self.params,
               "macs": self.macs}
        if self.children:
            out["nodes"] = [child.to_json() for child in self.children]
        return out

    def walk(self, depth: int = 0):
        """This row and every row inside it, with their depth."""
        yield self, depth
        for child in self.children:
            yield from child.walk(depth + 1)


@dataclass
class Summary:
    rows: list[Row] = field(default_factory=list)

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    def to_json(self) -> dict:
        return {
            "nodes": [r.to_json() for r in self.rows],
            "total_params": self.total_params,
            "total_macs": self.total_macs,
        }


def summarize(graph: Graph, report: Report | None = None, partial: bool = False, expand: bool = False) -> Summary:
    """Rows in topological order. With `partial`, nodes whose shape is unknown are left out
    (the editor summarizes graphs under construction); otherwise GraphError when invalid. With `expand`,
    each use of a block has its nodes' rows as children."""
    report = report or check_graph(graph)
    if report.problems and not partial:
        raise GraphError(report.problems)
    summary = Summary()
    summary.rows = _rows(report.shapes, report.order or list(graph.nodes), "", expand)
    return summary


def _rows(result: ShapeResult, order: list[str], prefix: str, expand: bool) -> list[Row]:
    rows = []
    graph = result.graph
    for node_id in order:
        if node_id not in result.tensors:
            continue
        cost = result.cost(node_id)
        children: list[Row] = []
        copies = result.inner.get(node_id, [])
        if expand:
            for i, instance in enumerate(copies):
                label = f"{prefix}{node_id}" if len(copies) == 1 else f"{prefix}{node_id}[{i}]"
                inner = [n for n, node in instance.graph.nodes.items() if node.type not in ("Input", "Output")]
                children += _rows(instance, inner, label + "/", expand)
        rows.append(Row(f"{prefix}{node_id}", graph.nodes[node_id].type, result.tensors[node_id].shape,
                        cost.params, cost.macs, tuple(children)))
    return rows


def human(n: int) -> str:
    """12345678 → '12.3M'."""
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def format_table(summary: Summary) -> str:
    """A plain-text table for the terminal."""
    header = ("node", "type", "output shape", "params", "MACs")
    rows = [("  " * depth + r.id, r.type, "×".join(map(str, r.output_shape)), f"{r.params:,}", human(r.macs))
            for top in summary.rows for r, depth in top.walk()]
    rows.append(("total", "", "", f"{summary.total_params:,}", human(summary.total_macs)))
    widths = [max(len(str(x[i])) for x in [header] + rows) for i in range(5)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i >= 3 else str(c).ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows[:-1]] + [line(["-" * w for w in widths]), line(rows[-1])]
    return "\n".join(out)
