"""Gradient health per node: gradient and weight norms, exploding/vanishing warnings, clipping.

Parameters are grouped by the top-level module that owns them; the compiled
model names its top-level modules by node id, so every number and warning names
a node of the graph. A report costs two multi-tensor norm kernels, one
`index_add_` per group and a single `.tolist()`; the trainer asks for one every
few steps (and at least once an epoch, and at steps 1, 2, 4, 8, 16 of a run,
where a learning rate that blows up shows first), never every step.

A node warns when it enters a bad state (exploding: a non-finite norm or one
above `explode`; vanishing: below `vanish`) and again only after it recovered,
so a long run does not drown its user in repeats.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ..settings import GradClipConfig
from .events import GRADIENT_EXPLODING, GRADIENT_VANISHING
from .events import Warning as WarningEvent

EXPLODE = 1e3
VANISH = 1e-7


def node_of(param_name: str) -> str:
    return param_name.split(".", 1)[0]


class GradientMonitor:
    def __init__(self, model: nn.Module, explode: float = EXPLODE, vanish: float = VANISH,
                 nonfinite_is_normal: bool = False, names: dict[str, str] | None = None):
        """`names` maps a top-level attribute to its node id where they differ (see compiler.node_of_attr)."""
        names = names or {}
        named = [(names.get(node_of(n), node_of(n)), p) for n, p in model.named_parameters() if p.requires_grad]
        self.nodes: list[str] = list(dict.fromkeys(node for node, _ in named))
        index = {node: i for i, node in enumerate(self.nodes)}
        self.params = [p for _, p in named]
        self.param_node = [index[node] for node, _ in named]
        self.explode, self.vanish = explode, vanish
        self.nonfinite_is_normal = nonfinite_is_normal  # fp16 loss scaling skips such steps by design
        self._state: dict[str, str] = {}
        self.last_finite: dict[str, float] = {}  # the last gradient norms checked that were not all NaN/inf
        self._index_cache: dict[tuple[int, ...], torch.Tensor] = {}
        self._uniform = len({p.dtype for p in self.params}) <= 1 and len({p.device for p in self.params}) <= 1
        self._device = self.params[0].device if self.params else torch.device("cpu")

    def _index(self, members: tuple[int, ...]) -> torch.Tensor:
        idx = self._index_cache.get(members)
        if idx is None:
            idx = torch.tensor([self.param_node[i] for i in members], dtype=torch.long, device=self._device)
            self._index_cache[members] = idx
        return idx

    def _node_norms(self, tensors: list[torch.Tensor], members: tuple[int, ...]) -> torch.Tensor:
        norms = torch._foreach_norm(tensors)
        if not self._uniform:
            norms = [n.to(self._device, torch.float32) for n in norms]
        sq = torch.stack(norms).float().square()
        out = torch.zeros(len(self.nodes), device=sq.device, dtype=sq.dtype)
        return out.index_add_(0, self._index(members), sq).sqrt()

    def norms(self) -> tuple[dict[str, float], dict[str, float]]:
        """(gradient norm, weight norm) per node; nodes without gradients are left out of the first."""
        if not self.params:
            return {}, {}
        with torch.no_grad():
            present = tuple(i for i, p in enumerate(self.params) if p.grad is not None)
            all_idx = tuple(range(len(self.params)))
            weights = self._node_norms([p.detach() for p in self.params], all_idx)
            if present:
                grads = self._node_norms([self.params[i].grad for i in present], present)
                values = torch.cat([grads, weights]).tolist()
                g, w = values[: len(self.nodes)], values[len(self.nodes):]
            else:
                g, w = [], weights.tolist()
        with_grad = {self.param_node[i] for i in present}
        grad_norms = {node: g[i] for i, node in enumerate(self.nodes) if i in with_grad}
        weight_norms = dict(zip(self.nodes, w))
        return grad_norms, weight_norms

    def check(self, grad_norms: dict[str, float]) -> list[WarningEvent]:
        """Warnings for nodes that just became exploding or vanishing."""
        out = []
        for node, value in grad_norms.items():
            if not math.isfinite(value):
                state = "ok" if self.nonfinite_is_normal else "exploding"
            elif value > self.explode:
                state = "exploding"
            elif value < self.vanish:
                state = "vanishing"
            else:
                state = "ok"
            if state != self._state.get(node, "ok") and state != "ok":
                if state == "exploding":
                    out.append(WarningEvent(
                        f"gradient of node {node} is exploding (norm {value:.3g}); try a lower learning rate, "
                        "grad_clip: {max_norm: 1.0} or a normalization layer", node, kind=GRADIENT_EXPLODING))
                else:
                    out.append(WarningEvent(
                        f"gradient of node {node} is vanishing (norm {value:.2g}); the layers before it barely "
                        "learn: check activations (dead ReLUs, saturated sigmoid/tanh), init or learning rate", node,
                        kind=GRADIENT_VANISHING))
            self._state[node] = state
        if grad_norms and any(math.isfinite(v) for v in grad_norms.values()):
            self.last_finite = dict(grad_norms)
        return out

    def culprit(self, grad_norms: dict[str, float]) -> str | None:
        """The node a divergence is pinned on: the one with the largest gradient norm. Where the last
        step's norms are all non-finite (NaN has already reached every layer), the largest of the last
        report that still had finite ones; a non-finite norm beside finite ones counts as the largest."""
        for norms in (grad_norms, self.last_finite):
            finite = {n: v for n, v in norms.items() if math.isfinite(v)}
            if finite:
                broken = [n for n, v in norms.items() if not math.isfinite(v)]
                return broken[0] if broken else max(finite, key=finite.get)
        return None


def build_clipper(cfg: GradClipConfig | None, model: nn.Module) -> Callable[[], None] | None:
    """A function clipping the model's gradients in place, or None when clipping is off."""
    if cfg is None or (cfg.max_norm is None and cfg.max_value is None):
        return None
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.max_norm is not None:
        max_norm = float(cfg.max_norm)
        return lambda: torch.nn.utils.clip_grad_norm_(params, max_norm)
    max_value = float(cfg.max_value)
    return lambda: torch.nn.utils.clip_grad_value_(params, max_value)
