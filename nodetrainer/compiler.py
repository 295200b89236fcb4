"""Generated source → a live `nn.Module`.

`compile_graph` executes exactly the source that `export --to python` writes,
registering it with `linecache` under a readable file name of its own so that
tracebacks show the real generated lines, and `node_for_traceback` maps a
failing line back to its node id.
"""
from __future__ import annotations

import itertools
import linecache
import types
import weakref

from torch import nn

from .codegen import GeneratedModel, generate
from .graph import Graph

_FILENAME_PREFIX = "<nodetrainer:"


_NODE_LINES: dict[str, dict[int, str]] = {}
_compiles = itertools.count(1)


def compile_source(generated: GeneratedModel, name: str) -> type[nn.Module]:
    """Execute generated source and return its module class.

    Each compile gets its own file name (`<nodetrainer:NAME#N>`), so recompiling an edited graph never
    replaces the lines and node map of a model of the same name still alive; both are dropped when the
    class is garbage-collected. The source is compiled with `dont_inherit=True`: no `__future__` flag of
    this module leaks into the generated code, which runs exactly as the exported file would."""
    filename = f"{_FILENAME_PREFIX}{name}#{next(_compiles)}>"
    lines = generated.source.splitlines(keepends=True)
    linecache.cache[filename] = (len(generated.source), None, lines, filename)
    _NODE_LINES[filename] = generated.node_lines
    code = compile(generated.source, filename, "exec", dont_inherit=True)
    namespace: dict = {"__name__": "nodetrainer_generated", "__file__": filename}
    exec(code, namespace)  # noqa: S102 - the source comes from our own generator over validated values
    cls = namespace[generated.class_name]
    weakref.finalize(cls, _forget, filename)
    return cls


def _forget(filename: str) -> None:
    linecache.cache.pop(filename, None)
    _NODE_LINES.pop(filename, None)


def compile_graph(graph: Graph) -> nn.Module:
    """Build the network of `graph` (GraphError when it is invalid).

    The module carries `input_ids`, `output_ids`, `node_of_attr` (attribute → node id)
    and `source` (the generated Python)."""
    generated = generate(graph, source_name=graph.path.name if graph.path else None)
    model = compile_source(generated, graph.name)()
    model.input_ids = list(generated.input_ids)
    model.output_ids = list(generated.output_ids)
    model.node_of_attr = {attr: node for node, attr in generated.attr_of.items()}
    model.source = generated.source
    return model


def node_for_traceback(tb: types.TracebackType | None) -> str | None:
    """The node id whose generated forward line raised, if the traceback passes through one."""
    node = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename in _NODE_LINES:
            node = _NODE_LINES[filename].get(tb.tb_lineno, node)
        tb = tb.tb_next
    return node
