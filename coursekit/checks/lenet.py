"""Exercises of notebook 08 (LeNet-5): counting parameters and predicting shapes."""
from . import exercise


@exercise("lenet.c3_parameters",
          hint="C3 has 16 filters; each spans every S2 map (how many?) with a 5x5 kernel, plus one bias per filter.")
def _c3_parameters():
    from ..models import LeNet5, count_parameters

    return count_parameters(LeNet5().c3)


@exercise("lenet.c3_parameters_1998",
          hint="Use C3_CONNECTIONS: each C3 map has a 5x5 kernel per S2 map it reads, and one bias.")
def _c3_parameters_1998():
    from ..models.lenet import C3_CONNECTIONS

    return sum(len(inputs) * 5 * 5 + 1 for inputs in C3_CONNECTIONS)


@exercise("lenet.s4_shape_32",
          hint="Apply out = (n + 2p - f) / s + 1 layer by layer: C1 (f=5, p=2), S2 (f=2, s=2), C3 (f=5), S4 (f=2, s=2).")
def _s4_shape_32():
    import torch

    from ..models import LeNet5

    with torch.no_grad():
        return tuple(LeNet5().features(torch.zeros(1, 1, 32, 32)).shape[1:])


@exercise("lenet.dense_first_layer",
          hint="A fully connected layer from every input pixel to every output unit: inputs x outputs weights, plus one bias per output.")
def _dense_first_layer():
    from torch import nn

    from ..models import count_parameters

    return count_parameters(nn.Linear(28 * 28, 6 * 28 * 28))


@exercise("lenet.c5_as_convolution",
          hint="A 5x5 kernel over a 5x5 map with no padding fits in exactly one position.")
def _c5_as_convolution():
    import torch
    from torch import nn

    with torch.no_grad():
        return tuple(nn.Conv2d(16, 120, kernel_size=5)(torch.zeros(1, 16, 5, 5)).shape[1:])
