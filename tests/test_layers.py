"""Tests for coursekit.layers: backward passes, layers, softmax/cross-entropy and gradient checks.

Four kinds of evidence:

1. small examples worked by hand (the sums are written out in the comments);
2. every backward pass against central differences (`numerical_gradient`) in float64;
3. agreement with torch.autograd on random shapes, strides and paddings (hypothesis);
4. every bad input raises an error naming the problem, and a tiny CNN learns.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from coursekit import layers as L
from coursekit import ops

PROPERTY = settings(max_examples=25, deadline=None)
SEEDS = st.integers(0, 2**32 - 1)
GRAD_TOL = 1e-7  # relative error of a backward pass against central differences, float64


def _t(a, grad: bool = True) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _projection_loss(shape, seed=1):
    """A random linear loss ``sum(y * r)``: its gradient with respect to y is r (any shape)."""
    r = np.random.default_rng(seed).standard_normal(shape)
    return r, lambda y: float(np.sum(y * r))


# ----------------------------------------------------------------------------------------------
# 1. Worked by hand

X44 = np.arange(16.0).reshape(4, 4)  # x[i, j] = 4i + j:  0 1 2 3 / 4 5 6 7 / 8 9 10 11 / 12 13 14 15
K22 = np.array([[1.0, 2.0], [3.0, 4.0]])


def test_corr2d_backward_by_hand_dy_of_ones():
    # 4x4 input, 2x2 kernel, stride 1 -> 3x3 output; dy = 1 everywhere.
    # dk[m, n] = sum of x over the 3x3 block starting at (m, n)
    #          = sum_{a,b<3} 4(m+a) + (n+b) = 36m + 36 + 9n + 9:   dk = [[45, 54], [81, 90]].
    # dx[p, q] = sum of the kernel entries that touch (p, q): a corner touches one of them
    # (1, 2, 3, 4), an edge cell two (top 1+2=3, bottom 3+4=7, left 1+3=4, right 2+4=6), an inner
    # cell all four (10).
    dx, dk = L.corr2d_backward(X44, K22, np.ones((3, 3)))
    assert_array_equal(dk, [[45, 54], [81, 90]])
    assert_array_equal(dx, [[1, 3, 3, 2], [4, 10, 10, 6], [4, 10, 10, 6], [3, 7, 7, 4]])


def test_corr2d_backward_by_hand_sparse_dy():
    # dy is 1 at output (0, 0) and 2 at output (2, 2), 0 elsewhere.
    # dk = 1 * (window at (0,0)) + 2 * (window at (2,2)) = [[0,1],[4,5]] + 2 * [[10,11],[14,15]]
    #    = [[20, 23], [32, 35]];
    # dx = 1 * k placed at (0, 0) + 2 * k placed at (2, 2): [[1,2],[3,4]] top left, [[2,4],[6,8]]
    # bottom right, zeros elsewhere (the "full convolution" of dy with k).
    dy = np.array([[1.0, 0, 0], [0, 0, 0], [0, 0, 2]])
    dx, dk = L.corr2d_backward(X44, K22, dy)
    assert_array_equal(dk, [[20, 23], [32, 35]])
    assert_array_equal(dx, [[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 2, 4], [0, 0, 6, 8]])


def test_corr2d_backward_by_hand_stride_2():
    # stride 2: 4 non-overlapping windows at (0,0), (0,2), (2,0), (2,2); dy = 1 (2x2).
    # dk[m, n] = x[m,n] + x[m,n+2] + x[m+2,n] + x[m+2,n+2] = 4(4m+n) + (0+2+8+10) = 16m + 4n + 20
    #          = [[20, 24], [36, 40]];  dx = the kernel tiled (each cell in exactly one window).
    dx, dk = L.corr2d_backward(X44, K22, np.ones((2, 2)), stride=2)
    assert_array_equal(dk, [[20, 24], [36, 40]])
    assert_array_equal(dx, np.tile(K22, (2, 2)))


def test_corr2d_backward_padding_discards_the_border():
    # 2x2 input of ones, 2x2 kernel, padding 1 -> 3x3 output; dy = 1. Each input cell lies under
    # all 4 kernel entries once: dx = 1+2+3+4 = 10 everywhere. Each kernel entry meets every
    # input cell exactly once: dk = sum(x) = 4 everywhere.
    dx, dk = L.corr2d_backward(np.ones((2, 2)), K22, np.ones((3, 3)), padding=1)
    assert_array_equal(dx, np.full((2, 2), 10.0))
    assert_array_equal(dk, np.full((2, 2), 4.0))


def test_col2im_sums_overlaps_it_is_not_the_inverse():
    # 3x3 image of ones, 2x2 windows, stride 1: the 4 windows cover the centre 4 times, the edge
    # middles twice and the corners once; col2im(im2col(x)) counts that, it does not give x back.
    x = np.ones((1, 1, 3, 3))
    back = L.col2im(L.im2col(x, 2), x.shape, 2)
    assert_array_equal(back[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_im2col_layout_by_hand():
    # 1 image, 1 channel, 3x3 = 0..8, 2x2 windows: column j is window j unrolled row by row.
    cols = L.im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2)
    assert cols.shape == (1, 4, 4)
    assert_array_equal(cols[0].T, [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]])


def test_maxpool_backward_ties_go_to_the_first_max_in_row_major_order():
    # window [[1, 3], [3, 2]]: 3 appears at (0, 1) and (1, 0); (0, 1) comes first row by row.
    x = np.array([[1.0, 3.0], [3.0, 2.0]])
    assert_array_equal(L.maxpool_backward(x, np.array([[5.0]]), 2), [[0, 5], [0, 0]])
    xt = _t(x[None, None])
    F.max_pool2d(xt, 2).backward(torch.full((1, 1, 1, 1), 5.0, dtype=torch.float64))
    assert_array_equal(xt.grad[0, 0].numpy(), [[0, 5], [0, 0]])  # PyTorch (CPU) picks the same


def test_maxpool_backward_overlapping_windows_add_up():
    # all-equal 3x3, 2x2 windows, stride 1: each of the 4 windows picks its top-left cell.
    dx = L.maxpool_backward(np.ones((3, 3)), np.array([[1.0, 2.0], [3.0, 4.0]]), 2, stride=1)
    assert_array_equal(dx, [[1, 2, 0], [3, 4, 0], [0, 0, 0]])
    # distinct values: the centre (9) is the max of all 4 windows and gets 1+2+3+4
    x = np.array([[1.0, 2, 3], [4, 9, 5], [6, 7, 8]])
    assert_array_equal(
        L.maxpool_backward(x, np.array([[1.0, 2.0], [3.0, 4.0]]), 2, 1), [[0, 0, 0], [0, 10, 0], [0, 0, 0]]
    )


def test_avgpool_backward_spreads_evenly():
    # 4x4, 2x2 windows, stride 2: each cell belongs to one window and gets dy / 4.
    dy = np.array([[4.0, 8.0], [12.0, 16.0]])
    dx = L.avgpool_backward(np.zeros((4, 4)), dy, 2)
    assert_array_equal(dx, np.kron(dy / 4, np.ones((2, 2))))


def test_cross_entropy_by_hand():
    # z = [0, 0] for both rows: softmax = [1/2, 1/2], loss = log 2; dz = (p - onehot) / 2.
    loss, dz = L.cross_entropy(np.zeros((2, 2)), np.array([0, 1]))
    assert loss == pytest.approx(np.log(2))
    assert_allclose(dz, [[-0.25, 0.25], [0.25, -0.25]])


# ----------------------------------------------------------------------------------------------
# 2. Backward passes against central differences (float64)


def test_numerical_gradient_of_a_known_function_and_restores_x():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    g = L.numerical_gradient(lambda a: float(np.sum(a**3)), x)
    assert L.relative_error(g, 3 * before**2) < 1e-9
    assert_array_equal(x, before)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])

    def boom(a):
        raise ZeroDivisionError("inside f")

    with pytest.raises(ZeroDivisionError):
        L.numerical_gradient(boom, x)
    assert_array_equal(x, [1.0, 2.0])


def test_relative_error_values():
    assert L.relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert L.relative_error([0.0], [0.0]) == 0.0  # no 0/0
    assert L.relative_error([1.0], [0.0]) == 1.0
    assert L.relative_error([1.0, 100.0], [1.1, 100.0]) == pytest.approx(0.1 / 200)


@pytest.mark.parametrize("padding, stride", [(0, 1), (1, 2), ((2, 0), (1, 3))])
def test_corr2d_backward_matches_central_differences(padding, stride):
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((6, 7)), rng.standard_normal((3, 2))
    r, loss = _projection_loss(ops.corr2d(x, k, padding, stride).shape)
    dx, dk = L.corr2d_backward(x, k, r, padding, stride)
    assert L.relative_error(dx, L.numerical_gradient(lambda a: loss(ops.corr2d(a, k, padding, stride)), x)) < GRAD_TOL
    assert L.relative_error(dk, L.numerical_gradient(lambda a: loss(ops.corr2d(x, a, padding, stride)), k)) < GRAD_TOL


@pytest.mark.parametrize("padding, stride", [(0, 1), (1, 2), ((0, 2), (2, 1))])
def test_conv_backward_matches_central_differences(padding, stride):
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((2, 3, 3, 2)), rng.standard_normal(2)
    r, loss = _projection_loss(ops.corr2d_multi(x, w, b, padding, stride).shape)
    dx, dw, db = L.conv_backward(x, w, r, padding, stride)
    checks = {
        "dx": (dx, lambda a: loss(ops.corr2d_multi(a, w, b, padding, stride)), x),
        "dw": (dw, lambda a: loss(ops.corr2d_multi(x, a, b, padding, stride)), w),
        "db": (db, lambda a: loss(ops.corr2d_multi(x, w, a, padding, stride)), b),
    }
    for name, (analytic, f, at) in checks.items():
        assert L.relative_error(analytic, L.numerical_gradient(f, at)) < GRAD_TOL, name


@pytest.mark.parametrize("mode, backward", [("max", L.maxpool_backward), ("avg", L.avgpool_backward)])
@pytest.mark.parametrize("size, stride, padding", [(2, None, 0), (3, 1, 1), ((2, 3), (1, 2), (1, 0))])
def test_pool_backward_matches_central_differences(mode, backward, size, stride, padding):
    x = np.random.default_rng(2).standard_normal((2, 2, 5, 6))
    r, loss = _projection_loss(ops.pool2d(x, size, stride, padding, mode).shape)
    numeric = L.numerical_gradient(lambda a: loss(ops.pool2d(a, size, stride, padding, mode)), x)
    assert L.relative_error(backward(x, r, size, stride, padding), numeric) < GRAD_TOL


def test_cross_entropy_and_softmax_match_central_differences():
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((5, 4)) * 3, rng.integers(0, 4, 5)
    _, dz = L.cross_entropy(z, y)
    assert L.relative_error(dz, L.numerical_gradient(lambda a: L.cross_entropy(a, y)[0], z)) < GRAD_TOL
    assert_allclose(dz * len(z), L.softmax(z) - np.eye(4)[y])  # (softmax - one-hot) / N


def _tiny_cnn(seed: int = 0) -> L.Sequential:
    rng = np.random.default_rng(seed)
    return L.Sequential(
        L.Conv2d(1, 3, 3, padding=1, rng=rng),
        L.ReLU(),
        L.MaxPool2d(2),
        L.Conv2d(3, 2, 2, stride=2, rng=rng),
        L.AvgPool2d(1),
        L.Flatten(),
        L.Linear(2 * 2 * 2, 3, rng=rng),
    )


def test_every_layer_of_a_network_matches_central_differences():
    rng = np.random.default_rng(4)
    model, x, y = _tiny_cnn(), rng.standard_normal((3, 1, 8, 8)), rng.integers(0, 3, 3)
    for layer in model:  # non-zero biases, so a wrong bias gradient would show
        if "bias" in layer.params:
            layer.params["bias"][:] = rng.standard_normal(layer.params["bias"].shape) * 0.1

    def loss(_=None) -> float:
        return L.cross_entropy(model.forward(x), y)[0]

    _, dz = L.cross_entropy(model.forward(x), y)
    dx = model.backward(dz)
    analytic = {**model.grads, "x": dx}
    assert set(analytic) == {"0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias", "x"}
    for name, p in [*model.params.items(), ("x", x)]:
        assert L.relative_error(analytic[name], L.numerical_gradient(loss, p)) < GRAD_TOL, name


# ----------------------------------------------------------------------------------------------
# 3. Against torch.autograd, random shapes


@st.composite
def window_geometry(draw, max_kernel=4, max_padding=2, half_padding=False):
    """(H, W), kernel (kh, kw), padding, stride such that the window fits the padded input."""
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    if half_padding:  # pooling: padding at most half the window
        ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    else:
        ph, pw = draw(st.integers(0, max_padding)), draw(st.integers(0, max_padding))
    h = draw(st.integers(max(1, kh - 2 * ph), 8))
    w = draw(st.integers(max(1, kw - 2 * pw), 8))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return (h, w), (kh, kw), (ph, pw), stride


@PROPERTY
@given(geometry=window_geometry(), n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), seed=SEEDS)
def test_conv_backward_matches_torch(geometry, n, c, o, seed):
    (h, w_), (kh, kw), padding, stride = geometry
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, c, h, w_)), rng.standard_normal((o, c, kh, kw)), rng.standard_normal(o)
    xt, wt, bt = _t(x), _t(w), _t(b)
    yt = F.conv2d(xt, wt, bt, stride=stride, padding=padding)
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.from_numpy(dy))
    dx, dw, db = L.conv_backward(x, w, dy, padding, stride)
    assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_allclose(dw, wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_allclose(db, bt.grad.numpy(), rtol=1e-10, atol=1e-12)
    # and the Conv2d layer (forward and backward) agrees too
    layer = L.Conv2d(c, o, (kh, kw), stride, padding)
    layer.params["weight"][:], layer.params["bias"][:] = w, b
    assert_allclose(layer.forward(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert_allclose(layer.backward(dy), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_allclose(layer.grads["weight"], wt.grad.numpy(), rtol=1e-10, atol=1e-12)


@PROPERTY
@given(geometry=window_geometry(max_padding=0), seed=SEEDS)
def test_corr2d_backward_matches_torch(geometry, seed):
    (h, w), (kh, kw), _, stride = geometry
    padding = (seed % 2, (seed // 2) % 2)  # 0 or 1 on each axis
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((h, w)), rng.standard_normal((kh, kw))
    xt, kt = _t(x), _t(k)
    yt = F.conv2d(xt[None, None], kt[None, None], stride=stride, padding=padding)[0, 0]
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.from_numpy(dy))
    dx, dk = L.corr2d_backward(x, k, dy, padding, stride)
    assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_allclose(dk, kt.grad.numpy(), rtol=1e-10, atol=1e-12)


@PROPERTY
@given(geometry=window_geometry(half_padding=True), mode=st.sampled_from(["max", "avg"]), seed=SEEDS)
def test_pool_backward_matches_torch(geometry, mode, seed):
    (h, w), size, padding, stride = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, h, w))
    xt = _t(x)
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    yt = pool(xt, size, stride, padding)
    dy = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.from_numpy(dy))
    backward = L.maxpool_backward if mode == "max" else L.avgpool_backward
    assert_allclose(backward(x, dy, size, stride, padding), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    layer = L.MaxPool2d(size, stride, padding) if mode == "max" else L.AvgPool2d(size, stride, padding)
    assert_allclose(layer.forward(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert_allclose(layer.backward(dy), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@PROPERTY
@given(n=st.integers(1, 6), k=st.integers(1, 6), scale=st.sampled_from([1.0, 30.0, 1e4]), seed=SEEDS)
def test_cross_entropy_matches_torch(n, k, scale, seed):
    rng = np.random.default_rng(seed)
    z, y = rng.standard_normal((n, k)) * scale, rng.integers(0, k, n)
    zt = _t(z)
    loss_t = F.cross_entropy(zt, torch.from_numpy(y))
    loss_t.backward()
    loss, dz = L.cross_entropy(z, y)
    assert loss == pytest.approx(loss_t.item(), rel=1e-10, abs=1e-12)
    assert_allclose(dz, zt.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert_allclose(L.softmax(z), torch.softmax(_t(z, False), 1).numpy(), rtol=1e-9, atol=1e-300)


@PROPERTY
@given(geometry=window_geometry(), n=st.integers(1, 2), c=st.integers(1, 3), seed=SEEDS)
def test_col2im_is_the_adjoint_of_im2col(geometry, n, c, seed):
    (h, w), size, padding, stride = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    cols = L.im2col(x, size, padding, stride)
    other = rng.standard_normal(cols.shape)
    assert np.sum(cols * other) == pytest.approx(np.sum(x * L.col2im(other, x.shape, size, padding, stride)), rel=1e-12)


@PROPERTY
@given(geometry=window_geometry(), n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), seed=SEEDS)
def test_im2col_matmul_is_the_forward_conv(geometry, n, c, o, seed):
    (h, w_), (kh, kw), padding, stride = geometry
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((n, c, h, w_)), rng.standard_normal((o, c, kh, kw))
    expected = ops.corr2d_multi(x, w, padding=padding, stride=stride)
    got = (w.reshape(o, -1) @ L.im2col(x, (kh, kw), padding, stride)).reshape(expected.shape)
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_sequential_matches_torch_forward_and_backward():
    rng = np.random.default_rng(5)
    model, x, y = _tiny_cnn(seed=5), rng.standard_normal((4, 1, 8, 8)), rng.integers(0, 3, 4)
    reference = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(3, 2, 2, stride=2),
        torch.nn.AvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 3),
    ).double()
    with torch.no_grad():
        for name, p in reference.named_parameters():
            p.copy_(torch.from_numpy(model.params[name]))
    loss, dz = L.cross_entropy(model.forward(x), y)
    model.backward(dz)
    loss_t = F.cross_entropy(reference(torch.from_numpy(x)), torch.from_numpy(y))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    for name, p in reference.named_parameters():
        assert_allclose(model.grads[name], p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


# ----------------------------------------------------------------------------------------------
# Softmax stability, dtypes


def test_softmax_of_huge_scores_is_finite_and_correct():
    p = L.softmax(np.array([1000.0, 1001.0]))
    assert np.isfinite(p).all()
    assert_allclose(p, [1 / (1 + np.e), np.e / (1 + np.e)], rtol=1e-12)  # [0.2689..., 0.7310...]
    batch = L.softmax(np.array([[1000.0, 1001.0], [-1e300, 1e300], [5.0, 5.0]]))
    assert_allclose(batch, [[1 / (1 + np.e), np.e / (1 + np.e)], [0.0, 1.0], [0.5, 0.5]], rtol=1e-12)
    loss, dz = L.cross_entropy(np.array([[1000.0, 1001.0]]), np.array([0]))
    assert loss == pytest.approx(np.log(1 + np.e), rel=1e-12) and np.isfinite(dz).all()


def test_float32_in_float32_out():
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((1, 2, 5, 5)).astype(np.float32), rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    dy = rng.standard_normal((1, 3, 3, 3)).astype(np.float32)
    assert L.im2col(x, 3).dtype == np.float32
    assert all(g.dtype == np.float32 for g in L.conv_backward(x, w, dy))
    assert L.maxpool_backward(x, np.ones((1, 2, 2, 2), np.float32), 2).dtype == np.float32
    assert L.avgpool_backward(x, np.ones((1, 2, 2, 2), np.float32), 2).dtype == np.float32
    assert L.softmax(np.ones((2, 3), np.float32)).dtype == np.float32
    # float32 values agree with float64 to float32 precision; a float64 input gives float64
    dx64 = L.conv_backward(x.astype(np.float64), w, dy)[0]
    assert dx64.dtype == np.float64
    assert_allclose(L.conv_backward(x, w, dy)[0], dx64, rtol=1e-4, atol=1e-5)
    # integers are computed in float64
    assert (
        L.corr2d_backward(np.ones((3, 3), np.uint8), np.ones((2, 2), np.int32), np.ones((2, 2)))[0].dtype == np.float64
    )


# ----------------------------------------------------------------------------------------------
# 4a. Bad inputs


def _ran(layer, x):
    layer.forward(x)
    return layer


IMG = np.ones((1, 1, 4, 4))
W3 = np.ones((2, 1, 3, 3))

BAD = {
    "stride 0 (conv)": (lambda: L.conv_backward(IMG, W3, np.ones((1, 2, 2, 2)), stride=0), r"stride must be positive"),
    "stride 0 (corr2d)": (lambda: L.corr2d_backward(X44, K22, np.ones((3, 3)), stride=0), r"stride must be positive"),
    "stride 0 (im2col)": (lambda: L.im2col(IMG, 2, stride=0), r"stride must be positive, got 0"),
    "stride 0 (pool)": (lambda: L.maxpool_backward(IMG, np.ones((1, 1, 2, 2)), 2, 0), r"stride must be positive"),
    "stride 0 (layer)": (lambda: L.Conv2d(1, 1, 3, stride=0), r"stride must be positive, got 0"),
    "negative padding": (lambda: L.im2col(IMG, 2, padding=-1), r"padding must be non-negative, got -1"),
    "kernel too large (conv)": (
        lambda: L.conv_backward(IMG, np.ones((1, 1, 5, 5)), np.ones((1, 1, 1, 1))),
        r"kernel size 5 is larger than the padded input size 4",
    ),
    "kernel too large (corr2d)": (
        lambda: L.corr2d_backward(X44, np.ones((6, 1)), np.ones((1, 4))),
        r"kernel size 6 is larger than the padded input size 4",
    ),
    "kernel too large (layer)": (
        lambda: L.Conv2d(1, 1, 7).forward(IMG),
        r"kernel size 7 is larger than the padded input size 4",
    ),
    "window too large (pool)": (
        lambda: L.avgpool_backward(IMG, np.ones((1, 1, 1, 1)), 5),
        r"kernel size 5 is larger than the padded input size 4",
    ),
    "pool padding over half": (
        lambda: L.maxpool_backward(IMG, np.ones((1, 1, 3, 3)), 2, 2, padding=2),
        r"padding \(2, 2\) must be at most half the pooling size \(2, 2\)",
    ),
    "wrong ndim (im2col)": (lambda: L.im2col(X44, 2), r"x must be 4-D \(N, C, H, W\); got 2-D with shape \(4, 4\)"),
    "wrong ndim (corr2d)": (lambda: L.corr2d_backward(IMG, K22, np.ones((3, 3))), r"x must be 2-D \(H, W\); got 4-D"),
    "wrong ndim (w)": (lambda: L.conv_backward(IMG, K22, np.ones((1, 1, 3, 3))), r"w must be 4-D \(O, C, kh, kw\)"),
    "wrong ndim (Conv2d)": (lambda: L.Conv2d(1, 1, 2).forward(X44), r"x must be 4-D \(N, C, H, W\); got 2-D"),
    "channel mismatch": (
        lambda: L.conv_backward(np.ones((1, 2, 4, 4)), W3, np.ones((1, 2, 2, 2))),
        r"channel mismatch: x has 2 channels but w expects 1",
    ),
    "Conv2d channel mismatch": (
        lambda: L.Conv2d(3, 1, 2).forward(IMG),
        r"x has 1 channels but this Conv2d expects in_channels=3",
    ),
    "Linear feature mismatch": (lambda: L.Linear(5, 2).forward(np.ones((2, 4))), r"x has 4 features.*expects 5"),
    "dy shape (conv)": (
        lambda: L.conv_backward(IMG, W3, np.ones((1, 2, 3, 3))),
        r"dy must have the shape of the output y \(N, O, H', W'\), \(1, 2, 2, 2\); got shape \(1, 2, 3, 3\)",
    ),
    "dy shape (corr2d)": (
        lambda: L.corr2d_backward(X44, K22, np.ones((2, 2))),
        r"dy must have the shape of the output y \(H', W'\), \(3, 3\); got shape \(2, 2\)",
    ),
    "dy shape (maxpool)": (
        lambda: L.maxpool_backward(IMG, np.ones((1, 1, 3, 3)), 2),
        r"dy must have the shape of the pooled output \(\.\.\., H', W'\), \(1, 1, 2, 2\); got shape \(1, 1, 3, 3\)",
    ),
    "dy shape (avgpool)": (
        lambda: L.avgpool_backward(IMG, np.ones((1, 2, 2)), 2),
        r"\(1, 1, 2, 2\); got shape \(1, 2, 2\)",
    ),
    "dy shape (layer)": (
        lambda: _ran(L.ReLU(), np.ones((2, 3))).backward(np.ones((3, 2))),
        r"dy must have the shape of ReLU's last output, \(2, 3\); got shape \(3, 2\)",
    ),
    "dy shape (Sequential)": (
        lambda: _ran(L.Sequential(L.Flatten(), L.Linear(16, 2)), IMG).backward(np.ones((1, 3))),
        r"dy must have the shape of Linear's last output, \(1, 2\); got shape \(1, 3\)",
    ),
    "cols shape": (
        lambda: L.col2im(np.ones((1, 4, 4)), (1, 1, 4, 4), 2),
        r"cols must have the shape of im2col's output .*\(1, 4, 9\); got shape \(1, 4, 4\)",
    ),
    "x_shape": (lambda: L.col2im(np.ones((1, 4, 9)), (4, 4), 2), r"x_shape must be 4 positive ints"),
    "label out of range": (
        lambda: L.cross_entropy(np.zeros((3, 4)), np.array([0, 4, 1])),
        r"y must hold labels from 0 to 3 \(z has K=4 columns\); got y\[1\] = 4",
    ),
    "negative label": (lambda: L.cross_entropy(np.zeros((2, 4)), np.array([0, -1])), r"got y\[1\] = -1"),
    "label count": (
        lambda: L.cross_entropy(np.zeros((3, 4)), np.array([0, 1])),
        r"y must have one label per row of z, shape \(3,\); got shape \(2,\)",
    ),
    "label ndim": (lambda: L.cross_entropy(np.zeros((3, 4)), np.zeros((3, 1), int)), r"y must be 1-D \(N,\)"),
    "float labels": (
        lambda: L.cross_entropy(np.zeros((2, 4)), np.array([0.0, 1.5])),
        r"y must hold integer class labels, got dtype float64",
    ),
    "scores ndim": (lambda: L.cross_entropy(np.zeros(4), np.array([0])), r"z must be 2-D \(N, K\); got 1-D"),
    "non-finite scores": (lambda: L.softmax([1.0, np.inf]), r"z must be finite; got inf at index \(1,\)"),
    "float32 x for numerical_gradient": (
        lambda: L.numerical_gradient(np.sum, np.ones(3, np.float32)),
        r"x must be a float64 NumPy array .*got a float32 array",
    ),
    "f returns an array": (
        lambda: L.numerical_gradient(lambda a: L.cross_entropy(a, np.array([0])), np.zeros((1, 2))),
        r"f must return a single number \(a scalar loss\); got a tuple of 2",
    ),
    "f returns a vector": (
        lambda: L.numerical_gradient(lambda a: a * 2, np.zeros(3)),
        r"f must return a single number \(a scalar loss\); got shape \(3,\)",
    ),
    "relative_error shapes": (lambda: L.relative_error(np.ones(2), np.ones(3)), r"same shape; got \(2,\) and \(3,\)"),
    "bad out_channels": (lambda: L.Conv2d(1, 0, 3), r"out_channels must be a positive integer, got 0"),
    "bad lr": (lambda: L.sgd_step(L.Linear(2, 2), lr=0), r"lr must be a positive finite number, got 0"),
    "empty Sequential": (lambda: L.Sequential(), r"Sequential needs at least one layer"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_raise_naming_the_problem(case):
    call, message = BAD[case]
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "layer",
    [L.Conv2d(1, 2, 3), L.ReLU(), L.MaxPool2d(2), L.AvgPool2d(2), L.Flatten(), L.Linear(3, 2)],
    ids=lambda layer: type(layer).__name__,
)
def test_backward_before_forward_is_a_runtime_error(layer):
    with pytest.raises(RuntimeError, match=rf"{type(layer).__name__}\.backward was called before forward"):
        layer.backward(np.ones((1, 2)))


def test_sequential_backward_before_forward_and_sgd_before_backward():
    model = L.Sequential(L.Linear(3, 2), L.ReLU())
    with pytest.raises(RuntimeError, match=r"ReLU\.backward was called before forward"):
        model.backward(np.ones((1, 2)))
    with pytest.raises(RuntimeError, match=r"parameter '0\.weight' has no gradient"):
        L.sgd_step(model, 0.1)
    with pytest.raises(TypeError, match=r"layers\[1\] must be a layer with forward and backward, got 3"):
        L.Sequential(L.ReLU(), 3)


# ----------------------------------------------------------------------------------------------
# 4b. Layers: parameters, initialisation, and a tiny CNN that learns


def test_he_initialisation_and_seeding():
    a, b = L.Conv2d(4, 64, 3, rng=np.random.default_rng(7)), L.Conv2d(4, 64, 3, rng=7)
    assert a.params["weight"].shape == (64, 4, 3, 3) and a.params["bias"].shape == (64,)
    assert_array_equal(a.params["weight"], b.params["weight"])  # a seed and a Generator seeded alike
    assert a.params["weight"].std() == pytest.approx(np.sqrt(2 / 36), rel=0.05)  # 2304 draws
    assert not a.params["bias"].any()
    lin = L.Linear(200, 50, rng=0)
    assert lin.params["weight"].shape == (50, 200)
    assert lin.params["weight"].std() == pytest.approx(np.sqrt(2 / 200), rel=0.05)


def test_sequential_params_are_the_layers_arrays():
    model = _tiny_cnn()
    assert len(model) == 7 and isinstance(model[2], L.MaxPool2d) and [type(m) for m in model][0] is L.Conv2d
    assert model.params["0.weight"] is model[0].params["weight"]
    assert "Conv2d(1, 3, kernel_size=(3, 3)" in repr(model)


def test_tiny_cnn_loss_decreases_with_sgd():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((16, 1, 8, 8)), rng.integers(0, 3, 16)
    model = L.Sequential(
        L.Conv2d(1, 4, 3, padding=1, rng=rng), L.ReLU(), L.MaxPool2d(2), L.Flatten(), L.Linear(4 * 4 * 4, 3, rng=rng)
    )
    before = model.params["4.weight"].copy()
    losses = []
    for _ in range(20):
        loss, dz = L.cross_entropy(model.forward(x), y)
        model.backward(dz)
        L.sgd_step(model, lr=0.1)
        losses.append(loss)
    assert not np.array_equal(before, model.params["4.weight"])  # sgd_step changed the layer's own array
    assert losses[-1] < 0.7 * losses[0], losses
    assert sum(b < a for a, b in zip(losses, losses[1:], strict=False)) >= 15, losses  # mostly downhill
