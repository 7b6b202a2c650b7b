"""Bad inputs to coursekit.ops, filters, reference and checks: each gets a clear error.

Every case asserts the exception *type* and that the message names the problem -- the argument,
the value it got, what was expected. None of them may end in a raw NumPy/torch traceback, a NaN
result or a silently wrapped-around integer.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coursekit import checks, filters, ops, reference
from coursekit.errors import UnknownName

IMG = np.ones((5, 5))
K3 = np.ones((3, 3))
X3 = np.ones((2, 5, 5))
W = np.ones((4, 2, 3, 3))
INF = float("inf")
NAN = float("nan")


def _huge(shape, dtype=np.float32):
    return np.broadcast_to(np.zeros((), dtype), shape)  # no memory behind it


def _register_then_duplicate():
    key = checks.exercises()[0]
    checks.exercise(key, hint="again")(lambda: 0)


MemoryLimit, Overflow = ops.MemoryLimitError, ops.IntegerOverflowError

CASES = {
    # ---- ops: what an array argument holds
    "text image": (lambda: ops.corr2d("abc", K3), ValueError, r"x must hold numbers, got an array of dtype <U3"),
    "text grid": (
        lambda: ops.corr2d([["a", "b"], ["c", "d"]], K3),
        ValueError,
        r"x must hold numbers.*\(text, not numbers\)",
    ),
    "ragged image": (
        lambda: ops.corr2d([[1, 2], [3]], K3),
        ValueError,
        r"x must be an array of numbers whose rows all have the same length; NumPy cannot turn the list",
    ),
    "dict kernel": (
        lambda: ops.corr2d(IMG, {"a": 1}),
        ValueError,
        r"k must hold numbers, got an array of dtype object \(elements of type dict\)",
    ),
    "set kernel": (lambda: ops.corr2d(IMG, {1, 2}), ValueError, r"k must hold numbers, .*elements of type set"),
    "None image": (lambda: ops.corr2d(None, K3), ValueError, r"x must hold numbers, .*NoneType"),
    "generator signal": (
        lambda: ops.corr1d((i for i in range(3)), [1]),
        ValueError,
        r"x must hold numbers, .*generator",
    ),
    "complex image": (
        lambda: ops.corr2d(IMG * 1j, K3),
        ValueError,
        r"x must hold real numbers, got complex values \(dtype complex128\)",
    ),
    "complex tensor": (
        lambda: ops.corr2d(torch.ones(5, 5, dtype=torch.complex64), K3),
        ValueError,
        r"x must hold real numbers, got a complex tensor",
    ),
    "meta tensor": (
        lambda: ops.corr2d(torch.ones(5, 5, device="meta"), K3),
        ValueError,
        r"x is a tensor on device 'meta'",
    ),
    "datetime image": (
        lambda: ops.pool2d(np.zeros((2, 2), "datetime64[D]"), 2),
        ValueError,
        r"x must hold numbers, got an array of dtype datetime64\[D\]",
    ),
    "structured image": (
        lambda: ops.pad2d(np.zeros((2, 2), [("a", int)]), 1),
        ValueError,
        r"x must hold numbers, got an array of dtype",
    ),
    "empty image": (lambda: ops.corr2d(np.zeros((0, 5)), K3), ValueError, r"x must not be empty; got shape \(0, 5\)"),
    "empty kernel": (lambda: ops.corr2d(IMG, np.zeros((0, 0))), ValueError, r"k must not be empty; got shape \(0, 0\)"),
    "empty signal": (lambda: ops.conv1d([], [1]), ValueError, r"x must not be empty; got shape \(0,\)"),
    "uint64 beyond int64": (
        lambda: ops.conv1d(np.array([2**63], np.uint64), [1]),
        Overflow,
        r"x holds values up to 9223372036854775808, beyond int64",
    ),
    "int32 sums overflow": (
        lambda: ops.corr2d(np.full((3, 3), 2**31 - 1, np.int32), np.full((3, 3), 2**31 - 1, np.int32)),
        Overflow,
        r"corr2d: .*a sum of 9 products could reach .*convert to float",
    ),
    "int64 sum pooling overflow": (
        lambda: ops.pool2d(np.full((2, 2), 2**62), 2, mode="sum"),
        Overflow,
        r"pool2d: .*\(x\) a sum of 4 products",
    ),
    "int64 layer with bias overflow": (
        lambda: ops.corr2d_multi(np.full((1, 1, 1), 2**62), np.full((1, 1, 1, 1), 2), [2**62]),
        Overflow,
        r"corr2d_multi: .*\(x and w\)",
    ),
    # ---- ops: number of dimensions
    "1-D image": (
        lambda: ops.corr2d(np.ones(5), K3),
        ValueError,
        r"x must be 2-D \(H, W\) or 3-D \(C, H, W\); got 1-D with shape \(5,\)",
    ),
    "0-D image": (lambda: ops.corr2d(3.0, K3), ValueError, r"x must be 2-D .*; got 0-D with shape \(\)"),
    "4-D image for corr2d": (lambda: ops.corr2d(np.ones((1, 1, 5, 5)), K3), ValueError, r"x must be 2-D .* got 4-D"),
    "1-D kernel": (lambda: ops.corr2d(IMG, np.ones(3)), ValueError, r"k must be 2-D \(kh, kw\) or 3-D \(C, kh, kw\)"),
    "2-D signal": (lambda: ops.corr1d(IMG, [1]), ValueError, r"x must be 1-D \(n,\); got 2-D"),
    "2-D 1-D kernel": (lambda: ops.corr1d([1, 2], [[1]]), ValueError, r"k must be 1-D \(m,\); got 2-D"),
    "2-D layer input": (
        lambda: ops.corr2d_multi(IMG, np.ones((1, 1, 3, 3))),
        ValueError,
        r"x must be 3-D \(C, H, W\) or 4-D \(N, C, H, W\); got 2-D",
    ),
    "2-D layer weights": (lambda: ops.corr2d_multi(X3, K3), ValueError, r"w must be 4-D \(O, C, kh, kw\); got 2-D"),
    "2-D bias": (lambda: ops.corr2d_multi(X3, W, np.ones((4, 1))), ValueError, r"b must be 1-D \(O,\); got 2-D"),
    "text bias": (lambda: ops.corr2d_multi(X3, W, "b"), ValueError, r"b must hold numbers"),
    "5-D pooling input": (
        lambda: ops.pool2d(np.ones((1, 1, 1, 5, 5)), 2),
        ValueError,
        r"x must be 2-D .* or 4-D \(N, C, H, W\); got 5-D",
    ),
    "1-D pad input": (
        lambda: ops.pad2d(np.ones(4), 1),
        ValueError,
        r"x must be 2-D \(H, W\) or 3-D \(C, H, W\) or 4-D",
    ),
    # ---- ops: channels
    "channel axis on one side": (
        lambda: ops.corr2d(X3, K3),
        ValueError,
        r"channel mismatch: x has shape \(2, 5, 5\) and k has shape \(3, 3\); give both a channel axis",
    ),
    "channel counts differ": (
        lambda: ops.corr2d(X3, np.ones((3, 3, 3))),
        ValueError,
        r"channel mismatch: x has 2 channels but k has 3",
    ),
    "layer channel counts differ": (
        lambda: ops.corr2d_multi(np.ones((3, 5, 5)), W),
        ValueError,
        r"channel mismatch: x has 3 channels but w expects 2",
    ),
    "bias count": (
        lambda: ops.corr2d_multi(X3, W, np.ones(3)),
        ValueError,
        r"bias has 3 values but w has 4 output channels",
    ),
    # ---- ops: padding, stride, size
    "negative padding": (lambda: ops.corr2d(IMG, K3, padding=-1), ValueError, r"padding must be non-negative, got -1"),
    "negative padding pair": (
        lambda: ops.pad2d(IMG, (1, -1)),
        ValueError,
        r"padding must be non-negative, got \(1, -1\)",
    ),
    "float padding": (
        lambda: ops.corr2d(IMG, K3, padding=1.5),
        ValueError,
        r"padding must be an int or a pair of ints, got 1\.5",
    ),
    "bool padding": (
        lambda: ops.corr2d(IMG, K3, padding=True),
        ValueError,
        r"padding must be an int or a pair of ints, got True",
    ),
    "text padding": (
        lambda: ops.corr2d(IMG, K3, padding="1"),
        ValueError,
        r"padding must be an int or a pair of ints, got '1'",
    ),
    "None padding": (lambda: ops.pad2d(IMG, None), ValueError, r"padding must be an int or a pair of ints, got None"),
    "three paddings": (
        lambda: ops.corr2d(IMG, K3, padding=(1, 2, 3)),
        ValueError,
        r"padding must be an int or a pair of ints, got \(1, 2, 3\)",
    ),
    "zero stride": (lambda: ops.corr2d(IMG, K3, stride=0), ValueError, r"stride must be positive, got 0"),
    "negative stride pair": (
        lambda: ops.corr2d_loops(IMG, K3, stride=(1, -2)),
        ValueError,
        r"stride must be positive, got \(1, -2\)",
    ),
    "float stride": (
        lambda: ops.corr2d_multi(X3, W, stride=2.0),
        ValueError,
        r"stride must be an int or a pair of ints, got 2\.0",
    ),
    "nested stride": (
        lambda: ops.conv2d(IMG, K3, stride=[[1, 1]]),
        ValueError,
        r"stride must be an int or a pair of ints, got \[\[1, 1\]\]",
    ),
    "kernel too big": (
        lambda: ops.corr2d(IMG, np.ones((6, 6))),
        ValueError,
        r"kernel size 6 is larger than the padded input size 5",
    ),
    "kernel too big for 1-D": (
        lambda: ops.corr1d([1, 2], [1, 2, 3]),
        ValueError,
        r"kernel size 3 is larger than the input size 2 \(mode='valid'\); use mode='full'",
    ),
    "zero pooling size": (lambda: ops.pool2d(IMG, 0), ValueError, r"size must be positive, got 0"),
    "float pooling size": (
        lambda: ops.pool2d(IMG, 2.5),
        ValueError,
        r"size must be an int or a pair of ints, got 2\.5",
    ),
    "pooling padding too big": (
        lambda: ops.pool2d(IMG, 2, padding=2),
        ValueError,
        r"padding \(2, 2\) must be at most half the pooling size \(2, 2\)",
    ),
    "pooling window too big": (
        lambda: ops.pool2d(IMG, 6),
        ValueError,
        r"kernel size 6 is larger than the padded input size 5",
    ),
    "zero pooling stride": (lambda: ops.pool2d(IMG, 2, stride=0), ValueError, r"stride must be positive, got 0"),
    # ---- ops: modes and fill values
    "unknown 1-D mode": (
        lambda: ops.corr1d([1, 2, 3], [1], mode="half"),
        UnknownName,
        r"unknown mode 'half'; choose one of: full, same, valid",
    ),
    "upper-case 1-D mode": (lambda: ops.conv1d([1, 2, 3], [1], mode="VALID"), UnknownName, r"unknown mode 'VALID'"),
    "None 1-D mode": (lambda: ops.corr1d([1, 2, 3], [1], mode=None), UnknownName, r"unknown mode None"),
    "list 1-D mode": (lambda: ops.corr1d([1, 2, 3], [1], mode=["valid"]), UnknownName, r"unknown mode \['valid'\]"),
    "unknown pooling mode": (
        lambda: ops.pool2d(IMG, 2, mode="median"),
        UnknownName,
        r"unknown mode 'median'; choose one of: avg, max, sum",
    ),
    "text fill value": (
        lambda: ops.pad2d(IMG, 1, value="0"),
        ValueError,
        r"value must be a single real number \(the fill value\), got '0'",
    ),
    "None fill value": (
        lambda: ops.pad2d(IMG, 1, value=None),
        ValueError,
        r"value must be a single real number .*got None",
    ),
    "list fill value": (
        lambda: ops.pad2d(IMG, 1, value=[1, 2]),
        ValueError,
        r"value must be a single real number .*got \[1, 2\]",
    ),
    "complex fill value": (
        lambda: ops.pad2d(IMG, 1, value=1j),
        ValueError,
        r"value must be a single real number .*got 1j",
    ),
    # ---- ops: output_size
    "float input size": (
        lambda: ops.output_size(5.0, 3),
        ValueError,
        r"n \(the input size\) must be an integer, got 5\.0",
    ),
    "text kernel size": (
        lambda: ops.output_size(5, "3"),
        ValueError,
        r"f \(the kernel size\) must be an integer, got '3'",
    ),
    "zero input size": (lambda: ops.output_size(0, 1), ValueError, r"n \(the input size\) must be positive, got n=0"),
    "zero kernel size": (lambda: ops.output_size(5, 0), ValueError, r"f \(the kernel size\) must be positive, got f=0"),
    "bool stride size": (
        lambda: ops.output_size(5, 3, stride=True),
        ValueError,
        r"stride must be an integer, got True",
    ),
    "window larger than input": (
        lambda: ops.output_size(3, 5),
        ValueError,
        r"kernel size 5 is larger than the padded input size 3",
    ),
    # ---- ops: memory
    "im2col too large": (
        lambda: ops.corr2d_multi(_huge((8, 3, 2000, 2000)), _huge((64, 3, 11, 11))),
        MemoryLimit,
        r"corr2d_multi with x \(8, 3, 2000, 2000\), w \(64, 3, 11, 11\).*im2col matrix \(363, 31680800\)",
    ),
    "corr2d patches too large": (
        lambda: ops.corr2d(_huge((5000, 5000)), _huge((50, 50))),
        MemoryLimit,
        r"corr2d with x \(5000, 5000\), k \(50, 50\).*patches",
    ),
    "padding too large": (
        lambda: ops.pad2d(IMG, 100_000),
        MemoryLimit,
        r"pad2d with x \(5, 5\), padding \(100000, 100000\).*298\.0 GiB",
    ),
    "pooling padded input too large": (
        lambda: ops.pool2d(_huge((100, 64, 512, 512)), 2),
        MemoryLimit,
        r"pool2d with x \(100, 64, 512, 512\)",
    ),
    "1-D windows too large": (
        lambda: ops.corr1d(_huge((10**6,)), _huge((10**4,))),
        MemoryLimit,
        r"corr1d with x \(1000000,\), k \(10000,\)",
    ),
    "widened copy too large": (lambda: ops.pool2d(_huge((2**14, 2**14), np.uint8), 2), MemoryLimit, r"x as int64"),
    "zero memory cap": (
        lambda: ops.corr2d(IMG, K3, max_bytes=0),
        ValueError,
        r"max_bytes must be a positive number of bytes \(or math\.inf\), got 0",
    ),
    "text memory cap": (
        lambda: ops.pool2d(IMG, 2, max_bytes="1GB"),
        ValueError,
        r"max_bytes must be a positive number of bytes .*got '1GB'",
    ),
    # ---- filters
    "unknown filter": (
        lambda: filters.get("sobel"),
        UnknownName,
        r"unknown filter 'sobel'; choose one of: box_blur, emboss",
    ),
    "filter None": (lambda: filters.get(None), UnknownName, r"unknown filter None"),
    "filter list": (lambda: filters.get(["sharpen"]), UnknownName, r"unknown filter \['sharpen'\]"),
    "filter wrong case": (lambda: filters.get("Sharpen"), UnknownName, r"unknown filter 'Sharpen'"),
    "even gaussian size": (
        lambda: filters.gaussian(4, 1.0),
        ValueError,
        r"size must be a positive odd integer \(1, 3, 5, \.\.\.\).*got 4",
    ),
    "float gaussian size": (
        lambda: filters.gaussian(3.0, 1.0),
        ValueError,
        r"size must be a positive odd integer.*got 3\.0",
    ),
    "bool gaussian size": (
        lambda: filters.gaussian(True, 1.0),
        ValueError,
        r"size must be a positive odd integer.*got True",
    ),
    "negative gaussian size": (
        lambda: filters.gaussian(-1, 1.0),
        ValueError,
        r"size must be a positive odd integer.*got -1",
    ),
    "zero sigma": (lambda: filters.gaussian(3, 0), ValueError, r"sigma must be positive and finite, got 0"),
    "negative sigma": (lambda: filters.gaussian(3, -2.0), ValueError, r"sigma must be positive and finite, got -2\.0"),
    "nan sigma": (lambda: filters.gaussian(3, NAN), ValueError, r"sigma must be positive and finite, got nan"),
    "infinite sigma": (lambda: filters.gaussian(3, INF), ValueError, r"sigma must be positive and finite, got inf"),
    "text sigma": (
        lambda: filters.gaussian(3, "1"),
        ValueError,
        r"sigma must be a real number \(a standard deviation in pixels\), got '1'",
    ),
    "complex sigma": (lambda: filters.gaussian(3, 1j), ValueError, r"sigma must be a real number .*got 1j"),
    "array sigma": (
        lambda: filters.gaussian(3, np.array([1.0])),
        ValueError,
        r"sigma must be a real number .*got array",
    ),
    "huge gaussian": (lambda: filters.gaussian(100_001, 1.0), MemoryLimit, r"gaussian with size 100001 would allocate"),
    "3-D gradient image": (
        lambda: filters.gradient_magnitude(X3),
        ValueError,
        r"image must be 2-D \(H, W\); got 3-D with shape \(2, 5, 5\)",
    ),
    "text gradient image": (
        lambda: filters.gradient_magnitude("img"),
        ValueError,
        r"image must hold numbers, got an array of dtype <U3",
    ),
    "ragged gradient image": (
        lambda: filters.gradient_magnitude([[1], [2, 3]]),
        ValueError,
        r"image must be an array of numbers whose rows",
    ),
    # ---- reference (same validation, torch arithmetic)
    "reference kernel too big": (
        lambda: reference.corr2d(IMG, np.ones((6, 6))),
        ValueError,
        r"kernel size 6 is larger than the padded input size 5",
    ),
    "reference pooling mode": (
        lambda: reference.pool2d(IMG, 2, mode="median"),
        UnknownName,
        r"unknown mode 'median'; choose one of: avg, max, sum",
    ),
    "reference 1-D mode": (lambda: reference.corr1d([1, 2], [1], "middle"), UnknownName, r"unknown mode 'middle'"),
    "reference layer channels": (
        lambda: reference.corr2d_multi(np.ones((3, 5, 5)), W),
        ValueError,
        r"x has 3 channels but w expects 2",
    ),
    "reference fill value": (
        lambda: reference.pad2d(IMG, 1, value="0"),
        ValueError,
        r"value must be a single real number",
    ),
    "reference text image": (lambda: reference.corr2d("abc", K3), ValueError, r"x must hold numbers"),
    "reference pooling padding": (
        lambda: reference.pool2d(IMG, 2, padding=2),
        ValueError,
        r"at most half the pooling size",
    ),
    "reference channel axis": (
        lambda: reference.conv2d(IMG, np.ones((2, 3, 3))),
        ValueError,
        r"channel mismatch: x has shape \(5, 5\)",
    ),
    "reference negative stride": (
        lambda: reference.corr2d(IMG, K3, stride=-1),
        ValueError,
        r"stride must be positive, got -1",
    ),
    "reference huge padding": (lambda: reference.pad2d(IMG, 100_000), MemoryLimit, r"reference\.pad2d"),
    # ---- checks
    "unknown exercise": (lambda: checks.check("nope", 1), UnknownName, r"unknown exercise 'nope'; choose one of: "),
    "exercise None": (lambda: checks.check(None, 1), UnknownName, r"unknown exercise None"),
    "exercise list": (lambda: checks.check(["a"], 1), UnknownName, r"unknown exercise \['a'\]"),
    "exercise typo": (
        lambda: checks.check("welcome.pixels_per_imag", 784),
        UnknownName,
        r"unknown exercise 'welcome\.pixels_per_imag'",
    ),
    "empty exercise key": (
        lambda: checks.exercise("", "hint"),
        ValueError,
        r"exercise key must be a non-empty string without spaces, got ''",
    ),
    "exercise key with spaces": (lambda: checks.exercise("a b", "hint"), ValueError, r"without spaces, got 'a b'"),
    "exercise without hint": (lambda: checks.exercise("test.x", "  "), ValueError, r"exercise 'test\.x' needs a hint"),
    "negative tolerance": (
        lambda: checks.exercise("test.x", "h", tol=-1),
        ValueError,
        r"exercise 'test\.x': tol must be a finite number >= 0, got -1",
    ),
    "nan tolerance": (
        lambda: checks.exercise("test.x", "h", tol=NAN),
        ValueError,
        r"tol must be a finite number >= 0, got nan",
    ),
    "exercise on a non-function": (
        lambda: checks.exercise("test.x", "h")(42),
        ValueError,
        r"exercise 'test\.x' must decorate a function, got 42",
    ),
    "exercise registered twice": (_register_then_duplicate, ValueError, r"is registered twice"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_a_clear_error(name):
    call, error, message = CASES[name]
    with pytest.raises(error, match=message):
        call()


def test_there_are_enough_cases():
    assert len(CASES) >= 60


def test_failed_registrations_leave_the_registry_alone():
    before = dict(checks._REGISTRY)
    for name in ("empty exercise key", "exercise on a non-function", "exercise registered twice"):
        with pytest.raises(ValueError):
            CASES[name][0]()
    assert checks._REGISTRY == before
