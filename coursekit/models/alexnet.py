"""AlexNet (Krizhevsky, Sutskever & Hinton 2012), as torchvision builds it, plus a small-image stem.

Five convolutions, three max-poolings and three fully connected layers. With the default
arguments this is exactly torchvision's ``alexnet()`` (61,100,840 parameters for 1000 classes),
which is the single-tower version of the network: the 2012 paper split conv2, conv4 and conv5 into
two groups, one per GPU, and used 96/256/384/384/256 channels (about 61.0 million parameters).
Shapes for a 3 x 224 x 224 image (``stem="imagenet"``)::

    conv1   64 x 55 x 55   11x11, stride 4, padding 2      pool1   64 x 27 x 27   3x3, stride 2
    conv2  192 x 27 x 27   5x5, padding 2                  pool2  192 x 13 x 13   3x3, stride 2
    conv3  384 x 13 x 13   3x3, padding 1
    conv4  256 x 13 x 13   3x3, padding 1
    conv5  256 x 13 x 13   3x3, padding 1                  pool5  256 x  6 x  6   3x3, stride 2
    avgpool 256 x 6 x 6    (adaptive: other input sizes still give 6 x 6)
    fc6 4096 -> fc7 4096 -> fc8 num_classes                dropout before fc6 and fc7

``stem="small"`` keeps the same five-convolution, three-FC plan for 28 x 28 images (Fashion-MNIST):
conv1 becomes a 3x3 convolution with stride 1 and the three poolings become 2x2 with stride 2, so a
1 x 28 x 28 image goes 28 -> 14 -> 7 -> 3 and the adaptive pooling is 3 x 3 (``width`` scales the
channels, ``hidden`` the fully connected layers)::

    conv1  C1 x 28 x 28  -> pool 14     conv2  C2 x 14 x 14  -> pool 7
    conv3  C3 x 7 x 7    conv4  C4 x 7 x 7    conv5  C5 x 7 x 7  -> pool 3
    fc6 hidden -> fc7 hidden -> fc8 num_classes

``batch_norm=True`` puts a BatchNorm2d after every convolution (before its ReLU). That is a modern
addition (Ioffe & Szegedy 2015), not part of the 2012 network; it lets a small model train fast
with a large learning rate.
"""

from __future__ import annotations

from torch import nn

from ._args import check_images, choose, positive_int, positive_number, probability
from .blocks import conv_bn_relu, scaled  # defined here once: `from .alexnet import scaled` still works

#: Output channels of conv1..conv5 in torchvision's (single-tower) AlexNet.
CHANNELS = (64, 192, 384, 256, 256)

#: Per stem: (conv1 kernel, conv1 stride, conv1 padding, pooling kernel, pooling stride, adaptive size)
STEMS = {
    "imagenet": (11, 4, 2, 3, 2, 6),
    "small": (3, 1, 1, 2, 2, 3),
}


class AlexNet(nn.Module):
    """AlexNet for (N, in_channels, H, W) images, returning (N, num_classes) logits.

    stem: "imagenet" (11x11/4 conv1, 3x3/2 pools, for 224 px) or "small" (3x3/1 conv1, 2x2/2 pools,
    for 28 px); width: multiplier on the conv channels (64, 192, 384, 256, 256); hidden: size of fc6
    and fc7 (4096 in the paper); dropout: probability before fc6 and fc7; batch_norm: BatchNorm2d
    after each convolution (a modern addition).

    Sizes must be integers >= 1 and `width` a number > 0 (ValueError otherwise); an unknown `stem`
    raises `coursekit.errors.UnknownName`.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        width: float = 1.0,
        hidden: int = 4096,
        stem: str = "imagenet",
        dropout: float = 0.5,
        batch_norm: bool = False,
    ):
        super().__init__()
        k1, s1, p1, pool_k, pool_s, pooled = choose("stem", stem, STEMS)
        positive_number("width", width)
        positive_int("num_classes", num_classes)
        positive_int("in_channels", in_channels)
        positive_int("hidden", hidden)
        probability("dropout", dropout)
        self.config = dict(
            num_classes=num_classes,
            in_channels=in_channels,
            width=width,
            hidden=hidden,
            stem=stem,
            dropout=dropout,
            batch_norm=batch_norm,
        )
        c1, c2, c3, c4, c5 = scaled(CHANNELS, width)
        bn = batch_norm
        self.features = nn.Sequential(
            *conv_bn_relu(in_channels, c1, k1, stride=s1, padding=p1, batch_norm=bn),  # conv1
            nn.MaxPool2d(pool_k, stride=pool_s),  # pool1
            *conv_bn_relu(c1, c2, 5, padding=2, batch_norm=bn),  # conv2
            nn.MaxPool2d(pool_k, stride=pool_s),  # pool2
            *conv_bn_relu(c2, c3, 3, padding=1, batch_norm=bn),  # conv3
            *conv_bn_relu(c3, c4, 3, padding=1, batch_norm=bn),  # conv4
            *conv_bn_relu(c4, c5, 3, padding=1, batch_norm=bn),  # conv5
            nn.MaxPool2d(pool_k, stride=pool_s),  # pool5
        )
        self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(c5 * pooled * pooled, hidden),  # fc6
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),  # fc7
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),  # fc8
        )

    @classmethod
    def small(
        cls,
        num_classes: int = 10,
        in_channels: int = 1,
        width: float = 0.25,
        hidden: int = 512,
        dropout: float = 0.5,
        batch_norm: bool = True,
    ) -> AlexNet:
        """The AlexNet plan for 28 x 28 images: small stem, `width` x the channels, BatchNorm on."""
        return cls(
            num_classes=num_classes,
            in_channels=in_channels,
            width=width,
            hidden=hidden,
            stem="small",
            dropout=dropout,
            batch_norm=batch_norm,
        )

    def forward(self, x):
        check_images(x, "AlexNet", self.config["in_channels"])
        x = self.features(x)  # (N, C5, pooled', pooled')
        x = self.avgpool(x)  # (N, C5, pooled, pooled)
        x = x.flatten(1)  # (N, C5 * pooled * pooled)
        return self.classifier(x)  # (N, num_classes)
