"""Network in Network (Lin, Chen & Yan 2013): 1x1 convolutions, and a head without fully connected layers.

A 1x1 convolution with C_in inputs and C_out outputs is a fully connected layer C_in -> C_out
applied at every pixel on its own: the same (C_out, C_in) weight matrix, shared over all positions.
NiN follows each ordinary convolution with two of them, so each position passes through a small
multilayer perceptron ("mlpconv")::

    nin_block   k x k conv -> ReLU -> 1x1 conv -> ReLU -> 1x1 conv -> ReLU      (BatchNorm optional)

Its classifier has no fully connected layer either: a 1x1 convolution makes one map per class,
and global average pooling turns each map into that class's score::

    head        1x1 conv (C -> num_classes) -> global average pool -> (N, num_classes)

That head has C * num_classes + num_classes parameters whatever the size of the map, and since
nothing in the network depends on H and W the same weights run on an image of any size (big enough
to survive the poolings).
"""

from __future__ import annotations

from torch import nn

from ._args import check_images, positive_int, positive_ints, probability
from .blocks import conv_bn_relu


def nin_block(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, batch_norm: bool = False
) -> nn.Sequential:
    """k x k conv -> ReLU -> 1x1 conv -> ReLU -> 1x1 conv -> ReLU, each conv optionally with BatchNorm.

    (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)) ("same" padding).
    """
    return nn.Sequential(
        *conv_bn_relu(in_channels, out_channels, kernel_size, stride, batch_norm=batch_norm),
        *conv_bn_relu(out_channels, out_channels, 1, batch_norm=batch_norm),  # a per-pixel linear layer + ReLU
        *conv_bn_relu(out_channels, out_channels, 1, batch_norm=batch_norm),
    )


def gap_head(in_channels: int, num_classes: int) -> nn.Sequential:
    """NiN's classifier: 1x1 conv to one map per class -> global average pool -> flatten.

    (N, in_channels, H, W) -> (N, num_classes), for any H and W; in_channels * num_classes +
    num_classes parameters.
    """
    return nn.Sequential(
        nn.Conv2d(positive_int("in_channels", in_channels), positive_int("num_classes", num_classes), 1),
        nn.AdaptiveAvgPool2d(1),  # (N, num_classes, 1, 1): each class map averaged to one score
        nn.Flatten(),  # (N, num_classes)
    )


class NiN(nn.Module):
    """NiN blocks with a 3x3/2 max-pool after all but the last, then the 1x1-conv + global-average head.

    widths:        output channels of each NiN block
    kernel_sizes:  the first convolution's kernel in each block (default 3 everywhere)
    batch_norm:    BatchNorm after every convolution (not in the 2013 paper; it lets NiN train with
                   the same recipe as the other networks of the course)
    dropout:       dropout before the head (the paper used 0.5 between blocks)

    (N, in_channels, H, W) -> (N, num_classes). With three blocks a 28 x 28 image meets them at
    28 x 28, 14 x 14 and 7 x 7; a larger image simply gives larger maps, averaged away at the end.
    """

    def __init__(
        self,
        widths=(32, 64, 128),
        num_classes: int = 10,
        in_channels: int = 1,
        kernel_sizes=None,
        batch_norm: bool = True,
        dropout: float = 0.0,
    ):
        super().__init__()
        widths = positive_ints("widths", widths)
        kernel_sizes = positive_ints("kernel_sizes", kernel_sizes) if kernel_sizes is not None else (3,) * len(widths)
        if len(kernel_sizes) != len(widths):
            raise ValueError(f"kernel_sizes needs one entry per block, got {kernel_sizes} for widths {widths}")
        in_channels, num_classes = positive_int("in_channels", in_channels), positive_int("num_classes", num_classes)
        probability("dropout", dropout)
        self.config = dict(
            widths=widths,
            num_classes=num_classes,
            in_channels=in_channels,
            kernel_sizes=kernel_sizes,
            batch_norm=batch_norm,
            dropout=dropout,
        )
        layers, channels = [], in_channels
        for i, (width, k) in enumerate(zip(widths, kernel_sizes, strict=True)):
            if i > 0:
                layers.append(nn.MaxPool2d(3, stride=2, padding=1))  # halves H and W: 28 -> 14 -> 7
            layers.append(nin_block(channels, width, k, batch_norm=batch_norm))
            channels = width
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = gap_head(channels, num_classes)

    def forward(self, x):
        check_images(x, "NiN", self.config["in_channels"])
        x = self.features(x)  # (N, widths[-1], H / 2^(blocks-1), W / 2^(blocks-1))
        return self.head(self.dropout(x))  # (N, num_classes)

    @classmethod
    def small(cls, width: int = 16, num_classes: int = 10, in_channels: int = 1) -> NiN:
        """Three BatchNorm NiN blocks of 2, 4 and 8 times `width` channels for (N, 1, 28, 28) images.

        Width 16: 138,090 parameters, 1,290 of them in the head; width 18: 174,358.
        """
        w = positive_int("width", width)
        return cls((2 * w, 4 * w, 8 * w), num_classes, in_channels, batch_norm=True)
