

def test_pasting_uses_of_blocks_brings_their_definitions(window, qtbot):
    assert window.open_path(RESNET, ask=False)
    text = window.doc.copy_text(["layer2_0", "layer2_1"])
    window.open_path(DIGITS_RESNET, ask=False)
    ids = window.doc.paste_text(text, (0, 600))
    assert ids == ["layer2_0", "layer2_1"]
    assert list(window.doc.graph.blocks) == ["basic", "basic_down"]
    window.doc.undo_stack.undo()  # one step: the nodes and the blocks they brought
    assert window.doc.graph.blocks == {} and "layer2_0" not in window.doc.graph.nodes
