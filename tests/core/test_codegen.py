"""Generated code: exported files match the compiled module, and generated names stay safe."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from nodetrainer.cli import main
from nodetrainer.codegen import generate
from nodetrainer.compiler import compile_graph, node_for_traceback
from nodetrainer.errors import GraphError
from nodetrainer.graph import Graph
from nodetrainer.graphfile import load_graph, read_graph
from nodetrainer.summary import summarize
from nodetrainer.validate import check_graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "graphs").glob("*.yaml") if p.stem != "resnet18")


def _sample(graph: Graph, batch: int = 3) -> list[torch.Tensor]:
    torch.manual_seed(0)
    return [torch.randn(batch, *graph.nodes[i].params["shape"]) for i in graph.input_ids()]


@pytest.mark.parametrize("path", EXAMPLES + [ROOT / "graphs" / "resnet18.yaml"], ids=lambda p: p.stem)
def test_exported_file_runs_without_nodetrainer_and_matches(path, tmp_path):
    graph = load_graph(path)
    model = compile_graph(graph).eval()
    out_file = tmp_path / "model.py"
    assert main(["export", str(path), "--to", "python", "-o", str(out_file)]) == 0
    inputs = _sample(graph, batch=1 if path.stem == "resnet18" else 3)
    with torch.no_grad():
        expected = model(*inputs)
    torch.save({"state": model.state_dict(), "inputs": inputs, "expected": expected}, tmp_path / "case.pt")
    script = textwrap.dedent(f"""
        import sys
        sys.modules["nodetrainer"] = None  # importing it now fails
        sys.path.insert(0, {str(tmp_path)!r})
        import torch, model
        case = torch.load({str(tmp_path / 'case.pt')!r})
        net = model.{model.__class__.__name__}()
        net.load_state_dict(case["state"])
        net.eval()
        with torch.no_grad():
            out = net(*case["inputs"])
        print(torch.equal(out, case["expected"]), tuple(out.shape))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True"), result.stdout
    source = out_file.read_text()
    assert "nodetrainer" not in source.split('"""', 2)[2]  # only the docstring mentions it
    ast.parse(source)


def test_generated_code_reads_like_handwritten():
    source = generate(load_graph(ROOT / "graphs" / "digits_resnet.yaml")).source
    assert "class DigitsResnet(nn.Module):" in source
    assert "self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)" in source
    assert "self.bn1 = nn.BatchNorm2d(32)" in source
    assert "self.logits = nn.Linear(32, 10)" in source
    assert "nn.init.orthogonal_(self.conv2.weight)" in source
    assert "x = x + relu1  # [B, 32, 8, 8]" in source
    assert "def forward(self, image):" in source


def test_names_that_would_clash_are_renamed_but_still_work():
    g = Graph("clash")
    g.add_node("input", "Input", {"shape": [4]})  # a builtin
    g.add_node("training", "Linear", {"out_features": 3})  # an nn.Module attribute
    g.add_node("torch", "ReLU")  # the module name
    g.add_node("x", "Linear", {"out_features": 2})
    g.add_node("out", "Output")
    for a, b in [("input", "training"), ("training", "torch"), ("torch", "x"), ("x", "out")]:
        g.connect(a, b)
    model = compile_graph(g)
    model.eval()  # would fail if a layer had taken over the `training` flag
    assert model(torch.randn(5, 4)).shape == (5, 2)
    assert model.node_of_attr["training_"] == "training"


def test_global_and_node_init_are_applied():
    text = (ROOT / "graphs" / "digits_mlp.yaml").read_text().replace("seed: 0\n", "seed: 0\n  init: orthogonal\n", 1)
    text = text.replace("{type: Linear, out_features: 64}", "{type: Linear, out_features: 64, init: zeros}")
    graph, problems = read_graph(text)
    assert not problems
    model = compile_graph(graph)
    w = model.hidden1.weight.detach()
    assert torch.allclose(w @ w.T, torch.eye(128), atol=1e-4) or torch.allclose(w.T @ w, torch.eye(64), atol=1e-4)
    assert torch.count_nonzero(model.hidden2.weight) == 0
    assert torch.count_nonzero(model.hidden1.bias) == 0


def test_orthogonal_conv_kernels():
    text = (ROOT / "graphs" / "digits_resnet.yaml").read_text()
    model = compile_graph(read_graph(text)[0])
    w = model.conv2.weight.detach().reshape(32, -1)  # out_channels x (in_channels*k*k)
    assert torch.allclose(w @ w.T, torch.eye(32), atol=1e-4)


def test_runtime_error_points_at_the_generated_line_and_node():
    graph = load_graph(ROOT / "graphs" / "digits_mlp.yaml")
    model = compile_graph(graph)
    with pytest.raises(RuntimeError) as info:
        model(torch.randn(2, 1, 9, 9))  # wrong sample shape
    assert node_for_traceback(info.value.__traceback__) == "hidden1"
    import traceback
    text = "".join(traceback.format_exception(info.value))
    assert "x = self.hidden1(x)" in text


def test_summary_of_huge_graph_allocates_nothing():
    g = Graph("huge")
    g.add_node("x", "Input", {"shape": [10_000_000]})
    g.add_node("fc", "Linear", {"out_features": 1_000_000, "bias": False})
    g.add_node("out", "Output")
    g.connect("x", "fc")
    g.connect("fc", "out")
    assert summarize(g, partial=True).total_params == 10**13  # 40 TB of weights if anything were allocated
    [problem] = check_graph(g).problems  # and far too many to build: refused before anything is allocated
    assert problem.node == "fc" and "10,000,000,000,000 weights" in problem.message
    with pytest.raises(GraphError, match="at most 4,294,967,296 fit"):
        compile_graph(g)


def test_resnet18_has_torchvision_parameter_count(capsys):
    assert main(["summary", str(ROOT / "graphs" / "resnet18.yaml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 11_689_512
    assert data["nodes"][1] == {"id": "conv1", "type": "Conv2d", "output_shape": [64, 112, 112],
                                "params": 9408, "macs": 118_013_952}


def test_core_never_imports_qt():
    code = ("import sys, nodetrainer, nodetrainer.cli, nodetrainer.compiler, nodetrainer.summary, nodetrainer.data;"
            "import pkgutil, importlib;"
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(nodetrainer.__path__, 'nodetrainer.')];"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _graph(name: str, nodes: list[tuple[str, str, dict]], edges: list[str]) -> Graph:
    g = Graph(name)
    for node_id, node_type, params in nodes:
        g.add_node(node_id, node_type, params)
    for chain in edges:
        ids = [s.strip() for s in chain.split("->")]
        for a, b in zip(ids, ids[1:]):
            g.connect(a, b)
    return g


def test_a_node_named_like_a_renamed_argument_does_not_overwrite_it():
    g = _graph("shadow", [("input", "Input", {"shape": [4]}), ("input_", "ReLU", {}), ("fc", "Linear", {"out_features": 4}),
                          ("add", "Add", {}), ("out", "Output", {})],
               ["input -> input_ -> add -> out", "input -> fc -> add"])
    model = compile_graph(g).eval()
    x = torch.randn(5, 4)
    with torch.no_grad():
        assert torch.equal(model(x), torch.relu(x) + model.fc(x))  # relu(x) + Wx, not relu(x) + W relu(x)


def test_ids_that_collide_with_metadata_flow_names_and_dunders_compile():
    ids = ["source", "input_ids", "output_ids", "node_of_attr", "x", "h", "y", "z", "__fc", "__init__"]
    g = _graph("names", [("out", "Input", {"shape": [3]})] + [(i, "Linear", {"out_features": 3}) for i in ids]
               + [("result", "Output", {})], [" -> ".join(["out", *ids, "result"])])
    model = compile_graph(g)  # used to raise TypeError (metadata), StopIteration (no flow name) ...
    assert all(not key.startswith("_") for key in model.state_dict())  # ... or mangle __fc to _Names__fc
    assert model.node_of_attr["n__fc"] == "__fc" and model.input_ids == ["out"] and "class Names" in model.source
    assert model(torch.randn(2, 3)).shape == (2, 3)


def test_lower_rank_input_of_add_broadcasts_per_sample():
    """Input [3, 4] -> Flatten -> Linear 4 -> Add with the Input: [4] aligns with the last dimension of each
    sample; the batch dimension never meets a sample's dimension (it used to fail at batch 2 and mix
    samples at batch 3)."""
    g = _graph("bcast", [("x", "Input", {"shape": [3, 4]}), ("flat", "Flatten", {}),
                         ("fc", "Linear", {"out_features": 4}), ("add", "Add", {}), ("out", "Output", {})],
               ["x -> flat -> fc -> add -> out", "x -> add"])
    assert check_graph(g).shapes.shapes["add"] == (3, 4)
    model = compile_graph(g).eval()
    xs = torch.randn(3, 3, 4)
    with torch.no_grad():
        for batch in (1, 2, 3):
            assert model(xs[:batch]).shape == (batch, 3, 4)
        alone = model(xs[:1])
        assert torch.allclose(model(xs)[:1], alone, atol=1e-6)
        assert torch.allclose(alone[0], model.fc(xs[0].flatten()) + xs[0], atol=1e-6)


def test_recompiling_a_graph_keeps_the_line_map_of_older_models():
    first = _graph("same", [("x", "Input", {"shape": [4]}), ("fc1", "Linear", {"out_features": 2}),
                            ("out", "Output", {})], ["x -> fc1 -> out"])
    second = _graph("same", [("x", "Input", {"shape": [4]}), ("act", "ReLU", {}), ("fc2", "Linear", {"out_features": 2}),
                             ("out", "Output", {})], ["x -> act -> fc2 -> out"])
    old, new = compile_graph(first), compile_graph(second)
    for model, node in ((old, "fc1"), (new, "fc2")):
        with pytest.raises(RuntimeError) as info:
            model(torch.randn(2, 5))
        assert node_for_traceback(info.value.__traceback__) == node
