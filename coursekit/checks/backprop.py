"""Exercises of notebook 08 (backpropagation): losses, and gradients pushed back through layers by hand.

The notebook works seed 004's 5x5 example with stride 1 and 3x3 pooling; the exercises ask for other
cases -- another input, a stride of 2, 2x2 pooling windows, a class the notebook did not score.
"""

from . import exercise

# seed 004's "82% cat, 15% dog, 2% hat, 1% mug", in that order
SEED_PROBABILITIES = {"cat": 0.82, "dog": 0.15, "hat": 0.02, "mug": 0.01}


@exercise(
    "backprop.loss_if_hat",
    hint="Cross-entropy looks only at the probability the network gave the true class, and takes "
    "minus its natural logarithm.",
    tol=1e-3,
)
def _loss_if_hat():
    import math

    return -math.log(SEED_PROBABILITIES["hat"])


@exercise(
    "backprop.kernel_gradient",
    hint="Each kernel weight k[m, n] multiplied one input cell in every window; its gradient adds up "
    "those input cells, each weighted by the upstream gradient of its window: the input correlated "
    "with dy.",
)
def _kernel_gradient():
    import torch

    from ..examples import BACKPROP_IMAGE, BACKPROP_UPSTREAM

    x = torch.tensor(BACKPROP_IMAGE, dtype=torch.float64)[None, None]
    k = torch.zeros(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.conv2d(x, k)
    y.backward(torch.tensor(BACKPROP_UPSTREAM, dtype=torch.float64)[None, None])
    return k.grad[0, 0].numpy()


@exercise(
    "backprop.relu_backward",
    hint="The gradient passes unchanged where the ReLU's input was positive, and is stopped everywhere "
    "else -- including where the input was exactly 0.",
)
def _relu_backward():
    import torch

    x = torch.tensor([[-2.0, 0.5], [0.0, 3.0]], requires_grad=True)
    torch.relu(x).backward(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    return x.grad.numpy()


@exercise(
    "backprop.strided_dx",
    hint="With stride 2 the windows start two cells apart. Output (i, j) read the window whose top-left "
    "corner is (2i, 2j); send dy[i, j] times the kernel back onto that window, and add where windows "
    "overlap.",
)
def _strided_dx():
    import torch

    from ..examples import ARITHMETIC_IMAGE, ARITHMETIC_KERNEL, BACKPROP_UPSTREAM

    x = torch.tensor(ARITHMETIC_IMAGE, dtype=torch.float64, requires_grad=True)
    k = torch.tensor(ARITHMETIC_KERNEL, dtype=torch.float64)
    y = torch.nn.functional.conv2d(x[None, None], k[None, None], stride=2)
    y.backward(torch.tensor(BACKPROP_UPSTREAM, dtype=torch.float64)[None, None])
    return x.grad.numpy()


@exercise(
    "backprop.maxpool_counts",
    hint="List the windows (2x2, stride 1: where do they start?), find each window's maximum, and when "
    "several cells tie, take the first in reading order. Count how often each cell wins.",
)
def _maxpool_counts():
    import torch

    from ..examples import ARITHMETIC_IMAGE

    x = torch.tensor(ARITHMETIC_IMAGE, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.max_pool2d(x[None, None], 2, stride=1).sum().backward()
    return x.grad.numpy()


@exercise(
    "backprop.im2col_shape",
    hint="One column per output position (how many positions does a 5x5 kernel with padding 2 visit "
    "on 32x32?), one row per number in a window (channels x kernel height x kernel width), and the "
    "batch axis in front.",
)
def _im2col_shape():
    import numpy as np

    from ..layers import im2col

    return im2col(np.zeros((32, 3, 32, 32), dtype=np.float32), 5, padding=2).shape
