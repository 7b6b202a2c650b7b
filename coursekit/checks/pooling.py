"""Exercises of notebook 06 (pooling): pooled values, output sizes, parameter counts, shift tolerance."""

from . import exercise


@exercise(
    "pooling.avg_seed003",
    hint="Average pooling replaces each non-overlapping 2x2 block by the mean of its four numbers; "
    "the answer has one value per block.",
)
def _avg_seed003():
    from ..examples import POOL_DEMO_FEATURE_MAP
    from ..ops import pool2d

    return pool2d(POOL_DEMO_FEATURE_MAP, 2, mode="avg")


@exercise(
    "pooling.sum_5x5_stride2",
    hint="The output side follows the same formula as a convolution's. Each output is the sum of "
    "one 3x3 window, and at stride 2 neighbouring windows share a row or a column.",
)
def _sum_5x5_stride2():
    from ..examples import POOL_DEMO_5X5
    from ..ops import pool2d

    return pool2d(POOL_DEMO_5X5, 3, stride=2, mode="sum")


@exercise(
    "pooling.size_after_two_pools",
    hint="Pool in two steps: the second pooling's input side is the first one's output side, "
    "and each step uses the output-size formula with its own window and stride.",
)
def _size_after_two_pools():
    import torch
    import torch.nn.functional as F

    x = F.max_pool2d(torch.zeros(1, 1, 28, 28), 2, 2)
    return F.max_pool2d(x, 3, 2).shape[-1]


@exercise(
    "pooling.params_conv_pool_stack",
    hint="Pooling layers own no parameters; count only the two convolutions (weights and biases).",
)
def _params_conv_pool_stack():
    from torch import nn

    from ..models import count_parameters

    stack = nn.Sequential(nn.Conv2d(1, 6, 5), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.MaxPool2d(2))
    return count_parameters(stack)


@exercise(
    "pooling.two_pixel_shift_max2",
    hint="Build the two-pixel shift the way the measurement cell builds the one-pixel one, pool "
    "the original and the shifted digits alike, and count only the positions that see ink.",
    tol=0.006,
)
def _two_pixel_shift_max2():
    import torch

    from ..data import load_idx
    from ..ops import pool2d

    images, _ = load_idx("mnist", train=False)
    digits = images[:1000].long()
    moved = torch.zeros_like(digits)
    moved[..., :, 2:] = digits[..., :, :-2]
    before, after = pool2d(digits.numpy(), 2), pool2d(moved.numpy(), 2)
    ink = (before != 0) | (after != 0)
    return float((before == after)[ink].mean())
