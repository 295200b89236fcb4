"""Image augmentation (`data.augment`): random changes to training batches, as batched tensor ops.

`Augmenter(cfg, device, seed, normalizers)` changes a batch of images `[B, C, H, W]`
on the device it lives on, with no per-sample Python. Batches arrive normalized; with
the run's normalizers the changes work on the raw pixels (normalization undone, then
redone: a per-pixel normalization must not move with the pixels) and every fill is 0,
black in the raw image:

- `flip`: mirrors a random half left to right;
- `crop: N`: pads by N pixels and crops back at a random place (a shift of up to ±N
  pixels in each direction, the uncovered border filled with 0);
- `rotate: D`: rotates by up to ±D degrees; `scale: [lo, hi]`: zooms by a factor from
  [lo, hi] (rotation, zoom, shift and flip are one `affine_grid`/`grid_sample` pass);
- `jitter: J`: contrast times [1-J, 1+J] around each image's channel mean, brightness
  shifted by up to ±J of each image's channel spread (independent of the normalization);
- `cutout: N`: sets an N×N square at a random place to 0.

Its random numbers come from its own `torch.Generator` on the training device, seeded
from the run's seed; `generator.get_state()` goes into every checkpoint so a resumed run
continues exactly. For distributed training every rank draws the parameters of the whole
global batch and applies its own slice (`lo`, `hi`), so the ranks together see what one
process would. Validation, test, evaluation and prediction never augment.

Streamed image folders augment in their DataLoader workers instead: `AugmentedStream`
wraps the training split and takes `(position, seed)` items from the batch sampler; each
sample is changed with a generator seeded by that number (drawn per epoch from the run's
shuffling generator, so a resumed epoch gets the same seeds).

For a preview grid, `augmented_preview(dataset, cfg, count, seed)` gives training
samples before and after augmentation in the data's raw scale, with their labels.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

AUGMENT_SEED_OFFSET = 0x5EED  # the augmentation generator's seed is the run's seed plus this


class Augmenter:
    """Batched random image changes as `cfg` (an AugmentConfig) says; `generator` holds its random state."""

    def __init__(self, cfg: Any, device: torch.device | str = "cpu", seed: int = 0,
                 normalizers: list[Any] | None = None):
        self.cfg = cfg
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(int(seed) + AUGMENT_SEED_OFFSET)
        # per Input (in order): (shift, scale) on the device to undo the normalization around the changes
        self.stats = [_stats(n, self.device) for n in (normalizers or [])]

    def __call__(self, x: Any, total: int | None = None, lo: int = 0) -> Any:
        """Augmented copy of a batch: a tensor, or a tuple (several Inputs: each image part [B, C, H, W] is
        changed, flat parts pass). `total`/`lo`: draw for a global batch of `total`, use rows lo.. of it."""
        if type(x) is tuple:
            return tuple(self.batch(p, total, lo, self._stat(k)) if p.dim() == 4 else p for k, p in enumerate(x))
        return self.batch(x, total, lo, self._stat(0)) if x.dim() == 4 else x

    def _stat(self, k: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        return self.stats[k] if k < len(self.stats) else None

    def batch(self, x: torch.Tensor, total: int | None = None, lo: int = 0,
              stats: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """One image batch changed; `stats` (shift, scale): the batch is normalized, change its raw pixels."""
        n = x.shape[0]
        total = n if total is None else total
        p = self.draw(total, x.shape[-2], x.shape[-1])
        if lo or total != n:
            p = {k: v[lo:lo + n] for k, v in p.items()}
        if stats is None:
            return apply(x, p, self.cfg)
        shift, scale = stats
        return (apply(x * scale + shift, p, self.cfg) - shift) / scale

    def draw(self, n: int, height: int, width: int) -> dict[str, torch.Tensor]:
        """The random parameters of `n` samples, always drawn in the same order."""
        return draw(self.cfg, n, height, width, self.generator, self.device)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"].cpu() if hasattr(state["generator"], "cpu")
                                 else state["generator"])


def _stats(norm: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor] | None:
    if norm is None or norm.mode == "none" or norm.shift is None:
        return None
    return norm.shift.to(device), norm.scale.to(device)


def draw(cfg: Any, n: int, height: int, width: int, gen: torch.Generator,
         device: torch.device) -> dict[str, torch.Tensor]:
    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, generator=gen, device=device) * (hi - lo) + lo

    p: dict[str, torch.Tensor] = {}
    if cfg.flip:
        p["flip"] = torch.rand(n, generator=gen, device=device) < 0.5
    if cfg.crop:
        c = int(cfg.crop)
        p["dx"] = torch.randint(-c, c + 1, (n,), generator=gen, device=device)
        p["dy"] = torch.randint(-c, c + 1, (n,), generator=gen, device=device)
    if cfg.rotate:
        p["angle"] = uniform(-float(cfg.rotate), float(cfg.rotate)) * (math.pi / 180.0)
    if tuple(cfg.scale) != (1.0, 1.0):
        p["zoom"] = uniform(float(cfg.scale[0]), float(cfg.scale[1]))
    if cfg.jitter:
        j = float(cfg.jitter)
        p["contrast"] = uniform(1.0 - j, 1.0 + j)
        p["brightness"] = uniform(-j, j)
    if cfg.cutout:
        p["cy"] = torch.randint(0, height, (n,), generator=gen, device=device)
        p["cx"] = torch.randint(0, width, (n,), generator=gen, device=device)
    return p


def apply(x: torch.Tensor, p: dict[str, torch.Tensor], cfg: Any) -> torch.Tensor:
    """`x` [B, C, H, W] changed by the drawn parameters `p` (see `draw`)."""
    n, _, h, w = x.shape
    if "contrast" in p:
        mean = x.mean(dim=(2, 3), keepdim=True)
        spread = x.std(dim=(2, 3), keepdim=True) if h * w > 1 else torch.zeros_like(mean)
        x = (x - mean) * p["contrast"].view(n, 1, 1, 1).to(x.dtype) + mean \
            + p["brightness"].view(n, 1, 1, 1).to(x.dtype) * spread
    if "dx" in p or "angle" in p or "zoom" in p:
        x = _affine(x, p)
    elif "flip" in p:
        x = torch.where(p["flip"].view(n, 1, 1, 1), x.flip(3), x)
    if "cx" in p:
        size = int(cfg.cutout)
        rows = torch.arange(h, device=x.device).view(1, h, 1)
        cols = torch.arange(w, device=x.device).view(1, 1, w)
        top = (p["cy"] - size // 2).view(n, 1, 1)
        left = (p["cx"] - size // 2).view(n, 1, 1)
        hole = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
        x = x.masked_fill(hole.unsqueeze(1), 0.0)
    return x


def _affine(x: torch.Tensor, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """One grid_sample for flip, shift, rotation and zoom (normalized coordinates, aspect kept)."""
    n, _, h, w = x.shape
    dtype = torch.float32
    ones = torch.ones(n, device=x.device, dtype=dtype)
    angle = p["angle"].to(dtype) if "angle" in p else torch.zeros_like(ones)
    zoom = p["zoom"].to(dtype) if "zoom" in p else ones
    flip = torch.where(p["flip"], -ones, ones) if "flip" in p else ones
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=dtype)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin * (h / w)
    theta[:, 1, 0] = sin * (w / h) * flip
    theta[:, 1, 1] = cos
    if "dx" in p:
        theta[:, 0, 2] = p["dx"].to(dtype) * (2.0 / w)
        theta[:, 1, 2] = p["dy"].to(dtype) * (2.0 / h)
    grid = F.affine_grid(theta, [n, x.shape[1], h, w], align_corners=False)
    out = F.grid_sample(x.to(dtype), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.to(x.dtype)


def augment_sample(x: torch.Tensor, cfg: Any, seed: int, normalizer: Any = None) -> torch.Tensor:
    """One image [C, H, W] changed with a generator seeded by `seed` (streamed folders, in a worker); with
    `normalizer` the image is normalized and its raw pixels are changed."""
    gen = torch.Generator().manual_seed(int(seed))
    p = draw(cfg, 1, x.shape[-2], x.shape[-1], gen, torch.device("cpu"))
    stats = _stats(normalizer, torch.device("cpu"))
    if stats is None:
        return apply(x.unsqueeze(0), p, cfg)[0]
    shift, scale = stats
    return (apply(x.unsqueeze(0) * scale + shift, p, cfg)[0] - shift) / scale


class AugmentedStream(torch.utils.data.Dataset):
    """A streamed training split whose items are augmented in the loader's workers. An item key is a
    position, or `(position, seed)` from a batch sampler that seeds each sample (see the batches module).
    `normalizer`: the one the items come normalized with (their raw pixels are changed)."""

    def __init__(self, inner: torch.utils.data.Dataset, cfg: Any, normalizer: Any = None):
        self.inner, self.cfg, self.normalizer = inner, cfg, normalizer

    def __len__(self) -> int:
        return len(self.inner)  # type: ignore[arg-type]

    def __getitem__(self, key: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(key, tuple):
            index, seed = key
            x, y = self.inner[index]
            return augment_sample(torch.as_tensor(x), self.cfg, seed, self.normalizer), y
        return self.inner[key]


def augmented_preview(dataset: Any, cfg: Any, count: int = 16, seed: int = 0,
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(originals, augmented, labels) of the first `count` training samples, in the data's raw scale (the
    normalization undone), for a preview grid. With several Inputs the first image-shaped part is shown.
    Each call with the same `seed` gives the same pictures; change it for new ones."""
    split = dataset.train
    count = min(count, len(split))
    norm = dataset.normalizer
    if dataset.stream is not None:
        idx = split.x[:count].tolist()
        x = torch.stack([torch.as_tensor(dataset.stream[int(i)][0]) for i in idx])
    else:
        xs = split.xs
        k = next((i for i, t in enumerate(xs) if t.dim() == 4), 0)
        x = xs[k][:count]
        if dataset.inputs:
            norm = dataset.inputs[k].normalizer
    if norm.mode != "none" and norm.shift is not None and x.is_floating_point():
        x = x * norm.scale + norm.shift
    changed = Augmenter(cfg, "cpu", seed).batch(x) if x.dim() == 4 else x
    return x, changed, split.y[:count]


__all__ = ["Augmenter", "AugmentedStream", "augment_sample", "augmented_preview", "AUGMENT_SEED_OFFSET"]
