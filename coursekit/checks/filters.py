"""Exercises of notebook 03: what hand-made kernels do to an image."""

from . import exercise


def _square():
    """The white 16 x 16 square on a black 32 x 32 background of notebook 03."""
    import numpy as np

    square = np.zeros((32, 32))
    square[8:24, 8:24] = 1.0
    return square


@exercise(
    "filters.laplacian_corner",
    hint="Only the centre (weight -4) and its four direct neighbours (weight 1) count. Which of the "
    "corner pixel's four neighbours lie inside the square, and which in the black background?",
)
def _laplacian_corner():
    from ..filters import LAPLACIAN
    from ..ops import corr2d

    return float(corr2d(_square(), LAPLACIAN, padding=1)[8, 8])


@exercise(
    "filters.emboss_on_ramp",
    hint="Write each neighbour's value as the centre's value plus its offset (+1 per row down, +2 "
    "per column right). The centre parts give the pixel back because the weights add up to 1; "
    "what is left is the sum of weight times offset.",
)
def _emboss_on_ramp():
    import numpy as np

    from ..filters import EMBOSS
    from ..ops import corr2d

    ramp = np.add.outer(np.arange(6), 2 * np.arange(6))  # ramp[i, j] = i + 2 j
    excess = np.unique(corr2d(ramp, EMBOSS) - ramp[1:-1, 1:-1])
    assert excess.size == 1  # the same everywhere on a linear ramp
    return int(excess[0])


@exercise(
    "filters.blurred_step_sobel",
    hint="The blur does nothing along the edge, but across it the jump of 10 becomes a short ramp. "
    "Sobel answers 4 x (value one column to the right - value one column to the left): "
    "write out one row of the blurred step and find where that difference is largest.",
)
def _blurred_step_sobel():
    import numpy as np

    from ..filters import GAUSSIAN_BLUR, SOBEL_VERTICAL
    from ..ops import corr2d

    step = np.zeros((8, 8))
    step[:, 4:] = 10.0  # a vertical edge of height 10 between columns 3 and 4
    return float(corr2d(corr2d(step, GAUSSIAN_BLUR), SOBEL_VERTICAL).max())


@exercise(
    "filters.double_blur_centre",
    hint="Blurring twice is one blur with a bigger kernel: blur a single bright pixel of value 1 "
    "twice and read the result, or build the 1-D weights by sliding [1, 2, 1] over itself "
    "and take the outer product (normalised so the weights add up to 1).",
)
def _double_blur_centre():
    import numpy as np

    from ..filters import GAUSSIAN_BLUR
    from ..ops import corr2d

    impulse = np.zeros((5, 5))
    impulse[2, 2] = 1.0  # blurring a single 1 draws the kernel itself
    twice = corr2d(corr2d(impulse, GAUSSIAN_BLUR, padding=1), GAUSSIAN_BLUR, padding=1)
    return float(twice[2, 2])


@exercise(
    "filters.outline_from_box",
    hint="9 x box_blur has a 1 in every cell; subtract it from 9 x identity cell by cell and compare "
    "the result with the kernels drawn at the start of the notebook (mind the signs). "
    "Answer with the kernel's name, a string.",
)
def _outline_from_box():
    import numpy as np

    from ..filters import BOX_BLUR, IDENTITY, NAMED

    target = 9 * (IDENTITY - BOX_BLUR)
    return next(name for name, k in NAMED.items() if np.allclose(k, target))
