"""The Data tab with several Inputs (each picks its columns or array; the part's shape beside the Input's) and
the augmented-samples grid that follows the data.augment form."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from nodetrainer.graphfile import load_graph

ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 30_000


def test_each_input_picks_its_columns_through_the_undo_stack(qtbot, window, tmp_path):
    path = tmp_path / "two.yaml"
    shutil.copy(ROOT / "graphs" / "breast_cancer_two_inputs.yaml", path)
    window.doc.open(path)
    panel = window.training_dock.training.data_panel
    qtbot.waitUntil(lambda: panel.preview_data is not None and panel.preview_data.choices is not None,
                    timeout=WAIT_MS)
    editor = panel.inputs_editor
    assert panel.inputs_box.isVisibleTo(panel)
    assert editor.shape_text("means") == "Input [10] · part [10]"
    assert editor.shape_text("rest") == "Input [20] · part [20]"
    assert editor.pickers["means"].text() == "10 columns…"
    graph = window.doc.graph
    before = dict(graph.data["inputs"])
    means = ["mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness", "mean compactness",
             "mean concavity", "mean fractal dimension"]  # two fewer columns, with a gap
    editor.pick("means", means)
    assert graph.data["inputs"]["means"] == ["mean radius..mean concavity", "mean fractal dimension"]
    assert graph.data["inputs"]["rest"] == before["rest"]
    qtbot.waitUntil(lambda: panel.preview_data is not None and panel.preview_data.choices is not None,
                    timeout=WAIT_MS)
    assert editor.shape_text("means").startswith("Input [10] · part [8]")  # and it says what is wrong
    assert "unused" in panel.error  # two columns go to no Input: the loader's own line
    window.doc.undo_stack.undo()
    assert graph.data["inputs"] == before
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=WAIT_MS)
    assert editor.shape_text("means") == "Input [10] · part [10]"


def test_the_npz_example_picks_arrays(qtbot):
    from ui.training.data_panel import DataPanel
    graph = load_graph(ROOT / "graphs" / "digits_image_and_numbers.yaml")
    panel = DataPanel(graph)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.summary is not None, timeout=WAIT_MS)
    editor = panel.inputs_editor
    image_box, numbers_box = editor.pickers["image"], editor.pickers["numbers"]
    assert image_box.currentData() == "x_img" and numbers_box.currentData() == "x_num"
    assert editor.shape_text("image") == "Input [1, 8, 8] · part [1, 8, 8]"
    assert editor.shape_text("numbers") == "Input [3] · part [3]"
    numbers_box.setCurrentIndex(numbers_box.findData("x_img"))
    numbers_box.activated.emit(numbers_box.currentIndex())  # the image array for the numbers: shapes differ
    assert graph.data["inputs"]["numbers"] == "x_img"
    qtbot.waitUntil(lambda: panel.preview_data is not None and panel.preview_data.choices is not None,
                    timeout=WAIT_MS)
    assert editor.shape_text("numbers").startswith("Input [3] · part [1, 8, 8]")
    assert panel.samples_box.isVisibleTo(panel) is False or panel.summary is None
    panel.wait_idle()


def test_the_augmented_grid_follows_the_augment_settings(qtbot):
    from nodetrainer.data.preview import label_text
    from ui.training.data_panel import DataPanel
    graph = load_graph(ROOT / "graphs" / "digits_cnn.yaml")
    # without normalization a flip of the pixels shown is exact (digits normalize per pixel: a flipped
    # standardized image, shown in raw scale, is not the mirror image)
    graph.set_section("data", {**graph.data, "normalize": "none"})
    panel = DataPanel(graph)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.augmented_labels is not None, timeout=WAIT_MS)
    assert panel.augment_box.isVisibleTo(panel)
    dataset = panel._dataset
    plain = panel.augmented_grid.pixels.copy()
    assert panel.augmented_grid.count() == 16
    assert panel.augmented_labels == [label_text(dataset, y) for y in dataset.train.y[:16]]
    from nodetrainer.data.preview import display_pixels, raw_samples
    as_they_are = display_pixels(raw_samples(dataset, "train", list(range(16))))
    assert np.abs(plain.astype(int) - as_they_are.astype(int)).max() <= 1  # no augmentation set: unchanged
    assert "No augmentation set" in panel.augment_note.text()

    panel.augment.editors["flip"].click()  # the form writes data.augment ...
    assert graph.data["augment"] == {"flip": True}
    qtbot.waitUntil(lambda: panel.augmented_labels is not None, timeout=WAIT_MS)
    assert panel._dataset is dataset  # ... and the grid is drawn again from the loaded set, not reloaded
    flipped = panel.augmented_grid.pixels
    assert panel.augmented_labels == [label_text(dataset, y) for y in dataset.train.y[:16]]  # labels stay
    mirrored = [i for i in range(16) if np.array_equal(flipped[i], plain[i][:, ::-1])
                and not np.array_equal(flipped[i], plain[i])]
    kept = [i for i in range(16) if np.array_equal(flipped[i], plain[i])]
    assert mirrored and len(mirrored) + len(kept) == 16  # each sample either mirrored or as it was

    editor = panel.augment.editors["rotate"]
    editor.setText("20")
    editor.editingFinished.emit()
    assert graph.data["augment"] == {"flip": True, "rotate": 20.0}
    qtbot.waitUntil(lambda: panel.augmented_labels is not None, timeout=WAIT_MS)
    assert not np.array_equal(panel.augmented_grid.pixels, flipped)
    panel.augment.editors["flip"].click()
    editor.setText("")
    editor.editingFinished.emit()
    assert "augment" not in graph.data  # defaults only: the key goes
    qtbot.waitUntil(lambda: panel.augmented_labels is not None, timeout=WAIT_MS)
    panel.wait_idle()
