"""What a trained model predicts on a split: the data behind a confusion matrix or a predicted-vs-true plot.

`predict(trainer, split)` runs the trainer's current (kept) weights over the val
split (else test, else train) once, in inference mode, and returns plain numpy
arrays; `confusion_matrix` counts them per class. Each prediction keeps the index
of its sample in the split and the model's confidence in the class it predicted,
so a view can show the samples behind a confusion-matrix cell (`in_cell`) and the
most confidently wrong ones (`confidently_wrong`). `class_probabilities` turns a
classifier's output into probabilities, the one rule `predict` (predict.py) uses too.
Used by the desktop app after a run finishes, in the training thread, so the UI only draws.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .batches import call_model

MAX_SAMPLES = 20_000  # enough for a confusion matrix or a scatter plot; keeps the pass short


@dataclass
class Predictions:
    task: str  # classification or regression
    split: str  # which split was predicted: val, test or train
    y_true: np.ndarray  # class indices [N] / targets [N, T]
    y_pred: np.ndarray  # class indices [N] / predictions [N, T]
    class_names: list[str] | None = None
    indices: np.ndarray | None = None  # int64 [N]: each prediction's sample index in the split
    confidence: np.ndarray | None = None  # float32 [N]: the probability of the predicted class (classification)

    def __post_init__(self) -> None:
        if self.indices is None:
            self.indices = np.arange(len(self.y_true), dtype=np.int64)

    def class_name(self, index: int) -> str:
        names = self.class_names
        return names[index] if names and 0 <= index < len(names) else str(index)

    def in_cell(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Positions (into y_true/y_pred/indices) of the predictions counted in confusion cell (true, predicted)."""
        return np.flatnonzero((self.y_true == true_class) & (self.y_pred == predicted_class))

    def confidently_wrong(self, limit: int = 12) -> np.ndarray:
        """Positions of wrong predictions, the most confident first (ties: split order)."""
        wrong = np.flatnonzero(self.y_true != self.y_pred)
        if self.confidence is None or not len(wrong):
            return wrong[:limit]
        order = np.argsort(-self.confidence[wrong], kind="stable")
        return wrong[order][:limit]

    @property
    def num_classes(self) -> int:
        if self.class_names:
            return len(self.class_names)
        top = max(int(self.y_true.max(initial=-1)), int(self.y_pred.max(initial=-1)))
        return top + 1

    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.y_true, self.y_pred, self.num_classes)

    @property
    def accuracy(self) -> float:
        return float((self.y_true == self.y_pred).mean()) if len(self.y_true) else float("nan")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[true, predicted] as int64 [C, C]."""
    n = max(int(num_classes), 1)
    t = np.clip(np.asarray(y_true, dtype=np.int64).ravel(), 0, n - 1)
    p = np.clip(np.asarray(y_pred, dtype=np.int64).ravel(), 0, n - 1)
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n)


def class_probabilities(out: torch.Tensor) -> torch.Tensor | None:
    """[N, C] class probabilities from a classifier's output: softmax of C > 1 scores (logits, or the
    log-probabilities nll and kl_div take), [1 - p, p] with p = sigmoid for one logit; None for other shapes."""
    if out.dim() == 2 and out.shape[-1] > 1:
        return torch.softmax(out.float(), dim=-1)
    if out.dim() == 1 or (out.dim() == 2 and out.shape[-1] == 1):
        p = torch.sigmoid(out.float().reshape(-1, 1))
        return torch.cat([1 - p, p], dim=1)
    return None


def predict(trainer: Any, split: str | None = None, class_names: list[str] | None = None) -> Predictions | None:
    """Predictions of `trainer`'s model on `split` (default: val, else test, else train); None when the
    model's output cannot be read as classes or targets (e.g. a sequence output)."""
    order = [split] if split else ["val", "test", "train"]
    batches, name = None, None
    for candidate in order:
        batches = {"val": trainer.val_batches, "test": trainer.test_batches,
                   "train": trainer.train_batches}.get(candidate)
        if batches is not None:
            name = candidate
            break
    if batches is None or name is None:
        return None
    if name == "train":
        from .batches import TensorBatches
        if isinstance(batches, TensorBatches) and batches.shuffle:
            batches = TensorBatches(batches.x, batches.y, batches.batch_size * 4, trainer.device)
    classification = trainer.task == "classification"
    trues, preds, confs, seen = [], [], [], 0
    model = trainer.model
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), trainer.precision.autocast():
            for xb, yb in batches.batches():
                out = trainer._select(call_model(model, xb))  # noqa: SLF001 - the trainer's own output selection
                if classification:
                    probs = class_probabilities(out)
                    if probs is None:
                        return None
                    conf, pred = probs.max(dim=-1)  # one logit: class 1 when p > 0.5, as logit > 0
                    trues.append(yb.reshape(-1).long().cpu())
                    preds.append(pred.cpu())
                    confs.append(conf.cpu())
                else:
                    if out.numel() != yb.numel():
                        return None
                    trues.append(yb.reshape(len(yb), -1).float().cpu())
                    preds.append(out.reshape(len(yb), -1).float().cpu())
                seen += len(yb)
                if seen >= MAX_SAMPLES:
                    break
    finally:
        model.train(was_training)
    if not trues:
        return None
    y_true = torch.cat(trues).numpy()
    y_pred = torch.cat(preds).numpy()
    confidence = torch.cat(confs).numpy() if confs else None
    return Predictions("classification" if classification else "regression", name, y_true, y_pred,
                       list(class_names) if class_names else None, confidence=confidence)


__all__ = ["Predictions", "predict", "confusion_matrix", "class_probabilities"]
