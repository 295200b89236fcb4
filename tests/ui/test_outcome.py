"""The result header's words: what a run came to, from its Finished event (no widgets involved)."""
from __future__ import annotations

from nodetrainer.settings import EarlyStoppingConfig, TrainingConfig
from nodetrainer.training.events import Finished
from ui.training.outcome import describe, describe_problem, fmt_metric, metric_label


def finished(reason="completed", epochs=20, best_epoch=12, best=None, test=None, **kw) -> Finished:
    best = {"train_loss": 0.1, "val_loss": 0.2, "val_accuracy": 0.9667} if best is None else best
    return Finished(reason, epochs, best_epoch, best, test, None, kw.get("duration_s", 42.0),
                    kw.get("samples_per_s", 2400.0))


def test_the_headline_is_the_test_metric_with_validation_beside_it():
    o = describe(finished(test={"loss": 0.1, "accuracy": 0.9833}), TrainingConfig(), ["accuracy"])
    assert (o.value, o.caption) == ("98.3 %", "test accuracy")
    assert (o.side_value, o.side_caption) == ("96.7 %", "validation (best epoch)")
    assert o.title == "Completed" and o.level == "ok"
    assert "ran all 20 epochs" in o.detail and "best epoch 12" in o.detail and "42.0 s" in o.detail


def test_without_a_test_split_the_validation_value_leads_and_says_so():
    o = describe(finished(test=None), TrainingConfig(), ["accuracy"])
    assert (o.value, o.caption) == ("96.7 %", "validation accuracy")
    assert "no test split" in o.side_caption


def test_early_stopping_is_told_in_words():
    config = TrainingConfig(early_stopping=EarlyStoppingConfig(monitor="val_loss", patience=10))
    o = describe(finished("early_stopped", epochs=31, best_epoch=21), config, ["accuracy"])
    assert o.title == "Stopped early"
    assert "stopped early at epoch 31: validation loss had not improved for 10 epochs" in o.detail
    assert "early_stopped" not in o.detail + o.title  # no internal codes


def test_a_run_still_improving_at_its_last_epoch_suggests_more_epochs():
    o = describe(finished(epochs=20, best_epoch=20), TrainingConfig(), ["accuracy"])
    assert "raise epochs" in o.hint
    assert not describe(finished(epochs=20, best_epoch=14), TrainingConfig(), ["accuracy"]).hint


def test_a_stopped_run_can_be_resumed():
    o = describe(finished("stopped", epochs=4, best_epoch=4), TrainingConfig(), ["accuracy"])
    assert o.title == "Stopped" and o.resumable and "stopped by you after 4 epochs" in o.detail


def test_a_problem_has_no_numbers_and_names_its_node():
    o = describe_problem("Diverged", "training diverged at epoch 1, step 12: the loss became non-finite", "conv1",
                         "lower the learning rate")
    assert o.level == "error" and not o.value and not o.side_value
    assert o.detail.startswith("node conv1: training diverged") and o.node == "conv1"


def test_metric_formats_and_labels():
    assert fmt_metric("val_accuracy", 0.97777) == "97.8 %"
    assert fmt_metric("f1_macro", 0.91234) == "0.912"
    assert fmt_metric("mae", 3.14159) == "3.142"
    assert fmt_metric("loss", float("nan")) == "–"
    assert metric_label("val_loss") == "validation loss" and metric_label("r2") == "R²"
