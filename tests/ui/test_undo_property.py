"""Any sequence of edits can be undone to the start and redone to the same file, and the canvas always
mirrors the model (hypothesis drives the document's edit methods, which the gestures call)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPointF

from nodetrainer.graphfile import dump_graph

TYPES = ["Input", "Linear", "ReLU", "Add", "Concat", "Dropout", "Output", "Flatten"]

op = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(TYPES), st.integers(-400, 400), st.integers(-300, 300)),
    st.tuples(st.just("connect"), st.integers(0, 30), st.integers(0, 30)),
    st.tuples(st.just("delete"), st.integers(0, 30)),
    st.tuples(st.just("disconnect"), st.integers(0, 60)),
    st.tuples(st.just("move"), st.integers(0, 30), st.integers(-200, 200), st.integers(-200, 200)),
    st.tuples(st.just("rename"), st.integers(0, 30), st.sampled_from(["a", "b", "trunk", "x1"])),
    st.tuples(st.just("param"), st.integers(0, 30), st.integers(1, 512)),
    st.tuples(st.just("paste"), st.sampled_from(["Residual block", "MLP block"])),
    st.tuples(st.just("insert"), st.integers(0, 30), st.integers(0, 60)),
    st.tuples(st.just("undo"),),
    st.tuples(st.just("duplicate"), st.integers(0, 30)),
)


def apply(doc, step) -> None:
    g = doc.graph
    ids = list(g.nodes)
    pick = (lambda i: ids[i % len(ids)]) if ids else (lambda i: None)
    kind = step[0]
    if kind == "add":
        doc.add_node(step[1], (step[2], step[3]))
    elif kind == "connect" and ids:
        doc.connect(pick(step[1]), pick(step[2]))
    elif kind == "delete" and ids:
        doc.remove([pick(step[1])])
    elif kind == "disconnect" and g.edges():
        edges = g.edges()
        doc.remove(edges=[edges[step[1] % len(edges)]])
    elif kind == "move" and ids:
        x, y = g.layout[pick(step[1])]
        doc.move({pick(step[1]): (x + step[2], y + step[3])})
    elif kind == "rename" and ids:
        doc.rename(pick(step[1]), step[2])
    elif kind == "param" and ids:
        node = g.nodes[pick(step[1])]
        if node.type == "Linear":
            doc.set_param(node.id, "out_features", step[2])
    elif kind == "paste":
        doc.insert_template(step[1], (0, 0))
    elif kind == "insert" and ids and g.edges():
        edges = g.edges()
        doc.insert_on_edge(pick(step[1]), *edges[step[2] % len(edges)])
    elif kind == "undo" and doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    elif kind == "duplicate" and ids:
        doc.duplicate([pick(step[1])])


def mirrored(window) -> None:
    g, scene = window.doc.graph, window.scene
    assert set(scene.nodes) == set(g.nodes)  # which nodes; the scene's dict order is not part of the mirror
    assert set(scene.edges) == set(g.edges())
    for node_id, item in scene.nodes.items():
        assert item.node_id == node_id
        assert (item.pos().x(), item.pos().y()) == g.layout[node_id]
    assert window.doc.report.problems == __import__("nodetrainer.validate", fromlist=["x"]).check_graph(g).problems


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, min_size=1, max_size=25))
def test_any_edits_undo_to_empty_and_redo_to_the_same_file(window, steps):
    doc = window.doc
    doc.new()
    for step in steps:
        apply(doc, step)
        mirrored(window)
    final, end = dump_graph(doc.graph), doc.undo_stack.index()
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.graph.nodes == {} and window.scene.nodes == {} and window.scene.edges == {}
    while doc.undo_stack.index() < end:
        doc.undo_stack.redo()
    assert dump_graph(doc.graph) == final
    mirrored(window)
