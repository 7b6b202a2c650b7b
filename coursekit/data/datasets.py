"""The datasets as a notebook uses them: whole splits as tensors, torchvision views, facts.

- `load_idx(key, train)`: a whole MNIST / Fashion-MNIST split in memory, uint8 (N, 1, 28, 28)
  and int64 (N,) -- the fast path for training on a CPU (no per-image PIL conversion);
- `mnist()`, `fashion_mnist()`: torchvision's datasets over the verified files (per-sample PIL);
- `hymenoptera()`: the ants/bees set as two `ImageFolder`s, placeholders left out;
- `classes(key)`, `normalization(key)`: class names and training-set (mean, std).

Every function prepares (and verifies) the files first; see `coursekit.data.prepare`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from .catalog import idx_spec
from .locations import data_dir
from .prepare import prepare_hymenoptera, prepare_idx

# IDX type codes (LeCun's format) -> NumPy dtypes (big-endian for the multi-byte ones).
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse one uncompressed IDX file (LeCun's format) into a NumPy array of its stored shape.

    Header: two zero bytes, a type code, the number of dimensions, then each dimension as a
    4-byte big-endian integer; then the values. Raises FileNotFoundError naming a missing file and
    ValueError naming a file that is not IDX, has an unknown type code or holds fewer or more
    bytes than its header announces (truncated or padded).
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an IDX file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such IDX file")
    raw = path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number: it must start with two zero bytes)")
    if raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path} is not an IDX file: unknown type code {raw[2]:#04x} "
            f"(known: {', '.join(f'{c:#04x}' for c in _IDX_DTYPES)})"
        )
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: {len(raw)} bytes, shorter than its {header}-byte header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path} holds {len(raw):,} bytes but its header announces shape {shape} "
            f"({expected:,} bytes): the file is truncated or corrupted; delete it and prepare it again"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def load_idx(key: str, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole split of `key` ('mnist' | 'fashion_mnist') in memory.

    Returns images uint8 (N, 1, 28, 28) and labels int64 (N,); N = 60,000 for ``train=True``,
    10,000 for the test split. The files are verified once per process.
    """
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be True (training split) or False (test split), got {train!r}")
    raw = prepare_idx(key)
    prefix = "train" if train else "t10k"
    images = read_idx(raw / f"{prefix}-images-idx3-ubyte")
    labels = read_idx(raw / f"{prefix}-labels-idx1-ubyte")
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{raw}: the {prefix} images have shape {images.shape} and the labels {labels.shape}; "
            f"expected (N, H, W) and (N,)"
        )
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def classes(key: str) -> tuple:
    """The class names of dataset `key`, in label order (10 for both IDX datasets)."""
    return idx_spec(key).classes


def normalization(key: str) -> tuple[float, float]:
    """Training-set (mean, std) of dataset `key`'s pixels scaled to [0, 1]."""
    spec = idx_spec(key)
    return spec.mean, spec.std


def mnist(train: bool = True, transform=None):
    """torchvision's `MNIST` over the verified files in ``data/`` (per-sample PIL pipeline)."""
    import torchvision.datasets as tvd

    prepare_idx("mnist")
    return tvd.MNIST(str(data_dir()), train=train, transform=transform, download=False)


def fashion_mnist(train: bool = True, transform=None):
    """torchvision's `FashionMNIST` over the verified files in ``data/``."""
    import torchvision.datasets as tvd

    prepare_idx("fashion_mnist")
    return tvd.FashionMNIST(str(data_dir()), train=train, transform=transform, download=False)


def is_photo(path: str | os.PathLike) -> bool:
    """Whether `path` is a JPEG photograph (the ants/bees set's only real format).

    The training set holds one placeholder, ``train/ants/imageNotFound.gif``: a grey 300x300 GIF
    reading "We're sorry, this image could not be found" -- a web page's stand-in, not an insect.
    It is a valid image, so ImageFolder would happily label it "ants"; this filter keeps it out.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.format == "JPEG"
    except (OSError, UnidentifiedImageError):
        return False


def hymenoptera(train_transform=None, val_transform=None, keep_placeholders: bool = False):
    """The ants/bees set as two torchvision `ImageFolder`s: (train, val), classes ants=0, bees=1.

    Files that are not JPEG photos (the placeholder GIF, anything unreadable) are left out unless
    `keep_placeholders`; each dataset lists what it left out in ``.excluded`` (paths relative to
    the data root, e.g. ``'train/ants/imageNotFound.gif'``), so a notebook can show it.
    """
    from torchvision.datasets import ImageFolder

    root = prepare_hymenoptera()
    splits = []
    for split, transform in (("train", train_transform), ("val", val_transform)):
        excluded = []

        def accept(path, _excluded=excluded):
            if keep_placeholders or is_photo(path):
                return True
            _excluded.append(Path(path).relative_to(root).as_posix())
            return False

        dataset = ImageFolder(str(root / split), transform, is_valid_file=accept)
        dataset.excluded = sorted(excluded)
        splits.append(dataset)
    return tuple(splits)
