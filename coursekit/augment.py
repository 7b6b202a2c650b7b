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

import numbers

import torch


def _check_batch(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a batch tensor (N, C, H, W), got {type(x).__name__}; convert with torch.as_tensor")
    if x.ndim != 4:
        raise ValueError(
            f"expected a batch tensor (N, C, H, W), got shape {tuple(x.shape)}"
            + ("; add the channel axis with x[:, None]" if x.ndim == 3 else "")
        )


def _check_padding(padding, name: str = "padding") -> int:
    if isinstance(padding, bool) or not isinstance(padding, numbers.Integral):
        raise TypeError(f"{name} must be an int number of pixels, got {type(padding).__name__} {padding!r}")
    if padding < 0:
        raise ValueError(f"{name} must be >= 0 pixels, got {padding}")
    return int(padding)


def _check_probability(p, name: str) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name} must be a probability (a number in [0, 1]), got {type(p).__name__} {p!r}")
    if not 0.0 <= p <= 1.0:  # also False for NaN
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    return float(p)


def _check_fill(fill) -> None:
    if isinstance(fill, torch.Tensor) and fill.numel() == 1 and not fill.dtype == torch.bool:
        return  # a one-element tensor such as -mean / std computed with torch
    if fill is not None and (isinstance(fill, bool) or not isinstance(fill, numbers.Real)):
        raise TypeError(f"fill must be a number or None (repeat the edge pixel), got {type(fill).__name__} {fill!r}")


def _check_generator(generator) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__}; "
            f"make one with torch.Generator().manual_seed(seed)"
        )


def _check_offsets(n: int, dy, dx, flip) -> None:
    for name, t in (("dy", dy), ("dx", dx), ("flip", flip)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a tensor of shape ({n},), got {type(t).__name__}")
        if t.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},) (one value per image), got {tuple(t.shape)}")
    for name, t in (("dy", dy), ("dx", dx)):
        if t.dtype.is_floating_point or t.dtype == torch.bool or t.is_complex():
            raise TypeError(f"{name} must hold integer pixel shifts, got {t.dtype}")
    if flip.dtype != torch.bool:
        raise TypeError(f"flip must be a bool tensor (True: mirror that image), got {flip.dtype}")


def shift_flip(
    x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, flip: torch.Tensor, fill: float | None = None
) -> torch.Tensor:
    """Shift image n of `x` (N, C, H, W) by (dy[n], dx[n]) pixels and mirror it if flip[n].

    out[n, c, i, k] = m[n, c, i - dy[n], k - dx[n]], where m is image n mirrored left-right when
    flip[n] is True (the mirror comes first, then the shift). Pixels shifted in from outside take
    `fill`, or repeat the nearest edge pixel when `fill` is None. dy, dx: int64 (N,); flip: bool (N,).
    """
    _check_batch(x)
    _check_offsets(len(x), dy, dx, flip)
    _check_fill(fill)
    n, c, h, w = x.shape
    rows = torch.arange(h, device=x.device).expand(n, h) - dy.to(x.device)[:, None]  # (N, H)
    cols = torch.arange(w, device=x.device).expand(n, w) - dx.to(x.device)[:, None]  # (N, W)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    cols = torch.where(flip.to(x.device)[:, None], w - 1 - cols, cols)  # mirror
    index = (rows[:, :, None] * w + cols[:, None, :]).reshape(n, 1, h * w).expand(n, c, h * w)
    out = x.reshape(n, c, h * w).gather(2, index).reshape(n, c, h, w)
    if fill is not None:
        out = torch.where(inside[:, None], out, torch.as_tensor(fill, dtype=x.dtype, device=x.device))
    return out


def random_offsets(n: int, padding: int, flip_p: float, generator: torch.Generator | None = None):
    """Draw per-image shifts dy, dx in -padding..padding (int64 (n,)) and flips (bool (n,), P = flip_p)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be a number of images >= 0, got {n!r}")
    padding = _check_padding(padding)
    _check_probability(flip_p, "flip_p")
    _check_generator(generator)
    dy = torch.randint(-padding, padding + 1, (n,), generator=generator)
    dx = torch.randint(-padding, padding + 1, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < flip_p
    return dy, dx, flip


def random_crop(
    x: torch.Tensor, padding: int, generator: torch.Generator | None = None, fill: float | None = None
) -> torch.Tensor:
    """Random crop of each image after padding it by `padding` pixels: (N, C, H, W) -> same shape."""
    _check_batch(x)
    _check_fill(fill)
    return shift_flip(x, *random_offsets(len(x), padding, 0.0, generator), fill=fill)


def random_hflip(x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability `p`: (N, C, H, W) -> same shape."""
    _check_batch(x)
    _check_probability(p, "p")
    return shift_flip(x, *random_offsets(len(x), 0, p, generator))


class FlipCrop:
    """Random crop with `padding` plus a horizontal flip with probability `flip_p`, on whole batches.

    Call it on a batch (N, C, H, W) to get an augmented batch of the same shape and dtype. All draws
    come from its own generator seeded with `seed`. `fill`: value for pixels shifted in from outside
    (None repeats the edge pixel; for normalised Fashion-MNIST the edges are background anyway).
    """

    def __init__(self, padding: int = 2, flip_p: float = 0.5, seed: int = 0, fill: float | None = None):
        padding, flip_p = _check_padding(padding), _check_probability(flip_p, "flip_p")
        _check_fill(fill)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
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
        if loader is None or not hasattr(loader, "__iter__") or isinstance(loader, (torch.Tensor, str)):
            raise TypeError(f"loader must be an iterable of (x, y) batches, got {type(loader).__name__}")
        if not callable(fn):
            raise TypeError(f"fn must be a function of a batch, e.g. FlipCrop(padding=2), got {type(fn).__name__}")
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


def flip_averaged_logits(model, x: torch.Tensor) -> torch.Tensor:
    """Test-time augmentation by mirroring: the mean of the model's outputs for `x` and for `x` flipped
    left-right. x: (N, C, H, W); returns (N, K). Worth it only where the mirror image belongs to the
    same class (garments, photos), not for digits. The model's mode is left as it is (call ``eval()``)."""
    _check_batch(x)
    return (model(x) + model(x.flip(-1))) / 2
