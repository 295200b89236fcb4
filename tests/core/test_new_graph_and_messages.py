"""What a new graph starts with, that files without those keys still mean the format's defaults, and
messages in plain words (one line, no quoted YAML) that still say where the problem is."""
from __future__ import annotations

import pytest

from nodetrainer.errors import GraphError
from nodetrainer.graph import Graph
from nodetrainer.graphfile import dump_graph, read_graph
from nodetrainer.settings import parse_data, parse_training, parse_tune
from nodetrainer.templates import STARTER_DATA, STARTER_TRAINING, starter_graph
from nodetrainer.validate import check_graph, check_settings


def test_a_new_graph_has_no_nodes_a_test_split_and_valid_starting_settings():
    graph = starter_graph()
    assert graph.nodes == {} and graph.data == STARTER_DATA and graph.training == STARTER_TRAINING
    data, training = graph.data_config(), graph.training_config()
    assert data.source == "builtin:digits" and data.split.test == 0.15 and data.split.val == 0.15
    assert (training.optimizer.type, training.optimizer.lr, training.optimizer.weight_decay) == ("adamw", 0.003, 0.01)
    assert training.scheduler.type == "cosine" and training.epochs == 30 and training.label_smoothing == 0.1
    assert training.early_stopping is None
    assert check_settings(graph) == []
    again, problems = read_graph(dump_graph(graph))  # File > New, then Save: the file reads back the same
    assert not problems and again.data == graph.data and again.training == graph.training
    graph.training["epochs"] = 3
    graph.data["split"]["test"] = 0.3
    assert starter_graph().training["epochs"] == 30 and starter_graph().data["split"]["test"] == 0.15  # copies


def test_files_without_the_sections_still_mean_the_formats_defaults():
    training, errors = parse_training({})
    assert not errors
    assert (training.optimizer.type, training.optimizer.lr, training.scheduler.type, training.epochs,
            training.label_smoothing, training.early_stopping) == ("adam", 0.001, "none", 20, 0.0, None)
    data, errors = parse_data({"source": "builtin:digits"})
    assert not errors and (data.split.val, data.split.test) == (0.2, 0.0)


def test_an_empty_graph_still_fails_the_check_and_settings_problems_are_found_alone():
    graph = starter_graph()
    messages = [p.message for p in check_graph(graph).problems]
    assert any("no Input node" in m for m in messages) and any("no Output node" in m for m in messages)
    graph.training = {"epochs": 0}
    (problem,) = check_settings(graph)
    assert "'epochs'" in problem.message


def _messages() -> list[str]:
    out = [p.message for p in check_graph(Graph("g")).problems]
    with pytest.raises(GraphError) as caught:
        Graph("g").data_config()
    out += [p.message for p in caught.value.problems]
    for raw in ({"optimizer": 3, "scheduler": "cosine", "early_stopping": 5, "grad_clip": [1], "regularization": 2},
                "fast"):
        out += [m for _, m in parse_training(raw)[1]]
    out += [m for _, m in parse_data("digits")[1]]
    out += [m for _, m in parse_tune("x")[1]] + [m for _, m in parse_tune({"space": {"training.epochs": 3}})[1]]
    for text in ("nodetrainer: 1\nname: g\nnodes: 3\nedges: []\n", "nodetrainer: 1\nname: g\nedges: []\n",
                 "nodetrainer: 1\nname: g\nnodes:\n  a: 5\nedges: []\n"):
        out += [p.message for p in read_graph(text)[1]]
    return out


def test_messages_are_plain_words_on_one_line():
    messages = _messages()
    assert len(messages) >= 12
    for message in messages:
        assert "{" not in message and "}" not in message, message
        assert "\n" not in message, message
    joined = "\n".join(messages)
    for where in ("no Input node", "no Output node", "data source", "'optimizer'", "'early_stopping'",
                  "'grad_clip'", "'training'", "'data'", "'tune'", "range of 'training.epochs'", "'nodes'",
                  "type Linear"):
        assert where in joined, where
