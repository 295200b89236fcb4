"""NodeTrainer's Qt-free core: graph files, layers, shape inference, code generation and training."""

__version__ = "0.1.0"
