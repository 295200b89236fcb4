"""Convolutions and spatial pooling."""
from __future__ import annotations

from ..schema import REQUIRED, Param
from .base import (BIAS_PARAM, INIT_PARAM, Cost, LayerType, ShapeError, Tensor, as_tuple, call, fmt_shape,
                   need_float, need_rank, numel, register)

_SPATIAL_NAMES = {1: "[C, L]", 2: "[C, H, W]"}


def _out_size(size: int, k: int, s: int, pad: int, dil: int = 1) -> int:
    return (size + 2 * pad - dil * (k - 1) - 1) // s + 1


def _ceil_size(size: int, k: int, s: int, pad: int) -> int:
    """A pool's output size rounding up, as PyTorch's ceil_mode: the last window may hang over the end,
    but never start in the padding on the right."""
    out = -(-(size + 2 * pad - k) // s) + 1
    if (out - 1) * s >= size + pad:
        out -= 1
    return out


def _spatial_check(name: str, x: Tensor, n: int, k, pad, dil=1) -> None:
    need_float(name, x)
    need_rank(name, x, (n + 1,), _SPATIAL_NAMES[n])
    ks, ds = as_tuple(k, n), as_tuple(dil, n)
    pads = as_tuple(pad, n) if pad != "same" else (0,) * n
    for size, kk, pp, dd in zip(x.shape[1:], ks, pads, ds):
        span = dd * (kk - 1) + 1
        if pad != "same" and span > size + 2 * pp:
            what = f"kernel {kk}" + (f" with dilation {dd}" if dd > 1 else "")
            raise ShapeError(f"{name} {what} is larger than its input {fmt_shape(x.shape)} "
                             f"(spatial size {size}" + (f" + padding 2x{pp}" if pp else "") + ")")


def _conv(n: int) -> LayerType:
    name = f"Conv{n}d"

    def infer(p, ins):
        x = ins[0]
        _spatial_check(name, x, n, p["kernel_size"], p["padding"], p["dilation"])
        c, g = x.shape[0], p["groups"]
        if c % g or p["out_channels"] % g:
            raise ShapeError(f"{name} groups={g} must divide both in_channels {c} and out_channels {p['out_channels']}")
        if p["padding"] == "same":
            if any(s != 1 for s in as_tuple(p["stride"], n)):
                raise ShapeError(f"{name} padding 'same' needs stride 1, got stride {p['stride']}")
            return Tensor((p["out_channels"],) + x.shape[1:])
        sizes = tuple(_out_size(*a) for a in zip(x.shape[1:], as_tuple(p["kernel_size"], n), as_tuple(p["stride"], n),
                                                  as_tuple(p["padding"], n), as_tuple(p["dilation"], n)))
        return Tensor((p["out_channels"],) + sizes)

    def cost(p, ins, out):
        per_out = ins[0].shape[0] // p["groups"] * numel(as_tuple(p["kernel_size"], n))
        weights = p["out_channels"] * per_out
        return Cost(weights + (p["out_channels"] if p["bias"] else 0), weights * numel(out.shape[1:]))

    return LayerType(
        name, "layers", f"{n}-D convolution: learned filters slid over the input.",
        params=(
            Param("out_channels", "int", REQUIRED, "number of filters", lo=1),
            Param("kernel_size", "size", REQUIRED, "filter size", lo=1, length=n),
            Param("stride", "size", 1, "step between filter positions", lo=1, length=n),
            Param("padding", "padding", 0, "zeros added on each side, or 'same' to keep the size", lo=0, length=n),
            Param("dilation", "size", 1, "spacing between filter taps", lo=1, length=n),
            Param("groups", "int", 1, "split channels into independent groups", lo=1),
            BIAS_PARAM, INIT_PARAM,
        ),
        infer=infer,
        constructor=lambda p, ins: call(f"nn.Conv{n}d", ins[0].shape[0], p["out_channels"],
                                        defaults={"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True},
                                        kernel_size=p["kernel_size"], stride=p["stride"], padding=p["padding"],
                                        dilation=p["dilation"], groups=p["groups"], bias=p["bias"]),
        cost=cost, init_weights=("weight",), key_params=("out_channels", "kernel_size"),
    )


def _conv_transpose_infer(p, ins):
    x = ins[0]
    need_float("ConvTranspose2d", x)
    need_rank("ConvTranspose2d", x, (3,), "[C, H, W]")
    ks, ss, ps, ops = (as_tuple(p[k], 2) for k in ("kernel_size", "stride", "padding", "output_padding"))
    if any(o >= s for o, s in zip(ops, ss)):
        raise ShapeError(f"ConvTranspose2d output_padding {p['output_padding']} must be smaller than stride {p['stride']}")
    sizes = tuple((h - 1) * s - 2 * pp + (k - 1) + o + 1 for h, k, s, pp, o in zip(x.shape[1:], ks, ss, ps, ops))
    if min(sizes) < 1:
        raise ShapeError(f"ConvTranspose2d padding {p['padding']} leaves no output for input {fmt_shape(x.shape)}")
    return Tensor((p["out_channels"],) + sizes)


def _conv_transpose_cost(p, ins, out):
    weights = ins[0].shape[0] * p["out_channels"] * numel(as_tuple(p["kernel_size"], 2))
    return Cost(weights + (p["out_channels"] if p["bias"] else 0), weights * numel(ins[0].shape[1:]))


def _pool(kind: str, n: int) -> LayerType:
    name = f"{kind}Pool{n}d"

    def infer(p, ins):
        x = ins[0]
        stride = p["stride"] if p["stride"] is not None else p["kernel_size"]
        _spatial_check(name, x, n, p["kernel_size"], p["padding"])
        ks, ps = as_tuple(p["kernel_size"], n), as_tuple(p["padding"], n)
        if any(pp * 2 > k for pp, k in zip(ps, ks)):
            raise ShapeError(f"{name} padding {p['padding']} must be at most half the kernel size {p['kernel_size']}")
        size = _ceil_size if p["ceil_mode"] else _out_size
        sizes = tuple(size(*a) for a in zip(x.shape[1:], ks, as_tuple(stride, n), ps))
        return Tensor((x.shape[0],) + sizes)

    return LayerType(
        name, "layers", f"{n}-D {'maximum' if kind == 'Max' else 'average'} over each window.",
        params=(
            Param("kernel_size", "size", REQUIRED, "window size", lo=1, length=n),
            Param("stride", "size", None, "step between windows (default: kernel_size)", lo=1, length=n),
            Param("padding", "size", 0, "padding on each side", lo=0, length=n),
            Param("ceil_mode", "bool", False, "round the output size up: a last, partial window covers the end"),
        ),
        infer=infer,
        constructor=lambda p, ins: call(f"nn.{name}", p["kernel_size"],
                                        defaults={"stride": None, "padding": 0, "ceil_mode": False},
                                        stride=p["stride"], padding=p["padding"], ceil_mode=p["ceil_mode"]),
        key_params=("kernel_size",),
    )


def _adaptive_infer(p, ins):
    x = ins[0]
    need_float("AdaptiveAvgPool2d", x)
    need_rank("AdaptiveAvgPool2d", x, (3,), "[C, H, W]")
    return Tensor((x.shape[0],) + as_tuple(p["output_size"], 2))


register(
    _conv(1), _conv(2),
    LayerType(
        "ConvTranspose2d", "layers", "Transposed 2-D convolution: learned upsampling.",
        params=(
            Param("out_channels", "int", REQUIRED, "number of filters", lo=1),
            Param("kernel_size", "size", REQUIRED, "filter size", lo=1, length=2),
            Param("stride", "size", 1, "upsampling factor", lo=1, length=2),
            Param("padding", "size", 0, "size removed from each side", lo=0, length=2),
            Param("output_padding", "size", 0, "size added to one side (smaller than stride)", lo=0, length=2),
            BIAS_PARAM, INIT_PARAM,
        ),
        infer=_conv_transpose_infer,
        constructor=lambda p, ins: call("nn.ConvTranspose2d", ins[0].shape[0], p["out_channels"],
                                        defaults={"stride": 1, "padding": 0, "output_padding": 0, "bias": True},
                                        kernel_size=p["kernel_size"], stride=p["stride"], padding=p["padding"],
                                        output_padding=p["output_padding"], bias=p["bias"]),
        cost=_conv_transpose_cost, init_weights=("weight",), key_params=("out_channels", "kernel_size"),
    ),
    _pool("Max", 1), _pool("Max", 2), _pool("Avg", 1), _pool("Avg", 2),
    LayerType(
        "AdaptiveAvgPool2d", "layers", "Averages into a fixed output size whatever the input size.",
        params=(Param("output_size", "size", REQUIRED, "output height and width", lo=1, length=2),),
        infer=_adaptive_infer,
        constructor=lambda p, ins: call("nn.AdaptiveAvgPool2d", p["output_size"]),
        key_params=("output_size",),
    ),
)
