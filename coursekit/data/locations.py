"""Where datasets live: the prepared folder ``data/`` and the optional local mirror.

- ``COURSEKIT_DATA_DIR`` (`DATA_DIR_ENV`): the folder datasets are prepared into; default
  ``<project>/data``.
- ``COURSEKIT_DATA_MIRROR`` (`MIRROR_ENV`): a read-only folder in torchvision's root layout
  (``MNIST/raw/*.gz``, ``FashionMNIST/raw/*.gz``, ``hymenoptera_data/{train,val}/...``) that is
  used before any download.
"""

from __future__ import annotations

import os
from pathlib import Path

MIRROR_ENV = "COURSEKIT_DATA_MIRROR"
DATA_DIR_ENV = "COURSEKIT_DATA_DIR"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The folder datasets are prepared into: ``COURSEKIT_DATA_DIR`` or ``<project>/data``."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else PROJECT_ROOT / "data"


def mirror_dir() -> Path | None:
    """The local mirror named by ``COURSEKIT_DATA_MIRROR``, or None when it is not set."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    return Path(value).expanduser() if value else None
