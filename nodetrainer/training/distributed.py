"""One run on several processes: DistributedDataParallel under PyTorch's own launcher.

`nodetrainer train FILE --nproc-per-node N` (cli_train) starts N workers per
machine through `torch.distributed.run`'s launcher API (`elastic_launch`, what
`torchrun` runs); each worker calls `worker_main`, which prepares the same
session as a one-process run with a `Distributed` context:

- NCCL on CUDA (each worker its own GPU, `cuda:LOCAL_RANK`), gloo on the CPU.
- The model is wrapped in `DistributedDataParallel` for training steps; the
  trainer keeps the plain module for everything else, so checkpoints, gradient
  health and the kept weights look exactly like a one-process run's.
- Each rank takes its part of every global batch (`batches.ShardedBatches`);
  `batch_size` stays the global batch. Validation and test splits are shared out
  in contiguous parts. Losses and metrics are all-reduced before anything reads
  them, so metrics.csv, early stopping, divergence and the kept epoch see global
  values and every rank takes the same decisions; BatchNorm statistics are
  broadcast from rank 0 before each evaluation.
- Rank 0 alone has the run folder and the progress display; summary.json says
  `world_size`.

A worker that fails (an exception, a kill) ends the launch; the launcher's
`ChildFailedError` becomes one line naming the rank (see `failure_line`), and
the run folder keeps its last checkpoint, resumable with `--resume`.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError, Problem


@dataclass(frozen=True)
class Distributed:
    """This process's place in a distributed run."""

    rank: int
    world_size: int
    local_rank: int

    @classmethod
    def from_env(cls) -> "Distributed | None":
        """The context torchrun's environment describes (RANK, WORLD_SIZE, LOCAL_RANK), or None for one process."""
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        if world <= 1:
            return None
        return cls(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: str) -> torch.device:
        """The device of this rank: its own GPU (cuda:LOCAL_RANK) when CUDA is asked for or `auto` finds it,
        else the CPU. A rank never shares a GPU with another."""
        if requested in ("auto", "cuda") and torch.cuda.is_available():
            if self.local_rank >= torch.cuda.device_count():
                raise ConfigError(Problem(f"rank {self.rank} needs GPU {self.local_rank} but this machine has "
                                          f"{torch.cuda.device_count()}; use --nproc-per-node "
                                          f"{torch.cuda.device_count()} or fewer"))
            return torch.device("cuda", self.local_rank)
        if requested.startswith("cuda"):
            raise ConfigError(Problem(f"training.device is {requested} but CUDA is not available; "
                                      "use --device cpu for a distributed run on the CPU"))
        if requested == "mps":
            raise ConfigError(Problem("distributed training runs on CUDA (NCCL) or the CPU (gloo), not on mps"))
        return torch.device("cpu")

    def init(self, device: torch.device) -> None:
        import torch.distributed as dist
        if not dist.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group(backend)

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The module a training step runs: DistributedDataParallel averaging gradients over the ranks."""
        from torch.nn.parallel import DistributedDataParallel
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def broadcast_buffers(self, model: nn.Module) -> None:
        """Rank 0's buffers (BatchNorm running statistics) on every rank, so evaluation agrees everywhere."""
        import torch.distributed as dist
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)

    def close(self) -> None:
        import torch.distributed as dist
        if dist.is_initialized():
            dist.destroy_process_group()


def launch_command(graph_file: str, nproc_per_node: int, nnodes: int = 1, master_addr: str = "MASTER_ADDR",
                   master_port: int = 29500) -> list[str]:
    """The command line(s) that train `graph_file` on `nproc_per_node` processes on each of `nnodes` machines:
    one line for one machine, else one per machine (each with its --node-rank), ready to paste in a shell."""
    import shlex
    base = ["nodetrainer", "train", graph_file, "--nproc-per-node", str(nproc_per_node)]
    if nnodes <= 1:
        return [shlex.join(base)]
    return [shlex.join(base + ["--nnodes", str(nnodes), "--node-rank", str(rank), "--master-addr", master_addr,
                               "--master-port", str(master_port)]) for rank in range(nnodes)]


def free_port() -> int:
    """A TCP port free on this machine now (the rendezvous of a one-machine run when none is given)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def failure_line(exc: Any) -> str:
    """One line for a launch whose worker failed: the first rank to fail, and how (its exception's message,
    or the signal that killed it)."""
    failures = getattr(exc, "failures", None) or {}
    if not failures:
        return f"a worker failed: {exc}"
    rank, failure = min(failures.items(), key=lambda item: (item[1].timestamp, item[0]))
    message = failure.message
    if isinstance(message, dict):
        message = message.get("message", "")
    text = (str(message).strip().splitlines() or [""])[0]
    if failure.exitcode is not None and failure.exitcode < 0:
        how = f"was killed by {failure.signal_name()}"
    elif text:
        how = f"failed: {text}"
    else:
        how = f"exited with status {failure.exitcode}"
    return f"rank {rank} {how}"


__all__ = ["Distributed", "free_port", "failure_line", "launch_command"]
