"""Trace a module with `torch.fx` into ops: each a node type with its inputs, module and place in the model.

Modules of `torch.nn` are leaves (one op each); every other module is traced
through, and the modules around each op (`nn_module_stack`) say where it
lives, which is what makes repeated submodules into blocks later. Shapes come
from running the traced graph once on a batch of two samples (on the module's
device; meta tensors work too). An op that has no node type, a data-dependent
branch, a weight used outside a layer or a layer called twice (shared weights)
is a `Problem` naming the op, its module path and what would fit; nothing is
built then.
"""
from __future__ import annotations

import inspect
import operator
import traceback
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from ..errors import Problem
from .ops import ALIAS, Mapped, Refused, function_name, function_node, module_node

BATCH = 2


@dataclass
class Op:
    """One node of the network to be: `type` with `params`, fed by the ops named in `args` (in order)."""

    name: str  # the fx node's name
    type: str
    params: dict[str, Any]
    args: list[str]
    shape: tuple[int, ...]  # output without the batch dimension
    dtype: str = "float32"
    module: str | None = None  # path of the module whose weights it holds
    stack: tuple[tuple[str, type], ...] = ()  # the modules around it, outermost first (not the op's own)
    stem: str = ""  # its id where it has no module: a function's node type, lower case


@dataclass
class Traced:
    ops: list[Op] = field(default_factory=list)  # in execution order: Inputs first, Outputs last
    problems: list[Problem] = field(default_factory=list)
    classes: dict[str, type] = field(default_factory=dict)  # module path -> class, of every module around an op


class _Tracer(fx.Tracer):
    def __init__(self) -> None:
        super().__init__()
        self.record_stack_traces = True


def _where(module_path: str, stack_trace: str | None) -> str:
    """'layer1.0 (resnet.py:96)' for messages."""
    where = module_path or "the model's forward"
    if stack_trace:
        frames = [line.strip() for line in stack_trace.strip().splitlines() if line.strip().startswith("File ")
                  and "/torch/" not in line]  # the model's own code, not torch's
        if frames:
            parts = frames[-1].split('"')
            if len(parts) >= 3:
                file = parts[1].rsplit("/", 1)[-1]
                line = parts[2].split("line", 1)[-1].split(",")[0].strip()
                where += f" ({file}:{line})"
    return where


def trace(model: nn.Module, shapes: list[tuple[int, ...]], source: str) -> Traced:
    """The ops of `model` for inputs of `shapes` (without the batch dimension); `source` names it in problems."""
    traced = Traced()
    was_training = model.training
    model.train()  # trace what training runs (dropout and the like are part of the network)
    try:
        graph = _Tracer().trace(model)
    except Exception as exc:  # a data-dependent branch, an unsupported Python construct
        traced.problems.append(Problem(_trace_failure(model, exc), source))
        return traced
    finally:
        model.train(was_training)
    gm = fx.GraphModule(model, graph)
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(shapes):
        traced.problems.append(Problem(
            f"the model takes {len(placeholders)} input{'s' * (len(placeholders) != 1)} "
            f"({', '.join(n.name for n in placeholders)}); give one --input-shape for each", source))
        return traced
    dtypes = [_input_dtype(gm, p) for p in placeholders]
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    sample = [torch.zeros((BATCH, *s), dtype=torch.long, device=device) if d == "int64"
              else torch.randn((BATCH, *s), device=device) for s, d in zip(shapes, dtypes)]
    try:
        with torch.no_grad():
            model.eval()
            ShapeProp(gm).propagate(*sample)
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        traced.problems.append(Problem(f"the model fails on inputs of shape "
                                       f"{', '.join(str(list(s)) for s in shapes)}: {message}", source))
        return traced
    finally:
        model.train(was_training)
    _convert(gm, shapes, dtypes, traced, source)
    return traced


def _trace_failure(model: nn.Module, exc: Exception) -> str:
    """One line for an exception raised while tracing: what, and where in the model's code."""
    paths = {id(m): p for p, m in model.named_modules()}
    where = "the model's forward"
    for frame, line in traceback.walk_tb(exc.__traceback__):
        owner = frame.f_locals.get("self")
        if isinstance(owner, nn.Module) and id(owner) in paths:
            file = frame.f_code.co_filename.rsplit("/", 1)[-1]
            where = f"{paths[id(owner)] or type(owner).__name__} ({file}:{line})"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "control flow" in text or "iterate" in text or "Proxy" in text:
        return (f"a data-dependent branch at {where}: the network's shape must not depend on the values "
                "flowing through it; a graph has one path per sample (write the branch you use as its own module)")
    return f"tracing failed at {where}: {text}"


def _input_dtype(gm: fx.GraphModule, placeholder: fx.Node) -> str:
    """int64 where the input feeds an Embedding (token ids), else float32."""
    for user in placeholder.users:
        if user.op == "call_module" and isinstance(gm.get_submodule(user.target), nn.Embedding):
            return "int64"
    return "float32"


def _shape(node: Any) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _dtype(node: fx.Node) -> str:
    meta = node.meta.get("tensor_meta")
    return "int64" if meta is not None and getattr(meta, "dtype", None) in (torch.int64, torch.int32) else "float32"


def _convert(gm: fx.GraphModule, shapes, dtypes, traced: Traced, source: str) -> None:
    value: dict[str, str] = {}  # fx node -> the op whose value it is (aliases pass through)
    calls: dict[str, str] = {}  # module path -> first fx node calling it
    meta_only: set[str] = set()  # x.shape, x.size(0): numbers, allowed only where a reshape takes them
    index = 0

    def problem(what: str, node: fx.Node, module_path: str, hint: str = "") -> None:
        text = f"{what} at {_where(module_path, node.stack_trace)} has no node type"
        traced.problems.append(Problem(text + (f"; {hint}" if hint else ""), source))

    for node in gm.graph.nodes:
        stack = tuple((path, cls) for path, cls in (node.meta.get("nn_module_stack") or {}).values())
        for path, cls in stack:
            traced.classes.setdefault(path, cls)
        if node.op == "placeholder":
            op = Op(node.name, "Input", {"shape": list(shapes[index]), "dtype": dtypes[index]}, [],
                    tuple(shapes[index]), dtypes[index])
            index += 1
            traced.ops.append(op)
            value[node.name] = op.name
            continue
        if node.op == "output":
            results = node.args[0]
            results = list(results) if isinstance(results, (tuple, list)) else [results]
            for k, result in enumerate(results):
                if isinstance(result, fx.Node) and result.name not in value and traced.problems:
                    continue  # it depends on an op already refused
                if not isinstance(result, fx.Node) or result.name not in value:
                    traced.problems.append(Problem("the model returns something other than tensors (a dict, a "
                                                   "number); a graph's Outputs are tensors", source))
                    continue
                producer = value[result.name]
                traced.ops.append(Op(f"output{k}", "Output", {}, [producer], _shape(result)[1:] or (),
                                     _dtype(result)))
            continue
        if node.op == "get_attr":
            problem(f"the weight {node.target} used outside a layer (a learned token or scale)", node,
                    node.target.rsplit(".", 1)[0], "only a layer's own weights are part of a node")
            continue
        module_path = node.target if node.op == "call_module" else (stack[-1][0] if stack else "")
        containers = stack[:-1] if node.op == "call_module" and stack and stack[-1][0] == node.target else stack
        tensor_args = [a for a in _flat_args(node.args, node.kwargs) if isinstance(a, fx.Node)]
        if node.op in ("call_function", "call_method") and _is_meta(node):
            meta_only.add(node.name)  # x.size(0), x.shape: only reshapes may use it (checked below)
            continue
        used_meta = [a for a in tensor_args if a.name in meta_only]
        if used_meta and not (node.op == "call_method" and node.target in ("view", "reshape")) \
                and node.target is not torch.reshape:
            problem(f"{function_name(node.target) if node.op != 'call_module' else node.target} on a size read "
                    "from a tensor (x.shape, x.size())", node, module_path, "sizes are written out in a graph")
            continue
        tensors = [a for a in tensor_args if a.name not in meta_only]
        missing = [a for a in tensors if a.name not in value]
        if missing:
            continue  # fed by an op already refused: that one is reported
        out = _shape(node)
        if out is None and not (node.op == "call_module" and isinstance(gm.get_submodule(node.target),
                                                                         (nn.LSTM, nn.GRU))):
            problem(f"{_name(node)}, which gives something other than one tensor,", node, module_path,
                    "a node gives one tensor (a model that returns auxiliary outputs while training has "
                    "several Outputs only if it returns tensors)")
            continue
        ins = [_shape(a) for a in tensors]
        try:
            if node.op == "call_module":
                module = gm.get_submodule(node.target)
                if node.target in calls and any(True for _ in module.parameters(recurse=False)):
                    raise Refused(f"{node.target} called a second time (its weights would be shared)",
                                  "a node has weights of its own: use a second layer")
                calls.setdefault(node.target, node.name)
                mapped = module_node(module, ins, out)
            elif node.op == "call_function" and node.target is operator.getitem:
                mapped = _getitem(node, ins)
            else:
                mapped = function_node(node.target, node.args, node.kwargs, ins, out,
                                       lambda a: isinstance(a, fx.Node) and _shape(a) is not None
                                       and a.name not in meta_only)
        except Refused as exc:
            problem(exc.what, node, module_path, exc.hint)
            continue
        fed = tensors if mapped.inputs is None else [tensors[i] for i in mapped.inputs]
        if mapped.type == "alias":
            value[node.name] = value[fed[0].name]
            continue
        op = Op(node.name, mapped.type, mapped.params, [value[a.name] for a in fed], out[1:], _dtype(node),
                module=node.target if node.op == "call_module" else None, stack=containers,
                stem=mapped.type.lower())
        traced.ops.append(op)
        value[node.name] = op.name


def _name(node: fx.Node) -> str:
    return node.target if node.op == "call_module" else function_name(node.target)


def _flat_args(args: Any, kwargs: dict) -> list[Any]:
    out: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        else:
            out.append(value)
    walk(args)
    walk(kwargs)
    return out


def _is_meta(node: fx.Node) -> bool:
    """x.size(...), x.shape, x.dim(): numbers about a tensor."""
    if node.op == "call_method" and node.target in ("size", "dim"):
        return True
    if node.op == "call_function" and node.target is getattr and node.args[1:] in (("shape",), ("ndim",)):
        return True
    if node.op == "call_function" and node.target is operator.getitem and isinstance(node.args[0], fx.Node) \
            and _shape(node.args[0]) is None and _shape(node) is None:
        return True  # an entry of x.shape
    return False


def _getitem(node: fx.Node, ins: list) -> Mapped:
    """x[:, None] (what a generated Add writes to broadcast per sample) passes its input through when an
    Add or Multiply takes it; other indexing has no node type."""
    index = node.args[1]
    index = index if isinstance(index, tuple) else (index,)
    if index and index[0] == slice(None) and all(i is None for i in index[1:]) and len(index) > 1:
        merges = (operator.add, operator.iadd, torch.add, operator.mul, operator.imul, torch.mul)
        if all(u.op == "call_function" and u.target in merges for u in node.users):
            return ALIAS
    raise Refused("indexing (x[...])", "no node selects part of a tensor")


def forward_arguments(cls: type) -> list[str]:
    """The names of `cls.forward`'s arguments after self ([] when they cannot be read)."""
    try:
        params = list(inspect.signature(cls.forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
