"""Epoch metrics accumulated on the device: accuracy, top5_accuracy, f1_macro, mae, rmse, r2.

`MetricAccumulator.update` only launches device kernels (sums, counts, a
confusion matrix), so a training or evaluation loop never waits for the GPU;
`compute` reads everything back with a single transfer once per epoch. The
definitions follow scikit-learn (`accuracy_score`, `f1_score(average="macro")`
over the labels that occur, `mean_absolute_error`, `root_mean_squared_error`
and `r2_score` averaged uniformly over regression targets) so numbers match what
users compute themselves.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

CLASSIFICATION_METRICS = ("accuracy", "top5_accuracy", "f1_macro")
REGRESSION_METRICS = ("mae", "rmse", "r2")


class MetricAccumulator:
    """Sums over batches for the loss and the named metrics.

    task: "classification" or "regression". For classification the outputs are
    logits/log-probabilities [N, C], or one logit [N, 1]/[N] for two classes;
    targets are class indices [N] (or soft targets [N, C]). For regression,
    outputs and targets have the same number of elements per sample.
    """

    def __init__(self, names: Sequence[str], task: str, device: torch.device | str,
                 num_classes: int | None = None, track_loss: bool = True):
        self.task = task
        applicable = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
        self.names = [n for n in names if n in applicable]
        self.skipped = [n for n in names if n not in applicable]
        self.device = torch.device(device)
        self.dtype = torch.float32 if self.device.type == "mps" else torch.float64
        self.num_classes = num_classes
        self.track_loss = track_loss
        self._need_confusion = "f1_macro" in self.names
        self.reset()

    def reset(self) -> None:
        z = lambda *shape: torch.zeros(shape, dtype=self.dtype, device=self.device)  # noqa: E731
        self._loss = z()
        self._count = 0  # known on the host: no kernel needed
        self._correct = z()
        self._top5 = z()
        self._top5_host = 0
        self._confusion: torch.Tensor | None = None
        self._reg: torch.Tensor | None = None  # rows: abs err, sq err, y sum, y sq sum; one column per target

    def state_dict(self) -> dict:
        """The running sums (for resuming in the middle of an epoch)."""
        return {"count": self._count, "loss": self._loss.cpu(), "correct": self._correct.cpu(),
                "top5": self._top5.cpu(), "top5_host": self._top5_host,
                "confusion": None if self._confusion is None else self._confusion.cpu(),
                "reg": None if self._reg is None else self._reg.cpu()}

    def load_state_dict(self, state: dict) -> None:
        to = lambda t: None if t is None else t.to(self.device, self.dtype)  # noqa: E731
        self._count, self._top5_host = int(state["count"]), int(state["top5_host"])
        self._loss, self._correct, self._top5 = to(state["loss"]), to(state["correct"]), to(state["top5"])
        self._confusion, self._reg = to(state["confusion"]), to(state["reg"])

    # -- accumulation (no host sync) ---------------------------------------------
    def add_loss(self, loss: torch.Tensor, count: int) -> None:
        """Adds a batch of `count` samples by its mean loss (the fast path when no metric is tracked)."""
        self._count += count
        self._loss.add_(loss.detach(), alpha=count)

    def update(self, out: torch.Tensor, y: torch.Tensor, loss: torch.Tensor | None = None) -> None:
        count = out.shape[0]
        if loss is not None:
            self.add_loss(loss, count)
        else:
            self._count += count
        if not self.names:
            return
        out = out.detach()
        if self.task == "classification":
            self._update_classification(out, y)
        else:
            self._update_regression(out, y)

    def _update_classification(self, out: torch.Tensor, y: torch.Tensor) -> None:
        if y.is_floating_point():
            y = y.argmax(-1) if y.dim() > 1 else (y > 0.5).long()
        single = out.dim() == 1 or out.shape[-1] == 1
        if single:
            pred = (out.reshape(-1) > 0).long()
        else:
            pred = out.argmax(-1)
        if "accuracy" in self.names:
            self._correct.add_((pred == y).sum())
        if "top5_accuracy" in self.names:
            if single:
                self._top5_host += out.shape[0]
            else:
                k = min(5, out.shape[-1])
                self._top5.add_((out.topk(k, dim=-1).indices == y.unsqueeze(-1)).any(-1).sum())
        if self._need_confusion:
            # one-hot product: no host sync (bincount needs one on CUDA) and deterministic
            c = self.num_classes or (2 if single else out.shape[-1])
            onehot_dtype = torch.float64 if self.dtype == torch.float64 and self.device.type == "cpu" else torch.float32
            counts = F.one_hot(y.clamp(0, c - 1), c).to(onehot_dtype).T @ F.one_hot(pred.clamp(0, c - 1), c).to(
                onehot_dtype)
            if self._confusion is None:
                self._confusion = torch.zeros(c * c, dtype=self.dtype, device=self.device)
            self._confusion.add_(counts.reshape(-1).to(self.dtype))

    def _update_regression(self, out: torch.Tensor, y: torch.Tensor) -> None:
        n = out.shape[0]
        out = out.reshape(n, -1).to(self.dtype)
        y = y.reshape(n, -1).to(self.dtype)
        diff = out - y
        rows = torch.stack([diff.abs().sum(0), diff.square().sum(0), y.sum(0), y.square().sum(0)])
        if self._reg is None:
            self._reg = rows
        else:
            self._reg.add_(rows)

    def all_reduce(self) -> None:
        """Sums this accumulator over every process of a distributed run (two small collectives: the
        sizes of the lazily made tensors, then every sum), so `compute` gives the global values on each
        rank, also on a rank that saw no sample."""
        import torch.distributed as dist
        sizes = torch.tensor([0 if self._confusion is None else self._confusion.numel(),
                              0 if self._reg is None else self._reg.numel()], device=self.device)
        dist.all_reduce(sizes, op=dist.ReduceOp.MAX)
        n_conf, n_reg = (int(v) for v in sizes.tolist())
        if self._confusion is None and n_conf:
            self._confusion = torch.zeros(n_conf, dtype=self.dtype, device=self.device)
        if self._reg is None and n_reg:
            self._reg = torch.zeros((4, n_reg // 4), dtype=self.dtype, device=self.device)
        parts = [self._loss.reshape(1), self._correct.reshape(1), self._top5.reshape(1),
                 torch.tensor([float(self._count), float(self._top5_host)], dtype=self.dtype, device=self.device)]
        if self._confusion is not None:
            parts.append(self._confusion.reshape(-1))
        if self._reg is not None:
            parts.append(self._reg.reshape(-1))
        flat = torch.cat(parts)
        dist.all_reduce(flat)
        self._loss, self._correct, self._top5 = flat[0].clone(), flat[1].clone(), flat[2].clone()
        self._count, self._top5_host = int(round(float(flat[3]))), int(round(float(flat[4])))
        rest = flat[5:]
        if self._confusion is not None:
            self._confusion, rest = rest[:n_conf].clone(), rest[n_conf:]
        if self._reg is not None:
            self._reg = rest.reshape(4, -1).clone()

    # -- reading back (one sync) ------------------------------------------------
    def mean_loss(self) -> float:
        """The running mean loss (one small read; for throttled progress reports)."""
        return self._loss.item() / self._count if self._count else float("nan")


    def compute(self, prefix: str = "") -> dict[str, float]:
        """The loss (as `{prefix}loss`, when tracked) and every metric, read back in one transfer."""
        parts = [self._loss.reshape(1), self._correct.reshape(1), self._top5.reshape(1)]
        if self._confusion is not None:
            parts.append(self._confusion)
        if self._reg is not None:
            parts.append(self._reg.reshape(-1))
        values = torch.cat(parts).tolist()
        loss, correct, top5 = values[:3]
        rest = values[3:]
        n = self._count
        top5 += self._top5_host
        result: dict[str, float] = {}
        if self.track_loss:
            result[prefix + "loss"] = loss / n if n else float("nan")
        if self.task == "classification":
            confusion = rest
            for name in self.names:
                if name == "accuracy":
                    result[prefix + name] = correct / n if n else float("nan")
                elif name == "top5_accuracy":
                    result[prefix + name] = top5 / n if n else float("nan")
                elif name == "f1_macro":
                    result[prefix + name] = _f1_macro(confusion)
        else:
            result.update({prefix + k: v for k, v in _regression(rest, n).items() if k in self.names})
        return result


def _f1_macro(confusion: list[float]) -> float:
    c = int(round(len(confusion) ** 0.5))
    if c == 0:
        return float("nan")
    rows = [confusion[i * c:(i + 1) * c] for i in range(c)]  # rows: true class, columns: predicted
    scores = []
    for k in range(c):
        tp = rows[k][k]
        fn = sum(rows[k]) - tp
        fp = sum(rows[i][k] for i in range(c)) - tp
        if tp + fn + fp == 0:
            continue  # a label that occurs in neither targets nor predictions (sklearn leaves it out)
        scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def _regression(flat: list[float], n: float) -> dict[str, float]:
    if not flat or not n:
        return {"mae": float("nan"), "rmse": float("nan"), "r2": float("nan")}
    t = len(flat) // 4
    abs_err, sq_err, y_sum, y_sq = (flat[i * t:(i + 1) * t] for i in range(4))
    mae = sum(abs_err) / (n * t)
    rmse = sum((s / n) ** 0.5 for s in sq_err) / t
    r2s = []
    for k in range(t):
        ss_tot = y_sq[k] - y_sum[k] ** 2 / n
        if ss_tot <= 1e-12 * max(1.0, y_sq[k]):
            r2s.append(1.0 if sq_err[k] == 0 else 0.0)
        else:
            r2s.append(1.0 - sq_err[k] / ss_tot)
    return {"mae": mae, "rmse": rmse, "r2": sum(r2s) / t}


def compute_metrics(out: torch.Tensor, y: torch.Tensor, names: Sequence[str], task: str,
                    num_classes: int | None = None) -> dict[str, float]:
    """Metrics of one set of outputs and targets (a convenience over MetricAccumulator)."""
    acc = MetricAccumulator(names, task, out.device, num_classes=num_classes, track_loss=False)
    acc.update(out, y)
    return acc.compute()
