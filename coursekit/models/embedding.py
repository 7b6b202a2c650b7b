"""An embedding network: a small CNN that maps an image to a point on the unit sphere.

A classifier ends in one output per class, so it can only name the classes it was trained on. An
embedding network ends in a vector instead, trained so that images of the same kind land close
together and different kinds far apart (FaceNet, Schroff et al. 2015; Siamese networks, Hadsell et
al. 2006). Whether two images show the same thing is then a distance compared with a threshold, and
that works for classes the network never saw: a face of a new person, a garment of a new kind.

The layers, for a 28 x 28 image and the defaults (``width=32``, ``dim=32``)::

    input     1 x 28 x 28
    stage 1  32 x 14 x 14   3x3 conv, BN, ReLU, 2x2 max pool
    stage 2  64 x  7 x  7   3x3 conv, BN, ReLU, 2x2 max pool
    stage 3 128 x  7 x  7   3x3 conv, BN, ReLU
    pool    128             global average pooling (any input size works)
    project  32             linear layer
    output   32             divided by its length: ||f(x)|| = 1

The last step puts every embedding on the unit sphere, so distances lie in [0, 2] and a margin in a
metric loss means the same thing for every image (no network can push points apart by simply
making all of them longer).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from ._args import check_images, positive_int
from .blocks import conv_bn_relu


class EmbeddingNet(nn.Module):
    """(N, in_channels, H, W) images -> (N, dim) embeddings of length 1 (float32, L2-normalised).

    Three conv-BN-ReLU stages of `width`, 2 `width` and 4 `width` channels (max pooling after the
    first two), global average pooling, a linear projection to `dim` numbers, and L2 normalisation.
    Made for 28 x 28 Fashion-MNIST / MNIST images; any H, W >= 4 work. Sizes must be integers >= 1.
    """

    def __init__(self, dim: int = 32, width: int = 32, in_channels: int = 1):
        super().__init__()
        dim = positive_int("dim", dim)
        width = positive_int("width", width)
        in_channels = positive_int("in_channels", in_channels)
        self.config = dict(dim=dim, width=width, in_channels=in_channels)
        self.features = nn.Sequential(
            *conv_bn_relu(in_channels, width, 3, batch_norm=True),  # stage 1: width @ H x W
            nn.MaxPool2d(2),  # width @ H/2 x W/2
            *conv_bn_relu(width, 2 * width, 3, batch_norm=True),  # stage 2
            nn.MaxPool2d(2),  # 2 width @ H/4 x W/4
            *conv_bn_relu(2 * width, 4 * width, 3, batch_norm=True),  # stage 3: 4 width @ H/4 x W/4
            nn.AdaptiveAvgPool2d(1),  # 4 width @ 1 x 1
            nn.Flatten(),  # (N, 4 width)
        )
        self.project = nn.Linear(4 * width, dim)  # (N, dim)

    def unnormalised(self, x):
        """The projection before normalisation: (N, in_channels, H, W) -> (N, dim)."""
        check_images(x, "EmbeddingNet", self.config["in_channels"])
        return self.project(self.features(x))

    def forward(self, x):
        """(N, in_channels, H, W) -> (N, dim), every row of Euclidean length 1."""
        return F.normalize(self.unnormalised(x), dim=1)
