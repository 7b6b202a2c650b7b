"""Exercises of notebook 09 (LeNet-5): counting parameters and connections, predicting shapes."""

from . import exercise


@exercise(
    "lenet.parameters_rgb",
    hint="Ask which layers see the number of input channels at all; only their counts change. "
    "Redo that count with the convolution formula and correct the total by the difference.",
)
def _parameters_rgb():
    import torch

    from ..models import LeNet5, count_parameters

    with torch.device("meta"):  # counting needs shapes only, no memory
        return count_parameters(LeNet5(in_channels=3))


@exercise(
    "lenet.c3_connections_1998",
    hint="A shared kernel is applied again at every output position, and so is the bias. Count what "
    "one output position of each C3 map uses (from the X table), then how many positions a "
    "C3 map has.",
)
def _c3_connections_1998():
    import torch
    from torch import nn

    from ..models.lenet import C3_CONNECTIONS

    positions = nn.Conv2d(1, 1, 5)(torch.zeros(1, 1, 14, 14)).shape[-2:].numel()  # C3 on S2's 14x14 maps
    per_position = sum(len(inputs) * 5 * 5 + 1 for inputs in C3_CONNECTIONS)  # weights + bias, all 16 maps
    return per_position * positions


@exercise(
    "lenet.s4_shape_32",
    hint="Apply out = (n + 2p - f) / s + 1 layer by layer: C1 (f=5, p=2), S2 (f=2, s=2), C3 (f=5), S4 (f=2, s=2).",
)
def _s4_shape_32():
    import torch

    from ..models import LeNet5

    with torch.no_grad():
        return tuple(LeNet5().features(torch.zeros(1, 1, 32, 32)).shape[1:])


@exercise(
    "lenet.dense_first_layer",
    hint="A fully connected layer from every input pixel to every output unit: inputs x outputs weights, "
    "plus one bias per output.",
)
def _dense_first_layer():
    import torch
    from torch import nn

    from ..models import count_parameters

    with torch.device("meta"):
        return count_parameters(nn.Linear(28 * 28, 6 * 28 * 28))


@exercise("lenet.c5_as_convolution", hint="A 5x5 kernel over a 5x5 map with no padding fits in exactly one position.")
def _c5_as_convolution():
    import torch
    from torch import nn

    with torch.no_grad():
        return tuple(nn.Conv2d(16, 120, kernel_size=5)(torch.zeros(1, 16, 5, 5)).shape[1:])
