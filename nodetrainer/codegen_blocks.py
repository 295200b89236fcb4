"""Block classes: one `nn.Module` class per block type, used by the network like hand-written code.

A block's class takes the block's parameters as constructor arguments (with the
file's defaults) and, first, the sizes of its inputs that its layers need
(`in_channels`): `self.layer2_0 = BasicDown(in_channels=64, channels=128)`. A use
with `repeat` becomes an `nn.Sequential` of instances. The class body is found
by inferring the block's body with symbolic values (`nodetrainer.symbolic`), so
every constructor is written by the same layer declarations as the network's and
a value that came from a parameter is written as that parameter's name. A block
whose code depends on its values in a way an argument cannot carry (a parameter
that switches a layer's kind, a size computed from one) gets one class per
distinct body (`Basic`, `Basic2`), so the code is always right. Names come from
`names.Namespace`s: the classes from a module-level one, the arguments from one
per class.
"""
from __future__ import annotations

from typing import Any

from .blocks import block_order
from .codegen import _docstring, _names, body_lines, class_name_for
from .graph import Block, Graph
from .layers import Tensor
from .layers.base import _same
from .names import MODULE_NAMES, Namespace
from .shapes import Inference, ShapeResult, instance_key
from .symbolic import SymInt, plain, symbolic

_DIM_NAMES = {1: ("features",), 2: ("channels", "features"), 3: ("channels", "height", "width"),
              4: ("channels", "depth", "height", "width")}
INLINE_COPIES = 3  # a repeat of up to this many copies lists each; more are written as a loop


class _Variant:
    """One class of a block: its source lines, its constructor's arguments, and for each input size
    argument the (input, dim) it takes."""

    def __init__(self, name: str, lines: list[str], size_args: list[tuple[str, int, int]], params: list[str],
                 attrs: dict[str, str]) -> None:
        self.name = name
        self.lines = lines
        self.size_args = size_args  # (argument, input index, dim)
        self.params = params  # argument names of the block's parameters, in order
        self.attrs = attrs  # body node id -> its attribute


class BlockClasses:
    """Every class the blocks of `graph` need, from its inference (`shapes`)."""

    def __init__(self, graph: Graph, shapes: ShapeResult, init_default: str, reserved: tuple[str, ...] = ()) -> None:
        self.graph = graph
        self.init_default = init_default
        self.module = Namespace()
        self.module.reserve(MODULE_NAMES)
        self.module.reserve(reserved)
        self.instances: dict[str, list[ShapeResult]] = {}
        self._collect(shapes, set())
        order, _ = block_order(graph)
        self.used = [name for name in order if name in self.instances]
        # every class name first, so each class's namespaces can reserve all of them
        self.base_names = {name: self.module.claim(class_name_for(name)) for name in self.used}
        self.class_names: list[str] = list(self.base_names.values())
        self.variant_of: dict[tuple, _Variant] = {}  # instance key -> its class
        self.variants: list[_Variant] = []
        for name in self.used:
            self._classes(name)

    def _collect(self, result: ShapeResult, seen: set[int]) -> None:
        for copies in result.inner.values():
            for instance in copies:
                if id(instance) in seen:
                    continue
                seen.add(id(instance))
                block = instance.graph.block_name
                self.instances.setdefault(block, []).append(instance)
                self._collect(instance, seen)

    # -- classes --------------------------------------------------------------------------------
    def _classes(self, name: str) -> None:
        """The classes of block `name`: one per distinct body among its instances (usually one)."""
        block = self.graph.blocks[name]
        by_text: dict[str, _Variant] = {}
        for instance in self.instances[name]:
            lines, size_args, params, attrs = self._class_lines(block, instance)
            text = "\n".join(lines)
            variant = by_text.get(text)
            if variant is None:
                class_name = self.base_names[name] if not by_text else self.module.claim(
                    f"{self.base_names[name]}{len(by_text) + 1}")
                if class_name not in self.class_names:
                    self.class_names.append(class_name)
                variant = _Variant(class_name, lines, size_args, params, attrs)
                by_text[text] = variant
                self.variants.append(variant)
            self.variant_of[instance_key(name, instance.env, instance.given)] = variant

    def _class_lines(self, block: Block, instance: ShapeResult) -> tuple[list[str], list[tuple[str, int, int]],
                                                                        list[str], dict[str, str]]:
        """The class of `block` as `instance` needs it, with the class name left as `{name}`."""
        body = block.body
        args = Namespace()
        args.reserve(self.class_names)
        params = {p: args.claim(p) for p in block.params}
        used: set[str] = set()
        inputs = body.input_ids()
        size_names: dict[tuple[int, int], str] = {}
        given = []
        for i, tensor in enumerate(instance.given):
            prefix = "in_" if len(inputs) == 1 else f"{inputs[i]}_"
            names = _DIM_NAMES.get(tensor.rank, tuple(f"dim{d}" for d in range(tensor.rank)))
            dims = []
            for d, size in enumerate(tensor.shape):
                arg = args.claim(prefix + names[d])
                size_names[(i, d)] = arg
                dims.append(SymInt(int(size), arg, used))
            given.append(Tensor(tuple(dims), tensor.dtype))
        env = {p: symbolic(plain(instance.env[p]), params[p], used) for p in block.params}
        order = body.topological_order()
        sym = Inference(self.graph, symbolic=True).run(body, order, env, given)
        attr_of, namespace = _names(order, self.class_names)
        flow = namespace.claim(next((v for v in ("x", "h", "y", "z", "out") if namespace.free(v)), "x"))
        var_of = {node_id: attr_of[node_id] for node_id in inputs}
        init_lines, forward_lines, _ = body_lines(body, order, sym, attr_of, var_of, flow, self.init_default,
                                                  lambda node_id: self._call(sym, node_id), comments=False)
        size_args = [(arg, i, d) for (i, d), arg in size_names.items() if arg in used]
        signature = ["self"] + [arg for arg, _, _ in size_args]
        signature += [f"{params[p]}={_literal(default)}" for p, default in block.params.items()]
        output = body.output_ids()[0]
        doc = block.description or f"Block {block.name} of the graph file."
        lines = ["class {name}(nn.Module):"] + _docstring(doc, "    ")
        lines += ["", f"    def __init__({', '.join(signature)}):", "        super().__init__()"]
        lines += init_lines
        lines += ["", f"    def forward(self, {', '.join(var_of[n] for n in inputs)}):"]
        lines += forward_lines
        lines.append(f"        return {var_of[output]}")
        return lines, size_args, [params[p] for p in block.params], attr_of

    # -- constructor calls ----------------------------------------------------------------------
    def call(self, result: ShapeResult, node_id: str) -> str:
        """The constructor of a use of a block in the class whose inference is `result` (the network's,
        or a symbolic instance of an enclosing block)."""
        return self._call(result, node_id)

    def _call(self, result: ShapeResult, node_id: str) -> str:
        copies = result.inner[node_id]
        calls = [self._one(instance) for instance in copies]
        repeat = result.params[node_id].get("repeat", 1)
        if repeat == 1 and type(repeat) is int:
            return calls[0]
        if isinstance(repeat, SymInt) or len(calls) > INLINE_COPIES:
            count = repr(repeat) if isinstance(repeat, SymInt) else str(len(calls))
            if all(c == calls[0] for c in calls):
                return f"nn.Sequential(*({calls[0]} for _ in range({count})))"
            if all(c == calls[1] for c in calls[1:]):
                return f"nn.Sequential({calls[0]}, *({calls[1]} for _ in range({count} - 1)))"
        return f"nn.Sequential({', '.join(calls)})"

    def _one(self, instance: ShapeResult) -> str:
        block = self.graph.blocks[instance.graph.block_name]
        variant = self.variant_of[instance_key(block.name, instance.env, instance.given)]
        parts = [f"{arg}={_literal(instance.given[i].shape[d])}" for arg, i, d in variant.size_args]
        for arg, (p, default) in zip(variant.params, block.params.items()):
            value = instance.env[p]
            if hasattr(value, "_nodetrainer_symbol") or not _same(default, value):
                parts.append(f"{arg}={_literal(value)}")
        return f"{variant.name}({', '.join(parts)})"

    def module_paths(self, result: ShapeResult, attrs: dict[str, str], path: str, module: str,
                     out: dict[str, str]) -> None:
        """Node path (`layer1[1]/conv1`) -> module path in the built network (`layer1.1.conv1`), for every
        node with a module inside the class whose inference is `result` and whose attributes are `attrs`."""
        for node_id, node in result.graph.nodes.items():
            if node_id not in result.tensors:
                continue
            attr = f"{module}{attrs[node_id]}"
            spec = result.graph.spec_of(node)
            if not spec.extra.get("block"):
                if spec.constructor(result.params[node_id], [result.tensors[s] for s in
                                                              result.graph.inputs[node_id]]) is not None:
                    out[path + node_id] = attr
                continue
            copies = result.inner[node_id]
            sequential = len(copies) > 1 or result.params[node_id].get("repeat", 1) != 1
            for k, instance in enumerate(copies):
                variant = self.variant_of[instance_key(instance.graph.block_name, instance.env, instance.given)]
                label = node_id if len(copies) == 1 else f"{node_id}[{k}]"
                self.module_paths(instance, variant.attrs, f"{path}{label}/",
                                  f"{attr}.{k}." if sequential else f"{attr}.", out)

    def source_lines(self) -> list[str]:
        """Every class, inner blocks first, each followed by two blank lines."""
        out: list[str] = []
        for variant in self.variants:
            out += [line.replace("{name}", variant.name, 1) if k == 0 else line
                    for k, line in enumerate(variant.lines)]
            out += ["", ""]
        return out


def _literal(value: Any) -> str:
    from .layers.base import lit
    return lit(value)
