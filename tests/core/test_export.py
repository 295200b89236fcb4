"""Exports users take out of NodeTrainer: ONNX for every example and layer type, a run's weights as Python,
INT8 with its report, and the standalone training script, each checked where it ends up (onnxruntime, a
fresh Python process in which `import nodetrainer` fails, torchrun)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from nodetrainer.cli import main
from nodetrainer.export import open_source
from nodetrainer.export.to_onnx import OPSET
from nodetrainer.graphfile import read_graph
from nodetrainer.layers import REGISTRY, LayerType
from nodetrainer.training.run import evaluate_run, prepare
from test_training_cli import write_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "graphs").glob("*.yaml"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
BLOCKED = textwrap.dedent("""\
    import runpy, sys
    sys.modules["nodetrainer"] = None  # importing it now fails: the export must stand alone
    script = sys.argv.pop(1)
    sys.argv[0] = script
    runpy.run_path(script, run_name="__main__")
""")


def _session(path: Path, feeds: dict) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _onnx_matches_torch(graph_path: Path, out: Path, capsys, batch: int = 3) -> float:
    assert main(["export", str(graph_path), "--to", "onnx", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "max abs difference from torch" in err
    source = open_source(graph_path)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == source.input_ids  # named after the node ids
    assert [o.name for o in session.get_outputs()] == source.output_ids
    assert all(isinstance(i.shape[0], str) for i in session.get_inputs())  # a dynamic batch dimension
    import onnx
    assert onnx.load(str(out)).opset_import[0].version >= 17 and OPSET >= 17
    raw = source.example_inputs(batch, seed=7)
    got = session.run(None, {n: x.numpy() for n, x in zip(source.input_ids, raw)})
    with torch.no_grad():
        want = source.reference()(*raw)
    want = list(want) if isinstance(want, (tuple, list)) else [want]
    return max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_exports_to_onnx_and_matches_onnxruntime(path, tmp_path, capsys):
    batch = 1 if path.stem == "resnet18" else 3
    assert _onnx_matches_torch(path, tmp_path / "model.onnx", capsys, batch) <= 1e-4


LAYER_GRAPHS = {
    "images": """\
nodetrainer: 1
name: every-image-layer
nodes:
  image:  {type: Input, shape: [2, 8, 8]}
  conv:   {type: Conv2d, out_channels: 4, kernel_size: 3, padding: same}
  bn:     {type: BatchNorm}
  relu:   {type: ReLU}
  pool:   {type: MaxPool2d, kernel_size: 2}
  up:     {type: ConvTranspose2d, out_channels: 4, kernel_size: 2, stride: 2}
  avg:    {type: AvgPool2d, kernel_size: 2}
  adapt:  {type: AdaptiveAvgPool2d, output_size: 2}
  drop:   {type: Dropout, p: 0.3, channelwise: true}
  flat:   {type: Flatten}
  gap:    {type: GlobalAvgPool}
  join:   {type: Concat}
  fc:     {type: Linear, out_features: 6}
  norm:   {type: LayerNorm}
  gelu:   {type: GELU}
  sig:    {type: Sigmoid}
  tanh:   {type: Tanh}
  silu:   {type: SiLU}
  plus:   {type: Softplus}
  same:   {type: Identity}
  leaky:  {type: LeakyReLU, negative_slope: 0.2}
  elu:    {type: ELU}
  relu6:  {type: ReLU6}
  add:    {type: Add}
  mul:    {type: Multiply}
  soft:   {type: Softmax}
  logs:   {type: LogSoftmax}
  shape:  {type: Reshape, shape: [2, 3]}
  out:    {type: Output}
edges:
  - image -> conv -> bn -> relu -> pool -> up -> avg -> adapt -> drop -> flat -> join -> fc -> norm -> gelu -> sig
  - avg -> gap -> join
  - norm -> tanh -> silu -> plus -> same -> add -> mul -> soft -> logs -> shape -> out
  - gelu -> leaky -> elu -> relu6 -> add
  - sig -> mul
""",
    "sequences": """\
nodetrainer: 1
name: every-sequence-layer
nodes:
  signal: {type: Input, shape: [3, 12]}
  conv:   {type: Conv1d, out_channels: 4, kernel_size: 3}
  pool:   {type: MaxPool1d, kernel_size: 2}
  avg:    {type: AvgPool1d, kernel_size: 1}
  steps:  {type: Reshape, shape: [5, 4]}
  lstm:   {type: LSTM, hidden_size: 4, bidirectional: true}
  gru:    {type: GRU, hidden_size: 3, return_sequences: false}
  out:    {type: Output}
edges:
  - signal -> conv -> pool -> avg -> steps -> lstm -> gru -> out
""",
    "tokens": """\
nodetrainer: 1
name: every-token-layer
nodes:
  tokens: {type: Input, shape: [7], dtype: int64}
  embed:  {type: Embedding, num_embeddings: 10, embedding_dim: 4}
  flat:   {type: Flatten}
  fc:     {type: Linear, out_features: 2}
  out:    {type: Output}
edges:
  - tokens -> embed -> flat -> fc -> out
""",
}


def test_every_layer_type_is_covered_by_the_onnx_layer_graphs():
    covered = set()
    for text in LAYER_GRAPHS.values():
        graph, problems = read_graph(text.encode(), "layers.yaml")
        assert not problems, problems
        covered |= {node.type for node in graph.nodes.values()}
    assert covered == set(REGISTRY)  # a new layer type must be added here: it exports or is refused by name


@pytest.mark.parametrize("name", sorted(LAYER_GRAPHS))
def test_every_layer_type_exports_to_onnx(name, tmp_path, capsys):
    path = tmp_path / f"{name}.yaml"
    path.write_text(LAYER_GRAPHS[name])
    assert _onnx_matches_torch(path, tmp_path / f"{name}.onnx", capsys, batch=5) <= 1e-4


def test_a_node_type_onnx_cannot_hold_is_refused_by_name_and_nothing_is_written(tmp_path, capsys, monkeypatch):
    lgamma = LayerType("LogGamma", "activations", "log of the gamma function (no ONNX operator)",
                       forward=lambda p, args, attr, out, ins: [f"{out} = torch.lgamma({args[0]})"])
    monkeypatch.setitem(REGISTRY, "LogGamma", lgamma)
    path = tmp_path / "odd.yaml"
    path.write_text("nodetrainer: 1\nname: odd\nnodes:\n  x: {type: Input, shape: [4]}\n"
                    "  fc: {type: Linear, out_features: 3}\n  odd: {type: LogGamma}\n  out: {type: Output}\n"
                    "edges:\n  - x -> fc -> odd -> out\n")
    out = tmp_path / "odd.onnx"
    assert main(["export", str(path), "--to", "onnx", "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "node odd:" in err and "LogGamma cannot be exported to ONNX: prims.lgamma has no ONNX translation" in err
    assert f"{path}:6:" in err  # the node's line in the file
    assert list(tmp_path.iterdir()) == [path]  # no file, not even a temporary one


# -- from a run ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A short digits run (an MLP, 2 epochs) with a test split."""
    folder = tmp_path_factory.mktemp("run")
    graph = write_graph(folder, name="digits-export", epochs=2, batch_size=32, seed=1)
    session = prepare(graph, {"device": "cpu"}, runs_dir=folder / "runs")
    assert session.run().reason == "completed"
    return session.run_dir


def test_python_from_a_run_predicts_like_evaluate_in_a_process_without_nodetrainer(digits_run, tmp_path, capsys):
    out = tmp_path / "digits_model.py"
    assert main(["export", str(digits_run), "--to", "python", "-o", str(out)]) == 0
    assert (tmp_path / "digits_model.pt").exists()
    assert 'DigitsExport.load_trained("digits_model.pt") takes raw samples' in capsys.readouterr().err
    from nodetrainer.data import load_dataset
    source = open_source(digits_run)
    dataset = load_dataset(source.graph.data_config(), ROOT, "classification")
    norm = dataset.normalizer
    raw = dataset.test.x * norm.scale + norm.shift  # the test split as the user holds it: raw pixels
    torch.save({"x": raw, "y": dataset.test.y}, tmp_path / "test.pt")
    check = tmp_path / "check.py"
    check.write_text(textwrap.dedent(f"""\
        import json, torch
        from digits_model import DigitsExport
        model = DigitsExport.load_trained("digits_model.pt")
        case = torch.load("test.pt")
        with torch.no_grad():
            pred = model(case["x"]).argmax(1)
        print(json.dumps({{"accuracy": (pred == case["y"]).double().mean().item()}}))
    """))
    (tmp_path / "blocked.py").write_text(BLOCKED)
    result = subprocess.run([sys.executable, "blocked.py", str(check)], capture_output=True, text=True,
                            cwd=tmp_path, env={**ENV, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    accuracy = json.loads(result.stdout)["accuracy"]
    assert accuracy == pytest.approx(evaluate_run(digits_run, "test", device="cpu")["accuracy"], abs=1e-9)


def test_onnx_from_a_run_takes_raw_samples(digits_run, tmp_path, capsys):
    out = tmp_path / "digits.onnx"
    assert main(["export", str(digits_run), "--to", "onnx", "-o", str(out)]) == 0
    assert "normalization included" in capsys.readouterr().err
    source = open_source(digits_run)
    raw = source.example_inputs(4, seed=3)
    [got] = _session(out, {"image": raw[0].numpy()})
    with torch.no_grad():
        want = source.reference()(*source.reference_inputs(raw))
    assert float(np.abs(got - want.numpy()).max()) <= 1e-4


def test_int8_export_of_a_run_writes_the_report_with_both_accuracies(digits_run, tmp_path, capsys):
    out = tmp_path / "digits.int8.onnx"
    assert main(["export", str(digits_run), "--to", "onnx-int8", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "test accuracy: fp32" in err and "int8" in err
    report = json.loads((tmp_path / "digits.int8.onnx.json").read_text())
    assert report["split"] == "test" and report["metric"] == "accuracy"
    assert report["fp32"]["accuracy"] == pytest.approx(evaluate_run(digits_run, "test", device="cpu")["accuracy"],
                                                       abs=1e-9)
    assert 0.0 < report["int8"]["accuracy"] <= 1.0
    assert report["int8_bytes"] == out.stat().st_size < report["fp32_bytes"]
    assert report["fp32_samples_per_s"] > 0 and report["int8_samples_per_s"] > 0
    [got] = _session(out, {"image": open_source(digits_run).example_inputs(2)[0].numpy()})
    assert got.shape == (2, 10)


def test_int8_needs_a_run(tmp_path, capsys):
    graph = write_graph(tmp_path)
    assert main(["export", str(graph), "--to", "onnx-int8", "-o", str(tmp_path / "x.onnx")]) == 1
    assert "onnx-int8 exports a run" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


# -- the training script ------------------------------------------------------------------------
def test_script_trains_alone_and_under_torchrun_and_its_weights_load_into_the_exported_module(tmp_path):
    graph = write_graph(tmp_path, name="script-mlp", epochs=2, batch_size=64, seed=0,
                        early_stopping="{monitor: val_accuracy, patience: 3}", scheduler="{type: cosine}")
    script, module = tmp_path / "train.py", tmp_path / "net.py"
    assert main(["export", str(graph), "--to", "script", "-o", str(script)]) == 0
    assert main(["export", str(graph), "--to", "python", "-o", str(module)]) == 0
    text = script.read_text()
    assert "def main():" in text and "argparse" in text and "nodetrainer" not in text.split('"""', 2)[2]
    assert "plateau" not in text and "GradScaler" not in text and "penalty" not in text  # only what the graph uses
    (tmp_path / "blocked.py").write_text(BLOCKED)
    env = {**ENV, "PYTHONPATH": str(tmp_path)}
    plain = subprocess.run([sys.executable, "blocked.py", str(script), "--epochs", "1", "--device", "cpu",
                            "--output", "one"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert plain.returncode == 0, plain.stderr
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                          str(_free_port()), "blocked.py", str(script), "--epochs", "1", "--device", "cpu",
                          "--output", "two"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert ddp.returncode == 0, ddp.stderr
    assert json.loads((tmp_path / "two" / "summary.json").read_text())["world_size"] == 2
    (tmp_path / "load.py").write_text("import torch\nfrom net import ScriptMlp\nfor run in ('one', 'two'):\n"
                                      "    ScriptMlp().load_state_dict(torch.load(f'{run}/best.pt'))\n"
                                      "print('loaded')\n")
    check = subprocess.run([sys.executable, "blocked.py", "load.py"], capture_output=True, text=True,
                           cwd=tmp_path, env=env)
    assert check.returncode == 0 and check.stdout.strip() == "loaded", check.stderr


def _free_port() -> int:
    from nodetrainer.training.distributed import free_port
    return free_port()
