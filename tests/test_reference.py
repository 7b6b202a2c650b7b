"""coursekit.reference agrees with coursekit.ops (two independent implementations)."""

import numpy as np
import pytest
import torch

from coursekit import ops, reference
from coursekit.errors import UnknownName


def test_corr2d_matches_ops_with_padding_and_stride():
    rng = np.random.default_rng(0)
    x, k = rng.integers(-5, 6, (7, 6)), rng.integers(-2, 3, (3, 2))
    for padding, stride in [(0, 1), (1, 2), ((2, 1), (1, 3))]:
        np.testing.assert_array_equal(reference.corr2d(x, k, padding, stride), ops.corr2d(x, k, padding, stride))


@pytest.mark.parametrize("mode", ["max", "avg", "sum"])
def test_pool2d_matches_ops(mode):
    x = np.arange(36).reshape(6, 6) % 7
    np.testing.assert_allclose(reference.pool2d(x, 2, mode=mode), ops.pool2d(x, 2, mode=mode))
    np.testing.assert_allclose(reference.pool2d(x, 3, 1, mode=mode), ops.pool2d(x, 3, 1, mode=mode))


def test_pool2d_rejects_unknown_mode():
    with pytest.raises(UnknownName, match=r"unknown mode 'median'; choose one of: avg, max, sum"):
        reference.pool2d(np.zeros((4, 4)), 2, mode="median")


def test_every_adapter_matches_ops_on_integers():
    rng = np.random.default_rng(1)
    x, k = rng.integers(0, 256, (2, 7, 6), dtype=np.uint8), rng.integers(-3, 4, (2, 3, 2))
    w, b = rng.integers(-3, 4, (4, 2, 3, 3)), rng.integers(-9, 10, 4)
    pairs = [
        (reference.corr1d(x[0, 0], k[0, 0], "same"), ops.corr1d(x[0, 0], k[0, 0], "same")),
        (reference.conv1d(x[0, 0], k[0, 0], "full"), ops.conv1d(x[0, 0], k[0, 0], "full")),
        (reference.corr2d(x, k, 1, 2), ops.corr2d(x, k, 1, 2)),
        (reference.conv2d(x[0], k[0], (2, 1)), ops.conv2d(x[0], k[0], (2, 1))),
        (reference.corr2d_multi(x, w, b, 1), ops.corr2d_multi(x, w, b, 1)),
        (reference.corr2d_multi(x[None], w, None, 0, (2, 1)), ops.corr2d_multi(x[None], w, None, 0, (2, 1))),
        (reference.pool2d(x, 3, 2, "max", 1), ops.pool2d(x, 3, 2, 1, "max")),
        (reference.pool2d(x[None], (2, 3), None, "sum"), ops.pool2d(x[None], (2, 3), mode="sum")),
        (reference.pad2d(x, (1, 2), -1), ops.pad2d(x, (1, 2), -1)),
    ]
    for theirs, ours in pairs:
        assert theirs.dtype == np.float64
        np.testing.assert_array_equal(theirs, ours)


def test_reference_accepts_tensors_and_lists():
    x = torch.arange(16.0).reshape(4, 4).requires_grad_()
    np.testing.assert_array_equal(reference.corr2d(x, [[1, 0], [0, -1]]), ops.corr2d(x, [[1, 0], [0, -1]]))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: reference.corr2d(np.ones((3, 3)), np.ones((4, 4))), ValueError, "kernel size 4 is larger"),
        (
            lambda: reference.corr2d(np.ones((2, 3, 3)), np.ones((3, 2, 2))),
            ValueError,
            "channel mismatch: x has 2 channels but k has 3",
        ),
        (lambda: reference.corr2d(np.ones((3, 3)), np.ones((1, 2, 2))), ValueError, "channel mismatch: x has shape"),
        (
            lambda: reference.corr2d_multi(np.ones((2, 3, 3)), np.ones((1, 3, 2, 2))),
            ValueError,
            "x has 2 channels but w expects 3",
        ),
        (
            lambda: reference.corr2d_multi(np.ones((1, 3, 3)), np.ones((2, 1, 2, 2)), [1]),
            ValueError,
            "bias has 1 values but w has 2 output channels",
        ),
        (lambda: reference.pool2d(np.ones((4, 4)), 2, padding=2), ValueError, "at most half the pooling size"),
        (lambda: reference.corr1d([1, 2], [1, 2, 3]), ValueError, "kernel size 3 is larger than the input size 2"),
        (lambda: reference.corr1d([1, 2], [1], "middle"), UnknownName, "unknown mode 'middle'"),
        (lambda: reference.pad2d(np.ones((2, 2)), 1, value="0"), ValueError, "value must be a single real number"),
        (lambda: reference.pad2d(np.ones((2, 2)), -1), ValueError, "padding must be non-negative"),
    ],
)
def test_reference_errors_are_ops_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
