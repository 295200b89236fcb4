"""Exporters: the graph as standalone artifacts (Python now; ONNX, TorchScript and INT8 later)."""
from .python import export_python

__all__ = ["export_python"]
