"""Reading and writing graph files, format 1.

Reading is safe and strict: only plain YAML scalars, lists and mappings are
accepted (any tag, anchor or alias is refused before anything is built, so alias
bombs cost nothing), duplicate keys are errors, and every key and value is
checked, with all problems reported together, each located by file, line and
node id. Writing is canonical: keys in the order of the spec, one flow mapping
per node, edges as chains, so load → save → load is the identity and saving a
canonical file reproduces it byte for byte. Saves are atomic.
"""
from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import GraphError, Problem, did_you_mean, one_of, suggestion_budget
from .blocks import default_problem, is_reference, reference_problem
from .graph import NAME_RE, Block, Graph, Node, block_name_problem, id_problem, name_problem  # noqa: F401
from .layers import REGISTRY
from .schema import check_mapping
from .settings import (AUGMENT_PARAMS, DATA_PARAMS, EARLY_STOPPING_PARAMS, GRAD_CLIP_PARAMS, OPTIMIZER_PARAMS, REGULARIZATION_PARAMS,
                       SCHEDULER_PARAMS, SPLIT_PARAMS, TRAINING_PARAMS, TUNE_PARAMS, parse_data, parse_training,
                       parse_tune)

FORMAT_VERSION = 1
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32
MAX_COORD = 1e9  # layout positions: far beyond any canvas, and within what a float and the editor's scene hold
TOP_KEYS = ("nodetrainer", "name", "description", "blocks", "nodes", "edges", "data", "training", "tune", "layout")
BLOCK_SECTION_KEYS = ("description", "params", "nodes", "edges", "layout")


class _Refused(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


class _StrictLoader(yaml.SafeLoader):
    """Composes nodes but refuses tags, anchors and aliases before building anything."""

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        _refuse_unsafe(self.peek_event())
        return super().compose_node(parent, index)


def _refuse_unsafe(event: yaml.Event) -> None:
    line = event.start_mark.line + 1
    if isinstance(event, yaml.AliasEvent):
        raise _Refused(line, f"aliases (*{event.anchor}) are not allowed in graph files; write the value out")
    if getattr(event, "anchor", None):
        raise _Refused(line, f"anchors (&{event.anchor}) are not allowed in graph files; write the value out")
    tag = getattr(event, "tag", None)
    if tag not in (None, "!") and not isinstance(event, (yaml.DocumentStartEvent, yaml.StreamStartEvent)):
        raise _Refused(line, f"YAML tags such as {tag} are not allowed in graph files; "
                             "only plain values, lists and mappings")


def _compose(text: str) -> Any:
    """The document's node tree, refusing tags, anchors and aliases first.

    With libyaml, one fast pass over the events checks them and a second composes;
    without it, the pure-Python composer checks each event as it goes."""
    if getattr(yaml, "__with_libyaml__", False):
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            _refuse_unsafe(event)
        return yaml.compose(text, Loader=yaml.CSafeLoader)
    loader = _StrictLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


class _Reader:
    """Turns YAML nodes into plain values, recording the line of every key."""

    def __init__(self, file: str | None):
        self.file = file
        self.lines: dict[tuple, int] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def problem(self, message: str, line: int | None, node: str | None = None, block: str | None = None) -> None:
        self.problems.append(Problem(message, self.file, line, node, block))

    def value(self, node: Any, path: tuple, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise _Refused(node.start_mark.line + 1, f"the file nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ScalarNode):
            if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
                            "tag:yaml.org,2002:null", "tag:yaml.org,2002:str"):
                try:
                    value = self._constructor.construct_object(node)
                except ValueError:  # an integer of thousands of digits (Python refuses to convert it)
                    raise _Refused(node.start_mark.line + 1,
                                   f"the number {node.value[:12]}... with {len(node.value)} digits is too large") from None
                if isinstance(value, float) and not math.isfinite(value):
                    raise _Refused(node.start_mark.line + 1, f"{node.value} is not a finite number")
                return value
            return node.value  # timestamps and the like stay text
        if isinstance(node, SequenceNode):
            out = []
            for i, item in enumerate(node.value):
                self.lines[path + (i,)] = item.start_mark.line + 1
                out.append(self.value(item, path + (i,), depth + 1))
            return out
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                raise _Refused(line, "mapping keys must be plain names")
            key = key_node.value
            if key in out:
                raise _Refused(line, f"duplicate key '{key}' (first on line {self.lines[path + (key,)]})")
            self.lines[path + (key,)] = line
            out[key] = self.value(value_node, path + (key,), depth + 1)
        return out


def read_graph(text: str | bytes, file: str | None = None) -> tuple[Graph | None, list[Problem]]:
    """Parse format-1 text. Returns the graph (None when nothing usable was found) and every reading problem.

    A graph is returned whenever the node section could be read, even with problems, so the
    editor can show what is there; it is complete only when the problem list is empty.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            return None, [Problem(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB", file)]
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, [Problem(f"the file is not UTF-8 text (byte {exc.start})", file)]
    if len(text) > MAX_FILE_BYTES:
        return None, [Problem(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB", file)]
    with suggestion_budget():
        return _read(text, file)


def _read(text: str, file: str | None) -> tuple[Graph | None, list[Problem]]:
    reader = _Reader(file)
    try:
        root = _compose(text)
        if root is None:
            return None, [Problem("the file is empty; a graph file starts with 'nodetrainer: 1'", file, 1)]
        if not isinstance(root, MappingNode):
            return None, [Problem("a graph file is a mapping starting with 'nodetrainer: 1'", file,
                                  root.start_mark.line + 1)]
        raw = reader.value(root, ())
    except _Refused as exc:
        return None, [Problem(exc.message, file, exc.line)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        return None, [Problem(f"not valid YAML: {what}", file, mark.line + 1 if mark else None)]
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow anywhere
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        return None, [Problem(f"not valid YAML: the control character U+{char:04X} is not allowed in a graph file",
                              file, line)]
    except yaml.YAMLError as exc:
        return None, [Problem(f"not valid YAML: {str(exc).strip().splitlines()[0]}", file)]
    except RecursionError:
        return None, [Problem(f"the file nests deeper than {MAX_DEPTH} levels", file)]
    return _build(raw, reader)


def _build(raw: dict[str, Any], reader: _Reader) -> tuple[Graph | None, list[Problem]]:
    lines, problem = reader.lines, reader.problem

    def at(*path: Any) -> int | None:
        for end in range(len(path), 0, -1):
            if tuple(path[:end]) in lines:
                return lines[tuple(path[:end])]
        return 1

    for key in raw:
        if key not in TOP_KEYS:
            problem(f"unknown top-level key '{key}'{did_you_mean(key, TOP_KEYS)}; valid keys: {one_of(TOP_KEYS)}", at(key))
    version = raw.get("nodetrainer")
    if "nodetrainer" not in raw:
        problem("missing 'nodetrainer: 1' (the format version) at the top of the file", 1)
    elif version != FORMAT_VERSION or isinstance(version, bool):
        problem(f"unsupported format version {version!r}; this NodeTrainer reads format {FORMAT_VERSION}", at("nodetrainer"))
    name = raw.get("name")
    if name is None:
        problem("missing 'name' (a short name used for run folders and the exported class)", 1)
        name = "untitled"
    elif (why := name_problem(name)) is not None:
        problem(why, at("name"))
        name = "untitled"
    graph = Graph(name)
    graph.path = Path(reader.file) if reader.file else None
    graph.lines = lines
    if "description" in raw:
        if isinstance(raw["description"], str):
            graph.description = raw["description"]
        else:
            problem("'description' must be text", at("description"))

    if "blocks" in raw:
        _read_blocks(graph, raw["blocks"], reader, at)

    nodes = raw.get("nodes")
    if "nodes" not in raw:
        problem("missing 'nodes' (each node under its id, with its type and parameters)", 1)
    elif not isinstance(nodes, dict):
        problem("'nodes' must list each node under its id, with its type and parameters", at("nodes"))
    else:
        for node_id, spec in nodes.items():
            _read_node(graph, node_id, spec, reader, at)

    edges = raw.get("edges")
    if "edges" not in raw:
        problem("missing 'edges' (a list of chains such as 'image -> conv1 -> out')", 1)
    elif not isinstance(edges, list):
        problem("'edges' must be a list of chains such as 'image -> conv1 -> out'", at("edges"))
    else:
        declared = set(nodes) if isinstance(nodes, dict) else set()
        for i, chain in enumerate(edges):
            _read_chain(graph, chain, reader, at("edges", i), declared)

    for section, parse in (("data", parse_data), ("training", parse_training), ("tune", parse_tune)):
        if section in raw:
            _, errors = parse(raw[section])
            for path, message in errors:
                problem(message, at(*path))
            setattr(graph, section, raw[section] if isinstance(raw[section], dict) else None)

    _read_layout(graph, raw.get("layout"), nodes, reader, at, ())
    return graph, reader.problems


def _read_layout(graph: Graph, layout: Any, nodes: Any, reader: _Reader, at, prefix: tuple,
                 block: str | None = None) -> None:
    if layout is None:
        return
    if not isinstance(layout, dict):
        reader.problem("'layout' must map node ids to [x, y]", at(*prefix, "layout"), None, block)
        return
    for node_id, pos in layout.items():
        ok = isinstance(pos, list) and len(pos) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= MAX_COORD for v in pos)
        if node_id not in graph.nodes and not (isinstance(nodes, dict) and node_id in nodes):
            reader.problem(f"layout names unknown node '{node_id}'{did_you_mean(node_id, graph.nodes)}",
                           at(*prefix, "layout", node_id), None, block)
        elif not ok:
            reader.problem(f"layout of '{node_id}' must be [x, y] numbers within ±{MAX_COORD:.0e}",
                           at(*prefix, "layout", node_id), node_id, block)
        elif node_id in graph.nodes:
            graph.layout[node_id] = (float(pos[0]), float(pos[1]))


def _read_blocks(graph: Graph, raw: Any, reader: _Reader, at) -> None:
    """The blocks section: first every block's name and parameters (so bodies and nodes may use any
    block, in any order), then each body."""
    if not isinstance(raw, dict):
        reader.problem("'blocks' must list each block under its name, with its params, nodes and edges",
                       at("blocks"))
        return
    bodies = {}
    for name, spec in raw.items():
        where = at("blocks", name)
        why = block_name_problem(name, graph)
        if why:
            reader.problem(why, where)
            continue
        if not isinstance(spec, dict):
            reader.problem("a block needs its nodes and edges (and params with defaults)", where, None, name)
            continue
        for key in spec:
            if key not in BLOCK_SECTION_KEYS:
                reader.problem(f"unknown key '{key}' in block {name}{did_you_mean(key, BLOCK_SECTION_KEYS)}; "
                               f"valid keys: {one_of(BLOCK_SECTION_KEYS)}", at("blocks", name, key), None, name)
        params = spec.get("params", {})
        if not isinstance(params, dict):
            reader.problem("'params' must map each parameter to its default, e.g. {channels: 64}",
                           at("blocks", name, "params"), None, name)
            params = {}
        defaults = {}
        for key, value in params.items():
            why = id_problem(key)
            if why is None and key in ("type", "repeat"):
                why = f"'{key}' cannot name a block parameter: a use of the block has its own '{key}'"
            why = (why.replace("node id", "parameter name") if why else None) or default_problem(key, value)
            if why:
                reader.problem(why, at("blocks", name, "params", key), None, name)
            else:
                defaults[key] = value
        description = spec.get("description")
        if description is not None and not isinstance(description, str):
            reader.problem("a block's 'description' must be text", at("blocks", name, "description"), None, name)
            description = None
        block = Block(name, defaults, description=description)
        graph.add_block(block)  # no subscribers yet: just files it
        bodies[name] = spec
    node_maps = {}
    for name, spec in bodies.items():  # every body's nodes before any edge: an edge into a use needs its Inputs
        nodes = spec.get("nodes")
        if not isinstance(nodes, dict):
            reader.problem("a block needs 'nodes': an Input, the layers, and one Output" if nodes is None
                           else "a block's 'nodes' must list each node under its id", at("blocks", name, "nodes"),
                           None, name)
            nodes = {}
        for node_id, node_spec in nodes.items():
            _read_node(graph.blocks[name].body, node_id, node_spec, reader, at, graph.blocks[name])
        node_maps[name] = nodes
    for name, spec in bodies.items():
        body, nodes = graph.blocks[name].body, node_maps[name]
        edges = spec.get("edges")
        if not isinstance(edges, list):
            reader.problem("a block needs 'edges': a list of chains such as 'x -> conv -> y'",
                           at("blocks", name, "edges") if "edges" in spec else at("blocks", name), None, name)
        else:
            for i, chain in enumerate(edges):
                _read_chain(body, chain, reader, at("blocks", name, "edges", i), set(nodes), name)
        _read_layout(body, spec.get("layout"), nodes, reader, at, ("blocks", name), name)


def _read_node(graph: Graph, node_id: Any, spec: Any, reader: _Reader, at, block: Block | None = None) -> None:
    prefix = ("blocks", block.name) if block else ()
    in_block = block.name if block else None
    where = at(*prefix, "nodes", node_id)

    def report(message: str, line: int | None, node: str | None = None) -> None:
        reader.problem(message, line, node, in_block)

    bad_id = id_problem(node_id)
    if bad_id:
        report(bad_id, where)
        return
    if not isinstance(spec, dict):
        report("a node needs its type and parameters, e.g. type Linear with out_features 10", where, node_id)
        return
    node_type = spec.get("type")
    if node_type is None:
        report("node has no 'type'", where, node_id)
        return
    layer = graph.spec_of(node_type) if isinstance(node_type, str) else None
    if layer is None:
        known = list(REGISTRY) + list(graph.blocks)
        report(f"unknown node type {node_type!r}{did_you_mean(str(node_type), known)}", where, node_id)
        graph.nodes[node_id] = Node(node_id, str(node_type), {})
        graph.inputs[node_id] = []
        return
    given = {k: v for k, v in spec.items() if k != "type"}
    refs: dict[str, Any] = {}
    if block is not None:
        if node_type == "Input":
            for key in given:
                report(f"a block's Input takes the caller's tensor: remove '{key}'", at(*prefix, "nodes", node_id, key),
                       node_id)
            graph.nodes[node_id] = Node(node_id, node_type, {})
            graph.inputs[node_id] = []
            return
        for key, value in given.items():
            if is_reference(value):
                why = reference_problem(value, block)
                if why:
                    report(why, at(*prefix, "nodes", node_id, key), node_id)
                elif key not in layer.param_map:
                    continue  # reported as an unknown key below
                refs[key] = value
    checked, errors = check_mapping(given, layer.param_map, node_type, skip=tuple(refs))
    for key, message in errors:
        report(message, at(*prefix, "nodes", node_id, key) if key else where, node_id)
    params = {k: (refs[k] if k in refs else checked[k]) for k in given if k in refs or k in checked}
    graph.nodes[node_id] = Node(node_id, node_type, params)
    graph.inputs[node_id] = []


def _read_chain(graph: Graph, chain: Any, reader: _Reader, line: int | None, declared: set,
                block: str | None = None) -> None:
    def report(message: str, node: str | None = None) -> None:
        reader.problem(message, line, node, block)

    if not isinstance(chain, str) or "->" not in chain:
        report(f"an edge is a chain of node ids such as 'a -> b -> c', got {chain!r}")
        return
    ids = [part.strip() for part in chain.split("->")]
    for node_id in ids:
        if node_id not in declared:
            hint = did_you_mean(node_id, declared)
            report(f"edge '{chain.strip()}' names unknown node '{node_id}'{hint}")
    for source, target in zip(ids, ids[1:]):
        if source not in graph.nodes or target not in graph.nodes:
            continue  # reported above, or the node itself was reported
        spec = graph.spec_of(graph.nodes[target])
        sources = graph.inputs[target]
        if source == target:
            report(f"edge {source} -> {target} connects a node to itself", target)
        elif source in sources:
            report(f"edge {source} -> {target} appears twice", target)
        elif spec is not None and spec.max_inputs == 0:
            what = f"block {spec.name}, which has no Input" if spec.extra.get("block") else "an Input"
            report(f"edge {source} -> {target} leads into {what}, which takes no incoming edges" if not
                   spec.extra.get("block") else f"edge {source} -> {target} leads into {target}, a use of {what}",
                   target)
        elif spec is not None and spec.max_inputs is not None and len(sources) >= spec.max_inputs:
            if spec.extra.get("block"):
                report(f"edge {source} -> {target} is input {len(sources) + 1} into {target}, but block {spec.name} "
                       f"has {spec.max_inputs} Input{'s' if spec.max_inputs > 1 else ''}", target)
            else:
                report(f"edge {source} -> {target} is a second input into {target} ({spec.name}), which already "
                       f"has its input from {sources[0]}; only Add, Multiply and Concat take several", target)
        else:
            sources.append(source)


def load_graph(path: str | os.PathLike) -> Graph:
    """Read a graph file; GraphError listing every reading problem. Does not run validation."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise GraphError(Problem("no such file", str(path))) from None
    except IsADirectoryError:
        raise GraphError(Problem("is a folder, not a graph file", str(path))) from None
    except OSError as exc:
        raise GraphError(Problem(f"cannot read the file: {exc.strerror}", str(path))) from None
    graph, problems = read_graph(data, str(path))
    if problems or graph is None:
        raise GraphError(problems)
    return graph


# -- writing ----------------------------------------------------------------------
SECTION_ORDER: dict[str, tuple[str, ...]] = {
    "data": tuple(DATA_PARAMS),
    "data.split": tuple(SPLIT_PARAMS),
    "data.augment": tuple(AUGMENT_PARAMS),
    "training": tuple(TRAINING_PARAMS),
    "training.optimizer": tuple(OPTIMIZER_PARAMS),
    "training.scheduler": tuple(SCHEDULER_PARAMS),
    "training.early_stopping": tuple(EARLY_STOPPING_PARAMS),
    "training.grad_clip": tuple(GRAD_CLIP_PARAMS),
    "training.regularization": tuple(REGULARIZATION_PARAMS),
    "tune": tuple(TUNE_PARAMS),
}


def scalar(value: Any, flow: bool = True) -> str:
    """A YAML scalar that reads back as exactly `value` (inside a flow collection unless `flow` is false)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, str):
        if value and value == value.strip() and "#" not in value and not _UNPRINTABLE.search(value):
            try:
                if yaml.safe_load(value) == value and (not flow or yaml.safe_load(f"[{value}]") == [value]):
                    return value
            except (yaml.YAMLError, ValueError):  # ValueError: digits beyond Python's int conversion limit
                pass
        return _quoted(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write a {type(value).__name__} to a graph file")


# characters YAML cannot hold raw in a double-quoted scalar (non-printable, or line breaks it would fold)
_UNPRINTABLE = re.compile("[^\x09\x20-\x7E\xA0-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD\U00010000-\U0010FFFF]")


def _quoted(text: str) -> str:
    """A double-quoted YAML scalar reading back as exactly `text` (JSON's escapes, plus YAML's for the rest)."""
    body = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}" if ord(m.group()) <= 0xFFFF
                            else f"\\U{ord(m.group()):08x}", body)


def _ordered(mapping: dict[str, Any], order: tuple[str, ...]) -> list[tuple[str, Any]]:
    rank = {k: i for i, k in enumerate(order)}
    return sorted(mapping.items(), key=lambda kv: rank.get(kv[0], len(rank)))


def _section_lines(section: str, mapping: dict[str, Any]) -> list[str]:
    out = [f"{section}:"]
    for key, value in _ordered(mapping, SECTION_ORDER.get(section, ())):
        if isinstance(value, dict) and (section, key) in (("tune", "space"), ("data", "inputs")):
            out.append(f"  {scalar(key, flow=False)}:")
            out += [f"    {scalar(k)}: {scalar(v)}" for k, v in value.items()]
        elif isinstance(value, dict):
            inner = _ordered(value, SECTION_ORDER.get(f"{section}.{key}", ()))
            out.append(f"  {scalar(key, flow=False)}: " + "{" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in inner) + "}")
        else:
            out.append(f"  {scalar(key, flow=False)}: {scalar(value, flow=False)}")
    return out


def edge_chains(graph: Graph) -> list[list[str]]:
    """The edges as few chains as the greedy walk finds, keeping every node's input order."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    pending = {t: list(s) for t, s in graph.inputs.items() if s}
    out_edges: dict[str, list[str]] = {}
    for target in sorted(pending, key=order.__getitem__):
        for source in pending[target]:
            out_edges.setdefault(source, []).append(target)

    def ready(source: str) -> str | None:
        for target in out_edges.get(source, []):
            if pending.get(target) and pending[target][0] == source:
                return target
        return None

    chains = []
    while any(pending.values()):
        start = next(n for n in graph.nodes if ready(n) is not None)
        chain, current = [start], start
        while (target := ready(current)) is not None:
            pending[target].pop(0)
            out_edges[current].remove(target)
            chain.append(target)
            current = target
        chains.append(chain)
    return chains


def _node_lines(graph: Graph, indent: str) -> list[str]:
    width = max(len(n) for n in graph.nodes) + 1
    out = []
    for node in graph.nodes.values():
        params = [("type", node.type)]
        spec = graph.spec_of(node)
        order = tuple(p.name for p in spec.params) if spec else ()
        params += _ordered(node.params, order)
        body = ", ".join(f"{k}: {scalar(v)}" for k, v in params)
        out.append(f"{indent}{(node.id + ':').ljust(width)} {{{body}}}")
    return out


def _layout_lines(graph: Graph, indent: str) -> list[str]:
    layout = {n: graph.layout[n] for n in graph.nodes if n in graph.layout}
    if not layout:
        return []
    width = max(len(n) for n in layout) + 1
    return [f"{indent}{(n + ':').ljust(width)} [{_coord(x)}, {_coord(y)}]" for n, (x, y) in layout.items()]


def _block_lines(block: Block) -> list[str]:
    body = block.body
    lines = [f"  {block.name}:"]
    if block.description is not None:
        lines.append(f"    description: {scalar(block.description, flow=False)}")
    if block.params:
        lines.append("    params: {" + ", ".join(f"{scalar(k)}: {scalar(v)}" for k, v in block.params.items()) + "}")
    if body.nodes:
        lines += ["    nodes:"] + _node_lines(body, "      ")
    else:
        lines.append("    nodes: {}")
    chains = edge_chains(body)
    lines += (["    edges:"] + [f"      - {' -> '.join(chain)}" for chain in chains]) if chains else ["    edges: []"]
    layout = _layout_lines(body, "      ")
    if layout:
        lines += ["    layout:"] + layout
    return lines


def dump_graph(graph: Graph) -> str:
    """The canonical format-1 text of `graph`."""
    lines = [f"nodetrainer: {FORMAT_VERSION}", f"name: {scalar(graph.name, flow=False)}"]
    if graph.description is not None:
        lines.append(f"description: {scalar(graph.description, flow=False)}")
    lines.append("")
    if graph.blocks:
        lines.append("blocks:")
        for i, block in enumerate(graph.blocks.values()):
            lines += ([""] if i else []) + _block_lines(block)
        lines.append("")
    if graph.nodes:
        lines.append("nodes:")
        lines += _node_lines(graph, "  ")
    else:
        lines.append("nodes: {}")
    lines.append("")
    chains = edge_chains(graph)
    if chains:
        lines.append("edges:")
        lines += [f"  - {' -> '.join(chain)}" for chain in chains]
    else:
        lines.append("edges: []")
    for section in ("data", "training", "tune"):
        value = getattr(graph, section)
        if value is not None:
            lines.append("")
            lines += _section_lines(section, value) if value else [f"{section}: {{}}"]
    layout = _layout_lines(graph, "  ")
    if layout:
        lines += ["", "layout:"] + layout
    return "\n".join(lines) + "\n"


def _coord(v: float) -> str:
    """A layout coordinate to 0.01, as an integer when it is one after rounding (so a save reads back to itself)."""
    r = round(float(v), 2) + 0.0  # + 0.0: no "-0.0"
    return str(int(r)) if r.is_integer() else scalar(r)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_graph(graph: Graph, path: str | os.PathLike) -> None:
    """Write `graph` canonically and atomically to `path`."""
    atomic_write_text(path, dump_graph(graph))
