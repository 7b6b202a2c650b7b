"""VGG (Simonyan & Zisserman 2015): a network described by a list of blocks.

A VGG *block* is a few 3x3 convolutions with padding 1 (they keep the height and width), each
followed by a ReLU, and then a 2x2 max pooling with stride 2 (it halves them). The whole network is
written down as a configuration, one ``(number of convolutions, output channels)`` pair per block::

    VGG16 = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]     # 13 convolutions + 3 FC = 16

For a 3 x 224 x 224 image the five blocks give 64 x 112 x 112, 128 x 56 x 56, 256 x 28 x 28,
512 x 14 x 14 and 512 x 7 x 7; an adaptive average pooling fixes the map at 7 x 7 and three fully
connected layers (4096, 4096, num_classes, with ReLU and dropout after the first two) classify.
With the defaults and `VGG16` this is exactly torchvision's ``vgg16()``: 138,357,544 parameters.

For 28 x 28 images take fewer, narrower blocks, e.g. ``[(2, 32), (2, 64), (2, 128)]`` -> 128 x 3 x 3,
with ``pooled=3`` and a smaller ``hidden``. ``batch_norm=True`` puts a BatchNorm2d between each
convolution and its ReLU, a modern addition not in the 2014 paper. (Like torchvision's ``vgg16_bn``,
except that the convolutions before a BatchNorm have no bias: the BatchNorm's shift replaces it.)

Why only 3x3 kernels: two stacked 3x3 convolutions see a 5x5 patch of their input and three see
7x7 (`receptive_fields` computes this), with fewer weights than one 5x5 or 7x7 kernel and a ReLU
between them.
"""

from __future__ import annotations

from torch import nn

from ._args import check_images, check_module, choose, positive_int, probability
from .blocks import conv_bn_relu

#: The configurations of the paper's networks A (VGG11), B (VGG13), D (VGG16) and E (VGG19).
CONFIGS = {
    "vgg11": [(1, 64), (1, 128), (2, 256), (2, 512), (2, 512)],
    "vgg13": [(2, 64), (2, 128), (2, 256), (2, 512), (2, 512)],
    "vgg16": [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)],
    "vgg19": [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)],
}
VGG16 = CONFIGS["vgg16"]


def vgg_block(num_convs: int, in_channels: int, out_channels: int, batch_norm: bool = False) -> nn.Sequential:
    """`num_convs` x [3x3 conv (padding 1), (BatchNorm2d), ReLU], then 2x2 max pooling, stride 2.

    (N, in_channels, H, W) -> (N, out_channels, H // 2, W // 2).
    """
    num_convs = positive_int("num_convs", num_convs)
    layers = []
    for i in range(num_convs):
        layers += conv_bn_relu(
            in_channels if i == 0 else out_channels, out_channels, 3, padding=1, batch_norm=batch_norm
        )
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def _check_config(config) -> list[tuple[int, int]]:
    """`config` as a list of (convs, channels) int pairs, both >= 1; ValueError naming the bad entry."""
    expected = "a non-empty list of (convs >= 1, channels >= 1) pairs such as [(2, 64), (2, 128)]"
    if isinstance(config, (str, bytes)) or not hasattr(config, "__iter__"):
        raise ValueError(f"config must be {expected} or a name from CONFIGS, got {config!r}")
    config = list(config)
    if not config:
        raise ValueError(f"config must be {expected}, got []")
    pairs = []
    for i, entry in enumerate(config):
        if isinstance(entry, (str, bytes)) or not hasattr(entry, "__len__") or len(entry) != 2:
            raise ValueError(f"config must be {expected}; entry {i} is {entry!r}")
        try:
            pairs.append((positive_int("convs", entry[0]), positive_int("channels", entry[1])))
        except ValueError as error:
            raise ValueError(f"config must be {expected}; entry {i} {tuple(entry)!r}: {error}") from None
    return pairs


class VGG(nn.Module):
    """A VGG network from `config` = [(convs, channels), ...] for (N, in_channels, H, W) images.

    Returns (N, num_classes) logits. `features` is one Sequential of blocks (block i halves H and W),
    `avgpool` fixes the map at `pooled` x `pooled`, and `classifier` is
    Linear(channels * pooled^2, hidden) - ReLU - Dropout - Linear(hidden, hidden) - ReLU - Dropout -
    Linear(hidden, num_classes).

    `config` may also be a name from `CONFIGS` ("vgg11" ... "vgg19"; unknown names raise
    `coursekit.errors.UnknownName`); sizes must be integers >= 1 (ValueError otherwise).
    """

    def __init__(
        self,
        config=VGG16,
        num_classes: int = 1000,
        in_channels: int = 3,
        hidden: int = 4096,
        pooled: int = 7,
        dropout: float = 0.5,
        batch_norm: bool = False,
    ):
        super().__init__()
        if isinstance(config, str):
            config = choose("VGG configuration", config, CONFIGS)
        config = _check_config(config)
        for name, value in [
            ("num_classes", num_classes),
            ("in_channels", in_channels),
            ("hidden", hidden),
            ("pooled", pooled),
        ]:
            positive_int(name, value)
        probability("dropout", dropout)
        self.config = dict(
            config=config,
            num_classes=num_classes,
            in_channels=in_channels,
            hidden=hidden,
            pooled=pooled,
            dropout=dropout,
            batch_norm=batch_norm,
        )
        blocks, channels = [], in_channels
        for num_convs, out_channels in config:
            blocks.append(vgg_block(num_convs, channels, out_channels, batch_norm))
            channels = out_channels
        self.features = nn.Sequential(*blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = nn.Sequential(
            nn.Linear(channels * pooled * pooled, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        check_images(x, "VGG", self.config["in_channels"])
        x = self.features(x)  # (N, C_last, H / 2^blocks, W / 2^blocks)
        x = self.avgpool(x)  # (N, C_last, pooled, pooled)
        x = x.flatten(1)  # (N, C_last * pooled^2)
        return self.classifier(x)  # (N, num_classes)


def receptive_fields(module: nn.Module) -> list[tuple[str, str, int, int]]:
    """How far each layer of `module` sees back into the input image, computed from kernels and strides.

    Walks the leaf layers in registration order (a plain chain such as ``model.features``) and keeps
    two numbers: the receptive field ``r`` (side, in input pixels, of the patch one output position
    depends on) and the jump ``j`` (how many input pixels apart two neighbouring outputs are). A layer
    with kernel k and stride s updates them as ``r += (k - 1) * j`` and then ``j *= s``; layers
    without a kernel (ReLU, BatchNorm, Dropout) change neither. Padding moves the field but does
    not change its size. Returns one (name, layer type, r, j) row per layer that has a kernel.
    """
    check_module(module, "receptive_fields")
    rows, r, j = [], 1, 1
    for name, layer in module.named_modules():
        if list(layer.children()) or not hasattr(layer, "kernel_size"):
            continue
        k = layer.kernel_size[0] if isinstance(layer.kernel_size, tuple) else layer.kernel_size
        s = layer.stride[0] if isinstance(layer.stride, tuple) else layer.stride
        dilation = getattr(layer, "dilation", 1)
        dilation = dilation[0] if isinstance(dilation, tuple) else dilation
        r += (k - 1) * dilation * j
        j *= s
        rows.append((name, type(layer).__name__, r, j))
    return rows
