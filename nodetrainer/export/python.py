"""Export as a standalone Python file: exactly the source the compiler executes."""
from __future__ import annotations

from ..codegen import generate
from ..graph import Graph


def export_python(graph: Graph) -> str:
    """The generated module source for `graph` (GraphError when invalid); needs only torch."""
    return generate(graph, source_name=graph.path.name if graph.path else None).source
