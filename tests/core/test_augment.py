"""data.augment: batched random image changes on training batches only, labels kept with their samples,
seeded, exact on resume (resident and streamed data), and refused with located lines where it cannot apply."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from nodetrainer.cli import main
from nodetrainer.data.augment import Augmenter, augmented_preview
from nodetrainer.settings import AugmentConfig, OptimizerConfig, TrainingConfig
from nodetrainer.training import events as ev
from nodetrainer.training.checkpoint import load_checkpoint
from nodetrainer.training.run import prepare
from nodetrainer.training.runs import RunFolder
from nodetrainer.training.trainer import Trainer, TrainerOptions


def marked_images(n=96):
    """Class c's image has the value c + 1 in its left column and zeros elsewhere: a flip moves the mark to the
    right column, any other pairing of image and label shows as a wrong value."""
    y = torch.arange(n) % 4
    x = torch.zeros(n, 1, 4, 4)
    x[:, 0, :, 0] = (y + 1).float().view(n, 1)
    return x, y


class Recorder(nn.Module):
    """A linear classifier that records every batch it sees, with whether it was training."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)
        self.seen: list[tuple[bool, torch.Tensor]] = []

    def forward(self, x):
        self.seen.append((self.training, x.detach().clone()))
        return self.fc(x.flatten(1))


def train_recorder(augment, epochs=2, **kw):
    x, y = marked_images()
    torch.manual_seed(0)
    model = Recorder()
    config = TrainingConfig(device="cpu", epochs=epochs, batch_size=16, seed=kw.pop("seed", 0))
    labels: list[torch.Tensor] = []
    trainer = Trainer(model, config, (x, y), (x[:32], y[:32]), (x[32:64], y[32:64]), task="classification",
                      num_classes=4, augment=augment, **kw)
    loss_fn = trainer.loss_fn
    def recording_loss(out, yb):
        if model.training:
            labels.append(yb.clone())
        return loss_fn(out, yb)

    trainer.loss_fn = recording_loss
    trainer.fit()
    return model.seen, labels


def test_a_flipped_sample_keeps_its_label_and_evaluation_is_never_flipped():
    seen, labels = train_recorder(AugmentConfig(flip=True))
    train = [x for training, x in seen if training]
    evaluation = [x for training, x in seen if not training]
    flipped = 0
    for xb, yb in zip(train, labels):  # the loss sees the batches in the order the model does
        left, right = xb[:, 0, :, 0], xb[:, 0, :, 3]
        mark = (yb + 1).float().view(-1, 1).expand_as(left)
        is_left = (left == mark).all(1) & (right == 0).all(1)
        is_right = (right == mark).all(1) & (left == 0).all(1)
        assert (is_left | is_right).all()
        flipped += int(is_right.sum())
    total = sum(len(b) for b in train)
    assert 0.3 * total < flipped < 0.7 * total
    assert evaluation and all((x[:, 0, :, 3] == 0).all() and (x[:, 0, :, 0] > 0).all() for x in evaluation)


def test_the_same_seed_gives_the_same_batches_and_another_seed_others():
    cfg = AugmentConfig(flip=True, crop=1, rotate=15, scale=(0.9, 1.1), jitter=0.2, cutout=2)
    x = torch.randn(32, 3, 8, 8)
    a, b, c = Augmenter(cfg, "cpu", 3), Augmenter(cfg, "cpu", 3), Augmenter(cfg, "cpu", 4)
    first, second, other = a(x), b(x), c(x)
    assert torch.equal(first, second) and not torch.equal(first, other)
    assert first.shape == x.shape and torch.isfinite(first).all()
    assert not torch.equal(a(x), first)  # the generator moves on: the next batch gets new changes


def test_each_change_does_what_it_says():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6) + 1
    shifted = Augmenter(AugmentConfig(crop=2), "cpu", 0)
    out = shifted(x)
    for i in range(2):  # a shift by whole pixels: every value is an original value or the 0 fill
        values = set(out[i].flatten().round(decimals=3).tolist()) - {0.0}
        assert values <= set(x[i].flatten().tolist())
    holes = Augmenter(AugmentConfig(cutout=3), "cpu", 0)(x)
    zeroed = (holes == 0).sum(dim=(1, 2, 3))
    assert ((zeroed >= 1) & (zeroed <= 9)).all() and torch.equal(holes[holes != 0], x[holes != 0])
    jittered = Augmenter(AugmentConfig(jitter=0.5), "cpu", 0)(x)
    centred, original = jittered - jittered.mean((2, 3), keepdim=True), x - x.mean((2, 3), keepdim=True)
    ratio = (centred / original).flatten(1)  # contrast: one factor per image within [0.5, 1.5]
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-4)
    assert ((ratio[:, 0] >= 0.5) & (ratio[:, 0] <= 1.5)).all() and not torch.equal(jittered, x)
    flat = torch.randn(4, 7)
    assert torch.equal(Augmenter(AugmentConfig(flip=True), "cpu", 0)(flat), flat)  # flat parts pass


def test_distributed_ranks_together_see_what_one_process_sees():
    cfg = AugmentConfig(flip=True, rotate=10, cutout=2)
    x = torch.randn(10, 1, 8, 8)
    whole = Augmenter(cfg, "cpu", 1)(x)
    low, high = Augmenter(cfg, "cpu", 1)(x[:5], 10, 0), Augmenter(cfg, "cpu", 1)(x[5:], 10, 5)
    assert torch.allclose(torch.cat([low, high]), whole)


def test_preview_gives_originals_and_changed_samples_in_raw_scale(tmp_path):
    from nodetrainer.data import load_dataset
    from nodetrainer.settings import DataConfig
    dataset = load_dataset(DataConfig(source="builtin:digits"), tmp_path)
    cfg = AugmentConfig(rotate=20, cutout=3)
    before, after, labels = augmented_preview(dataset, cfg, count=6, seed=1)
    assert before.shape == after.shape == (6, 1, 8, 8) and len(labels) == 6
    assert float(before.min()) >= -1e-4 and float(before.max()) <= 16 + 1e-4  # the digits' own 0..16 pixels
    assert not torch.equal(before, after)
    again = augmented_preview(dataset, cfg, count=6, seed=1)[1]
    assert torch.equal(after, again)


# -- resume ------------------------------------------------------------------------------------------------
GRAPH = """\
nodetrainer: 1
name: aug
nodes:
  image: {type: Input, shape: [1, 8, 8]}
  conv:  {type: Conv2d, out_channels: 4, kernel_size: 3, padding: 1}
  relu:  {type: ReLU}
  flat:  {type: Flatten}
  logits: {type: Linear, out_features: 10}
  out:   {type: Output}
edges:
  - image -> conv -> relu -> flat -> logits -> out
data:
  source: builtin:digits
  split: {val: 0.2, test: 0.0, seed: 0}
  augment: {flip: true, crop: 1, rotate: 10, scale: [0.9, 1.1], jitter: 0.1, cutout: 2}
training:
  epochs: 2
  batch_size: 64
  deterministic: true
  seed: 2
"""


def test_resume_after_an_augmented_run_is_bit_exact(tmp_path):
    graph = tmp_path / "aug.yaml"
    graph.write_text(GRAPH)
    full = prepare(graph, runs_dir=tmp_path / "full")
    assert full.trainer.augmenter is not None
    assert full.run().reason == "completed"
    part = prepare(graph, runs_dir=tmp_path / "part", options=TrainerOptions(grad_stats_every=1))
    part.subscribe(lambda e: part.stop() if isinstance(e, ev.GradientStats) and e.step == 27 else None)
    assert part.run().reason == "stopped"
    assert load_checkpoint(part.run_dir / "last.pt")["augment"] is not None
    assert main(["train", "--resume", str(part.run_dir)]) == 0
    a, b = (load_checkpoint(r / "last.pt")["model"] for r in (full.run_dir, part.run_dir))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_streamed_data_augments_in_the_loader_and_resumes_exactly(tmp_path):
    x, y = marked_images(80)
    train, val = TensorDataset(x, y), TensorDataset(x[:16], y[:16])
    config = TrainingConfig(device="cpu", epochs=2, batch_size=16, deterministic=True,
                            optimizer=OptimizerConfig(lr=0.01))
    options = TrainerOptions(loader_workers=0, grad_stats_every=1)
    cfg = AugmentConfig(flip=True, rotate=10, cutout=1)

    def build(run=None):
        torch.manual_seed(0)
        return Trainer(Recorder(), config, train, val, task="classification", num_classes=4, run=run,
                       options=options, augment=cfg)

    full = build()
    full.fit()
    assert any(not torch.equal(s[:, :, :, 3], torch.zeros_like(s[:, :, :, 3])) for t, s in full.model.seen if t)
    run = RunFolder.create(tmp_path, "stream")
    part = build(run)
    part.subscribe(lambda e: part.stop() if isinstance(e, ev.GradientStats) and e.step == 7 else None)
    assert part.fit().reason == "stopped"
    again = build(RunFolder(run.path))
    again.load_state(load_checkpoint(run.last_path), load_checkpoint(run.best_path))
    again.fit()
    assert all(torch.equal(a, b) for a, b in zip(full.model.state_dict().values(), again.model.state_dict().values()))


# -- refused settings ------------------------------------------------------------------------------------
def test_augment_on_data_without_images_is_one_located_line(tmp_path, capsys):
    graph = tmp_path / "flat.yaml"
    graph.write_text("nodetrainer: 1\nname: flat\nnodes:\n  x: {type: Input, shape: [4]}\n"
                     "  logits: {type: Linear, out_features: 3}\n  out: {type: Output}\nedges:\n"
                     "  - x -> logits -> out\ndata:\n  source: builtin:iris\n  augment: {flip: true}\n")
    assert main(["check", str(graph)]) == 1
    out = capsys.readouterr()
    text = (out.out + out.err).strip().splitlines()
    assert len(text) == 1 and text[0].startswith(f"{graph}:11:") and "image-shaped" in text[0], text


@pytest.mark.parametrize("setting, words", [
    ("{rotate: left}", ["rotate"]), ("{scale: [1.2, 0.8]}", ["lo <= hi"]), ("{cutout: -2}", ["cutout", ">= 0"]),
    ("{jitter: 2}", ["jitter"]), ("{flipp: true}", ["flipp", "flip"]), ("[flip]", ["augment"]),
])
def test_bad_augment_settings_are_located(tmp_path, capsys, setting, words):
    graph = tmp_path / "bad.yaml"
    graph.write_text(GRAPH.replace("  augment: {flip: true, crop: 1, rotate: 10, scale: [0.9, 1.1], jitter: 0.1, "
                                   "cutout: 2}", f"  augment: {setting}"))
    assert main(["check", str(graph)]) == 1
    out = capsys.readouterr()
    text = (out.out + out.err).strip().splitlines()
    line = next(i for i, t in enumerate(graph.read_text().splitlines(), 1) if t.startswith("  augment:"))
    assert len(text) == 1 and text[0].startswith(f"{graph}:{line}:"), text
    assert all(w in text[0] for w in words), text


def test_an_augment_value_can_be_tuned(tmp_path):
    from nodetrainer.graphfile import load_graph
    from nodetrainer.tune import values
    from nodetrainer.validate import check_graph
    graph = tmp_path / "aug.yaml"
    graph.write_text(GRAPH + "tune:\n  trials: 2\n  space:\n    data.augment.rotate: {uniform: [0.0, 20.0]}\n")
    g = load_graph(graph)
    assert check_graph(g).problems == []
    values.set_value(g, "data.augment.rotate", 7.5)
    assert g.data_config().augment.rotate == 7.5 and g.data_config().augment.crop == 1


def test_changes_apply_to_raw_pixels_when_the_batch_is_normalized_per_pixel():
    from nodetrainer.data.normalize import Normalizer
    raw = torch.rand(64, 1, 6, 6) * 16
    raw[:, :, 0, :] = 0.01 * torch.rand(64, 1, 6)  # a nearly constant border row: a tiny per-pixel spread
    norm = Normalizer("standard").fit(raw)
    out = Augmenter(AugmentConfig(crop=2), "cpu", 0, [norm])(norm.apply(raw))
    back = out * norm.scale + norm.shift
    for i in range(4):  # every raw value is one of the image's own (shifted) or the black fill
        values = torch.cat([raw[i].flatten(), torch.zeros(1)])
        assert torch.isclose(back[i].flatten()[:, None], values[None], atol=1e-3).any(1).all()
