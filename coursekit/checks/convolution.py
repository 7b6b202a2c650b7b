"""Exercises of notebooks 01 and 02: 1-D and 2-D cross-correlation and convolution."""

from . import exercise


@exercise(
    "convolution.output_lengths_1d",
    hint="valid: only where the kernel fits (n - m + 1); same: as long as the signal; "
    "full: every partial overlap (n + m - 1). Answer as a tuple (valid, same, full).",
)
def _output_lengths_1d():
    import numpy as np

    signal, kernel = np.zeros(100), np.ones(7)
    return tuple(len(np.convolve(signal, kernel, mode)) for mode in ("valid", "same", "full"))


@exercise(
    "convolution.edge_response_1d",
    hint="Slide [-1, 0, 1] along the signal without flipping it: each output is the value two "
    "steps ahead minus the current one. Answer as a list, mode 'valid'.",
)
def _edge_response_1d():
    from ..ops import corr1d

    return corr1d([0, 0, 0, 5, 5, 5], [-1, 0, 1], "valid")


@exercise(
    "convolution.output_size_valid",
    hint="Without padding, an f x f kernel fits at n - f + 1 positions along each axis. "
    "Answer as a tuple (height, width).",
)
def _output_size_valid():
    from ..ops import corr2d

    return corr2d([[0] * 28] * 28, [[0] * 5] * 5).shape  # a 28 x 28 image, a 5 x 5 kernel


@exercise(
    "convolution.corr_element",
    hint="Lay the kernel 1..9 on the 3 x 3 patch whose top-left corner is image[1, 1] of "
    "examples.ARITHMETIC_IMAGE, multiply cell by cell (no flip) and add the nine products.",
)
def _corr_element():
    from .. import examples
    from ..ops import corr2d

    return int(corr2d(examples.ARITHMETIC_IMAGE, examples.FLIP_DEMO_KERNEL)[1, 1])


@exercise(
    "convolution.conv_element",
    hint="Convolution lays the kernel down turned by 180 degrees: turn it first (last row first, "
    "each row read backwards), then multiply it cell by cell with the top-left 3 x 3 patch "
    "of the image and add the nine products.",
)
def _conv_element():
    from .. import examples
    from ..ops import conv2d

    return int(conv2d(examples.ARITHMETIC_IMAGE, examples.ARITHMETIC_KERNEL)[0, 0])


@exercise(
    "convolution.symmetric_kernels",
    hint="The two operations differ only by the 180-degree turn of the kernel, so they agree "
    "exactly for the kernels that the turn leaves unchanged. Count those in filters.NAMED.",
)
def _symmetric_kernels():
    import numpy as np

    from ..filters import NAMED

    return sum(np.array_equal(k, np.flip(k)) for k in NAMED.values())


@exercise(
    "convolution.affine_input",
    hint="Use linearity: corr(2x + c) = 2 corr(x) + corr(c), and a constant image c gives "
    "c times the sum of the kernel's entries.",
)
def _affine_input():
    from .. import examples
    from ..ops import corr2d

    image = 2 * examples.ARITHMETIC_IMAGE + 1
    return int(corr2d(image, examples.ARITHMETIC_KERNEL)[0, 0])
