"""Convolution, cross-correlation and pooling, written from scratch in NumPy.

A convolutional layer slides a small grid of weights, the *kernel*, over an image. At every
position it multiplies the kernel with the patch of image underneath, element by element, and adds
the products up. The grid of sums is the *feature map*.

Two operations fit that description and differ only in the direction the kernel is read:

* **cross-correlation** uses the kernel as it is:
  ``out[i, j] = sum over (m, n) of x[i + m, j + n] * k[m, n]``;
* **convolution** (the signal-processing one) first turns the kernel by 180 degrees:
  ``out[i, j] = sum over (m, n) of x[i + m, j + n] * k[kh - 1 - m, kw - 1 - n]``.

Deep-learning libraries (``torch.nn.Conv2d``, Keras' ``Conv2D``, ...) compute cross-correlation
and call it convolution. For a learned kernel the difference does not matter -- training would
simply learn the turned kernel -- but it does matter when you type a kernel in by hand. Here the
``corr*`` functions are the CNN operation, and the ``conv*`` functions flip the kernel first.

Two more knobs fix the size of the output (see `output_size`):

* **padding** ``p`` adds ``p`` rows/columns of zeros on every side of the image;
* **stride** ``s`` moves the kernel ``s`` pixels at a time instead of 1.

For an input of size ``n`` and a kernel of size ``f``, the output has
``floor((n + 2p - f) / s) + 1`` positions along that axis.

**Pooling** slides a window in the same way but, instead of a weighted sum, takes the maximum,
the mean or the sum of the values under it (`pool2d`).

Shapes are written as in PyTorch: ``(N, C, H, W)`` = (batch, channels, height, width), kernels
``(O, C, kh, kw)`` = (output channels, input channels, kernel height, kernel width). Every function
accepts nested lists as well as arrays. Integer inputs give integer results (except average
pooling), so small worked examples print exactly as on paper.
"""
from __future__ import annotations

import operator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "output_size",
    "pad2d",
    "corr1d",
    "conv1d",
    "corr2d",
    "conv2d",
    "corr2d_loops",
    "corr2d_multi",
    "pool2d",
]

MODES_1D = ("valid", "same", "full")
POOL_MODES = ("max", "avg", "sum")

IMAGE_SHAPES = {2: "(H, W)", 3: "(C, H, W)", 4: "(N, C, H, W)"}


# ----------------------------------------------------------------------------------------------
# Input checking: every public function goes through these, so each problem is reported by the
# same message wherever it happens.


def _check(value, name: str, shapes: dict[int, str] | None = None, choices: tuple = ()):
    """Validate one argument and return it in usable form; raise ValueError naming the problem.

    * ``shapes`` given: ``value`` is an array argument. It is converted with ``np.asarray``, must
      hold numbers (booleans become integers) and have one of the allowed numbers of dimensions;
      ``shapes`` maps each allowed ``ndim`` to a description such as ``"(C, H, W)"``.
    * ``choices`` given: ``value`` is a mode string and must be one of them.
    * neither: ``value`` is a size, a stride or a padding -- an int or a ``(rows, cols)`` pair --
      returned as a pair of ints. Strides (and sizes) must be at least 1, paddings at least 0.
    """
    if shapes is not None:
        array = np.asarray(value)
        if array.dtype == bool:
            array = array.astype(np.int64)
        if not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"{name} must hold numbers, got an array of dtype {array.dtype}")
        if array.ndim not in shapes:
            allowed = " or ".join(f"{n}-D {shape}" for n, shape in shapes.items())
            raise ValueError(f"{name} must be {allowed}; got {array.ndim}-D with shape {array.shape}")
        return array

    if choices:
        if value not in choices:
            raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(choices)}")
        return value

    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    try:
        pair = tuple(operator.index(v) for v in pair)
    except TypeError:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}") from None
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    smallest = 0 if name == "padding" else 1
    if min(pair) < smallest:
        wanted = "non-negative" if smallest == 0 else "positive"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return pair


def output_size(n: int, f: int, padding: int = 0, stride: int = 1) -> int:
    """Number of positions a window of size ``f`` takes along an axis of size ``n``.

    ``floor((n + 2 * padding - f) / stride) + 1``: the input gains ``padding`` cells on each side,
    and the window moves ``stride`` cells at a time while it fits entirely inside.

    All arguments are ints. Raises ValueError if ``n`` or ``f`` is below 1, ``padding`` is negative,
    ``stride`` is below 1, or the window is larger than the padded input.

    >>> output_size(5, 3), output_size(5, 3, padding=1), output_size(5, 3, stride=2)
    (3, 5, 2)
    """
    try:
        n, f, padding, stride = (operator.index(v) for v in (n, f, padding, stride))
    except TypeError:
        raise ValueError("output_size takes integer sizes, padding and stride") from None
    if n < 1 or f < 1:
        raise ValueError(f"input size and kernel size must be positive, got n={n}, f={f}")
    _check(padding, "padding")
    _check(stride, "stride")
    if f > n + 2 * padding:
        raise ValueError(f"kernel size {f} is larger than the padded input size {n + 2 * padding}")
    return (n + 2 * padding - f) // stride + 1


def pad2d(x, padding, value=0) -> np.ndarray:
    """Surround the last two axes of ``x`` with a border of ``value``.

    Args:
        x: array of shape ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
        padding: int, or a ``(rows, cols)`` pair: ``rows`` are added at the top and at the bottom,
            ``cols`` on the left and on the right.
        value: the fill value (0 is "zero padding").

    Returns:
        Array of shape ``(..., H + 2 * rows, W + 2 * cols)``, same dtype as ``x``.
    """
    x = _check(x, "x", IMAGE_SHAPES)
    rows, cols = _check(padding, "padding")
    widths = [(0, 0)] * (x.ndim - 2) + [(rows, rows), (cols, cols)]
    return np.pad(x, widths, constant_values=value)


def _windows(x: np.ndarray, size, padding, stride, pad_value=0) -> np.ndarray:
    """All ``size``-shaped windows of the (padded) last two axes of ``x``, taken every ``stride``.

    ``x`` of shape ``(..., H, W)`` gives a read-only view of shape ``(..., H', W', kh, kw)``:
    ``[..., i, j, :, :]`` is the patch under the kernel at output position ``(i, j)``. No data is
    copied -- the view re-reads the same memory with different strides.
    """
    (kh, kw), (ph, pw), (sh, sw) = size, _check(padding, "padding"), _check(stride, "stride")
    output_size(x.shape[-2], kh, ph, sh)  # raise early if the kernel does not fit
    output_size(x.shape[-1], kw, pw, sw)
    padded = pad2d(x, (ph, pw), pad_value)
    windows = sliding_window_view(padded, (kh, kw), axis=(-2, -1))
    return windows[..., ::sh, ::sw, :, :]


# ----------------------------------------------------------------------------------------------
# 1-D


def corr1d(x, k, mode: str = "valid") -> np.ndarray:
    """1-D cross-correlation: ``out[i] = sum_m xp[i + m] * k[m]``, ``xp`` being ``x`` padded.

    Args:
        x: signal, shape ``(n,)``.
        k: kernel, shape ``(m,)``; in "valid" and "same" mode it may not be longer than ``x``.
        mode: how much zero padding, hence how long the result:

            * "valid": none; only positions where ``k`` fits inside ``x``: shape ``(n - m + 1,)``;
            * "same":  ``m - 1`` zeros in total, ``m // 2`` of them on the left: shape ``(n,)``;
            * "full":  ``m - 1`` zeros on each side, every overlap: shape ``(n + m - 1,)``.

            For even ``m`` the extra "same" zero goes on the left, as in ``np.correlate``
            (``torch``'s ``padding="same"`` puts it on the right instead).

    Returns:
        Array of the shape given above. Equals ``np.correlate(x, k, mode)`` for real inputs.
    """
    x = _check(x, "x", {1: "(n,)"})
    k = _check(k, "k", {1: "(m,)"})
    mode = _check(mode, "mode", choices=MODES_1D)
    m = len(k)
    if m == 0 or len(x) == 0:
        raise ValueError("x and k must not be empty")
    if mode != "full" and m > len(x):
        raise ValueError(f"kernel size {m} is larger than the input size {len(x)} (mode={mode!r})")
    left, right = {"valid": (0, 0), "same": (m // 2, (m - 1) // 2), "full": (m - 1, m - 1)}[mode]
    padded = np.pad(x, (left, right))
    return sliding_window_view(padded, m) @ k


def conv1d(x, k, mode: str = "valid") -> np.ndarray:
    """1-D convolution: cross-correlation with the kernel reversed.

    ``out[i] = sum_m xp[i + m] * k[M - 1 - m]`` with ``M = len(k)``. Shapes and modes as in `corr1d`:
    ``x`` of shape ``(n,)``, ``k`` of shape ``(m,)`` -> ``(n - m + 1,)``, ``(n,)`` or
    ``(n + m - 1,)``. The result equals ``np.convolve(x, k, mode)`` (including which side gets
    the extra zero in "same" mode for an even-length kernel).
    """
    k = _check(k, "k", {1: "(m,)"})
    return corr1d(x, k[::-1], mode)


# ----------------------------------------------------------------------------------------------
# 2-D, one kernel


def _image_and_kernel(x, k):
    """Check a ``corr2d`` pair and return both with a channel axis: ``(C, H, W)``, ``(C, kh, kw)``."""
    x = _check(x, "x", {2: "(H, W)", 3: "(C, H, W)"})
    k = _check(k, "k", {2: "(kh, kw)", 3: "(C, kh, kw)"})
    if x.ndim != k.ndim:
        raise ValueError(
            f"channel mismatch: x has shape {x.shape} and k has shape {k.shape}; "
            "give both a channel axis (C, ...) or neither"
        )
    if x.ndim == 2:
        x, k = x[None], k[None]
    if x.shape[0] != k.shape[0]:
        raise ValueError(f"channel mismatch: x has {x.shape[0]} channels but k has {k.shape[0]}")
    return x, k


def corr2d(x, k, padding=0, stride=1) -> np.ndarray:
    """2-D cross-correlation -- what CNN libraries call convolution.

    ``out[i, j] = sum over c, m, n of xp[c, i*sh + m, j*sw + n] * k[c, m, n]``, ``xp`` being ``x``
    zero-padded. With several channels the kernel has one slice per channel and the products of all
    channels are added into a single feature map.

    Args:
        x: image, shape ``(H, W)`` or ``(C, H, W)``.
        k: kernel, shape ``(kh, kw)`` or ``(C, kh, kw)`` -- with a channel axis exactly when ``x``
            has one, and as many channels.
        padding: int or ``(rows, cols)``: zeros added on each side.
        stride: int or ``(rows, cols)``: step between kernel positions.

    Returns:
        Array of shape ``(H', W')`` with ``H' = output_size(H, kh, padding, stride)`` and likewise
        ``W'``. Same as ``torch.nn.functional.conv2d`` with one input and one output channel.
    """
    x, k = _image_and_kernel(x, k)
    windows = _windows(x, k.shape[-2:], padding, stride)  # (C, H', W', kh, kw)
    return np.einsum("chwmn,cmn->hw", windows, k, optimize=True)


def conv2d(x, k, padding=0, stride=1) -> np.ndarray:
    """2-D convolution: `corr2d` with the kernel turned by 180 degrees (flipped along both axes).

    Only the two spatial axes of the kernel are flipped, never the channel axis. Shapes as in
    `corr2d`: ``x`` ``(H, W)`` or ``(C, H, W)``, ``k`` ``(kh, kw)`` or ``(C, kh, kw)`` ->
    ``(H', W')``.
    """
    k = _check(k, "k", {2: "(kh, kw)", 3: "(C, kh, kw)"})
    return corr2d(x, np.flip(k, axis=(-2, -1)), padding, stride)


def corr2d_loops(x, k, padding=0, stride=1) -> np.ndarray:
    """`corr2d` spelled out with loops: the same result, one output value at a time.

    Meant to be read next to `corr2d`. Shapes as in `corr2d`: ``x`` ``(H, W)`` or ``(C, H, W)``,
    ``k`` ``(kh, kw)`` or ``(C, kh, kw)`` -> ``(H', W')``. Slow: use it on small examples only.
    """
    x, k = _image_and_kernel(x, k)
    _, kh, kw = k.shape
    rows, cols = _check(padding, "padding")
    step_rows, step_cols = _check(stride, "stride")
    out_h = output_size(x.shape[1], kh, rows, step_rows)
    out_w = output_size(x.shape[2], kw, cols, step_cols)

    padded = pad2d(x, (rows, cols))
    out = np.zeros((out_h, out_w), dtype=np.result_type(x, k))
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * step_rows, j * step_cols
            patch = padded[:, top : top + kh, left : left + kw]  # (C, kh, kw), like k
            out[i, j] = np.sum(patch * k)
    return out


# ----------------------------------------------------------------------------------------------
# 2-D, a whole layer


def corr2d_multi(x, w, b=None, padding=0, stride=1) -> np.ndarray:
    """A convolutional layer's forward pass: ``O`` kernels over a (batch of) ``C``-channel image(s).

    Computes the same as ``torch.nn.functional.conv2d(x, w, b, stride, padding)``.

    Args:
        x: images, shape ``(C, H, W)`` or ``(N, C, H, W)``.
        w: kernels, shape ``(O, C, kh, kw)``: one ``(C, kh, kw)`` kernel per output channel.
        b: optional bias, shape ``(O,)``: one number added to each output channel.
        padding: int or ``(rows, cols)``: zeros added on each side.
        stride: int or ``(rows, cols)``.

    Returns:
        Shape ``(O, H', W')`` or ``(N, O, H', W')`` (following ``x``), ``H'`` and ``W'`` as given by
        `output_size`. float32 inputs give float32.

    How: "im2col". Every patch the kernels visit is unrolled into one column of a matrix of shape
    ``(C*kh*kw, N*H'*W')``; each kernel, unrolled the same way, is a row of ``w`` reshaped to
    ``(O, C*kh*kw)``. One matrix product then computes every output value at once, which is what
    makes it fast.
    """
    x = _check(x, "x", {3: "(C, H, W)", 4: "(N, C, H, W)"})
    w = _check(w, "w", {4: "(O, C, kh, kw)"})
    batched = x.ndim == 4
    if not batched:
        x = x[None]
    n, c = x.shape[:2]
    o, c_w, kh, kw = w.shape
    if c != c_w:
        raise ValueError(f"channel mismatch: x has {c} channels but w expects {c_w}")

    windows = _windows(x, (kh, kw), padding, stride)  # (N, C, H', W', kh, kw)
    out_h, out_w = windows.shape[2:4]
    # Order the axes (C, kh, kw | N, H', W') so the reshape below matches w's layout; this reshape
    # is where the patches are copied out (the innermost axis, W', is contiguous in x: a fast copy).
    columns = windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * out_h * out_w)
    out = w.reshape(o, c * kh * kw) @ columns  # (O, N*H'*W')
    out = out.reshape(o, n, out_h, out_w).transpose(1, 0, 2, 3)

    if b is not None:
        b = _check(b, "b", {1: "(O,)"})
        if len(b) != o:
            raise ValueError(f"bias has {len(b)} values but w has {o} output channels")
        out = out + b[:, None, None]
    return out if batched else out[0]


# ----------------------------------------------------------------------------------------------
# Pooling


def _lowest(dtype) -> float | int:
    """A padding value that never wins a max: -inf for floats, the smallest int for ints."""
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype).min
    return -np.inf


def pool2d(x, size, stride=None, padding=0, mode: str = "max") -> np.ndarray:
    """Pooling: summarise every window of the last two axes by its max, mean or sum.

    Each channel (and each image of a batch) is pooled on its own.

    Args:
        x: shape ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
        size: window size, int or ``(rows, cols)``.
        stride: step between windows, int or ``(rows, cols)``; defaults to ``size``
            (windows side by side, no overlap).
        padding: int or ``(rows, cols)``, at most half the window size (as in PyTorch).
            As in PyTorch, "max" pads with -inf (the smallest integer for integer input), so
            padding never wins; "avg" and "sum" pad with zeros, and "avg" divides by the full
            window size, counting the padded zeros (PyTorch's ``count_include_pad=True``).
        mode: "max", "avg" or "sum".

    Returns:
        Shape ``(..., H', W')`` with ``H' = output_size(H, size, padding, stride)``. "max" and
        "sum" keep the dtype kind of ``x``; "avg" gives floats.
    """
    x = _check(x, "x", IMAGE_SHAPES)
    mode = _check(mode, "mode", choices=POOL_MODES)
    size = _check(size, "size")
    stride = size if stride is None else _check(stride, "stride")
    padding = _check(padding, "padding")
    if any(p > s // 2 for p, s in zip(padding, size)):
        raise ValueError(f"padding {padding} must be at most half the pooling size {size}")

    pad_value = _lowest(x.dtype) if mode == "max" else 0
    windows = _windows(x, size, padding, stride, pad_value)  # (..., H', W', kh, kw)
    summarise = {"max": np.max, "avg": np.mean, "sum": np.sum}[mode]
    return summarise(windows, axis=(-2, -1))
