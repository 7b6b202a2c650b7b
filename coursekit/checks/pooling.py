"""Exercises of notebook 06 (pooling): pooled values, output sizes, parameter counts."""
from . import exercise


@exercise("pooling.avg_seed003",
          hint="Call coursekit.ops.pool2d on the 4x4 feature map with size=2 and mode='avg'; "
               "the answer is a 2x2 array.")
def _avg_seed003():
    from ..examples import POOL_DEMO_FEATURE_MAP
    from ..ops import pool2d

    return pool2d(POOL_DEMO_FEATURE_MAP, 2, mode="avg")


@exercise("pooling.sum_seed000",
          hint="Sum pooling adds the values of each 2x2 block; it equals average pooling times 4.")
def _sum_seed000():
    from ..examples import POOL_DEMO_4X4
    from ..ops import pool2d

    return pool2d(POOL_DEMO_4X4, 2, mode="sum")


@exercise("pooling.size_after_two_pools",
          hint="Apply floor((n + 2p - f) / s) + 1 twice: first f = 2, s = 2, then f = 3, s = 2.")
def _size_after_two_pools():
    import torch
    import torch.nn.functional as F

    x = F.max_pool2d(torch.zeros(1, 1, 28, 28), 2, 2)
    return F.max_pool2d(x, 3, 2).shape[-1]


@exercise("pooling.params_conv_pool_stack",
          hint="Pooling layers own no parameters; count only the two convolutions "
               "(weights and biases).")
def _params_conv_pool_stack():
    from torch import nn

    from ..models import count_parameters

    stack = nn.Sequential(nn.Conv2d(1, 6, 5), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.MaxPool2d(2))
    return count_parameters(stack)


@exercise("pooling.two_pixel_shift_max2",
          hint="Shift with slicing (moved[..., 2:] = digits[..., :-2]), max-pool both with 2x2 "
               "windows, and average (before == after) over the positions where either is non-zero.",
          tol=0.006)
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
