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
writable copy. `NAMED` maps plain names to kernels, for menus and widgets.
"""
from __future__ import annotations

import numpy as np

from coursekit import ops


def _kernel(rows) -> np.ndarray:
    """A read-only array, so that nobody edits a shared kernel by accident."""
    kernel = np.array(rows)
    kernel.setflags(write=False)
    return kernel


# Leaves the image unchanged (with 'same' padding): only the centre pixel is kept.
IDENTITY = _kernel([[0, 0, 0],
                    [0, 1, 0],
                    [0, 0, 0]])

# Box blur: every output pixel is the plain mean of its 3x3 neighbourhood.
BOX_BLUR = _kernel(np.ones((3, 3)) / 9)

# Gaussian blur: a weighted mean, the centre counting most. The outer product of the binomial
# weights [1, 2, 1] with themselves, divided by 16 so the weights add up to 1.
GAUSSIAN_BLUR = _kernel(np.outer([1, 2, 1], [1, 2, 1]) / 16)

# Sharpen: the pixel, plus (pixel - each of its 4 neighbours). Adds the negated Laplacian to the
# image, which exaggerates local contrast. Sums to 1. (Seed 003, "sharpen".)
SHARPEN = _kernel([[0, -1, 0],
                   [-1, 5, -1],
                   [0, -1, 0]])

# Discrete Laplacian (second derivative d2/dx2 + d2/dy2) with the 4 direct neighbours:
# neighbours minus 4 x centre. Zero on flat regions and on linear ramps; positive in dark spots
# and on the dark side of an edge. (Seed 003, "Laplacian".)
LAPLACIAN = _kernel([[0, 1, 0],
                     [1, -4, 1],
                     [0, 1, 0]])

# The same kernel with the opposite sign (centre +4, neighbours -1): positive on the bright side of
# an edge. Both signs are called "Laplacian" in practice. (Seed 001 uses this one.)
LAPLACIAN_INVERTED = _kernel(-LAPLACIAN)

# Laplacian using all 8 neighbours: responds to diagonal changes as well.
LAPLACIAN_8 = _kernel([[1, 1, 1],
                       [1, -8, 1],
                       [1, 1, 1]])

# Outline: the inverted 8-neighbour Laplacian. Flat regions go to 0, every edge lights up, in any
# direction. (Seed 003, "outline".)
OUTLINE = _kernel(-LAPLACIAN_8)

# Emboss: negative weights at the top left, positive at the bottom right, 1 in the centre.
# Brightness changes along the diagonal show up as raised or sunken relief, as if lit from one
# corner. Sums to 1, so flat regions keep their value. (Seed 003, "emboss".)
EMBOSS = _kernel([[-2, -1, 0],
                  [-1, 1, 1],
                  [0, 1, 2]])

# Sobel, vertical edges: (right column - left column), the middle row counted twice, which also
# smooths along the edge. Positive where the image gets brighter to the right. This is the kernel of
# seed 000's worked example. Note: seed 000's edge-detection slide labels this kernel "horizontal
# edge detector" and its transpose "vertical edge detector"; here the names follow the usual
# meaning, by the orientation of the edge found, not the direction of the derivative.
SOBEL_VERTICAL = _kernel([[-1, 0, 1],
                          [-2, 0, 2],
                          [-1, 0, 1]])

# Sobel, horizontal edges: (bottom row - top row). Positive where the image gets brighter downwards.
SOBEL_HORIZONTAL = _kernel(SOBEL_VERTICAL.T)

# Sign-flipped Sobels, as named in seed 003 ("left sobel", "top sobel"; seed 001 uses the left one):
# positive where the left side (resp. the top) is the brighter one. Same edges, opposite sign.
SOBEL_LEFT = _kernel(-SOBEL_VERTICAL)
SOBEL_TOP = _kernel(-SOBEL_HORIZONTAL)

# Prewitt: like Sobel but without the extra weight on the middle row/column.
PREWITT_VERTICAL = _kernel([[-1, 0, 1],
                            [-1, 0, 1],
                            [-1, 0, 1]])
PREWITT_HORIZONTAL = _kernel(PREWITT_VERTICAL.T)


NAMED: dict[str, np.ndarray] = {
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


def get(name: str) -> np.ndarray:
    """A writable copy of the kernel called ``name`` (a key of `NAMED`, e.g. "sobel_vertical").

    Returns an array of shape ``(k, k)`` (odd ``k``; 3 for all the kernels above).

    Raises ValueError listing the known names if there is no such kernel.
    """
    try:
        return NAMED[name].copy()
    except (KeyError, TypeError):
        raise ValueError(f"unknown filter {name!r}; known filters: {', '.join(NAMED)}") from None


def gaussian(size: int, sigma: float) -> np.ndarray:
    """A ``(size, size)`` Gaussian blur kernel with standard deviation ``sigma`` pixels.

    Weight of the cell at offset ``(dy, dx)`` from the centre: ``exp(-(dx^2 + dy^2) / (2 sigma^2))``,
    then normalised so the weights add up to 1. ``size`` must be odd so there is a centre cell
    (a common choice: ``size`` about ``6 * sigma``). With ``size=3`` and
    ``sigma = 1 / sqrt(2 ln 2)`` (about 0.85) it is exactly `GAUSSIAN_BLUR`.
    """
    if not isinstance(size, (int, np.integer)) or size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd integer, got {size!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    offsets = np.arange(size) - size // 2
    profile = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel = np.outer(profile, profile)
    return kernel / kernel.sum()


def gradient_magnitude(image) -> np.ndarray:
    """Edge strength: length of the Sobel gradient vector at every pixel.

    ``sqrt(gx^2 + gy^2)``, where ``gx`` (change along x) and ``gy`` (change along y) are the
    responses to `SOBEL_VERTICAL` and `SOBEL_HORIZONTAL`, computed with `ops.corr2d` and one pixel
    of zero padding ('same' size), so the zero border also counts as an edge at the image's rim.

    Args:
        image: grey-level image, shape ``(H, W)``.

    Returns:
        float array of shape ``(H, W)``, all values >= 0.
    """
    gx = ops.corr2d(image, SOBEL_VERTICAL, padding=1)
    gy = ops.corr2d(image, SOBEL_HORIZONTAL, padding=1)
    return np.sqrt(gx**2 + gy**2)
