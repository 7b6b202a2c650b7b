"""coursekit.reference agrees with coursekit.ops (two independent implementations)."""
import numpy as np
import pytest

from coursekit import ops, reference


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
    with pytest.raises(ValueError, match="mode must be"):
        reference.pool2d(np.zeros((4, 4)), 2, mode="median")
