"""How a CNN learns, from scratch: layers with a forward *and* a backward pass, in NumPy.

Training needs, for every number the network can change, the derivative of the loss with respect
to it. Backpropagation gets all of them in one sweep backwards through the network, by the chain
rule: a layer ``y = layer(x)`` that is told ``dy`` -- the gradient of the loss with respect to its
output, an array of the same shape as ``y`` -- returns ``dx`` (same shape as ``x``) for the layer
before it, and stores the gradients of its own parameters on the way.

What is here, from the math up:

* `im2col` / `col2im`: every window a kernel visits, unrolled into a column, and the way back;
* functional backward passes next to the forward math: `corr2d_backward` (one channel, for worked
  examples), `conv_backward` (a whole layer), `maxpool_backward`, `avgpool_backward`;
* the layers -- `Conv2d`, `ReLU`, `MaxPool2d`, `AvgPool2d`, `Flatten`, `Linear` -- and `Sequential`;
  each has ``forward(x)`` (which caches what backward needs), ``backward(dy) -> dx``, and two dicts
  ``params`` and ``grads`` (name -> array); `sgd_step` updates the parameters in place;
* the loss: `softmax` and `cross_entropy`, which returns the loss and its gradient;
* checking: `numerical_gradient` (central differences) and `relative_error`.

**Conventions.** Shapes are PyTorch's: images ``(N, C, H, W)``, kernels ``(O, C, kh, kw)``; the
forward math is cross-correlation, as in `coursekit.ops` and ``torch.nn.functional.conv2d``.
Unlike PyTorch, ``backward`` *overwrites* a layer's ``grads`` instead of adding to them, so there
is nothing to zero between steps.

**Arguments** go through the validation of `coursekit.ops` (`ops.as_array`, `ops.as_pair`,
`ops.output_size`, `ops.check_memory`), so a bad stride, a kernel larger than the input or an
array of the wrong number of dimensions gets the same ValueError as the forward ops; an upstream
gradient ``dy`` of the wrong shape gets a ValueError naming the expected and the actual shape.

**Dtypes.** float32 and float64 are accepted; integers (and bools) are computed in float64.
float32 inputs alone give float32 results, any float64 input gives float64. The layers' parameters
are float64, so a layer computes in float64 whatever it is given -- the precision gradient checks
need.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from coursekit import ops

__all__ = [
    "im2col",
    "col2im",
    "corr2d_backward",
    "conv_backward",
    "maxpool_backward",
    "avgpool_backward",
    "Layer",
    "Conv2d",
    "ReLU",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "Linear",
    "Sequential",
    "sgd_step",
    "softmax",
    "cross_entropy",
    "numerical_gradient",
    "relative_error",
]

BATCH = {4: "(N, C, H, W)"}
IMAGES = {2: "(H, W)", 3: "(C, H, W)", 4: "(N, C, H, W)"}  # what ops.pool2d accepts


# ----------------------------------------------------------------------------------------------
# Checking arguments (on top of coursekit.ops' validation)


def _floats(value, name: str, shapes: dict[int, str] | None = None) -> np.ndarray:
    """``value`` checked by `ops.as_array`, as float32 or float64 (integers and bools become float64)."""
    array = ops.as_array(value, name, shapes)
    return array.astype(np.float64) if array.dtype.kind != "f" else array


def _check_shape(array: np.ndarray, expected: tuple[int, ...], name: str, what: str) -> None:
    """ValueError naming ``name``, the expected shape (``what`` describes it) and the shape it got."""
    if array.shape != tuple(expected):
        raise ValueError(f"{name} must have the shape of {what}, {tuple(expected)}; got shape {array.shape}")


def _positive_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _geometry(hw, size, padding, stride) -> tuple[int, int]:
    """``(H', W')`` for an ``(H, W)`` input; `ops.output_size` raises for a window that does not fit."""
    return tuple(ops.output_size(n, f, p, s) for n, f, p, s in zip(hw, size, padding, stride, strict=True))


def _window_args(size, padding, stride):
    return ops.as_pair(size, "size"), ops.as_pair(padding, "padding", smallest=0), ops.as_pair(stride, "stride")


# ----------------------------------------------------------------------------------------------
# im2col and its transpose


def _pad(x: np.ndarray, padding, value=0.0) -> np.ndarray:
    """Zeros (or ``value``) around the last two axes: ``(..., H, W)`` -> ``(..., H + 2ph, W + 2pw)``."""
    (ph, pw), lead = padding, [(0, 0)] * (x.ndim - 2)
    return np.pad(x, [*lead, (ph, ph), (pw, pw)], constant_values=value) if ph or pw else x


def _windows(xp: np.ndarray, size, stride) -> np.ndarray:
    """Read-only view ``(..., H', W', kh, kw)`` of the windows of an already padded ``(..., Hp, Wp)``."""
    return sliding_window_view(xp, size, axis=(-2, -1))[..., :: stride[0], :: stride[1], :, :]


def _add_windows(patches: np.ndarray, padded_hw, stride, padding, hw) -> np.ndarray:
    """Add every window's values back where the window came from; the core of every backward here.

    ``patches`` has shape ``(..., kh, kw, H', W')``: ``patches[..., m, n, i, j]`` belongs at row
    ``i * sh + m`` and column ``j * sw + n`` of the padded input. Values of overlapping windows that
    land on the same cell are added (that is the chain rule: the cell fed all those windows). The
    padding is cut off at the end: shape ``(..., H, W)``.
    """
    *lead, kh, kw, oh, ow = patches.shape
    (sh, sw), (ph, pw) = stride, padding
    out = np.zeros((*lead, *padded_hw), dtype=patches.dtype)
    for m in range(kh):  # kh * kw strided additions, each covering the whole batch at once
        for n in range(kw):
            out[..., m : m + sh * (oh - 1) + 1 : sh, n : n + sw * (ow - 1) + 1 : sw] += patches[..., m, n, :, :]
    return out[..., ph : ph + hw[0], pw : pw + hw[1]]


def im2col(x, size, padding=0, stride=1) -> np.ndarray:
    """Unroll every window a ``size`` kernel visits into a column: the matrix that makes conv a matmul.

    Args:
        x: images, shape ``(N, C, H, W)``.
        size: kernel size ``kh`` (an int) or ``(kh, kw)``.
        padding: int or ``(rows, cols)``: zeros added on each side first.
        stride: int or ``(rows, cols)``.

    Returns:
        ``cols`` of shape ``(N, C*kh*kw, H'*W')``, with ``H' = ops.output_size(H, kh, padding, stride)``
        (likewise ``W'``): ``cols[n, :, i * W' + j]`` is the window under output position ``(i, j)``
        of image ``n``, unrolled in the order ``(c, m, n)`` -- the order of ``w.reshape(O, C*kh*kw)``,
        so ``w.reshape(O, -1) @ cols`` is the convolution, shape ``(N, O, H'*W')``.
        dtype float32 for float32 input, float64 otherwise.
    """
    x = _floats(x, "x", BATCH)
    size, padding, stride = _window_args(size, padding, stride)
    (n, c, h, w), (kh, kw) = x.shape, size
    oh, ow = _geometry((h, w), size, padding, stride)
    ops.check_memory(
        "im2col",
        x.dtype,
        {"padded x": n * c * (h + 2 * padding[0]) * (w + 2 * padding[1]), "columns": n * c * kh * kw * oh * ow},
        f"x {x.shape}, size {size}, padding {padding}, stride {stride}",
    )
    windows = _windows(_pad(x, padding), size, stride)  # (N, C, H', W', kh, kw)
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)  # the reshape copies


def col2im(cols, x_shape, size, padding=0, stride=1) -> np.ndarray:
    """The transpose (adjoint) of `im2col` -- *not* its inverse: overlapping windows are summed.

    Every entry of ``cols`` is added to the input cell it was read from. Where windows overlap,
    a cell was read several times and receives the sum, so ``col2im(im2col(x))`` is ``x`` times the
    number of windows covering each cell, not ``x``. The sum is exactly what the backward pass of
    a convolution needs, and it makes col2im the adjoint: for every ``x`` and ``c``,
    ``sum(im2col(x) * c) == sum(x * col2im(c, x.shape, ...))``.

    Args:
        cols: shape ``(N, C*kh*kw, H'*W')``, as `im2col` returns for an input of shape ``x_shape``.
        x_shape: ``(N, C, H, W)``, the shape of the images the columns came from.
        size, padding, stride: as given to `im2col`.

    Returns:
        Shape ``x_shape``, dtype of ``cols`` (float32 or float64).
    """
    shape = _shape4(x_shape, "x_shape")
    size, padding, stride = _window_args(size, padding, stride)
    (n, c, h, w), (kh, kw) = shape, size
    oh, ow = _geometry((h, w), size, padding, stride)
    cols = _floats(cols, "cols", {3: "(N, C*kh*kw, H'*W')"})
    _check_shape(cols, (n, c * kh * kw, oh * ow), "cols", f"im2col's output for x_shape {shape}, size {size}")
    padded_hw = (h + 2 * padding[0], w + 2 * padding[1])
    ops.check_memory("col2im", cols.dtype, {"padded x": n * c * padded_hw[0] * padded_hw[1]}, f"x_shape {shape}")
    return _add_windows(cols.reshape(n, c, kh, kw, oh, ow), padded_hw, stride, padding, (h, w))


def _shape4(value, name: str) -> tuple[int, int, int, int]:
    try:
        shape = tuple(value)
        if len(shape) != 4:
            raise TypeError
        return tuple(_positive_int(s, name) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be 4 positive ints (N, C, H, W), got {value!r}") from None


# ----------------------------------------------------------------------------------------------
# Functional backward passes


def corr2d_backward(x, k, dy, padding=0, stride=1) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of ``y = ops.corr2d(x, k, padding, stride)``, one channel: the worked-example case.

    Forward: ``y[i, j] = sum over (m, n) of xp[i*s + m, j*s + n] * k[m, n]`` (``xp``: x padded).
    Each product ``xp[..] * k[m, n]`` sends ``dy[i, j]`` back along both of its factors:

    * ``dk[m, n] = sum over (i, j) of xp[i*s + m, j*s + n] * dy[i, j]``: the padded input
      *correlated* with ``dy`` (with ``dy`` dilated -- ``s - 1`` zeros between its entries -- when
      the stride ``s`` is above 1);
    * ``dxp[p, q] = sum over (i, j) of dy[i, j] * k[p - i*s, q - j*s]``: a "full" correlation of the
      dilated ``dy`` with the kernel turned by 180 degrees -- that is, a *convolution* of ``dy``
      with ``k`` -- and ``dx`` is ``dxp`` with the padding cut off (cells the padding fed are
      discarded; rows a stride skips at the bottom/right get gradient 0).

    Args:
        x: image, shape ``(H, W)``.
        k: kernel, shape ``(kh, kw)``.
        dy: gradient of the loss with respect to ``y``, shape ``(H', W')`` as `ops.output_size` gives.
        padding, stride: int or ``(rows, cols)``, as in `ops.corr2d`.

    Returns:
        ``(dx, dk)`` of shapes ``(H, W)`` and ``(kh, kw)``; float32 if all inputs are, else float64.
    """
    x = _floats(x, "x", {2: "(H, W)"})
    k = _floats(k, "k", {2: "(kh, kw)"})
    padding, stride = ops.as_pair(padding, "padding", smallest=0), ops.as_pair(stride, "stride")
    oh, ow = _geometry(x.shape, k.shape, padding, stride)
    dy = _floats(dy, "dy", {2: "(H', W')"})
    _check_shape(dy, (oh, ow), "dy", "the output y (H', W')")
    dtype = np.result_type(x, k, dy)
    x, k, dy = x.astype(dtype, copy=False), k.astype(dtype, copy=False), dy.astype(dtype, copy=False)
    (kh, kw), (sh, sw) = k.shape, stride

    dilated = np.zeros((sh * (oh - 1) + 1, sw * (ow - 1) + 1), dtype=dtype)
    dilated[::sh, ::sw] = dy  # (s(H'-1)+1, s(W'-1)+1)
    xp = _pad(x, padding)  # (Hp, Wp)
    dk = ops.corr2d(xp, dilated)[:kh, :kw]  # rows past kh are positions the stride never reached
    full = ops.conv2d(dilated, k, padding=(kh - 1, kw - 1))  # (s(H'-1)+kh, s(W'-1)+kw), fits in xp
    dxp = np.zeros_like(xp)
    dxp[: full.shape[0], : full.shape[1]] = full
    dx = dxp[padding[0] : padding[0] + x.shape[0], padding[1] : padding[1] + x.shape[1]]
    return dx, dk


def _conv_backward_cols(cols, w, dy, x_shape, padding, stride):
    """`conv_backward` from the im2col matrix ``cols`` (N, C*kh*kw, L) of the forward pass."""
    n, o = dy.shape[:2]
    dy2 = dy.reshape(n, o, -1)  # (N, O, L), L = H'*W'
    w2 = w.reshape(o, -1)  # (O, C*kh*kw)
    dw = np.tensordot(dy2, cols, axes=([0, 2], [0, 2])).reshape(w.shape)  # sum over images and positions
    db = dy.sum(axis=(0, 2, 3))  # (O,): the bias was added at every position of every image
    dcols = w2.T @ dy2  # (N, C*kh*kw, L): each window's share of the gradient
    dx = col2im(dcols, x_shape, w.shape[2:], padding, stride)  # windows summed back into the image
    return dx, dw, db


def conv_backward(x, w, dy, padding=0, stride=1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a convolutional layer ``y = ops.corr2d_multi(x, w, b, padding, stride)``.

    With ``cols = im2col(x)`` the forward pass is a matrix product, ``y = w2 @ cols + b`` where
    ``w2 = w.reshape(O, C*kh*kw)``; the backward pass is the two matrix products of a linear layer
    and one `col2im`:

    * ``dw = sum over images of dy2 @ cols.T`` (``dy2 = dy.reshape(N, O, H'*W')``);
    * ``db = dy`` summed over images and positions;
    * ``dx = col2im(w2.T @ dy2)``: every window's gradient, added back where the window was read.

    Args:
        x: images, shape ``(N, C, H, W)``.
        w: kernels, shape ``(O, C, kh, kw)``.
        dy: gradient of the loss with respect to ``y``, shape ``(N, O, H', W')``.
        padding, stride: int or ``(rows, cols)``.

    Returns:
        ``(dx, dw, db)`` of shapes ``(N, C, H, W)``, ``(O, C, kh, kw)`` and ``(O,)``; float32 if all
        inputs are float32, else float64. (The bias does not change any gradient, so it is not an argument.)
    """
    x = _floats(x, "x", BATCH)
    w = _floats(w, "w", {4: "(O, C, kh, kw)"})
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"channel mismatch: x has {x.shape[1]} channels but w expects {w.shape[1]}")
    padding, stride = ops.as_pair(padding, "padding", smallest=0), ops.as_pair(stride, "stride")
    oh, ow = _geometry(x.shape[2:], w.shape[2:], padding, stride)
    dy = _floats(dy, "dy", {4: "(N, O, H', W')"})
    _check_shape(dy, (x.shape[0], w.shape[0], oh, ow), "dy", "the output y (N, O, H', W')")
    dtype = np.result_type(x, w, dy)
    w, dy = w.astype(dtype, copy=False), dy.astype(dtype, copy=False)
    cols = im2col(x.astype(dtype, copy=False), w.shape[2:], padding, stride)
    return _conv_backward_cols(cols, w, dy, x.shape, padding, stride)


def _pool_args(x, dy, size, stride, padding):
    """Shared checks of the pooling backward passes; returns arrays of one dtype and the geometry."""
    x = _floats(x, "x", IMAGES)
    size = ops.as_pair(size, "size")
    stride = size if stride is None else ops.as_pair(stride, "stride")
    padding = ops.as_pair(padding, "padding", smallest=0)
    if any(p > s // 2 for p, s in zip(padding, size, strict=True)):
        raise ValueError(f"padding {padding} must be at most half the pooling size {size}")
    oh, ow = _geometry(x.shape[-2:], size, padding, stride)
    dy = _floats(dy, "dy", IMAGES)
    _check_shape(dy, (*x.shape[:-2], oh, ow), "dy", "the pooled output (..., H', W')")
    dtype = np.result_type(x, dy)
    padded_hw = (x.shape[-2] + 2 * padding[0], x.shape[-1] + 2 * padding[1])
    ops.check_memory(
        "pool backward", dtype, {"window masks": dy.size * size[0] * size[1], "padded dx": x.size}, f"x {x.shape}"
    )
    return x.astype(dtype, copy=False), dy.astype(dtype, copy=False), size, stride, padding, padded_hw


def maxpool_backward(x, dy, size, stride=None, padding=0) -> np.ndarray:
    """Gradient of ``y = ops.pool2d(x, size, stride, padding, "max")`` with respect to ``x``.

    A window's output is one of its inputs, so the whole of ``dy`` for that window goes to the
    cell holding the maximum (the arg-max), and nothing to the others. **Ties**: when several cells
    of a window hold the maximum, the first of them in row-major order (top row first, left to
    right) gets it -- what ``np.argmax`` and PyTorch's CPU max-pooling pick. Where windows overlap
    (stride < size) a cell can win several windows and receives the sum. Padding (at most half
    the window, as in `ops.pool2d`) is -inf, never wins, and is cut off.

    Args:
        x: the pooling layer's input, shape ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
        dy: gradient of the loss with respect to ``y``, shape ``(..., H', W')``.
        size, stride, padding: as in `ops.pool2d` (``stride`` defaults to ``size``).

    Returns:
        ``dx``, shape of ``x``; float32 if ``x`` and ``dy`` are, else float64.
    """
    x, dy, (kh, kw), stride, padding, padded_hw = _pool_args(x, dy, size, stride, padding)
    windows = _windows(_pad(x, padding, -np.inf), (kh, kw), stride)  # (..., H', W', kh, kw)
    winner = windows.reshape(*windows.shape[:-2], kh * kw).argmax(axis=-1)  # (..., H', W'), first max
    routed = (winner[..., None] == np.arange(kh * kw)) * dy[..., None]  # (..., H', W', kh*kw): dy at the max
    routed = np.moveaxis(routed.reshape(*dy.shape, kh, kw), (-2, -1), (-4, -3))  # (..., kh, kw, H', W')
    return _add_windows(routed.astype(dy.dtype, copy=False), padded_hw, stride, padding, x.shape[-2:])


def avgpool_backward(x, dy, size, stride=None, padding=0) -> np.ndarray:
    """Gradient of ``y = ops.pool2d(x, size, stride, padding, "avg")`` with respect to ``x``.

    Each output is the mean of its ``kh * kw`` window, so every cell of the window receives
    ``dy / (kh * kw)``; overlapping windows add up. As in `ops.pool2d` (and PyTorch's default
    ``count_include_pad=True``) padded zeros count in the mean; their share is cut off.

    Args:
        x: the pooling layer's input, shape ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)`` (only its
            shape and dtype are used).
        dy: shape ``(..., H', W')``.
        size, stride, padding: as in `ops.pool2d` (``stride`` defaults to ``size``).

    Returns:
        ``dx``, shape of ``x``; float32 if ``x`` and ``dy`` are, else float64.
    """
    x, dy, (kh, kw), stride, padding, padded_hw = _pool_args(x, dy, size, stride, padding)
    share = np.broadcast_to((dy / (kh * kw))[..., None, None, :, :], (*dy.shape[:-2], kh, kw, *dy.shape[-2:]))
    return _add_windows(share, padded_hw, stride, padding, x.shape[-2:])


# ----------------------------------------------------------------------------------------------
# Layers


class Layer:
    """What every layer has: ``forward``, ``backward``, ``params`` and ``grads``.

    ``forward(x)`` computes the output and caches what ``backward`` needs; ``backward(dy)`` takes
    the gradient of the loss with respect to the output (same shape as the output), stores the
    parameters' gradients in ``grads`` (same keys and shapes as ``params``; overwritten, not added
    to) and returns the gradient with respect to the input. ``layer(x)`` is ``layer.forward(x)``.
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._cache = None
        self._out_shape: tuple[int, ...] | None = None

    def __call__(self, x) -> np.ndarray:
        return self.forward(x)

    def forward(self, x) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy) -> np.ndarray:
        raise NotImplementedError

    def _remember(self, cache, out: np.ndarray) -> np.ndarray:
        self._cache, self._out_shape = cache, out.shape
        return out

    def _recall(self, dy):
        """The cache of the last forward and ``dy`` checked against its output's shape."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward: run forward(x) first -- "
                f"it stores what backward needs"
            )
        dy = _floats(dy, "dy")
        _check_shape(dy, self._out_shape, "dy", f"{type(self).__name__}'s last output")
        return self._cache, dy


class Conv2d(Layer):
    """A convolutional layer: ``O`` learned ``(C, kh, kw)`` kernels and a bias, like ``torch.nn.Conv2d``.

    ``params``: ``"weight"`` of shape ``(out_channels, in_channels, kh, kw)``, He-initialised
    (normal, standard deviation ``sqrt(2 / (in_channels * kh * kw))``, suited to a ReLU after it),
    and ``"bias"`` of shape ``(out_channels,)``, zeros. ``rng``: a ``numpy.random.Generator``, a seed,
    or None for fresh entropy (not reproducible).

    ``forward``: x ``(N, C, H, W)`` -> ``(N, O, H', W')`` via `im2col` (whose matrix is cached);
    ``backward``: dy ``(N, O, H', W')`` -> dx ``(N, C, H, W)`` via `conv_backward`'s math.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, rng=None) -> None:
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.kernel_size = ops.as_pair(kernel_size, "kernel_size")
        self.stride = ops.as_pair(stride, "stride")
        self.padding = ops.as_pair(padding, "padding", smallest=0)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.params = {
            "weight": np.random.default_rng(rng).standard_normal(shape) * math.sqrt(2.0 / fan_in),
            "bias": np.zeros(self.out_channels),
        }

    def __repr__(self) -> str:
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding})"
        )

    def forward(self, x) -> np.ndarray:
        x = _floats(x, "x", BATCH)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x has {x.shape[1]} channels but this Conv2d expects in_channels={self.in_channels}")
        w, b = self.params["weight"], self.params["bias"]
        oh, ow = _geometry(x.shape[2:], self.kernel_size, self.padding, self.stride)
        cols = im2col(x, self.kernel_size, self.padding, self.stride)  # (N, C*kh*kw, H'*W')
        out = w.reshape(self.out_channels, -1) @ cols + b[:, None]  # (N, O, H'*W')
        return self._remember((cols, x.shape), out.reshape(x.shape[0], self.out_channels, oh, ow))

    def backward(self, dy) -> np.ndarray:
        (cols, x_shape), dy = self._recall(dy)
        dy = dy.astype(np.float64, copy=False)
        dx, dw, db = _conv_backward_cols(cols, self.params["weight"], dy, x_shape, self.padding, self.stride)
        self.grads = {"weight": dw, "bias": db}
        return dx


class ReLU(Layer):
    """``max(x, 0)``, elementwise; the gradient passes where ``x > 0`` and is 0 elsewhere (also at 0)."""

    def __repr__(self) -> str:
        return "ReLU()"

    def forward(self, x) -> np.ndarray:
        x = _floats(x, "x")
        positive = x > 0  # any shape
        return self._remember(positive, np.where(positive, x, 0).astype(x.dtype, copy=False))

    def backward(self, dy) -> np.ndarray:
        positive, dy = self._recall(dy)
        return np.where(positive, dy, 0).astype(dy.dtype, copy=False)


class _Pool2d(Layer):
    _mode = ""
    _backward = staticmethod(maxpool_backward)

    def __init__(self, size, stride=None, padding=0) -> None:
        super().__init__()
        self.size = ops.as_pair(size, "size")
        self.stride = self.size if stride is None else ops.as_pair(stride, "stride")
        self.padding = ops.as_pair(padding, "padding", smallest=0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, stride={self.stride}, padding={self.padding})"

    def forward(self, x) -> np.ndarray:
        x = _floats(x, "x", IMAGES)
        out = ops.pool2d(x, self.size, self.stride, self.padding, self._mode)
        return self._remember(x, out)

    def backward(self, dy) -> np.ndarray:
        x, dy = self._recall(dy)
        return type(self)._backward(x, dy, self.size, self.stride, self.padding)


class MaxPool2d(_Pool2d):
    """Max pooling, like ``torch.nn.MaxPool2d``: x ``(..., H, W)`` -> ``(..., H', W')``; no parameters.

    ``stride`` defaults to ``size``. Backward: `maxpool_backward` (gradient to each window's
    first maximum in row-major order).
    """

    _mode = "max"
    _backward = staticmethod(maxpool_backward)


class AvgPool2d(_Pool2d):
    """Average pooling, like ``torch.nn.AvgPool2d``: x ``(..., H, W)`` -> ``(..., H', W')``; no parameters.

    ``stride`` defaults to ``size``. Backward: `avgpool_backward` (spread evenly over each window).
    """

    _mode = "avg"
    _backward = staticmethod(avgpool_backward)


class Flatten(Layer):
    """``(N, d1, d2, ...)`` -> ``(N, d1*d2*...)``, keeping the batch axis; backward reshapes back."""

    def __repr__(self) -> str:
        return "Flatten()"

    def forward(self, x) -> np.ndarray:
        x = _floats(x, "x")
        if x.ndim < 2:
            raise ValueError(f"x must have a batch axis and at least one more, (N, ...); got shape {x.shape}")
        return self._remember(x.shape, x.reshape(x.shape[0], -1))

    def backward(self, dy) -> np.ndarray:
        shape, dy = self._recall(dy)
        return dy.reshape(shape)


class Linear(Layer):
    """A fully connected layer ``y = x @ weight.T + bias``, like ``torch.nn.Linear``.

    ``params``: ``"weight"`` ``(out_features, in_features)``, He-initialised (standard deviation
    ``sqrt(2 / in_features)``), and ``"bias"`` ``(out_features,)``, zeros. ``rng`` as in `Conv2d`.
    ``forward``: x ``(N, in_features)`` -> ``(N, out_features)``. ``backward``: ``dx = dy @ weight``,
    ``dweight = dy.T @ x``, ``dbias = dy.sum(0)``.
    """

    def __init__(self, in_features, out_features, rng=None) -> None:
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        self.params = {
            "weight": np.random.default_rng(rng).standard_normal((self.out_features, self.in_features))
            * math.sqrt(2.0 / self.in_features),
            "bias": np.zeros(self.out_features),
        }

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"

    def forward(self, x) -> np.ndarray:
        x = _floats(x, "x", {2: "(N, in_features)"})
        if x.shape[1] != self.in_features:
            raise ValueError(f"x has {x.shape[1]} features per row but this Linear expects {self.in_features}")
        return self._remember(x, x @ self.params["weight"].T + self.params["bias"])

    def backward(self, dy) -> np.ndarray:
        x, dy = self._recall(dy)
        self.grads = {"weight": dy.T @ x, "bias": dy.sum(axis=0)}  # (out, in), (out,)
        return dy @ self.params["weight"]  # (N, in_features)


class Sequential(Layer):
    """Layers applied one after the other; backward runs them in reverse order.

    ``params`` and ``grads`` gather the layers' dicts under keys ``"<index>.<name>"`` (``"0.weight"``,
    as in PyTorch's ``state_dict``); the arrays are the layers' own, so changing one in place (what
    `sgd_step` does) changes the layer. ``len``, iteration and indexing give the layers.
    """

    def __init__(self, *layers: Layer) -> None:  # no Layer.__init__: params and grads are the layers'
        if not layers:
            raise ValueError("Sequential needs at least one layer, got none")
        for i, layer in enumerate(layers):
            if not (callable(getattr(layer, "forward", None)) and callable(getattr(layer, "backward", None))):
                raise TypeError(f"layers[{i}] must be a layer with forward and backward, got {layer!r}")
        self.layers = list(layers)

    def __repr__(self) -> str:
        return "Sequential(\n" + "".join(f"  ({i}): {layer!r}\n" for i, layer in enumerate(self.layers)) + ")"

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{i}.{name}": p for i, layer in enumerate(self.layers) for name, p in layer.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{i}.{name}": g for i, layer in enumerate(self.layers) for name, g in layer.grads.items()}

    def forward(self, x) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy) -> np.ndarray:
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy


def sgd_step(model: Layer, lr: float) -> None:
    """One step of gradient descent, in place: ``p -= lr * grad`` for every parameter of ``model``.

    ``model`` is any layer (a `Sequential` included); call it after ``model.backward``. Raises
    RuntimeError for a parameter without a gradient (backward not run yet).
    """
    if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, numbers.Real) or not (0 < lr < math.inf):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    params, grads = model.params, model.grads
    for name, p in params.items():
        if name not in grads:
            raise RuntimeError(f"parameter {name!r} has no gradient: call model.backward(dy) after forward first")
        _check_shape(grads[name], p.shape, f"the gradient of {name!r}", "the parameter")
        p -= lr * grads[name]


# ----------------------------------------------------------------------------------------------
# Softmax and cross-entropy


def _finite(z: np.ndarray, name: str) -> None:
    if not np.isfinite(z).all():
        bad = np.argwhere(~np.isfinite(z))[0]
        raise ValueError(f"{name} must be finite; got {z[tuple(bad)]} at index {tuple(int(i) for i in bad)}")


def softmax(z) -> np.ndarray:
    """Probabilities from scores: ``exp(z) / sum(exp(z))`` along the last axis, without overflow.

    The largest score of each row is subtracted first. That changes nothing mathematically (the
    factor ``exp(-max)`` cancels) but keeps every ``exp`` at most 1, so ``softmax([1000, 1001])``
    is ``[0.269, 0.731]`` instead of ``nan``.

    Args:
        z: scores ("logits"), shape ``(K,)`` or ``(N, K)``; finite.

    Returns:
        Same shape, each row positive and summing to 1; float32 for float32 ``z``, else float64.
    """
    z = _floats(z, "z", {1: "(K,)", 2: "(N, K)"})
    _finite(z, "z")
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(z, y) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of scores ``z`` against integer labels ``y``, and its gradient.

    ``loss = mean over n of -log softmax(z)[n, y[n]]``, computed as
    ``log(sum(exp(z[n] - max))) - (z[n, y[n]] - max)`` (no overflow, no log of 0), the same as
    ``torch.nn.functional.cross_entropy``. Its gradient is remarkably simple:
    ``dz = (softmax(z) - one_hot(y)) / N``.

    Args:
        z: scores, shape ``(N, K)``, finite.
        y: class labels, integers from 0 to K-1, shape ``(N,)``.

    Returns:
        ``(loss, dz)``: a float, and ``dz`` of shape ``(N, K)`` (float32 for float32 ``z``).
    """
    z = _floats(z, "z", {2: "(N, K)"})
    _finite(z, "z")
    labels = ops.as_array(y, "y", {1: "(N,)"})
    if labels.dtype.kind == "f":
        raise ValueError(f"y must hold integer class labels, got dtype {labels.dtype}; use y.astype(int)")
    n, k = z.shape
    if labels.shape != (n,):
        raise ValueError(f"y must have one label per row of z, shape ({n},); got shape {labels.shape}")
    outside = np.flatnonzero((labels < 0) | (labels >= k))
    if outside.size:
        i = int(outside[0])
        raise ValueError(f"y must hold labels from 0 to {k - 1} (z has K={k} columns); got y[{i}] = {labels[i]}")
    shifted = z - z.max(axis=1, keepdims=True)  # (N, K), every row's largest entry is 0
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log softmax, (N, K)
    rows = np.arange(n)
    loss = float(-log_p[rows, labels].mean())
    dz = np.exp(log_p)
    dz[rows, labels] -= 1
    return loss, dz / n


# ----------------------------------------------------------------------------------------------
# Gradient checking


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Estimate the gradient of the scalar ``f`` at ``x`` by central differences, one entry at a time.

    ``grad[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``: the error shrinks like ``eps**2``
    (rounding limits it to about ``1e-16 * |f| / eps``), so with eps = 1e-6 in float64 a correct
    backward pass agrees to about 1e-9 relative error. ``x`` is changed in place while ``f`` is
    evaluated -- so ``f`` may read it through a closure, e.g. a layer's ``params["weight"]`` -- and
    restored afterwards, even if ``f`` raises. Costs ``2 * x.size`` calls of ``f``.

    Args:
        f: function of ``x`` returning a single number (e.g. ``lambda _: cross_entropy(model(x), y)[0]``).
        x: a float64 NumPy array, any shape, writable.
        eps: the step, a positive number.

    Returns:
        Array of the shape of ``x``, float64.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = f"a {x.dtype} array" if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(
            f"x must be a float64 NumPy array (it is changed in place and restored); got {got}: "
            f"use np.asarray(x, dtype=np.float64)"
        )
    if not x.flags.writeable:
        raise ValueError("x must be writable (it is changed in place and restored); got a read-only array")
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real) or not (0 < eps < math.inf):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")

    def value() -> float:
        out = f(x)
        if isinstance(out, (tuple, list)):  # e.g. cross_entropy's (loss, dz): pass cross_entropy(...)[0]
            raise ValueError(f"f must return a single number (a scalar loss); got a {type(out).__name__} of {len(out)}")
        if np.ndim(out) != 0:
            raise ValueError(f"f must return a single number (a scalar loss); got shape {np.shape(out)}")
        return float(out)

    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        try:
            x[index] = old + eps
            up = value()
            x[index] = old - eps
            down = value()
        finally:
            x[index] = old
        grad[index] = (up - down) / (2 * eps)
    return grad


def relative_error(a, b) -> float:
    """``max |a - b| / max(|a| + |b|)``, the denominator at least the smallest positive float64.

    Near 0 for equal arrays, 1 when one of them is 0 and the other is not. In float64 a correct
    backward pass checked by `numerical_gradient` gives about 1e-9; above 1e-5 something is wrong.
    ``a`` and ``b`` must have the same shape.
    """
    a = _floats(a, "a").astype(np.float64, copy=False)
    b = _floats(b, "b").astype(np.float64, copy=False)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    scale = max(float(np.max(np.abs(a) + np.abs(b))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b))) / scale
