"""Element-wise activations and softmax."""
from __future__ import annotations

from ..schema import Param
from .base import LayerType, call, check_dim, need_float, register, torch_dim


def _simple(name: str, doc: str) -> LayerType:
    def infer(p, ins):
        need_float(name, ins[0])
        return ins[0]
    return LayerType(name, "activations", doc, infer=infer, constructor=lambda p, ins: f"nn.{name}()")


def _softmax(name: str, doc: str) -> LayerType:
    def infer(p, ins):
        need_float(name, ins[0])
        check_dim(name, p["dim"], ins[0].rank)
        return ins[0]
    return LayerType(name, "activations", doc,
                     params=(Param("dim", "int", -1, "dimension normalized (0 = first non-batch dimension)"),),
                     infer=infer, constructor=lambda p, ins: call(f"nn.{name}", dim=torch_dim(p["dim"])))


def _leaky_infer(p, ins):
    need_float("LeakyReLU", ins[0])
    return ins[0]


def _elu_infer(p, ins):
    need_float("ELU", ins[0])
    return ins[0]


register(
    _simple("ReLU", "max(0, x): cheap, and does not saturate for positive inputs."),
    _simple("Sigmoid", "1 / (1 + e^-x): squashes to (0, 1); saturates, so gradients vanish in deep stacks."),
    _simple("Tanh", "Squashes to (-1, 1), zero-centred; saturates like Sigmoid."),
    _simple("GELU", "x·Φ(x): the smooth ReLU used by transformers."),
    _simple("SiLU", "x·sigmoid(x) (Swish): smooth, non-monotonic."),
    _simple("Softplus", "log(1 + e^x): a smooth ReLU."),
    _simple("Identity", "Passes its input through unchanged."),
    _simple("ReLU6", "min(max(0, x), 6): a ReLU capped at 6, as in MobileNet."),
    LayerType("LeakyReLU", "activations", "x for x > 0, slope·x otherwise: no dead units.",
              params=(Param("negative_slope", "float", 0.01, "slope for negative inputs", lo=0.0),),
              infer=_leaky_infer,
              constructor=lambda p, ins: call("nn.LeakyReLU", defaults={"negative_slope": 0.01},
                                              negative_slope=p["negative_slope"]),
              key_params=("negative_slope",)),
    LayerType("ELU", "activations", "x for x > 0, alpha·(e^x − 1) otherwise: smooth, negative values push means toward 0.",
              params=(Param("alpha", "float", 1.0, "value approached for very negative inputs", lo=0.0),),
              infer=_elu_infer,
              constructor=lambda p, ins: call("nn.ELU", defaults={"alpha": 1.0}, alpha=p["alpha"]),
              key_params=("alpha",)),
    _softmax("Softmax", "Turns scores into probabilities along a dimension."),
    _softmax("LogSoftmax", "Log of Softmax, numerically stable; pairs with the nll loss."),
)
