"""What a module class's own code says: which constructor argument each layer's value comes from.

Reading `__init__` (never running it) finds lines such as
`self.conv1 = nn.Conv2d(in_channels, channels, kernel_size=3, stride=stride)`:
the block parameter `channels` is conv1's `out_channels`, `stride` its stride.
That names a block's parameters as its author did, and keeps one that every use
sets alike (a block's stride of 2). Also read: `nn.Sequential(*(Res(...) for _
in range(depth)))` (`repeat` from `depth`), and initializations such as
`nn.init.orthogonal_(self.conv2.weight)` (the node's `init`). Code that cannot
be read (a helper function, a class defined at run time) gives nothing; the
importer then names parameters after the values that differ between uses.
"""
from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any

from torch import nn

# torch constructor argument -> the format's parameter, where the names differ (the rest are the same)
RENAMED = {"in_channels": None, "in_features": None, "num_features": None, "normalized_shape": None,
           "input_size": None}
INIT_FUNCTIONS = {
    "xavier_uniform_": "xavier_uniform", "xavier_normal_": "xavier_normal", "kaiming_uniform_": "kaiming_uniform",
    "kaiming_normal_": "kaiming_normal", "orthogonal_": "orthogonal", "normal_": "normal",
}


@dataclass
class ClassNames:
    """From one class's `__init__`: (attribute, parameter) -> constructor argument, the arguments' defaults
    (plain values only), and each attribute's initialization."""

    args: dict[tuple[str, str], str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # the constructor's arguments, in order
    defaults: dict[str, Any] = field(default_factory=dict)
    inits: dict[str, str] = field(default_factory=dict)


_CACHE: dict[type, ClassNames] = {}


def class_names(cls: type) -> ClassNames:
    if cls not in _CACHE:
        try:
            _CACHE[cls] = _read(cls)
        except Exception:  # no source, or code this reader does not follow: nothing learned
            _CACHE[cls] = ClassNames()
    return _CACHE[cls]


def _read(cls: type) -> ClassNames:
    out = ClassNames()
    init = cls.__dict__.get("__init__")
    if init is None:
        return out
    signature = inspect.signature(init)
    for name, p in list(signature.parameters.items())[1:]:
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            out.order.append(name)
            if p.default is not p.empty and _plain(p.default):
                out.defaults[name] = list(p.default) if isinstance(p.default, tuple) else p.default
    tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    scope = vars(sys.modules[cls.__module__]) if cls.__module__ in sys.modules else {}
    arguments = set(out.order)
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            attr = _self_attr(statement.targets[0])
            if attr is not None and isinstance(statement.value, ast.Call):
                _assignment(out, attr, statement.value, scope, arguments)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            _init_call(out, statement.value)
    return out


def _plain(value: Any) -> bool:
    if isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, tuple) and bool(value) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                            for v in value)


def _self_attr(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def _callee(call: ast.Call, scope: dict) -> Any:
    """The object a call's function names (`nn.Conv2d`, `torch.nn.Linear`, a class of the module)."""
    parts = []
    node = call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    parts.reverse()
    if parts[0] in ("nn", "torch") and parts[-1] in vars(nn):
        return getattr(nn, parts[-1])
    value = scope.get(parts[0])
    for part in parts[1:]:
        value = getattr(value, part, None)
    return value


def _assignment(out: ClassNames, attr: str, call: ast.Call, scope: dict, arguments: set[str]) -> None:
    target = _callee(call, scope)
    if target is nn.Sequential and len(call.args) == 1 and isinstance(call.args[0], ast.Starred):
        loop = call.args[0].value
        if isinstance(loop, (ast.GeneratorExp, ast.ListComp)) and len(loop.generators) == 1:
            rng = loop.generators[0].iter
            if isinstance(rng, ast.Call) and isinstance(rng.func, ast.Name) and rng.func.id == "range" \
                    and len(rng.args) == 1 and isinstance(rng.args[0], ast.Name) and rng.args[0].id in arguments:
                out.args[(attr, "repeat")] = rng.args[0].id
            if isinstance(loop.elt, ast.Call):
                _bind(out, attr, loop.elt, _callee(loop.elt, scope), arguments)
        return
    _bind(out, attr, call, target, arguments)


def _bind(out: ClassNames, attr: str, call: ast.Call, target: Any, arguments: set[str]) -> None:
    if not isinstance(target, type):
        return
    try:
        signature = inspect.signature(target)
        bound = signature.bind_partial(*call.args, **{k.arg: k.value for k in call.keywords if k.arg})
    except (TypeError, ValueError):
        return
    for name, value in bound.arguments.items():
        if isinstance(value, ast.Name) and value.id in arguments and RENAMED.get(name, name) is not None:
            out.args[(attr, RENAMED.get(name, name))] = value.id


def _init_call(out: ClassNames, call: ast.Call) -> None:
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in INIT_FUNCTIONS):
        return
    if not call.args:
        return
    weight = call.args[0]
    if isinstance(weight, ast.Attribute) and weight.attr == "weight":
        attr = _self_attr(weight.value)
        if attr is not None:
            keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords
                        if k.arg and isinstance(k.value, ast.Constant)}
            method = INIT_FUNCTIONS[func.attr]
            expected = {"kaiming_uniform": {"nonlinearity": "relu"}, "kaiming_normal": {"nonlinearity": "relu"},
                        "normal": {"std": 0.02}}.get(method, {})
            if keywords == expected:  # as NodeTrainer writes it: the same initialization
                out.inits[attr] = method
