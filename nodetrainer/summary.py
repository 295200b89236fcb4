"""Per-node parameters and multiply-adds, by arithmetic only.

Nothing is allocated: a graph of 10^13 parameters summarizes as fast as a small one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import GraphError
from .graph import Graph
from .validate import Report, check_graph


@dataclass(frozen=True)
class Row:
    id: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int


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
            "nodes": [{"id": r.id, "type": r.type, "output_shape": list(r.output_shape), "params": r.params,
                       "macs": r.macs} for r in self.rows],
            "total_params": self.total_params,
            "total_macs": self.total_macs,
        }


def summarize(graph: Graph, report: Report | None = None, partial: bool = False) -> Summary:
    """Rows in topological order. With `partial`, nodes whose shape is unknown are left out
    (the editor summarizes graphs under construction); otherwise GraphError when invalid."""
    report = report or check_graph(graph)
    if report.problems and not partial:
        raise GraphError(report.problems)
    summary = Summary()
    tensors = report.shapes.tensors
    for node_id in report.order or list(graph.nodes):
        if node_id not in tensors:
            continue
        node = graph.nodes[node_id]
        ins = [tensors[s] for s in graph.inputs[node_id]]
        cost = node.spec.cost(node.resolved(), ins, tensors[node_id]) if ins else None
        summary.rows.append(Row(node_id, node.type, tensors[node_id].shape,
                                cost.params if cost else 0, cost.macs if cost else 0))
    return summary


def human(n: int) -> str:
    """12345678 → '12.3M'."""
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def format_table(summary: Summary) -> str:
    """A plain-text table for the terminal."""
    header = ("node", "type", "output shape", "params", "MACs")
    rows = [(r.id, r.type, "×".join(map(str, r.output_shape)), f"{r.params:,}", human(r.macs)) for r in summary.rows]
    rows.append(("total", "", "", f"{summary.total_params:,}", human(summary.total_macs)))
    widths = [max(len(str(x[i])) for x in [header] + rows) for i in range(5)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i >= 3 else str(c).ljust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows[:-1]] + [line(["-" * w for w in widths]), line(rows[-1])]
    return "\n".join(out)
