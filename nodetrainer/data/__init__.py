"""Training data: built-in sets, CSV, NPZ and image folders, split and normalized for training.

`load_dataset(cfg, base_dir, task, input_dtype, input_ids)` returns a `Dataset` of CPU
tensors per split; `check_input_shape` compares an Input node with it before training
starts. Several Inputs (`data.inputs`): `nodetrainer.data.inputs` (`InputPart`,
`part_choices`, `check_input_shapes`); `Dataset.inputs` lists the loaded parts.
Augmentation (`data.augment`): `nodetrainer.data.augment` (`Augmenter`,
`augmented_preview`). The graph-level entry point that also locates problems in the
graph file is `nodetrainer.training.run.load_graph_data(graph, data_dir)`.
"""
from .augment import Augmenter, augmented_preview
from .dataset import Dataset, Split, check_input_shape
from .inputs import InputPart, PartChoices, check_input_shapes, part_choices
from .loader import load_dataset
from .normalize import Normalizer, run_normalizers

__all__ = ["Dataset", "Split", "Normalizer", "load_dataset", "check_input_shape", "InputPart", "PartChoices",
           "check_input_shapes", "part_choices", "Augmenter", "augmented_preview", "run_normalizers"]
