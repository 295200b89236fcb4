"""The tune space without training: dotted paths read and written like file values, types and conditional
keys, Optuna's view of choices, and the ranges the app proposes."""
from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from nodetrainer.graphfile import dump_graph, load_graph, read_graph
from nodetrainer.settings import OPTIMIZER_PARAMS
from nodetrainer.tune.space import parse_space, sample, short_names, suggested_range
from nodetrainer.tune.values import apply_values, applies, get_value, value_problem

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cnn():
    return load_graph(ROOT / "graphs" / "digits_cnn.yaml")


def test_values_at_paths_are_the_files_or_their_defaults(cnn):
    assert get_value(cnn, "training.optimizer.lr") == 0.001
    assert get_value(cnn, "training.optimizer.weight_decay") == 0.0  # a default
    assert get_value(cnn, "nodes.drop.p") == 0.25 and get_value(cnn, "nodes.conv1.stride") == 1
    assert get_value(cnn, "training.regularization.l2") == 0.0 and get_value(cnn, "data.split.val") == 0.1


def test_writing_values_changes_a_copy_and_reads_back_as_a_valid_file(cnn):
    g = apply_values(cnn, {"training.optimizer.type": "sgd", "training.optimizer.momentum": 0.9,
                           "nodes.conv1.out_channels": 8, "nodes.drop.p": 0.5, "training.batch_size": 32})
    assert cnn.nodes["conv1"].params["out_channels"] == 32  # the original is untouched
    assert g.training["optimizer"] == {"type": "sgd", "lr": 0.001, "momentum": 0.9}
    assert "p" not in g.nodes["drop"].params  # 0.5 is Dropout's default: left out, as the editor does
    again, problems = read_graph(dump_graph(g), "x.yaml")
    assert problems == [] and again.nodes["conv1"].params["out_channels"] == 8


def test_choosing_an_optimizer_type_keeps_only_the_keys_it_takes(cnn):
    adam = apply_values(cnn, {"training.optimizer.betas": [0.8, 0.99]})
    sgd = apply_values(adam, {"training.optimizer.type": "sgd"})
    assert sgd.training["optimizer"] == {"type": "sgd", "lr": 0.001}
    assert not applies(adam, "training.optimizer.momentum") and applies(sgd, "training.optimizer.momentum")
    merged = apply_values(adam, {"training.optimizer": {"type": "sgd", "momentum": 0.9}})  # a whole-section choice
    assert merged.training["optimizer"] == {"type": "sgd", "lr": 0.001, "momentum": 0.9}


def test_a_value_is_judged_as_the_files_reader_would(cnn):
    assert value_problem(cnn, "nodes.drop.p", 0.3) is None
    assert "'p' must be >= 0 and < 1" in value_problem(cnn, "nodes.drop.p", 1.0)
    assert "must be an integer" in value_problem(cnn, "nodes.fc.out_features", 12.5)
    assert "must be adam" in value_problem(cnn, "training.optimizer.type", "adamm") or \
        "did you mean 'adam'" in value_problem(cnn, "training.optimizer.type", "adamm")
    assert value_problem(cnn, "training.optimizer.momentum", 0.9) is None  # judged under a type that takes it
    assert "names no training setting" in value_problem(cnn, "training.nope", 1)


def test_optuna_samples_conditional_keys_only_for_the_types_that_take_them(cnn):
    cnn.tune = {"space": {"training.optimizer.momentum": {"uniform": [0.0, 0.9]},
                          "training.optimizer": {"choice": [{"type": "adam"}, {"type": "sgd", "momentum": 0.5}]},
                          "nodes.fc.out_features": {"int": [16, 256], "log": True}}}
    dims, problems = parse_space(cnn)
    assert problems == []
    section = next(d for d in dims if d.path == "training.optimizer")
    assert section.labels == ("{type: adam}", "{type: sgd, momentum: 0.5}")  # what Optuna stores
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        values = sample(trial, dims, cnn)
        kind = values["training.optimizer"]["type"]
        seen.add(kind)
        assert ("training.optimizer.momentum" in values) == (kind == "sgd")
        assert 16 <= values["nodes.fc.out_features"] <= 256
        study.tell(trial, 0.5)
    assert seen == {"adam", "sgd"}


def test_the_app_proposes_ranges_around_the_current_value():
    lr = OPTIMIZER_PARAMS["lr"]
    assert suggested_range(lr, 0.001) == {"log_uniform": [0.0001, 0.01]}
    assert suggested_range(OPTIMIZER_PARAMS["type"], "adam") == {"choice": ["sgd", "adagrad", "rmsprop", "adam",
                                                                             "adamw"]}
    assert suggested_range(OPTIMIZER_PARAMS["momentum"], 0.0) == {"uniform": [0.0, 0.5]}
    assert suggested_range(OPTIMIZER_PARAMS["weight_decay"], 0.0) == {"log_uniform": [1e-06, 0.01]}
    assert suggested_range(OPTIMIZER_PARAMS["betas"], [0.9, 0.999]) is None  # a list: not something to tune
    g = load_graph(ROOT / "graphs" / "digits_cnn.yaml")
    out = g.nodes["fc"].spec.param_map["out_features"]
    assert suggested_range(out, 128) == {"int": [64, 256], "log": True}
    kernel = g.nodes["conv1"].spec.param_map["kernel_size"]
    assert suggested_range(kernel, 3) == {"int": [1, 5], "step": 2}
    for path, rng in (("nodes.fc.out_features", {"int": [64, 256], "log": True}),
                      ("nodes.conv1.kernel_size", {"int": [1, 5], "step": 2}),
                      ("training.optimizer.lr", {"log_uniform": [0.0001, 0.01]})):
        g.tune = {"space": {path: rng}}
        assert parse_space(g)[1] == []  # what the app proposes is a valid range


def test_short_names_tell_paths_apart():
    assert short_names(["training.optimizer.lr", "nodes.fc1.out_features", "nodes.fc2.out_features"]) == {
        "training.optimizer.lr": "lr", "nodes.fc1.out_features": "fc1.out_features",
        "nodes.fc2.out_features": "fc2.out_features"}


def test_block_paths_are_tunable_like_any_value():
    """A deeper model is one tunable number: a use's repeat, a use's block parameter, a block's default and a
    value inside a block are read, written and checked through the same paths as node parameters."""
    from pathlib import Path

    from nodetrainer.graphfile import load_graph
    from nodetrainer.tune import values
    from nodetrainer.validate import check_graph

    graph = load_graph(Path(__file__).resolve().parents[2] / "graphs" / "resnet18.yaml")
    assert values.get_value(graph, "nodes.layer1.repeat") == 2
    assert values.get_value(graph, "nodes.layer3_1.channels") == 256
    assert values.get_value(graph, "blocks.basic.params.channels") == 64
    assert values.get_value(graph, "blocks.basic.nodes.conv1.kernel_size") == 3
    deeper = values.apply_values(graph, {"nodes.layer1.repeat": 3, "blocks.basic.nodes.conv1.kernel_size": 5,
                                         "blocks.basic.nodes.conv1.padding": 2})
    assert deeper.nodes["layer1"].params["repeat"] == 3 and graph.nodes["layer1"].params["repeat"] == 2
    assert not check_graph(deeper).problems
    assert check_graph(deeper).shapes  # the deeper network still infers
    assert values.value_problem(graph, "nodes.layer1.repeat", 0) is not None  # checked like a file value
    assert values.value_problem(graph, "nodes.layer1.repeat", 4) is None
    assert "no parameter" in values.value_problem(graph, "nodes.layer1.kernel_size", 3)
    assert "names no block" in values.value_problem(graph, "blocks.nope.params.channels", 3)
