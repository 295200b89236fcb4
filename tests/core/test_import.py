"""nodetrainer import: torchvision targets, models from files, refusals, weights, and export -> import round trips."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from nodetrainer.cli import main
from nodetrainer.codegen import generate
from nodetrainer.compiler import compile_graph
from nodetrainer.graph import Graph
from nodetrainer.graphfile import dump_graph, load_graph
from nodetrainer.importer import ImportRefused, convert_weights, import_model
from nodetrainer.importer.sources import load_source
from nodetrainer.summary import summarize
from nodetrainer.training.run import prepare

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "graphs").glob("*.yaml"))

try:
    from nodetrainer.importer.sources import load_torchvision
    load_torchvision()
    HAVE_TORCHVISION = True
except Exception:
    HAVE_TORCHVISION = False
needs_torchvision = pytest.mark.skipif(not HAVE_TORCHVISION, reason="torchvision (an optional extra) is absent")

TARGETS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032, "vgg11": 132_863_336,
           "mobilenet_v2": 3_504_872, "squeezenet1_0": 1_248_424}


@needs_torchvision
@pytest.mark.parametrize("name", list(TARGETS))
def test_torchvision_targets_import_with_their_parameters_and_outputs(name):
    torch.manual_seed(0)
    model, _ = load_source(f"torchvision:{name}")
    result = import_model(model, [(3, 64, 64)], name)  # any size the model takes: 64x64 keeps the test quick
    assert summarize(result.graph).total_params == sum(p.numel() for p in model.parameters()) == TARGETS[name]
    network = compile_graph(result.graph).eval()
    network.load_state_dict(convert_weights(result, model))  # every weight and running statistic, by name
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert (network(x) - model(x)).abs().max() <= 1e-5


@needs_torchvision
def test_resnet18_imports_as_blocks_like_the_example():
    model, _ = load_source("torchvision:resnet18")
    graph = import_model(model, [(3, 224, 224)], "resnet18").graph
    assert list(graph.nodes) == ["x", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2_0", "layer2_1", "layer3_0",
                                 "layer3_1", "layer4_0", "layer4_1", "avgpool", "flat", "fc", "out"]
    assert list(graph.blocks) == ["basic_block", "basic_block2"]
    assert graph.nodes["layer1"].params == {"repeat": 2}
    assert graph.nodes["layer3_1"].params == {"out_channels": 256}


@needs_torchvision
@pytest.mark.parametrize("name, refusal", [
    ("mobilenet_v3_small", "Hardswish (a module of torch.nn.modules.activation) at features.0.2 (mobilenetv3.py:"),
    ("efficientnet_b0", "stochastic_depth at features.2.1.stochastic_depth"),
    ("convnext_tiny", "x.permute() at features.0.1 (convnext.py:"),
])
def test_models_that_cannot_be_expressed_are_refused_by_op_and_place(name, refusal, tmp_path, capsys):
    out = tmp_path / "model.yaml"
    assert main(["import", f"torchvision:{name}", "--input-shape", "3,64,64", "-o", str(out)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and all(line.startswith(f"torchvision:{name}: ") for line in lines)
    assert refusal in lines[0] and "has no node type" in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing written


MODEL_FILE = '''
import torch
from torch import nn
import torch.nn.functional as F


class Unit(nn.Module):
    """A conv-BN-ReLU unit with a skip."""

    def __init__(self, width, kernel=3):
        super().__init__()
        self.conv = nn.Conv2d(width, width, kernel, padding=kernel // 2)
        self.norm = nn.BatchNorm2d(width)

    def forward(self, x):
        return F.relu(self.norm(self.conv(x))) + x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.stage = nn.Sequential(Unit(8), Unit(8), Unit(8))
        self.wide = nn.Conv2d(8, 16, 1)
        self.last = Unit(16, kernel=5)
        self.head = nn.Linear(16, 10)

    def forward(self, image):
        x = self.last(self.wide(self.stage(self.stem(image))))
        return self.head(torch.flatten(x.mean((2, 3), keepdim=True), 1))


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return x
'''


def test_a_model_from_a_file_gets_blocks_named_as_its_code_names_them(tmp_path, capsys):
    source = tmp_path / "nets.py"
    source.write_text(MODEL_FILE)
    out = tmp_path / "net.yaml"
    assert main(["import", f"{source}:Net", "--input-shape", "1,8,8", "-o", str(out)]) == 0
    graph = load_graph(out)
    assert list(graph.nodes) == ["image", "stem", "stage", "wide", "last", "pool", "flat", "head", "out"]
    assert graph.nodes["stage"].params == {"repeat": 3}  # an nn.Sequential of three equal Units
    # width and kernel as the constructor names them; padding (kernel // 2) from the values that differ
    assert graph.nodes["last"].params == {"width": 16, "kernel": 5, "padding": 2}
    unit = graph.blocks["unit"]
    assert unit.params == {"width": 8, "kernel": 3, "padding": 1}
    assert unit.description == "A conv-BN-ReLU unit with a skip."
    assert unit.body.nodes["conv"].params == {"out_channels": "$width", "kernel_size": "$kernel", "padding": "$padding"}
    assert main(["import", f"{source}:Branchy", "--input-shape", "4", "-o", str(tmp_path / "b.yaml")]) == 1
    err = capsys.readouterr().err
    assert "a data-dependent branch at the model's forward (nets.py:" in err or "data-dependent branch" in err
    assert not (tmp_path / "b.yaml").exists()


def test_weights_go_beside_the_graph_and_training_starts_from_them(tmp_path):
    source = tmp_path / "nets.py"
    source.write_text(MODEL_FILE)
    module, _ = load_source(f"{source}:Net")
    torch.manual_seed(3)
    for p in module.parameters():
        p.data.normal_()
    torch.save(module.state_dict(), tmp_path / "trained.pt")
    out = tmp_path / "net.yaml"
    assert main(["import", f"{source}:Net", "--input-shape", "1,8,8", "-o", str(out),
                 "--weights", str(tmp_path / "trained.pt")]) == 0
    graph = load_graph(out)
    assert graph.training == {"init_from": "net.pt"} and (tmp_path / "net.pt").exists()
    graph.data = {"source": "builtin:digits"}
    session = prepare(graph, runs_dir=None)
    model = session.model.eval()
    module.eval()
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), module(x), atol=1e-5)
    graph.training = {"init_from": "missing.pt"}
    with pytest.raises(Exception, match="training.init_from: no weights file"):
        prepare(graph, runs_dir=None)


def _function_ids_as(original: Graph, imported: Graph) -> Graph:
    """`imported` with the ids of the nodes generated code does not name (functions such as Add, and Outputs)
    taken from `original`, matched in order: what an export cannot carry."""
    renames = {}
    for (a, na), (b, nb) in zip(original.nodes.items(), imported.nodes.items()):
        assert na.type == nb.type, (a, b)
        if a != b:
            assert na.type in ("Add", "Multiply", "Concat", "Flatten", "Reshape", "GlobalAvgPool", "Output"), (a, b)
            renames[b] = a
    for old, new in renames.items():
        imported.rename_node(old, new)
    return imported


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_round_trips_through_its_export(path, tmp_path):
    graph = load_graph(path)
    generated = generate(graph)
    (tmp_path / "model.py").write_text(generated.source)
    module, _ = load_source(f"{tmp_path / 'model.py'}:{generated.class_name}")
    shapes = [tuple(graph.nodes[i].params["shape"]) for i in graph.input_ids()]
    imported = _function_ids_as(graph, import_model(module, shapes, graph.name).graph)
    network = Graph(graph.name, graph.description)
    network.blocks, network.nodes, network.inputs = graph.blocks, graph.nodes, graph.inputs
    assert dump_graph(imported) == dump_graph(network)  # the same blocks, nodes, parameters and edges


def test_a_refused_import_names_each_op_once(tmp_path):
    source = tmp_path / "odd.py"
    source.write_text(textwrap.dedent('''
        import torch
        from torch import nn

        class Odd(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 4)
                self.act = nn.Hardswish()
                self.scale = nn.Parameter(torch.ones(4))

            def forward(self, x):
                return self.act(self.fc(x)).permute(0, 1) * self.scale
        '''))
    module, _ = load_source(f"{source}:Odd")
    with pytest.raises(ImportRefused) as caught:
        import_model(module, [(4,)], "odd", "odd.py:Odd")
    lines = [str(p) for p in caught.value.problems]
    assert lines[0].startswith("odd.py:Odd: Hardswish (a module of torch.nn.modules.activation) at act (odd.py:")
    assert any("the weight scale used outside a layer" in line for line in lines)
    assert len(lines) == 2  # the permute and the product depend on the refused op: not named again
