"""Files: open, broken files, save and reopen, the unsaved mark and prompt, recent files, recovery."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, QUrl

from nodetrainer.graphfile import dump_graph, load_graph

from uihelpers import drop, palette_drop, select

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "graphs" / "digits_cnn.yaml"

BROKEN = """\
nodetrainer: 1
name: broken
nodes:
  image: {type: Input, shape: [1, 8, 8]}
  conv:  {type: Conv2D, out_channels: 8, kernel_size: 3}
  fc:    {type: Linear, out_features: -3}
  out:   {type: Output}
edges:
  - image -> conv -> fc -> out
  - image -> ghost
"""


def panel_texts(window) -> list[str]:
    return [window.problems.list.item(i).text() for i in range(window.problems.list.count())]


def test_a_broken_file_opens_without_crashing_and_lists_its_problems(window, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    assert window.open_path(path) is False
    texts = panel_texts(window)
    assert any("line 5" in t and "unknown node type 'Conv2D'" in t and "did you mean 'Conv2d'" in t for t in texts)
    assert any("line 6" in t and "'out_features' must be >= 1" in t for t in texts)
    assert any("line 10" in t and "ghost" in t for t in texts)
    assert "problem" in window.statusBar().currentMessage()
    # what could be read is on the canvas, with badges; it is not bound to the broken file
    assert set(window.scene.nodes) == {"image", "conv", "fc", "out"}
    assert window.scene.nodes["conv"].problems
    assert window.doc.path is None and "broken.yaml (not saved)" in window.windowTitle()
    assert path.read_text() == BROKEN


def test_files_that_are_not_graphs_open_without_a_traceback(window, tmp_path):
    cases = {"syntax.yaml": "nodes: [unclosed\n", "empty.yaml": "", "list.yaml": "- 1\n- 2\n",
             "binary.yaml": b"\xff\xfe\x00bad", "alias.yaml": "a: &x [1]\nb: *x\n"}
    for name, content in cases.items():
        path = tmp_path / name
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
        assert window.open_path(path) is False
        texts = panel_texts(window)
        assert texts and not any("Traceback" in t for t in texts), name
    assert window.open_path(tmp_path / "missing.yaml") is False
    assert "problem" in window.statusBar().currentMessage()


def test_save_and_reopen_round_trip(window, tmp_path):
    window.open_path(EXAMPLE)
    assert not window.isWindowModified()
    select(window, ["fc"])
    window.inspector.editors["out_features"].setValue(64)
    assert window.isWindowModified()
    assert window.windowTitle().startswith("digits-cnn — digits_cnn.yaml")
    target = tmp_path / "mine.yaml"
    window.ask_save_path = lambda *a, **k: str(target)
    assert window.save_as()
    assert not window.isWindowModified() and "mine.yaml" in window.windowTitle()
    text = target.read_text()
    assert "fc:     {type: Linear, out_features: 64}" in text
    assert "layout:" in text  # the automatic layout is saved with the file
    saved = dump_graph(window.doc.graph)
    window.new_file()
    assert window.doc.graph.nodes == {}
    assert window.open_path(target)
    assert dump_graph(window.doc.graph) == saved == text
    assert dump_graph(load_graph(target)) == text
    assert str(target.resolve()) == window.recent_files()[0]
    # Save (not Save As) writes in place without asking
    window.ask_save_path = lambda *a, **k: (_ for _ in ()).throw(AssertionError("asked"))
    select(window, ["drop"])
    p = window.inspector.editors["p"]  # a float: typed text, checked when editing ends
    p.setText("0.5")
    p.editingFinished.emit()
    assert window.save()
    assert "drop:   {type: Dropout}" in target.read_text()  # p 0.5 is the default, so it is left out


def test_unsaved_changes_prompt_before_they_are_lost(window):
    palette_drop(window, "Input", QPointF(0, 0))
    answers = []
    window.ask_save_changes = lambda: answers.append(1) or "cancel"
    window.new_file()
    assert answers and "input" in window.doc.graph.nodes  # cancelled: nothing lost
    assert not window.open_path(EXAMPLE)
    assert "input" in window.doc.graph.nodes
    window.ask_save_changes = lambda: "discard"
    assert window.open_path(EXAMPLE)
    assert "conv1" in window.doc.graph.nodes


def test_drop_a_yaml_file_on_the_window_to_open_it(window):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(EXAMPLE))])
    drop(window, mime, QPointF(0, 0))
    assert window.doc.path == EXAMPLE
    assert "conv2" in window.scene.nodes


def test_restore_from_the_recovery_file_after_a_crash(window, qtbot, tmp_path):
    from ui.main_window import MainWindow

    window.open_path(EXAMPLE)
    select(window, ["fc"])
    window.inspector.editors["out_features"].setValue(99)
    assert window.autosave.save_now()
    recovery = window.autosave.text_path
    assert recovery.exists() and "out_features: 99" in recovery.read_text()
    # the session dies without closing: its pid is gone
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    meta = json.loads(window.autosave.meta_path.read_text())
    meta["pid"] = int(dead.stdout)
    window.autosave.meta_path.write_text(json.dumps(meta))
    window.autosave.timer.stop()
    window.autosave.text_path = tmp_path / "elsewhere.yaml"  # the dead session no longer cleans up

    from PySide6.QtCore import QSettings
    fresh = MainWindow(QSettings(str(tmp_path / "s2.ini"), QSettings.Format.IniFormat),
                       recovery_dir=window.recovery_dir)
    qtbot.addWidget(fresh)
    offered = []
    fresh.ask_restore = lambda orphan: offered.append(orphan.original) or True
    assert fresh.offer_recovery()
    assert offered == [EXAMPLE]
    assert fresh.doc.graph.nodes["fc"].params["out_features"] == 99
    assert fresh.doc.path == EXAMPLE and fresh.isWindowModified()
    assert not recovery.exists()  # taken over by the new session
    fresh.doc.undo_stack.setClean()
    fresh.autosave.timer.stop()


def test_saving_removes_the_recovery_file(window, tmp_path):
    palette_drop(window, "Input", QPointF(0, 0))
    assert window.autosave.save_now()
    assert window.autosave.text_path.exists()
    window.ask_save_path = lambda *a, **k: str(tmp_path / "g.yaml")
    window.save()
    assert not window.autosave.text_path.exists()


def test_a_reading_problem_goes_away_with_its_node(window, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    window.open_path(path)
    texts = panel_texts(window)
    assert sum("unknown node type 'Conv2D'" in t for t in texts) == 1  # read and validation agree: listed once
    select(window, ["conv"])
    window.act_delete.trigger()
    assert not any("Conv2D" in t for t in panel_texts(window))
    assert any("ghost" in t for t in panel_texts(window))  # a problem of the file stays until it is saved
    window.act_undo.trigger()
    assert "conv" in window.scene.nodes  # an unknown type comes back as it was


def test_an_example_opens_as_a_copy_that_save_does_not_overwrite(window, tmp_path):
    example = ROOT / "graphs" / "digits_mlp.yaml"
    before = example.read_text()
    assert window.open_example(example)
    assert window.doc.path is None and "digits_mlp.yaml (example)" in window.windowTitle()
    assert not window.isWindowModified()
    asked = []
    window.ask_save_path = lambda *a, suggestion=None, **k: asked.append(suggestion) or str(tmp_path / "copy.yaml")
    assert window.save()
    assert asked[0].endswith("digits_mlp.yaml") and Path(asked[0]).parent != example.parent
    assert (tmp_path / "copy.yaml").exists()
    assert example.read_text() == before
    assert window.examples_menu.actions()  # File > Open Example lists graphs/


def test_problem_lines_point_into_the_saved_file(window, tmp_path):
    window.open_path(EXAMPLE)
    select(window, ["relu3"])
    window.act_delete.trigger()  # drop now has no input
    texts = panel_texts(window)
    assert any(t.startswith("drop: drop has no input") for t in texts)  # no stale line while modified
    target = tmp_path / "g.yaml"
    window.ask_save_path = lambda *a, **k: str(target)
    window.save_as()
    line = next(i for i, text in enumerate(target.read_text().splitlines(), 1) if text.startswith("  drop:"))
    assert any(t.startswith(f"line {line} · drop: drop has no input") for t in panel_texts(window))


def test_deleting_in_a_cycle_read_from_a_file_undoes_exactly(window, tmp_path):
    path = tmp_path / "cycle.yaml"
    path.write_text("nodetrainer: 1\nname: cycle\nnodes:\n  x: {type: Input, shape: [4]}\n  a: {type: Add}\n"
                    "  b: {type: ReLU}\n  out: {type: Output}\nedges:\n  - x -> a -> b -> a\n  - b -> out\n")
    assert window.open_path(path)  # readable; the cycle is a validation problem
    assert any("cycle" in t for t in panel_texts(window))
    before = dump_graph(window.doc.graph)
    select(window, ["b"])
    window.act_delete.trigger()
    assert not any("cycle" in t for t in panel_texts(window))
    window.act_undo.trigger()
    assert dump_graph(window.doc.graph) == before
    assert ("b", "a") in window.scene.edges
