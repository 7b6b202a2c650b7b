"""Data augmentation on whole batches: random shifts (crop with padding) and horizontal flips.

AlexNet fought over-fitting with augmentation: random 224 x 224 crops of 256 x 256 images and their
mirror images. Here the same two ideas work on a batch tensor at once, which on a CPU is far faster
than transforming images one by one through PIL:

* **random crop with padding** ``p``: pad each image by ``p`` pixels on every side and cut out a
  window of the original size at a random offset -- the same as shifting the image by (dy, dx)
  with dy, dx drawn uniformly from ``-p..p``;
* **horizontal flip**: mirror each image left-right with probability 1/2.

Both are done by one ``gather`` with per-image index maps, so they cost about as much as copying the
batch, for any dtype (uint8 or float). Every random draw comes from a ``torch.Generator`` seeded
once, so a training run is repeatable.

Shapes: a batch is ``(N, C, H, W)``; every function returns a new tensor of the same shape and dtype.
Wrap a loader with `Augmented(loader, FlipCrop(...))` to train on augmented batches; evaluate on
the plain test loader.
"""
from __future__ import annotations

import torch


def _check_batch(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"expected a batch tensor (N, C, H, W), got {getattr(x, 'shape', type(x))}")


def shift_flip(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, flip: torch.Tensor,
               fill: float | None = None) -> torch.Tensor:
    """Shift image n of `x` (N, C, H, W) by (dy[n], dx[n]) pixels and mirror it if flip[n].

    out[n, c, i, k] = m[n, c, i - dy[n], k - dx[n]], where m is image n mirrored left-right when
    flip[n] is True (the mirror comes first, then the shift). Pixels shifted in from outside take
    `fill`, or repeat the nearest edge pixel when `fill` is None. dy, dx: int64 (N,); flip: bool (N,).
    """
    _check_batch(x)
    n, c, h, w = x.shape
    rows = torch.arange(h, device=x.device).expand(n, h) - dy.to(x.device)[:, None]       # (N, H)
    cols = torch.arange(w, device=x.device).expand(n, w) - dx.to(x.device)[:, None]       # (N, W)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    cols = torch.where(flip.to(x.device)[:, None], w - 1 - cols, cols)                      # mirror
    index = (rows[:, :, None] * w + cols[:, None, :]).reshape(n, 1, h * w).expand(n, c, h * w)
    out = x.reshape(n, c, h * w).gather(2, index).reshape(n, c, h, w)
    if fill is not None:
        out = torch.where(inside[:, None], out, torch.as_tensor(fill, dtype=x.dtype, device=x.device))
    return out


def random_offsets(n: int, padding: int, flip_p: float, generator: torch.Generator | None = None):
    """Draw per-image shifts dy, dx in -padding..padding (int64 (n,)) and flips (bool (n,), P = flip_p)."""
    dy = torch.randint(-padding, padding + 1, (n,), generator=generator)
    dx = torch.randint(-padding, padding + 1, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < flip_p
    return dy, dx, flip


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator | None = None,
                fill: float | None = None) -> torch.Tensor:
    """Random crop of each image after padding it by `padding` pixels: (N, C, H, W) -> same shape."""
    _check_batch(x)
    return shift_flip(x, *random_offsets(len(x), padding, 0.0, generator), fill=fill)


def random_hflip(x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability `p`: (N, C, H, W) -> same shape."""
    _check_batch(x)
    return shift_flip(x, *random_offsets(len(x), 0, p, generator))


class FlipCrop:
    """Random crop with `padding` plus a horizontal flip with probability `flip_p`, on whole batches.

    Call it on a batch (N, C, H, W) to get an augmented batch of the same shape and dtype. All draws
    come from its own generator seeded with `seed`. `fill`: value for pixels shifted in from outside
    (None repeats the edge pixel; for normalised Fashion-MNIST the edges are background anyway).
    """

    def __init__(self, padding: int = 2, flip_p: float = 0.5, seed: int = 0, fill: float | None = None):
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        if not 0.0 <= flip_p <= 1.0:
            raise ValueError(f"flip_p must be a probability, got {flip_p}")
        self.padding, self.flip_p, self.fill = padding, flip_p, fill
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x)
        return shift_flip(x, *random_offsets(len(x), self.padding, self.flip_p, self.generator), fill=self.fill)

    def __repr__(self) -> str:
        return f"FlipCrop(padding={self.padding}, flip_p={self.flip_p}, fill={self.fill})"


class Augmented:
    """A loader that yields (fn(x), y) for every (x, y) batch of `loader` (any iterable of pairs).

    `fn` maps a batch (N, C, H, W) to a batch, e.g. `FlipCrop(...)`. Its length is the loader's,
    so `coursekit.train.fit` and its schedulers see the same number of steps per epoch.
    """

    def __init__(self, loader, fn):
        self.loader, self.fn = loader, fn

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            yield self.fn(x), y

    def __getattr__(self, name):  # batch_size, num_samples, ... of the wrapped loader
        if name.startswith("_") or name in ("loader", "fn"):
            raise AttributeError(name)
        return getattr(self.loader, name)
