"""Optuna's side: the storage, the sampler and pruner a `tune` section names, the study, trial 0.

Every storage is an Optuna RDB storage (the folder's SQLite file, or any URL
given with --storage) with heartbeats, so a trial whose process was killed is
failed by the next process that starts a trial (Optuna's `fail_stale_trials`);
`--resume` of a folder's own study marks such trials at once. SQLite waits up to
a minute for a lock, so several processes share one file.
"""
from __future__ import annotations

import warnings
from typing import Any

from ..errors import ConfigError, Problem
from .space import Dimension, grid_space

HEARTBEAT_S = 10
GRACE_S = 40
MEDIAN_STARTUP_TRIALS = 5  # trials that complete before the median pruner prunes anything
MEDIAN_WARMUP_EPOCHS = 2  # epochs a trial runs before it can be pruned


def quiet_optuna() -> None:
    """Optuna's own log lines repeat what the tuner reports (and warn about our caught failures)."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def open_storage(url: str, local: bool = False) -> Any:
    """An Optuna RDB storage for `url`; ConfigError naming the URL when it cannot be opened. `local`: the tune
    folder's own SQLite file, which runs in WAL mode with normal syncing (a report costs about 4 ms instead of
    8; a killed process still loses no finished trial; not for a file on a network share)."""
    import optuna
    quiet_optuna()
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    try:
        storage = optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_S,
                                             grace_period=GRACE_S)
    except Exception as exc:  # a bad URL, a missing database driver, an unreachable server
        raise ConfigError(Problem(f"cannot open the study storage: {type(exc).__name__}: {exc}",
                                  _masked(url))) from None
    if local and url.startswith("sqlite"):
        from sqlalchemy import event

        @event.listens_for(storage.engine, "connect")
        def _fast(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        storage.engine.dispose()  # connections made before the listener go
    return storage


def _masked(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def masked(url: str | None) -> str | None:
    """The URL without its password, for files and messages."""
    return None if url is None else _masked(url)


def make_sampler(name: str, dims: list[Dimension], seed: int, target: int) -> Any:
    import optuna
    if name == "grid":
        return optuna.samplers.GridSampler(grid_space(dims), seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    startup = max(3, min(10, target // 3))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)


def make_pruner(name: str) -> Any:
    import optuna
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS,
                                           n_warmup_steps=MEDIAN_WARMUP_EPOCHS)
    return optuna.pruners.NopPruner()


def sampler_seed(base: int, worker: int, existing: int) -> int:
    """Different for every worker and every (re)start, so no two processes replay one random sequence."""
    return (int(base) * 1_000_003 + worker * 7_919 + existing * 104_729) % (2**31 - 1)


def open_study(storage: Any, name: str, direction: str, sampler: Any = None, pruner: Any = None) -> Any:
    """The study `name` in `storage`, created when it does not exist; ConfigError when an existing one
    optimizes the other way."""
    import optuna
    study = optuna.create_study(storage=storage, study_name=name, direction=direction, sampler=sampler,
                                pruner=pruner, load_if_exists=True)
    have = study.direction.name.lower()
    if have != direction:
        raise ConfigError(Problem(f"the study '{name}' in this storage was made to {have} its metric, but "
                                  f"tune.direction says {direction}; name another study with --study"))
    return study


def enqueue_baseline(study: Any, params: dict[str, Any]) -> None:
    """Trial 0: the file's own values (only into a study that has no trial yet)."""
    if not study.get_trials(deepcopy=False):
        study.enqueue_trial(params, user_attrs={"baseline": True}, skip_if_exists=False)


def fail_running(study: Any, storage: Any) -> int:
    """Marks every running trial of `study` as interrupted (its process is gone: a resumed folder); returns
    how many."""
    from optuna.trial import TrialState
    study_id = storage.get_study_id_from_name(study.study_name)
    count = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        try:
            storage.set_trial_user_attr(trial_id, "outcome", "interrupted")
            storage.set_trial_user_attr(trial_id, "note", "interrupted: its process stopped during the trial")
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
            count += 1
        except Exception:  # finished meanwhile
            pass
    return count


def importances(study: Any, min_complete: int = 5) -> dict[str, float] | None:
    """Optuna's parameter importances (its default evaluator), or None before `min_complete` trials
    completed or when they cannot be told (one value tried only)."""
    import optuna
    from optuna.trial import TrialState
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < min_complete:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = optuna.importance.get_param_importances(study)
    except Exception:
        return None
    return {str(k): float(v) for k, v in values.items()} or None


__all__ = ["open_storage", "masked", "make_sampler", "make_pruner", "sampler_seed", "open_study",
           "enqueue_baseline", "fail_running", "importances", "quiet_optuna"]
