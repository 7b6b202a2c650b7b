"""Exercises of the ResNet notebook: counting what residual, bottleneck and dense blocks hold."""
from . import exercise


@exercise("resnet.block_parameters",
          hint="Two 3x3 convolutions without bias (in x out x 3 x 3 each) plus two BatchNorms "
               "(a scale and a shift per channel). An identity shortcut has no parameters.")
def _block_parameters():
    from ..models import ResidualBlock, count_parameters

    return count_parameters(ResidualBlock(64, 64))


@exercise("resnet.projection_parameters",
          hint="The projection is a 1x1 convolution (in x out weights, no bias) followed by a BatchNorm "
               "with two parameters per output channel.")
def _projection_parameters():
    from ..models import ResidualBlock, count_parameters

    return count_parameters(ResidualBlock(64, 128, stride=2).shortcut)


@exercise("resnet.bottleneck_parameters",
          hint="1x1 from 256 down to 64, 3x3 from 64 to 64, 1x1 from 64 up to 256 (no biases), plus "
               "a BatchNorm (2 per channel) after each of the three.")
def _bottleneck_parameters():
    from ..models import Bottleneck, count_parameters

    return count_parameters(Bottleneck(256, 64))


@exercise("resnet.stage3_shape",
          hint="The ImageNet stem divides 224 by 4; every later stage halves the size once more, and a "
               "bottleneck stage outputs 4 x its width (widths 64, 128, 256, 512). Answer (C, H, W).")
def _stage3_shape():
    import torch

    from ..models import ResNet

    model = ResNet.resnet50().eval()
    with torch.no_grad():
        x = model.stem(torch.zeros(1, 3, 224, 224))
        for stage in list(model.stages)[:3]:
            x = stage(x)
    return tuple(x.shape[1:])


@exercise("resnet.small_depth",
          hint="Each basic block has two convolutions; count them over all stages, then add the stem "
               "convolution and the final linear layer.")
def _small_depth():
    from ..models import ResNet

    return ResNet("basic", (7, 7, 7), (16, 32, 64), "small", 1, 10).depth


@exercise("resnet.dense_channels",
          hint="A dense block keeps its input and appends growth_rate new maps per layer.")
def _dense_channels():
    import torch

    from ..models import DenseBlock

    return DenseBlock(24, growth_rate=12, num_layers=6)(torch.zeros(1, 24, 4, 4)).shape[1]
