"""A grid detector in the spirit of YOLO (Redmon, Divvala, Girshick & Farhadi 2016), small enough for a CPU.

YOLO's idea: detection as *one* regression. A fully convolutional network turns the image into a
grid of cells -- here every cell sees an 8 x 8 patch of a 96 x 96 image -- and each cell predicts,
in one forward pass, whether an object's centre lies in it, where the box is, and what it is::

    (N, C, H, W) --stages: conv stride 2 + conv, three times--> (N, 64, H/8, W/8)
                 --context: two 3x3 convs--> --head: 1x1 conv--> (N, 5 + K, H/8, W/8)

    channel 0        objectness logit
    channels 1, 2    tx, ty: the centre is at ((col, row) + sigmoid(t)) * stride
    channels 3, 4    tw, th: the box is stride * exp(t) wide and high
    channels 5..     K class logits

`coursekit.boxes.decode` turns this map into boxes, `coursekit.boxes.encode_targets` turns boxes
into the map the network should output, and `coursekit.losses.detection_loss` compares the two.
YOLO v1 predicts two boxes per cell and regresses sqrt(w); one box per cell and log(w) (as in
YOLO v2 and later) is enough for digits that rarely share a cell.
"""

from __future__ import annotations

import math

from torch import nn

from ._args import check_images, check_multiple, positive_int, positive_ints, probability
from .blocks import conv_bn_relu

OUTPUTS_PER_BOX = 5  # objectness, tx, ty, tw, th -- then the class logits


def downsampling_stage(in_channels: int, out_channels: int) -> nn.Sequential:
    """A stride-2 3x3 conv-BN-ReLU, then a 3x3 conv-BN-ReLU: (N, C_in, H, W) -> (N, C_out, H/2, W/2)."""
    return nn.Sequential(
        *conv_bn_relu(in_channels, out_channels, 3, stride=2, batch_norm=True),
        *conv_bn_relu(out_channels, out_channels, 3, batch_norm=True),
    )


class GridDetector(nn.Module):
    """A fully convolutional one-box-per-cell detector: (N, in_channels, H, W) -> (N, 5 + K, H/s, W/s).

    widths: channels of each stage; every stage halves H and W (a stride-2 3x3 conv-BN-ReLU, then a
        3x3 conv-BN-ReLU), so the grid's stride is s = 2 ** len(widths) (8 for three stages).
    context: extra 3x3 conv-BN-ReLU layers at the grid's resolution; they widen the receptive
        field (75 pixels for the defaults) so that one cell sees the whole of an object around it.
    prior: the objectness probability the head starts at. Few cells hold an object (about 2 in
        144), so starting near that rate instead of 0.5 keeps the empty cells' loss from swamping
        the first steps (the bias trick of Lin et al. 2017).
    H and W must be multiples of s. ``model.stride`` is s, ``model.num_classes`` K.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        widths=(16, 32, 64),
        context: int = 2,
        prior: float = 0.02,
    ):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        self.num_classes = positive_int("num_classes", num_classes)
        widths = positive_ints("widths", widths)
        context = positive_int("context", context, minimum=0)
        prior = probability("prior", prior)
        if not 0 < prior < 1:
            raise ValueError(f"prior must be strictly between 0 and 1 (a starting probability), got {prior}")
        self.stride = 2 ** len(widths)
        stages, channels = [], self.in_channels
        for width in widths:
            stages.append(downsampling_stage(channels, width))
            channels = width
        self.stages = nn.Sequential(*stages)
        layers = []
        for _ in range(context):  # (N, channels, H/s, W/s), same shape
            layers += conv_bn_relu(channels, channels, 3, batch_norm=True)
        self.context = nn.Sequential(*layers)
        self.head = nn.Conv2d(channels, OUTPUTS_PER_BOX + self.num_classes, kernel_size=1)
        nn.init.zeros_(self.head.bias)
        nn.init.constant_(self.head.bias[0], math.log(prior / (1 - prior)))  # sigmoid(bias) = prior

    def forward(self, x):
        check_images(x, "GridDetector", self.in_channels)
        check_multiple(x, self.stride, f"GridDetector's grid has a stride of {self.stride} pixels")
        return self.head(self.context(self.stages(x)))  # (N, 5 + K, H/s, W/s)
