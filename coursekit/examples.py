"""The small matrices of the course's worked examples, in one place.

Only *inputs* live here -- images and kernels -- never results: the notebooks and the tests compute
the results with `coursekit.ops` (and check them against PyTorch). The comment above each constant
names the slide deck it comes from ("seed 000" ... "seed 004", the syllabus decks, by file name).

All arrays are read-only; take a copy (``x.copy()``) before changing one.
"""

from __future__ import annotations

import numpy as np

from coursekit import filters


def _constant(rows) -> np.ndarray:
    array = np.array(rows)
    array.setflags(write=False)
    return array


# Seed 000: the 5x5 image of the cross-correlation walk-through, with the 3x3 Sobel kernel
# (valid cross-correlation, then padding 1, then stride 2).
SOBEL_DEMO_IMAGE = _constant(
    [
        [5, 15, 4, 0, -1],
        [10, 1, 5, 1, 0],
        [6, 9, 11, 1, -1],
        [0, -1, 5, 15, 4],
        [1, 0, 10, 1, 5],
    ]
)
SOBEL_DEMO_KERNEL = filters.SOBEL_VERTICAL

# Seed 000: 4x4 input of the max-pooling (2x2, stride 2) and average-pooling examples.
POOL_DEMO_4X4 = _constant(
    [
        [1, 5, 6, -1],
        [10, 8, 2, 3],
        [4, 1, 2, -5],
        [0, 9, -1, 0],
    ]
)

# Seed 000: 5x5 input of the max-pooling example with f=3, s=1, p=0.
POOL_DEMO_5X5 = _constant(
    [
        [1, 5, 6, -1, 10],
        [10, 8, 2, 3, 1],
        [4, 1, 2, -5, 6],
        [1, 9, -1, 6, 1],
        [5, 8, -1, 2, -7],
    ]
)

# Seed 001: a 24x16 patch of a grey-level photo (values 0..255), "an image is a grid of numbers".
GRAYSCALE_PATCH = _constant(
    [
        [105, 112, 108, 111, 104, 99, 106, 99, 96, 103, 112, 119, 104, 97, 93, 87],
        [91, 98, 102, 106, 104, 79, 98, 103, 99, 105, 123, 136, 110, 105, 94, 85],
        [76, 85, 90, 105, 128, 105, 87, 96, 95, 99, 115, 112, 106, 103, 99, 85],
        [99, 81, 81, 93, 120, 131, 127, 100, 95, 98, 102, 99, 96, 93, 101, 94],
        [106, 91, 61, 64, 69, 91, 88, 85, 101, 107, 109, 98, 75, 84, 96, 95],
        [114, 108, 85, 55, 55, 69, 64, 54, 64, 87, 112, 129, 98, 74, 84, 91],
        [133, 137, 147, 103, 65, 81, 80, 65, 52, 54, 74, 84, 102, 93, 85, 82],
        [128, 137, 144, 140, 109, 95, 86, 70, 62, 65, 63, 63, 60, 73, 86, 101],
        [125, 133, 148, 137, 119, 121, 117, 94, 65, 79, 80, 65, 54, 64, 72, 98],
        [127, 125, 131, 147, 133, 127, 126, 131, 111, 96, 89, 75, 61, 64, 72, 84],
        [115, 114, 109, 123, 150, 148, 131, 118, 113, 109, 100, 92, 74, 65, 72, 78],
        [89, 93, 90, 97, 108, 147, 131, 118, 113, 114, 113, 109, 106, 95, 77, 80],
        [63, 77, 86, 81, 77, 79, 102, 123, 117, 115, 117, 125, 125, 130, 115, 87],
        [62, 65, 82, 89, 78, 71, 80, 101, 124, 126, 119, 101, 107, 114, 131, 119],
        [63, 65, 75, 88, 89, 71, 62, 81, 120, 138, 135, 105, 81, 98, 110, 118],
        [87, 65, 71, 87, 106, 95, 69, 45, 76, 130, 126, 107, 92, 94, 105, 112],
        [118, 97, 82, 86, 117, 123, 116, 65, 41, 51, 95, 93, 89, 95, 102, 107],
        [164, 146, 112, 80, 82, 120, 124, 104, 76, 48, 45, 66, 88, 101, 102, 109],
        [157, 170, 157, 120, 93, 86, 114, 132, 112, 97, 69, 55, 78, 82, 99, 94],
        [130, 128, 134, 161, 139, 100, 109, 118, 121, 134, 114, 87, 65, 53, 69, 86],
        [128, 112, 96, 117, 150, 144, 120, 115, 104, 107, 102, 93, 87, 81, 72, 79],
        [123, 107, 96, 86, 83, 112, 153, 149, 122, 109, 104, 75, 88, 107, 112, 99],
        [122, 121, 102, 80, 82, 86, 94, 117, 145, 148, 153, 102, 58, 78, 92, 107],
        [122, 164, 148, 103, 71, 56, 78, 83, 93, 103, 119, 139, 102, 61, 69, 84],
    ]
)

# Seed 002 (and seed 004, "X or X?"): a 9x9 "X" drawn with +1 on a background of -1 ...
X_IMAGE = _constant(
    [
        [-1, -1, -1, -1, -1, -1, -1, -1, -1],
        [-1, 1, -1, -1, -1, -1, -1, 1, -1],
        [-1, -1, 1, -1, -1, -1, 1, -1, -1],
        [-1, -1, -1, 1, -1, 1, -1, -1, -1],
        [-1, -1, -1, -1, 1, -1, -1, -1, -1],
        [-1, -1, -1, 1, -1, 1, -1, -1, -1],
        [-1, -1, 1, -1, -1, -1, 1, -1, -1],
        [-1, 1, -1, -1, -1, -1, -1, 1, -1],
        [-1, -1, -1, -1, -1, -1, -1, -1, -1],
    ]
)
# ... and (seed 002) the 3x3 template of its "\" diagonal stroke, matched against it. Dividing the
# cross-correlation by the 9 kernel cells gives a score in [-1, 1]: 1 is a perfect match.
X_TEMPLATE = _constant(
    [
        [1, -1, -1],
        [-1, 1, -1],
        [-1, -1, 1],
    ]
)

# Seed 004 ("X or X?"): a shifted, deformed X that a pixel-by-pixel comparison fails to recognise.
X_IMAGE_DEFORMED = _constant(
    [
        [-1, -1, -1, -1, -1, -1, -1, -1, -1],
        [-1, -1, -1, -1, -1, -1, 1, -1, -1],
        [-1, 1, -1, -1, -1, 1, -1, -1, -1],
        [-1, -1, 1, 1, -1, 1, -1, -1, -1],
        [-1, -1, -1, -1, 1, -1, -1, -1, -1],
        [-1, -1, -1, 1, -1, 1, 1, -1, -1],
        [-1, -1, -1, 1, -1, -1, -1, 1, -1],
        [-1, -1, 1, -1, -1, -1, -1, -1, -1],
        [-1, -1, -1, -1, -1, -1, -1, -1, -1],
    ]
)

# Seed 002: a 10x10 black-and-white image (0/1) and a 10x10 grey-level image (0..255).
BINARY_10X10 = _constant(
    [
        [1, 0, 1, 0, 1, 1, 1, 0, 1, 0],
        [0, 0, 0, 0, 0, 1, 1, 1, 1, 0],
        [0, 1, 1, 0, 0, 0, 0, 0, 1, 1],
        [1, 1, 0, 0, 0, 0, 1, 0, 1, 0],
        [0, 1, 1, 0, 1, 0, 0, 0, 0, 0],
        [1, 0, 1, 0, 0, 1, 0, 0, 1, 1],
        [1, 0, 1, 0, 1, 0, 0, 0, 1, 1],
        [1, 1, 0, 1, 0, 0, 0, 0, 1, 1],
        [0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
        [1, 1, 1, 1, 0, 1, 1, 0, 1, 0],
    ]
)
GRAYSCALE_10X10 = _constant(
    [
        [127, 136, 48, 234, 128, 155, 24, 114, 128, 12],
        [18, 177, 127, 239, 230, 236, 145, 240, 195, 65],
        [116, 29, 155, 70, 51, 174, 144, 153, 149, 120],
        [243, 26, 66, 213, 1, 227, 203, 191, 128, 105],
        [183, 199, 207, 167, 146, 7, 136, 234, 175, 232],
        [31, 166, 180, 133, 187, 82, 192, 182, 194, 2],
        [139, 161, 108, 144, 183, 23, 185, 12, 67, 47],
        [53, 24, 72, 46, 182, 94, 25, 221, 16, 34],
        [76, 144, 181, 22, 21, 67, 16, 53, 250, 222],
        [197, 6, 7, 122, 198, 34, 222, 64, 12, 108],
    ]
)

# Seed 003: the 5x5 binary image of "How does convolution work?", used with the sharpen kernel
# (no padding; padding 1 at stride 1 and at stride 2).
BINARY_DEMO_IMAGE = _constant(
    [
        [0, 1, 1, 0, 0],
        [0, 1, 1, 0, 0],
        [1, 0, 0, 1, 1],
        [0, 1, 1, 0, 1],
        [1, 1, 1, 1, 1],
    ]
)
SHARPEN_DEMO_KERNEL = filters.SHARPEN

# Seed 003: the kernel 1..9 of the "flip first" slide (convolution = correlation with the kernel
# turned by 180 degrees).
FLIP_DEMO_KERNEL = _constant(
    [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
    ]
)

# Seed 003: the 4x4 feature map of the 2x2 max-pooling example.
POOL_DEMO_FEATURE_MAP = _constant(
    [
        [12, 20, 30, 0],
        [8, 12, 2, 0],
        [34, 70, 37, 4],
        [112, 100, 25, 12],
    ]
)

# Seed 004: the 5x5 input and 3x3 kernel of the step-by-step convolution (no padding; then padding
# 1), also the input of its 3x3 average- and max-pooling examples (stride 1).
ARITHMETIC_IMAGE = _constant(
    [
        [3, 3, 2, 1, 0],
        [0, 0, 1, 3, 1],
        [3, 1, 2, 2, 3],
        [2, 0, 0, 2, 2],
        [2, 0, 0, 0, 1],
    ]
)
ARITHMETIC_KERNEL = _constant(
    [
        [0, 1, 2],
        [2, 2, 0],
        [0, 1, 2],
    ]
)

# Seed 004: the 6x6 image of "Putting it all together -- padding" (6x6 input, 3x3 filter -> 4x4).
PADDING_DEMO_IMAGE = _constant(
    [
        [3, 0, 1, 2, 7, 4],
        [1, 5, 8, 9, 3, 1],
        [2, 7, 2, 5, 1, 3],
        [0, 1, 3, 1, 7, 8],
        [4, 2, 1, 6, 2, 8],
        [2, 4, 5, 2, 3, 9],
    ]
)

# The backpropagation notebook's exercise: a 4x4 input seen through a 3x3 kernel (output 2x2) and the
# gradient arriving from above, small enough to push back by hand. (The course's own numbers, not a seed's.)
BACKPROP_IMAGE = _constant(
    [
        [1, 2, 0, 1],
        [0, 1, 3, 1],
        [2, 1, 0, 0],
        [1, 0, 1, 2],
    ]
)
BACKPROP_UPSTREAM = _constant(
    [
        [1, -1],
        [2, 0],
    ]
)
