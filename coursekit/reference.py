"""PyTorch as the referee: the operations of `coursekit.ops`, computed by ``torch.nn.functional``.

The notebooks compute every worked example twice — once with the NumPy code they teach, once
with PyTorch — and assert that the two agree. These adapters hand small NumPy arrays to PyTorch
as a batch of one single-channel image, in float64 so integer examples stay exact, and return
NumPy arrays again.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _as_batch(a) -> torch.Tensor:
    """(H, W) array-like -> float64 tensor (1, 1, H, W)."""
    return torch.as_tensor(np.asarray(a, dtype=np.float64))[None, None]


def corr2d(x, k, padding=0, stride=1) -> np.ndarray:
    """``F.conv2d`` (a cross-correlation) of x (H, W) with k (kh, kw) -> float64 (H', W')."""
    return F.conv2d(_as_batch(x), _as_batch(k), padding=padding, stride=stride)[0, 0].numpy()


def pool2d(x, size, stride=None, mode: str = "max") -> np.ndarray:
    """``F.max_pool2d`` / ``F.avg_pool2d`` of x (H, W) -> float64 (H', W').

    torch has no sum pooling; ``mode="sum"`` is the average times the window area.
    """
    t = _as_batch(x)
    if mode == "max":
        return F.max_pool2d(t, size, stride)[0, 0].numpy()
    if mode not in ("avg", "sum"):
        raise ValueError(f"mode must be 'max', 'avg' or 'sum', got {mode!r}")
    area = size * size if isinstance(size, int) else size[0] * size[1]
    return F.avg_pool2d(t, size, stride)[0, 0].numpy() * (area if mode == "sum" else 1)
