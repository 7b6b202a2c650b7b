"""Classic hand-made kernels, before a network learns its own.

Every kernel here is meant for **cross-correlation**, the operation CNN libraries (and
`coursekit.ops.corr2d`) call convolution: the kernel is laid on the image as printed, without
flipping it. For the symmetric kernels (blurs, Laplacians, sharpen, outline) the distinction makes
no difference; for the edge detectors and emboss it decides the sign of the response.

Conventions used below:

* rows go down, columns go right: ``x`` is the column index, ``y`` the row index;
* a *vertical* edge is a line running top-to-bottom, where brightness changes **along x**
  (left to right); a *horizontal* edge runs left-to-right, brightness changes **along y**;
* a kernel whose entries sum to 1 keeps the overall brightness (blurs, sharpen, emboss);
  one whose entries sum to 0 answers 0 on flat regions and responds only to change (edges).

The kernels are read-only arrays, shared by everyone who imports them: `get` returns a private,
writable copy. `NAMED` maps plain names to kernels, for menus and widgets (it is read-only too).

Arguments are checked before anything is computed, and every error names the argument, the value
and what was expected: an unknown name raises `coursekit.errors.UnknownName` listing the names;
`gaussian` wants a positive odd int ``size`` and a positive, finite ``sigma``.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from coursekit import ops
from coursekit.errors import UnknownName


def _kernel(rows) -> np.ndarray:
    """A read-only array, so that nobody edits a shared kernel by accident."""
    kernel = np.array(rows)
    kernel.setflags(write=False)
    return kernel


# Leaves the image unchanged (with 'same' padding): only the centre pixel is kept.
IDENTITY = _kernel([[0, 0, 0], [0, 1, 0], [0, 0, 0]])

# Box blur: every output pixel is the plain mean of its 3x3 neighbourhood.
BOX_BLUR = _kernel(np.ones((3, 3)) / 9)

# Gaussian blur: a weighted mean, the centre counting most. The outer product of the binomial
# weights [1, 2, 1] with themselves, divided by 16 so the weights add up to 1.
GAUSSIAN_BLUR = _kernel(np.outer([1, 2, 1], [1, 2, 1]) / 16)

# Sharpen: the pixel, plus (pixel - each of its 4 neighbours). Adds the negated Laplacian to the
# image, which exaggerates local contrast. Sums to 1. (Seed 003, "sharpen".)
SHARPEN = _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])

# Discrete Laplacian (second derivative d2/dx2 + d2/dy2) with the 4 direct neighbours:
# neighbours minus 4 x centre. Zero on flat regions and on linear ramps; positive in dark spots
# and on the dark side of an edge. (Seed 003, "Laplacian".)
LAPLACIAN = _kernel([[0, 1, 0], [1, -4, 1], [0, 1, 0]])

# The same kernel with the opposite sign (centre +4, neighbours -1): positive on the bright side of
# an edge. Both signs are called "Laplacian" in practice. (Seed 001 uses this one.)
LAPLACIAN_INVERTED = _kernel(-LAPLACIAN)

# Laplacian using all 8 neighbours: responds to diagonal changes as well.
LAPLACIAN_8 = _kernel([[1, 1, 1], [1, -8, 1], [1, 1, 1]])

# Outline: the inverted 8-neighbour Laplacian. Flat regions go to 0, every edge lights up, in any
# direction. (Seed 003, "outline".)
OUTLINE = _kernel(-LAPLACIAN_8)

# Emboss: negative weights at the top left, positive at the bottom right, 1 in the centre.
# Brightness changes along the diagonal show up as raised or sunken relief, as if lit from one
# corner. Sums to 1, so flat regions keep their value. (Seed 003, "emboss".)
EMBOSS = _kernel([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])

# Sobel, vertical edges: (right column - left column), the middle row counted twice, which also
# smooths along the edge. Positive where the image gets brighter to the right. This is the kernel of
# seed 000's worked example. Note: seed 000's edge-detection slide labels this kernel "horizontal
# edge detector" and its transpose "vertical edge detector"; here the names follow the usual
# meaning, by the orientation of the edge found, not the direction of the derivative.
SOBEL_VERTICAL = _kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])

# Sobel, horizontal edges: (bottom row - top row). Positive where the image gets brighter downwards.
SOBEL_HORIZONTAL = _kernel(SOBEL_VERTICAL.T)

# Sign-flipped Sobels, as named in seed 003 ("left sobel", "top sobel"; seed 001 uses the left one):
# positive where the left side (resp. the top) is the brighter one. Same edges, opposite sign.
SOBEL_LEFT = _kernel(-SOBEL_VERTICAL)
SOBEL_TOP = _kernel(-SOBEL_HORIZONTAL)

# Prewitt: like Sobel but without the extra weight on the middle row/column.
PREWITT_VERTICAL = _kernel([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
PREWITT_HORIZONTAL = _kernel(PREWITT_VERTICAL.T)


NAMED: Mapping[str, np.ndarray] = MappingProxyType(
    {
        "identity": IDENTITY,
        "box_blur": BOX_BLUR,
        "gaussian_blur": GAUSSIAN_BLUR,
        "sharpen": SHARPEN,
        "laplacian": LAPLACIAN,
        "laplacian_inverted": LAPLACIAN_INVERTED,
        "laplacian_8": LAPLACIAN_8,
        "outline": OUTLINE,
        "emboss": EMBOSS,
        "sobel_vertical": SOBEL_VERTICAL,
        "sobel_horizontal": SOBEL_HORIZONTAL,
        "sobel_left": SOBEL_LEFT,
        "sobel_top": SOBEL_TOP,
        "prewitt_vertical": PREWITT_VERTICAL,
        "prewitt_horizontal": PREWITT_HORIZONTAL,
    }
)


def get(name: str) -> np.ndarray:
    """A writable copy of the kernel called ``name`` (a key of `NAMED`, e.g. "sobel_vertical").

    Returns an array of shape ``(k, k)`` (odd ``k``; 3 for all the kernels above).

    Raises `coursekit.errors.UnknownName` (a KeyError and a ValueError) listing the known names if
    there is no such kernel -- names are exact, lower case with underscores.
    """
    if not isinstance(name, str) or name not in NAMED:
        raise UnknownName("filter", name, NAMED)
    return NAMED[name].copy()


def _odd_size(size) -> int:
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral) or size < 1 or size % 2 == 0:
        raise ValueError(
            f"size must be a positive odd integer (1, 3, 5, ...) so the kernel has a centre cell, got {size!r}"
        )
    return int(size)


def gaussian(size: int, sigma: float) -> np.ndarray:
    """A ``(size, size)`` Gaussian blur kernel with standard deviation ``sigma`` pixels.

    Weight of the cell at offset ``(dy, dx)`` from the centre: ``exp(-(dx^2 + dy^2) / (2 sigma^2))``,
    then normalised so the weights add up to 1. ``size`` must be odd so there is a centre cell
    (a common choice: ``size`` about ``6 * sigma``). With ``size=3`` and
    ``sigma = 1 / sqrt(2 ln 2)`` (about 0.85) it is exactly `GAUSSIAN_BLUR`.

    Args:
        size: a positive odd int (``True`` and ``3.0`` are refused).
        sigma: a positive, finite real number. A tiny ``sigma`` gives the limit of the Gaussian as
            ``sigma -> 0``, the delta kernel: 1 in the centre and exactly 0 elsewhere (`IDENTITY`
            for ``size=3``) once the off-centre weights underflow, below about 0.026 and down to
            the smallest positive float. A huge ``sigma`` tends to the box blur.

    Returns:
        float64 array of shape ``(size, size)``, entries in ``[0, 1]`` adding up to 1, never NaN.

    Raises:
        ValueError naming the argument and the value; `coursekit.ops.MemoryLimitError` if the
        kernel would exceed `coursekit.ops.MAX_BYTES`.
    """
    size = _odd_size(size)
    if isinstance(sigma, (bool, np.bool_)) or not isinstance(sigma, numbers.Real):
        raise ValueError(f"sigma must be a real number (a standard deviation in pixels), got {sigma!r}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be positive and finite, got {sigma!r}")
    ops.check_memory("gaussian", np.float64, {"kernel": size * size}, f"size {size}")
    offsets = np.arange(size) - size // 2
    with np.errstate(over="ignore", under="ignore"):
        # (offset / sigma) first: for a tiny sigma it overflows to inf and exp(-inf) = 0, leaving
        # the centre's exp(0) = 1 -- the delta kernel -- where offset**2 / sigma**2 would be 0 / 0.
        profile = np.exp(-0.5 * (offsets / float(sigma)) ** 2)
    kernel = np.outer(profile, profile)
    return kernel / kernel.sum()


def gradient_magnitude(image) -> np.ndarray:
    """Edge strength: length of the Sobel gradient vector at every pixel.

    ``sqrt(gx^2 + gy^2)``, where ``gx`` (change along x) and ``gy`` (change along y) are the
    responses to `SOBEL_VERTICAL` and `SOBEL_HORIZONTAL`, computed with `ops.corr2d` and one pixel
    of zero padding ('same' size), so the zero border also counts as an edge at the image's rim.

    Args:
        image: grey-level image, shape ``(H, W)``: nested lists, an array or a tensor, of any real
            dtype (integers are widened to int64 first, so uint8 images do not overflow).

    Returns:
        array of shape ``(H, W)``, all values >= 0: float32 for a float32 image, float64 otherwise.
    """
    image = ops.as_array(image, "image", {2: "(H, W)"})
    gx = ops.corr2d(image, SOBEL_VERTICAL, padding=1)
    gy = ops.corr2d(image, SOBEL_HORIZONTAL, padding=1)
    return np.sqrt(gx**2 + gy**2)
