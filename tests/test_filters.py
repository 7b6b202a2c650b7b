"""Tests for coursekit.filters: the named kernels do what their documentation says."""

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
from coursekit.errors import UnknownName

FAST = settings(max_examples=50, deadline=None)

# A 6x6 image, dark on the left half and bright on the right: one vertical edge in the middle.
VERTICAL_EDGE = np.repeat([[0, 0, 0, 9, 9, 9]], 6, axis=0)
HORIZONTAL_EDGE = VERTICAL_EDGE.T  # dark top half, bright bottom half


def test_named_kernels_are_shared_read_only_and_get_copies():
    assert len(filters.NAMED) >= 15
    for name, kernel in filters.NAMED.items():
        assert kernel.ndim == 2 and kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 == 1
        assert not kernel.flags.writeable, name
        copy = filters.get(name)
        assert_array_equal(copy, kernel)
        copy[0, 0] = 123  # a private copy: the shared kernel is untouched
        assert kernel[0, 0] != 123


def test_get_unknown_name_lists_the_names():
    with pytest.raises(UnknownName, match=r"unknown filter 'sobel'; choose one of: box_blur, .*sobel_vertical") as info:
        filters.get("sobel")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert info.value.known == sorted(filters.NAMED)
    for bad in (None, 3, ["sobel_vertical"], "Sobel_Vertical", " sharpen"):
        with pytest.raises(UnknownName, match="unknown filter"):
            filters.get(bad)


def test_named_is_read_only():
    with pytest.raises(TypeError):
        filters.NAMED["mine"] = np.ones((3, 3))  # type: ignore[index]
    assert "mine" not in filters.NAMED


def test_kernels_as_printed_in_the_seeds():
    # Seed 003's filter gallery (inputs, typed in from the slides).
    assert_array_equal(filters.SHARPEN, [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    assert_array_equal(filters.LAPLACIAN, [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    assert_array_equal(filters.EMBOSS, [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    assert_array_equal(filters.OUTLINE, [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    assert_array_equal(filters.SOBEL_TOP, [[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
    assert_array_equal(filters.SOBEL_LEFT, [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    # Seed 001's Laplacian with the other sign.
    assert_array_equal(filters.LAPLACIAN_INVERTED, [[0, -1, 0], [-1, 4, -1], [0, -1, 0]])
    # Seed 000's worked example kernel.
    assert_array_equal(filters.SOBEL_VERTICAL, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def test_kernel_families():
    assert_array_equal(filters.SOBEL_HORIZONTAL, filters.SOBEL_VERTICAL.T)
    assert_array_equal(filters.PREWITT_HORIZONTAL, filters.PREWITT_VERTICAL.T)
    assert_array_equal(filters.SOBEL_LEFT, -filters.SOBEL_VERTICAL)
    assert_array_equal(filters.SOBEL_TOP, -filters.SOBEL_HORIZONTAL)
    assert_array_equal(filters.OUTLINE, -filters.LAPLACIAN_8)
    assert_array_equal(filters.SHARPEN, filters.IDENTITY - filters.LAPLACIAN)
    assert_allclose(filters.GAUSSIAN_BLUR, np.outer([1, 2, 1], [1, 2, 1]) / 16)


@pytest.mark.parametrize(
    "name, total",
    [
        ("identity", 1),
        ("box_blur", 1),
        ("gaussian_blur", 1),
        ("sharpen", 1),
        ("emboss", 1),
        ("laplacian", 0),
        ("laplacian_inverted", 0),
        ("laplacian_8", 0),
        ("outline", 0),
        ("sobel_vertical", 0),
        ("sobel_horizontal", 0),
        ("sobel_left", 0),
        ("sobel_top", 0),
        ("prewitt_vertical", 0),
        ("prewitt_horizontal", 0),
    ],
)
def test_flat_images(name, total):
    # Weights summing to 1 keep a flat region's value; summing to 0 turn it into 0.
    kernel = filters.get(name)
    assert kernel.sum() == pytest.approx(total)
    flat = np.full((5, 5), 7.0)
    assert_allclose(ops.corr2d(flat, kernel), np.full((3, 3), 7.0 * total), atol=1e-12)


def test_identity_keeps_the_image():
    assert_array_equal(ops.corr2d(ex.GRAYSCALE_10X10, filters.IDENTITY, padding=1), ex.GRAYSCALE_10X10)


@pytest.mark.parametrize(
    "vertical, horizontal",
    [
        (filters.SOBEL_VERTICAL, filters.SOBEL_HORIZONTAL),
        (filters.PREWITT_VERTICAL, filters.PREWITT_HORIZONTAL),
    ],
)
def test_edge_detectors_find_the_edge_they_are_named_after(vertical, horizontal):
    on_vertical = ops.corr2d(VERTICAL_EDGE, vertical)
    assert on_vertical.max() > 0 and on_vertical.min() == 0  # positive: brighter to the right
    assert np.all(ops.corr2d(VERTICAL_EDGE, horizontal) == 0)
    assert ops.corr2d(HORIZONTAL_EDGE, horizontal).max() > 0  # positive: brighter downwards
    assert np.all(ops.corr2d(HORIZONTAL_EDGE, vertical) == 0)
    # The response sits on the columns straddling the edge (between columns 2 and 3).
    assert_array_equal(np.flatnonzero(on_vertical[0]), [1, 2])


def test_seed000_edge_detector_labels_are_swapped():
    # Seed 000, edge-detection slide: [[-1,0,1],[-2,0,2],[-1,0,1]] is captioned "horizontal edge
    # detector" and [[-1,-2,-1],[0,0,0],[1,2,1]] "vertical edge detector". On an image with a
    # vertical edge only the first responds, so filters names it SOBEL_VERTICAL (the usual meaning).
    slide_horizontal = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    slide_vertical = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    assert np.any(ops.corr2d(VERTICAL_EDGE, slide_horizontal) != 0)
    assert np.all(ops.corr2d(VERTICAL_EDGE, slide_vertical) == 0)
    assert_array_equal(slide_horizontal, filters.SOBEL_VERTICAL)
    assert_array_equal(slide_vertical, filters.SOBEL_HORIZONTAL)


def test_seed003_left_and_top_sobel_are_positive_on_the_bright_side():
    bright_left = VERTICAL_EDGE[:, ::-1]
    assert ops.corr2d(bright_left, filters.SOBEL_LEFT).min() >= 0
    assert ops.corr2d(bright_left, filters.SOBEL_LEFT).max() > 0
    bright_top = HORIZONTAL_EDGE[::-1]
    assert ops.corr2d(bright_top, filters.SOBEL_TOP).min() >= 0
    assert ops.corr2d(bright_top, filters.SOBEL_TOP).max() > 0


def test_laplacian_is_the_second_derivative():
    # For f(y, x) = y^2 + 3 x^2 the Laplacian is 2 + 6 = 8 everywhere; the 3-point differences are
    # exact for quadratics. A linear ramp has Laplacian 0.
    y, x = np.mgrid[0:6, 0:7]
    assert_array_equal(ops.corr2d(y**2 + 3 * x**2, filters.LAPLACIAN), np.full((4, 5), 8))
    assert_array_equal(ops.corr2d(y**2 + 3 * x**2, filters.LAPLACIAN_INVERTED), np.full((4, 5), -8))
    assert_array_equal(ops.corr2d(2 * y - 5 * x, filters.LAPLACIAN), np.zeros((4, 5)))
    assert_array_equal(ops.corr2d(2 * y - 5 * x, filters.LAPLACIAN_8), np.zeros((4, 5)))


def test_blurs_average_and_match_torch():
    image = ex.GRAYSCALE_10X10.astype(float)
    for kernel in (filters.BOX_BLUR, filters.GAUSSIAN_BLUR):
        expected = F.conv2d(torch.tensor(image)[None, None], torch.tensor(kernel)[None, None])[0, 0]
        assert_allclose(ops.corr2d(image, kernel), expected.numpy(), atol=1e-9)
    assert ops.corr2d(image, filters.BOX_BLUR)[0, 0] == pytest.approx(image[:3, :3].mean())
    # Blurring lowers the spread of pixel values.
    assert ops.corr2d(image, filters.GAUSSIAN_BLUR).std() < image[1:-1, 1:-1].std()


def test_sharpen_and_emboss_by_hand():
    patch = ex.GRAYSCALE_PATCH[:3, :3]  # [[105,112,108],[91,98,102],[76,85,90]]
    assert ops.corr2d(patch, filters.SHARPEN)[0, 0] == 5 * 98 - 112 - 91 - 102 - 85
    assert ops.corr2d(patch, filters.EMBOSS)[0, 0] == (-2 * 105 - 112 - 91 + 98 + 102 + 85 + 2 * 90)


def test_gaussian_builder():
    sigma = 1 / np.sqrt(2 * np.log(2))  # exp(-1 / (2 sigma^2)) = 1/2: weights 1, 2, 1
    assert_allclose(filters.gaussian(3, sigma), filters.GAUSSIAN_BLUR)
    kernel = filters.gaussian(7, 1.5)
    assert kernel.shape == (7, 7)
    assert kernel.sum() == pytest.approx(1)
    assert_allclose(kernel, kernel.T)
    assert_allclose(kernel, kernel[::-1, ::-1])
    assert kernel.argmax() == 24  # the centre cell
    assert_array_equal(filters.gaussian(1, 2.0), [[1.0]])
    # A wider sigma spreads the weight: a smaller centre value.
    assert filters.gaussian(7, 3.0)[3, 3] < kernel[3, 3]


def test_gaussian_tiny_sigma_is_the_delta_kernel_never_nan():
    # Issue 13: gaussian(3, 1e-300) returned NaNs (0 / 0 in the exponent). The limit as sigma -> 0
    # is the delta kernel: the centre keeps all the weight.
    for sigma in (1e-300, 5e-324, 1e-3, 0.02):
        kernel = filters.gaussian(3, sigma)
        assert not np.isnan(kernel).any()
        assert_array_equal(kernel, filters.IDENTITY)
    assert_array_equal(filters.gaussian(5, 1e-300)[2, 2], 1.0)
    # A huge sigma tends to the box blur; still finite and normalised.
    assert_allclose(filters.gaussian(3, 1e300), filters.BOX_BLUR)
    # Integer and NumPy sigmas are real numbers too.
    assert_allclose(filters.gaussian(5, 2), filters.gaussian(5, np.float32(2.0)))


@FAST
@given(st.sampled_from([1, 3, 5, 7, 9, 11]), st.floats(min_value=5e-324, max_value=1e300))
def test_gaussian_is_always_a_normalised_kernel(size, sigma):
    kernel = filters.gaussian(size, sigma)
    assert kernel.shape == (size, size) and np.all(np.isfinite(kernel)) and np.all(kernel >= 0)
    assert kernel.sum() == pytest.approx(1)
    assert kernel[size // 2, size // 2] == kernel.max()


def test_gradient_magnitude_of_uint8_does_not_overflow():
    image = np.zeros((4, 4), np.uint8)
    image[:, 2:] = 255
    assert_allclose(filters.gradient_magnitude(image), filters.gradient_magnitude(image.astype(float)))
    assert filters.gradient_magnitude(image).max() > 255


@pytest.mark.parametrize(
    "size, sigma, message",
    [
        (4, 1.0, "size must be a positive odd integer"),
        (0, 1.0, "size must be a positive odd integer"),
        (-3, 1.0, "size must be a positive odd integer"),
        (3.0, 1.0, "size must be a positive odd integer"),
        (True, 1.0, "size must be a positive odd integer"),
        ("3", 1.0, "size must be a positive odd integer"),
        (3, 0, "sigma must be positive"),
        (3, -1.0, "sigma must be positive"),
        (3, float("nan"), "sigma must be positive and finite, got nan"),
        (3, float("inf"), "sigma must be positive and finite, got inf"),
        (3, "1", "sigma must be a real number"),
        (3, None, "sigma must be a real number"),
        (3, 1j, "sigma must be a real number"),
        (3, [1.0], "sigma must be a real number"),
    ],
)
def test_gaussian_errors(size, sigma, message):
    with pytest.raises(ValueError, match=message):
        filters.gaussian(size, sigma)


def test_gaussian_size_is_capped_by_the_memory_limit():
    with pytest.raises(ops.MemoryLimitError, match=r"gaussian with size 100001 would allocate about 74\.5 GiB"):
        filters.gaussian(100_001, 1.0)


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((2, 5, 5)), r"image must be 2-D \(H, W\); got 3-D"),
        (np.zeros(5), r"image must be 2-D \(H, W\); got 1-D"),
        ([["a", "b"]], r"image must hold numbers, got an array of dtype <U1"),
        ([[1, 2], [3]], r"image must be an array of numbers whose rows all have the same length"),
        (np.zeros((0, 4)), r"image must not be empty; got shape \(0, 4\)"),
        (np.ones((3, 3)) * 1j, r"image must hold real numbers, got complex"),
    ],
)
def test_gradient_magnitude_errors(image, message):
    with pytest.raises(ValueError, match=message):
        filters.gradient_magnitude(image)


def test_gradient_magnitude_matches_torch():
    image = ex.GRAYSCALE_PATCH.astype(float)
    t = torch.tensor(image)[None, None]
    gx = F.conv2d(t, torch.tensor(filters.SOBEL_VERTICAL, dtype=torch.float64)[None, None], padding=1)
    gy = F.conv2d(t, torch.tensor(filters.SOBEL_HORIZONTAL, dtype=torch.float64)[None, None], padding=1)
    expected = torch.sqrt(gx**2 + gy**2)[0, 0].numpy()
    got = filters.gradient_magnitude(image)
    assert got.shape == image.shape
    assert_allclose(got, expected, atol=1e-9)
    assert_allclose(filters.gradient_magnitude(ex.GRAYSCALE_PATCH), got)  # integer input works too


def test_gradient_magnitude_on_edges():
    # Flat interior -> 0; along a straight edge -> the same strength whatever its orientation.
    flat = filters.gradient_magnitude(np.full((5, 5), 3))
    assert_array_equal(flat[1:-1, 1:-1], 0)
    vertical = filters.gradient_magnitude(VERTICAL_EDGE)
    assert_allclose(vertical[1:-1, 2], 4 * 9)  # (1 + 2 + 1) * 9 on the dark side of the edge
    assert_allclose(filters.gradient_magnitude(HORIZONTAL_EDGE), vertical.T)


@FAST
@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_gradient_magnitude_properties(h, w, seed):
    image = np.random.default_rng(seed).integers(0, 256, (h, w))
    magnitude = filters.gradient_magnitude(image)
    assert magnitude.shape == (h, w) and np.all(magnitude >= 0)
    # Transposing the image swaps the two Sobel responses: the magnitude is transposed too.
    assert_allclose(filters.gradient_magnitude(image.T), magnitude.T)
    # Adding a constant changes nothing away from the zero-padded border.
    assert_allclose(filters.gradient_magnitude(image + 50)[1:-1, 1:-1], magnitude[1:-1, 1:-1])
    # Negating the image flips both responses' signs but not the length.
    assert_allclose(filters.gradient_magnitude(-image), magnitude)
