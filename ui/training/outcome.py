"""What a run came to, in words a user reads in one second (Qt-free, so it is tested without widgets).

`describe(finished, config, metric_names)` turns a `Finished` event into an
`Outcome`: the headline number (the first metric on the test split, else on
validation) with its caption, the validation value beside it, the stop reason in
words with the best epoch and the duration, and a hint when the numbers say what
to do next ("still improving at the last epoch: raise epochs"). A run that
diverged or failed gets no numbers at all, only what went wrong and where
(`describe_problem`), so nothing that looks like a result is shown for it.
`fmt_metric` and `metric_label` format single values the same way everywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PERCENT_METRICS = {"accuracy", "top5_accuracy"}
LABELS = {"accuracy": "accuracy", "top5_accuracy": "top-5 accuracy", "f1_macro": "F1 score (macro)",
          "mae": "mean absolute error", "rmse": "RMS error", "r2": "R²", "loss": "loss"}
SPLITS = {"val": "validation", "train": "training", "test": "test"}


@dataclass(frozen=True)
class Outcome:
    level: str  # ok, warning (stopped by the user, a hint worth reading) or error (diverged, failed)
    title: str  # Completed, Stopped early, Stopped, Diverged, Failed
    value: str = ""  # the headline number, e.g. "98.3 %"; empty when there is none to trust
    caption: str = ""  # what it is: "test accuracy"
    side_value: str = ""  # the validation value beside it
    side_caption: str = ""
    detail: str = ""  # the stop reason in words, best epoch, duration
    hint: str = ""  # what to do next, when the numbers say so
    node: str | None = None  # where it went wrong (diverged, failed)
    resumable: bool = False  # stopped by the user: Resume continues it
    unsaved: str = ""  # why the run folder could not be written (the weights are in memory): save elsewhere


def split_metric(key: str) -> tuple[str, str]:
    """'val_accuracy' -> ('val', 'accuracy'); 'accuracy' -> ('', 'accuracy')."""
    for prefix in ("val_", "train_", "test_"):
        if key.startswith(prefix):
            return prefix[:-1], key[len(prefix):]
    return "", key


def metric_label(key: str) -> str:
    """'val_loss' -> 'validation loss', 'accuracy' -> 'accuracy'."""
    split, name = split_metric(key)
    label = LABELS.get(name, name.replace("_", " "))
    return f"{SPLITS[split]} {label}" if split else label


def fmt_metric(name: str, value: float | None) -> str:
    """Accuracies as percentages, scores with three decimals, errors and losses with four significant digits."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    base = split_metric(name)[1]
    if base in PERCENT_METRICS:
        return f"{100 * value:.1f} %"
    if base in ("f1_macro", "r2"):
        return f"{value:.3f}"
    return f"{value:.4g}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _epochs(n: int) -> str:
    return f"{n} epoch{'s' * (n != 1)}"


def _reason(finished: Any, config: Any) -> tuple[str, str]:
    """(title, the reason in words)."""
    n = finished.epochs_run
    if finished.reason == "completed":
        return "Completed", f"ran all {_epochs(n)}"
    if finished.reason == "early_stopped":
        es = getattr(config, "early_stopping", None)
        if es is not None:
            return "Stopped early", (f"stopped early at epoch {n}: {metric_label(es.monitor)} had not improved "
                                     f"for {_epochs(es.patience)}")
        return "Stopped early", f"stopped early at epoch {n}"
    if finished.reason == "stopped":
        return "Stopped", f"stopped by you after {_epochs(n)}"
    return finished.reason.replace("_", " ").capitalize(), f"after {_epochs(n)}"


def describe(finished: Any, config: Any = None, metric_names: list[str] | None = None) -> Outcome:
    """The outcome of a run that ended with usable weights (completed, early_stopped or stopped)."""
    title, reason = _reason(finished, config)
    names = list(metric_names or []) or ["loss"]
    headline = names[0]
    test = finished.test or {}
    best = finished.best or {}
    if headline in test:
        value, caption = fmt_metric(headline, test[headline]), f"test {metric_label(headline)}"
        side = best.get(f"val_{headline}")
        side_value, side_caption = (fmt_metric(headline, side), f"validation (best epoch)") if side is not None \
            else ("", "")
    elif f"val_{headline}" in best:
        value, caption = fmt_metric(headline, best[f"val_{headline}"]), f"validation {metric_label(headline)}"
        side_value, side_caption = "", "no test split: set one in the Data tab for an unbiased number"
    elif "val_loss" in best or "train_loss" in best:
        key = "val_loss" if "val_loss" in best else "train_loss"
        value, caption = fmt_metric("loss", best[key]), metric_label(key)
        side_value, side_caption = "", ""
    else:
        value, caption, side_value, side_caption = "", "", "", ""

    parts = [reason]
    if finished.best_epoch:
        kept = getattr(getattr(config, "early_stopping", None), "restore_best", True)
        parts.append(f"best epoch {finished.best_epoch}" + (" (its weights are kept)" if kept else ""))
    if finished.duration_s:
        parts.append(fmt_duration(finished.duration_s))
    if finished.samples_per_s:
        parts.append(f"{finished.samples_per_s:,.0f} samples/s")

    hint = ""
    if finished.reason == "completed" and finished.best_epoch and finished.best_epoch == finished.epochs_run \
            and finished.epochs_run > 1:
        hint = "Still improving at the last epoch: raise epochs to train longer."
    elif finished.reason == "stopped":
        hint = "Resume continues this run where it stopped."
    level = "warning" if finished.reason == "stopped" else "ok"
    unsaved = getattr(finished, "unsaved", None) or ""
    if unsaved:
        level = "error"
        hint = (f"The run folder could not be written ({unsaved}). The weights are still in memory: "
                "Save elsewhere… keeps them.")
    return Outcome(level, title, value, caption, side_value, side_caption, " · ".join(parts), hint,
                   resumable=finished.reason == "stopped" and not unsaved, unsaved=unsaved)


def describe_problem(title: str, message: str, node: str | None = None, hint: str = "") -> Outcome:
    """A run that diverged or failed: what went wrong and where, and no numbers."""
    where = f"node {node}: " if node and f"node {node}" not in message else ""
    return Outcome("error", title, detail=where + message, hint=hint, node=node)


DIVERGED_HINT = ("Lower the learning rate, clip gradients (Settings: grad_clip) or add a normalization layer, "
                 "then train again.")


__all__ = ["Outcome", "describe", "describe_problem", "fmt_metric", "metric_label", "fmt_duration",
           "DIVERGED_HINT"]
