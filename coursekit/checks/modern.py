"""Exercises of notebook 09 (AlexNet and VGG): shapes, parameter counts, receptive fields."""
from . import exercise


@exercise("modern.alexnet_conv1_size",
          hint="Use the output-size formula floor((n + 2p - f) / s) + 1 with n = 227, f = 11, s = 4, p = 0.")
def _alexnet_conv1_size():
    import torch
    from torch import nn

    conv1 = nn.Conv2d(3, 96, kernel_size=11, stride=4)  # the paper's conv1, no padding
    return conv1(torch.zeros(1, 3, 227, 227)).shape[-1]


@exercise("modern.alexnet_fc6_parameters",
          hint="fc6 maps the flattened 256 x 6 x 6 feature map to 4096 units: weights plus one bias per unit.")
def _alexnet_fc6_parameters():
    from ..models import AlexNet, count_parameters

    return count_parameters(AlexNet().classifier[1])


@exercise("modern.three_convs_receptive_field",
          hint="Each 3x3 convolution with stride 1 widens the field by (3 - 1) pixels; start from 1.")
def _three_convs_receptive_field():
    from torch import nn

    from ..models.vgg import receptive_fields

    stack = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(3)])
    return receptive_fields(stack)[-1][2]


@exercise("modern.three_convs_weights",
          hint="A 3x3 convolution from C to C channels has 3 * 3 * C * C weights; there are three of them "
               "(count weights only, no biases).")
def _three_convs_weights():
    from torch import nn

    from ..models import count_parameters

    stack = nn.Sequential(*[nn.Conv2d(256, 256, 3, padding=1, bias=False) for _ in range(3)])
    return count_parameters(stack)


@exercise("modern.vgg11_parameters",
          hint="Build VGG(CONFIGS['vgg11']) (configuration A) for 1000 classes and count its parameters.")
def _vgg11_parameters():
    from ..models import VGG, count_parameters
    from ..models.vgg import CONFIGS

    return count_parameters(VGG(CONFIGS["vgg11"]))


@exercise("modern.small_alexnet_features_shape",
          hint="Follow 28 through three 2x2 poolings with stride 2 (rounding down); the channels are "
               "conv5's, 256 times the width multiplier.")
def _small_alexnet_features_shape():
    import torch

    from ..models import AlexNet

    model = AlexNet.small(width=0.25)
    return tuple(model.features(torch.zeros(1, 1, 28, 28)).shape[1:])
