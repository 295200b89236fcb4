"""Explicit weight penalties of `training.regularization`, added to the training loss.

- l1: a * sum |W|            (sparsity)
- l2: b * sum W^2            (with l1: elastic net)
- orthogonal: c * sum ||G - I||_F^2 with G the Gram matrix of W seen as a
  matrix out x (in*k*k) (convolution kernels flattened): G = W W^T when out <= fan-in,
  else W^T W (the rows of a tall matrix cannot all be orthonormal; its columns can).

Penalties apply to weight matrices and kernels only (dim >= 2), never to biases or
normalization parameters; the orthogonal penalty applies to Linear and
convolution weights (not embeddings or recurrent cells). Norms of all weights are
computed with PyTorch's multi-tensor kernels: a handful of kernel launches per step
whatever the number of layers.
"""
from __future__ import annotations

import torch
from torch import nn

from ..settings import RegularizationConfig

_ORTHO_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def penalized_weights(model: nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]


def orthogonal_weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, _ORTHO_TYPES) and m.weight.requires_grad]


def orthogonality_error(weight: torch.Tensor) -> torch.Tensor:
    """||G - I||_F^2 for one weight (the quantity the orthogonal penalty sums)."""
    w = weight.reshape(weight.shape[0], -1)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    eye = torch.eye(gram.shape[0], device=gram.device, dtype=gram.dtype)
    return (gram - eye).square().sum()


class WeightPenalty:
    """Callable returning the total penalty (a scalar tensor) for the model's current weights."""

    def __init__(self, cfg: RegularizationConfig, model: nn.Module):
        self.l1, self.l2, self.orthogonal = float(cfg.l1), float(cfg.l2), float(cfg.orthogonal)
        self.weights = penalized_weights(model) if (self.l1 or self.l2) else []
        self.ortho = orthogonal_weights(model) if self.orthogonal else []
        # ConvTranspose stores weights as in x out x k: its rows are input channels; the Gram is the same either way
        self.active = bool((self.weights and (self.l1 or self.l2)) or self.ortho)

    def __call__(self) -> torch.Tensor:
        total: torch.Tensor | None = None
        if self.weights:
            if self.l1:
                total = self.l1 * torch.stack(torch._foreach_norm(self.weights, 1)).sum()
            if self.l2:
                l2 = self.l2 * torch.stack(torch._foreach_norm(self.weights, 2)).square().sum()
                total = l2 if total is None else total + l2
        if self.ortho:
            ortho = self.orthogonal * sum(orthogonality_error(w) for w in self.ortho)
            total = ortho if total is None else total + ortho
        assert total is not None
        return total
