"""`nodetrainer predict` and TrainedModel: a run's kept model on image files and CSV rows, as JSON."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris

from nodetrainer.cli import main
from nodetrainer.training.predict import TrainedModel
from nodetrainer.training.predictions import predict as predict_split
from nodetrainer.training.run import evaluate_run, prepare

TABULAR = """\
nodetrainer: 1
name: iris-csv
nodes:
  features: {type: Input, shape: [4]}
  hidden:   {type: Linear, out_features: 16}
  relu:     {type: ReLU}
  logits:   {type: Linear, out_features: 3}
  out:      {type: Output}
edges:
  - features -> hidden -> relu -> logits -> out
data:
  source: csv:iris.csv
  target: species
  split: {val: 0.2, test: 0.3, seed: 1}
  normalize: standard
training:
  loss: cross_entropy
  metrics: [accuracy]
  optimizer: {type: adam, lr: 0.02}
  epochs: 8
  batch_size: 16
  seed: 0
"""

CNN = """\
nodetrainer: 1
name: digits-small-cnn
nodes:
  image:  {type: Input, shape: [1, 8, 8]}
  conv:   {type: Conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  relu:   {type: ReLU}
  flat:   {type: Flatten}
  logits: {type: Linear, out_features: 10}
  out:    {type: Output}
edges:
  - image -> conv -> relu -> flat -> logits -> out
data:
  source: builtin:digits
  split: {val: 0.1, test: 0.2, seed: 0}
  normalize: standard
training:
  loss: cross_entropy
  metrics: [accuracy]
  optimizer: {type: adam, lr: 0.01}
  epochs: 2
  batch_size: 64
  seed: 0
"""

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def raw_split(model: TrainedModel, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """The run's split as raw samples (its normalization undone) and their classes."""
    data = model.load_data()
    part = getattr(data, split)
    norm = data.normalizer
    return part.x * norm.scale + norm.shift, part.y


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("iris")
    d = load_iris()
    names = [str(n) for n in d.target_names]
    lines = [",".join(COLUMNS + ["species"])]
    lines += [",".join(f"{v:g}" for v in row) + f",{names[t]}" for row, t in zip(d.data, d.target)]
    (folder / "iris.csv").write_text("\n".join(lines) + "\n")
    (folder / "iris.yaml").write_text(TABULAR)
    session = prepare(folder / "iris.yaml", runs_dir=folder / "runs")
    session.run()
    return session


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    (folder / "cnn.yaml").write_text(CNN)
    session = prepare(folder / "cnn.yaml", runs_dir=folder / "runs")
    session.run()
    return session


def test_csv_rows_predict_the_classes_evaluate_counts(iris_run, tmp_path, capsys):
    model = TrainedModel.load(iris_run.run_dir)
    x, y = raw_split(model)
    names = model.class_names
    assert names == ["setosa", "versicolor", "virginica"]
    order = [2, 0, 3, 1]  # columns in another order, and the target column, are fine: columns go by name
    rows = [",".join([names[int(t)]] + [repr(float(r[i])) for i in order]) for r, t in zip(x, y)]
    file = tmp_path / "rows.csv"
    file.write_text("species," + ",".join(COLUMNS[i] for i in order) + "\n" + "\n".join(rows) + "\n")

    assert main(["predict", str(iris_run.run_dir), str(file), "--top", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "classification" and len(out["predictions"]) == len(y)
    first = out["predictions"][0]
    assert first["file"] == str(file) and first["line"] == 2 and len(first["top"]) == 2
    assert first["top"][0]["probability"] >= first["top"][1]["probability"]
    predicted = np.array([p["top"][0]["index"] for p in out["predictions"]])
    assert [p["top"][0]["class"] for p in out["predictions"]] == [names[i] for i in predicted]
    accuracy = float((predicted == y.numpy()).mean())
    assert accuracy == pytest.approx(evaluate_run(iris_run.run_dir, "test")["accuracy"])
    kept = predict_split(iris_run.trainer, "test")  # what the app's confusion matrix counts
    assert (predicted == kept.y_pred).all()


def test_an_image_file_gets_the_class_the_run_predicted_for_it(digits_run, tmp_path, capsys):
    from PIL import Image
    model = TrainedModel.load(digits_run.run_dir)
    x, _ = raw_split(model)
    kept = predict_split(digits_run.trainer, "test", class_names=model.class_names)
    confident = np.flatnonzero(kept.confidence > 0.8)[:4]  # a pixel rounded to 8 bits cannot flip these
    assert len(confident) == 4
    files = []
    for i in confident:
        pixels = np.clip(np.round(x[i, 0].numpy() * 255 / 16), 0, 255).astype(np.uint8)  # digits: ink 0..16
        files.append(tmp_path / f"test{i}.png")
        Image.fromarray(pixels).save(files[-1])
    assert main(["predict", str(digits_run.run_dir), *map(str, files), "--top", "10"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["top"][0]["class"] for p in out["predictions"]] == [kept.class_name(int(kept.y_pred[i]))
                                                                    for i in confident]
    assert all(sum(c["probability"] for c in p["top"]) == pytest.approx(1, abs=1e-5) for p in out["predictions"])
    assert all(len(p["top"]) == 10 for p in out["predictions"])


def test_predict_normalized_matches_raw_for_split_samples(digits_run):
    model = TrainedModel.load(digits_run.run_dir)
    data = model.load_data()
    raw, _ = raw_split(model)
    a = model.predict_normalized(data.test.x[:20], top=1)
    b = model.predict(raw[:20], top=1)
    assert [s.best.index for s in a] == [s.best.index for s in b]


@pytest.mark.parametrize("case", ["missing column", "bad cell", "image into tabular", "unknown file",
                                  "not a run", "no such file"])
def test_bad_input_is_one_located_line(iris_run, tmp_path, capsys, case):
    run = str(iris_run.run_dir)
    files = {
        "missing column": ("rows.csv", "sepal_length,sepal_width,petal_length\n1,2,3\n"),
        "bad cell": ("rows.csv", ",".join(COLUMNS) + "\n1,2,3,4\n1,x,3,4\n"),
        "image into tabular": ("a.png", None),
        "unknown file": ("a.bin", "hello"),
    }
    if case in files:
        name, text = files[case]
        path = tmp_path / name
        if text is None:
            from PIL import Image
            Image.new("L", (4, 4)).save(path)
        else:
            path.write_text(text)
        args = ["predict", run, str(path)]
    elif case == "not a run":
        args = ["predict", str(tmp_path), str(tmp_path / "x.csv")]
    else:
        args = ["predict", run, str(tmp_path / "nothere.png")]
    assert main(args) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and "Traceback" not in captured.err
    expected = {"missing column": ("rows.csv:1:", "petal_width"), "bad cell": ("rows.csv:3:", "'x'"),
                "image into tabular": ("a.png", "[4]"), "unknown file": ("a.bin", "not an image or CSV"),
                "not a run": (str(tmp_path), "graph.yaml"), "no such file": ("nothere.png", "not found")}[case]
    assert all(part in lines[0] for part in expected), lines[0]


def test_several_inputs_take_their_columns_from_a_csv_row(tmp_path, capsys):
    from nodetrainer.data.preview import feature_names, raw_features
    graph = (Path(__file__).resolve().parents[2] / "graphs" / "breast_cancer_two_inputs.yaml").read_text()
    (tmp_path / "two.yaml").write_text(graph.replace("epochs: 40", "epochs: 2"))
    session = prepare(tmp_path / "two.yaml", runs_dir=tmp_path / "runs")
    session.run()
    model = TrainedModel.load(session.run_dir)
    assert model.input_ids == ["means", "rest"]
    data = model.load_data()
    n = len(data.test)
    rows, names = raw_features(data, "test", list(range(n))), feature_names(data)
    assert len(names) == 30 and names[0] == "mean radius"
    order = list(reversed(range(30)))  # columns go by name, whatever their order in the file
    file = tmp_path / "rows.csv"
    file.write_text(",".join(names[j] for j in order) + "\n"
                    + "\n".join(",".join(repr(float(r[j])) for j in order) for r in rows) + "\n")
    assert main(["predict", str(session.run_dir), str(file)]) == 0
    out = json.loads(capsys.readouterr().out)["predictions"]
    kept = predict_split(session.trainer, "test")
    assert [p["top"][0]["index"] for p in out] == kept.y_pred.tolist()
    assert [s.best.index for s in model.predict_split(data, "test", list(range(n)))] == kept.y_pred.tolist()

    from PIL import Image
    Image.new("L", (4, 4)).save(tmp_path / "a.png")
    assert main(["predict", str(session.run_dir), str(tmp_path / "a.png")]) == 1
    assert "2 Inputs (means, rest)" in capsys.readouterr().err
