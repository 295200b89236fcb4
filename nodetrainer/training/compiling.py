"""`training.compile`: torch.compile of the network, in place, with an eager fallback.

`CompiledForward.install(model, setting, device)` replaces the model's `forward`
by a compiled one as an instance attribute, so the module, its state_dict keys,
its hooks and the per-node names gradient health reads stay exactly as in eager
mode: checkpoints of compiled and eager runs load into each other.

- What torch mode runs: `true` is torch's default mode, except on CUDA for
  small networks (under SMALL_MODEL_PARAMS parameters), where it is
  `reduce-overhead` (CUDA graphs: a small network's steps are bound by Python
  launching kernels, not by the GPU). `max-autotune` autotunes kernels (with
  CUDA graphs on CUDA, without on the CPU).
- The batch dimension is compiled as dynamic, so the last, smaller batch of an
  epoch and the evaluation batches reuse the compiled code; training and
  evaluation mode are one compile each. `warm_up` (the trainer calls it once,
  as the "compiling" phase) runs both on real samples and puts every weight,
  buffer, gradient and random state back.
- torch's caches (the FX graph and AOTAutograd caches, on disk under torch's
  cache folder) make a later run of the same network compile faster; nothing
  here turns them off.
- Compiling can be impossible: no C++ compiler (CPU), no Triton (CUDA), an op
  dynamo does not support. That is known up front where it can be
  (`unavailable_reason`) or at the first compiled call; either way the forward
  goes back to eager and `fallback` holds the one-line reason, which the
  trainer reports as one warning. A failure that eager execution repeats is the
  model's own error and is raised as eager mode raises it.
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import Any, Callable

import torch
from torch import nn

SMALL_MODEL_PARAMS = 5_000_000  # below this, `compile: true` on CUDA uses CUDA graphs (reduce-overhead)


def torch_mode(setting: bool | str, device: torch.device, num_params: int) -> str:
    """The torch.compile mode for a `training.compile` value on `device` ('default', 'reduce-overhead', ...)."""
    cuda = device.type == "cuda"
    if setting == "max-autotune":
        return "max-autotune" if cuda else "max-autotune-no-cudagraphs"
    if cuda and num_params < SMALL_MODEL_PARAMS:
        return "reduce-overhead"
    return "default"


def uses_cuda_graphs(mode: str | None) -> bool:
    return mode in ("reduce-overhead", "max-autotune")


def unavailable_reason(device: torch.device) -> str | None:
    """Why torch.compile cannot work here, when that is known without trying; None when it may."""
    if not hasattr(torch, "compile"):
        return f"this PyTorch ({torch.__version__}) has no torch.compile"
    try:
        if not torch._dynamo.is_dynamo_supported():
            return f"torch.compile does not support Python {sys.version_info.major}.{sys.version_info.minor} here"
    except Exception as exc:  # an import problem inside torch: compiling cannot work either
        return f"torch.compile is not usable: {type(exc).__name__}: {_first_line(exc)}"
    if device.type == "cpu" and not any(shutil.which(cc) for cc in ("g++", "c++", "clang++", "cl")):
        return "no C++ compiler was found (torch.compile needs one for the CPU; install g++ or clang)"
    if device.type == "cuda":
        try:
            import triton  # noqa: F401
        except Exception:
            return "Triton is not installed (torch.compile needs it on CUDA GPUs)"
    if device.type == "mps":
        return "torch.compile is not supported for training on Apple MPS"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class CompiledForward:
    """A model whose forward runs through torch.compile, falling back to eager once it cannot."""

    def __init__(self, model: nn.Module, mode: str):
        self.model = model
        self.mode = mode
        self.fallback: str | None = None  # why the model runs eagerly after all (one line), once known
        self.model_error = False  # the warm-up failed eagerly too: the model's own error, not compiling's
        self.seconds = 0.0  # wall time of the warm-up (the compiles)
        self.warmed = False
        self._eager = model.forward  # the bound forward of the generated class
        self._compiled = torch.compile(self._eager, mode=mode)
        model.forward = self._forward  # an instance attribute: no wrapper module, same state_dict keys

    @classmethod
    def install(cls, model: nn.Module, setting: bool | str, device: torch.device) -> "CompiledForward":
        """Compiles `model` in place for `setting` (True or 'max-autotune'); when compiling cannot work here the
        result already holds the fallback reason and the model stays eager."""
        reason = unavailable_reason(device)
        num_params = sum(p.numel() for p in model.parameters())
        if reason is not None:
            self = cls.__new__(cls)
            self.model, self.mode, self.fallback, self.seconds, self.warmed = model, None, reason, 0.0, True
            self.model_error = False
            self._eager = self._compiled = None
            return self
        return cls(model, torch_mode(setting, device, num_params))

    @property
    def active(self) -> bool:
        return self.fallback is None

    @property
    def cuda_graphs(self) -> bool:
        return self.active and uses_cuda_graphs(self.mode)

    def _forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.fallback is not None:
            return self._eager(*args, **kwargs)
        try:
            return self._compiled(*args, **kwargs)
        except Exception as exc:
            out = self._eager(*args, **kwargs)  # the model's own error, if it has one, is raised here as in eager
            self.disable(exc)
            return out

    def disable(self, exc: BaseException | str) -> None:
        """Back to eager for good; `exc` is why."""
        if self.fallback is None:
            self.fallback = exc if isinstance(exc, str) else f"{type(exc).__name__}: {_first_line(exc)}"
        if self._eager is not None and self.model.__dict__.get("forward") is not None:
            del self.model.forward  # the class's forward again

    def warm_up(self, run_step: Callable[[], None], run_eval: Callable[[], None] | None) -> float:
        """Compiles now: `run_step` runs one training forward and backward, `run_eval` one evaluation forward.
        Every weight, buffer (BatchNorm statistics), gradient and random state is put back afterwards."""
        if self.warmed or not self.active:
            self.warmed = True
            return 0.0
        from .seeding import rng_state, set_rng_state
        model = self.model
        saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
        rng = rng_state()
        was_training = model.training
        t0 = time.perf_counter()
        try:
            run_step()
            if run_eval is not None and self.active:
                run_eval()
        except Exception as exc:  # compiling the backward (lazy in torch) or a mode switch failed
            self.disable(exc)
            try:
                run_step()  # eagerly: does the model itself fail? Then the run reports that, as in eager mode
            except Exception:
                self.model_error = True
        finally:
            self.seconds = time.perf_counter() - t0
            self.warmed = True
            model.train(was_training)
            with torch.no_grad():
                model.load_state_dict(saved)
            for p in model.parameters():
                p.grad = None
            set_rng_state(rng)
        return self.seconds


def mark_step() -> None:
    """Before a step of a network compiled with CUDA graphs: the previous step's outputs may be reused."""
    torch.compiler.cudagraph_mark_step_begin()


def dynamic_batch(x: torch.Tensor) -> torch.Tensor:
    """`x` with its batch dimension marked dynamic for the first compile (no error where it must be static)."""
    torch._dynamo.maybe_mark_dynamic(x, 0)
    return x
