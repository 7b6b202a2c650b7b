"""In-memory batches: a whole split as one uint8 tensor, normalised batch by batch.

- `TensorLoader`: batches (float32 (B, C, H, W), int64 (B,)) from uint8 (N, C, H, W) images;
- `tensor_loaders(key, ...)`: (train, test) loaders of MNIST or Fashion-MNIST;
- `tensor_splits(key, ...)`: `Splits(train, val, test)`, a validation split carved out of the
  training images, so that model selection never looks at the test set;
- `holdout(images, labels, size, seed)`: the same seeded split for tensors already in memory.

On a CPU this is the fast path: no per-image PIL conversion, which dominates the run time of a
small network on two cores.
"""

from __future__ import annotations

import math
import operator
from typing import NamedTuple

import numpy as np
import torch

from .catalog import idx_spec
from .datasets import load_idx

# ---------------------------------------------------------------------------------------------
# Argument checks shared by the loaders.
# ---------------------------------------------------------------------------------------------


def _whole(name: str, value, minimum: int | None = 1, hint: str = "") -> int:
    """`value` as an int >= `minimum`; TypeError for a non-integer, ValueError below `minimum`."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, float):
        raise TypeError(f"{name} must be a whole number, got {value!r} ({type(value).__name__}){hint}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be a whole number, got {value!r} ({type(value).__name__}){hint}") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}{hint}")
    return number


def _optional_count(name: str, value, what: str) -> int | None:
    if value is None:
        return None
    return _whole(name, value, 1, f"; give a positive number of {what}, or None for all of them")


def _flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def _device(device) -> torch.device:
    if device is None:
        return torch.device("cpu")
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(
            f"device must be a torch.device, a string such as 'cpu' or 'cuda', or None; "
            f"got {device!r} ({type(device).__name__})"
        )
    try:
        return torch.device(device)
    except RuntimeError:
        raise ValueError(f"device {device!r} is not a device torch knows; use e.g. 'cpu', 'cuda' or 'mps'") from None


# ---------------------------------------------------------------------------------------------
# The loader.
# ---------------------------------------------------------------------------------------------


class TensorLoader:
    """Batches from a split held in memory as one uint8 tensor.

    images: uint8 (N, C, H, W); labels: integer (N,). Each batch is returned as
    (float32 (B, C, H, W) normalised with `mean`/`std`, labels (B,)) on `device`, B <= `batch_size`.
    With ``shuffle=True`` each pass draws a new order from a generator seeded with `seed`, so the
    sequence of epochs is the same on every run. On CUDA the source is pinned and copied with
    ``non_blocking=True``. ``len(loader)`` is the number of batches, ``loader.num_samples`` N.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int = 128,
        shuffle: bool = False,
        seed: int = 0,
        mean: float = 0.0,
        std: float = 1.0,
        device: torch.device | str | None = None,
        drop_last: bool = False,
    ):
        if not isinstance(images, torch.Tensor):
            raise TypeError(
                f"images must be a uint8 torch.Tensor (N, C, H, W), got {type(images).__name__}; "
                f"convert an array with torch.from_numpy(array)"
            )
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if not isinstance(labels, torch.Tensor):
            raise TypeError(f"labels must be an integer torch.Tensor (N,), got {type(labels).__name__}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"labels must be (N,) with N={len(images)}, got {tuple(labels.shape)}")
        if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
            raise ValueError(
                f"labels must hold integer class indices, got dtype {labels.dtype}; convert them with labels.long()"
            )
        batch_size = _whole("batch_size", batch_size)
        seed = _whole("seed", seed, minimum=None)
        for name, value in (("mean", mean), ("std", std)):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.floating, np.integer))
                or not math.isfinite(value)
            ):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if std <= 0:
            raise ValueError(f"std must be positive (it divides the pixels), got {std!r}")
        self.device = _device(device)
        self.images, self.labels = images, labels
        if self.device.type == "cuda":
            self.images, self.labels = images.pin_memory(), labels.pin_memory()
        self.batch_size = batch_size
        self.shuffle, self.drop_last = _flag("shuffle", shuffle), _flag("drop_last", drop_last)
        self.mean, self.std = float(mean), float(std)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.images)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_samples(self) -> int:
        return len(self.images)

    def __iter__(self):
        n = len(self.images)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        non_blocking = self.device.type == "cuda"
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            idx = order[start : start + self.batch_size]
            x = self.images[idx].to(self.device, non_blocking=non_blocking)
            y = self.labels[idx].to(self.device, non_blocking=non_blocking)
            # scale to [0, 1] and standardise in one fused step: (x/255 - mean) / std
            x = x.float().mul_(1.0 / (255.0 * self.std)).sub_(self.mean / self.std)
            yield x, y


class Batches:
    """Exactly `count` batches of `loader`, starting a new pass over it whenever one ends.

    A training budget in steps rather than whole epochs: ``fit(model, Batches(train, 600), ...)``
    with ``epochs=1`` trains 600 steps -- 1.4 passes over a 430-batch loader. Each new pass is a new
    iteration of `loader` (a shuffling `TensorLoader` draws a new order). ``len()`` is `count`, so
    one-cycle schedules see the right number of steps. Other attributes (``batch_size``,
    ``num_samples``, ...) are the wrapped loader's.
    """

    def __init__(self, loader, count: int):
        if loader is None or not hasattr(loader, "__iter__") or isinstance(loader, (torch.Tensor, str)):
            raise TypeError(f"loader must be an iterable of (x, y) batches, got {type(loader).__name__}")
        self.loader, self.count = loader, _whole("count", count)

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        given = 0
        while given < self.count:
            empty = True
            for batch in self.loader:
                empty = False
                yield batch
                given += 1
                if given == self.count:
                    return
            if empty:
                raise ValueError("Batches: the wrapped loader yielded no batches; it cannot fill the budget")

    def __getattr__(self, name):  # batch_size, num_samples, ... of the wrapped loader
        if name.startswith("_") or name in ("loader", "count"):
            raise AttributeError(name)
        return getattr(self.loader, name)


# ---------------------------------------------------------------------------------------------
# Splits.
# ---------------------------------------------------------------------------------------------


class Splits(NamedTuple):
    """The three loaders of a training run: fit on `train`, select on `val`, report `test` once."""

    train: TensorLoader
    val: TensorLoader
    test: TensorLoader


def holdout(images: torch.Tensor, labels: torch.Tensor, size: int, seed: int = 0):
    """Hold `size` seeded random samples out of (images (N, ...), labels (N,)).

    Returns ``((rest_images, rest_labels), (held_images, held_labels))``: N - size and `size`
    samples, disjoint, each in the original order. The same `seed` holds out the same samples.
    """
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError(
            f"images and labels must be torch tensors, got {type(images).__name__} and "
            f"{type(labels).__name__}; convert arrays with torch.from_numpy(array)"
        )
    if images.ndim == 0 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"images (N, ...) and labels (N,) must have the same N, got shapes "
            f"{tuple(images.shape)} and {tuple(labels.shape)}"
        )
    size = _whole("size", size)
    seed = _whole("seed", seed, minimum=None)
    if size >= len(images):
        raise ValueError(
            f"size={size} must be smaller than the {len(images)} samples, so that some are left; hold out fewer"
        )
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    held, rest = order[:size].sort().values, order[size:].sort().values
    return (images[rest], labels[rest]), (images[held], labels[held])


def tensor_loaders(
    key: str,
    batch_size: int = 128,
    train_subset: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> tuple[TensorLoader, TensorLoader]:
    """(train, test) `TensorLoader`s for 'mnist' or 'fashion_mnist', normalised with the training
    statistics. Batches: float32 (B, 1, 28, 28), int64 (B,); the test loader serves 1,000 at a
    time, in order. `train_subset` keeps a seeded random subset of that many training images (all
    of them when it is None or at least their number). For a validation split use `tensor_splits`.
    """
    spec = idx_spec(key)
    batch_size = _whole("batch_size", batch_size)
    train_subset = _optional_count("train_subset", train_subset, "training images")
    seed = _whole("seed", seed, minimum=None)
    device = _device(device)
    x_train, y_train = load_idx(key, train=True)
    x_test, y_test = load_idx(key, train=False)
    if train_subset is not None and train_subset < len(x_train):
        keep = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed))[:train_subset]
        x_train, y_train = x_train[keep], y_train[keep]
    train = TensorLoader(
        x_train, y_train, batch_size, shuffle=True, seed=seed, mean=spec.mean, std=spec.std, device=device
    )
    test = TensorLoader(x_test, y_test, 1000, shuffle=False, mean=spec.mean, std=spec.std, device=device)
    return train, test


def tensor_splits(
    key: str,
    batch_size: int = 128,
    train_subset: int | None = None,
    val_size: int = 5000,
    test_subset: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    eval_batch_size: int = 1000,
) -> Splits:
    """`Splits(train, val, test)` of 'mnist' or 'fashion_mnist', normalised with the training statistics.

    val: `val_size` training images chosen by a permutation seeded with `seed` -- the same images
    for a seed, whatever `train_subset` is; train: the other training images (a seeded random
    `train_subset` of them if given), shuffled each epoch; test: the test split (its first
    `test_subset` images if given), never shuffled. Batches are float32 (B, 1, 28, 28) and
    int64 (B,), `batch_size` for train and `eval_batch_size` for val and test.
    """
    spec = idx_spec(key)
    batch_size = _whole("batch_size", batch_size)
    eval_batch_size = _whole("eval_batch_size", eval_batch_size)
    val_size = _whole(
        "val_size",
        val_size,
        1,
        "; hold out a positive number of training images (use tensor_loaders for no validation split)",
    )
    train_subset = _optional_count("train_subset", train_subset, "training images")
    test_subset = _optional_count("test_subset", test_subset, "test images")
    seed = _whole("seed", seed, minimum=None)
    device = _device(device)

    x, y = load_idx(key, train=True)
    if val_size >= len(x):
        raise ValueError(
            f"val_size={val_size} must be smaller than the {len(x):,} training images of {key}, "
            f"so that some are left to train on"
        )
    (x_train, y_train), (x_val, y_val) = holdout(x, y, val_size, seed)
    if train_subset is not None:
        if train_subset > len(x_train):
            raise ValueError(
                f"train_subset={train_subset} is more than the {len(x_train):,} training images left "
                f"after holding out val_size={val_size}; use at most {len(x_train)}, or None for all"
            )
        keep = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed))[:train_subset]
        x_train, y_train = x_train[keep.sort().values], y_train[keep.sort().values]
    x_test, y_test = load_idx(key, train=False)
    if test_subset is not None:
        if test_subset > len(x_test):
            raise ValueError(
                f"test_subset={test_subset} is more than the {len(x_test):,} test images of {key}; "
                f"use at most {len(x_test)}, or None for all"
            )
        x_test, y_test = x_test[:test_subset], y_test[:test_subset]
    common = dict(mean=spec.mean, std=spec.std, device=device)
    return Splits(
        train=TensorLoader(x_train, y_train, batch_size, shuffle=True, seed=seed, **common),
        val=TensorLoader(x_val, y_val, eval_batch_size, shuffle=False, **common),
        test=TensorLoader(x_test, y_test, eval_batch_size, shuffle=False, **common),
    )
