"""Graph → readable Python source for an `nn.Module`: the one code path for compiling and exporting.

The class is named after the graph; each layer is an attribute named by its node
id with every size written out; `forward` runs the nodes in topological order
with a shape comment on each line, and a value used only by the next line flows
through `x` as a person would write it. Initialization (`init` per node or from
`training.init`) is written into `__init__`, so the exported file builds the
same network that trains. An export from a run (`Trained`) adds the training
split's normalization as buffers applied first in `forward`, so the module
takes raw samples, and a `load_trained(path)` classmethod for the kept weights.
Every name comes from one `names.Namespace`, so no
id can shadow another value, a builtin or a module attribute. Ids are
validated identifiers and values are written only as literals of validated
types, so no graph file can inject code.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from .errors import GraphError
from .graph import Graph
from .names import Namespace
from .validate import check_graph

INIT_CALLS = {
    "xavier_uniform": "nn.init.xavier_uniform_({w})",
    "xavier_normal": "nn.init.xavier_normal_({w})",
    "kaiming_uniform": 'nn.init.kaiming_uniform_({w}, nonlinearity="relu")',
    "kaiming_normal": 'nn.init.kaiming_normal_({w}, nonlinearity="relu")',
    "orthogonal": "nn.init.orthogonal_({w})",
    "normal": "nn.init.normal_({w}, std=0.02)",
    "zeros": "nn.init.zeros_({w})",
}


@dataclass
class GeneratedModel:
    source: str
    class_name: str
    attr_of: dict[str, str]  # node id -> its name in the code (the id unless that is taken: names.Namespace)
    input_ids: list[str]
    output_ids: list[str]
    node_lines: dict[int, str] = field(default_factory=dict)  # source line -> node id, for error messages
    module_of: dict[str, str] = field(default_factory=dict)  # node path (layer1[1]/conv1) -> module (layer1.1.conv1)
    class_source: str = ""  # the class definitions alone, blocks' first (what a training script embeds)
    buffers: dict[str, tuple[str, str]] = field(default_factory=dict)  # Input id -> (shift, scale) buffer names


@dataclass(frozen=True)
class Trained:
    """What an export from a run adds to the module: per normalized Input its statistics' shape (the buffers
    start as shift 0 and scale 1; the weights file sets them), and the run the weights come from."""

    normalized: dict[str, tuple[int, ...]]  # Input id -> shape of its shift/scale
    run: str  # shown in the docstring of load_trained


def _names(order: list[str], classes: tuple[str, ...] | list[str] = ()) -> tuple[dict[str, str], Namespace]:
    """Node id -> its name in generated code, and the namespace holding them. Ids that are free keep their
    name first, so a node called `input_` keeps it and the Input called `input` becomes `input__`, not the
    other way round. `classes` (the block classes of the file) are taken too, so no name in a class's
    methods hides one."""
    namespace, out = Namespace(), {}
    namespace.reserve(classes)
    for node_id in order:
        if namespace.free(node_id):
            out[node_id] = namespace.claim(node_id)
    for node_id in order:
        if node_id not in out:
            out[node_id] = namespace.claim(node_id)
    return {node_id: out[node_id] for node_id in order}, namespace


def class_name_for(name: str) -> str:
    """'digits-resnet' → 'DigitsResnet'."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    result = "".join(w[:1].upper() + w[1:] for w in words) or "Network"
    if result[0].isdigit():
        result = "Net" + result
    return result + "_" if keyword.iskeyword(result) else result


def _docstring(text: str, indent: str) -> list[str]:
    clean = "".join(ch for ch in text if ch == "\n" or ch >= " ").replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = clean.strip().splitlines() or [""]
    if lines[-1].endswith('"'):
        lines[-1] += " "
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}'] + [f"{indent}{l}".rstrip() for l in lines[1:]] + [f'{indent}"""']


def _dims(shape: tuple[int, ...]) -> str:
    return "[B" + "".join(f", {d}" for d in shape) + "]"


def generate(graph: Graph, *, source_name: str | None = None, trained: Trained | None = None) -> GeneratedModel:
    """Python source for `graph`; GraphError listing the problems when it is invalid. With `trained`, the
    module normalizes raw inputs with buffers and has a `load_trained(path)` classmethod."""
    report = check_graph(graph)
    if report.problems:
        raise GraphError(report.problems)
    order, tensors = report.order, report.shapes.tensors
    init_default = (graph.training or {}).get("init", "default") if isinstance(graph.training, dict) else "default"

    class_name = class_name_for(graph.name)
    blocks = None
    if report.shapes.inner:
        from .codegen_blocks import BlockClasses
        blocks = BlockClasses(graph, report.shapes, init_default, reserved=(class_name,))
    attr_of, namespace = _names(order, blocks.class_names if blocks else ())
    flow = namespace.claim(next((v for v in ("x", "h", "y", "z", "out") if namespace.free(v)), "x"))
    var_of: dict[str, str] = {node_id: attr_of[node_id] for node_id in graph.input_ids()}

    normalized = dict(trained.normalized) if trained else {}
    buffers = {i: (namespace.claim(f"{attr_of[i]}_shift"), namespace.claim(f"{attr_of[i]}_scale"))
               for i in graph.input_ids() if i in normalized}

    inputs = [n for n in graph.input_ids()]
    outputs = [n for n in graph.output_ids()]
    init_lines, forward_lines = [], []
    for node_id, (shift, scale) in buffers.items():
        dims = ", ".join(map(str, normalized[node_id])) or "()"
        init_lines += [f'        self.register_buffer("{shift}", torch.zeros({dims}))  # the training split\'s statistics',
                       f'        self.register_buffer("{scale}", torch.ones({dims}))']
        arg = var_of[node_id]
        forward_lines.append(f"        {arg} = ({arg} - self.{shift}) / self.{scale}  # normalized as in training")
    block_call = (lambda node_id: blocks.call(report.shapes, node_id)) if blocks else None
    layer_init, layer_forward, layer_lines = body_lines(graph, order, report.shapes, attr_of, var_of, flow,
                                                        init_default, block_call)
    node_lines_rel = {len(forward_lines) + k: v for k, v in layer_lines.items()}
    init_lines += layer_init
    forward_lines += layer_forward

    returns = ", ".join(var_of[o] for o in outputs)
    doc = graph.description or f"The {graph.name} network."
    io_doc = [f"Input {n}: {_dims(tensors[n].shape)} {tensors[n].dtype}" for n in inputs]
    io_doc += [f"Output {n}: {_dims(tensors[n].shape)}" for n in outputs]
    head = _docstring(f"{graph.name}: {doc}\n\nGenerated by NodeTrainer"
                      + (f" from {source_name}" if source_name else "") + ". Needs only PyTorch.", "")
    if buffers:
        io_doc.append("Inputs are raw samples: the normalization fitted on the training split is applied first.")
    text = head + ["", "import torch", "from torch import nn", "", ""]
    class_start = len(text)
    if blocks:
        text += blocks.source_lines()
    text.append(f"class {class_name}(nn.Module):")
    text += _docstring(doc + "\n\n" + "\n".join(io_doc), "    ")
    text += ["", "    def __init__(self):", "        super().__init__()"]
    text += init_lines or ["        pass"]
    text += ["", f"    def forward(self, {', '.join(var_of[n] for n in inputs)}):"]
    forward_start = len(text) + 1
    text += forward_lines
    text.append(f"        return {returns}")
    if trained is not None:
        text += ["", "    @classmethod", "    def load_trained(cls, path):"]
        text += _docstring(f"The network with the weights kept by run {trained.run},\nin evaluation mode "
                           "(`path` is a state dict file, read without running code).", "        ")
        text += ["        model = cls()", '        model.load_state_dict(torch.load(path, map_location="cpu", '
                 'weights_only=True))', "        return model.eval()"]
    class_source = "\n".join(text[class_start:]) + "\n"
    example = ", ".join(
        f"torch.randn(2, {', '.join(map(str, tensors[n].shape))})" if tensors[n].dtype == "float32"
        else f"torch.zeros(2, {', '.join(map(str, tensors[n].shape))}, dtype=torch.long)" for n in inputs)
    make = f"{class_name}()" if trained is None else f"{class_name}.load_trained(WEIGHTS)"
    main = ['if __name__ == "__main__":']
    if trained is not None:
        main += ["    import os", "", '    WEIGHTS = os.path.splitext(os.path.abspath(__file__))[0] + ".pt"']
    text += ["", ""] + main + [f"    model = {make}",
             f"    outputs = model({example})", "    print(model)",
             '    print("output shape:", tuple(outputs.shape))' if len(outputs) == 1 else
             '    print("output shapes:", [tuple(o.shape) for o in outputs])']
    node_lines = {forward_start + k: v for k, v in node_lines_rel.items()}
    module_of: dict[str, str] = {}
    if blocks:
        blocks.module_paths(report.shapes, attr_of, "", "", module_of)
    else:
        module_of = {n: attr_of[n] for n in order if graph.spec_of(graph.nodes[n]).constructor(
            report.shapes.params[n], [tensors[s] for s in graph.inputs[n]]) is not None}
    return GeneratedModel("\n".join(text) + "\n", class_name, attr_of, inputs, outputs, node_lines, module_of,
                          class_source, buffers)


def body_lines(graph: Graph, order: list[str], shapes, attr_of: dict[str, str], var_of: dict[str, str], flow: str,
               init_default: str, block_call=None, comments: bool = True) -> tuple[list[str], list[str], dict[int, str]]:
    """The `__init__` lines (layers, then initialization) and the `forward` lines of one class: the
    network's, or a block's (`shapes` then is the instance's inference; `block_call(node_id)` writes the
    constructor of a use of a block). Also which forward line (from 0) each node's code ends on."""
    tensors, params_of = shapes.tensors, shapes.params
    consumers = graph.successor_map()
    last = order[-1] if order else None
    init_lines, forward_lines, node_lines_rel = [], [], {}
    for i, node_id in enumerate(order):
        node = graph.nodes[node_id]
        spec, params = graph.spec_of(node), params_of[node_id]
        ins = [tensors[s] for s in graph.inputs[node_id]]
        args = [var_of[s] for s in graph.inputs[node_id]]
        is_block = bool(spec.extra.get("block"))
        constructor = block_call(node_id) if is_block else spec.constructor(params, ins)
        if constructor is not None:
            init_lines.append(f"        self.{attr_of[node_id]} = {constructor}")
        if node.type == "Input":
            continue
        if node.type == "Output":
            var_of[node_id] = args[0]
            continue
        nxt = order[i + 1] if i + 1 < len(order) else None
        uses = consumers[node_id]
        if len(uses) == 1 and uses[0] == nxt and (graph.nodes[nxt].type != "Output" or nxt == last):
            var = flow
        else:
            var = attr_of[node_id]
        var_of[node_id] = var
        if is_block:
            lines = [f"{var} = self.{attr_of[node_id]}({', '.join(args)})"]
        else:
            lines = spec.forward_lines(params, args, attr_of[node_id], var, ins)
        for j, line in enumerate(lines):
            comment = f"  # {_dims(tensors[node_id].shape)}" if comments and j == len(lines) - 1 else ""
            node_lines_rel[len(forward_lines)] = node_id
            forward_lines.append(f"        {line}{comment}")
    for node_id in order:
        node = graph.nodes[node_id]
        spec = graph.spec_of(node)
        params = params_of[node_id]
        method = params["init"] if "init" in node.params else (init_default if spec.init_weights else "default")
        if not spec.init_weights or method == "default":
            continue
        call = INIT_CALLS[method]
        attr = attr_of[node_id]
        if spec.init_weights == ("weight*",):
            init_lines += [f"        for name, param in self.{attr}.named_parameters():",
                           '            if name.startswith("weight"):',
                           f"                {call.format(w='param')}",
                           "            else:",
                           "                nn.init.zeros_(param)"]
        else:
            init_lines.append(f"        {call.format(w=f'self.{attr}.weight')}")
            if params.get("bias"):
                init_lines.append(f"        nn.init.zeros_(self.{attr}.bias)")
    return init_lines, forward_lines, node_lines_rel
