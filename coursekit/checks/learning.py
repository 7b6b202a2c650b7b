"""Exercises of notebook 07, learning filters: parameter counts, activations, composed kernels."""

from . import exercise


@exercise(
    "learning.params_conv_3x3",
    hint="Each of the 16 output channels has one 3×3 kernel per input channel, plus one bias.",
)
def _params_conv_3x3():
    from torch import nn

    from ..models.table import count_parameters

    return count_parameters(nn.Conv2d(3, 16, kernel_size=3))


@exercise(
    "learning.dense_params_28_to_26",
    hint="A fully connected layer has one weight per (input pixel, output pixel) pair.",
)
def _dense_params_28_to_26():
    from torch import nn

    from ..models.table import count_parameters

    return count_parameters(nn.Linear(28 * 28, 26 * 26, bias=False))


@exercise(
    "learning.tanh_slope_at_2",
    hint="The table of activations writes tanh' in terms of tanh itself; autograd can confirm "
    "your number. Compare it with the slope at z = 0.",
    tol=1e-4,
)
def _tanh_slope_at_2():
    import torch

    z = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(torch.tanh(z), z)
    return slope.item()


@exercise(
    "learning.composed_kernel_shape",
    hint="Each valid cross-correlation with a k×k kernel shrinks the image by k - 1 per axis; "
    "one kernel must shrink it by the total.",
)
def _composed_kernel_shape():
    import numpy as np

    from .. import ops

    k1, k2 = np.ones((3, 3)), np.ones((5, 5))
    # the single equivalent kernel is the full convolution of the two kernels
    return ops.conv2d(k1, k2, padding=4).shape


@exercise(
    "learning.composed_kernel",
    hint="The notebook's derivation says which operation combines the two kernels into one; "
    "it is not cross-correlation (mind the flip), and the result is longer than either kernel.",
)
def _composed_kernel():
    import numpy as np

    k1, k2 = np.array([1, 2]), np.array([1, -1])
    return np.convolve(k1, k2, mode="full")


@exercise(
    "learning.flatten_head_extra_params",
    hint="The global max pool hands the linear layer one number per filter; the flattened head "
    "hands it every position of every 7×7 map. Count the weights and biases of both heads.",
)
def _flatten_head_extra_params():
    from torch import nn

    from ..models.table import count_parameters

    global_pool_head = nn.Linear(32, 10)  # after AdaptiveMaxPool2d(1): one number per filter
    flatten_head = nn.Linear(32 * 7 * 7, 10)  # after Flatten of the 32 × 7 × 7 maps
    return count_parameters(flatten_head) - count_parameters(global_pool_head)
