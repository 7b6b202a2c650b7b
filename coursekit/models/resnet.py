"""Residual networks (He, Zhang, Ren & Sun 2016), readable top to bottom.

A residual block computes a small correction F(x) and adds its input back::

    y = relu( F(x) + x )                 same shape in and out: the identity shortcut
    y = relu( F(x) + W_s x )             shape changes: a 1x1 convolution (with BatchNorm) projects x

Two kinds of F, both with BatchNorm after every convolution:

    ResidualBlock (ResNet-18/34)   3x3 conv -> BN -> ReLU -> 3x3 conv -> BN
    Bottleneck    (ResNet-50/...)  1x1 conv (narrow) -> 3x3 conv -> 1x1 conv (widen by 4), BN + ReLU between

`ResNet` stacks stages of blocks; each stage after the first halves the height and width (stride 2
in its first block) and usually doubles the channels. Two stems:

    "imagenet"  7x7 conv stride 2 -> BN -> ReLU -> 3x3 max-pool stride 2    224x224 -> 56x56
    "small"     3x3 conv stride 1 -> BN -> ReLU                              28x28 stays 28x28

``ResNet.resnet18()`` and ``ResNet.resnet50()`` build torchvision's exact layouts (11,689,512 and
25,557,032 parameters for 1000 classes); ``ResNet.small(depth, width)`` builds the 6n+2-layer
networks of the paper's CIFAR experiments for 28x28 images. With ``residual=False`` every block
drops its shortcut and the network becomes the *plain* network of the same depth that the paper
compares against.
"""

from __future__ import annotations

from torch import nn

from ._args import check_images, choose, positive_int, positive_ints
from .blocks import conv1x1, conv3x3, init_he  # defined here once: `from .resnet import conv3x3` still works


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """The shortcut W_s x used when a block changes the shape: 1x1 conv (stride) + BatchNorm."""
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


def shortcut(in_channels: int, out_channels: int, stride: int, residual: bool) -> nn.Sequential | None:
    """A block's shortcut module: a projection exactly when the shape changes, else None.

    None means the identity in a residual block, and no shortcut at all in a plain one.
    """
    changes_shape = stride != 1 or in_channels != out_channels
    return projection(in_channels, out_channels, stride) if residual and changes_shape else None


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut: (N, in_channels, H, W) -> (N, channels, H/stride, W/stride).

    The shortcut is the identity when the shape is unchanged (stride 1, in_channels == channels),
    and a projection (1x1 conv + BN) otherwise. ``residual=False`` removes the shortcut: the block
    is then two plain conv-BN-ReLU layers (``self.shortcut`` is None and nothing is added).
    """

    expansion = 1  # output channels = expansion * channels

    def __init__(self, in_channels: int, channels: int, stride: int = 1, residual: bool = True):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        channels, stride = positive_int("channels", channels), positive_int("stride", stride)
        out_channels = channels * self.expansion
        self.residual = residual
        self.conv1 = conv3x3(in_channels, channels, stride)  # (N, channels, H/s, W/s)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, out_channels)  # (N, channels, H/s, W/s)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut(in_channels, out_channels, stride, residual)

    def forward(self, x):
        check_images(x, "ResidualBlock", self.in_channels)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))  # F(x)
        if self.residual:
            out = out + (x if self.shortcut is None else self.shortcut(x))  # F(x) + x  or  F(x) + W_s x
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 narrow, 3x3, 1x1 widen: (N, in_channels, H, W) -> (N, 4*channels, H/stride, W/stride).

    The 3x3 convolution works on `channels` maps only, which is what makes ResNet-50 barely more
    expensive than ResNet-34 while being 16 layers deeper. The stride sits on the 3x3 convolution
    (torchvision's "ResNet v1.5"). Shortcut rules as in `ResidualBlock`.
    """

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1, residual: bool = True):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        channels, stride = positive_int("channels", channels), positive_int("stride", stride)
        out_channels = channels * self.expansion
        self.residual = residual
        self.conv1 = conv1x1(in_channels, channels)  # (N, channels, H, W)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels, stride)  # (N, channels, H/s, W/s)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = conv1x1(channels, out_channels)  # (N, 4*channels, H/s, W/s)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut(in_channels, out_channels, stride, residual)

    def forward(self, x):
        check_images(x, "Bottleneck", self.in_channels)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))  # F(x)
        if self.residual:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return self.relu(out)


BLOCKS = {"basic": ResidualBlock, "bottleneck": Bottleneck}
STEMS = ("imagenet", "small")


class ResNet(nn.Module):
    """A residual network: stem -> stages of blocks -> global average pool -> linear classifier.

    block:   "basic" (`ResidualBlock`) or "bottleneck" (`Bottleneck`)
    layers:  blocks per stage, e.g. (2, 2, 2, 2) for ResNet-18, (3, 4, 6, 3) for ResNet-50
    widths:  channels per stage (a bottleneck stage outputs 4x this many)
    stem:    "imagenet" (7x7/2 conv + 3x3/2 max-pool, 4x smaller maps) or "small" (3x3/1 conv)
    residual: False builds the plain network (no shortcuts anywhere), for comparison
    strides: the stride of each stage's first block; default 1 for the first stage, 2 after it

    Input (N, in_channels, H, W) -> logits (N, num_classes). Stage k (k >= 1) halves H and W.
    Sizes must be integers >= 1 (ValueError otherwise); an unknown `block` or `stem` raises
    `coursekit.errors.UnknownName`.
    """

    def __init__(
        self,
        block: str = "basic",
        layers=(2, 2, 2, 2),
        widths=(64, 128, 256, 512),
        stem: str = "imagenet",
        in_channels: int = 3,
        num_classes: int = 1000,
        residual: bool = True,
        stem_channels: int | None = None,
        strides=None,
    ):
        super().__init__()
        Block = choose("block", block, BLOCKS)
        choose("stem", stem, dict.fromkeys(STEMS))
        layers, widths = positive_ints("layers", layers), positive_ints("widths", widths)
        if len(layers) != len(widths):
            raise ValueError(f"layers and widths need one entry per stage, got {layers} and {widths}")
        strides = positive_ints("strides", strides) if strides is not None else (1,) + (2,) * (len(layers) - 1)
        if len(strides) != len(layers):
            raise ValueError(f"strides needs one entry per stage, got {strides} for {len(layers)} stages")
        in_channels, num_classes = positive_int("in_channels", in_channels), positive_int("num_classes", num_classes)
        if stem_channels is not None:
            stem_channels = positive_int("stem_channels", stem_channels)
        self.config = dict(
            block=block,
            layers=tuple(layers),
            widths=tuple(widths),
            stem=stem,
            in_channels=in_channels,
            num_classes=num_classes,
            residual=residual,
            stem_channels=stem_channels,
            strides=strides,
        )
        stem_channels = stem_channels or widths[0]
        if stem == "imagenet":  # (N, C, 224, 224) -> (N, 64, 56, 56)
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, stem_channels, kernel_size=7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(stem_channels),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            )
        elif stem == "small":  # (N, C, 28, 28) -> (N, stem_channels, 28, 28)
            self.stem = nn.Sequential(
                conv3x3(in_channels, stem_channels), nn.BatchNorm2d(stem_channels), nn.ReLU(inplace=True)
            )

        stages, channels = [], stem_channels
        for count, width, first_stride in zip(layers, widths, strides, strict=True):
            blocks = []
            for j in range(count):
                stride = first_stride if j == 0 else 1  # only a stage's first block subsamples
                blocks.append(Block(channels, width, stride, residual))
                channels = width * Block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)  # (N, channels, 1, 1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels, num_classes)
        init_he(self)

    @property
    def depth(self) -> int:
        """Weighted layers on the main path: convolutions outside the shortcuts, plus the classifier."""
        shortcut_convs = sum(1 for name, m in self.named_modules() if isinstance(m, nn.Conv2d) and ".shortcut" in name)
        convs = sum(1 for m in self.modules() if isinstance(m, nn.Conv2d))
        return convs - shortcut_convs + 1

    def forward(self, x):
        check_images(x, "ResNet", self.config["in_channels"])
        return self.fc(self.flatten(self.pool(self.stages(self.stem(x)))))

    # --- the named networks -------------------------------------------------------------------

    @classmethod
    def resnet18(cls, num_classes: int = 1000, in_channels: int = 3, residual: bool = True) -> ResNet:
        """ResNet-18: basic blocks (2, 2, 2, 2), ImageNet stem; 11,689,512 parameters for 1000 classes."""
        return cls("basic", (2, 2, 2, 2), (64, 128, 256, 512), "imagenet", in_channels, num_classes, residual)

    @classmethod
    def resnet50(cls, num_classes: int = 1000, in_channels: int = 3, residual: bool = True) -> ResNet:
        """ResNet-50: bottlenecks (3, 4, 6, 3), ImageNet stem; 25,557,032 parameters for 1000 classes."""
        return cls("bottleneck", (3, 4, 6, 3), (64, 128, 256, 512), "imagenet", in_channels, num_classes, residual)

    @classmethod
    def fashion(cls, num_classes: int = 10, in_channels: int = 1, residual: bool = True) -> ResNet:
        """The 28x28 network notebook 11 trains on Fashion-MNIST within minutes on two CPU cores.

        A 16-channel 3x3 stem at full resolution, then three stages of one basic block each,
        widths 32/64/128, every stage halving the map: 28 -> 14 -> 7 -> 4 (depth 8).
        """
        return cls(
            "basic",
            (1, 1, 1),
            (32, 64, 128),
            "small",
            in_channels,
            num_classes,
            residual,
            stem_channels=16,
            strides=(2, 2, 2),
        )

    @classmethod
    def small(
        cls,
        depth: int = 20,
        width: int = 16,
        residual: bool = True,
        in_channels: int = 1,
        num_classes: int = 10,
        stages: int = 3,
    ) -> ResNet:
        """The paper's small-image family: `stages` stages of n basic blocks, depth = 2*stages*n + 2.

        Widths are width, 2*width, 4*width, ...; the stem is a 3x3 convolution at full resolution,
        so a (N, 1, 28, 28) input meets stages at 28x28, 14x14 and 7x7. Depth 8, 20, 32, 56 with
        three stages are n = 1, 3, 5, 9.
        """
        depth, width = positive_int("depth", depth), positive_int("width", width)
        stages = positive_int("stages", stages)
        n, rest = divmod(depth - 2, 2 * stages)
        if rest or n < 1:
            raise ValueError(f"depth must be 2*{stages}*n + 2 for some n >= 1, got {depth}")
        widths = tuple(width * 2**i for i in range(stages))
        return cls("basic", (n,) * stages, widths, "small", in_channels, num_classes, residual)
