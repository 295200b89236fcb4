"""Recurrent layers over sequences [L, F]."""
from __future__ import annotations

from ..schema import REQUIRED, Param
from .base import Cost, LayerType, ShapeError, Tensor, call, need_float, need_rank, register


def _recurrent(name: str, gates: int, doc: str) -> LayerType:
    def infer(p, ins):
        x = ins[0]
        need_float(name, x)
        need_rank(name, x, (2,), "a sequence [L, F]")
        if p["dropout"] and p["num_layers"] == 1:
            raise ShapeError(f"{name} dropout applies between stacked layers; it needs num_layers > 1")
        h = p["hidden_size"] * (2 if p["bidirectional"] else 1)
        return Tensor((x.shape[0], h) if p["return_sequences"] else (h,))

    def cost(p, ins, out):
        length, features = ins[0].shape
        dirs, hidden = (2 if p["bidirectional"] else 1), p["hidden_size"]
        params = macs = 0
        for layer in range(p["num_layers"]):
            size_in = features if layer == 0 else hidden * dirs
            params += dirs * (gates * hidden * (size_in + hidden) + 2 * gates * hidden)
            macs += dirs * length * gates * hidden * (size_in + hidden)
        return Cost(params, macs)

    def forward(p, args, attr, out, ins):
        if p["return_sequences"]:
            return [f"{out}, _ = self.{attr}({args[0]})"]
        state = f"({out}, _)" if name == "LSTM" else out
        last = f"torch.cat([{out}[-2], {out}[-1]], dim=1)" if p["bidirectional"] else f"{out}[-1]"
        return [f"_, {state} = self.{attr}({args[0]})", f"{out} = {last}"]

    return LayerType(
        name, "layers", doc,
        params=(
            Param("hidden_size", "int", REQUIRED, "size of the hidden state", lo=1),
            Param("num_layers", "int", 1, "stacked recurrent layers", lo=1, hi=64),
            Param("bidirectional", "bool", False, "also read the sequence backwards (doubles the output size)"),
            Param("dropout", "float", 0.0, "dropout between stacked layers", lo=0.0, hi=1.0, hi_open=True),
            Param("return_sequences", "bool", True, "output every step [L, H], or only the last [H]"),
        ),
        infer=infer,
        constructor=lambda p, ins: call(f"nn.{name}", ins[0].shape[1], p["hidden_size"],
                                        defaults={"num_layers": 1, "dropout": 0.0, "bidirectional": False},
                                        num_layers=p["num_layers"], batch_first=True, dropout=p["dropout"],
                                        bidirectional=p["bidirectional"]),
        forward=forward, cost=cost, init_weights=("weight*",), key_params=("hidden_size",),
    )


register(
    _recurrent("LSTM", 4, "Long short-term memory: gated recurrence that keeps gradients alive over long sequences."),
    _recurrent("GRU", 3, "Gated recurrent unit: a lighter LSTM."),
)
