"""Exercises of notebook 03: what hand-made kernels do to an image."""
from . import exercise


@exercise("filters.emboss_on_flat",
          hint="On a flat region every cell under the kernel has the same value v, so the response "
               "is v times the sum of the kernel's entries.")
def _emboss_on_flat():
    import numpy as np

    from ..filters import EMBOSS
    from ..ops import corr2d

    flat = np.full((5, 5), 10)
    return int(corr2d(flat, EMBOSS)[1, 1])


@exercise("filters.sobel_step_response",
          hint="On a vertical step from 0 (left) to h (right), the right column of the kernel sees h "
               "and the left column 0: add the right column's weights and multiply by h.")
def _sobel_step_response():
    import numpy as np

    from ..filters import SOBEL_VERTICAL
    from ..ops import corr2d

    step = np.zeros((5, 6), dtype=int)
    step[:, 3:] = 10  # a vertical edge of height 10 between columns 2 and 3
    return int(corr2d(step, SOBEL_VERTICAL).max())


@exercise("filters.gaussian_centre",
          hint="GAUSSIAN_BLUR is the outer product of [1, 2, 1] with itself, divided by the sum of all "
               "its entries: what weight does the centre cell get?")
def _gaussian_centre():
    from ..filters import GAUSSIAN_BLUR

    return float(GAUSSIAN_BLUR[1, 1])


@exercise("filters.identity_minus_laplacian",
          hint="Compute filters.IDENTITY - filters.LAPLACIAN and look for an equal kernel in "
               "filters.NAMED. Answer with its name (a string).")
def _identity_minus_laplacian():
    import numpy as np

    from ..filters import IDENTITY, LAPLACIAN, NAMED

    target = IDENTITY - LAPLACIAN
    return next(name for name, k in NAMED.items() if np.array_equal(k, target))
