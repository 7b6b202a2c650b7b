"""Exercises of notebook 05 (channels and filters): kernel shapes, layer shapes, parameter counts."""

from . import exercise


@exercise(
    "channels.kernel_shape",
    hint="Look back at how the notebook printed an nn.Conv2d weight: one axis counts the filters, "
    "one the input channels, two the kernel's height and width -- in which order?",
)
def _kernel_shape():
    from torch import nn

    return tuple(nn.Conv2d(3, 16, kernel_size=5).weight.shape)


@exercise(
    "channels.conv_params_128",
    hint="Each filter has f*f*C weights (C = input channels) and one bias; multiply by the number of filters.",
)
def _conv_params_128():
    from torch import nn

    from ..models import count_parameters

    return count_parameters(nn.Conv2d(64, 128, kernel_size=3))


@exercise(
    "channels.fc_params_mnist",
    hint="A Linear layer has one weight per (input, output) pair plus one bias per output; "
    "an MNIST image has 28*28 inputs.",
)
def _fc_params_mnist():
    from torch import nn

    from ..models import count_parameters

    return count_parameters(nn.Linear(28 * 28, 100))


@exercise(
    "channels.output_shape_rgb",
    hint="NCHW: N stays, C becomes the number of filters, H and W follow floor((n + 2p - f) / s) + 1.",
)
def _output_shape_rgb():
    import torch
    from torch import nn

    layer = nn.Conv2d(3, 10, kernel_size=3, padding=1, stride=2)
    return tuple(layer(torch.zeros(8, 3, 32, 32)).shape)


@exercise(
    "channels.second_layer_output_nhwc",
    hint="Chain the layers: the second one reads the first one's output, so its input side and "
    "its input channels come from there. Keras writes (N, H, W, C): channels last.",
)
def _second_layer_output_nhwc():
    import torch
    from torch import nn

    first = nn.Conv2d(1, 2, kernel_size=3)  # seed 002: (1, 9, 9, 1) -> (1, 7, 7, 2)
    second = nn.Conv2d(2, 5, kernel_size=3, stride=2)  # 5 filters 3x3, stride 2, no padding
    n, c, h, w = second(first(torch.zeros(1, 1, 9, 9))).shape
    return (n, h, w, c)  # Keras order
