"""Property tests: every op of coursekit.ops equals PyTorch (coursekit.reference) for random
shapes, strides, paddings and dtypes -- uint8, int16, int32, int64, bool, float16, float32,
float64 -- checking the values *and* the documented result dtype.

The dtype rule (coursekit.ops' docstring): bool and integers widen to int64, float16 to
float32, then NumPy's promotion; average pooling of integers gives float64. `documented_dtype`
below writes the rule out again, independently of `ops.result_dtype`.

Integer values cover the whole range of uint8 and int16 (so uint8 images that would wrap around
in their own dtype are exercised) and +-2**20 for int32/int64, where float64 -- the reference's
arithmetic -- is still exact; integer results are compared exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from coursekit import ops, reference

PROPERTY = settings(max_examples=60, deadline=None)
SEEDS = st.integers(0, 2**32 - 1)
DTYPES = [np.uint8, np.int16, np.int32, np.int64, np.bool_, np.float16, np.float32, np.float64]
dtypes = st.sampled_from(DTYPES)


def documented_dtype(*dtypes) -> np.dtype:
    """The result dtype the module docstring promises for inputs of these dtypes."""
    widened = []
    for d in map(np.dtype, dtypes):
        if d.kind in "biu":
            d = np.dtype(np.int64)
        elif d == np.float16:
            d = np.dtype(np.float32)
        widened.append(d)
    return np.result_type(*widened)


def test_the_documented_rule_by_example():
    table = [
        ((np.uint8, np.uint8), np.int64),
        ((np.bool_, np.bool_), np.int64),
        ((np.int16, np.int32), np.int64),
        ((np.float32, np.float32), np.float32),
        ((np.float16, np.float16), np.float32),
        ((np.uint8, np.float32), np.float64),
        ((np.int64, np.float32), np.float64),
        ((np.float16, np.float64), np.float64),
        ((np.bool_, np.float32), np.float64),
    ]
    for inputs, result in table:
        assert documented_dtype(*inputs) == result == ops.result_dtype(*inputs), inputs


def values(rng: np.random.Generator, dtype, shape) -> np.ndarray:
    """Random values of ``dtype``: full range for uint8/int16, +-2**20 for wider ints."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        low, high = max(int(info.min), -(2**20)), min(int(info.max), 2**20)
        if dtype.itemsize <= 2 and rng.random() < 0.3:  # often the extremes, where wrapping would show
            return rng.choice(np.array([low, high, high - 1, 0], dtype=dtype), shape)
        return rng.integers(low, high, shape, endpoint=True).astype(dtype)
    scale = 4.0 if dtype == np.float16 else 10.0
    return (rng.standard_normal(shape) * scale).astype(dtype)


def assert_matches(ours: np.ndarray, theirs: np.ndarray, dtype: np.dtype, *factors) -> None:
    """Values equal to the float64 reference (exactly for integer results), dtype as documented."""
    assert ours.dtype == dtype, (ours.dtype, dtype)
    assert ours.shape == theirs.shape
    if dtype.kind == "i":
        assert_array_equal(ours, theirs)
        return
    # Floating point: tolerance relative to the largest possible magnitude of a sum.
    scale = float(np.prod([max(1.0, float(np.abs(np.asarray(f, dtype=np.float64)).max())) for f in factors]))
    terms = max(1, int(np.prod([np.asarray(f).size for f in factors[1:]])) if len(factors) > 1 else 1)
    eps = np.finfo(dtype).eps
    largest = float(np.abs(theirs).max())  # e.g. a bias on top of the sums
    assert_allclose(ours, theirs, rtol=0, atol=8 * eps * (scale * terms + largest))


# ----------------------------------------------------------------------------------------------
# 1-D


@PROPERTY
@given(dtypes, dtypes, st.sampled_from(ops.MODES_1D), st.integers(1, 12), st.integers(1, 12), SEEDS)
def test_corr1d_and_conv1d_equal_torch(x_dtype, k_dtype, mode, n, m, seed):
    if mode != "full":
        m = min(m, n)
    rng = np.random.default_rng(seed)
    x, k = values(rng, x_dtype, n), values(rng, k_dtype, m)
    dtype = documented_dtype(x_dtype, k_dtype)
    assert_matches(ops.corr1d(x, k, mode), reference.corr1d(x, k, mode), dtype, x, k)
    assert_matches(ops.conv1d(x, k, mode), reference.conv1d(x, k, mode), dtype, x, k)
    if dtype.kind == "i":  # NumPy's own correlate agrees too, once widened
        assert_array_equal(ops.corr1d(x, k, mode), np.correlate(x.astype(np.int64), k.astype(np.int64), mode))


# ----------------------------------------------------------------------------------------------
# 2-D


@st.composite
def geometry(draw, max_side=9, max_kernel=4):
    """(H, W), (kh, kw), padding, stride such that the kernel fits; padding/stride as int or pair."""
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    if draw(st.booleans()):
        pw, sw = ph, sh
        padding, stride = ph, sh
    else:
        padding, stride = (ph, pw), (sh, sw)
    kh = draw(st.integers(1, min(h + 2 * ph, max_kernel)))
    kw = draw(st.integers(1, min(w + 2 * pw, max_kernel)))
    return (h, w), (kh, kw), padding, stride


@PROPERTY
@given(dtypes, dtypes, geometry(), st.integers(0, 3), SEEDS)
def test_corr2d_conv2d_and_loops_equal_torch(x_dtype, k_dtype, geo, channels, seed):
    (h, w), (kh, kw), padding, stride = geo
    rng = np.random.default_rng(seed)
    lead = () if channels == 0 else (channels,)  # 0: no channel axis at all
    x, k = values(rng, x_dtype, lead + (h, w)), values(rng, k_dtype, lead + (kh, kw))
    dtype = documented_dtype(x_dtype, k_dtype)
    expected = reference.corr2d(x, k, padding, stride)
    assert_matches(ops.corr2d(x, k, padding, stride), expected, dtype, x, k)
    assert_matches(ops.corr2d_loops(x, k, padding, stride), expected, dtype, x, k)
    assert_matches(ops.conv2d(x, k, padding, stride), reference.conv2d(x, k, padding, stride), dtype, x, k)


@PROPERTY
@given(
    dtypes,
    dtypes,
    st.one_of(st.none(), dtypes),
    geometry(max_side=8, max_kernel=3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 2),
    SEEDS,
)
def test_corr2d_multi_equals_torch(x_dtype, w_dtype, b_dtype, geo, c, o, n, seed):
    (h, wd), (kh, kw), padding, stride = geo
    rng = np.random.default_rng(seed)
    lead = () if n == 0 else (n,)  # 0: a single image (C, H, W)
    x = values(rng, x_dtype, lead + (c, h, wd))
    w = values(rng, w_dtype, (o, c, kh, kw))
    b = None if b_dtype is None else values(rng, b_dtype, (o,))
    dtype = documented_dtype(x_dtype, w_dtype) if b is None else documented_dtype(x_dtype, w_dtype, b_dtype)
    ours = ops.corr2d_multi(x, w, b, padding, stride)
    assert_matches(ours, reference.corr2d_multi(x, w, b, padding, stride), dtype, x, w)
    # A batch is its images side by side: the first image alone gives the first slice.
    if n:  # (exactly for integers; BLAS may order a float sum differently for another batch size)
        assert_allclose(
            ops.corr2d_multi(x[0], w, b, padding, stride),
            ours[0],
            rtol=0 if dtype.kind == "i" else 1e-5,
            atol=0 if dtype.kind == "i" else 1e-5,
        )


# ----------------------------------------------------------------------------------------------
# Pooling and padding


@st.composite
def pooling(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    kh, kw = min(kh, h + 2 * ph), min(kw, w + 2 * pw)
    ph, pw = min(ph, kh // 2), min(pw, kw // 2)
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    size = draw(st.sampled_from([(kh, kw), kh])) if kh == kw else (kh, kw)
    padding = (ph, pw) if ph != pw else draw(st.sampled_from([ph, (ph, pw)]))
    lead = draw(st.sampled_from([(), (2,), (2, 3)]))
    return lead + (h, w), size, stride, padding


@PROPERTY
@given(dtypes, pooling(), st.sampled_from(ops.POOL_MODES), SEEDS)
def test_pool2d_equals_torch(x_dtype, case, mode, seed):
    shape, size, stride, padding = case
    x = values(np.random.default_rng(seed), x_dtype, shape)
    widened = documented_dtype(x_dtype)
    dtype = (np.dtype(np.float64) if widened.kind == "i" else widened) if mode == "avg" else widened
    ours = ops.pool2d(x, size, stride, padding, mode)
    area = np.prod(ops.as_pair(size, "size"))
    assert_matches(ours, reference.pool2d(x, size, stride, mode, padding), dtype, x, np.ones(int(area)))


@PROPERTY
@given(
    dtypes,
    st.sampled_from([(4,), (2, 3), (1, 2, 3)]),
    st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3))),
    st.one_of(st.integers(-300, 300), st.floats(-1e3, 1e3, allow_nan=False)),
    SEEDS,
)
def test_pad2d_equals_torch(x_dtype, lead, padding, value, seed):
    x = values(np.random.default_rng(seed), x_dtype, lead + (3,))
    if x.ndim == 1:
        x = x.reshape(2, 2)
    ours = ops.pad2d(x, padding, value)
    widened = documented_dtype(x_dtype)
    # A fill that is not a whole number cannot live in an integer array: the result is float64.
    dtype = np.dtype(np.float64) if widened.kind == "i" and not float(value).is_integer() else widened
    assert ours.dtype == dtype
    # Padding does no arithmetic: equal to torch's float64 result once that is stored as our dtype.
    assert_array_equal(ours, reference.pad2d(x, padding, value).astype(dtype))


# ----------------------------------------------------------------------------------------------
# Integers: exact, never wrapped around; refused when int64 might overflow


@PROPERTY
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), SEEDS)
def test_uint8_images_never_wrap_around(h, w, f, seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(128, 256, (h + f, w + f)).astype(np.uint8)  # sums far beyond 255
    kernel = np.ones((f, f), np.uint8)
    out = ops.corr2d(image, kernel)
    assert out.dtype == np.int64 and out.min() >= 128 * f * f
    assert_array_equal(out, reference.corr2d(image, kernel))
    assert_array_equal(ops.pool2d(image, f, mode="sum"), reference.pool2d(image, f, mode="sum"))


@PROPERTY
@given(st.sampled_from([np.int32, np.int64, np.uint64]), st.integers(2, 5), SEEDS)
def test_integer_sums_beyond_int64_are_refused(dtype, f, seed):
    info = np.iinfo(np.int64 if dtype == np.uint64 else dtype)
    big = np.full((f, f), info.max, dtype=dtype)
    if dtype == np.int32:  # 2**31 squared times f*f >= 4 products: beyond 2**63
        with pytest.raises(ops.IntegerOverflowError, match=r"corr2d: .* a sum of \d+ products could reach"):
            ops.corr2d(big, big)
        assert_allclose(ops.corr2d(big.astype(float), big), reference.corr2d(big, big), rtol=1e-12)
    else:
        with pytest.raises(ops.IntegerOverflowError, match=r"beyond int64"):
            ops.corr2d_multi(big[None], big[None, None])


@PROPERTY
@given(dtypes, geometry(), SEEDS)
def test_tensors_give_the_same_as_arrays(x_dtype, geo, seed):
    (h, w), (kh, kw), padding, stride = geo
    rng = np.random.default_rng(seed)
    x, k = values(rng, x_dtype, (h, w)), values(rng, np.float32, (kh, kw))
    ours = ops.corr2d(torch.from_numpy(x), torch.from_numpy(k).requires_grad_(), padding, stride)
    assert_array_equal(ours, ops.corr2d(x, k, padding, stride))
