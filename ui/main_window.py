"""The main window: canvas in the middle, palette, inspector, problems, summary, code and training around it.

The window wires the panels to one `Document` and owns the file actions: New,
Open, Open Example, recent files, Save (atomic), Save As, Export as Python (one
click), Export… (every target, ui/export_dialog.py), Import PyTorch model…, the
title with the graph's name and an unsaved-changes mark, a prompt before losing
changes, YAML files dropped on the window, and autosave with an offer to restore
after a crash. Questions to the user go through `ask_*` methods so tests (and
scripts) can answer them without a modal dialog. An empty canvas shows how to
start and offers starter examples (`editor/empty_hint.py`).

Training: the Training dock (ui/training) shares the bottom area with Problems
and Summary and holds the document's Graph, which opening a file or New
replaces in place, so the dock's panels follow the document; its runs folder
follows the file (`pathChanged`). Run > Train (F5), Pause and Stop drive it; its
gradient warnings, a failed run's node and an Input shape the data disagrees
with show as badges on the canvas (`GraphScene.set_node_flag`). Closing the
window during a run asks, then stops the run (last.pt is written) and waits for
its thread.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QApplication, QDialog, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QTabWidget, QToolBar, QWidget)

from nodetrainer.errors import GraphError
from nodetrainer.graphfile import atomic_write_text
from nodetrainer.training.runs import RunFolder

from . import theme
from .document import Document
from .editor import commands as cmd
from .editor.empty_hint import EmptyCanvasHint, starter_examples
from .editor.items import NODE_H, NODE_W, fmt_count
from .editor.scene import GraphScene
from .editor.view import GraphView
from .icons import icon
from .panels.code import CodeView, export_name, export_source
from .panels.inspector import Inspector
from .panels.palette import Palette
from .panels.problems import ProblemsPanel
from .panels.summary import SummaryPanel
from .recovery import Autosave, Orphan, find_orphans
from .training import TrainingDock

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "graphs"
MAX_RECENT = 8
TRAINING_HEIGHT = 0.5  # share of the window's height the Training panel gets when raised (if it has less)
TRAINING_MIN_HEIGHT = 200  # the bottom docks may be this low while Problems or Summary is shown
FILE_FILTER = "NodeTrainer graphs (*.yaml *.yml);;All files (*)"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, recovery_dir: Path | None = None,
                 autosave_ms: int | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("NodeTrainer", "NodeTrainer")
        self.setWindowIcon(icon("app"))
        self.resize(1440, 900)
        self.setAcceptDrops(True)
        self.doc = Document(self)
        self.scene = GraphScene(self.doc, self)
        self.view = GraphView(self.scene, self)
        self.setCentralWidget(self.view)
        self.empty_hint = EmptyCanvasHint(self.view, self.doc, starter_examples(EXAMPLES))
        self.empty_hint.exampleChosen.connect(self.open_example)
        self.autosave = Autosave(self.doc, recovery_dir, autosave_ms or 30_000, self)
        self.recovery_dir = self.autosave.directory

        self.palette = Palette(self)
        self.inspector = Inspector(self.doc, self)
        self.problems = ProblemsPanel(self.doc, self)
        self.summary = SummaryPanel(self.doc, self)
        self.code = CodeView(self.doc, self)
        self._docks()
        self._actions()
        self._menus()
        self._toolbar()
        self._status()

        self.doc.refused.connect(self.show_refusal)
        self.doc.message.connect(self.show_message)
        self.doc.validated.connect(self._validated)
        self.doc.pathChanged.connect(self.update_title)
        self.doc.loaded.connect(self._loaded)
        self.doc.undo_stack.cleanChanged.connect(self.update_title)
        self.doc.graph.subscribe(self._graph_event)
        self._selection_timer = QTimer(self)  # one inspector update for a burst of selection changes
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(0)
        self._selection_timer.timeout.connect(self._show_selection)
        self.scene.selectionChanged.connect(self._selection_timer.start)
        self.scene.fileDropped.connect(self.open_dropped)
        self.scene.nodeDoubleClicked.connect(self.open_block_of)
        self.doc.viewChanged.connect(self._view_changed)
        self.palette.activated.connect(self._palette_activated)
        self.problems.nodeActivated.connect(self.reveal_node)
        self.problems.problemActivated.connect(self.reveal_problem)
        self.problems.countChanged.connect(self._problem_count)
        self.summary.nodeActivated.connect(self.reveal_node)
        self._connect_training()
        theme.manager().changed.connect(self._theme_changed)
        self.update_title()
        self._validated(self.doc.report)
        self._problem_count(len(self.doc.problems))

    # -- layout ------------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _docks(self) -> None:
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.palette_dock = self._dock("Palette", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea, "palette")
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea, "inspector")
        self.problems_dock = self._dock("Problems", self.problems, Qt.DockWidgetArea.BottomDockWidgetArea, "problems")
        self.summary_dock = self._dock("Summary", self.summary, Qt.DockWidgetArea.BottomDockWidgetArea, "summary")
        self.code_dock = self._dock("Code", self.code, Qt.DockWidgetArea.RightDockWidgetArea, "code")
        self.training_dock = TrainingDock(self.doc.graph, apply_section=self.apply_section, parent=self)
        self.training_dock.training.tune.apply_values = self.doc.apply_values  # "Apply best": one undo step
        # It shares the bottom area with Problems and Summary, which need little height: its own minimum
        # (plots, runs table) would keep that area tall, so it gets room when raised instead (show_training).
        self.training_dock.widget().setMinimumHeight(TRAINING_MIN_HEIGHT)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.training_dock)
        self.tabifyDockWidget(self.problems_dock, self.summary_dock)
        self.tabifyDockWidget(self.summary_dock, self.training_dock)
        self.tabifyDockWidget(self.inspector_dock, self.code_dock)
        self.problems_dock.raise_()
        self.inspector_dock.raise_()
        self._sized = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            state = self.settings.value("window_state")
            if state is None or not self.restoreState(state):
                self.resizeDocks([self.palette_dock, self.inspector_dock], [230, 340], Qt.Orientation.Horizontal)
                self.resizeDocks([self.problems_dock], [150], Qt.Orientation.Vertical)

    def _action(self, text: str, slot, shortcut=None, icon_name: str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        if icon_name:
            action.setIcon(icon(icon_name))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_new = self._action("&New", self.new_file, K.New, "new", "Start an empty graph")
        self.act_open = self._action("&Open…", self.open_dialog, K.Open, "open", "Open a graph file")
        self.act_save = self._action("&Save", self.save, K.Save, "save", "Save the graph")
        self.act_save_as = self._action("Save &As…", self.save_as, K.SaveAs)
        self.act_export = self._action("&Export as Python…", self.export_python, "Ctrl+E", "export",
                                       "Write the generated PyTorch module to a file")
        self.act_export_any = self._action("E&xport…", self.export_dialog, "Ctrl+Shift+E", None,
                                           "Export the graph or a run's weights as Python, ONNX, INT8 ONNX or a "
                                           "training script")
        self.act_quit = self._action("&Quit", self.close, K.Quit)
        self.act_import = self._action("&Import PyTorch model…", self.import_model, None, None,
                                       "A graph from an existing PyTorch model (a .py file's class, or torchvision)")
        self.act_group = self._action("&Group into block", self.group_selection, "Ctrl+G", None,
                                      "Make the selected nodes a block used here (its Inputs and Output from the "
                                      "edges around the selection)")
        self.act_ungroup = self._action("U&ngroup", self.ungroup_selection, "Ctrl+Shift+G", None,
                                        "Put the selected use of a block back as its nodes")
        self.act_open_block = self._action("&Open block", self.open_selected_block, None, None,
                                           "Edit the selected use's block: a change there changes every use")
        self.act_undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts(QKeySequence.keyBindings(K.Undo))
        self.act_undo.setIcon(icon("undo"))
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts(QKeySequence.keyBindings(K.Redo))
        self.act_redo.setIcon(icon("redo"))
        self.addActions([self.act_undo, self.act_redo])
        self.act_cut = self._action("Cu&t", self.cut, K.Cut)
        self.act_copy = self._action("&Copy", self.copy, K.Copy)
        self.act_paste = self._action("&Paste", self.paste, K.Paste)
        self.act_duplicate = self._action("D&uplicate", self.duplicate, "Ctrl+D")
        self.act_delete = self._action("&Delete", self.delete_selection, [QKeySequence(K.Delete), "Backspace"])
        self.act_select_all = self._action("Select &All", self.select_all, K.SelectAll)
        self.act_layout = self._action("Auto-&layout", self.auto_layout, "Ctrl+L", "layout",
                                       "Lay out the graph (or the selection) left to right")
        self.act_fit = self._action("&Fit to window", lambda: self.view.fit(), "F", "fit", "Show the whole graph")
        self.act_zoom_in = self._action("Zoom &in", lambda: self.view.zoom_by(1.25), K.ZoomIn)
        self.act_zoom_out = self._action("Zoom &out", lambda: self.view.zoom_by(0.8), K.ZoomOut)
        self.act_quick_add = self._action("&Add node…", lambda: self.view.open_quick_add(), None, None,
                                          "Search for a node type to add (Tab on the canvas)")
        self.act_find = self._action("&Find node…", lambda: self.view.open_find(), K.Find, None,
                                     "Find a node by id or type and show it (Ctrl+F)")
        self.act_minimap = self._action("&Minimap", lambda: self.view.minimap.set_enabled(self.act_minimap.isChecked()),
                                        None, None, "An overview of the graph while part of it is out of view")
        self.act_minimap.setCheckable(True)
        self.act_minimap.setChecked(True)
        self.act_train = self._action("&Train", self.train, "F5", "train",
                                      "Train a snapshot of the graph as it is now (F5)")
        self.act_pause = self._action("&Pause", self.toggle_pause, None, "pause", "Pause the run, or resume it")
        self.act_stop = self._action("&Stop", self.stop_training, "Shift+F5", "stop",
                                     "Stop the run after the current step; last.pt keeps it resumable (Shift+F5)")
        for a in (self.act_cut, self.act_copy, self.act_paste, self.act_duplicate, self.act_delete, self.act_fit):
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.view.addAction(a)

    def _menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.act_new, self.act_open])
        self.examples_menu = file_menu.addMenu("Open &Example")
        for path in sorted(EXAMPLES.glob("*.yaml")):
            action = self.examples_menu.addAction(path.stem.replace("_", " "))
            action.triggered.connect(lambda _c=False, p=path: self.open_example(p))
        self.examples_menu.setEnabled(bool(self.examples_menu.actions()))
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        file_menu.addActions([self.act_save, self.act_save_as, self.act_export, self.act_export_any])
        file_menu.addAction(self.act_import)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)

        edit = bar.addMenu("&Edit")
        edit.addActions([self.act_undo, self.act_redo])
        edit.addSeparator()
        edit.addActions([self.act_cut, self.act_copy, self.act_paste, self.act_duplicate, self.act_delete])
        edit.addSeparator()
        edit.addActions([self.act_select_all, self.act_quick_add, self.act_find])
        edit.addSeparator()
        edit.addActions([self.act_group, self.act_ungroup, self.act_open_block])
        templates = edit.addMenu("Insert &Template")
        from nodetrainer.templates import TEMPLATES
        for name in TEMPLATES:
            action = templates.addAction(name)
            action.triggered.connect(lambda _c=False, n=name: self._palette_activated("template", n))

        view = bar.addMenu("&View")
        view.addActions([self.act_fit, self.act_zoom_in, self.act_zoom_out, self.act_layout, self.act_minimap])
        view.addSeparator()
        theme_menu = view.addMenu("&Theme")
        group = QActionGroup(self)
        current = self.settings.value("theme", "system")
        for mode in theme.MODES:
            action = theme_menu.addAction(mode.capitalize())
            action.setCheckable(True)
            action.setChecked(mode == current)
            group.addAction(action)
            action.triggered.connect(lambda _c=False, m=mode: self.set_theme(m))
        view.addSeparator()
        for dock in (self.palette_dock, self.inspector_dock, self.problems_dock, self.summary_dock, self.code_dock,
                     self.training_dock):
            view.addAction(dock.toggleViewAction())

        run = bar.addMenu("&Run")
        run.addActions([self.act_train, self.act_pause, self.act_stop])

    def _toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("main_toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        bar.addActions([self.act_new, self.act_open, self.act_save])
        bar.addSeparator()
        bar.addActions([self.act_undo, self.act_redo])
        bar.addSeparator()
        bar.addActions([self.act_layout, self.act_fit, self.act_export])
        bar.addSeparator()
        bar.addActions([self.act_train, self.act_pause, self.act_stop])
        train_button = bar.widgetForAction(self.act_train)
        if train_button is not None:  # the one action a user looks for: named, not only an icon
            train_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(bar)

    def _status(self) -> None:
        self.validity = QLabel()
        self.validity.setContentsMargins(6, 0, 6, 0)
        self.zoom_label = QLabel("100%")
        self.statusBar().addPermanentWidget(self.validity)
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.view.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))

    # -- reactions -------------------------------------------------------------------------
    def show_refusal(self, text: str) -> None:
        self.statusBar().showMessage(text, 10000)

    def _validated(self, _report) -> None:
        problems = self.doc.problems
        nodes = len(self.doc.graph.nodes)
        if self.doc.is_empty and not problems:
            self.validity.setText("empty graph · add nodes from the palette")
        elif problems:
            self.validity.setText(f"<span style='color:{theme.current().error.name()}'>"
                                  f"⚠ {len(problems)} problem{'s' * (len(problems) != 1)}</span> · {nodes} nodes")
        else:
            summary = self.doc.summary()
            self.validity.setText(f"✓ valid · {nodes} nodes · {fmt_count(summary.total_params)} parameters")

    def _problem_count(self, count: int) -> None:
        self.problems_dock.setWindowTitle(f"Problems ({count})" if count else "Problems")

    def _graph_event(self, event) -> None:
        if event.kind == "settings_changed" and event.other == "name":
            self.update_title()
        elif event.kind in ("block_changed", "replaced"):
            self._update_blocks()

    def _loaded(self) -> None:
        self.update_title()
        QTimer.singleShot(0, self.view.fit)
        self.view.fit()

    def _show_selection(self) -> None:
        try:
            ids = self.scene.selected_ids()
        except RuntimeError:
            return
        self.inspector.show_selection(ids)

    def _palette_activated(self, kind: str, name: str) -> None:
        center = self.view.mapToScene(self.view.viewport().rect().center())
        pos = (center.x() - NODE_W / 2, center.y() - NODE_H / 2)
        if kind == "template":
            ids = self.doc.insert_template(name, pos) or []
        else:
            selected = self.scene.selected_ids()
            node_id = self.doc.add_node(name, pos, connect_from=selected[0] if len(selected) == 1 else None)
            ids = [node_id] if node_id else []
        self.scene.select_ids(ids)

    # -- blocks ------------------------------------------------------------------------------
    def open_block_of(self, node_id: str) -> bool:
        """Open the block a node uses (double-click); False for a node of another type."""
        node = self.doc.view.nodes.get(node_id)
        if node is None or node.type not in self.doc.graph.blocks:
            return False
        self.doc.open_block(node.type, via=node_id)
        return True

    def open_selected_block(self) -> None:
        ids = self.scene.selected_ids()
        if len(ids) != 1 or not self.open_block_of(ids[0]):
            self.show_refusal("Select one use of a block to open it")

    def group_selection(self) -> str | None:
        use = self.doc.group(self.scene.selected_ids())
        if use is not None:
            self.scene.select_ids([use])
        return use

    def ungroup_selection(self) -> list[str] | None:
        ids = self.scene.selected_ids()
        if len(ids) != 1:
            self.show_refusal("Select one use of a block to ungroup it")
            return None
        new = self.doc.ungroup(ids[0])
        if new:
            self.scene.select_ids(new)
        return new

    def _view_changed(self) -> None:
        self._update_blocks()
        self.inspector.show_node(None)
        QTimer.singleShot(0, self.view.fit)

    def _update_blocks(self) -> None:
        graph = self.doc.graph
        blocks = {name: graph.spec_of(name).doc for name in graph.blocks}
        self.palette.set_blocks(blocks)
        self.view.quick_add.set_blocks(blocks)

    def import_model(self) -> bool:
        """File > Import PyTorch model…: a new (unsaved) document from a model, when the dialog succeeds."""
        if not self.maybe_save():
            return False
        from .import_dialog import ImportDialog
        dialog = ImportDialog(self)
        if dialog.exec() != ImportDialog.DialogCode.Accepted or dialog.result_graph is None:
            return False
        self.doc.load(dialog.result_graph, None, modified=True)
        self.doc.origin_label = "imported"
        self.statusBar().showMessage(dialog.summary, 8000)
        return True

    def reveal_node(self, node_id: str) -> None:
        if self.doc.trail and node_id not in self.doc.view.nodes:
            self.doc.close_to(0)  # a node of the file, shown from inside a block
        self.view.reveal(node_id)

    def reveal_problem(self, problem) -> None:
        """Show where a problem is: inside a block it opens the block (from the use it names) at the node."""
        path = problem.node_path
        if problem.block is not None and problem.block in self.doc.graph.blocks:
            self.doc.close_to(0)
            self.doc.open_block(problem.block)
            if path:
                self.view.reveal(path[0])
            return
        self.doc.close_to(0)
        for use in path[:-1]:
            node = self.doc.view.nodes.get(use)
            if node is None or node.type not in self.doc.graph.blocks:
                break
            self.doc.open_block(node.type, via=use)
        self.view.reveal(path[-1] if path[-1] in self.doc.view.nodes else path[0])

    def set_theme(self, mode: str) -> None:
        self.settings.setValue("theme", mode)
        theme.manager().set_mode(mode)

    def _theme_changed(self) -> None:
        self._validated(None)
        self.inspector.show_node(self.inspector.node_id)

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    def update_title(self, *_args) -> None:
        g = self.doc.graph
        self.setWindowTitle(f"{g.name} — {self.doc.display_name}[*] — NodeTrainer")
        self.setWindowModified(self.doc.modified)

    # -- training -------------------------------------------------------------------------------
    def _connect_training(self) -> None:
        dock = self.training_dock
        self._doc_generation = 0  # counts the graphs opened: a run's node flags are for the graph it trained
        self._run_generation = 0
        self._training_state = "idle"
        dock.focusNodeRequested.connect(self.reveal_node)
        dock.openGraphRequested.connect(self.open_run_graph)
        dock.nodeFlagged.connect(self._node_flagged)
        dock.nodeFlagsCleared.connect(self.scene.clear_node_flags)
        dock.visibilityChanged.connect(self._training_dock_shown)
        dock.stateChanged.connect(self._training_state_changed)
        dock.runEnded.connect(self._training_ended)
        self.doc.pathChanged.connect(dock.refresh_runs)  # runs live next to the graph file
        self.doc.loaded.connect(self._document_loaded)
        self._training_state_changed("idle")

    def apply_section(self, name: str, value) -> None:
        """The training dock's edits of the data and training sections: one undoable step each."""
        graph = self.doc.graph
        self.doc.undo_stack.push(cmd.SetSection(graph, name, getattr(graph, name), value))

    def train(self, overrides: dict | None = None) -> bool:
        """Run > Train: show the Training panel (with room for its plots) and train a snapshot of the graph."""
        self.show_training()
        started = self.training_dock.train(overrides)
        if started:
            self.statusBar().showMessage(f"Training {self.doc.graph.name}…", 4000)
        return started

    def toggle_pause(self) -> None:
        self.training_dock.training.toggle_pause()

    def stop_training(self) -> None:
        self.training_dock.training.stop()

    def show_training(self) -> None:
        """Raise the Training panel; when the bottom docks are too low for its plots, make them taller."""
        dock = self.training_dock
        dock.show()
        dock.raise_()
        self._give_training_room()

    def _training_dock_shown(self, visible: bool) -> None:
        if visible and self._sized and self.isVisible():  # its tab was raised: room for the plots
            QTimer.singleShot(0, self._give_training_room)

    def _give_training_room(self) -> None:
        dock = self.training_dock
        if dock.isFloating() or dock.isHidden():
            return
        want = int(self.height() * TRAINING_HEIGHT)
        if dock.height() < want * 0.8:
            self.resizeDocks([dock], [want], Qt.Orientation.Vertical)

    def open_run_graph(self, path) -> bool:
        """A run's graph snapshot (from the Runs tab) opens as an unsaved copy: Save never rewrites a run's record."""
        if not self.maybe_save():
            return False
        path = Path(path)
        problems = self.doc.open(path, bind=False)
        if problems:
            self.problems_dock.raise_()
            self.show_refusal(f"{path.name} of run {path.parent.name} has problems; see the Problems panel")
            return False
        self.doc.origin_label = f"run {path.parent.name}"
        self.doc.pathChanged.emit()
        self.statusBar().showMessage(f"Opened the graph of run {path.parent.name} as a copy; Save asks where", 6000)
        return True

    def _document_loaded(self) -> None:
        self._doc_generation += 1

    def _node_flagged(self, category: str, node_id: str, level: str, message: str) -> None:
        if category == "training" and self._run_generation != self._doc_generation:
            return  # about a run of a graph that is no longer open: its node ids mean nothing here
        self.scene.set_node_flag(category, node_id, level, message)

    def _training_state_changed(self, state: str) -> None:
        if state == "preparing" and self._training_state == "idle":
            self._run_generation = self._doc_generation
        self._training_state = state
        active = state in ("preparing", "running", "paused")
        self.act_train.setEnabled(state == "idle")
        self.act_pause.setEnabled(active)
        self.act_stop.setEnabled(active)
        paused = state == "paused"
        self.act_pause.setText("&Resume" if paused else "&Pause")
        self.act_pause.setIcon(icon("train" if paused else "pause"))
        self.training_dock.setWindowTitle("Training" if state == "idle" else f"Training ({state})")  # also its tab

    def _training_ended(self, result) -> None:
        from .training.dock import REASON_TEXT
        if result is None:
            self.statusBar().showMessage("Training could not start; see the Training panel", 8000)
            return
        text = REASON_TEXT.get(result.reason, result.reason)
        detail = f": {result.error}" if getattr(result, "error", None) else ""
        self.statusBar().showMessage(f"Training {text.lower()} after {result.epochs_run} epoch(s){detail}", 8000)

    # -- edit actions --------------------------------------------------------------------------
    def delete_selection(self) -> None:
        self.doc.remove(self.scene.selected_ids(), self.scene.selected_edges())

    def copy(self) -> str | None:
        ids = self.scene.selected_ids()
        if not ids:
            return None
        text = self.doc.copy_text(ids)
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage(f"Copied {len(ids)} node{'s' * (len(ids) != 1)} as YAML", 4000)
        return text

    def cut(self) -> None:
        ids = self.scene.selected_ids()
        if self.copy() is not None:
            self.doc.remove(ids)

    def paste(self, at: QPointF | None = None) -> list[str] | None:
        text = QGuiApplication.clipboard().text()
        where = at if at is not None else self.view.cursor_scene_pos()
        ids = self.doc.paste_text(text, (where.x() - NODE_W / 2, where.y() - NODE_H / 2))
        if ids:
            self.scene.select_ids(ids)
        return ids

    def duplicate(self) -> None:
        ids = self.doc.duplicate(self.scene.selected_ids())
        if ids:
            self.scene.select_ids(ids)

    def select_all(self) -> None:
        for item in self.scene.nodes.values():
            item.setSelected(True)

    def auto_layout(self) -> None:
        ids = self.scene.selected_ids()
        area = self.view.viewport().rect()
        self.doc.auto_layout(ids if len(ids) > 1 else None, view=(area.width(), area.height()))
        if len(ids) <= 1:
            self.view.fit()

    # -- files -------------------------------------------------------------------------------
    def ask_save_changes(self) -> str:
        """'save', 'discard' or 'cancel' (tests replace this)."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Save the changes to {self.doc.display_name} first?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
            QMessageBox.StandardButton(answer), "cancel")

    def ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", self._dialog_dir(), FILE_FILTER)
        return path or None

    def ask_save_path(self, title: str = "Save graph as", suggestion: str | None = None,
                      file_filter: str = FILE_FILTER) -> str | None:
        start = suggestion or str(Path(self._dialog_dir()) / f"{self.doc.graph.name}.yaml")
        path, _ = QFileDialog.getSaveFileName(self, title, start, file_filter)
        return path or None

    def ask_restore(self, orphan: Orphan) -> bool:
        name = orphan.original.name if orphan.original else "an untitled graph"
        answer = QMessageBox.question(
            self, "Restore unsaved work?",
            f"NodeTrainer did not close normally. Restore the unsaved changes to {name}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def _dialog_dir(self) -> str:
        if self.doc.path is not None:
            return str(self.doc.path.parent)
        return str(self.settings.value("last_dir", str(EXAMPLES if EXAMPLES.is_dir() else Path.home())))

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document."""
        if not self.doc.modified:
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_file(self) -> None:
        if self.maybe_save():
            self.doc.new()

    def open_dialog(self) -> None:
        if self.maybe_save():
            path = self.ask_open_path()
            if path:
                self.open_path(path, ask=False)

    def open_example(self, path: Path) -> bool:
        """Open an example as an unsaved copy, so Save never overwrites the example itself."""
        if not self.maybe_save():
            return False
        problems = self.doc.open(path, bind=False)
        if problems:
            self.problems_dock.raise_()
            self.show_refusal(f"{path.name} has problems; see the Problems panel")
            return False
        self.statusBar().showMessage(f"Opened the example {path.stem}; Save asks where to keep your copy", 6000)
        return True

    def open_dropped(self, path: str) -> None:
        if path.lower().endswith((".yaml", ".yml")):
            self.open_path(path)
        else:
            self.show_refusal(f"Not a graph file: {Path(path).name} (graph files end in .yaml)")

    def open_path(self, path: str | Path, ask: bool = True) -> bool:
        """Open a file (asking first about unsaved changes); a broken file opens as far as it can be
        read and lists its problems. Returns True when the file opened without problems."""
        if ask and not self.maybe_save():
            return False
        path = Path(path)
        problems = self.doc.open(path)
        if not problems:
            self._add_recent(path)
            self.statusBar().showMessage(f"Opened {path.name}", 5000)
            return True
        self.problems_dock.raise_()
        self.show_refusal(f"{path.name} has {len(problems)} problem{'s' * (len(problems) != 1)}; "
                          "see the Problems panel. Save As writes a corrected copy.")
        return False

    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> bool:
        suggestion = str(self.doc.origin) if self.doc.origin else None
        if self.doc.origin is not None and self.doc.origin_label == "example":  # not into graphs/ itself
            last = Path(str(self.settings.value("last_dir", str(Path.home()))))
            folder = last if last.resolve() != EXAMPLES.resolve() else Path.home()
            suggestion = str(folder / self.doc.origin.name)
        elif self.doc.origin is not None and self.doc.origin_label.startswith("run ") \
                and (run := RunFolder.of_graph_file(self.doc.origin)) is not None:
            suggestion = str(run.graph_copy_path())  # beside the runs folder, never over the run's record
        path = self.ask_save_path(suggestion=suggestion)
        if not path:
            return False
        if not path.lower().endswith((".yaml", ".yml")):
            path += ".yaml"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.doc.save(path)
        except (OSError, GraphError, TypeError) as exc:
            QMessageBox.warning(self, "Could not save", f"Could not save {path.name}: {exc}")
            return False
        self._add_recent(path)
        self.statusBar().showMessage(f"Saved {path.name}", 5000)
        return True

    def export_python(self) -> bool:
        try:
            text = export_source(self.doc)
        except GraphError as exc:
            self.problems_dock.raise_()
            self.show_refusal(f"Cannot export: the graph has {len(exc.problems)} problem"
                              f"{'s' * (len(exc.problems) != 1)}; see the Problems panel")
            return False
        stem = (self.doc.path.stem if self.doc.path else export_name(self.doc)).replace(" ", "_").replace("-", "_")
        path = self.ask_save_path("Export as Python", str(self._export_dir() / f"{stem}.py"), "Python files (*.py)")
        if not path:
            return False
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            QMessageBox.warning(self, "Could not export", f"Could not write {path}: {exc.strerror or exc}")
            return False
        self.statusBar().showMessage(f"Exported {Path(path).name}", 5000)
        return True

    def export_dialog(self) -> QDialog:
        """File > Export…: the four targets, from the graph as it is or one of its runs (non-modal)."""
        from .export_dialog import ExportDialog
        dialog = ExportDialog(self.doc.graph, self.training_dock.training.runs_dir, self._export_dir(), self,
                              name=export_name(self.doc))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.export_window = dialog
        dialog.show()
        return dialog

    def _export_dir(self) -> Path:
        """Where Export suggests writing: the graph's folder; for an unsaved graph the last folder used;
        never the app's own folder or its examples (then the home folder)."""
        last = self.settings.value("last_dir")
        app_folders = {ROOT.resolve(), EXAMPLES.resolve()}
        for folder in (self.doc.path.parent if self.doc.path else None, Path(last) if isinstance(last, str) else None):
            if folder is not None and folder.is_dir() and folder.resolve() not in app_folders:
                return folder
        return Path.home()

    # -- recent files ---------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if isinstance(v, str)]

    def _add_recent(self, path: Path) -> None:
        text = str(Path(path).resolve())
        recent = [text] + [p for p in self.recent_files() if p != text]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self.settings.setValue("last_dir", str(Path(text).parent))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setEnabled(Path(path).exists())
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        if not recent:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", lambda: self.settings.setValue("recent", []))

    # -- recovery ---------------------------------------------------------------------------------
    def offer_recovery(self) -> bool:
        """Offer the newest recovery file a crashed session left; True when one was restored."""
        orphans = find_orphans(self.recovery_dir)
        for orphan in orphans:
            if self.ask_restore(orphan):
                try:
                    text = orphan.text()
                except OSError:
                    orphan.discard()
                    continue
                self.doc.load_text(text, orphan.original, origin=orphan.original, modified=True)
                orphan.discard()
                self.autosave.save_now()
                self.statusBar().showMessage("Restored unsaved changes from the recovery file", 8000)
                return True
            orphan.discard()
        return False

    # -- window events ------------------------------------------------------------------------------
    def ask_stop_training(self) -> bool:
        """Whether to stop the run in progress and close (tests patch QMessageBox.question or this)."""
        answer = QMessageBox.question(
            self, "Training in progress",
            "Stop training and close? The run is saved (last.pt) and can be resumed.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.training_dock.is_training and not self.ask_stop_training():
            event.ignore()
            return
        if self.maybe_save():  # after the save prompt: a cancelled close leaves the run going
            if self.training_dock.is_training:
                self.statusBar().showMessage("Stopping training…")
                QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
                try:
                    self.training_dock.request_shutdown()  # last.pt written, the thread finished
                finally:
                    QApplication.restoreOverrideCursor()
            self.settings.setValue("window_state", self.saveState())
            self.settings.setValue("window_geometry", self.saveGeometry())
            self.autosave.discard()
            self.autosave.timer.stop()
            event.accept()
        else:
            event.ignore()

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_dropped(url.toLocalFile())
                break
