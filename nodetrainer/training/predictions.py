"""What a trained model predicts on a split: the data behind a confusion matrix or a predicted-vs-true plot.

`predict(trainer, split)` runs the trainer's current (kept) weights over the val
split (else test, else train) once, in inference mode, and returns plain numpy
arrays; `confusion_matrix` counts them per class. Used by the desktop app after
a run finishes, in the training thread, so the UI only draws.
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
    trues, preds, seen = [], [], 0
    model = trainer.model
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), trainer.precision.autocast():
            for xb, yb in batches.batches():
                out = trainer._select(call_model(model, xb))  # noqa: SLF001 - the trainer's own output selection
                if classification:
                    if out.dim() == 2 and out.shape[-1] > 1:
                        pred = out.argmax(dim=-1)
                    elif out.dim() <= 2 and (out.dim() == 1 or out.shape[-1] == 1):
                        pred = (out.reshape(-1) > 0).long()  # one logit: binary
                    else:
                        return None
                    trues.append(yb.reshape(-1).long().cpu())
                    preds.append(pred.cpu())
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
    return Predictions("classification" if classification else "regression", name, y_true, y_pred,
                       list(class_names) if class_names else None)


__all__ = ["Predictions", "predict", "confusion_matrix"]
