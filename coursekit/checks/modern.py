"""Exercises of notebook 10 (AlexNet and VGG): shapes, parameter counts, receptive fields."""

from . import exercise


@exercise(
    "modern.alexnet_features_256",
    hint="Follow the side length through every layer of `features` that has a kernel, each with its "
    "own kernel, stride and padding, rounding down as the output-size formula does; the "
    "channels are those of the last convolution.",
)
def _alexnet_features_256():
    import torch

    from ..models import AlexNet

    with torch.device("meta"):  # shapes only: the layers' arithmetic is skipped
        return tuple(AlexNet().features(torch.zeros(1, 3, 256, 256)).shape[1:])


@exercise(
    "modern.alexnet_pooled3_parameters",
    hint="Only one layer's size depends on what avgpool hands on: the first fully connected layer. "
    "Recount that layer for its new number of inputs and correct the network's total.",
)
def _alexnet_pooled3_parameters():
    import torch
    from torch import nn

    from ..models import AlexNet, count_parameters

    with torch.device("meta"):  # shapes only: no 61 M parameters in memory
        model = AlexNet()
        model.avgpool = nn.AdaptiveAvgPool2d(3)
        fc6 = model.classifier[1]
        model.classifier[1] = nn.Linear(256 * 3 * 3, fc6.out_features)
        return count_parameters(model)


@exercise(
    "modern.small_alexnet_receptive_field",
    hint="Use r <- r + (k - 1) * j and j <- j * s over every layer of the small net's features that "
    "has a kernel (read each kernel size and stride from the model), starting from r = j = 1.",
)
def _small_alexnet_receptive_field():
    from ..models import AlexNet
    from ..models.vgg import receptive_fields

    return receptive_fields(AlexNet.small(width=0.25).features)[-1][2]


@exercise(
    "modern.two_convs_saving",
    hint="Count the weights of each choice with k * k * C_in * C_out and subtract; both map 256 "
    "channels to 256 (weights only, no biases).",
)
def _two_convs_saving():
    import torch
    from torch import nn

    from ..models import count_parameters

    with torch.device("meta"):
        one = nn.Conv2d(256, 256, 5, padding=2, bias=False)
        two = nn.Sequential(*[nn.Conv2d(256, 256, 3, padding=1, bias=False) for _ in range(2)])
        return count_parameters(one) - count_parameters(two)


@exercise(
    "modern.vgg11_parameters",
    hint="Configuration A lists every block: count each 3x3 convolution with the formula, then the "
    "three fully connected layers -- what size is the map they read after five poolings of 224?",
)
def _vgg11_parameters():
    import torch

    from ..models import VGG, count_parameters
    from ..models.vgg import CONFIGS

    with torch.device("meta"):  # 133 M parameters: count them without allocating them
        return count_parameters(VGG(CONFIGS["vgg11"]))


@exercise(
    "modern.small_alexnet_features_32",
    hint="The convolutions of the small net keep the side length; follow 32 through its 2x2 "
    "poolings with stride 2. The channels are conv5's, 256 times the width multiplier.",
)
def _small_alexnet_features_32():
    import torch

    from ..models import AlexNet

    model = AlexNet.small(width=0.25)
    with torch.no_grad():
        return tuple(model.features(torch.zeros(1, 1, 32, 32)).shape[1:])
