"""Squeeze-and-excitation (Hu, Shen & Sun 2018): let a block reweight its own channels.

A convolution treats its output channels alike at every image. An SE block computes one gate per
channel from the image itself and multiplies the channel by it::

    squeeze     s = global average of each channel            (N, C, H, W) -> (N, C)
    excite      g = sigmoid(W2 relu(W1 s))                      (N, C) -> (N, C/r) -> (N, C), in (0, 1)
    rescale     y = x * g, channel by channel                   (N, C, H, W)

W1 and W2 are two small fully connected layers around a bottleneck of C/r units (r, the reduction,
is 16 in the paper): 2 C^2 / r weights, plus C/r + C biases. This is "channel attention": the
network can turn up the channels that matter for *this* image and turn down the others.

In an SE-ResNet the gate sits on the residual branch, before the shortcut is added::

    y = relu( SE(F(x)) + x )

`SEResidualBlock` is `coursekit.models.resnet.ResidualBlock` with that gate; `SEResNet` is a
`coursekit.models.resnet.ResNet` of basic blocks whose every block has it.
"""

from __future__ import annotations

import torch
from torch import nn

from ._args import check_images, positive_int
from .blocks import init_he
from .resnet import ResidualBlock, ResNet


class SEBlock(nn.Module):
    """Squeeze (global average pool) -> excite (linear C -> C/r, ReLU, linear C/r -> C, sigmoid) -> rescale.

    (N, channels, H, W) -> (N, channels, H, W): the input with channel c multiplied by gate c of its
    own image. The bottleneck has max(1, channels // reduction) units.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.channels = positive_int("channels", channels)
        reduction = positive_int("reduction", reduction)
        hidden = max(1, channels // reduction)
        self.squeeze = nn.AdaptiveAvgPool2d(1)  # (N, C, 1, 1)
        self.fc1 = nn.Linear(channels, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, channels)

    def gates(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel gates of each image: (N, C, H, W) -> (N, C), every value in (0, 1)."""
        check_images(x, "SEBlock", self.channels)
        s = self.squeeze(x).flatten(1)  # (N, C): one number per channel
        return torch.sigmoid(self.fc2(self.relu(self.fc1(s))))  # (N, C)

    def forward(self, x):
        g = self.gates(x)
        return x * g[:, :, None, None]  # each channel scaled by its gate


class SEResidualBlock(ResidualBlock):
    """A `ResidualBlock` whose F(x) passes an `SEBlock` before the shortcut is added.

    (N, in_channels, H, W) -> (N, channels, H/stride, W/stride); the same layers as ResidualBlock
    plus ``self.se`` (2 * channels^2 / reduction weights and channels / reduction + channels biases).
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1, residual: bool = True, reduction: int = 16):
        super().__init__(in_channels, channels, stride, residual)
        self.se = SEBlock(channels * self.expansion, reduction)

    def forward(self, x):
        check_images(x, "SEResidualBlock", self.in_channels)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))  # F(x), each channel rescaled by its gate
        if self.residual:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return self.relu(out)


class SEResNet(ResNet):
    """A ResNet of basic blocks with squeeze-and-excitation in every block: (N, C, H, W) -> (N, num_classes).

    Takes ResNet's arguments (block must be "basic") plus `reduction`. ResNet builds the network;
    each of its `ResidualBlock`s is then replaced by an `SEResidualBlock` of the same shape, so
    stem, stages, pooling and classifier are ResNet's own.
    """

    def __init__(self, *args, reduction: int = 16, **kwargs):
        super().__init__(*args, **kwargs)
        if self.config["block"] != "basic":
            raise ValueError(f"SEResNet is built from basic blocks; got block={self.config['block']!r}")
        reduction = positive_int("reduction", reduction)
        for stage in self.stages:
            for i, block in enumerate(stage):
                stride = block.conv1.stride[0]
                stage[i] = SEResidualBlock(
                    block.in_channels, block.conv2.out_channels, stride, block.residual, reduction
                )
        self.config["reduction"] = reduction
        init_he(self)  # the new blocks, initialised like the rest of the network

    @classmethod
    def small(
        cls,
        depth: int = 20,
        width: int = 16,
        reduction: int = 16,
        in_channels: int = 1,
        num_classes: int = 10,
        stages: int = 3,
    ) -> SEResNet:
        """`ResNet.small(depth, width)` with an SE gate (reduction r) in every block, for 28 x 28 images."""
        layout = ResNet.small(depth, width, True, in_channels, num_classes, stages).config  # checks depth
        return cls(
            "basic",
            layout["layers"],
            layout["widths"],
            "small",
            in_channels,
            num_classes,
            reduction=reduction,
        )
