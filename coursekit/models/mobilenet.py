"""Depthwise-separable convolutions (Xception, Chollet 2017; MobileNet, Howard et al. 2017) and
MobileNetV2's inverted residual block (Sandler et al. 2018).

A standard k x k convolution mixes space and channels at once: C_out kernels of size C_in x k x k.
A depthwise-separable convolution does the two jobs one after the other::

    depthwise   k x k convolution of each channel on its own (groups = C_in):   C_in * k^2 weights
    pointwise   1 x 1 convolution that mixes the channels:                      C_in * C_out weights

so it costs (C_in k^2 + C_in C_out) / (C_in C_out k^2) = 1/C_out + 1/k^2 of the standard convolution's
weights and multiply-adds -- about 1/9 for a 3x3 kernel and many channels. The depthwise part is an
ordinary grouped convolution, ``nn.Conv2d(C, C, k, groups=C)``.

MobileNetV2 turns the ResNet bottleneck inside out: a 1x1 convolution *expands* the channels by a
factor t (6), the depthwise 3x3 works on the wide map, and a 1x1 convolution *projects* back to few
channels with no ReLU after it (a "linear bottleneck": a ReLU on few channels would destroy
information). The shortcut joins the narrow ends when stride is 1 and the channels match.
Activations are ReLU6 = min(max(x, 0), 6).

``MobileNetV2()`` with the defaults is torchvision's ``mobilenet_v2()`` layout (width multiplier 1):
3,504,872 parameters for 1000 classes. ``MobileNetV2.small()`` is a narrow one for 1 x 28 x 28 images.
"""

from __future__ import annotations

from torch import nn

from ._args import check_images, positive_int, positive_ints, probability
from .blocks import conv1x1, init_he

#: MobileNetV2's body, Table 2 of the paper: (expansion t, output channels c, blocks n, first stride s).
MOBILENET_V2 = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def depthwise_conv(channels: int, kernel_size: int = 3, stride: int = 1) -> nn.Conv2d:
    """A k x k convolution of each channel on its own (groups = channels), "same" padding, no bias.

    (N, channels, H, W) -> (N, channels, ceil(H / stride), ceil(W / stride)); channels * k^2 weights.
    """
    channels = positive_int("channels", channels)
    kernel_size, stride = positive_int("kernel_size", kernel_size), positive_int("stride", stride)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (so that 'same' padding keeps H and W), got {kernel_size}")
    return nn.Conv2d(channels, channels, kernel_size, stride, padding=kernel_size // 2, groups=channels, bias=False)


class DepthwiseSeparable(nn.Module):
    """Depthwise k x k -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU (MobileNet's unit).

    (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    Weights: in_channels * k^2 (depthwise) + in_channels * out_channels (pointwise), plus 2 per
    channel for each BatchNorm.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        out_channels = positive_int("out_channels", out_channels)
        self.depthwise = depthwise_conv(in_channels, kernel_size, stride)  # (N, in, H/s, W/s): space only
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = conv1x1(in_channels, out_channels)  # (N, out, H/s, W/s): channels only
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        check_images(x, "DepthwiseSeparable", self.in_channels)
        x = self.relu(self.bn1(self.depthwise(x)))
        return self.relu(self.bn2(self.pointwise(x)))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: expand (1x1, t x) -> depthwise 3x3 (stride) -> project (1x1, linear) [+ x].

    (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)). With expansion
    t = 1 there is no expanding convolution. BatchNorm after every convolution, ReLU6 after the first
    two only. The shortcut (identity) exists when stride == 1 and in_channels == out_channels
    (``self.use_shortcut``).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, expansion: int = 6):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        out_channels, stride = positive_int("out_channels", out_channels), positive_int("stride", stride)
        expansion = positive_int("expansion", expansion)
        hidden = in_channels * expansion
        self.expand = (
            nn.Sequential(conv1x1(in_channels, hidden), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True))
            if expansion != 1
            else nn.Identity()
        )  # (N, t * in, H, W)
        self.depthwise = nn.Sequential(
            depthwise_conv(hidden, 3, stride), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)
        )  # (N, t * in, H/s, W/s)
        self.project = nn.Sequential(conv1x1(hidden, out_channels), nn.BatchNorm2d(out_channels))  # no ReLU
        self.use_shortcut = stride == 1 and in_channels == out_channels

    def forward(self, x):
        check_images(x, "InvertedResidual", self.in_channels)
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.use_shortcut else out


def _check_settings(settings) -> tuple[tuple[int, int, int, int], ...]:
    """`settings` as a tuple of (t, c, n, s) int rows, all >= 1; ValueError naming the bad row."""
    if isinstance(settings, (str, bytes)) or not hasattr(settings, "__iter__"):
        raise ValueError(f"settings must be a non-empty list of (t, c, n, s) rows, got {settings!r}")
    rows = []
    for i, row in enumerate(settings):
        row = positive_ints(f"settings[{i}]", row)
        if len(row) != 4:
            raise ValueError(f"settings[{i}] must be (expansion t, channels c, blocks n, stride s), got {row}")
        rows.append(row)
    if not rows:
        raise ValueError("settings must be a non-empty list of (t, c, n, s) rows, got an empty list")
    return tuple(rows)


class MobileNetV2(nn.Module):
    """Stem conv -> inverted residual blocks -> 1x1 conv to `last_channels` -> global average pool,
    dropout, linear: (N, in_channels, H, W) -> (N, num_classes).

    settings:       (t, c, n, s) rows: n blocks of output width c and expansion t, the first with stride s
    stem_channels:  output of the 3x3 stem convolution; stem_stride 2 (ImageNet) or 1 (28 x 28)
    last_channels:  width of the final 1x1 convolution before pooling (1280 in the paper)

    Defaults: torchvision's ``mobilenet_v2()``, 224 -> 7 x 7 before pooling, 3,504,872 parameters.
    """

    def __init__(
        self,
        settings=MOBILENET_V2,
        num_classes: int = 1000,
        in_channels: int = 3,
        stem_channels: int = 32,
        stem_stride: int = 2,
        last_channels: int = 1280,
        dropout: float = 0.2,
    ):
        super().__init__()
        settings = _check_settings(settings)
        in_channels, num_classes = positive_int("in_channels", in_channels), positive_int("num_classes", num_classes)
        stem_channels, stem_stride = (
            positive_int("stem_channels", stem_channels),
            positive_int("stem_stride", stem_stride),
        )
        last_channels = positive_int("last_channels", last_channels)
        probability("dropout", dropout)
        self.config = dict(
            settings=settings,
            num_classes=num_classes,
            in_channels=in_channels,
            stem_channels=stem_channels,
            stem_stride=stem_stride,
            last_channels=last_channels,
            dropout=dropout,
        )
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, stem_stride, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels),
            nn.ReLU6(inplace=True),
        )
        blocks, channels = [], stem_channels
        for t, c, n, s in settings:
            for j in range(n):
                blocks.append(InvertedResidual(channels, c, s if j == 0 else 1, t))  # only the first block strides
                channels = c
        self.blocks = nn.Sequential(*blocks)
        self.last = nn.Sequential(
            conv1x1(channels, last_channels), nn.BatchNorm2d(last_channels), nn.ReLU6(inplace=True)
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),  # (N, last_channels, 1, 1)
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(last_channels, num_classes),
        )
        init_he(self)

    def forward(self, x):
        check_images(x, "MobileNetV2", self.config["in_channels"])
        x = self.stem(x)  # (N, stem_channels, H/2, W/2) (or H, W with stem_stride 1)
        x = self.blocks(x)  # (N, c_last_row, H/32, W/32) for the default settings
        x = self.last(x)  # (N, last_channels, ., .)
        return self.head(x)  # (N, num_classes)

    @classmethod
    def small(cls, width: int = 16, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.2) -> MobileNetV2:
        """A narrow MobileNetV2 for (N, 1, 28, 28) images; `width` sets every channel count.

        A stride-1 3x3 stem with `width` maps, then inverted residual blocks (expansion 4) at 28 x 28
        (width), 14 x 14 (1.5 width, 2 blocks), 7 x 7 (2 width, 3 blocks; then 4 width, 2 blocks),
        a 1x1 convolution to 8 width channels, global average pooling and one linear layer.
        Width 16: 96,554 parameters; width 24: 206,650.
        """
        w = positive_int("width", width)
        settings = (
            (1, w, 1, 1),  # 28 x 28
            (4, w * 3 // 2, 2, 2),  # 14 x 14
            (4, 2 * w, 3, 2),  # 7 x 7
            (4, 4 * w, 2, 1),
        )
        return cls(
            settings, num_classes, in_channels, stem_channels=w, stem_stride=1, last_channels=8 * w, dropout=dropout
        )
