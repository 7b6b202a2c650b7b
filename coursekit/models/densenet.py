"""Dense connectivity (Huang, Liu, van der Maaten & Weinberger 2017): concatenate, don't add.

Inside a dense block, layer l sees the concatenation of the block's input and of every earlier
layer's output, and contributes `growth_rate` (k) new channels::

    x_l = H_l([x_0, x_1, ..., x_{l-1}])          [ ] = concatenation along the channels

so a block of L layers on c_0 input channels outputs c_0 + L*k channels at the same height and
width. A ResNet block *adds* its input to F(x) (channels stay fixed); a dense block *keeps* every
earlier feature map and lets later layers read them directly. Between blocks a `Transition`
(1x1 convolution + 2x2 average pooling) shrinks channels and resolution again.
"""

from __future__ import annotations

import torch
from torch import nn

from ._args import check_images, positive_int
from .blocks import conv1x1


class DenseLayer(nn.Module):
    """H_l of DenseNet-B: BN -> ReLU -> 1x1 conv (4k maps) -> BN -> ReLU -> 3x3 conv (k maps).

    (N, in_channels, H, W) -> (N, growth_rate, H, W): only the *new* maps; the block concatenates.
    """

    def __init__(self, in_channels: int, growth_rate: int, bottleneck: int = 4):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        growth_rate, bottleneck = positive_int("growth_rate", growth_rate), positive_int("bottleneck", bottleneck)
        inner = bottleneck * growth_rate
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv1x1(in_channels, inner)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, growth_rate, kernel_size=3, padding=1, bias=False)
        self.relu = nn.ReLU()

    def forward(self, x):
        check_images(x, "DenseLayer", self.in_channels)
        return self.conv2(self.relu(self.bn2(self.conv1(self.relu(self.bn1(x))))))


class DenseBlock(nn.Module):
    """`num_layers` dense layers: (N, in_channels, H, W) -> (N, in_channels + num_layers*growth_rate, H, W).

    Layer i receives in_channels + i*growth_rate channels (everything produced before it).
    """

    def __init__(self, in_channels: int, growth_rate: int, num_layers: int, bottleneck: int = 4):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        self.growth_rate = positive_int("growth_rate", growth_rate)
        num_layers = positive_int("num_layers", num_layers)
        self.layers = nn.ModuleList(
            DenseLayer(in_channels + i * growth_rate, growth_rate, bottleneck) for i in range(num_layers)
        )
        self.out_channels = in_channels + num_layers * growth_rate

    def forward(self, x):
        check_images(x, "DenseBlock", self.in_channels)
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))  # every earlier map goes in
        return torch.cat(features, dim=1)


class Transition(nn.Sequential):
    """Between dense blocks: BN -> ReLU -> 1x1 conv -> 2x2 average pool.

    (N, in_channels, H, W) -> (N, out_channels, H/2, W/2).
    """

    def __init__(self, in_channels: int, out_channels: int):
        in_channels = positive_int("in_channels", in_channels)
        super().__init__(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(),
            conv1x1(in_channels, out_channels),
            nn.AvgPool2d(kernel_size=2, stride=2),
        )
        self.in_channels = in_channels

    def forward(self, x):
        check_images(x, "Transition", self.in_channels)
        return super().forward(x)
