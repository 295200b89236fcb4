"""The Graph model's events reach every view, and the RunFolder knows where a run's graph copy goes."""
from __future__ import annotations

import gc
import sys
from pathlib import Path

from nodetrainer.graph import Graph
from nodetrainer.training.runs import RunFolder


def test_a_failing_subscriber_cannot_stop_the_others(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: reported.append(info[1]))
    g = Graph("g")
    heard = []

    def broken(event):
        raise RuntimeError("a view with a bug")
    g.subscribe(lambda e: heard.append(("first", e.kind)))
    g.subscribe(broken)
    g.subscribe(lambda e: heard.append(("last", e.kind)))
    g.add_node("x", "Input", {"shape": [4]})
    g.add_node("fc", "Linear", {"out_features": 2})
    assert heard == [("first", "node_added"), ("last", "node_added")] * 2  # the others hear every change
    assert [str(e) for e in reported] == ["a view with a bug"]  # reported once, not on every edit


class _View:
    def __init__(self):
        self.events = []


def test_weak_subscription_ends_with_its_owner():
    g = Graph("g")
    view, gone = _View(), _View()
    g.subscribe_weakly(view, lambda v, e: v.events.append(e.kind))
    g.subscribe_weakly(gone, lambda v, e: v.events.append(e.kind))
    alive = {"closed": True}
    closed = _View()
    g.subscribe_weakly(closed, lambda v, e: v.events.append(e.kind), alive=lambda v: not alive["closed"])
    del gone
    gc.collect()
    g.add_node("x", "Input", {"shape": [4]})
    assert view.events == ["node_added"] and closed.events == []
    assert len(g._subscribers) == 1  # the dead and the closed unsubscribed themselves
    unsubscribe = g.subscribe_weakly(view, lambda v, e: v.events.append("again"))
    unsubscribe()
    g.remove_node("x")
    assert view.events == ["node_added", "node_removed"]


def test_run_folder_says_where_a_copy_of_its_graph_goes(tmp_path):
    run = RunFolder.create(tmp_path / "project" / "runs", "digits mlp")
    graph_file = run.graph_path
    found = RunFolder.of_graph_file(graph_file)
    assert found is not None and found.path == run.path and found.runs_dir == tmp_path / "project" / "runs"
    assert found.graph_copy_path() == tmp_path / "project" / f"digits-mlp-{run.path.name}.yaml"
    assert RunFolder.of_graph_file(tmp_path / "project" / "model.yaml") is None
    assert RunFolder.of_graph_file(Path("graph.yaml")) is None
