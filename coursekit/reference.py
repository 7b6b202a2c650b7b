"""PyTorch as the referee: the operations of `coursekit.ops`, computed by ``torch.nn.functional``.

The notebooks compute every worked example twice — once with the NumPy code they teach, once
with PyTorch — and assert that the two agree; the property tests do the same on random shapes,
paddings, strides and dtypes. These adapters hand NumPy arrays (or nested lists, or tensors) to
PyTorch as a batch, in float64, and return float64 NumPy arrays again.

* **Values**: float64 is exact for integer inputs as long as every sum stays below 2**53 (about
  9e15), which covers uint8 images and the course's examples; compare with `coursekit.ops`,
  whose integer results are int64, by value (``np.array_equal`` does).
* **Arguments** are checked by the same validation layer as `coursekit.ops` (`ops.as_array`,
  `ops.as_pair`, `ops.output_size`), so a bad argument gets the same ValueError, naming the
  argument, here as there -- never a raw torch RuntimeError. Only the arithmetic is torch's.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from coursekit import ops
from coursekit.errors import UnknownName

__all__ = ["corr1d", "conv1d", "corr2d", "conv2d", "corr2d_multi", "pool2d", "pad2d"]


def _tensor(a, name: str, shapes: dict[int, str]) -> torch.Tensor:
    """A checked array-like -> float64 tensor of the same shape."""
    array = ops.as_array(a, name, shapes)
    return torch.from_numpy(np.array(array, dtype=np.float64))  # a fresh copy: no negative strides


def _mode(mode, choices) -> str:
    if not isinstance(mode, str) or mode not in choices:
        raise UnknownName("mode", mode, choices)
    return mode


def _fits(hw, size, padding, stride) -> None:
    """Raise ops' ValueError if the window does not fit the padded input."""
    for n, f, p, s in zip(hw, size, padding, stride, strict=True):
        ops.output_size(n, f, p, s)


def corr1d(x, k, mode: str = "valid") -> np.ndarray:
    """``F.conv1d`` of x ``(n,)`` with k ``(m,)`` after ``F.pad`` as `ops.corr1d` pads -> float64 ``(n',)``.

    Modes "valid", "same" (``m // 2`` zeros on the left, the rest on the right) and "full".
    """
    xt, kt = _tensor(x, "x", {1: "(n,)"}), _tensor(k, "k", {1: "(m,)"})
    mode = _mode(mode, ops.MODES_1D)
    m = len(kt)
    if mode != "full" and m > len(xt):
        raise ValueError(f"kernel size {m} is larger than the input size {len(xt)} (mode={mode!r})")
    left, right = {"valid": (0, 0), "same": (m // 2, (m - 1) // 2), "full": (m - 1, m - 1)}[mode]
    return F.conv1d(F.pad(xt[None, None], (left, right)), kt[None, None])[0, 0].numpy()


def conv1d(x, k, mode: str = "valid") -> np.ndarray:
    """`corr1d` with the kernel reversed (``torch.flip``): x ``(n,)``, k ``(m,)`` -> float64 ``(n',)``."""
    kt = _tensor(k, "k", {1: "(m,)"})
    return corr1d(x, torch.flip(kt, (0,)), mode)


def corr2d(x, k, padding=0, stride=1) -> np.ndarray:
    """``F.conv2d`` (a cross-correlation) of one image and one kernel -> float64 ``(H', W')``.

    x ``(H, W)`` with k ``(kh, kw)``, or x ``(C, H, W)`` with k ``(C, kh, kw)``.
    """
    xt = _tensor(x, "x", {2: "(H, W)", 3: "(C, H, W)"})
    kt = _tensor(k, "k", {2: "(kh, kw)", 3: "(C, kh, kw)"})
    if xt.ndim != kt.ndim:
        raise ValueError(
            f"channel mismatch: x has shape {tuple(xt.shape)} and k has shape "
            f"{tuple(kt.shape)}; give both a channel axis (C, ...) or neither"
        )
    if xt.ndim == 2:
        xt, kt = xt[None], kt[None]
    if xt.shape[0] != kt.shape[0]:
        raise ValueError(f"channel mismatch: x has {xt.shape[0]} channels but k has {kt.shape[0]}")
    return corr2d_multi(xt, kt[None], None, padding, stride)[0]


def conv2d(x, k, padding=0, stride=1) -> np.ndarray:
    """`corr2d` with the kernel's two spatial axes flipped (``torch.flip``) -> float64 ``(H', W')``."""
    kt = _tensor(k, "k", {2: "(kh, kw)", 3: "(C, kh, kw)"})
    return corr2d(x, torch.flip(kt, (-2, -1)), padding, stride)


def corr2d_multi(x, w, b=None, padding=0, stride=1) -> np.ndarray:
    """``F.conv2d(x, w, b, stride, padding)``: x ``(C, H, W)`` or ``(N, C, H, W)``, w ``(O, C, kh, kw)``,
    b ``(O,)`` or None -> float64 ``(O, H', W')`` or ``(N, O, H', W')``."""
    xt = _tensor(x, "x", {3: "(C, H, W)", 4: "(N, C, H, W)"})
    wt = _tensor(w, "w", {4: "(O, C, kh, kw)"})
    bt = None if b is None else _tensor(b, "b", {1: "(O,)"})
    padding, stride = ops.as_pair(padding, "padding", 0), ops.as_pair(stride, "stride")
    batched = xt.ndim == 4
    if not batched:
        xt = xt[None]
    if xt.shape[1] != wt.shape[1]:
        raise ValueError(f"channel mismatch: x has {xt.shape[1]} channels but w expects {wt.shape[1]}")
    if bt is not None and len(bt) != wt.shape[0]:
        raise ValueError(f"bias has {len(bt)} values but w has {wt.shape[0]} output channels")
    _fits(xt.shape[-2:], wt.shape[-2:], padding, stride)
    out = F.conv2d(xt, wt, bt, stride=stride, padding=padding).numpy()
    return out if batched else out[0]


def pool2d(x, size, stride=None, mode: str = "max", padding=0) -> np.ndarray:
    """``F.max_pool2d`` / ``F.avg_pool2d`` of x ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``
    -> float64 ``(..., H', W')``.

    ``stride`` defaults to ``size``; ``padding`` (at most half the window, as torch requires)
    pads with -inf for "max" and zeros, counted in the mean, for "avg". torch has no sum pooling;
    ``mode="sum"`` is the average times the window area.
    """
    xt = _tensor(x, "x", ops.IMAGE_SHAPES)
    mode = _mode(mode, ops.POOL_MODES)
    size = ops.as_pair(size, "size")
    stride = size if stride is None else ops.as_pair(stride, "stride")
    padding = ops.as_pair(padding, "padding", 0)
    if any(p > s // 2 for p, s in zip(padding, size, strict=True)):
        raise ValueError(f"padding {padding} must be at most half the pooling size {size}")
    _fits(xt.shape[-2:], size, padding, stride)
    lead = xt.shape[:-2]
    batch = xt.reshape(-1, 1, *xt.shape[-2:])  # every map pooled on its own
    if mode == "max":
        out = F.max_pool2d(batch, size, stride, padding)
    else:
        out = F.avg_pool2d(batch, size, stride, padding, count_include_pad=True)
        if mode == "sum":
            out = out * (size[0] * size[1])
    return out.reshape(*lead, *out.shape[-2:]).numpy()


def pad2d(x, padding, value=0) -> np.ndarray:
    """``F.pad`` with a constant: x ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)`` -> float64
    ``(..., H + 2 * rows, W + 2 * cols)``."""
    xt = _tensor(x, "x", ops.IMAGE_SHAPES)
    rows, cols = ops.as_pair(padding, "padding", 0)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"value must be a single real number (the fill value), got {value!r}")
    items = xt[..., 0, 0].numel() * (xt.shape[-2] + 2 * rows) * (xt.shape[-1] + 2 * cols)
    ops.check_memory("reference.pad2d", np.float64, {"padded x": items}, f"x {tuple(xt.shape)}")
    return F.pad(xt, (cols, cols, rows, rows), mode="constant", value=float(value)).numpy()
