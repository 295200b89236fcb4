"""Views a user looks at: code view and export, themes, zoom and fit, recent files, the window title."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from uihelpers import select
from nodetrainer.export import export_python

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "graphs" / "digits_resnet.yaml"


def test_code_view_is_the_export_text_and_export_writes_it(window, tmp_path):
    window.open_path(EXAMPLE)
    window.code_dock.raise_()
    assert window.code.text() == export_python(window.doc.graph)
    target = tmp_path / "net.py"
    window.ask_save_path = lambda *a, **k: str(target)
    assert window.export_python()
    assert target.read_text() == export_python(window.doc.graph)
    # while the graph is invalid, the view lists why instead of code, and export refuses
    select(window, ["skip"])
    window.act_delete.trigger()
    assert window.code.text().startswith("# The graph is not valid yet")
    assert not window.export_python()
    assert "Cannot export" in window.statusBar().currentMessage()


def _export_asking(window, target: Path) -> str:
    """Exports, answering the file dialog with `target`; returns the path the dialog suggested."""
    asked = []
    window.ask_save_path = lambda _title, suggestion, _filter: asked.append(suggestion) or str(target)
    assert window.export_python()
    return asked[0]


def test_export_suggests_the_graph_s_folder_and_names_the_class_after_the_graph(window, tmp_path):
    from nodetrainer.graphfile import read_graph

    graph, _ = read_graph(EXAMPLE.read_text(), None)
    graph.name = "untitled"  # a newcomer's graph, never renamed, saved as mnist_cnn.yaml
    window.doc.load(graph, None)
    window.doc.save(tmp_path / "mnist_cnn.yaml")
    target = tmp_path / "out.py"
    assert _export_asking(window, target) == str(tmp_path / "mnist_cnn.py")
    text = target.read_text()
    assert "class MnistCnn(nn.Module)" in text and "Untitled" not in text
    window.code_dock.raise_()
    assert window.code.text() == text  # the Code view shows what Export writes

    # an unsaved graph, after opening an example: its own name, and not the app's examples folder
    window.open_path(EXAMPLE)
    window.doc.load(window.doc.graph.copy(), None)
    window.doc.set_name("my net")
    suggestion = Path(_export_asking(window, tmp_path / "net.py"))
    assert suggestion.name == "my_net.py" and suggestion.parent == Path.home()
    assert "class MyNet(nn.Module)" in (tmp_path / "net.py").read_text()


def test_themes_switch_the_palette_and_the_canvas(window):
    from ui import theme

    window.set_theme("dark")
    assert theme.current().name == "dark"
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 80
    dark = window.view.grab().toImage().pixelColor(5, 5)
    window.set_theme("light")
    assert theme.current().name == "light"
    light = window.view.grab().toImage().pixelColor(5, 5)
    assert dark.lightness() < 60 < light.lightness()
    assert window.settings.value("theme") == "light"


def test_wheel_zooms_about_the_cursor_and_fit_shows_every_node(window, qtbot):
    window.open_path(EXAMPLE)
    view = window.view
    view.zoom_by(1.0 / view.zoom())
    anchor = view.viewport().rect().center() + view.viewport().rect().topLeft()
    under = view.mapToScene(anchor)
    view.zoom_by(2.0, QPointF(anchor))
    assert abs(view.zoom() - 2.0) < 1e-6
    after = view.mapToScene(anchor)
    assert abs(after.x() - under.x()) < 1 and abs(after.y() - under.y()) < 1
    window.act_fit.trigger()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(visible.contains(item.sceneBoundingRect()) for item in window.scene.nodes.values())
    assert "%" in window.zoom_label.text()


def test_recent_files_and_title(window):
    window.open_path(EXAMPLE)
    assert window.windowTitle() == "digits-resnet — digits_resnet.yaml[*] — NodeTrainer"
    window._fill_recent()
    names = [a.text() for a in window.recent_menu.actions()]
    assert "digits_resnet.yaml" in names
    window.inspector.show_node(None)
    name = window.inspector.editors["name"]
    name.setText("my net")
    name.editingFinished.emit()
    assert window.doc.graph.name == "my net" and window.windowTitle().startswith("my net — ")
    name.setText("bad/name")
    name.editingFinished.emit()
    assert window.doc.graph.name == "my net" and window.inspector.errors["name"].text()
    window.act_undo.trigger()
    assert window.doc.graph.name == "digits-resnet"


def test_select_all_then_delete_is_one_undo_step(window):
    window.open_path(EXAMPLE)
    count = len(window.doc.graph.nodes)
    window.act_select_all.trigger()
    window.act_delete.trigger()
    assert window.doc.graph.nodes == {} and "12 nodes" not in window.validity.text()
    window.act_undo.trigger()
    assert len(window.doc.graph.nodes) == count and not window.doc.problems


def _ink(button, dark: bool) -> int:
    """How light the icon's strongest stroke is: the lightest pixel on a dark bar, the darkest on a light one."""
    image = button.grab().toImage()
    values = [image.pixelColor(x, y).lightness() for x in range(image.width()) for y in range(image.height())]
    return max(values) if dark else min(values)


def test_enabled_toolbar_icons_stand_out_and_disabled_ones_recede_in_both_themes(window):
    from PySide6.QtWidgets import QToolBar

    bar = window.findChild(QToolBar, "main_toolbar")
    undo, new = bar.widgetForAction(window.act_undo), bar.widgetForAction(window.act_new)
    for mode, dark in (("dark", True), ("light", False)):
        window.set_theme(mode)
        window.doc.undo_stack.clear()
        QApplication.processEvents()  # the palette reaches the toolbar
        assert not window.act_undo.isEnabled() and window.act_new.isEnabled()
        disabled, enabled = _ink(undo, dark), _ink(new, dark)
        assert (enabled > disabled + 60) if dark else (enabled < disabled - 60), (mode, enabled, disabled)
        window.open_path(EXAMPLE)
        window.act_layout.trigger()  # something to undo: the same button, now enabled, stands out
        assert window.act_undo.isEnabled()
        assert (_ink(undo, dark) > disabled + 60) if dark else (_ink(undo, dark) < disabled - 60), mode


def test_the_code_view_wraps_long_lines_or_scrolls_sideways_but_cuts_none(window):
    window.open_path(EXAMPLE)
    window.doc.rename("conv1", "a_rather_long_convolution_name_for_the_first_stage")
    window.code_dock.raise_()
    code = window.code
    long_line = max(code.text().splitlines(), key=len)
    assert "a_rather_long_convolution_name_for_the_first_stage = nn.Conv2d" in long_line
    editor = code.editor
    QApplication.processEvents()
    width = editor.viewport().width()
    assert code.wrap.isChecked()  # by default: wrapped within the view, nothing to scroll sideways to
    assert editor.document().size().width() <= width and editor.horizontalScrollBar().maximum() == 0
    block = editor.document().findBlock(code.text().index(long_line))
    assert block.layout().lineCount() > 1
    first, second = block.layout().lineAt(0), block.layout().lineAt(1)
    assert second.x() > first.x()  # a continuation is indented deeper than the line it continues
    code.wrap.setChecked(False)  # unwrapped: the whole line is there to scroll to
    QApplication.processEvents()
    assert block.layout().lineCount() == 1 and editor.horizontalScrollBar().maximum() > 0
    assert editor.document().size().width() - width <= editor.horizontalScrollBar().maximum() + 1
    assert code.text() == export_python(window.doc.graph)  # the text itself is never changed
