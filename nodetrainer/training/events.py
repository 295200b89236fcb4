"""Typed training events and the small publisher that delivers them.

The trainer reports everything it does as one of the frozen dataclasses below,
delivered synchronously, in the training thread, to every subscriber. The
command line turns them into a progress bar; the desktop app's worker re-emits
them as queued Qt signals; a tuner reads `EpochEnded` to prune. A subscriber
can never crash training: its first exception becomes a `Warning` event and
the subscriber keeps being called (further exceptions from it are swallowed).

Note: the class `Warning` deliberately shadows the builtin inside this module's
namespace only; import it as `from nodetrainer.training.events import Warning
as WarningEvent` where the builtin matters.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Union


@dataclass(frozen=True)
class Started:
    total_epochs: int
    steps_per_epoch: int
    device: str
    precision: str
    run_dir: str | None
    start_epoch: int = 1  # > 1 when a run resumes
    compiled: str | None = None  # the torch.compile mode the network runs with; None: eager
    compile_s: float | None = None  # how long compiling took (the "compiling" phase), when compiled
    channels_last: bool = False  # convolutions run in the channels-last memory format (CUDA)


@dataclass(frozen=True)
class Progress:
    """Throttled (time-based) progress within an epoch; `loss` is the epoch's running mean."""

    epoch: int
    step: int
    steps_per_epoch: int
    loss: float
    samples_per_s: float
    eta_s: float
    lr: float


@dataclass(frozen=True)
class EpochEnded:
    """`metrics` holds train_loss, val_loss and val_<metric> (val_* only when a validation split exists)."""

    epoch: int
    metrics: dict[str, float]
    lr: float
    seconds: float
    improved: bool = False  # the monitored value reached a new best this epoch


@dataclass(frozen=True)
class GradientStats:
    """Per node id (top-level module name): L2 norms of the gradients and of the parameters."""

    step: int
    grad_norms: dict[str, float]
    weight_norms: dict[str, float]
    epoch: int = 0


@dataclass(frozen=True)
class Warning:  # noqa: A001 - the public event name
    """Something the user should know. `level` is "warning" (the run goes on as asked) or "error" (it
    cannot: it diverged, or its files cannot be written); `kind` says what it is about, for code to act
    on without reading `message`: one of WARNING_KINDS. `node` is the node it concerns, where one does."""

    message: str
    node: str | None = None
    level: str = "warning"
    kind: str = "other"


# what a Warning is about
DIVERGED = "diverged"  # level error; `node` is the node whose gradient exploded (see GradientStats before it)
GRADIENT_EXPLODING = "gradient_exploding"
GRADIENT_VANISHING = "gradient_vanishing"
UNSAVED = "unsaved"  # level error; a run-folder file could not be written (full disk, read-only folder)
SUBSCRIBER = "subscriber"  # an event subscriber raised
SETTING = "setting"  # a setting was adjusted or does not apply (precision on this device, metrics of the task)
COMPILE_FALLBACK = "compile_fallback"  # training.compile is set but the network trains eagerly (the reason is said)
WARNING_KINDS = (DIVERGED, GRADIENT_EXPLODING, GRADIENT_VANISHING, UNSAVED, SUBSCRIBER, SETTING, COMPILE_FALLBACK,
                 "other")
LEVELS = ("warning", "error")


@dataclass(frozen=True)
class Finished:
    """`reason` is completed, early_stopped, diverged or stopped; epochs are 1-based, best_epoch 0 = initial weights."""

    reason: str
    epochs_run: int
    best_epoch: int | None
    best: dict[str, float]
    test: dict[str, float] | None
    run_dir: str | None
    duration_s: float = 0.0
    samples_per_s: float = 0.0
    unsaved: str | None = None  # why the run folder could not be written; the weights are still in memory


@dataclass(frozen=True)
class Failed:
    """Training stopped on an error; `message` is one line for the user, `node` the node that failed where known."""

    message: str
    node: str | None = None
    run_dir: str | None = None


Event = Union[Started, Progress, EpochEnded, GradientStats, Warning, Finished, Failed]
Callback = Callable[[Any], None]
WarningEvent = Warning


@dataclass
class Publisher:
    """Delivers events to subscribers; safe to subscribe/unsubscribe from any thread."""

    _subscribers: list[Callback] = field(default_factory=list)
    _failed: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Adds `callback(event)`; returns a function that unsubscribes it."""
        with self._lock:
            self._subscribers = [*self._subscribers, callback]
        return lambda: self.unsubscribe(callback)

    def unsubscribe(self, callback: Callback) -> None:
        with self._lock:
            self._subscribers = [c for c in self._subscribers if c is not callback]

    @property
    def active(self) -> bool:
        return bool(self._subscribers)

    def emit(self, event: Any) -> None:
        for callback in self._subscribers:  # the list is replaced, never mutated: safe to iterate
            try:
                callback(event)
            except Exception as exc:  # a subscriber must never stop training
                key = id(callback)
                if key in self._failed:
                    continue
                self._failed.add(key)
                name = getattr(callback, "__qualname__", None) or type(callback).__name__
                warning = Warning(f"event subscriber {name} failed: {type(exc).__name__}: {exc}; "
                                  "its later errors are ignored", kind=SUBSCRIBER)
                for other in self._subscribers:
                    if other is not callback:
                        try:
                            other(warning)
                        except Exception:
                            pass
