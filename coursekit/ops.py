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
accepts nested lists, NumPy arrays and (CPU) torch tensors.

**Result dtype.** Every array argument goes through one validation layer, `as_array`, which
widens it before any arithmetic:

* booleans and integers of any width (``uint8`` as MNIST loads, ``int16``, ``int32``, ...) become
  ``int64``, so integer examples stay exact and print as on paper -- ``corr2d`` of a ``uint8`` 3x3
  of 200s with a ``uint8`` kernel of ones is 1800, not 1800 mod 256;
* ``float16`` (and torch's ``bfloat16``) become ``float32``; ``float32`` and ``float64`` stay.

The result dtype is then what NumPy's promotion (`numpy.result_type`) gives for the widened
inputs (see `result_dtype`): all-integer inputs give ``int64``; ``float32`` with ``float32`` gives
``float32``; any other mix gives ``float64``. Average pooling of integers gives ``float64``. An
integer result is exact, or refused: when the largest possible sum (largest ``|x|`` times largest
``|k|`` times the number of products) would not fit ``int64``, the op raises
`IntegerOverflowError` instead of wrapping around. Complex numbers, strings, objects and ragged
nested lists are refused with a ValueError naming the argument.

**Memory cap.** Before allocating anything, every op estimates the bytes it will hold at once
(the padded input, the matrix of patches -- the "im2col" matrix of `corr2d_multi`, ``C*kh*kw``
by ``N*H'*W'`` numbers -- and the output). Above `MAX_BYTES` (1 GiB unless you change it) it
raises `MemoryLimitError`, naming the shapes and the estimate, instead of making the machine
swap. Raise the cap for one call with ``max_bytes=...`` or for the session with
``coursekit.ops.MAX_BYTES = 4 * 2**30``.

Every error names the argument, the value it got and what was expected.
"""

from __future__ import annotations

import math
import numbers
import operator
import sys
import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from coursekit.errors import UnknownName

__all__ = [
    "MAX_BYTES",
    "MemoryLimitError",
    "IntegerOverflowError",
    "as_array",
    "as_pair",
    "check_memory",
    "result_dtype",
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

MAX_BYTES: int = 2**30
"""The most memory (bytes) one op may allocate; raise it, or pass ``max_bytes=`` to one call."""

_INT64 = np.iinfo(np.int64)


class MemoryLimitError(MemoryError, ValueError):
    """An op would allocate more than `MAX_BYTES` (or its ``max_bytes`` argument).

    Subclasses MemoryError (what running out of memory raises) and ValueError (what a bad argument
    raises); the message names the op, the shapes, the estimate and the way to raise the cap.
    """


class IntegerOverflowError(OverflowError, ValueError):
    """Integer inputs whose exact sums might not fit ``int64``; convert them to float first."""


# ----------------------------------------------------------------------------------------------
# Input checking: every public function goes through these, so each problem is reported by the
# same message wherever it happens.


def _bytes(n: float) -> str:
    """A byte count for people: ``'1.5 GiB'``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _limit(max_bytes) -> float:
    """The cap in bytes: ``max_bytes`` if given, else the module's `MAX_BYTES`."""
    cap = MAX_BYTES if max_bytes is None else max_bytes
    if isinstance(cap, bool) or not isinstance(cap, numbers.Real) or not cap > 0:
        where = "MAX_BYTES" if max_bytes is None else "max_bytes"
        raise ValueError(f"{where} must be a positive number of bytes (or math.inf), got {cap!r}")
    return cap


def check_memory(op: str, dtype, parts: dict[str, int], inputs: str, max_bytes=None) -> None:
    """Raise `MemoryLimitError` if arrays of ``parts`` items (name -> count) would exceed the cap.

    Every op calls this before allocating. ``op`` names the caller ("corr2d"), ``dtype`` is the
    items' dtype, ``inputs`` describes the arguments for the message (e.g. ``"x (3, 5, 5)"``) and
    ``max_bytes`` overrides `MAX_BYTES` for this call.
    """
    itemsize = np.dtype(dtype).itemsize
    total = sum(parts.values()) * itemsize
    cap = _limit(max_bytes)
    if total > cap:
        largest = max(parts, key=parts.get)
        raise MemoryLimitError(
            f"{op} with {inputs} would allocate about {_bytes(total)} ({largest}: "
            f"{parts[largest]:,} {np.dtype(dtype).name} numbers), more than the limit of {_bytes(cap)}; "
            f"use smaller inputs, a smaller kernel or a larger stride, or raise the limit with "
            f"max_bytes=... (or coursekit.ops.MAX_BYTES)"
        )


def _to_numpy(value, name: str) -> np.ndarray:
    """``value`` as a NumPy array (no copy when it already is one); tensors are detached."""
    if isinstance(value, np.ndarray):
        return value
    torch = sys.modules.get("torch")  # a tensor can only exist if torch was imported
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach()
        if t.is_complex():
            raise ValueError(
                f"{name} must hold real numbers, got a complex tensor (dtype {t.dtype}); "
                f"use {name}.real or {name}.abs()"
            )
        try:
            t = t.cpu().resolve_conj().resolve_neg()
        except Exception as error:  # e.g. the "meta" device, which holds no values
            raise ValueError(
                f"{name} is a tensor on device {str(value.device)!r} whose values cannot "
                f"be read ({error}); move it to the CPU first"
            ) from None
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()
        try:
            return t.numpy()
        except Exception as error:
            raise ValueError(
                f"{name} must hold numbers; this tensor (dtype {t.dtype}) cannot be read as a NumPy array: {error}"
            ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(value)
    except Exception as error:  # ragged nesting, objects whose __array__ fails, ...
        raise ValueError(
            f"{name} must be an array of numbers whose rows all have the same length; NumPy cannot "
            f"turn the {type(value).__name__} it got into one ({error})"
        ) from None


def _element_types(array: np.ndarray) -> str:
    names = sorted({type(v).__name__ for v in array.flat[:1000]})
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")


def as_array(value, name: str = "x", shapes: dict[int, str] | None = None, max_bytes=None) -> np.ndarray:
    """``value`` as a widened NumPy array of numbers -- the validation layer of every op here.

    Args:
        value: nested lists, a NumPy array or a CPU torch tensor (detached, not modified).
        name: the argument's name, used in error messages ("x", "k", "w", ...).
        shapes: if given, maps each allowed number of dimensions to its description, e.g.
            ``{2: "(H, W)", 3: "(C, H, W)"}``; other ndims are refused.
        max_bytes: memory cap for the widened copy (default `MAX_BYTES`).

    Returns:
        An array of dtype ``int64`` (from bool or any integer type), ``float32`` (from float16,
        bfloat16 or float32) or ``float64``, with the shape of ``value``. No copy when ``value``
        is already an int64/float32/float64 array.

    Raises:
        ValueError: ragged lists, strings, objects, complex numbers, an empty array, or a number
            of dimensions not in ``shapes``; the message names ``name`` and what it got.
        IntegerOverflowError: uint64 values beyond int64.
        MemoryLimitError: the widened copy would exceed the memory cap.
    """
    array = _to_numpy(value, name)
    kind = array.dtype.kind
    if kind == "c":
        raise ValueError(
            f"{name} must hold real numbers, got complex values (dtype {array.dtype}); use {name}.real or abs({name})"
        )
    if kind not in "biuf":
        detail = f" (elements of type {_element_types(array)})" if kind == "O" else ""
        if kind in "US":
            detail = " (text, not numbers)"
        raise ValueError(f"{name} must hold numbers, got an array of dtype {array.dtype}{detail}")
    if shapes is not None and array.ndim not in shapes:
        allowed = " or ".join(f"{n}-D {shape}" for n, shape in shapes.items())
        raise ValueError(f"{name} must be {allowed}; got {array.ndim}-D with shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {array.shape}")

    target = result_dtype(array.dtype)
    if target != array.dtype:
        check_memory(
            "as_array",
            target,
            {f"{name} as {target.name}": array.size},
            f"{name} {array.shape} {array.dtype}",
            max_bytes,
        )
        if array.dtype == np.uint64 and int(array.max()) > _INT64.max:
            raise IntegerOverflowError(
                f"{name} holds values up to {int(array.max())}, beyond int64 (at most {_INT64.max}); "
                f"convert it to float first: {name}.astype(float)"
            )
        array = array.astype(target)
    return array


def result_dtype(*dtypes) -> np.dtype:
    """The dtype an op returns for inputs of these dtypes (arrays are accepted too).

    Each dtype is widened first -- bool and every integer type to int64, float16 to float32 --
    then combined by NumPy's promotion: ``result_dtype(np.uint8, np.uint8)`` is int64,
    ``result_dtype(np.float32, np.float32)`` float32, ``result_dtype(np.uint8, np.float32)``
    float64.
    """
    widened = []
    for d in dtypes:
        d = d.dtype if isinstance(d, (np.ndarray, np.generic)) else np.dtype(d)
        if d.kind in "biu":
            d = np.dtype(np.int64)
        elif d == np.float16:
            d = np.dtype(np.float32)
        widened.append(d)
    return np.result_type(*widened)


def _largest_magnitude(array: np.ndarray) -> int:
    return max(abs(int(array.max())), abs(int(array.min())))


def _exact_sums(op: str, dtype, factors: dict[str, np.ndarray], terms: int, offset=None) -> None:
    """For an int64 result, raise `IntegerOverflowError` if a sum of ``terms`` products might overflow.

    The bound is the product of the factors' largest magnitudes, times ``terms``, plus the largest
    magnitude of ``offset`` (a bias). Python integers compute it exactly.
    """
    if np.dtype(dtype).kind != "i":
        return
    bound = terms * math.prod(_largest_magnitude(a) for a in factors.values())
    if offset is not None:
        bound += _largest_magnitude(offset)
    if bound > _INT64.max:
        names = " and ".join(factors)
        raise IntegerOverflowError(
            f"{op}: integer inputs give an exact int64 result, but with these values ({names}) a sum "
            f"of {terms} products could reach {float(bound):.3g}, beyond int64's {float(_INT64.max):.3g}; "
            f"convert to float first (e.g. x.astype(float)) to compute in float64"
        )


def as_pair(value, name: str, smallest: int = 1) -> tuple[int, int]:
    """A size, stride or padding -- an int or a ``(rows, cols)`` pair -- as a pair of ints.

    Each entry must be at least ``smallest`` (1 for sizes and strides, 0 for paddings).
    Raises ValueError naming ``name`` and the value otherwise (floats and booleans included).
    """
    wanted = "an int or a pair of ints"
    try:
        pair = (value, value) if np.ndim(value) == 0 else tuple(value)
        if any(isinstance(v, (bool, np.bool_)) for v in pair):
            raise TypeError
        pair = tuple(operator.index(v) for v in pair)
    except Exception:
        raise ValueError(f"{name} must be {wanted}, got {value!r}") from None
    if len(pair) != 2:
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    if min(pair) < smallest:
        kind = "non-negative" if smallest == 0 else "positive"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return pair


def _padding(value) -> tuple[int, int]:
    return as_pair(value, "padding", smallest=0)


def _choice(value, name: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``; else `UnknownName` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise UnknownName(name, value, choices)
    return value


def _int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def output_size(n: int, f: int, padding: int = 0, stride: int = 1) -> int:
    """Number of positions a window of size ``f`` takes along an axis of size ``n``.

    ``floor((n + 2 * padding - f) / stride) + 1``: the input gains ``padding`` cells on each side,
    and the window moves ``stride`` cells at a time while it fits entirely inside.

    All arguments are ints. Raises ValueError if one is not an int, ``n`` or ``f`` is below 1,
    ``padding`` is negative, ``stride`` is below 1, or the window is larger than the padded input.

    >>> output_size(5, 3), output_size(5, 3, padding=1), output_size(5, 3, stride=2)
    (3, 5, 2)
    """
    n, f = _int(n, "n (the input size)"), _int(f, "f (the kernel size)")
    padding, stride = _int(padding, "padding"), _int(stride, "stride")
    if n < 1:
        raise ValueError(f"n (the input size) must be positive, got n={n}")
    if f < 1:
        raise ValueError(f"f (the kernel size) must be positive, got f={f}")
    _padding(padding)
    as_pair(stride, "stride")
    if f > n + 2 * padding:
        raise ValueError(f"kernel size {f} is larger than the padded input size {n + 2 * padding}")
    return (n + 2 * padding - f) // stride + 1


def _output_shape(hw, size, padding, stride) -> tuple[int, int]:
    """``(H', W')`` for an ``(H, W)`` input and a ``size`` window (pairs already checked)."""
    return (output_size(hw[0], size[0], padding[0], stride[0]), output_size(hw[1], size[1], padding[1], stride[1]))


def _padded_items(shape, padding) -> int:
    *lead, h, w = shape
    return math.prod(lead) * (h + 2 * padding[0]) * (w + 2 * padding[1])


def _pad(x: np.ndarray, padding, value) -> np.ndarray:
    rows, cols = padding
    if rows == cols == 0:
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(rows, rows), (cols, cols)]
    return np.pad(x, widths, constant_values=value)


def _windows(x: np.ndarray, size, padding, stride, pad_value=0) -> np.ndarray:
    """All ``size``-shaped windows of the (padded) last two axes of ``x``, taken every ``stride``.

    ``x`` of shape ``(..., H, W)`` gives a read-only view of shape ``(..., H', W', kh, kw)``:
    ``[..., i, j, :, :]`` is the patch under the kernel at output position ``(i, j)``. Apart from
    the padding, no data is copied -- the view re-reads the same memory with different strides.
    Sizes must have been checked (`_output_shape`) and the memory reserved by the caller.
    """
    padded = _pad(x, padding, pad_value)
    (kh, kw), (sh, sw) = size, stride
    sh, sw = min(sh, padded.shape[-2]), min(sw, padded.shape[-1])  # same windows; slices need small steps
    windows = sliding_window_view(padded, (kh, kw), axis=(-2, -1))
    return windows[..., ::sh, ::sw, :, :]


def _fill_value(value, dtype: np.dtype):
    """``pad2d``'s fill value and the result dtype: x's, or float64 for a non-integer fill of ints."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
            value = value.item()
        else:
            raise ValueError(f"value must be a single real number (the fill value), got {value!r}")
    if dtype.kind == "i":
        if float(value).is_integer() and _INT64.min <= value <= _INT64.max:
            return int(value), dtype
        return float(value), np.dtype(np.float64)
    return float(value), dtype


def pad2d(x, padding, value=0, *, max_bytes=None) -> np.ndarray:
    """Surround the last two axes of ``x`` with a border of ``value``.

    Args:
        x: array of shape ``(H, W)``, ``(C, H, W)`` or ``(N, C, H, W)``.
        padding: int, or a ``(rows, cols)`` pair: ``rows`` are added at the top and at the bottom,
            ``cols`` on the left and on the right.
        value: the fill value, a real number (0 is "zero padding").
        max_bytes: memory cap for this call (default `MAX_BYTES`).

    Returns:
        Array of shape ``(..., H + 2 * rows, W + 2 * cols)`` of x's widened dtype (int64,
        float32 or float64); float64 if ``x`` holds integers and ``value`` is not a whole number.
    """
    x = as_array(x, "x", IMAGE_SHAPES, max_bytes)
    padding = _padding(padding)
    fill, dtype = _fill_value(value, x.dtype)
    check_memory(
        "pad2d", dtype, {"padded x": _padded_items(x.shape, padding)}, f"x {x.shape}, padding {padding}", max_bytes
    )
    widths = [(0, 0)] * (x.ndim - 2) + [(padding[0],) * 2, (padding[1],) * 2]
    return np.pad(x.astype(dtype, copy=False), widths, constant_values=fill)  # always a new array


# ----------------------------------------------------------------------------------------------
# 1-D


def corr1d(x, k, mode: str = "valid", *, max_bytes=None) -> np.ndarray:
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
        max_bytes: memory cap for this call (default `MAX_BYTES`).

    Returns:
        Array of the shape given above, dtype `result_dtype` of ``x`` and ``k``. Equals
        ``np.correlate(x, k, mode)``.
    """
    x = as_array(x, "x", {1: "(n,)"}, max_bytes)
    k = as_array(k, "k", {1: "(m,)"}, max_bytes)
    mode = _choice(mode, "mode", MODES_1D)
    m = len(k)
    if mode != "full" and m > len(x):
        raise ValueError(
            f"kernel size {m} is larger than the input size {len(x)} (mode={mode!r}); "
            f"use mode='full' or a shorter kernel"
        )
    left, right = {"valid": (0, 0), "same": (m // 2, (m - 1) // 2), "full": (m - 1, m - 1)}[mode]
    dtype = np.result_type(x, k)
    n_out = len(x) + left + right - m + 1
    check_memory(
        "corr1d",
        dtype,
        {"padded x": len(x) + left + right, "windows (n', m)": n_out * m, "output": n_out},
        f"x {x.shape}, k {k.shape}",
        max_bytes,
    )
    _exact_sums("corr1d", dtype, {"x": x, "k": k}, m)
    padded = np.pad(x.astype(dtype, copy=False), (left, right))
    return sliding_window_view(padded, m) @ k.astype(dtype, copy=False)


def conv1d(x, k, mode: str = "valid", *, max_bytes=None) -> np.ndarray:
    """1-D convolution: cross-correlation with the kernel reversed.

    ``out[i] = sum_m xp[i + m] * k[M - 1 - m]`` with ``M = len(k)``. Shapes and modes as in `corr1d`:
    ``x`` of shape ``(n,)``, ``k`` of shape ``(m,)`` -> ``(n - m + 1,)``, ``(n,)`` or
    ``(n + m - 1,)``, dtype `result_dtype` of ``x`` and ``k``. The result equals
    ``np.convolve(x, k, mode)`` (including which side gets the extra zero in "same" mode for an
    even-length kernel).
    """
    k = as_array(k, "k", {1: "(m,)"}, max_bytes)
    return corr1d(x, k[::-1], mode, max_bytes=max_bytes)


# ----------------------------------------------------------------------------------------------
# 2-D, one kernel


def _image_and_kernel(x, k, max_bytes):
    """Check a ``corr2d`` pair and return both with a channel axis: ``(C, H, W)``, ``(C, kh, kw)``,
    then a description of the shapes as given."""
    x = as_array(x, "x", {2: "(H, W)", 3: "(C, H, W)"}, max_bytes)
    k = as_array(k, "k", {2: "(kh, kw)", 3: "(C, kh, kw)"}, max_bytes)
    if x.ndim != k.ndim:
        raise ValueError(
            f"channel mismatch: x has shape {x.shape} and k has shape {k.shape}; "
            "give both a channel axis (C, ...) or neither"
        )
    given = x.ndim
    if x.ndim == 2:
        x, k = x[None], k[None]
    if x.shape[0] != k.shape[0]:
        raise ValueError(f"channel mismatch: x has {x.shape[0]} channels but k has {k.shape[0]}")
    return x, k, f"x {x.shape if given == 3 else x.shape[1:]}, k {k.shape if given == 3 else k.shape[1:]}"


def _prepare_corr2d(op, x, k, padding, stride, max_bytes, with_patches=True):
    """Shared checks of `corr2d` and `corr2d_loops`: arrays, sizes, memory and integer range."""
    x, k, shapes = _image_and_kernel(x, k, max_bytes)
    padding, stride = _padding(padding), as_pair(stride, "stride")
    c, kh, kw = k.shape
    out_h, out_w = _output_shape(x.shape[1:], (kh, kw), padding, stride)
    dtype = np.result_type(x, k)
    parts = {"padded x": _padded_items(x.shape, padding), "output": out_h * out_w}
    if with_patches:
        parts["patches (C*kh*kw, H'*W')"] = c * kh * kw * out_h * out_w
    inputs = f"{shapes}, padding {padding}, stride {stride}"
    check_memory(op, dtype, parts, inputs, max_bytes)
    _exact_sums(op, dtype, {"x": x, "k": k}, c * kh * kw)
    return x.astype(dtype, copy=False), k.astype(dtype, copy=False), padding, stride, (out_h, out_w)


def corr2d(x, k, padding=0, stride=1, *, max_bytes=None) -> np.ndarray:
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
        max_bytes: memory cap for this call (default `MAX_BYTES`).

    Returns:
        Array of shape ``(H', W')`` with ``H' = output_size(H, kh, padding, stride)`` and likewise
        ``W'``, dtype `result_dtype` of ``x`` and ``k``. Same as ``torch.nn.functional.conv2d``
        with one input and one output channel.
    """
    x, k, padding, stride, _ = _prepare_corr2d("corr2d", x, k, padding, stride, max_bytes)
    windows = _windows(x, k.shape[-2:], padding, stride)  # (C, H', W', kh, kw)
    return np.einsum("chwmn,cmn->hw", windows, k, optimize=True)


def conv2d(x, k, padding=0, stride=1, *, max_bytes=None) -> np.ndarray:
    """2-D convolution: `corr2d` with the kernel turned by 180 degrees (flipped along both axes).

    Only the two spatial axes of the kernel are flipped, never the channel axis. Shapes as in
    `corr2d`: ``x`` ``(H, W)`` or ``(C, H, W)``, ``k`` ``(kh, kw)`` or ``(C, kh, kw)`` ->
    ``(H', W')``, dtype `result_dtype` of ``x`` and ``k``.
    """
    k = as_array(k, "k", {2: "(kh, kw)", 3: "(C, kh, kw)"}, max_bytes)
    return corr2d(x, np.flip(k, axis=(-2, -1)), padding, stride, max_bytes=max_bytes)


def corr2d_loops(x, k, padding=0, stride=1, *, max_bytes=None) -> np.ndarray:
    """`corr2d` spelled out with loops: the same result, one output value at a time.

    Meant to be read next to `corr2d`. Shapes as in `corr2d`: ``x`` ``(H, W)`` or ``(C, H, W)``,
    ``k`` ``(kh, kw)`` or ``(C, kh, kw)`` -> ``(H', W')``, dtype `result_dtype` of ``x`` and
    ``k``. Slow: use it on small examples only.
    """
    x, k, (rows, cols), (step_rows, step_cols), (out_h, out_w) = _prepare_corr2d(
        "corr2d_loops", x, k, padding, stride, max_bytes, with_patches=False
    )
    _, kh, kw = k.shape
    padded = _pad(x, (rows, cols), 0)
    out = np.zeros((out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * step_rows, j * step_cols
            patch = padded[:, top : top + kh, left : left + kw]  # (C, kh, kw), like k
            out[i, j] = np.sum(patch * k)
    return out


# ----------------------------------------------------------------------------------------------
# 2-D, a whole layer


def corr2d_multi(x, w, b=None, padding=0, stride=1, *, max_bytes=None) -> np.ndarray:
    """A convolutional layer's forward pass: ``O`` kernels over a (batch of) ``C``-channel image(s).

    Computes the same as ``torch.nn.functional.conv2d(x, w, b, stride, padding)``.

    Args:
        x: images, shape ``(C, H, W)`` or ``(N, C, H, W)``.
        w: kernels, shape ``(O, C, kh, kw)``: one ``(C, kh, kw)`` kernel per output channel.
        b: optional bias, shape ``(O,)``: one number added to each output channel.
        padding: int or ``(rows, cols)``: zeros added on each side.
        stride: int or ``(rows, cols)``.
        max_bytes: memory cap for this call (default `MAX_BYTES`); the im2col matrix below is
            usually the largest allocation.

    Returns:
        Shape ``(O, H', W')`` or ``(N, O, H', W')`` (following ``x``), ``H'`` and ``W'`` as given by
        `output_size`; dtype `result_dtype` of ``x``, ``w`` (and ``b``): float32 inputs give float32.

    How: "im2col". Every patch the kernels visit is unrolled into one column of a matrix of shape
    ``(C*kh*kw, N*H'*W')``; each kernel, unrolled the same way, is a row of ``w`` reshaped to
    ``(O, C*kh*kw)``. One matrix product then computes every output value at once, which is what
    makes it fast.
    """
    x = as_array(x, "x", {3: "(C, H, W)", 4: "(N, C, H, W)"}, max_bytes)
    w = as_array(w, "w", {4: "(O, C, kh, kw)"}, max_bytes)
    given_shape = x.shape
    batched = x.ndim == 4
    if not batched:
        x = x[None]
    n, c = x.shape[:2]
    o, c_w, kh, kw = w.shape
    if c != c_w:
        raise ValueError(f"channel mismatch: x has {c} channels but w expects {c_w}")
    if b is not None:
        b = as_array(b, "b", {1: "(O,)"}, max_bytes)
        if len(b) != o:
            raise ValueError(f"bias has {len(b)} values but w has {o} output channels")
    padding, stride = _padding(padding), as_pair(stride, "stride")
    out_h, out_w = _output_shape(x.shape[2:], (kh, kw), padding, stride)

    dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
    check_memory(
        "corr2d_multi",
        dtype,
        {
            "padded x": _padded_items(x.shape, padding),
            f"im2col matrix ({c * kh * kw}, {n * out_h * out_w})": c * kh * kw * n * out_h * out_w,
            "output and its transposed copy": 2 * n * o * out_h * out_w,
        },
        f"x {given_shape}, w {w.shape}, padding {padding}, stride {stride}",
        max_bytes,
    )
    _exact_sums("corr2d_multi", dtype, {"x": x, "w": w}, c * kh * kw, offset=b)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)

    windows = _windows(x, (kh, kw), padding, stride)  # (N, C, H', W', kh, kw)
    # Order the axes (C, kh, kw | N, H', W') so the reshape below matches w's layout; this reshape
    # is where the patches are copied out (the innermost axis, W', is contiguous in x: a fast copy).
    columns = windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * out_h * out_w)
    out = w.reshape(o, c * kh * kw) @ columns  # (O, N*H'*W')
    out = out.reshape(o, n, out_h, out_w).transpose(1, 0, 2, 3)

    if b is not None:
        out = out + b.astype(dtype, copy=False)[:, None, None]
    return out if batched else out[0]


# ----------------------------------------------------------------------------------------------
# Pooling


def _lowest(dtype) -> float | int:
    """A padding value that never wins a max: -inf for floats, the smallest int for ints."""
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype).min
    return -np.inf


def pool2d(x, size, stride=None, padding=0, mode: str = "max", *, max_bytes=None) -> np.ndarray:
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
        max_bytes: memory cap for this call (default `MAX_BYTES`).

    Returns:
        Shape ``(..., H', W')`` with ``H' = output_size(H, size, padding, stride)``. "max" and
        "sum" give x's widened dtype (int64 for any integer or bool input, float32, float64);
        "avg" gives float64 for integer input and x's float dtype otherwise.
    """
    x = as_array(x, "x", IMAGE_SHAPES, max_bytes)
    mode = _choice(mode, "mode", POOL_MODES)
    size = as_pair(size, "size")
    stride = size if stride is None else as_pair(stride, "stride")
    padding = _padding(padding)
    if any(p > s // 2 for p, s in zip(padding, size, strict=True)):
        raise ValueError(f"padding {padding} must be at most half the pooling size {size}")
    out_h, out_w = _output_shape(x.shape[-2:], size, padding, stride)
    out_items = math.prod(x.shape[:-2]) * out_h * out_w
    check_memory(
        "pool2d",
        x.dtype,
        {"padded x": _padded_items(x.shape, padding), "output": out_items},
        f"x {x.shape}, size {size}, stride {stride}, padding {padding}",
        max_bytes,
    )
    if mode == "sum":
        _exact_sums("pool2d", x.dtype, {"x": x}, size[0] * size[1])

    pad_value = _lowest(x.dtype) if mode == "max" else 0
    windows = _windows(x, size, padding, stride, pad_value)  # (..., H', W', kh, kw)
    summarise = {"max": np.max, "avg": np.mean, "sum": np.sum}[mode]
    return summarise(windows, axis=(-2, -1))
