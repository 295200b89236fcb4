"""Training: the loop, its settings made real, events, checkpoints and run folders.

Start from `run.prepare(graph, overrides)` (pre-flight checks, then a
`TrainingSession`), `run.resume(run_dir)` and `run.evaluate_run(run_dir, split)`;
`Trainer` is the loop itself for callers that build model and data themselves.

Modules, one job each: events (typed events, publisher), device, precision,
seeding, losses, metrics, optimizers, schedulers, regularization,
early_stopping, grad_health, batches, checkpoint, runs (run folder layout),
failures (errors -> one line naming the node), trainer (the loop), run (entry points).
"""
from .events import (EpochEnded, Failed, Finished, GradientStats, Progress, Publisher, Started, Warning,
                     WarningEvent)
from .run import TrainingSession, apply_overrides, evaluate_run, prepare, resume
from .trainer import RunResult, Trainer, TrainerOptions

__all__ = [
    "Started", "Progress", "EpochEnded", "GradientStats", "Warning", "WarningEvent", "Finished", "Failed",
    "Publisher", "Trainer", "TrainerOptions", "RunResult",
    "TrainingSession", "prepare", "resume", "evaluate_run", "apply_overrides",
]
