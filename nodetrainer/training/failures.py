"""Turning an exception raised while training into one line for the user, naming the node.

The node is found from the traceback: the innermost frame whose `self` is one
of the model's top-level modules names that module's node id (the compiled
model names them by node id); otherwise the frame executing the model's own
generated `forward` gives the line being run, whose assignment target is the
node's variable (`skip = relu1 + bn2`). Out-of-memory errors get advice instead
of PyTorch's allocator dump.
"""
from __future__ import annotations

import linecache
import re
from dataclasses import dataclass
from types import TracebackType
from typing import Iterable

import torch
from torch import nn

_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=(?!=)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class FailureInfo:
    message: str
    node: str | None


def locate_node(tb: TracebackType | None, model: nn.Module | None, node_ids: Iterable[str] | None = None,
                names: dict[str, str] | None = None) -> str | None:
    """The node id where the traceback `tb` failed, or None."""
    if tb is None or model is None:
        return None
    try:  # the compiler knows which generated line belongs to which node
        from ..compiler import node_for_traceback
        node = node_for_traceback(tb)
        if node is not None:
            return node
    except ImportError:
        pass
    names = names or {}
    children = {id(m): names.get(name, name) for name, m in model.named_children()}
    ids = set(node_ids) if node_ids is not None else set(children.values())
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    found: str | None = None
    for frame, lineno in frames:  # outermost first: the first child module entered is the node
        owner = frame.f_locals.get("self")
        if owner is None:
            continue
        if id(owner) in children:
            return children[id(owner)]
        if owner is model and found is None:
            line = linecache.getline(frame.f_code.co_filename, lineno)
            match = _ASSIGN.match(line)
            if match and match.group(1) in ids:
                found = match.group(1)
            else:
                names = [n for n in _NAME.findall(line) if n in ids]
                if names:
                    found = names[0]
    return found


def describe_failure(exc: BaseException, model: nn.Module | None = None, node_ids: Iterable[str] | None = None,
                     batch_size: int | None = None, names: dict[str, str] | None = None) -> FailureInfo:
    """One line for the user and the node id, from an exception raised by the training loop."""
    node = locate_node(exc.__traceback__, model, node_ids, names)
    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
        advice = f"with batch_size {batch_size}; " if batch_size else "; "
        message = (f"the device ran out of memory {advice}try a smaller batch_size, precision bf16 or fp16, "
                   "or a smaller network")
        return FailureInfo(message, node)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    message = f"{type(exc).__name__}: {text}" if not isinstance(exc, RuntimeError) else text
    return FailureInfo(f"training failed: {message}", node)
