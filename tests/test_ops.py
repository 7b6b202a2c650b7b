"""Tests for coursekit.ops.

Three kinds of evidence:

1. the worked examples of the syllabus slides (seed 000..004), recomputed with ops and checked
   against an independent computation -- PyTorch, or a sum written out by hand. Where a slide
   prints a result, the test says whether the slide agrees, and pins down every cell where it
   does not;
2. agreement with NumPy/PyTorch on random shapes, paddings and strides (hypothesis);
3. properties: shift equivariance, linearity, the flip relating convolution and correlation,
   and every error message.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from coursekit import examples as ex
from coursekit import filters, ops

FAST = settings(max_examples=50, deadline=None)
SEEDS = st.integers(0, 2**32 - 1)  # seeds for NumPy's generator: hypothesis picks shapes, NumPy values


# ----------------------------------------------------------------------------------------------
# Independent references (PyTorch, float64)


def _t(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))  # a fresh copy: no negative strides


def torch_conv2d(x, w, b=None, padding=0, stride=1) -> np.ndarray:
    """x (N, C, H, W), w (O, C, kh, kw) -> (N, O, H', W'), computed by PyTorch."""
    bias = None if b is None else _t(b)
    return F.conv2d(_t(x), _t(w), bias, stride=stride, padding=padding).numpy()


def torch_corr2d(x, k, padding=0, stride=1) -> np.ndarray:
    """One image (H, W) or (C, H, W), one kernel of the same ndim -> (H', W'), by PyTorch."""
    x, k = np.asarray(x), np.asarray(k)
    if x.ndim == 2:
        x, k = x[None], k[None]
    return torch_conv2d(x[None], k[None], padding=padding, stride=stride)[0, 0]


def torch_pool(x, size, stride, padding, mode) -> np.ndarray:
    """x (H, W) -> (H', W') pooled by PyTorch ("max" or "avg")."""
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    return pool(_t(x)[None, None], size, stride, padding)[0, 0].numpy()


def mismatches(computed, slide) -> list[tuple[int, int]]:
    """Cells where a slide's printed result differs from the computed one."""
    return [tuple(int(i) for i in cell) for cell in np.argwhere(np.asarray(computed) != slide)]


# ----------------------------------------------------------------------------------------------
# Seed 000: 5x5 image, 3x3 Sobel kernel


def test_seed000_sobel_valid():
    out = ops.corr2d(ex.SOBEL_DEMO_IMAGE, ex.SOBEL_DEMO_KERNEL)
    assert out.shape == (3, 3) and out.dtype.kind == "i"
    assert_array_equal(out, torch_corr2d(ex.SOBEL_DEMO_IMAGE, ex.SOBEL_DEMO_KERNEL))
    # Top-left value, every product written out (image window rows 0..2, cols 0..2):
    assert out[0, 0] == 5 * -1 + 15 * 0 + 4 * 1 + 10 * -2 + 1 * 0 + 5 * 2 + 6 * -1 + 9 * 0 + 11 * 1
    assert out[0, 0] == -6


def test_seed000_sobel_slide_slip_in_first_value():
    # Seed 000, cross-correlation slides: the result is printed as [[-1, -23, -27], [10, 0, -30],
    # [24, 25, -19]]. Eight values are right; the first one is not. The slide's own expansion,
    # "5*(-1)+15*0+4*1+10*(-2)+1*0+5*2+6*(-2)+9*0+11*2 = -1", weighs the bottom row of the window
    # with the middle row's weights (-2, 0, 2) instead of (-1, 0, 1). The correct value is -6.
    slide = np.array([[-1, -23, -27], [10, 0, -30], [24, 25, -19]])
    out = ops.corr2d(ex.SOBEL_DEMO_IMAGE, ex.SOBEL_DEMO_KERNEL)
    assert mismatches(out, slide) == [(0, 0)]
    assert out[0, 0] == -6 != slide[0, 0]
    assert 5 * -1 + 15 * 0 + 4 * 1 + 10 * -2 + 1 * 0 + 5 * 2 + 6 * -2 + 9 * 0 + 11 * 2 == slide[0, 0]


def test_seed000_sobel_padding_1_keeps_the_size():
    out = ops.corr2d(ex.SOBEL_DEMO_IMAGE, ex.SOBEL_DEMO_KERNEL, padding=1)
    # n + 2p - f + 1 = 5 + 2 - 3 + 1 = 5, with p = (f - 1) / 2 = 1
    assert out.shape == (5, 5) == (ops.output_size(5, 3, padding=(3 - 1) // 2),) * 2
    assert_array_equal(out, torch_corr2d(ex.SOBEL_DEMO_IMAGE, ex.SOBEL_DEMO_KERNEL, padding=1))
    # The padding adds a ring around the unpadded result, which sits unchanged in the middle.
    assert_array_equal(out[1:-1, 1:-1], ops.corr2d(ex.SOBEL_DEMO_IMAGE, ex.SOBEL_DEMO_KERNEL))


def test_seed000_sobel_stride_2():
    out = ops.corr2d(ex.SOBEL_DEMO_IMAGE, ex.SOBEL_DEMO_KERNEL, stride=2)
    # floor((5 + 0 - 3) / 2 + 1) = 2
    assert out.shape == (2, 2) == (ops.output_size(5, 3, stride=2),) * 2
    assert_array_equal(out, torch_corr2d(ex.SOBEL_DEMO_IMAGE, ex.SOBEL_DEMO_KERNEL, stride=2))
    # Stride 2 keeps every other value of the stride-1 result.
    assert_array_equal(out, ops.corr2d(ex.SOBEL_DEMO_IMAGE, ex.SOBEL_DEMO_KERNEL)[::2, ::2])


def test_seed000_convolution_turns_the_kernel_by_180_degrees():
    kernel = ex.SOBEL_DEMO_KERNEL
    turned = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])  # kernel read backwards in both axes
    conv = ops.conv2d(ex.SOBEL_DEMO_IMAGE, kernel)
    assert_array_equal(conv, ops.corr2d(ex.SOBEL_DEMO_IMAGE, turned))
    assert_array_equal(conv, torch_corr2d(ex.SOBEL_DEMO_IMAGE, np.flip(kernel)))
    # Seed 000, "Cross-Correlation and Convolution" slide: next to this kernel it shows
    # [[1, 2, 1], [0, 0, 0], [-1, -2, -1]] for convolution. That is the kernel turned by 90 degrees
    # (np.rot90), not 180: convolving with it does not give the convolution.
    slide_kernel = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
    assert_array_equal(slide_kernel, np.rot90(kernel))
    assert not np.array_equal(slide_kernel, turned)
    assert not np.array_equal(ops.corr2d(ex.SOBEL_DEMO_IMAGE, slide_kernel), conv)


def test_seed000_max_pool_4x4():
    out = ops.pool2d(ex.POOL_DEMO_4X4, 2)
    assert out.dtype.kind == "i"
    assert_array_equal(out, torch_pool(ex.POOL_DEMO_4X4, 2, 2, 0, "max"))
    assert_array_equal(out, [[10, 6], [9, 2]])  # the slide's result: correct


def test_seed000_average_pool_4x4():
    out = ops.pool2d(ex.POOL_DEMO_4X4, 2, mode="avg")
    assert out.dtype.kind == "f"
    assert_allclose(out, torch_pool(ex.POOL_DEMO_4X4, 2, 2, 0, "avg"))
    assert out[0, 0] == (1 + 5 + 10 + 8) / 4
    assert_allclose(out, [[6, 2.5], [3.5, -1]])  # the slide's result: correct


def test_seed000_max_pool_5x5_size3_stride1():
    out = ops.pool2d(ex.POOL_DEMO_5X5, 3, stride=1)
    assert out.shape == (3, 3) == (ops.output_size(5, 3, 0, 1),) * 2
    assert_array_equal(out, torch_pool(ex.POOL_DEMO_5X5, 3, 1, 0, "max"))
    assert_array_equal(out, [[10, 8, 10], [10, 9, 6], [9, 9, 6]])  # the slide's result: correct


# ----------------------------------------------------------------------------------------------
# Seed 001: output sizes and parameter counts


def test_seed001_output_sizes_7x7_input_3x3_filter():
    assert ops.output_size(7, 3, stride=1) == 5
    assert ops.output_size(7, 3, stride=2) == 3
    assert ops.output_size(7, 3, padding=1, stride=1) == 7
    for stride, padding, n_out in [(1, 0, 5), (2, 0, 3), (1, 1, 7)]:
        out = ops.corr2d(np.ones((7, 7)), np.ones((3, 3)), padding, stride)
        assert out.shape == (n_out, n_out)


def test_seed001_parameter_table():
    # Seed 001, "fully connected vs convolution layer" table: 450 conv weights = K^2 * I * J with
    # K=5, I=3, J=6, i.e. a 32x32x3 input and six 5x5 filters. Output: 28 x 28 x 6 units.
    side = ops.output_size(32, 5)
    out = ops.corr2d_multi(np.zeros((3, 32, 32)), np.zeros((6, 3, 5, 5)))
    assert out.shape == (6, side, side) == (6, 28, 28)
    assert np.zeros((6, 3, 5, 5)).size == 450
    assert (32 * 32 * 3) * out.size == 14_450_688  # the table's fully connected weight count
    # The table's "#output units 4368" does not fit: there are 28*28*6 = 4704 output units, and a
    # fully connected layer's weight count must be a multiple of its output count.
    assert out.size == 4704 != 4368
    assert 14_450_688 % 4368 != 0
    # The 64 filters of 5x5x3 slide: 64 * 75 = 4800 weights.
    assert np.zeros((64, 3, 5, 5)).size == 4800


# ----------------------------------------------------------------------------------------------
# Seed 002: matching an "X" with a 3x3 template


def test_seed002_x_template_match():
    out = ops.corr2d(ex.X_IMAGE, ex.X_TEMPLATE) / ex.X_TEMPLATE.size
    assert out.shape == (7, 7)
    assert_allclose(out, torch_corr2d(ex.X_IMAGE, ex.X_TEMPLATE) / 9, atol=1e-12)
    # Perfect matches (score 1) where the "\" stroke of the X lies under the template.
    assert [tuple(int(i) for i in c) for c in np.argwhere(np.isclose(out, 1))] == [(1, 1), (2, 2), (4, 4), (5, 5)]
    # Top-left: each cell that agrees adds +1, each that disagrees -1. Only the template's
    # top-left cell disagrees with the image there: (8 - 1) / 9.
    assert out[0, 0] == pytest.approx((8 - 1) / 9)


def test_seed002_slide_truncates_instead_of_rounding():
    # Seed 002, "2D Convolution" result: printed with 2 decimals, cut off rather than rounded:
    # 7/9 = 0.777... shows as 0.77 and 5/9 = 0.555... as 0.55. Every printed value equals the
    # computed one truncated to 2 decimals; rounded, the corner and 0.55 cells would read 0.78/0.56.
    slide = np.array(
        [
            [0.77, -0.11, 0.11, 0.33, 0.55, -0.11, 0.33],
            [-0.11, 1.00, -0.11, 0.33, -0.11, 0.11, -0.11],
            [0.11, -0.11, 1.00, -0.33, 0.11, -0.11, 0.55],
            [0.33, 0.33, -0.33, 0.55, -0.33, 0.33, 0.33],
            [0.55, -0.11, 0.11, -0.33, 1.00, -0.11, 0.11],
            [-0.11, 0.11, -0.11, 0.33, -0.11, 1.00, -0.11],
            [0.33, -0.11, 0.55, 0.33, 0.11, -0.11, 0.77],
        ]
    )
    out = ops.corr2d(ex.X_IMAGE, ex.X_TEMPLATE) / 9
    assert_allclose(np.round(out * 9), out * 9)  # every score is a multiple of 1/9
    assert_allclose(np.trunc(out * 100) / 100, slide, atol=1e-12)
    rounded_differs = mismatches(np.round(out, 2), slide)
    assert rounded_differs == [(0, 0), (0, 4), (2, 6), (3, 3), (4, 0), (6, 2), (6, 6)]
    assert round(out[0, 0], 2) == 0.78 != slide[0, 0]


def test_seed002_layer_shapes():
    # (-, 9, 9, 1) input, (3, 3, 1, 2) kernels -> (-, 7, 7, 2); channels first here.
    out = ops.corr2d_multi(ex.X_IMAGE[None], np.ones((2, 1, 3, 3)))
    assert out.shape == (2, 7, 7)
    assert 32 * np.ones((3, 3)).size == 288  # "32 conv kernels 3x3 -> 288 weights"


# ----------------------------------------------------------------------------------------------
# Seed 003: binary image and the sharpen kernel; flipping; 2x2 max pooling

# Seed 003 result at padding 1, stride 1, as printed on the "Padding & Stride" slides.
SEED003_PADDED_SLIDE = np.array(
    [
        [-1, 3, 3, -1, 0],
        [-2, 3, 3, -2, -1],
        [5, -3, -3, 4, 3],
        [-3, 3, 3, -4, 3],
        [5, 2, 2, 3, 3],
    ]
)


def test_seed003_sharpen_valid():
    out = ops.corr2d(ex.BINARY_DEMO_IMAGE, ex.SHARPEN_DEMO_KERNEL)
    assert_array_equal(out, torch_corr2d(ex.BINARY_DEMO_IMAGE, ex.SHARPEN_DEMO_KERNEL))
    assert_array_equal(out, [[3, 3, -2], [-3, -3, 4], [3, 3, -4]])  # the slide's result: correct


def test_seed003_sharpen_padding_1():
    out = ops.corr2d(ex.BINARY_DEMO_IMAGE, ex.SHARPEN_DEMO_KERNEL, padding=1)
    assert_array_equal(out, torch_corr2d(ex.BINARY_DEMO_IMAGE, ex.SHARPEN_DEMO_KERNEL, padding=1))
    # Bottom-left value by hand: padded window rows 4..6, cols 0..2 is [[0,0,1],[0,1,1],[0,0,0]]:
    # centre 1 * 5, right neighbour 1 * -1, the other three neighbours are 0.
    assert out[4, 0] == 5 * 1 - 1 * 1 == 4
    # Seed 003, "Padding & Stride" slides: that cell is printed as 5. Everything else agrees.
    assert mismatches(out, SEED003_PADDED_SLIDE) == [(4, 0)]


def test_seed003_sharpen_padding_1_stride_2():
    out = ops.corr2d(ex.BINARY_DEMO_IMAGE, ex.SHARPEN_DEMO_KERNEL, padding=1, stride=2)
    assert out.shape == (3, 3)
    assert_array_equal(out, torch_corr2d(ex.BINARY_DEMO_IMAGE, ex.SHARPEN_DEMO_KERNEL, 1, 2))
    assert_array_equal(out, ops.corr2d(ex.BINARY_DEMO_IMAGE, ex.SHARPEN_DEMO_KERNEL, 1)[::2, ::2])
    # Seed 003, stride-2 slide: [[-1, 3, 0], [5, -3, 3], [5, 2, 3]]; the same cell (the
    # bottom-left) carries the same slip, 5 instead of 4.
    slide = np.array([[-1, 3, 0], [5, -3, 3], [5, 2, 3]])
    assert mismatches(out, slide) == [(2, 0)]
    assert out[2, 0] == 4 != slide[2, 0]


def test_seed003_convolution_is_correlation_with_the_flipped_kernel():
    # "Flip first": 1..9 becomes 9..1, then multiply and sum.
    flipped = np.array([[9, 8, 7], [6, 5, 4], [3, 2, 1]])
    assert_array_equal(np.flip(ex.FLIP_DEMO_KERNEL), flipped)
    conv = ops.conv2d(ex.BINARY_DEMO_IMAGE, ex.FLIP_DEMO_KERNEL)
    assert_array_equal(conv, ops.corr2d(ex.BINARY_DEMO_IMAGE, flipped))
    assert_array_equal(conv, torch_corr2d(ex.BINARY_DEMO_IMAGE, flipped))
    # Without the flip it is a different operation for this (asymmetric) kernel.
    assert not np.array_equal(conv, ops.corr2d(ex.BINARY_DEMO_IMAGE, ex.FLIP_DEMO_KERNEL))


def test_seed003_max_pool_4x4():
    out = ops.pool2d(ex.POOL_DEMO_FEATURE_MAP, 2)
    assert_array_equal(out, torch_pool(ex.POOL_DEMO_FEATURE_MAP, 2, 2, 0, "max"))
    assert_array_equal(out, [[20, 30], [112, 37]])  # the slide's result: correct
    # Sum pooling, the third aggregation the slide lists: 4 x the average.
    assert_array_equal(
        ops.pool2d(ex.POOL_DEMO_FEATURE_MAP, 2, mode="sum"), 4 * torch_pool(ex.POOL_DEMO_FEATURE_MAP, 2, 2, 0, "avg")
    )


# ----------------------------------------------------------------------------------------------
# Seed 004: 5x5 image, kernel [[0,1,2],[2,2,0],[0,1,2]]; 3x3 pooling; padding


def test_seed004_valid():
    out = ops.corr2d(ex.ARITHMETIC_IMAGE, ex.ARITHMETIC_KERNEL)
    assert_array_equal(out, torch_corr2d(ex.ARITHMETIC_IMAGE, ex.ARITHMETIC_KERNEL))
    # Top-left by hand: rows (3,3,2)(0,0,1)(3,1,2) against (0,1,2)(2,2,0)(0,1,2).
    assert out[0, 0] == 3 * 0 + 3 * 1 + 2 * 2 + 0 * 2 + 0 * 2 + 1 * 0 + 3 * 0 + 1 * 1 + 2 * 2 == 12
    assert_array_equal(out, [[12, 12, 17], [10, 17, 19], [9, 6, 14]])  # the slide's result: correct


def test_seed004_padding_example():
    # Seed 004, "Convolution Operation Contd." with padding: labelled "Filter = 3x3, Stride = 1,
    # Padding = 1" and printing a 3x3 result [[6, 14, 17], [14, 12, 12], [8, 10, 17]]. With stride 1
    # the output is 5x5 (floor((5 + 2 - 3) / 1) + 1 = 5), and the printed matrix is only its
    # top-left 3x3 corner. The animation frames move the kernel 2 cells per step (stride 2), which
    # does give a 3x3 output -- but a different one.
    slide = np.array([[6, 14, 17], [14, 12, 12], [8, 10, 17]])
    stride1 = ops.corr2d(ex.ARITHMETIC_IMAGE, ex.ARITHMETIC_KERNEL, padding=1, stride=1)
    stride2 = ops.corr2d(ex.ARITHMETIC_IMAGE, ex.ARITHMETIC_KERNEL, padding=1, stride=2)
    assert_array_equal(stride1, torch_corr2d(ex.ARITHMETIC_IMAGE, ex.ARITHMETIC_KERNEL, 1, 1))
    assert_array_equal(stride2, torch_corr2d(ex.ARITHMETIC_IMAGE, ex.ARITHMETIC_KERNEL, 1, 2))
    assert stride1.shape == (5, 5) != slide.shape
    assert_array_equal(stride1[:3, :3], slide)
    assert stride2.shape == slide.shape
    assert mismatches(stride2, slide) == [(0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]


def test_seed004_average_pool_3x3_stride_1():
    out = ops.pool2d(ex.ARITHMETIC_IMAGE, 3, stride=1, mode="avg")
    assert_allclose(out, torch_pool(ex.ARITHMETIC_IMAGE, 3, 1, 0, "avg"))
    assert out[0, 0] == (3 + 3 + 2 + 0 + 0 + 1 + 3 + 1 + 2) / 9
    # The slide prints one decimal; rounded to one decimal the values agree.
    slide = np.array([[1.7, 1.7, 1.7], [1.0, 1.2, 1.8], [1.1, 0.8, 1.3]])
    assert_allclose(np.round(out, 1), slide)


def test_seed004_max_pool_3x3_stride_1():
    out = ops.pool2d(ex.ARITHMETIC_IMAGE, 3, stride=1, mode="max")
    assert_array_equal(out, torch_pool(ex.ARITHMETIC_IMAGE, 3, 1, 0, "max"))
    assert_array_equal(out, [[3, 3, 3], [3, 3, 3], [3, 2, 3]])  # the slide's result: correct


def test_seed004_padding_sizes():
    # "6x6 -> (3x3 filter) -> 4x4"; 'valid' is p = 0, 'same' is p = (f - 1) / 2.
    assert ops.corr2d(ex.PADDING_DEMO_IMAGE, np.ones((3, 3))).shape == (4, 4)
    for f in (1, 3, 5):
        same = ops.corr2d(ex.PADDING_DEMO_IMAGE, np.ones((f, f)), padding=(f - 1) // 2)
        assert same.shape == ex.PADDING_DEMO_IMAGE.shape
    # The slide draws the zero border on the top, bottom and left only (an 8x7 table);
    # a border of 1 on every side makes it 8x8.
    assert ops.pad2d(ex.PADDING_DEMO_IMAGE, 1).shape == (8, 8)


# ----------------------------------------------------------------------------------------------
# Agreement with NumPy and PyTorch on random cases


@st.composite
def signals(draw):
    mode = draw(st.sampled_from(ops.MODES_1D))
    n = draw(st.integers(1, 20))
    m = draw(st.integers(1, 25 if mode == "full" else n))
    rng = np.random.default_rng(draw(SEEDS))
    return rng.standard_normal(n), rng.standard_normal(m), mode


@FAST
@given(signals())
def test_1d_matches_numpy_and_torch(case):
    x, k, mode = case
    m = len(k)
    assert_allclose(ops.conv1d(x, k, mode), np.convolve(x, k, mode), atol=1e-9)
    assert_allclose(ops.corr1d(x, k, mode), np.correlate(x, k, mode), atol=1e-9)
    left, right = {"valid": (0, 0), "same": (m // 2, (m - 1) // 2), "full": (m - 1, m - 1)}[mode]
    expected = F.conv1d(F.pad(_t(x)[None, None], (left, right)), _t(k)[None, None])[0, 0].numpy()
    assert_allclose(ops.corr1d(x, k, mode), expected, atol=1e-9)


def test_1d_integer_examples():
    assert_array_equal(ops.conv1d([1, 2, 3, 4], [1, 1], "same"), np.convolve([1, 2, 3, 4], [1, 1], "same"))
    assert_array_equal(ops.conv1d([1, 2, 3], [0, 1, 0.5], "full"), [0, 1, 2.5, 4, 1.5])
    assert_array_equal(ops.corr1d([1, 2, 3], [1, 0, -1]), [-2])
    assert ops.corr1d([1, 2, 3], [1, 0, -1]).dtype.kind == "i"


@st.composite
def layers(draw, max_channels=3):
    """Random (x, w, b, padding, stride): x (N, C, H, W), w (O, C, kh, kw) that fit."""
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, max_channels)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    single = draw(st.booleans())  # sometimes give padding and stride as a single int each
    if single:
        pw, sw = ph, sh
    padding, stride = (ph, sh) if single else ((ph, pw), (sh, sw))
    kh, kw = draw(st.integers(1, min(h + 2 * ph, 5))), draw(st.integers(1, min(w + 2 * pw, 5)))
    rng = np.random.default_rng(draw(SEEDS))
    x = rng.standard_normal((n, c, h, w))
    weights = rng.standard_normal((o, c, kh, kw))
    bias = rng.standard_normal(o)
    return x, weights, bias, padding, stride


@FAST
@given(layers())
def test_corr2d_multi_matches_torch(case):
    x, w, b, padding, stride = case
    expected = torch_conv2d(x, w, b, padding, stride)
    assert_allclose(ops.corr2d_multi(x, w, b, padding, stride), expected, atol=1e-9)
    assert_allclose(ops.corr2d_multi(x[0], w, b, padding, stride), expected[0], atol=1e-9)
    assert_allclose(ops.corr2d_multi(x, w, None, padding, stride), expected - b[:, None, None], atol=1e-9)


@FAST
@given(layers())
def test_corr2d_and_conv2d_match_torch(case):
    x, w, _, padding, stride = case
    image, kernel = x[0], w[0]  # (C, H, W), (C, kh, kw)
    expected = torch_conv2d(image[None], kernel[None], None, padding, stride)[0, 0]
    assert_allclose(ops.corr2d(image, kernel, padding, stride), expected, atol=1e-9)
    turned = np.flip(kernel, axis=(-2, -1))
    flipped_expected = torch_conv2d(image[None], turned[None], None, padding, stride)[0, 0]
    assert_allclose(ops.conv2d(image, kernel, padding, stride), flipped_expected, atol=1e-9)
    # Single channel, no channel axis.
    expected_2d = torch_conv2d(image[None, :1], kernel[None, :1], None, padding, stride)[0, 0]
    assert_allclose(ops.corr2d(image[0], kernel[0], padding, stride), expected_2d, atol=1e-9)


@FAST
@given(layers())
def test_corr2d_loops_equals_corr2d(case):
    x, w, _, padding, stride = case
    image, kernel = x[0], w[0]
    loops = ops.corr2d_loops(image, kernel, padding, stride)
    assert_allclose(loops, ops.corr2d(image, kernel, padding, stride), atol=1e-12)
    ints, int_k = np.round(image * 4).astype(int), np.round(kernel * 4).astype(int)
    assert_array_equal(ops.corr2d_loops(ints, int_k, padding, stride), ops.corr2d(ints, int_k, padding, stride))
    assert_array_equal(
        ops.corr2d_loops(ints[0], int_k[0], padding, stride), ops.corr2d(ints[0], int_k[0], padding, stride)
    )


@st.composite
def pools(draw):
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))  # torch's limit
    kh, kw = min(kh, h + 2 * ph), min(kw, w + 2 * pw)
    ph, pw = min(ph, kh // 2), min(pw, kw // 2)
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    rng = np.random.default_rng(draw(SEEDS))
    return rng.standard_normal((h, w)), (kh, kw), stride, (ph, pw)


@FAST
@given(pools())
def test_pool2d_matches_torch(case):
    x, size, stride, padding = case
    torch_stride = size if stride is None else stride
    for mode in ("max", "avg"):
        got = ops.pool2d(x, size, stride, padding, mode)
        assert_allclose(got, torch_pool(x, size, torch_stride, padding, mode), atol=1e-9)
    area = size[0] * size[1]
    summed = ops.pool2d(x, size, stride, padding, "sum")
    assert_allclose(summed, area * ops.pool2d(x, size, stride, padding, "avg"), atol=1e-9)
    # Channels and batches are pooled independently.
    stack = np.stack([x, -x])[None]  # (1, 2, H, W)
    assert_allclose(ops.pool2d(stack, size, stride, padding)[0, 1], ops.pool2d(-x, size, stride, padding))


@FAST
@given(st.integers(1, 30), st.integers(1, 7), st.integers(0, 3), st.integers(1, 4))
def test_output_size_matches_torch(n, f, padding, stride):
    if f > n + 2 * padding:
        with pytest.raises(ValueError, match="larger than the padded input"):
            ops.output_size(n, f, padding, stride)
        return
    out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=stride, padding=padding)
    assert out.shape[-1] == ops.output_size(n, f, padding, stride) == (n + 2 * padding - f) // stride + 1


# ----------------------------------------------------------------------------------------------
# Properties


@FAST
@given(st.integers(0, 3), st.integers(0, 3), st.integers(1, 4), st.integers(1, 4), SEEDS)
def test_shift_equivariance(dy, dx, kh, kw, seed):
    # Moving the image moves the feature map by the same amount: cutting dy rows off the top and
    # dx columns off the left of the input cuts the same off the output.
    rng = np.random.default_rng(seed)
    x, k = rng.integers(-5, 6, (9, 10)), rng.integers(-3, 4, (kh, kw))
    assert_array_equal(ops.corr2d(x[dy:, dx:], k), ops.corr2d(x, k)[dy:, dx:])
    # The same for a pooling grid, when the shift is a whole number of strides.
    assert_array_equal(ops.pool2d(x[2 * dy :, 2 * dx :], 2), ops.pool2d(x, 2)[dy:, dx:])


@FAST
@given(st.integers(-3, 3), st.integers(-3, 3), SEEDS)
def test_linearity(a, b, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.integers(-9, 10, (2, 3, 7, 6))
    k, j = rng.integers(-3, 4, (2, 3, 3, 2))
    combined = a * ops.corr2d(x, k, 1, 2) + b * ops.corr2d(y, k, 1, 2)
    assert_array_equal(ops.corr2d(a * x + b * y, k, 1, 2), combined)
    assert_array_equal(ops.corr2d(x, a * k + b * j), a * ops.corr2d(x, k) + b * ops.corr2d(x, j))
    assert_array_equal(
        ops.conv1d(a * x[0, 0] + b * y[0, 0], k[0, 0], "full"),
        a * ops.conv1d(x[0, 0], k[0, 0], "full") + b * ops.conv1d(y[0, 0], k[0, 0], "full"),
    )


@FAST
@given(st.integers(1, 5), st.integers(1, 5), SEEDS)
def test_impulse_response(kh, kw, seed):
    # Convolving a single 1 (with "full" padding) draws the kernel; correlating draws it turned.
    k = np.random.default_rng(seed).integers(-9, 10, (kh, kw))
    delta = np.array([[1]])
    assert_array_equal(ops.conv2d(delta, k, padding=(kh - 1, kw - 1)), k)
    assert_array_equal(ops.corr2d(delta, k, padding=(kh - 1, kw - 1)), np.flip(k))
    assert_array_equal(ops.conv1d([1], k[0], "full"), k[0])


@FAST
@given(st.integers(1, 8), st.integers(1, 8), SEEDS)
def test_1d_convolution_is_commutative(n, m, seed):
    rng = np.random.default_rng(seed)
    x, k = rng.integers(-9, 10, n), rng.integers(-9, 10, m)
    assert_array_equal(ops.conv1d(x, k, "full"), ops.conv1d(k, x, "full"))


# ----------------------------------------------------------------------------------------------
# Types


def test_dtypes_and_lists():
    image, kernel = ex.ARITHMETIC_IMAGE.tolist(), ex.ARITHMETIC_KERNEL.tolist()
    for out in (
        ops.corr2d(image, kernel),
        ops.conv2d(image, kernel),
        ops.corr2d_loops(image, kernel),
        ops.corr2d_multi([image], [[kernel]]),
        ops.corr1d(image[0], kernel[0]),
        ops.conv1d(image[0], kernel[0]),
        ops.pool2d(image, 2),
        ops.pool2d(image, 2, mode="sum"),
        ops.pool2d(image, 3, 1, 1),
        ops.pad2d(image, 1),
    ):
        assert out.dtype.kind == "i"
    assert ops.pool2d(image, 2, mode="avg").dtype.kind == "f"
    # Integers of any width are widened to int64 (exact), as documented in coursekit.ops.
    assert ops.pool2d(np.array(image, dtype=np.uint8), 3, 1, 1).dtype == np.int64
    assert ops.corr2d(np.array(image, dtype=np.uint8), np.array(kernel, dtype=np.int8)).dtype == np.int64
    x32 = np.ones((2, 3, 8, 8), np.float32)
    w32, b32 = np.ones((4, 3, 3, 3), np.float32), np.zeros(4, np.float32)
    assert ops.corr2d_multi(x32, w32, b32).dtype == np.float32
    assert ops.corr2d(x32[0], x32[0, :, :3, :3]).dtype == np.float32
    assert ops.pool2d(x32, 2, mode="avg").dtype == np.float32
    assert_array_equal(ops.corr2d([[True, False], [False, True]], [[1]]), [[1, 0], [0, 1]])


def test_max_pool_padding_never_wins():
    x = -np.arange(1, 10).reshape(3, 3)  # all negative: zero padding would win
    assert_array_equal(ops.pool2d(x, 3, 1, 1), torch_pool(x, 3, 1, 1, "max"))
    assert ops.pool2d(x, 3, 1, 1).max() < 0
    # Average pooling counts the padded zeros (torch's count_include_pad=True).
    assert ops.pool2d(x, 3, 1, 1, "avg")[0, 0] == (-1 - 2 - 4 - 5) / 9


def test_pad2d():
    x = np.arange(6).reshape(2, 3)
    assert_array_equal(ops.pad2d(x, (1, 2), value=7)[0], [7] * 7)
    assert ops.pad2d(np.zeros((4, 2, 3, 5)), (1, 0)).shape == (4, 2, 5, 5)
    assert_array_equal(ops.pad2d(x, 0), x)


# ----------------------------------------------------------------------------------------------
# Errors

IMG = np.ones((5, 5))
K3 = np.ones((3, 3))

ERRORS = [
    (lambda: ops.corr2d(np.ones(5), K3), r"x must be 2-D \(H, W\) or 3-D \(C, H, W\); got 1-D"),
    (lambda: ops.corr2d(np.ones((1, 1, 5, 5)), K3), r"x must be 2-D .* got 4-D"),
    (lambda: ops.corr2d(IMG, np.ones(3)), r"k must be 2-D \(kh, kw\)"),
    (lambda: ops.corr2d_multi(IMG, np.ones((1, 1, 3, 3))), r"x must be 3-D \(C, H, W\) or 4-D"),
    (lambda: ops.corr2d_multi(IMG[None], K3), r"w must be 4-D \(O, C, kh, kw\)"),
    (lambda: ops.corr2d_multi(IMG[None], np.ones((2, 1, 3, 3)), b=np.ones((2, 1))), r"b must be 1-D"),
    (lambda: ops.corr1d(IMG, [1]), r"x must be 1-D"),
    (lambda: ops.pool2d(np.ones(4), 2), r"x must be 2-D .* or 4-D .*; got 1-D"),
    (lambda: ops.pad2d(np.ones(4), 1), r"x must be 2-D"),
    (lambda: ops.corr2d(IMG, np.ones((6, 6))), r"kernel size 6 is larger than the padded input size 5"),
    (lambda: ops.corr2d(IMG, np.ones((6, 6)), padding=(0, 1)), r"larger than the padded input size 5"),
    (lambda: ops.corr2d_loops(IMG, np.ones((3, 8))), r"kernel size 8 is larger than the padded input"),
    (lambda: ops.corr2d_multi(IMG[None], np.ones((1, 1, 7, 7))), r"larger than the padded input"),
    (lambda: ops.pool2d(IMG, 6), r"kernel size 6 is larger than the padded input size 5"),
    (lambda: ops.corr1d([1, 2], [1, 2, 3]), r"kernel size 3 is larger than the input size 2"),
    (lambda: ops.conv1d([1, 2], [1, 2, 3], "same"), r"kernel size 3 is larger than the input size 2"),
    (lambda: ops.corr1d([], [1]), r"must not be empty"),
    (lambda: ops.output_size(3, 5), r"kernel size 5 is larger than the padded input size 3"),
    (lambda: ops.corr2d(IMG, K3, stride=0), r"stride must be positive, got 0"),
    (lambda: ops.corr2d(IMG, K3, stride=(1, -2)), r"stride must be positive"),
    (lambda: ops.corr2d_loops(IMG, K3, stride=0), r"stride must be positive"),
    (lambda: ops.corr2d_multi(IMG[None], np.ones((1, 1, 3, 3)), stride=-1), r"stride must be positive"),
    (lambda: ops.pool2d(IMG, 2, stride=0), r"stride must be positive"),
    (lambda: ops.output_size(5, 3, stride=0), r"stride must be positive"),
    (lambda: ops.corr2d(IMG, K3, padding=-1), r"padding must be non-negative, got -1"),
    (lambda: ops.corr2d_loops(IMG, K3, padding=(0, -1)), r"padding must be non-negative"),
    (lambda: ops.pad2d(IMG, -2), r"padding must be non-negative"),
    (lambda: ops.pool2d(IMG, 2, padding=-1), r"padding must be non-negative"),
    (lambda: ops.output_size(5, 3, padding=-1), r"padding must be non-negative"),
    (lambda: ops.corr2d(IMG, K3, padding=1.5), r"padding must be an int or a pair of ints"),
    (lambda: ops.corr2d(IMG, K3, stride=(1, 2, 3)), r"stride must be an int or a pair of ints"),
    (lambda: ops.pool2d(IMG, 0), r"size must be positive"),
    (lambda: ops.pool2d(IMG, 2, padding=2), r"padding \(2, 2\) must be at most half the pooling size"),
    (lambda: ops.output_size(0, 1), r"must be positive"),
    (lambda: ops.output_size(5.0, 3), r"integer"),
    (lambda: ops.corr2d(np.ones((2, 5, 5)), np.ones((3, 3, 3))), r"channel mismatch: x has 2 channels but k has 3"),
    (lambda: ops.corr2d(np.ones((2, 5, 5)), K3), r"channel mismatch"),
    (lambda: ops.corr2d_loops(np.ones((2, 5, 5)), np.ones((1, 3, 3))), r"channel mismatch"),
    (lambda: ops.conv2d(IMG, np.ones((1, 3, 3))), r"channel mismatch"),
    (
        lambda: ops.corr2d_multi(np.ones((2, 5, 5)), np.ones((4, 3, 3, 3))),
        r"channel mismatch: x has 2 channels but w expects 3",
    ),
    (
        lambda: ops.corr2d_multi(np.ones((2, 5, 5)), np.ones((4, 2, 3, 3)), b=np.ones(3)),
        r"bias has 3 values but w has 4 output channels",
    ),
    (lambda: ops.corr2d([["a", "b"], ["c", "d"]], [[1]]), r"x must hold numbers, got an array of dtype <U1"),
    (lambda: ops.corr2d(IMG, np.array([[None]], dtype=object)), r"k must hold numbers, got .* dtype object"),
    (lambda: ops.pool2d(np.array([["x"]]), 1), r"x must hold numbers"),
    (lambda: ops.conv1d(["1", "2"], [1]), r"x must hold numbers"),
    (lambda: ops.corr1d([1, 2, 3], [1], mode="half"), r"unknown mode 'half'; choose one of: full, same, valid"),
    (lambda: ops.conv1d([1, 2, 3], [1], mode="VALID"), r"unknown mode 'VALID'"),
    (lambda: ops.pool2d(IMG, 2, mode="min"), r"unknown mode 'min'; choose one of: avg, max, sum"),
]


@pytest.mark.parametrize("call, message", ERRORS, ids=[m for _, m in ERRORS])
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_examples_are_inputs_only_and_read_only():
    arrays = {name: value for name, value in vars(ex).items() if isinstance(value, np.ndarray)}
    assert len(arrays) >= 15
    for name, array in arrays.items():
        assert name.isupper()
        assert not array.flags.writeable, name
    assert ex.SOBEL_DEMO_KERNEL is filters.SOBEL_VERTICAL


# ----------------------------------------------------------------------------------------------
# Issue 13: integer inputs do not overflow; big inputs do not silently allocate gigabytes


def test_uint8_inputs_are_widened_not_wrapped():
    # MNIST loads as uint8: 9 * 200 = 1800 must not come out as 1800 mod 256 = 8.
    image, kernel = np.full((3, 3), 200, np.uint8), np.ones((3, 3), np.uint8)
    out = ops.corr2d(image, kernel)
    assert out.dtype == np.int64 and out.tolist() == [[1800]]
    assert ops.corr2d_loops(image, kernel).tolist() == [[1800]]
    assert ops.corr2d_multi(image[None], kernel[None, None]).tolist() == [[[1800]]]
    assert ops.corr1d(image[0], kernel[0]).tolist() == [600]
    assert ops.pool2d(image, 3, mode="sum").tolist() == [[1800]]
    assert ops.pool2d(image, 3, mode="avg").tolist() == [[200.0]]
    assert ops.pad2d(image, 1, value=-1).min() == -1  # not 255
    assert ops.corr2d(torch.from_numpy(image), torch.from_numpy(kernel)).tolist() == [[1800]]


def test_result_dtype_rule():
    assert ops.result_dtype(np.uint8, np.uint8) == np.int64
    assert ops.result_dtype(np.bool_) == np.int64
    assert ops.result_dtype(np.float16, np.float16) == np.float32
    assert ops.result_dtype(np.float32, np.float32) == np.float32
    assert ops.result_dtype(np.uint8, np.float32) == np.float64
    assert ops.result_dtype(np.zeros(2, np.int8), np.zeros(2, np.float64)) == np.float64
    assert ops.as_array(np.zeros(3, np.float16)).dtype == np.float32
    x64 = np.zeros(3)
    assert ops.as_array(x64) is x64  # no copy when nothing needs widening


def test_integer_overflow_is_refused_not_wrapped():
    big = np.full((2, 2), 2**31 - 1, np.int32)
    with pytest.raises(ops.IntegerOverflowError, match=r"corr2d: .* a sum of 4 products could reach 1\.84e\+19"):
        ops.corr2d(big, big)
    assert ops.corr2d(big.astype(float), big)[0, 0] == pytest.approx(4 * (2**31 - 1) ** 2)
    with pytest.raises(OverflowError):  # IntegerOverflowError is an OverflowError and a ValueError
        ops.pool2d(np.full((2, 2), 2**62), 2, mode="sum")
    assert ops.pool2d(np.full((2, 2), 2**62), 2, mode="max").item() == 2**62  # max cannot overflow
    with pytest.raises(ValueError, match=r"x holds values up to 18446744073709551615, beyond int64"):
        ops.corr1d(np.array([2**64 - 1], np.uint64), [1])


def _view(shape, dtype=np.float32):
    """A huge array that takes no memory (every element is the same one)."""
    return np.broadcast_to(np.zeros((), dtype), shape)


def test_im2col_memory_is_capped_before_anything_is_allocated():
    x, w = _view((1, 3, 4000, 4000)), _view((64, 3, 101, 101))
    with pytest.raises(
        ops.MemoryLimitError,
        match=r"corr2d_multi with x \(1, 3, 4000, 4000\), w \(64, 3, 101, 101\)"
        r".* would allocate about 1\.7 TiB \(im2col matrix \(30603, 15210000\)"
        r".*more than the limit of 1\.0 GiB.*max_bytes=",
    ) as info:
        ops.corr2d_multi(x, w)
    assert isinstance(info.value, MemoryError) and isinstance(info.value, ValueError)
    with pytest.raises(ops.MemoryLimitError, match=r"corr2d with x \(4000, 4000\), k \(101, 101\)"):
        ops.corr2d(x[0, 0], w[0, 0])
    with pytest.raises(ops.MemoryLimitError, match=r"pool2d with x \(1, 3, 4000, 4000\)"):
        ops.pool2d(x, 3, 1, 1, max_bytes=10**6)
    with pytest.raises(ops.MemoryLimitError, match=r"pad2d with x \(2, 2\), padding \(1000000, 1000000\)"):
        ops.pad2d(np.ones((2, 2)), 10**6)
    with pytest.raises(ops.MemoryLimitError, match=r"x as int64"):  # widening a uint8 view copies 8x
        ops.corr1d(_view((2**28,), np.uint8), [1])


def test_the_memory_cap_can_be_raised_or_lowered(monkeypatch):
    x, k = np.ones((50, 50)), np.ones((3, 3))
    with pytest.raises(ops.MemoryLimitError, match="more than the limit of 1000 bytes"):
        ops.corr2d(x, k, max_bytes=1000)
    assert ops.corr2d(x, k, max_bytes=float("inf")).shape == (48, 48)
    monkeypatch.setattr(ops, "MAX_BYTES", 1000)
    for call in (
        lambda: ops.corr2d(x, k),
        lambda: ops.corr2d_loops(x, k),
        lambda: ops.conv2d(x, k),
        lambda: ops.corr2d_multi(x[None], k[None, None]),
        lambda: ops.pool2d(x, 2),
        lambda: ops.pad2d(x, 1),
        lambda: ops.corr1d(x[0], k[0]),
        lambda: ops.conv1d(x[0], k[0]),
    ):
        with pytest.raises(ops.MemoryLimitError, match="coursekit.ops.MAX_BYTES"):
            call()
    assert ops.corr2d(x, k, max_bytes=10**6).shape == (48, 48)  # the argument wins over the constant


@pytest.mark.parametrize("max_bytes", [0, -1, "1GB", True, float("nan")])
def test_max_bytes_must_be_a_positive_number(max_bytes):
    with pytest.raises(ValueError, match=r"max_bytes must be a positive number of bytes"):
        ops.corr2d(IMG, K3, max_bytes=max_bytes)


def test_tensors_lists_and_views_are_accepted():
    t = torch.arange(25.0).reshape(5, 5).requires_grad_()
    assert_array_equal(ops.corr2d(t, K3), ops.corr2d(t.detach().numpy(), K3))
    assert ops.corr2d(t.to(torch.bfloat16), K3).dtype == np.float64  # bfloat16 -> float32, with float64 K3
    assert ops.corr2d(torch.ones(3, 3, dtype=torch.float16), torch.ones(2, 2, dtype=torch.float16)).dtype == np.float32
    assert_array_equal(ops.pool2d(torch.tensor([[True, False], [False, False]]), 2), [[1]])
    assert_array_equal(ops.corr2d(np.ones((6, 6))[::2, ::2], K3), [[9.0]])  # a strided view


def test_huge_strides_and_paddings_are_handled_without_crashing():
    x = np.arange(25).reshape(5, 5)
    assert_array_equal(ops.corr2d(x, np.ones((2, 2), int), stride=10**30), [[12]])
    assert_array_equal(ops.pool2d(x, 2, stride=(10**40, 1)), [[6, 7, 8, 9]])
    with pytest.raises(ops.MemoryLimitError, match=r"padding \(10000000000000000000000000000000, 0\)"):
        ops.corr2d(x, np.ones((2, 2)), padding=(10**31, 0))
