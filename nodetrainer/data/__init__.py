"""Training data: built-in sets, CSV, NPZ and image folders, split and normalized for training.

`load_dataset(cfg, base_dir, task, input_dtype)` returns a `Dataset` of CPU tensors per
split; `check_input_shape` compares an Input node with it before training starts.
"""
from .dataset import Dataset, Split, check_input_shape
from .loader import load_dataset
from .normalize import Normalizer

__all__ = ["Dataset", "Split", "Normalizer", "load_dataset", "check_input_shape"]
