"""Synthetic scenes for detection and segmentation: digits pasted on a larger canvas.

A scene is a ``size x size`` black canvas with 1 to 4 (``objects``) MNIST or Fashion-MNIST images
pasted at random positions and scales, together with what a detector and a segmenter must learn:

- a **box** per object: ``(x0, y0, x1, y1)`` in pixels (see `coursekit.boxes`), the tightest box
  around the object's *ink* -- its pixels at least `INK` (128) bright after resizing;
- its **label**, the digit's class 0..9;
- a **mask** per scene: 0 for background, class + 1 on every ink pixel of an object.

How a scene is made, all draws from one NumPy generator seeded with ``(seed, train)``:

1. the number of objects, uniform in ``objects = (lo, hi)`` (both included);
2. per object: a random image of the split (the training split for ``train=True``, the test split
   otherwise, so held-out scenes share no digit with training scenes), cropped to its non-zero
   pixels and resized by a factor uniform in ``scale`` with bilinear interpolation written out in
   float64 NumPy (every operation exactly rounded, so the result is the same on every machine for
   the same library versions);
3. a random position, redrawn until the object's box overlaps every box already placed by an IoU
   of at most ``max_overlap`` (default 0.1: objects may touch, not hide each other); after
   `MAX_ATTEMPTS` failed positions the object is left out (the scene gets one fewer);
4. pasting keeps the brighter pixel (``max``); a pixel of the mask belongs to the object whose ink
   is brightest there.

`make_scenes` builds scenes in memory; `cached_scenes` stores them under
``data_dir()/"scenes"/`` (never committed) and reloads them, checking them first. `SceneLoader`,
`detection_loader` and `segmentation_loader` feed them to `coursekit.train.fit`.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ..boxes import encode_targets
from ..files import atomic_path, remove_stale_partials
from .catalog import idx_spec
from .datasets import load_idx
from .loaders import TensorLoader
from .locations import data_dir

__all__ = [
    "FORMAT_VERSION",
    "INK",
    "MAX_ATTEMPTS",
    "Scenes",
    "SceneLoader",
    "cached_scenes",
    "detection_loader",
    "make_scenes",
    "resize_bilinear",
    "scene_cache_path",
    "segmentation_loader",
]

FORMAT_VERSION = 1  # part of every cache key: bump it when the way scenes are made changes
INK = 128  # a pasted pixel at least this bright belongs to the object (its box and its mask)
MAX_ATTEMPTS = 50  # positions tried per object before it is left out
SOURCE_SIDE = 28  # MNIST and Fashion-MNIST images are 28 x 28


class Scenes(NamedTuple):
    """N scenes of ``size x size`` pixels; the i-th object lists have one entry per scene.

    images: uint8 (N, 1, S, S); boxes: list of N float32 (k_i, 4) xyxy pixel boxes; labels: list
    of N int64 (k_i,) classes; masks: uint8 (N, S, S), 0 background and class + 1 on an object's
    ink; source_index: list of N int64 (k_i,), each object's index in its split of the dataset.
    (``len(scenes)`` is the number of fields, as for any tuple: count scenes with ``len(scenes.images)``.)
    """

    images: torch.Tensor
    boxes: list
    labels: list
    masks: torch.Tensor
    source_index: list

    def take(self, count: int) -> Scenes:
        """The first `count` scenes (all of them if there are fewer)."""
        count = _whole("count", count, minimum=0)
        return Scenes(
            self.images[:count],
            self.boxes[:count],
            self.labels[:count],
            self.masks[:count],
            self.source_index[:count],
        )

    def targets(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(boxes (k_i, 4), labels (k_i,)) per scene: the ground truth `boxes.mean_average_precision` takes."""
        return list(zip(self.boxes, self.labels, strict=True))


# ---------------------------------------------------------------------------------------------
# Arguments.
# ---------------------------------------------------------------------------------------------


def _whole(name: str, value, minimum: int | None = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _pair(name: str, value) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}")
    return tuple(value)


def _arguments(source, n, size, objects, scale, seed, train, max_overlap) -> dict:
    """All arguments checked and in canonical form (plain ints, floats and a bool): the cache key's input."""
    if not isinstance(source, str):
        raise TypeError(f"source must be a dataset name such as 'mnist' or 'fashion_mnist', got {source!r}")
    idx_spec(source)  # UnknownName listing the datasets for a wrong name
    n = _whole("n", n)
    size = _whole("size", size)
    lo, hi = (_whole(f"objects[{i}]", v, minimum=0) for i, v in enumerate(_pair("objects", objects)))
    if lo > hi:
        raise ValueError(f"objects must be (fewest, most) with fewest <= most, got {objects!r}")
    s_lo, s_hi = _pair("scale", scale)
    for i, v in enumerate((s_lo, s_hi)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"scale[{i}] must be a finite number > 0 (a resizing factor), got {v!r}")
    if s_lo > s_hi:
        raise ValueError(f"scale must be (smallest, largest) with smallest <= largest, got {scale!r}")
    if round(SOURCE_SIDE * s_hi) > size:
        raise ValueError(
            f"scale up to {s_hi} makes a {SOURCE_SIDE}-pixel image {round(SOURCE_SIDE * s_hi)} pixels wide, more "
            f"than the canvas (size={size}); use a larger size or a scale of at most {size / SOURCE_SIDE:.2f}"
        )
    seed = _whole("seed", seed, minimum=0)
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be True (training split) or False (test split), got {train!r}")
    if isinstance(max_overlap, bool) or not isinstance(max_overlap, numbers.Real) or not 0 <= max_overlap <= 1:
        raise ValueError(f"max_overlap must be an IoU in [0, 1], got {max_overlap!r}")
    return dict(
        source=source,
        n=n,
        size=size,
        objects=[lo, hi],
        scale=[float(s_lo), float(s_hi)],
        seed=seed,
        train=bool(train),
        max_overlap=float(max_overlap),
    )


# ---------------------------------------------------------------------------------------------
# Making scenes.
# ---------------------------------------------------------------------------------------------


def _taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear sampling along one axis (pixel centres aligned, as ``align_corners=False``):
    for each output pixel, the two input pixels it reads and the weight of the second."""
    centres = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    first = np.floor(centres).astype(np.intp)
    second = np.minimum(first + 1, n_in - 1)
    return first, second, centres - first


def resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 (h, w) -> uint8 (height, width), bilinear, in float64, rounded half to even."""
    pixels = image.astype(np.float64)
    r0, r1, wr = _taps(image.shape[0], height)
    c0, c1, wc = _taps(image.shape[1], width)
    rows = pixels[r0] * (1 - wr)[:, None] + pixels[r1] * wr[:, None]  # (height, w)
    out = rows[:, c0] * (1 - wc) + rows[:, c1] * wc  # (height, width)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _crop(image: np.ndarray) -> np.ndarray:
    """The image cut to the rows and columns that hold a non-zero pixel."""
    rows, cols = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
    if len(rows) == 0:
        return image
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _ink_box(patch: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the patch's ink pixels, edges exclusive; None without ink."""
    ink = patch >= INK
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if len(rows) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _iou(a: tuple, b: tuple) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _generate(args: dict) -> Scenes:
    pool, pool_labels = load_idx(args["source"], train=args["train"])
    pool, pool_labels = pool[:, 0].numpy(), pool_labels.numpy()
    size, (lo, hi), (s_lo, s_hi) = args["size"], args["objects"], args["scale"]
    rng = np.random.default_rng([args["seed"], int(args["train"])])
    images = np.zeros((args["n"], size, size), dtype=np.uint8)
    masks = np.zeros((args["n"], size, size), dtype=np.uint8)
    all_boxes, all_labels, all_sources = [], [], []
    for i in range(args["n"]):
        canvas, mask = images[i], masks[i]
        boxes, labels, sources = [], [], []
        for _ in range(int(rng.integers(lo, hi + 1))):
            index = int(rng.integers(0, len(pool)))
            factor = float(rng.uniform(s_lo, s_hi))
            crop = _crop(pool[index])
            patch = resize_bilinear(crop, max(1, round(crop.shape[0] * factor)), max(1, round(crop.shape[1] * factor)))
            ink = _ink_box(patch)
            if ink is None:
                continue
            ph, pw = patch.shape
            for _attempt in range(MAX_ATTEMPTS):
                x, y = int(rng.integers(0, size - pw + 1)), int(rng.integers(0, size - ph + 1))
                box = (ink[0] + x, ink[1] + y, ink[2] + x, ink[3] + y)
                if all(_iou(box, other) <= args["max_overlap"] for other in boxes):
                    break
            else:
                continue  # no room for it
            region = canvas[y : y + ph, x : x + pw]
            owns = (patch >= INK) & (patch > region)  # its ink, where it is the brightest
            mask[y : y + ph, x : x + pw][owns] = pool_labels[index] + 1
            np.maximum(region, patch, out=region)
            boxes.append(box)
            labels.append(int(pool_labels[index]))
            sources.append(index)
        all_boxes.append(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
        all_labels.append(torch.tensor(labels, dtype=torch.int64))
        all_sources.append(torch.tensor(sources, dtype=torch.int64))
    return Scenes(torch.from_numpy(images).unsqueeze(1), all_boxes, all_labels, torch.from_numpy(masks), all_sources)


def make_scenes(
    source: str,
    n: int,
    size: int = 96,
    objects=(1, 4),
    scale=(1.0, 2.0),
    seed: int = 0,
    train: bool = True,
    max_overlap: float = 0.1,
) -> Scenes:
    """`n` scenes of ``size x size`` pixels with ``objects`` = (fewest, most) images of `source`
    ('mnist' or 'fashion_mnist') each, resized by a factor in ``scale`` = (smallest, largest).

    Objects come from the training split for ``train=True`` and from the test split otherwise.
    The same arguments give the same scenes (see the module docstring for how they are drawn).
    Returns `Scenes` (images uint8 (N, 1, S, S), boxes, labels, masks uint8 (N, S, S),
    source_index). Bad arguments raise TypeError/ValueError naming them; an unknown `source`
    raises `coursekit.errors.UnknownName`.
    """
    return _generate(_arguments(source, n, size, objects, scale, seed, train, max_overlap))


# ---------------------------------------------------------------------------------------------
# The cache.
# ---------------------------------------------------------------------------------------------


def _key(args: dict) -> str:
    text = json.dumps({"format": FORMAT_VERSION, **args}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def scene_cache_path(
    source: str,
    n: int,
    size: int = 96,
    objects=(1, 4),
    scale=(1.0, 2.0),
    seed: int = 0,
    train: bool = True,
    max_overlap: float = 0.1,
    directory: str | os.PathLike | None = None,
) -> Path:
    """Where `cached_scenes` keeps these scenes: ``<directory>/<source>-<split>-<n>-<key>.pt``.

    directory defaults to ``data_dir()/"scenes"``; key is 16 hex digits of a sha256 over every
    argument and `FORMAT_VERSION`, so different arguments never share a file.
    """
    args = _arguments(source, n, size, objects, scale, seed, train, max_overlap)
    folder = Path(directory) if directory is not None else data_dir() / "scenes"
    split = "train" if args["train"] else "test"
    return folder / f"{args['source']}-{split}-{args['n']}-{_key(args)}.pt"


def _digest(tensors: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(tensors[name].contiguous().numpy().tobytes())
    return h.hexdigest()


def _pack(scenes: Scenes, args: dict) -> dict:
    tensors = {
        "images": scenes.images,
        "masks": scenes.masks,
        "boxes": torch.cat(scenes.boxes) if scenes.boxes else torch.zeros(0, 4),
        "labels": torch.cat(scenes.labels) if scenes.labels else torch.zeros(0, dtype=torch.int64),
        "source_index": torch.cat(scenes.source_index) if scenes.source_index else torch.zeros(0, dtype=torch.int64),
        "counts": torch.tensor([len(b) for b in scenes.boxes], dtype=torch.int64),
    }
    return {"format": FORMAT_VERSION, "args": json.dumps(args, sort_keys=True), "digest": _digest(tensors), **tensors}


def _unpack(payload, args: dict) -> Scenes:
    """Scenes from a loaded file, or ValueError saying what is wrong with it."""
    if not isinstance(payload, dict):
        raise ValueError(f"holds {type(payload).__name__}, not a dict of scenes")
    if payload.get("format") != FORMAT_VERSION or payload.get("args") != json.dumps(args, sort_keys=True):
        raise ValueError("was made by another format version or with other arguments")
    names = ("images", "masks", "boxes", "labels", "source_index", "counts")
    if any(not isinstance(payload.get(name), torch.Tensor) for name in names):
        raise ValueError("misses some of the tensors")
    tensors = {name: payload[name] for name in names}
    if _digest(tensors) != payload.get("digest"):
        raise ValueError("does not match its checksum (changed or damaged)")
    n, size, counts = args["n"], args["size"], tensors["counts"]
    total = int(counts.sum())
    expected = {
        "images": ((n, 1, size, size), torch.uint8),
        "masks": ((n, size, size), torch.uint8),
        "boxes": ((total, 4), torch.float32),
        "labels": ((total,), torch.int64),
        "source_index": ((total,), torch.int64),
        "counts": ((n,), torch.int64),
    }
    for name, (shape, dtype) in expected.items():
        if tuple(tensors[name].shape) != shape or tensors[name].dtype != dtype:
            raise ValueError(f"has {name} of shape {tuple(tensors[name].shape)} {tensors[name].dtype}, not {shape}")
    sizes = counts.tolist()
    return Scenes(
        tensors["images"],
        list(tensors["boxes"].split(sizes)),
        list(tensors["labels"].split(sizes)),
        tensors["masks"],
        list(tensors["source_index"].split(sizes)),
    )


def cached_scenes(
    source: str,
    n: int,
    size: int = 96,
    objects=(1, 4),
    scale=(1.0, 2.0),
    seed: int = 0,
    train: bool = True,
    max_overlap: float = 0.1,
    directory: str | os.PathLike | None = None,
) -> Scenes:
    """`make_scenes` with the same arguments, kept in a file (`scene_cache_path`) between runs.

    A file is used only if it loads (``torch.load(weights_only=True)``), was made with these very
    arguments and format version, matches the sha256 stored in it and has the expected shapes and
    dtypes; otherwise the scenes are made again and the file replaced (with a warning saying why).
    Files are written atomically (`coursekit.files.atomic_path`), so a run killed while writing
    leaves no half file behind.
    """
    args = _arguments(source, n, size, objects, scale, seed, train, max_overlap)
    path = scene_cache_path(**args, directory=directory)
    if path.exists():
        try:
            return _unpack(torch.load(path, map_location="cpu", weights_only=True), args)
        except Exception as error:  # an unreadable file of any kind: make the scenes again
            warnings.warn(f"{path} {error}; making the scenes again", RuntimeWarning, stacklevel=2)
    scenes = _generate(args)
    remove_stale_partials(path.parent)
    with atomic_path(path) as tmp:
        torch.save(_pack(scenes, args), tmp)
    return scenes


# ---------------------------------------------------------------------------------------------
# Batches.
# ---------------------------------------------------------------------------------------------


class SceneLoader(TensorLoader):
    """Batches of (images float32 (B, C, S, S), targets (B, ...)) from uint8 images and any targets.

    Like `TensorLoader` (shuffling seeded per pass, ``(x/255 - mean) / std``; the default mean 0
    and std 1 give pixels in [0, 1]), except that the targets may have any shape after the
    first dimension: detection maps (N, 6, G, G) or masks (N, S, S). Integer targets are stored as
    they are (uint8 masks take 1 byte a pixel) and returned as int64, what ``F.cross_entropy`` wants.
    """

    def __init__(
        self,
        images: torch.Tensor,
        targets: torch.Tensor,
        batch_size: int = 64,
        shuffle: bool = False,
        seed: int = 0,
        mean: float = 0.0,
        std: float = 1.0,
        device: torch.device | str | None = None,
        drop_last: bool = False,
    ):
        count = len(images) if isinstance(images, torch.Tensor) and images.ndim else 0
        placeholder = torch.zeros(count, dtype=torch.int64)  # TensorLoader checks everything but the targets
        super().__init__(images, placeholder, batch_size, shuffle, seed, mean, std, device, drop_last)
        if not isinstance(targets, torch.Tensor):
            raise TypeError(f"targets must be a torch.Tensor (N, ...), got {type(targets).__name__}")
        if targets.ndim == 0 or len(targets) != len(images):
            raise ValueError(f"targets must have shape (N, ...) with N={len(images)}, got {tuple(targets.shape)}")
        if targets.dtype == torch.bool or targets.is_complex():
            raise ValueError(f"targets must be integer or float, got {targets.dtype}")
        self.labels = targets.pin_memory() if self.device.type == "cuda" else targets

    def __iter__(self):
        integer = not self.labels.dtype.is_floating_point
        for x, y in super().__iter__():
            yield x, (y.long() if integer else y)


def detection_loader(
    scenes: Scenes,
    grid: int,
    num_classes: int = 10,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> SceneLoader:
    """Batches (images (B, 1, S, S) in [0, 1], targets float32 (B, 6, grid, grid)) for a grid detector.

    The targets are `coursekit.boxes.encode_targets` of the scenes' boxes and labels, encoded once.
    """
    if not isinstance(scenes, Scenes):
        raise TypeError(f"scenes must be Scenes (from make_scenes or cached_scenes), got {type(scenes).__name__}")
    size = scenes.images.shape[-1]
    targets = encode_targets(scenes.boxes, scenes.labels, grid, size, num_classes)
    return SceneLoader(scenes.images, targets, batch_size, shuffle, seed, device=device)


def segmentation_loader(
    scenes: Scenes,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> SceneLoader:
    """Batches (images (B, 1, S, S) in [0, 1], masks int64 (B, S, S)) for a segmenter: 0 background, class + 1."""
    if not isinstance(scenes, Scenes):
        raise TypeError(f"scenes must be Scenes (from make_scenes or cached_scenes), got {type(scenes).__name__}")
    return SceneLoader(scenes.images, scenes.masks, batch_size, shuffle, seed, device=device)
