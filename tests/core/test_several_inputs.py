"""Graphs with several Input nodes: data.inputs on CSV and NPZ files, training and exact resume, ONNX with
named inputs, and every mapping mistake as one located line before training starts."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nodetrainer.cli import main
from nodetrainer.data.inputs import part_choices
from nodetrainer.errors import NodeTrainerError
from nodetrainer.graphfile import load_graph
from nodetrainer.training import events as ev
from nodetrainer.training.checkpoint import load_checkpoint
from nodetrainer.training.run import evaluate_run, prepare
from nodetrainer.training.trainer import TrainerOptions

GRAPH = """\
nodetrainer: 1
name: two-inputs

nodes:
  a:      {{type: Input, shape: {shape_a}}}
  fa:     {{type: Linear, out_features: 8}}
  b:      {{type: Input, shape: {shape_b}}}
  fb:     {{type: Linear, out_features: 8}}
  merge:  {{type: Concat}}
  relu:   {{type: ReLU}}
  logits: {{type: Linear, out_features: 2}}
  out:    {{type: Output}}

edges:
  - a -> fa -> merge
  - b -> fb -> merge
  - merge -> relu -> logits -> out

data:
  source: {source}
  split: {{val: 0.2, test: 0.2, seed: 0}}
{inputs}
training:
  epochs: 4
  batch_size: 32
  optimizer: {{type: adam, lr: 0.01}}
  deterministic: true
  seed: 1
"""


def make_csv(tmp_path):
    """Label 1 when p0 + q1 > 0: the network needs both Inputs' columns."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    y = (x[:, 0] + x[:, 4] > 0).astype(int)
    path = tmp_path / "d.csv"
    rows = ["p0,p1,p2,label,q0,q1"] + [f"{r[0]:.5f},{r[1]:.5f},{r[2]:.5f},{c},{r[3]:.5f},{r[4]:.5f}"
                                        for r, c in zip(x, y)]
    path.write_text("\n".join(rows) + "\n")
    return path


def write(tmp_path, inputs, source="csv:d.csv", shape_a="[3]", shape_b="[2]", name="g.yaml"):
    body = "  inputs:\n" + "".join(f"    {k}: {v}\n" for k, v in inputs.items()) if inputs is not None else ""
    path = tmp_path / name
    path.write_text(GRAPH.format(shape_a=shape_a, shape_b=shape_b, source=source, inputs=body)
                    .replace("  source: csv:d.csv\n", "  source: csv:d.csv\n  target: label\n"))
    return path


def line_of(path, text):
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# -- CSV ----------------------------------------------------------------------------------------------
def test_csv_columns_and_ranges_train_evaluate_and_resume_exactly(tmp_path, capsys):
    make_csv(tmp_path)
    graph = write(tmp_path, {"a": "p0..p2", "b": "[q0, q1]"})
    full = prepare(graph, runs_dir=tmp_path / "full")
    assert [p.names for p in full.dataset.inputs] == [["p0", "p1", "p2"], ["q0", "q1"]]
    assert [p.shape for p in full.dataset.inputs] == [(3,), (2,)]
    result = full.run()
    assert result.reason == "completed" and result.best["val_accuracy"] > 0.8

    part = prepare(graph, runs_dir=tmp_path / "part", options=TrainerOptions(grad_stats_every=1))
    part.subscribe(lambda e: part.stop() if isinstance(e, ev.GradientStats) and e.step == 9 else None)
    assert part.run().reason == "stopped"
    assert main(["train", "--resume", str(part.run_dir)]) == 0
    a, b = (load_checkpoint(r / "last.pt") for r in (full.run_dir, part.run_dir))
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert set(a["normalizers"]) == {"a", "b"} and a["input_ids"] == ["a", "b"]

    capsys.readouterr()
    assert main(["evaluate", str(full.run_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(evaluate_run(full.run_dir)["accuracy"])


def test_the_parts_follow_the_input_order_of_the_file_not_of_the_mapping(tmp_path):
    make_csv(tmp_path)
    graph = write(tmp_path, {"b": "[q0, q1]", "a": "[p0, p1, p2]"})
    session = prepare(graph, runs_dir=None)
    train = session.dataset.train
    assert [t.shape[1] for t in train.x] == [3, 2]


def test_part_choices_list_the_columns_without_the_target(tmp_path):
    make_csv(tmp_path)
    graph = load_graph(write(tmp_path, {"a": "p0..p2", "b": "q0..q1"}))
    choices = part_choices(graph.data_config(), tmp_path)
    assert choices.kind == "columns" and list(choices.shapes) == ["p0", "p1", "p2", "q0", "q1"]


# -- NPZ ----------------------------------------------------------------------------------------------
def make_npz(tmp_path, split_arrays=False, name="d.npz"):
    rng = np.random.default_rng(1)
    img = rng.normal(size=(240, 1, 2, 2)).astype(np.float32)
    num = rng.normal(size=(240, 2)).astype(np.float32)
    y = (img[:, 0, 0, 0] + num[:, 1] > 0).astype(np.int64)
    arrays = {"x_img": img, "x_num": num, "y": y}
    if split_arrays:
        arrays.update(x_img_val=img[:40], x_num_val=num[:40], y_val=y[:40])
        arrays.update(x_img=img[40:], x_num=num[40:], y=y[40:])
    np.savez(tmp_path / name, **arrays)


def test_npz_arrays_with_split_arrays_train_and_export_to_onnx_with_named_inputs(tmp_path, capsys):
    make_npz(tmp_path, split_arrays=True)
    graph = write(tmp_path, {"a": "x_img", "b": "x_num"}, source="npz:d.npz", shape_a="[1, 2, 2]")
    graph.write_text(graph.read_text().replace("  a:      {type: Input, shape: [1, 2, 2]}\n",
                                               "  a:      {type: Input, shape: [1, 2, 2]}\n  flat:   {type: Flatten}\n")
                     .replace("a -> fa", "a -> flat -> fa"))
    session = prepare(graph, runs_dir=tmp_path / "runs")
    assert len(session.dataset.val) == 40
    result = session.run()
    assert result.reason == "completed" and result.best["val_accuracy"] > 0.7
    out = tmp_path / "m.onnx"
    assert main(["export", str(session.run_dir), "--to", "onnx", "-o", str(out)]) == 0
    import onnxruntime as ort
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["a", "b"]
    # raw samples in, the trained network's logits out (the run's normalization of each Input inside)
    raw = np.load(tmp_path / "d.npz")
    img, num = raw["x_img_val"][:6], raw["x_num_val"][:6]
    got = sess.run(None, {"a": img, "b": num})[0]
    model = session.model.cpu().eval()
    norms = {p.input_id: p.normalizer for p in session.dataset.inputs}
    with torch.no_grad():
        want = model(norms["a"].apply(torch.from_numpy(img)), norms["b"].apply(torch.from_numpy(num))).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


# -- mapping mistakes -------------------------------------------------------------------------------------
def check_one_line(capsys, graph, *words, line_text=None):
    assert main(["train", str(graph), "--runs", str(graph.parent / "runs")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    if line_text is not None:
        assert err[0].startswith(f"{graph}:{line_of(graph, line_text)}:"), err[0]
    for word in words:
        assert word in err[0], (word, err[0])
    assert not (graph.parent / "runs").exists()


def test_several_inputs_without_a_mapping(tmp_path, capsys):
    make_csv(tmp_path)
    check_one_line(capsys, write(tmp_path, None), "2 Inputs", "data.inputs", line_text="data:")


def test_unknown_input_and_non_input_ids(tmp_path, capsys):
    make_csv(tmp_path)
    check_one_line(capsys, write(tmp_path, {"a": "p0..p2", "b": "[q0, q1]", "c": "[p0]"}), "inputs.c",
                   "no Input node c", line_text="    c: [p0]")
    check_one_line(capsys, write(tmp_path, {"a": "p0..p2", "b": "[q0, q1]", "fb": "[q1]"}), "fb is a Linear node",
                   line_text="    fb:")


def test_an_input_left_out_of_the_mapping(tmp_path, capsys):
    make_csv(tmp_path)
    check_one_line(capsys, write(tmp_path, {"a": "p0..p2"}), "node b:", "no part")


def test_unknown_column_names_it_with_a_suggestion(tmp_path, capsys):
    make_csv(tmp_path)
    check_one_line(capsys, write(tmp_path, {"a": "p0..p2", "b": "[q0, q11]"}), "node b:", "no column 'q11'",
                   "q1", line_text="    b: [q0, q11]")


def test_a_column_used_twice_and_a_column_not_used(tmp_path, capsys):
    make_csv(tmp_path)
    check_one_line(capsys, write(tmp_path, {"a": "p0..p2", "b": "[p2, q1]"}, shape_b="[2]"), "'p2'",
                   "by both a and b", line_text="    b: [p2, q1]")
    check_one_line(capsys, write(tmp_path, {"a": "p0..p2", "b": "[q1]"}, shape_b="[1]"), "'q0'", "unused")


def test_the_target_column_cannot_be_mapped(tmp_path, capsys):
    make_csv(tmp_path)
    check_one_line(capsys, write(tmp_path, {"a": "p0..p2", "b": "[q0, label]"}), "no column 'label'")


def test_a_part_whose_shape_differs_from_its_input(tmp_path, capsys):
    make_csv(tmp_path)
    check_one_line(capsys, write(tmp_path, {"a": "p0..p2", "b": "q0..q1"}, shape_a="[4]"), "node a:", "[4]",
                   "3 column(s)", "[3]", line_text="  a:      {type: Input")


def test_npz_unknown_array_and_missing_split_array(tmp_path, capsys):
    make_npz(tmp_path)
    check_one_line(capsys, write(tmp_path, {"a": "x_im", "b": "x_num"}, source="npz:d.npz", shape_a="[4]"),
                   "node a:", "no array 'x_im'", "x_img", line_text="    a: x_im")
    np.savez(tmp_path / "s.npz", x_img=np.zeros((9, 4)), x_num=np.zeros((9, 2)), y=np.arange(9) % 2,
             x_num_val=np.zeros((3, 2)), y_val=np.arange(3) % 2)
    check_one_line(capsys, write(tmp_path, {"a": "x_img", "b": "x_num"}, source="npz:s.npz", shape_a="[4]"),
                   "'x_img_val'", line_text="    a: x_img")


def test_check_reports_static_mapping_problems_without_loading_data(tmp_path, capsys):
    graph = write(tmp_path, {"a": "p0", "zz": "p1"})  # no CSV file at all: check does not read data
    assert main(["check", str(graph)]) == 1
    out = capsys.readouterr()
    assert "inputs.zz" in (out.out + out.err)


def test_a_single_input_graph_needs_no_mapping_and_keeps_one_tensor(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text("nodetrainer: 1\nname: one\nnodes:\n  a: {type: Input, shape: [4]}\n"
                    "  logits: {type: Linear, out_features: 3}\n  out: {type: Output}\nedges:\n"
                    "  - a -> logits -> out\ndata:\n  source: builtin:iris\ntraining:\n  epochs: 1\n")
    session = prepare(path, runs_dir=None)
    assert isinstance(session.dataset.train.x, torch.Tensor) and session.dataset.inputs == []


def test_a_bad_inputs_value_is_a_located_setting_problem(tmp_path):
    make_csv(tmp_path)
    graph = write(tmp_path, {"a": "p0..p2", "b": "{x: 1}"})
    with pytest.raises(NodeTrainerError) as info:
        prepare(graph, runs_dir=None)
    assert any("inputs.b must be" in p.message and p.line == line_of(graph, "    b: {x: 1}")
               for p in info.value.problems)


# -- distributed training and the training script --------------------------------------------------------
def test_ranks_take_their_rows_of_every_input_of_the_same_global_batches():
    from nodetrainer.training.batches import ShardedBatches, TensorBatches
    x = (torch.arange(52.0)[:, None], torch.arange(52.0)[:, None] * 10)  # 6 x 8 + 4: two each in the last batch
    y = torch.arange(52)

    def batches():
        return TensorBatches(x, y, 8, torch.device("cpu"), shuffle=True, generator=torch.Generator().manual_seed(2))

    whole = list(batches().batches())
    parts = [list(ShardedBatches(batches(), r, 2).batches()) for r in range(2)]
    assert len(whole) == len(parts[0]) == 7
    for step, (xb, yb) in enumerate(whole):
        for k in range(2):
            assert torch.equal(torch.cat([p[step][0][k] for p in parts]), xb[k])
        assert torch.equal(xb[1], xb[0] * 10) and torch.equal(xb[0][:, 0].long(), yb)  # rows stay together


def test_two_processes_train_a_graph_with_several_inputs(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path
    make_csv(tmp_path)
    graph = write(tmp_path, {"a": "p0..p2", "b": "[q0, q1]"})
    graph.write_text(graph.read_text().replace("epochs: 4", "epochs: 1"))
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-m", "nodetrainer.cli", "train", str(graph), "--runs",
                           str(tmp_path / "runs"), "--device", "cpu", "--nproc-per-node", "2"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    [summary] = list((tmp_path / "runs").glob("*/*/summary.json"))
    assert json.loads(summary.read_text())["world_size"] == 2


def test_the_training_script_cuts_and_normalizes_the_parts_as_training_does(tmp_path, capsys):
    import subprocess
    import sys
    make_npz(tmp_path, split_arrays=True)
    graph = write(tmp_path, {"a": "x_img", "b": "x_num"}, source="npz:d.npz", shape_a="[1, 2, 2]")
    graph.write_text(graph.read_text().replace("  a:      {type: Input, shape: [1, 2, 2]}\n",
                                               "  a:      {type: Input, shape: [1, 2, 2]}\n  flat:   {type: Flatten}\n")
                     .replace("a -> fa", "a -> flat -> fa"))
    script = tmp_path / "train.py"
    assert main(["export", str(graph), "--to", "script", "-o", str(script)]) == 0
    assert "data equals NodeTrainer's (max abs difference 0)" in capsys.readouterr().err
    proc = subprocess.run([sys.executable, str(script), "--epochs", "2", "--device", "cpu"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "val_accuracy" in proc.stdout and (tmp_path / "train-run" / "best.pt").exists()
