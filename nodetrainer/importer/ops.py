"""What each traced call becomes: a node type with its parameters read from the module, or a refusal.

`module_node(module, ins, out)` maps an `nn.Module` call and `function_node(target,
args, kwargs, ins, out)` a function or method call (`F.relu`, `torch.flatten`,
`+`, `torch.cat`, `x.view`). Shapes are torch's (with the batch dimension).
Either returns a `Mapped` (a node type and every parameter's value), `ALIAS`
(the call passes its input through: `x.contiguous()`) or raises `Refused` with
what the op is and what would fit. Parameters are written as the format has
them: a size equal in every dimension as one number, torch dims as format dims
(0 = the first non-batch dimension).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn


class Refused(Exception):
    """An op with no node type: `what` it is, and a hint of what would fit (may be empty)."""

    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(what)
        self.what, self.hint = what, hint


@dataclass
class Mapped:
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[int] | None = None  # which tensor arguments feed the node, in order (None: all)


ALIAS = Mapped("alias")  # the value is its (one) input's


def size(value: Any) -> Any:
    """A torch size (int or tuple) as the format writes it: one int when every dimension agrees."""
    if isinstance(value, (tuple, list)):
        values = [int(v) for v in value]
        return values[0] if all(v == values[0] for v in values) else values
    return int(value)


def format_dim(dim: int, rank: int, what: str) -> int:
    """A torch dim of a rank-`rank` tensor (batch included) as a format dim; Refused for the batch dim."""
    d = dim % rank if -rank <= dim < rank else None
    if d is None:
        raise Refused(f"{what} dim {dim} out of range")
    if d == 0:
        raise Refused(f"{what} along the batch dimension", "every node works on each sample alone")
    return dim - 1 if dim >= 0 else dim


# -- modules ----------------------------------------------------------------------------------
def _conv(m: nn.Module, ins, out) -> Mapped:
    if m.padding_mode != "zeros":
        raise Refused(f"{type(m).__name__} with padding_mode '{m.padding_mode}'", f"{type(m).__name__} pads with zeros")
    n = int(type(m).__name__[-2])
    if n not in (1, 2):
        raise Refused(type(m).__name__, "Conv1d and Conv2d")
    padding = m.padding if isinstance(m.padding, str) else size(m.padding)
    return Mapped(f"Conv{n}d", {"out_channels": m.out_channels, "kernel_size": size(m.kernel_size),
                               "stride": size(m.stride), "padding": 0 if padding == "valid" else padding,
                               "dilation": size(m.dilation), "groups": m.groups, "bias": m.bias is not None})


def _conv_transpose(m: nn.ConvTranspose2d, ins, out) -> Mapped:
    if m.groups != 1 or size(m.dilation) != 1 or m.padding_mode != "zeros":
        raise Refused("ConvTranspose2d with groups, dilation or a padding mode", "ConvTranspose2d without them")
    return Mapped("ConvTranspose2d", {"out_channels": m.out_channels, "kernel_size": size(m.kernel_size),
                                      "stride": size(m.stride), "padding": size(m.padding),
                                      "output_padding": size(m.output_padding), "bias": m.bias is not None})


def _batchnorm(m: nn.modules.batchnorm._BatchNorm, ins, out) -> Mapped:
    if not m.track_running_stats:
        raise Refused(f"{type(m).__name__} without running statistics", "BatchNorm keeps running statistics")
    if m.momentum is None:
        raise Refused(f"{type(m).__name__} with momentum None (a cumulative average)", "BatchNorm with a momentum")
    return Mapped("BatchNorm", {"momentum": float(m.momentum), "eps": float(m.eps), "affine": bool(m.affine)})


def _layernorm(m: nn.LayerNorm, ins, out) -> Mapped:
    if tuple(m.normalized_shape) != tuple(ins[0][-1:]) or not m.elementwise_affine or \
            getattr(m, "bias", True) is None:
        raise Refused(f"LayerNorm over {list(m.normalized_shape)}",
                      "LayerNorm normalizes the last dimension, with a learned scale and shift")
    return Mapped("LayerNorm", {"eps": float(m.eps)})


def _dropout(m: nn.Module, ins, out) -> Mapped:
    channelwise = {nn.Dropout: False, nn.Dropout1d: True, nn.Dropout2d: True}[type(m)]
    if channelwise and len(ins[0]) != {nn.Dropout1d: 3, nn.Dropout2d: 4}[type(m)]:
        raise Refused(f"{type(m).__name__} on a rank-{len(ins[0]) - 1} sample", "Dropout with channelwise")
    return Mapped("Dropout", {"p": float(m.p), "channelwise": channelwise})


def _pool(m: nn.Module, ins, out) -> Mapped:
    name = type(m).__name__
    if getattr(m, "dilation", 1) not in (1, (1,), (1, 1)) or getattr(m, "return_indices", False):
        raise Refused(f"{name} with dilation or indices", f"{name} without them")
    if name.startswith("Avg") and (not m.count_include_pad or m.divisor_override is not None):
        raise Refused(f"{name} without count_include_pad or with a divisor", f"{name} counting the padding")
    kernel = size(m.kernel_size)
    stride = size(m.stride) if m.stride is not None else kernel
    return Mapped(name, {"kernel_size": kernel, "stride": None if stride == kernel else stride,
                         "padding": size(m.padding), "ceil_mode": bool(m.ceil_mode)})


def _adaptive(m: nn.AdaptiveAvgPool2d, ins, out) -> Mapped:
    target = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,) * 2
    if any(t is None for t in target):
        raise Refused("AdaptiveAvgPool2d keeping a dimension (None)", "AdaptiveAvgPool2d to a fixed size")
    return Mapped("AdaptiveAvgPool2d", {"output_size": size(target)})


def _flatten(m: nn.Flatten, ins, out) -> Mapped:
    if m.start_dim != 1 or m.end_dim != -1:
        raise Refused(f"Flatten of dims {m.start_dim}..{m.end_dim}", "Flatten (of every non-batch dimension) or Reshape")
    return Mapped("Flatten")


def _embedding(m: nn.Embedding, ins, out) -> Mapped:
    if m.padding_idx is not None or m.max_norm is not None or m.scale_grad_by_freq or m.sparse:
        raise Refused("Embedding with padding_idx, max_norm or sparse gradients", "Embedding without them")
    return Mapped("Embedding", {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim})


def _softmax(name: str):
    def convert(m, ins, out) -> Mapped:
        if m.dim is None:
            raise Refused(f"{name} without dim", f"{name} with a dim")
        return Mapped(name, {"dim": format_dim(m.dim, len(ins[0]), name)})
    return convert


def _plain(name: str) -> Callable:
    return lambda m, ins, out: Mapped(name)


def _gelu(m: nn.GELU, ins, out) -> Mapped:
    if m.approximate != "none":
        raise Refused("GELU with approximate='tanh'", "GELU (exact)")
    return Mapped("GELU")


def _softplus(m: nn.Softplus, ins, out) -> Mapped:
    if m.beta != 1 or m.threshold != 20:
        raise Refused("Softplus with beta or threshold", "Softplus (beta 1)")
    return Mapped("Softplus")


def _hardtanh(m: nn.Hardtanh, ins, out) -> Mapped:
    if (m.min_val, m.max_val) != (0.0, 6.0):
        raise Refused(f"Hardtanh({m.min_val}, {m.max_val})", "ReLU6 (Hardtanh from 0 to 6)")
    return Mapped("ReLU6")


MODULES: dict[type, Callable] = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.ConvTranspose2d: _conv_transpose,
    nn.Linear: lambda m, ins, out: Mapped("Linear", {"out_features": m.out_features, "bias": m.bias is not None}),
    nn.BatchNorm1d: _batchnorm, nn.BatchNorm2d: _batchnorm, nn.BatchNorm3d: _batchnorm,
    nn.LayerNorm: _layernorm, nn.Dropout: _dropout, nn.Dropout1d: _dropout, nn.Dropout2d: _dropout,
    nn.MaxPool1d: _pool, nn.MaxPool2d: _pool, nn.AvgPool1d: _pool, nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool2d: _adaptive, nn.Flatten: _flatten, nn.Embedding: _embedding,
    nn.ReLU: _plain("ReLU"), nn.Sigmoid: _plain("Sigmoid"), nn.Tanh: _plain("Tanh"), nn.GELU: _gelu,
    nn.SiLU: _plain("SiLU"), nn.Softplus: _softplus, nn.Identity: _plain("Identity"), nn.ReLU6: _plain("ReLU6"),
    nn.Hardtanh: _hardtanh,
    nn.LeakyReLU: lambda m, ins, out: Mapped("LeakyReLU", {"negative_slope": float(m.negative_slope)}),
    nn.ELU: lambda m, ins, out: Mapped("ELU", {"alpha": float(m.alpha)}),
    nn.Softmax: _softmax("Softmax"), nn.LogSoftmax: _softmax("LogSoftmax"),
}

MODULE_HINTS = {
    "Hardswish": "SiLU is the nearest node type (not the same values)",
    "Hardsigmoid": "Sigmoid is the nearest node type (not the same values)",
    "Upsample": "ConvTranspose2d learns an upsampling", "UpsamplingNearest2d": "ConvTranspose2d learns an upsampling",
    "MultiheadAttention": "no node type computes attention yet",
    "PReLU": "LeakyReLU has a fixed slope", "GroupNorm": "BatchNorm or LayerNorm", "InstanceNorm2d": "BatchNorm",
    "AdaptiveMaxPool2d": "AdaptiveAvgPool2d averages", "Conv3d": "Conv2d", "ZeroPad2d": "a padding of the next Conv2d",
}


def module_node(module: nn.Module, ins: list[tuple[int, ...]], out: Any) -> Mapped:
    convert = MODULES.get(type(module))
    if convert is None:
        name = type(module).__name__
        raise Refused(f"{name} (a module of {type(module).__module__})",
                      MODULE_HINTS.get(name, ""))
    return convert(module, ins, out)


# -- functions and methods ----------------------------------------------------------------------
def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _merge(kind: str):
    def convert(args, kwargs, ins, out, tensor) -> Mapped:
        if len(args) < 2 or not (tensor(args[0]) and tensor(args[1])):
            raise Refused(f"{'adding' if kind == 'Add' else 'multiplying by'} a constant",
                          "an Add or Multiply of two tensors; a constant has no node")
        if kwargs.get("alpha", 1) != 1:
            raise Refused("add with alpha", "Add (alpha 1)")
        return Mapped(kind, inputs=[0, 1])
    return convert


def _cat(args, kwargs, ins, out, tensor) -> Mapped:
    items = _arg(args, kwargs, 0, "tensors")
    dim = _arg(args, kwargs, 1, "dim", 0)
    if not isinstance(items, (list, tuple)) or not all(tensor(t) for t in items):
        raise Refused("torch.cat of something other than a list of tensors", "Concat")
    if len(items) == 1:
        return Mapped("alias")  # joining one tensor: the tensor itself
    return Mapped("Concat", {"dim": format_dim(dim, len(out), "torch.cat")})


def _flatten_fn(args, kwargs, ins, out, tensor) -> Mapped:
    start, end = _arg(args, kwargs, 1, "start_dim", 0), _arg(args, kwargs, 2, "end_dim", -1)
    if start != 1 or end != -1:
        raise Refused(f"flatten from dim {start} to {end}", "Flatten (every non-batch dimension) or Reshape")
    return Mapped("Flatten", inputs=[0])


def _reshape(args, kwargs, ins, out, tensor) -> Mapped:
    source = ins[0]
    if out[0] != source[0]:
        raise Refused("a reshape that mixes samples (it changes the batch dimension)",
                      "Reshape keeps the batch dimension")
    if len(out) == 2 and len(source) > 2:
        return Mapped("Flatten", inputs=[0])
    if tuple(out) == tuple(source):
        return Mapped("alias", inputs=[0])
    return Mapped("Reshape", {"shape": list(out[1:])}, inputs=[0])


def _mean(args, kwargs, ins, out, tensor) -> Mapped:
    dims = _arg(args, kwargs, 1, "dim")
    keep = bool(_arg(args, kwargs, 2, "keepdim", False))
    rank = len(ins[0])
    dims = (dims,) if isinstance(dims, int) else tuple(dims or ())
    spatial = set(range(2, rank))
    if rank >= 3 and {d % rank for d in dims} == spatial:
        if not keep:
            return Mapped("GlobalAvgPool", inputs=[0])
        if rank == 4:
            return Mapped("AdaptiveAvgPool2d", {"output_size": 1}, inputs=[0])
    raise Refused(f"mean over dims {list(dims)}", "GlobalAvgPool (the mean over every spatial position)")


def _activation(name: str, param: str | None = None, arg_index: int = 1, default: Any = None):
    def convert(args, kwargs, ins, out, tensor) -> Mapped:
        params = {}
        if param is not None:
            params[param] = float(_arg(args, kwargs, arg_index, param, default))
        return Mapped(name, params, inputs=[0])
    return convert


def _softmax_fn(name: str):
    def convert(args, kwargs, ins, out, tensor) -> Mapped:
        dim = _arg(args, kwargs, 1, "dim")
        if dim is None:
            raise Refused(f"{name.lower()} without dim", f"{name} with a dim")
        return Mapped(name, {"dim": format_dim(dim, len(ins[0]), name.lower())}, inputs=[0])
    return convert


def _dropout_fn(channelwise: bool):
    def convert(args, kwargs, ins, out, tensor) -> Mapped:
        p = float(_arg(args, kwargs, 1, "p", 0.5))
        training = _arg(args, kwargs, 2, "training", True)
        if training is False:
            return Mapped("alias", inputs=[0])
        return Mapped("Dropout", {"p": p, "channelwise": channelwise}, inputs=[0])
    return convert


def _gelu_fn(args, kwargs, ins, out, tensor) -> Mapped:
    if kwargs.get("approximate", "none") != "none":
        raise Refused("gelu with approximate='tanh'", "GELU (exact)")
    return Mapped("GELU", inputs=[0])


def _hardtanh_fn(args, kwargs, ins, out, tensor) -> Mapped:
    low, high = _arg(args, kwargs, 1, "min_val", -1.0), _arg(args, kwargs, 2, "max_val", 1.0)
    if (low, high) != (0.0, 6.0):
        raise Refused(f"hardtanh({low}, {high})", "ReLU6 (hardtanh from 0 to 6)")
    return Mapped("ReLU6", inputs=[0])


def _adaptive_fn(args, kwargs, ins, out, tensor) -> Mapped:
    target = _arg(args, kwargs, 1, "output_size")
    target = target if isinstance(target, (tuple, list)) else (target, target)
    if any(t is None for t in target):
        raise Refused("adaptive_avg_pool2d keeping a dimension (None)", "AdaptiveAvgPool2d to a fixed size")
    return Mapped("AdaptiveAvgPool2d", {"output_size": size(target)}, inputs=[0])


def _pool_fn(name: str):
    def convert(args, kwargs, ins, out, tensor) -> Mapped:
        kernel = size(_arg(args, kwargs, 1, "kernel_size"))
        stride = _arg(args, kwargs, 2, "stride")
        stride = size(stride) if stride not in (None, (), []) else kernel
        padding = size(_arg(args, kwargs, 3, "padding", 0))
        ceil = bool(kwargs.get("ceil_mode", False) if name.startswith("Avg") else _arg(args, kwargs, 5, "ceil_mode", False))
        if name.startswith("Max") and (size(_arg(args, kwargs, 4, "dilation", 1)) != 1 or kwargs.get("return_indices")):
            raise Refused(f"{name.lower()} with dilation or indices", name)
        if name.startswith("Avg") and (not _arg(args, kwargs, 5, "count_include_pad", True)
                                       or _arg(args, kwargs, 6, "divisor_override") is not None):
            raise Refused(f"{name.lower()} without count_include_pad or with a divisor", name)
        if name.startswith("Avg"):
            ceil = bool(_arg(args, kwargs, 4, "ceil_mode", False))
        return Mapped(name, {"kernel_size": kernel, "stride": None if stride == kernel else stride,
                             "padding": padding, "ceil_mode": ceil}, inputs=[0])
    return convert


_ADD, _MUL = _merge("Add"), _merge("Multiply")
FUNCTIONS: dict[Any, Callable] = {
    operator.add: _ADD, operator.iadd: _ADD, torch.add: _ADD,
    operator.mul: _MUL, operator.imul: _MUL, torch.mul: _MUL,
    torch.cat: _cat, torch.concat: _cat, torch.flatten: _flatten_fn, torch.reshape: _reshape,
    torch.mean: _mean,
    F.relu: _activation("ReLU"), torch.relu: _activation("ReLU"), F.relu_: _activation("ReLU"),
    torch.relu_: _activation("ReLU"),
    torch.sigmoid: _activation("Sigmoid"), F.sigmoid: _activation("Sigmoid"),
    torch.tanh: _activation("Tanh"), F.tanh: _activation("Tanh"),
    F.gelu: _gelu_fn, F.silu: _activation("SiLU"), F.softplus: _activation("Softplus"),
    F.leaky_relu: _activation("LeakyReLU", "negative_slope", 1, 0.01), F.elu: _activation("ELU", "alpha", 1, 1.0),
    F.relu6: _activation("ReLU6"), F.hardtanh: _hardtanh_fn,
    F.softmax: _softmax_fn("Softmax"), torch.softmax: _softmax_fn("Softmax"),
    F.log_softmax: _softmax_fn("LogSoftmax"), torch.log_softmax: _softmax_fn("LogSoftmax"),
    F.dropout: _dropout_fn(False), F.dropout2d: _dropout_fn(True), F.dropout1d: _dropout_fn(True),
    F.adaptive_avg_pool2d: _adaptive_fn, F.max_pool2d: _pool_fn("MaxPool2d"), F.avg_pool2d: _pool_fn("AvgPool2d"),
    F.max_pool1d: _pool_fn("MaxPool1d"), F.avg_pool1d: _pool_fn("AvgPool1d"),
}
METHODS: dict[str, Callable] = {
    "add": _ADD, "add_": _ADD, "mul": _MUL, "mul_": _MUL, "flatten": _flatten_fn, "view": _reshape,
    "reshape": _reshape, "mean": _mean, "relu": _activation("ReLU"), "relu_": _activation("ReLU"),
    "sigmoid": _activation("Sigmoid"), "tanh": _activation("Tanh"), "softmax": _softmax_fn("Softmax"),
    "log_softmax": _softmax_fn("LogSoftmax"),
    "contiguous": lambda args, kwargs, ins, out, tensor: Mapped("alias", inputs=[0]),
}
FUNCTION_HINTS = {
    "permute": "no node reorders dimensions; Reshape keeps the order of elements",
    "transpose": "no node reorders dimensions; Reshape keeps the order of elements",
    "chunk": "no node splits a tensor", "split": "no node splits a tensor",
    "matmul": "Linear multiplies by learned weights", "bmm": "Linear multiplies by learned weights",
    "interpolate": "ConvTranspose2d learns an upsampling", "sub": "no node subtracts", "truediv": "no node divides",
    "hardswish": "SiLU is the nearest node type (not the same values)",
    "hardsigmoid": "Sigmoid is the nearest node type (not the same values)",
    "adaptive_max_pool2d": "AdaptiveAvgPool2d averages", "pad": "a padding of the next Conv2d",
    "stochastic_depth": "Dropout drops single values; no node drops a whole residual branch",
}


def function_name(target: Any) -> str:
    if isinstance(target, str):
        return f"x.{target}()"
    module = getattr(target, "__module__", "") or ""
    name = getattr(target, "__name__", str(target))
    prefix = {"torch.nn.functional": "F.", "_operator": "operator.", "torch": "torch."}.get(module, "")
    if module.startswith("torch._C") or module == "torch._VariableFunctions":
        prefix = "torch."
    return f"{prefix}{name}"


def function_node(target: Any, args: tuple, kwargs: dict, ins: list[tuple[int, ...]], out: Any,
                  tensor: Callable[[Any], bool]) -> Mapped:
    convert = METHODS.get(target) if isinstance(target, str) else FUNCTIONS.get(target)
    if convert is None:
        name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
        raise Refused(function_name(target), FUNCTION_HINTS.get(name.strip("_"), ""))
    return convert(args, kwargs, ins, out, tensor)
