"""Loading training data: built-in sets, CSV, NPZ, image folders, splits, normalization and errors."""
from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nodetrainer.data import Dataset, Normalizer, Split, check_input_shape, load_dataset
from nodetrainer.data import images as images_module
from nodetrainer.errors import DataError
from nodetrainer.settings import DataConfig, SplitConfig, parse_data


def cfg(source: str, val: float = 0.2, test: float = 0.0, seed: int = 0, **kw) -> DataConfig:
    return DataConfig(source=source, split=SplitConfig(val=val, test=test, seed=seed), **kw)


def load(source: str, base: Path | str = ".", task: str | None = None, input_dtype: str = "float32", **kw) -> Dataset:
    return load_dataset(cfg(source, **kw), Path(base), task=task, input_dtype=input_dtype)


def data_error(source: str, base: Path | str = ".", **kw) -> str:
    """The text of the DataError that loading raises; it must be one line per problem."""
    with pytest.raises(DataError) as info:
        load(source, base, **kw)
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def total(ds: Dataset) -> int:
    return sum(len(s) for s in (ds.train, ds.val, ds.test) if s is not None)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- built-in sets -----------------------------------------------------------------

@pytest.mark.parametrize("name, shape, classes, n", [
    ("digits", (1, 8, 8), 10, 1797),
    ("iris", (4,), 3, 150),
    ("wine", (13,), 3, 178),
    ("breast_cancer", (30,), 2, 569),
    ("moons", (2,), 2, 1000),
    ("circles", (2,), 2, 1000),
    ("spirals", (2,), 2, 1000),
    ("xor", (2,), 2, 1000),
])
def test_builtin_classification_sets(name, shape, classes, n):
    ds = load(f"builtin:{name}", val=0.2, test=0.1)
    assert ds.task == "classification"
    assert ds.sample_shape == shape and ds.target_shape == ()
    assert ds.num_classes == classes and len(ds.class_names) == classes
    assert total(ds) == n
    for split in (ds.train, ds.val, ds.test):
        assert split.x.dtype == torch.float32 and split.x.shape[1:] == shape
        assert split.y.dtype == torch.int64 and split.y.shape == (len(split.x),)
        assert torch.isfinite(split.x).all()
    assert set(torch.cat([ds.train.y, ds.val.y, ds.test.y]).tolist()) == set(range(classes))


def test_builtin_names_of_classes():
    assert load("builtin:digits").class_names == [str(i) for i in range(10)]
    assert load("builtin:iris").class_names == ["setosa", "versicolor", "virginica"]


def test_diabetes_is_regression_with_one_target():
    ds = load("builtin:diabetes", test=0.1)
    assert ds.task == "regression" and ds.num_classes is None and ds.class_names is None
    assert ds.sample_shape == (10,) and ds.target_shape == (1,)
    assert ds.train.y.dtype == torch.float32 and ds.train.y.shape == (len(ds.train), 1)
    assert total(ds) == 442
    # targets are not normalized: the diabetes progression scores stay in their own units
    assert ds.train.y.min() >= 25 and ds.train.y.max() <= 346


def test_diabetes_with_a_classification_loss_is_refused():
    text = data_error("builtin:diabetes", task="classification")
    assert "regression" in text and "mse" in text


def test_task_from_config_wins_over_the_loss():
    ds = load_dataset(DataConfig(source="builtin:diabetes", task="regression"), Path("."), task="classification")
    assert ds.task == "regression"


def test_synthetic_sets_follow_n_samples_noise_and_seed():
    a = load("builtin:spirals", n_samples=300, noise=0.05, seed=3)
    b = load("builtin:spirals", n_samples=300, noise=0.05, seed=3)
    c = load("builtin:spirals", n_samples=300, noise=0.05, seed=4)
    assert total(a) == 300
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.train.y, b.train.y)
    assert not torch.equal(a.train.x, c.train.x)
    assert sorted(collections.Counter(torch.cat([a.train.y, a.val.y]).tolist()).values()) == [150, 150]


@pytest.mark.parametrize("name", ["spirals", "xor", "moons", "circles"])
def test_synthetic_sets_are_learnable_by_nearest_neighbours(name):
    from sklearn.neighbors import KNeighborsClassifier
    ds = load(f"builtin:{name}", n_samples=800, noise=0.05, val=0.25)
    knn = KNeighborsClassifier(5).fit(ds.train.x.numpy(), ds.train.y.numpy())
    assert knn.score(ds.val.x.numpy(), ds.val.y.numpy()) > 0.9


def test_xor_labels_are_the_xor_of_the_quadrant_signs():
    ds = load("builtin:xor", n_samples=400, noise=0.1, normalize="none", val=0.0)
    x, y = ds.train.x, ds.train.y
    assert torch.equal(((x[:, 0] > 0) ^ (x[:, 1] > 0)).long(), y)


# -- splits ---------------------------------------------------------------------------

def test_split_is_stratified_per_class():
    ds = load("builtin:iris", val=0.2, test=0.2)
    for split, each in ((ds.train, 30), (ds.val, 10), (ds.test, 10)):
        assert collections.Counter(split.y.tolist()) == {0: each, 1: each, 2: each}


def test_stratified_split_keeps_unbalanced_proportions(tmp_path):
    rows = "\n".join(f"{i},{'rare' if i % 10 == 0 else 'common'}" for i in range(200))
    write_csv(tmp_path / "d.csv", "f,target\n" + rows + "\n")
    ds = load("csv:d.csv", tmp_path, val=0.25, normalize="none")
    assert ds.class_names == ["common", "rare"]
    assert collections.Counter(ds.val.y.tolist()) == {0: 45, 1: 5}
    assert collections.Counter(ds.train.y.tolist()) == {0: 135, 1: 15}


def test_zero_fractions_give_no_split_and_seed_changes_the_split():
    ds = load("builtin:iris", val=0.0, test=0.0)
    assert ds.val is None and ds.test is None and len(ds.train) == 150
    a = load("builtin:iris", val=0.3, seed=1, normalize="none")
    b = load("builtin:iris", val=0.3, seed=2, normalize="none")
    assert not torch.equal(a.val.x, b.val.x)


def test_class_too_small_to_stratify_falls_back_without_error(tmp_path):
    write_csv(tmp_path / "d.csv", "f,target\n" + "".join(f"{i},a\n" for i in range(20)) + "99,b\n")
    ds = load("csv:d.csv", tmp_path, val=0.2)
    assert total(ds) == 21 and ds.num_classes == 2


def test_too_few_samples_to_split(tmp_path):
    write_csv(tmp_path / "d.csv", "f,target\n1,a\n2,b\n")
    text = data_error("csv:d.csv", tmp_path, val=0.5, test=0.4)
    assert "too few samples" in text and "data.split" in text


# -- normalization -------------------------------------------------------------------

def test_standard_statistics_come_from_the_training_split_only():
    ds = load("builtin:wine", val=0.3, test=0.2)
    x = ds.train.x
    assert torch.allclose(x.mean(0), torch.zeros(13), atol=1e-5)
    assert torch.allclose(x.std(0, unbiased=False), torch.ones(13), atol=1e-4)
    raw = load("builtin:wine", val=0.3, test=0.2, normalize="none")
    assert torch.allclose(ds.normalizer.shift, raw.train.x.mean(0), rtol=1e-5)
    assert torch.allclose(ds.val.x, ds.normalizer.apply(raw.val.x))
    assert (ds.val.x.mean(0).abs() > 1e-3).any()  # held-out data are scaled with training statistics, not their own


def test_minmax_maps_training_range_to_unit_interval():
    ds = load("builtin:breast_cancer", normalize="minmax", val=0.3)
    assert torch.allclose(ds.train.x.amin(0), torch.zeros(30)) and torch.allclose(ds.train.x.amax(0), torch.ones(30))
    raw = load("builtin:breast_cancer", normalize="none", val=0.3)
    assert torch.allclose(ds.normalizer.shift, raw.train.x.amin(0))
    assert torch.allclose(ds.val.x, (raw.val.x - raw.train.x.amin(0)) / (raw.train.x.amax(0) - raw.train.x.amin(0)))


def test_none_leaves_features_as_read():
    ds = load("builtin:digits", normalize="none", val=0.0)
    assert ds.train.x.min() == 0 and ds.train.x.max() == 16


@pytest.mark.parametrize("mode", ["standard", "minmax"])
def test_constant_feature_gives_finite_values(tmp_path, mode):
    write_csv(tmp_path / "d.csv", "a,const,target\n" + "".join(f"{i},7,{i % 2}\n" for i in range(30)))
    ds = load("csv:d.csv", tmp_path, normalize=mode)
    for split in (ds.train, ds.val):
        assert torch.isfinite(split.x).all()
        assert torch.equal(split.x[:, 1], torch.zeros(len(split)))
    digits = load("builtin:digits", normalize=mode)  # some corner pixels are always 0
    assert torch.isfinite(digits.train.x).all() and torch.isfinite(digits.val.x).all()


def test_normalizer_state_dict_round_trip(tmp_path):
    ds = load("builtin:digits")
    state = ds.normalizer.state_dict()
    assert state["mode"] == "standard" and state["shift"].shape == (1, 8, 8)
    torch.save(state, tmp_path / "n.pt")
    again = Normalizer.from_state_dict(torch.load(tmp_path / "n.pt", weights_only=True))
    raw = torch.rand(5, 1, 8, 8) * 16
    assert torch.equal(again.apply(raw), ds.normalizer.apply(raw))
    assert torch.equal(again.apply(raw[0]), ds.normalizer.apply(raw)[0])  # one sample without the batch dim
    assert Normalizer.from_state_dict(Normalizer("none").state_dict()).apply(raw) is raw


def test_normalizer_rejects_unknown_mode_and_use_before_fit():
    with pytest.raises(ValueError):
        Normalizer("zscore")
    with pytest.raises(RuntimeError):
        Normalizer("standard").apply(torch.ones(2, 3))


# -- CSV ----------------------------------------------------------------------------

def test_csv_classification_with_text_labels(tmp_path):
    rows = "".join(f"{i},{i * 2.5},{['cat', 'dog', 'bird'][i % 3]}\n" for i in range(30))
    write_csv(tmp_path / "pets.csv", "a,b,species\n" + rows)
    ds = load("csv:pets.csv", tmp_path, target="species", val=0.2)
    assert ds.sample_shape == (2,) and ds.class_names == ["bird", "cat", "dog"]
    assert total(ds) == 30 and ds.train.x.dtype == torch.float32


def test_csv_target_column_in_the_middle_and_numeric_labels_sort_by_value(tmp_path):
    rows = "".join(f"{i},{[2, 10, 1][i % 3]},{-i}\n" for i in range(30))
    write_csv(tmp_path / "d.csv", "a,label,b\n" + rows)
    ds = load("csv:d.csv", tmp_path, target="label", val=0.0, normalize="none")
    assert ds.class_names == ["1", "2", "10"]
    assert torch.equal(ds.train.x[:3], torch.tensor([[0.0, 0.0], [1.0, -1.0], [2.0, -2.0]]))
    assert ds.train.y[:3].tolist() == [1, 2, 0]


def test_csv_regression_and_semicolons(tmp_path):
    write_csv(tmp_path / "r.csv", "x1;x2;price\n" + "".join(f"{i};{i % 3};{i * 1.5 + 0.25}\n" for i in range(20)))
    ds = load("csv:r.csv", tmp_path, target="price", task="regression", val=0.0)
    assert ds.task == "regression" and ds.target_shape == (1,)
    assert ds.train.y.dtype == torch.float32 and ds.train.y[:2, 0].tolist() == [0.25, 1.75]


def test_csv_continuous_target_with_classification_suggests_regression(tmp_path):
    write_csv(tmp_path / "r.csv", "x,price\n" + "".join(f"{i},{i * 1.5 + 0.25}\n" for i in range(20)))
    text = data_error("csv:r.csv", tmp_path, target="price")
    assert "column 'price'" in text and "regression" in text


def test_csv_missing_file_names_the_path(tmp_path):
    text = data_error("csv:nope/data.csv", tmp_path)
    assert "not found" in text and str(tmp_path / "nope" / "data.csv") in text


def test_csv_empty_file_and_header_only(tmp_path):
    write_csv(tmp_path / "e.csv", "")
    assert "empty" in data_error("csv:e.csv", tmp_path)
    write_csv(tmp_path / "h.csv", "a,target\n\n")
    assert "no data rows" in data_error("csv:h.csv", tmp_path)


def test_csv_missing_target_column_lists_columns_and_suggests(tmp_path):
    write_csv(tmp_path / "d.csv", "sepal,petal,Label\n1,2,a\n3,4,b\n")
    text = data_error("csv:d.csv", tmp_path, target="label")
    assert "'label' not found" in text and "did you mean 'Label'" in text and "sepal, petal, Label" in text


def test_csv_non_numeric_feature_names_line_and_column(tmp_path):
    path = write_csv(tmp_path / "d.csv", "a,b,target\n1,2,x\n3,4,y\n5,oops,x\n7,8,y\n")
    text = data_error("csv:d.csv", tmp_path)
    assert "line 4" in text and "column 'b'" in text and "'oops'" in text and str(path) in text


def test_csv_missing_feature_value_counts_blank_lines_as_in_the_file(tmp_path):
    write_csv(tmp_path / "d.csv", "a,b,target\n1,2,x\n\n3,4,y\n5,6,x\n7,,y\n")
    text = data_error("csv:d.csv", tmp_path)
    assert "line 6" in text and "column 'b'" in text and "missing value" in text


def test_csv_first_bad_cell_in_file_order(tmp_path):
    write_csv(tmp_path / "d.csv", "a,b,target\n1,2,x\n3,bad,y\nworse,6,x\n")
    assert "line 3, column 'b'" in data_error("csv:d.csv", tmp_path)


def test_csv_missing_target_value_and_ragged_row(tmp_path):
    write_csv(tmp_path / "t.csv", "a,target\n1,x\n2,\n3,y\n")
    text = data_error("csv:t.csv", tmp_path)
    assert "line 3" in text and "column 'target'" in text
    write_csv(tmp_path / "r.csv", "a,b,target\n1,2,x\n3,y\n")
    text = data_error("csv:r.csv", tmp_path)
    assert "line 3" in text and "2 values" in text and "3 columns" in text


def test_csv_non_finite_value_is_refused(tmp_path):
    write_csv(tmp_path / "d.csv", "a,target\n1,x\nnan,y\n2,x\n")
    text = data_error("csv:d.csv", tmp_path)
    assert "line 3" in text and "column 'a'" in text


# -- NPZ ------------------------------------------------------------------------------

def test_npz_with_split_fractions(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(100, 3, 4)), y=np.repeat([0, 1, 2, 3], 25))
    ds = load("npz:d.npz", tmp_path, val=0.2, test=0.2)
    assert ds.sample_shape == (3, 4) and ds.num_classes == 4 and ds.class_names == ["0", "1", "2", "3"]
    assert (len(ds.train), len(ds.val), len(ds.test)) == (60, 20, 20)


def test_npz_explicit_val_and_test_replace_the_split(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(5, 2, (80, 6)), y=np.arange(80) % 2,
             x_val=rng.normal(5, 2, (7, 6)), y_val=np.arange(7) % 2,
             x_test=rng.normal(5, 2, (9, 6)), y_test=np.arange(9) % 2)
    ds = load("npz:d.npz", tmp_path, val=0.5, test=0.3)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (80, 7, 9)
    assert ds.val.y.tolist() == [0, 1, 0, 1, 0, 1, 0]
    assert abs(ds.val.x.mean().item()) < 1.0  # scaled with the training statistics


def test_npz_explicit_test_only_keeps_the_val_fraction(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((50, 2)) * np.arange(50)[:, None], y=np.arange(50) % 2,
             x_test=np.zeros((5, 2)), y_test=np.zeros(5))
    ds = load("npz:d.npz", tmp_path, val=0.2, test=0.0)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (40, 10, 5)


def test_npz_regression_targets_keep_their_width(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).normal(size=(40, 3)), y=np.ones((40, 2)))
    ds = load("npz:d.npz", tmp_path, task="regression", val=0.25)
    assert ds.target_shape == (2,) and ds.train.y.shape == (30, 2) and ds.train.y.dtype == torch.float32


def test_npz_token_ids_stay_int64_and_unnormalized(tmp_path):
    tokens = np.random.default_rng(0).integers(0, 50, (40, 12))
    np.savez(tmp_path / "t.npz", x=tokens, y=np.arange(40) % 2)
    ds = load("npz:t.npz", tmp_path, input_dtype="int64", val=0.0)
    assert ds.train.x.dtype == torch.int64 and torch.equal(ds.train.x, torch.from_numpy(tokens))
    assert ds.normalizer.mode == "none"
    np.savez(tmp_path / "f.npz", x=np.full((10, 3), 0.5), y=np.arange(10) % 2)
    assert "int64" in data_error("npz:f.npz", tmp_path, input_dtype="int64")


@pytest.mark.parametrize("arrays, expect", [
    ({"x": np.ones((10, 2))}, "'y' is missing"),
    ({"x": np.ones((10, 2)), "y": np.zeros(9)}, "10 samples"),
    ({"x": np.ones((10, 2)), "y": np.zeros(10), "x_val": np.ones((3, 2))}, "'x_val' needs 'y_val'"),
    ({"x": np.ones((10, 2)), "y": np.zeros(10), "X_test": np.ones((3, 2))}, "did you mean 'x_test'"),
    ({"x": np.ones((10, 2)), "y": np.zeros(10), "x_val": np.ones((3, 5)), "y_val": np.zeros(3)}, "x_val"),
    ({"x": np.ones(10), "y": np.zeros(10)}, "sample dimension"),
])
def test_npz_errors(tmp_path, arrays, expect):
    np.savez(tmp_path / "bad.npz", **arrays)
    text = data_error("npz:bad.npz", tmp_path)
    assert expect in text and "bad.npz" in text


def test_npz_unreadable_files(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip archive")
    assert "junk.npz" in data_error("npz:junk.npz", tmp_path)
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}] * 4, dtype=object), y=np.zeros(4))
    assert "Python objects" in data_error("npz:obj.npz", tmp_path)
    np.save(tmp_path / "single.npy", np.ones(3))
    assert "single array" in data_error("npz:single.npy", tmp_path)
    assert "not found" in data_error("npz:missing.npz", tmp_path)


# -- image folders ----------------------------------------------------------------------

def make_images(root: Path, counts: dict[str, int], size=(12, 10)) -> Path:
    from PIL import Image
    rng = np.random.default_rng(0)
    for k, (name, count) in enumerate(counts.items()):
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (size[1] + i, size[0], 3), dtype=np.uint8)
            pixels[..., k % 3] = 255
            mode_image = Image.fromarray(pixels)
            if i % 3 == 2:
                mode_image = mode_image.convert("L")  # a grayscale file among colour ones
            mode_image.save(root / name / f"img{i}.png")
    (root / next(iter(counts)) / "notes.txt").write_text("not an image, ignored")
    return root


def test_image_folder_loads_shapes_classes_and_range(tmp_path):
    make_images(tmp_path / "pics", {"dogs": 6, "cats": 9})
    ds = load("images:pics", tmp_path, val=0.2, image_size=(16, 8), normalize="none")
    assert ds.stream is None and ds.class_names == ["cats", "dogs"] and ds.num_classes == 2
    assert ds.sample_shape == (3, 16, 8) and ds.train.x.shape[1:] == (3, 16, 8)
    assert total(ds) == 15
    assert ds.train.x.min() >= 0 and ds.train.x.max() <= 1
    assert collections.Counter(torch.cat([ds.train.y, ds.val.y]).tolist()) == {0: 9, 1: 6}


def test_image_folder_grayscale_and_per_channel_normalization(tmp_path):
    make_images(tmp_path / "pics", {"a": 5, "b": 5})
    ds = load("images:pics", tmp_path, val=0.0, grayscale=True, image_size=(8, 8))
    assert ds.sample_shape == (1, 8, 8)
    assert ds.normalizer.shift.shape == (1, 1, 1)
    assert abs(ds.train.x.mean().item()) < 1e-4 and abs(ds.train.x.std(unbiased=False).item() - 1) < 1e-3


def test_large_image_folder_streams_from_disk(tmp_path, monkeypatch):
    make_images(tmp_path / "pics", {"a": 6, "b": 6})
    monkeypatch.setattr(images_module, "STREAM_BYTES", 0)
    ds = load("images:pics", tmp_path, val=0.25, image_size=(8, 8))
    assert ds.streamed and len(ds.stream) == 12 and ds.sample_shape == (3, 8, 8)
    assert ds.train.x.dtype == torch.int64 and ds.train.x.shape == (9,)  # indices into the stream
    assert torch.equal(ds.stream.labels[ds.train.x], ds.train.y)
    loader = torch.utils.data.DataLoader(ds.torch_dataset(ds.train), batch_size=4)
    xs, ys = zip(*loader)
    x = torch.cat(xs)
    assert x.shape == (9, 3, 8, 8) and torch.equal(torch.cat(ys), ds.train.y)
    assert torch.allclose(x.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)  # normalized per channel with train stats


def test_image_folder_errors(tmp_path):
    assert "not found" in data_error("images:nowhere", tmp_path)
    (tmp_path / "flat").mkdir()
    from PIL import Image
    Image.new("RGB", (4, 4)).save(tmp_path / "flat" / "a.png")
    text = data_error("images:flat", tmp_path)
    assert "no class sub-folders" in text and "one sub-folder per class" in text
    make_images(tmp_path / "withempty", {"full": 2})
    (tmp_path / "withempty" / "hollow").mkdir()
    text = data_error("images:withempty", tmp_path)
    assert "hollow" in text and "no images" in text
    make_images(tmp_path / "broken", {"a": 2, "b": 2})
    (tmp_path / "broken" / "b" / "corrupt.png").write_bytes(b"\x89PNG not really")
    text = data_error("images:broken", tmp_path)
    assert "corrupt.png" in text and "cannot read image" in text


def test_image_folder_refuses_regression(tmp_path):
    make_images(tmp_path / "pics", {"a": 2, "b": 2})
    assert "classification" in data_error("images:pics", tmp_path, task="regression")


# -- Input shape ------------------------------------------------------------------------

def test_check_input_shape_names_both_shapes():
    ds = load("builtin:digits")
    assert check_input_shape("image", (1, 8, 8), ds) is None
    problem = check_input_shape("image", [64], ds)
    assert problem is not None and problem.node == "image"
    assert "[64]" in problem.message and "[1, 8, 8]" in problem.message and "builtin:digits" in problem.message
    assert str(problem).count("node image:") == 1


def test_parsed_config_loads(tmp_path):
    config, errors = parse_data({"source": "builtin:moons", "n_samples": 200, "noise": 0.2,
                                 "split": {"val": 0.1, "test": 0.1, "seed": 5}})
    assert not errors
    ds = load_dataset(config, tmp_path)
    assert total(ds) == 200 and len(ds.test) == 20 and isinstance(ds.train, Split)


def test_builtin_sets_and_their_splits_come_from_the_cache_without_scikit_learn(tmp_path, monkeypatch):
    """The first load fills the user cache; a later one gives the same arrays and does not import sklearn."""
    import subprocess
    import sys

    from nodetrainer.data.cache import cached
    monkeypatch.setenv("NODETRAINER_CACHE_DIR", str(tmp_path / "cache"))
    code = ("import sys, json; from nodetrainer.data.sources import load_builtin; "
            "from nodetrainer.data.splits import split_indices; raw = load_builtin('digits'); "
            "tr, va, te = split_indices(len(raw.y), 0.1, 0.2, 0, raw.y); "
            "print(json.dumps([raw.x.shape, int(raw.y.sum()), raw.class_names, tr[:5].tolist(), te[:5].tolist(), "
            "'sklearn' in sys.modules]))")
    env = dict(__import__("os").environ)
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                      check=True).stdout) for _ in range(2)]
    assert runs[0][:-1] == runs[1][:-1]
    assert runs[0][-1] is True and runs[1][-1] is False  # the second process never imported scikit-learn
    assert list(runs[0][0]) == [1797, 1, 8, 8] and runs[0][2][:3] == ["0", "1", "2"]
    # an unreadable cache file is rebuilt; the key decides
    for f in (tmp_path / "cache").iterdir():
        f.write_bytes(b"not a zip")
    built = []
    assert cached({"kind": "x", "v": 1}, lambda: built.append(1) or {"a": np.arange(3)})["a"].tolist() == [0, 1, 2]
    assert cached({"kind": "x", "v": 1}, lambda: built.append(1) or {"a": np.arange(3)})["a"].tolist() == [0, 1, 2]
    assert built == [1]
