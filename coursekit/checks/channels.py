"""Exercises of notebook 05 (channels and filters): kernel shapes, layer shapes, parameter counts."""
from . import exercise


@exercise("channels.kernel_shape",
          hint="PyTorch stores a Conv2d weight as (out_channels, in_channels, kernel_height, kernel_width).")
def _kernel_shape():
    from torch import nn

    return tuple(nn.Conv2d(3, 16, kernel_size=5).weight.shape)


@exercise("channels.conv_params_128",
          hint="Each filter has f*f*C weights (C = input channels) and one bias; multiply by the "
               "number of filters.")
def _conv_params_128():
    from torch import nn

    from ..models import count_parameters

    return count_parameters(nn.Conv2d(64, 128, kernel_size=3))


@exercise("channels.fc_params_mnist",
          hint="A Linear layer has one weight per (input, output) pair plus one bias per output; "
               "an MNIST image has 28*28 inputs.")
def _fc_params_mnist():
    from torch import nn

    from ..models import count_parameters

    return count_parameters(nn.Linear(28 * 28, 100))


@exercise("channels.output_shape_rgb",
          hint="NCHW: N stays, C becomes the number of filters, H and W follow "
               "floor((n + 2p - f) / s) + 1.")
def _output_shape_rgb():
    import torch
    from torch import nn

    layer = nn.Conv2d(3, 10, kernel_size=3, padding=1, stride=2)
    return tuple(layer(torch.zeros(8, 3, 32, 32)).shape)


@exercise("channels.next_layer_kernel",
          hint="Keras writes kernels as (kh, kw, in_channels, out_channels); the second layer's "
               "input channels are the first layer's output channels.")
def _next_layer_kernel():
    import torch
    from torch import nn

    first = nn.Conv2d(1, 2, kernel_size=3)
    second = nn.Conv2d(2, 4, kernel_size=3)
    second(first(torch.zeros(1, 1, 9, 9)))  # fails if the channels did not chain
    o, c, kh, kw = second.weight.shape
    return (kh, kw, c, o)  # Keras order
