"""Exercises of the ResNet notebook: counting what residual, bottleneck and dense blocks hold.

Every answer asked here is one the notebook does *not* print: other block sizes than the ones it
shows, ResNet-18's projections taken together, a 300x300 input instead of 224x224.
"""

from . import exercise


@exercise(
    "resnet.block128_parameters",
    hint="Two 3x3 convolutions without bias (in x out x 3 x 3 weights each) and two BatchNorms "
    "(a scale and a shift per channel). An identity shortcut has no parameters.",
)
def _block128_parameters():
    from ..models import ResidualBlock, count_parameters

    return count_parameters(ResidualBlock(128, 128))


@exercise(
    "resnet.resnet18_projections",
    hint="A block needs a projection only where its output shape differs from its input's. Find "
    "those blocks in ResNet-18 (which stages start with a stride or a new width?) and count, "
    "for each, a 1x1 convolution without bias plus a BatchNorm with two parameters per channel.",
)
def _resnet18_projections():
    from ..models import ResidualBlock, ResNet, count_parameters

    return sum(
        count_parameters(block.shortcut)
        for block in ResNet.resnet18().modules()
        if isinstance(block, ResidualBlock) and block.shortcut is not None
    )


@exercise(
    "resnet.bottleneck1024_parameters",
    hint="Bottleneck(in, width): a 1x1 from in down to width, a 3x3 from width to width, a 1x1 from "
    "width up to 4 x width (no biases), each followed by a BatchNorm (2 per channel). Here the "
    "input already has 4 x width channels, so the shortcut is the identity.",
)
def _bottleneck1024_parameters():
    from ..models import Bottleneck, count_parameters

    return count_parameters(Bottleneck(1024, 256))


@exercise(
    "resnet.stage3_shape_300",
    hint="Apply floor((n + 2p - k) / s) + 1 to every layer that shrinks the map: the stem's 7x7 "
    "convolution (stride 2, padding 3) and 3x3 max-pool (stride 2, padding 1), then the "
    "stride-2 3x3 convolution (padding 1) that opens each stage after the first. A bottleneck "
    "stage outputs 4 x its width (widths 64, 128, 256, 512). Answer (C, H, W).",
)
def _stage3_shape_300():
    import torch

    from ..models import ResNet

    model = ResNet.resnet50().eval()
    with torch.no_grad():
        x = model.stem(torch.zeros(1, 3, 300, 300))
        for stage in list(model.stages)[:3]:
            x = stage(x)
    return tuple(x.shape[1:])


@exercise(
    "resnet.small_depth",
    hint="Each basic block has two convolutions; count them over all stages, then add the stem "
    "convolution and the final linear layer.",
)
def _small_depth():
    from ..models import ResNet

    return ResNet("basic", (7, 7, 7), (16, 32, 64), "small", 1, 10).depth


@exercise("resnet.dense_channels", hint="A dense block keeps its input and appends growth_rate new maps per layer.")
def _dense_channels():
    import torch

    from ..models import DenseBlock

    return DenseBlock(24, growth_rate=12, num_layers=6)(torch.zeros(1, 24, 4, 4)).shape[1]
