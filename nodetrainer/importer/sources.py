"""SOURCE for `nodetrainer import`: `path/to/file.py:NAME` or `torchvision:NAME`, loaded as an nn.Module.

A file is imported as Python imports any file (its code runs); NAME is a class
built with no arguments, a function returning a module, or a module instance.
torchvision is an optional extra: its classification architectures are built
with `weights=None` (nothing is downloaded). Where torchvision's compiled
operators cannot load (a torchvision wheel built for another torch, such as a
CUDA build next to a CPU-only torch), the two operator schemas its pure-Python
part registers fake kernels for are declared first, so the architectures still
import; none of them uses those operators.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from torch import nn

from ..errors import NodeTrainerError, Problem


def load_torchvision() -> Any:
    """`torchvision.models`, or NodeTrainerError saying how to install it."""
    try:
        import torchvision.models as models  # noqa: F401
        return models
    except ModuleNotFoundError:
        raise NodeTrainerError(Problem("torchvision is not installed; it is an optional extra: "
                                       "pip install 'nodetrainer[import]' (or torchvision matching your torch)",
                                       "torchvision")) from None
    except RuntimeError as exc:
        if "torchvision::" not in str(exc):
            raise
    import torch
    for op in ("nms", "qnms"):  # what torchvision/_meta_registrations.py registers fake kernels for
        try:
            torch.library.define(f"torchvision::{op}", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        except RuntimeError:
            pass  # already declared
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    import torchvision.models as models
    return models


def torchvision_names() -> list[str]:
    """The classification architectures torchvision offers."""
    models = load_torchvision()
    return list(models.list_models(module=models))


def load_source(source: str) -> tuple[nn.Module, str]:
    """The module SOURCE names, and a name for the graph."""
    if source.startswith("torchvision:"):
        name = source.split(":", 1)[1]
        models = load_torchvision()
        names = models.list_models(module=models)
        if name not in names:
            from ..errors import did_you_mean
            raise NodeTrainerError(Problem(f"torchvision has no classification model '{name}'"
                                           f"{did_you_mean(name, names)}", source))
        return models.get_model(name, weights=None), name
    if ":" not in source:
        raise NodeTrainerError(Problem("SOURCE is path/to/file.py:NAME or torchvision:NAME", source))
    file, name = source.rsplit(":", 1)
    path = Path(file)
    if not path.is_file():
        raise NodeTrainerError(Problem("no such file", str(path)))
    spec = importlib.util.spec_from_file_location(f"nodetrainer_import_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # so inspect finds the classes' source
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise NodeTrainerError(Problem(f"importing the file failed: {type(exc).__name__}: {exc}", str(path))) from None
    target = getattr(module, name, None)
    if target is None:
        from ..errors import did_you_mean
        found = [k for k, v in vars(module).items() if isinstance(v, type) and issubclass(v, nn.Module)]
        raise NodeTrainerError(Problem(f"the file has no '{name}'{did_you_mean(name, found)}; "
                                       f"modules in it: {', '.join(found) or 'none'}", str(path)))
    if isinstance(target, nn.Module):
        return target, name
    try:
        built = target()
    except Exception as exc:
        raise NodeTrainerError(Problem(f"{name}() failed: {type(exc).__name__}: {exc}; NAME must build with no "
                                       "arguments", str(path))) from None
    if not isinstance(built, nn.Module):
        raise NodeTrainerError(Problem(f"{name}() gives a {type(built).__name__}, not an nn.Module", str(path)))
    return built, name
