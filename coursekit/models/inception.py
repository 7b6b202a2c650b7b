"""GoogLeNet and its Inception block (Szegedy et al. 2015, "Going deeper with convolutions").

An Inception block looks at its input through four parallel branches and stacks their outputs
along the channels::

    branch1      1x1 conv                                   -> c1 maps
    branch3      1x1 conv (reduce to c3_reduce) -> 3x3 conv -> c3 maps
    branch5      1x1 conv (reduce to c5_reduce) -> 5x5 conv -> c5 maps
    branch_pool  3x3 max-pool (stride 1)        -> 1x1 conv -> pool_proj maps
    output       concatenation: c1 + c3 + c5 + pool_proj channels, same height and width

Every branch keeps H and W ("same" padding, stride 1), so the maps line up. The 1x1 convolutions
in front of the 3x3 and 5x5 ones shrink the channels first: that is what makes a wide block
affordable. Each convolution is followed by BatchNorm and ReLU (``batch_norm=True``, as in
torchvision; the 2014 network had convolution biases and no BatchNorm).

`GoogLeNet` stacks blocks in three stages with a 3x3/2 max-pool between them and ends with global
average pooling, dropout and ONE linear layer. With the default ``GOOGLENET_STAGES`` and the
"imagenet" stem a 3 x 224 x 224 image becomes::

    stem       192 x 28 x 28    7x7/2 conv, 3x3/2 pool, 1x1 conv, 3x3 conv, 3x3/2 pool
    stage 3    480 x 28 x 28    blocks 3a, 3b
    stage 4    832 x 14 x 14    blocks 4a ... 4e        (after a 3x3/2 max-pool)
    stage 5   1024 x  7 x  7    blocks 5a, 5b           (after a 3x3/2 max-pool)
    head      1024 -> num_classes: global average pool, dropout, linear

``aux_logits=True`` adds the two auxiliary classifiers used only in training (after 4a and 4d):
5x5/3 average pool (here adaptive, to 4 x 4), 1x1 conv to 128 maps, a fully connected layer of
1024, dropout 0.7, a linear layer to the classes. ``model(x, with_aux=True)`` returns
(logits, aux1, aux2); ``model(x)`` returns the logits only.

torchvision's ``googlenet()`` uses a 3x3 kernel where the paper's table says 5x5 (``large_kernel=3``
here reproduces it exactly: 6,624,904 parameters, 13,004,888 with the auxiliary classifiers);
``large_kernel=5``, the default, is the paper's block. ``GoogLeNet.small()`` is a narrow version for
1 x 28 x 28 images.
"""

from __future__ import annotations

import torch
from torch import nn

from ._args import check_images, choose, positive_int, positive_ints, probability
from .blocks import conv_bn_relu, init_he

#: The nine Inception blocks of Table 1 of the paper, one row per block:
#: (c1, c3_reduce, c3, c5_reduce, c5, pool_proj). Stages 3, 4 and 5; max-pool between stages.
GOOGLENET_STAGES = (
    (
        (64, 96, 128, 16, 32, 32),  # 3a -> 256
        (128, 128, 192, 32, 96, 64),  # 3b -> 480
    ),
    (
        (192, 96, 208, 16, 48, 64),  # 4a -> 512
        (160, 112, 224, 24, 64, 64),  # 4b -> 512
        (128, 128, 256, 24, 64, 64),  # 4c -> 512
        (112, 144, 288, 32, 64, 64),  # 4d -> 528
        (256, 160, 320, 32, 128, 128),  # 4e -> 832
    ),
    (
        (256, 160, 320, 32, 128, 128),  # 5a -> 832
        (384, 192, 384, 48, 128, 128),  # 5b -> 1024
    ),
)

#: Where the auxiliary classifiers read from: (stage index, block index) -> after 4a and after 4d.
AUX_AFTER = ((1, 0), (1, 3))

STEMS = ("imagenet", "small")


class Inception(nn.Module):
    """Four parallel branches, concatenated: (N, in_channels, H, W) -> (N, c1 + c3 + c5 + pool_proj, H, W).

    branch1: 1x1 -> c1; branch3: 1x1 -> c3_reduce, 3x3 -> c3; branch5: 1x1 -> c5_reduce,
    `large_kernel` x `large_kernel` -> c5; branch_pool: 3x3 max-pool (stride 1, padding 1), 1x1 -> pool_proj.
    Every convolution is followed by (BatchNorm and) ReLU. `large_kernel` must be odd (same padding).
    """

    def __init__(
        self,
        in_channels: int,
        c1: int,
        c3_reduce: int,
        c3: int,
        c5_reduce: int,
        c5: int,
        pool_proj: int,
        large_kernel: int = 5,
        batch_norm: bool = True,
    ):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        for name, value in [
            ("c1", c1),
            ("c3_reduce", c3_reduce),
            ("c3", c3),
            ("c5_reduce", c5_reduce),
            ("c5", c5),
            ("pool_proj", pool_proj),
        ]:
            positive_int(name, value)
        if positive_int("large_kernel", large_kernel) % 2 == 0:
            raise ValueError(f"large_kernel must be odd (so that 'same' padding keeps H and W), got {large_kernel}")
        bn = batch_norm
        self.branch1 = nn.Sequential(*conv_bn_relu(in_channels, c1, 1, batch_norm=bn))
        self.branch3 = nn.Sequential(
            *conv_bn_relu(in_channels, c3_reduce, 1, batch_norm=bn),  # (N, c3_reduce, H, W): the cheap reduction
            *conv_bn_relu(c3_reduce, c3, 3, batch_norm=bn),  # (N, c3, H, W)
        )
        self.branch5 = nn.Sequential(
            *conv_bn_relu(in_channels, c5_reduce, 1, batch_norm=bn),
            *conv_bn_relu(c5_reduce, c5, large_kernel, batch_norm=bn),  # (N, c5, H, W)
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),  # (N, in_channels, H, W)
            *conv_bn_relu(in_channels, pool_proj, 1, batch_norm=bn),  # (N, pool_proj, H, W)
        )
        self.out_channels = c1 + c3 + c5 + pool_proj

    def forward(self, x):
        check_images(x, "Inception", self.in_channels)
        branches = [self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)]
        return torch.cat(branches, dim=1)  # (N, c1 + c3 + c5 + pool_proj, H, W)


class InceptionAux(nn.Module):
    """An auxiliary classifier: (N, in_channels, H, W) -> (N, num_classes), used in training only.

    Average pool to 4 x 4 -> 1x1 conv to 128 maps (+ BatchNorm) + ReLU -> flatten (2048) -> linear 1024
    + ReLU -> dropout -> linear to the classes.
    """

    def __init__(self, in_channels: int, num_classes: int, batch_norm: bool = True, dropout: float = 0.7):
        super().__init__()
        self.in_channels = positive_int("in_channels", in_channels)
        positive_int("num_classes", num_classes)
        self.pool = nn.AdaptiveAvgPool2d(4)  # (N, in_channels, 4, 4); the paper: 5x5 pool, stride 3, on 14x14
        self.conv = nn.Sequential(*conv_bn_relu(in_channels, 128, 1, batch_norm=batch_norm))  # (N, 128, 4, 4)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(probability("dropout", dropout))
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        check_images(x, "InceptionAux", self.in_channels)
        x = self.conv(self.pool(x)).flatten(1)  # (N, 2048)
        return self.fc2(self.dropout(self.relu(self.fc1(x))))  # (N, num_classes)


def _check_stages(stages) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """`stages` as a tuple of stages, each a non-empty tuple of 6-int block rows; ValueError otherwise."""
    expected = "a non-empty list of stages, each a non-empty list of (c1, c3_reduce, c3, c5_reduce, c5, pool_proj)"
    if isinstance(stages, (str, bytes)) or not hasattr(stages, "__iter__"):
        raise ValueError(f"stages must be {expected}, got {stages!r}")
    checked = []
    for s, stage in enumerate(stages):
        if isinstance(stage, (str, bytes)) or not hasattr(stage, "__iter__") or not len(stage := tuple(stage)):
            raise ValueError(f"stages must be {expected}; stage {s} is {stage!r}")
        rows = []
        for b, row in enumerate(stage):
            row = positive_ints(f"stages[{s}][{b}]", row)
            if len(row) != 6:
                raise ValueError(f"stages must be {expected}; stages[{s}][{b}] has {len(row)} numbers: {row}")
            rows.append(row)
        checked.append(tuple(rows))
    if not checked:
        raise ValueError(f"stages must be {expected}, got an empty list")
    return tuple(checked)


class GoogLeNet(nn.Module):
    """Stem -> stages of `Inception` blocks (3x3/2 max-pool between stages) -> global average pool,
    dropout, linear: (N, in_channels, H, W) -> (N, num_classes).

    stages:        per stage, one (c1, c3_reduce, c3, c5_reduce, c5, pool_proj) row per block;
                   default `GOOGLENET_STAGES` (the paper's 3a ... 5b)
    stem:          "imagenet" (7x7/2 conv, 3x3/2 max-pool, 1x1 conv 64, 3x3 conv 192, 3x3/2 max-pool:
                   224 -> 28) or "small" (one 3x3 conv with `stem_channels` maps, H and W kept)
    aux_logits:    add the two auxiliary classifiers (after blocks 4a and 4d; needs a second stage of
                   at least four blocks, as in the default stages)
    large_kernel:  the kernel of the "5x5" branch: 5 as in the paper, 3 as in torchvision
    batch_norm:    BatchNorm after every convolution (and no convolution bias)

    Max-pools round up (ceil_mode), as the original Caffe network did: 112 -> 56 -> 28 -> 14 -> 7,
    and 28 -> 14 -> 7 for the small stem. Bad sizes raise ValueError; an unknown stem `UnknownName`.
    """

    def __init__(
        self,
        stages=GOOGLENET_STAGES,
        stem: str = "imagenet",
        in_channels: int = 3,
        num_classes: int = 1000,
        aux_logits: bool = False,
        large_kernel: int = 5,
        batch_norm: bool = True,
        dropout: float = 0.4,
        stem_channels: int = 64,
    ):
        super().__init__()
        choose("stem", stem, dict.fromkeys(STEMS))
        stages = _check_stages(stages)
        in_channels, num_classes = positive_int("in_channels", in_channels), positive_int("num_classes", num_classes)
        stem_channels = positive_int("stem_channels", stem_channels)
        probability("dropout", dropout)
        if aux_logits and (len(stages) < 2 or len(stages[1]) < 4):
            raise ValueError(
                "aux_logits=True needs a second stage of at least four blocks (the auxiliary classifiers "
                f"read after blocks 4a and 4d); got stages with {[len(s) for s in stages]} blocks"
            )
        self.config = dict(
            stages=stages,
            stem=stem,
            in_channels=in_channels,
            num_classes=num_classes,
            aux_logits=aux_logits,
            large_kernel=large_kernel,
            batch_norm=batch_norm,
            dropout=dropout,
            stem_channels=stem_channels,
        )
        bn = batch_norm
        if stem == "imagenet":  # (N, C, 224, 224) -> (N, 192, 28, 28)
            self.stem = nn.Sequential(
                *conv_bn_relu(in_channels, 64, 7, stride=2, batch_norm=bn),  # 112 x 112
                nn.MaxPool2d(3, stride=2, ceil_mode=True),  # 56 x 56
                *conv_bn_relu(64, 64, 1, batch_norm=bn),
                *conv_bn_relu(64, 192, 3, batch_norm=bn),
                nn.MaxPool2d(3, stride=2, ceil_mode=True),  # 28 x 28
            )
            channels = 192
        else:  # "small": (N, C, 28, 28) -> (N, stem_channels, 28, 28)
            self.stem = nn.Sequential(*conv_bn_relu(in_channels, stem_channels, 3, batch_norm=bn))
            channels = stem_channels

        self.stages = nn.ModuleList()
        aux_inputs = []
        for s, stage in enumerate(stages):
            blocks = []
            for b, row in enumerate(stage):
                blocks.append(Inception(channels, *row, large_kernel=large_kernel, batch_norm=bn))
                channels = blocks[-1].out_channels
                if (s, b) in AUX_AFTER:
                    aux_inputs.append(channels)
            self.stages.append(nn.Sequential(*blocks))
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # between stages: halves H and W
        self.aux = nn.ModuleList(InceptionAux(c, num_classes, bn) for c in aux_inputs) if aux_logits else None
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),  # (N, channels, 1, 1): global average pooling
            nn.Flatten(),  # (N, channels)
            nn.Dropout(dropout),
            nn.Linear(channels, num_classes),  # the one fully connected layer of the main path
        )
        init_he(self)

    def forward(self, x, with_aux: bool = False):
        """Logits (N, num_classes); with ``with_aux=True`` the tuple (logits, aux1, aux2)."""
        check_images(x, "GoogLeNet", self.config["in_channels"])
        if with_aux and self.aux is None:
            raise ValueError("with_aux=True needs a GoogLeNet built with aux_logits=True")
        x, aux_outputs = self.stem(x), []
        for s, stage in enumerate(self.stages):
            if s > 0:
                x = self.pool(x)  # 3x3/2, rounding up: 28 -> 14 -> 7
            for b, block in enumerate(stage):
                x = block(x)
                if with_aux and (s, b) in AUX_AFTER:
                    aux_outputs.append(self.aux[len(aux_outputs)](x))
        logits = self.head(x)  # (N, num_classes)
        return (logits, *aux_outputs) if with_aux else logits

    @classmethod
    def small(
        cls,
        width: int = 12,
        num_classes: int = 10,
        in_channels: int = 1,
        large_kernel: int = 5,
        dropout: float = 0.2,
    ) -> GoogLeNet:
        """A narrow GoogLeNet for (N, 1, 28, 28) images; `width` sets every channel count.

        A 3x3 stem with 2*width maps at 28 x 28, then one Inception block at 28 x 28, two at 14 x 14
        and two at 7 x 7, whose outputs have 4, 8, 8, 12 and 16 times `width` channels; global average
        pooling and one linear layer. Each block spends about half of its output on the 3x3 branch,
        as the paper's blocks do. Width 12: 149,338 parameters; width 16: 263,834.
        """
        w = positive_int("width", width)
        half = max(1, w // 2)
        stages = (
            ((w, w, 2 * w, half, half, half),),  # -> 4w at 28 x 28 (w + 2w + w/2 + w/2)
            (
                (2 * w, 2 * w, 4 * w, half, w, w),  # -> 8w at 14 x 14
                (2 * w, 2 * w, 4 * w, half, w, w),
            ),
            (
                (3 * w, 3 * w, 6 * w, w, 2 * w, w),  # -> 12w at 7 x 7
                (4 * w, 4 * w, 8 * w, w, 2 * w, 2 * w),  # -> 16w
            ),
        )
        return cls(
            stages,
            stem="small",
            in_channels=in_channels,
            num_classes=num_classes,
            large_kernel=large_kernel,
            dropout=dropout,
            stem_channels=2 * w,
        )
