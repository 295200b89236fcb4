"""Feature scaling fitted on the training split: none, standard (mean/std) or minmax (to [0, 1]).

Every mode is `(x - shift) / scale` with `shift`/`scale` shaped like one sample
(per feature) or [C, 1, ...] (per channel, for images), so the same statistics apply
to one sample or to a batch, on any device. A feature that is constant in the training
split gets scale 1 (no division by zero). Integer inputs (token ids) pass unchanged.
"""
from __future__ import annotations

from typing import Any

import torch

MODES = ("none", "standard", "minmax")
CHUNK = 65536  # samples per pass when computing statistics


class Normalizer:
    """Fit on training features, then `apply` to any features; `state_dict` round-trips it."""

    def __init__(self, mode: str = "none"):
        if mode not in MODES:
            raise ValueError(f"normalize must be none, standard or minmax, got {mode!r}")
        self.mode = mode
        self.shift: torch.Tensor | None = None
        self.scale: torch.Tensor | None = None

    @property
    def fitted(self) -> bool:
        return self.mode == "none" or self.shift is not None

    def fit(self, x: torch.Tensor, per_channel: bool = False) -> "Normalizer":
        """Statistics of `x` [N, *sample_shape] over the samples (and, per channel, over every dim after the first)."""
        if self.mode == "none" or not x.is_floating_point():
            return self
        if x.shape[0] == 0:
            raise ValueError("cannot fit a normalizer on no samples")
        dims = (0,) + (tuple(range(2, x.dim())) if per_channel else ())
        if self.mode == "standard":
            mean = _chunked(x, dims, lambda c: c.sum(dims, keepdim=True)) / _count(x, dims)
            var = _chunked(x, dims, lambda c: ((c - mean) ** 2).sum(dims, keepdim=True)) / _count(x, dims)
            std = var.sqrt()
            constant = (std == 0) | (std <= 1e-7 * mean.abs())
            shift, scale = mean, torch.where(constant, torch.ones_like(std), std)
        else:
            lo = _chunked(x, dims, lambda c: c.amin(dims, keepdim=True), torch.minimum)
            hi = _chunked(x, dims, lambda c: c.amax(dims, keepdim=True), torch.maximum)
            span = hi - lo
            shift, scale = lo, torch.where(span > 0, span, torch.ones_like(span))
        self.shift = shift[0].to(torch.float32).contiguous()
        self.scale = scale[0].to(torch.float32).contiguous()
        return self

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Normalized copy of float features [*sample_shape] or [N, *sample_shape]; others unchanged."""
        if self.mode == "none" or not x.is_floating_point():
            return x
        if self.shift is None or self.scale is None:
            raise RuntimeError("Normalizer.apply called before fit")
        return (x - self.shift.to(x.device, x.dtype)) / self.scale.to(x.device, x.dtype)

    __call__ = apply

    def state_dict(self) -> dict[str, Any]:
        """{'mode': str} plus 'shift' and 'scale' tensors once fitted."""
        state: dict[str, Any] = {"mode": self.mode}
        if self.shift is not None and self.scale is not None:
            state["shift"] = self.shift.clone()
            state["scale"] = self.scale.clone()
        return state

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> "Normalizer":
        norm = cls(str(state["mode"]))
        if "shift" in state:
            norm.shift = torch.as_tensor(state["shift"], dtype=torch.float32).clone()
            norm.scale = torch.as_tensor(state["scale"], dtype=torch.float32).clone()
        return norm

    def __repr__(self) -> str:
        shape = None if self.shift is None else list(self.shift.shape)
        return f"Normalizer(mode={self.mode!r}, stats_shape={shape})"


def _count(x: torch.Tensor, dims: tuple[int, ...]) -> int:
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n


def _chunked(x: torch.Tensor, dims: tuple[int, ...], reduce: Any, combine: Any = torch.add) -> torch.Tensor:
    """Reduces `x` over `dims` in float64, a chunk of samples at a time (bounded extra memory)."""
    out = None
    for start in range(0, x.shape[0], CHUNK):
        part = reduce(x[start:start + CHUNK].to(torch.float64))
        out = part if out is None else combine(out, part)
    assert out is not None
    return out


def run_normalizers(checkpoint: dict[str, Any], input_ids: list[str]) -> dict[str, "Normalizer"]:
    """Each Input's fitted normalizer as saved with a run's checkpoint, by Input id (`input_ids`: the graph's
    Inputs in order). A run with several Inputs saves "normalizers" ({id: state}); a one-Input run saves
    "normalizer" and "input_id". Inputs that are not normalized (mode none, token ids) are left out."""
    states = checkpoint.get("normalizers")
    if not states:
        state = checkpoint.get("normalizer")
        states = {checkpoint.get("input_id") or input_ids[0]: state} if state else {}
    out: dict[str, Normalizer] = {}
    for input_id, state in states.items():
        norm = Normalizer.from_state_dict(state)
        if norm.shift is not None:
            out[str(input_id)] = norm
    return out
