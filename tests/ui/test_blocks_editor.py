"""Blocks in the editor: one node per use, opened with a breadcrumb back, edits inside change every use,
group and ungroup undo to the same file, the palette lists the file's blocks, import from the File menu."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from nodetrainer.graphfile import dump_graph
from uihelpers import palette_drop, select

ROOT = Path(__file__).resolve().parents[2]
RESNET = ROOT / "graphs" / "resnet18.yaml"
DIGITS_RESNET = ROOT / "graphs" / "digits_resnet.yaml"


def test_resnet18_shows_its_blocks_as_one_node_each_and_opens_one_with_a_breadcrumb(window, qtbot):
    assert window.open_path(RESNET, ask=False)
    assert len(window.scene.nodes) == 16  # about 15 at the top level, against 71 flat
    use = window.scene.nodes["layer2_0"]
    assert use.is_block and use.node_type == "basic_down"
    qtbot.waitUntil(lambda: use.shape_text == "128×28×28" and use.count_text == "230.1k params")
    assert "channels" not in use.params_text or "128" in use.params_text
    window.scene.nodeDoubleClicked.emit("layer2_0")  # as a double-click does
    qtbot.waitUntil(lambda: "down" in window.scene.nodes)
    assert window.doc.view is window.doc.graph.blocks["basic_down"].body
    crumb = window.view.breadcrumb
    assert crumb.isVisible() and [b.text() for b in crumb.buttons] == ["resnet18", "layer2_0: basic_down"]
    qtbot.waitUntil(lambda: window.scene.nodes["x"].shape_text == "64×56×56")  # the input of layer2_0
    assert window.scene.nodes["down"].shape_text == "128×28×28"
    crumb.buttons[0].click()
    qtbot.waitUntil(lambda: "layer2_0" in window.scene.nodes)
    assert window.doc.view is window.doc.graph and not crumb.isVisible()


def test_an_edit_inside_a_block_changes_every_use_in_one_undo_step(window, qtbot):
    assert window.open_path(RESNET, ask=False)
    before = dump_graph(window.doc.graph)
    window.open_block_of("layer1")
    qtbot.waitUntil(lambda: "conv1" in window.scene.nodes)
    assert window.doc.set_param("conv1", "kernel_size", 5) is None
    assert window.doc.set_param("conv1", "padding", 2) is None
    window.doc.close_to(0)
    report = window.doc.revalidate()
    assert report.problems == []
    per_use = 64 * 64 * 25 - 64 * 64 * 9  # conv1 of each basic block, 5x5 instead of 3x3
    grown = {r.id: r.params for r in window.doc.summary().rows}
    assert grown["layer1"] == 2 * 73_984 + 2 * per_use
    assert grown["layer4_1"] == 4_720_640 + 512 * 512 * 16
    window.doc.undo_stack.undo()
    window.doc.undo_stack.undo()
    assert dump_graph(window.doc.graph) == before


def test_group_into_block_and_ungroup_undo_to_the_same_file(window, qtbot):
    assert window.open_path(DIGITS_RESNET, ask=False)
    doc = window.doc
    original = dump_graph(doc.graph)
    params = doc.summary().total_params
    select(window, ["conv1", "bn1", "relu1", "conv2", "bn2", "skip", "relu2"])
    use = window.group_selection()
    assert use == "block" and list(doc.graph.blocks) == ["block"]
    assert list(doc.graph.nodes) == ["image", "block", "pool", "drop", "logits", "out"]
    assert doc.graph.inputs["block"] == ["image"] and doc.graph.inputs["pool"] == ["block"]
    body = doc.graph.blocks["block"].body
    assert body.inputs["skip"] == ["bn2", "relu1"] and body.inputs["conv1"] == ["x"]
    assert doc.revalidate().problems == []
    assert doc.summary().total_params == params == 10_026  # the same network
    grouped = dump_graph(doc.graph)
    doc.undo_stack.undo()  # one step
    assert dump_graph(doc.graph) == original
    doc.undo_stack.redo()
    assert dump_graph(doc.graph) == grouped
    select(window, ["block"])
    new = window.ungroup_selection()
    assert new and "block_conv1" in doc.graph.nodes and doc.graph.blocks == {}
    assert doc.revalidate().problems == [] and doc.summary().total_params == params
    doc.undo_stack.undo()
    assert dump_graph(doc.graph) == grouped
    select(window, ["pool", "out"])
    assert window.group_selection() is None  # an Output of the graph cannot go into a block
    QApplication.processEvents()


def test_the_palette_lists_the_files_blocks_and_drops_a_use(window, qtbot):
    assert window.open_path(RESNET, ask=False)
    qtbot.waitUntil(lambda: ("node", "basic") in window.palette.items)
    assert not window.palette.categories["blocks"].isHidden()
    added = palette_drop(window, "basic", QPointF(400, 900))
    assert len(added) == 1 and window.doc.graph.nodes[added[0]].type == "basic"
    window.open_block_of("layer1")
    qtbot.waitUntil(lambda: "conv1" in window.scene.nodes)
    assert window.doc.add_node("basic", (0, 400)) is None  # a block cannot use itself
    window.doc.close_to(0)
    window.doc.undo_stack.undo()
    window.open_path(DIGITS_RESNET, ask=False)
    qtbot.waitUntil(lambda: ("node", "basic") not in window.palette.items)
    assert window.palette.categories["blocks"].childCount() == 0


def test_a_problem_inside_a_use_shows_on_the_use_and_on_the_node_inside(window, qtbot):
    assert window.open_path(RESNET, ask=False)
    window.doc.set_param("layer3_0", "channels", 0)
    window.doc.revalidate()
    qtbot.waitUntil(lambda: window.scene.nodes["layer3_0"].problems != [])
    assert window.scene.nodes["layer3_0"].problems[0].startswith("layer3_0/conv1: 'out_channels' must be >= 1")
    window.open_block_of("layer3_0")
    qtbot.waitUntil(lambda: "conv1" in window.scene.nodes)
    window.doc.revalidate()
    qtbot.waitUntil(lambda: window.scene.nodes["conv1"].problems != [])
    assert window.scene.nodes["down"].problems != [] and window.scene.nodes["bn1"].problems == []


def test_import_from_the_file_menu_opens_the_model_as_a_new_graph(window, qtbot, tmp_path, monkeypatch):
    source = tmp_path / "tiny.py"
    source.write_text("from torch import nn\n\n\nclass Tiny(nn.Module):\n    def __init__(self):\n"
                      "        super().__init__()\n        self.fc = nn.Linear(4, 3)\n        self.act = nn.ReLU()\n\n"
                      "    def forward(self, x):\n        return self.act(self.fc(x))\n")
    from ui import import_dialog

    def fake_exec(dialog):
        dialog.source.setText(f"{source}:Tiny")
        dialog.shape.setText("4")
        return import_dialog.ImportDialog.DialogCode.Accepted if dialog.run() else 0
    monkeypatch.setattr(import_dialog.ImportDialog, "exec", fake_exec)
    assert window.import_model()
    assert list(window.doc.graph.nodes) == ["x", "fc", "act", "out"] and window.doc.path is None
    assert window.doc.modified

    dialog = import_dialog.ImportDialog(window)
    dialog.source.setText(f"{source}:Missing")
    assert not dialog.run()
    assert "has no 'Missing'" in dialog.problems.text()


def test_pasting_uses_of_blocks_brings_their_definitions(window, qtbot):
    assert window.open_path(RESNET, ask=False)
    text = window.doc.copy_text(["layer2_0", "layer2_1"])
    window.open_path(DIGITS_RESNET, ask=False)
    ids = window.doc.paste_text(text, (0, 600))
    assert ids == ["layer2_0", "layer2_1"]
    assert list(window.doc.graph.blocks) == ["basic", "basic_down"]
    window.doc.undo_stack.undo()  # one step: the nodes and the blocks they brought
    assert window.doc.graph.blocks == {} and "layer2_0" not in window.doc.graph.nodes
