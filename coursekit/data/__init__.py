"""Datasets: find them, verify them, and feed them to a model fast.

One concept per module:

- `coursekit.data.locations`  where data lives: ``data/`` (`data_dir`) and the mirror (`mirror_dir`)
- `coursekit.data.catalog`    what the datasets are: files, checksums, sizes, statistics, classes
- `coursekit.data.prepare`    fetching and verifying them into ``data/`` (mirror, download, zip)
- `coursekit.data.datasets`   whole splits as tensors (`load_idx`), torchvision views, facts
- `coursekit.data.loaders`    in-memory batches: `TensorLoader`, `tensor_loaders`, `tensor_splits`, `Batches`
- `coursekit.data.scenes`     synthetic scenes of pasted digits with boxes and masks (detection,
                              segmentation): `make_scenes`, `cached_scenes`, `SceneLoader`
- ``python -m coursekit.data prepare [mnist fashion_mnist hymenoptera]``: the command line

Everything a notebook needs is importable from here, e.g.
``from coursekit.data import tensor_splits, load_idx, normalization, classes``.
Atomic file writing and hashing live in `coursekit.files` (`write_json` is re-exported here).
"""

from __future__ import annotations

from ..files import write_json
from .catalog import (
    DEFAULT_IDX_CAP,
    HYMENOPTERA_MANIFEST,
    HYMENOPTERA_MAX_BYTES,
    HYMENOPTERA_PAYLOAD_BYTES,
    HYMENOPTERA_URL,
    IDX_DATASETS,
    IdxDataset,
    idx_spec,
    read_manifest,
)
from .datasets import classes, fashion_mnist, hymenoptera, is_photo, load_idx, mnist, normalization, read_idx
from .loaders import Batches, Splits, TensorLoader, holdout, tensor_loaders, tensor_splits
from .locations import DATA_DIR_ENV, MIRROR_ENV, PROJECT_ROOT, data_dir, mirror_dir
from .prepare import (
    DATA_ERRORS,
    PREPARERS,
    ChecksumMismatch,
    CorruptArchive,
    DatasetUnavailable,
    UnsafeArchive,
    UnsafeLink,
    UnsafeSource,
    forget_verified,
    main,
    prepare_hymenoptera,
    prepare_idx,
    safe_extract,
    verify_manifest,
)
from .scenes import (
    SceneLoader,
    Scenes,
    cached_scenes,
    detection_loader,
    make_scenes,
    scene_cache_path,
    segmentation_loader,
)

__all__ = [
    "ChecksumMismatch",
    "CorruptArchive",
    "DATA_DIR_ENV",
    "DATA_ERRORS",
    "DEFAULT_IDX_CAP",
    "DatasetUnavailable",
    "HYMENOPTERA_MANIFEST",
    "HYMENOPTERA_MAX_BYTES",
    "HYMENOPTERA_PAYLOAD_BYTES",
    "HYMENOPTERA_URL",
    "IDX_DATASETS",
    "IdxDataset",
    "MIRROR_ENV",
    "PREPARERS",
    "PROJECT_ROOT",
    "SceneLoader",
    "Scenes",
    "Splits",
    "TensorLoader",
    "Batches",
    "UnsafeArchive",
    "UnsafeLink",
    "UnsafeSource",
    "cached_scenes",
    "classes",
    "data_dir",
    "detection_loader",
    "fashion_mnist",
    "forget_verified",
    "holdout",
    "hymenoptera",
    "idx_spec",
    "is_photo",
    "load_idx",
    "main",
    "make_scenes",
    "mirror_dir",
    "mnist",
    "normalization",
    "prepare_hymenoptera",
    "prepare_idx",
    "read_idx",
    "read_manifest",
    "safe_extract",
    "scene_cache_path",
    "segmentation_loader",
    "tensor_loaders",
    "tensor_splits",
    "verify_manifest",
    "write_json",
]
