"""U-Net (Ronneberger, Fischer & Brox 2015): a class for every pixel, at the image's own resolution.

Semantic segmentation labels each pixel. A classifier's stride-2 stages throw away *where* for
*what*; a fully convolutional network (Long, Shelhamer & Darrell 2015) gets the resolution back
by upsampling with **transposed convolutions**, and U-Net adds **skip connections**: each decoder
level concatenates the encoder's map of the same size, so fine detail comes straight across::

    level 0  (N, w0, H,   W)    double conv ------------------------------ concat -> double conv -> 1x1 head
    level 1  (N, w1, H/2, W/2)  max-pool, double conv ------------ concat -> double conv ^ up-conv
    level 2  (N, w2, H/4, W/4)  max-pool, double conv -- concat -> double conv ^ up-conv
    bottom   (N, w3, H/8, W/8)  max-pool, double conv  ^ up-conv

A double conv is two 3x3 conv-BN-ReLU; an up-conv is ``nn.ConvTranspose2d(kernel_size=2,
stride=2)``, which doubles H and W and halves the channels. A transposed convolution is the
backward pass of a convolution: it spreads each input value over a kernel-sized patch of the
output, the way a convolution's gradient flows back to its input.

The paper's network has widths (64, 128, 256, 512, 1024) and unpadded convolutions (its output is
smaller than its input); here the convolutions are padded, so output and input have the same size.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._args import check_images, check_multiple, positive_int, positive_ints, probability
from .blocks import conv_bn_relu


def double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 conv-BN-ReLU: (N, in_channels, H, W) -> (N, out_channels, H, W)."""
    return nn.Sequential(
        *conv_bn_relu(in_channels, out_channels, 3, batch_norm=True),
        *conv_bn_relu(out_channels, out_channels, 3, batch_norm=True),
    )


class Up(nn.Module):
    """One decoder level: up-conv, concatenate the skip, double conv.

    (N, in_channels, h, w) and a skip (N, out_channels, 2h, 2w) -> (N, out_channels, 2h, 2w).
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        in_channels, out_channels = positive_int("in_channels", in_channels), positive_int("out_channels", out_channels)
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)  # (N, out, 2h, 2w)
        self.conv = double_conv(2 * out_channels, out_channels)

    def forward(self, x, skip):
        x = self.up(x)
        return self.conv(torch.cat([skip, x], dim=1))  # (N, 2 * out_channels, 2h, 2w) -> (N, out_channels, 2h, 2w)


class UNet(nn.Module):
    """A small U-Net: (N, in_channels, H, W) -> per-pixel logits (N, num_classes, H, W).

    widths: channels of the levels, from full resolution to the bottom; each level below the
    first max-pools by 2, so H and W must be multiples of 2 ** (len(widths) - 1) (8 for the
    default four levels). Train it with ``F.cross_entropy(logits, masks)``, masks int64 (N, H, W).
    background: the probability the head starts at for class 0, the background, the other classes
        sharing the rest. Most pixels are background (about 93% in `coursekit.data.scenes`); a head
        that starts at 1 / num_classes for every class spends its first few hundred steps only
        learning that (the same bias trick as `GridDetector`'s prior).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 11, widths=(8, 16, 32, 64), background: float = 0.9):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        self.num_classes = positive_int("num_classes", num_classes, minimum=2)
        background = probability("background", background)
        if not 0 < background < 1:
            raise ValueError(f"background must be strictly between 0 and 1 (a starting probability), got {background}")
        widths = positive_ints("widths", widths)
        if len(widths) < 2:
            raise ValueError(f"widths needs at least two levels (one to go down to, one to come back), got {widths}")
        self.multiple = 2 ** (len(widths) - 1)
        pairs = list(zip(widths[:-1], widths[1:], strict=True))  # (upper, lower) width of neighbouring levels
        encoder = [double_conv(self.in_channels, widths[0])]
        for upper, lower in pairs:  # (N, upper, h, w) -> (N, lower, h/2, w/2)
            encoder.append(nn.Sequential(nn.MaxPool2d(2), double_conv(upper, lower)))
        self.encoder = nn.ModuleList(encoder)
        self.decoder = nn.ModuleList(Up(lower, upper) for upper, lower in reversed(pairs))  # bottom first
        self.head = nn.Conv2d(widths[0], self.num_classes, kernel_size=1)
        # softmax of the bias: `background` for class 0, the rest shared equally by the others
        nn.init.constant_(self.head.bias, math.log((1 - background) / (self.num_classes - 1)))
        nn.init.constant_(self.head.bias[0], math.log(background))

    def forward(self, x):
        check_images(x, "UNet", self.in_channels)
        check_multiple(x, self.multiple, f"UNet halves the map {len(self.encoder) - 1} times")
        skips = []
        for level in self.encoder:
            x = level(x)
            skips.append(x)
        x = skips.pop()  # the bottom: (N, widths[-1], H / multiple, W / multiple)
        for up in self.decoder:
            x = up(x, skips.pop())  # one level up: twice the size, the skip of that size concatenated
        return self.head(x)  # (N, num_classes, H, W)
