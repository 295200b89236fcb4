"""One `--jobs` worker process: `python -m nodetrainer.tune.worker FOLDER --worker I ...`.

Started by `runner.run_study` (never by hand): it reads the plan from the tune
folder, sets torch threads, and runs `runner.work` on the shared storage until
the study holds its target. SIGTERM or the first SIGINT stops the trial in
progress cleanly (recorded as interrupted); a second SIGINT aborts. It stops
by itself when the process that started it is gone.
"""
from __future__ import annotations

import argparse
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nodetrainer.tune.worker")
    parser.add_argument("folder")
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parent", type=int, default=None)
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--deadline", type=float, default=None)
    args = parser.parse_args(argv)

    import torch

    from ..errors import NodeTrainerError
    from .plan import plan_resume
    from .runner import work
    from .trial import Control

    torch.set_num_threads(max(1, args.threads))
    control = Control()
    interrupts = [0]

    def on_sigint(_signum, _frame) -> None:
        interrupts[0] += 1
        if interrupts[0] > 1:
            raise KeyboardInterrupt
        control.stop()

    signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGTERM, lambda _s, _f: control.stop())
    try:
        plan = plan_resume(args.folder, trials=args.trials)
        work(plan, control, worker=args.worker, deadline=args.deadline, parent_pid=args.parent)
    except NodeTrainerError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
