"""Exercises of notebook 12 (architectures after VGG): counting what 1x1 reductions, Inception blocks,
depthwise-separable convolutions, inverted residuals and squeeze-and-excitation cost.

Every answer is one the notebook does not print: other block sizes, the 5x5 branch instead of the
3x3 one, a 64 x 64 input instead of 28 x 28.
"""

from . import exercise


@exercise(
    "architectures.inception_parameters",
    hint="Add up the four branches. A convolution followed by BatchNorm has no bias: in x out x k x k "
    "weights, plus 2 parameters (scale and shift) per output channel for its BatchNorm. The max-pool "
    "has none.",
)
def _inception_parameters():
    from ..models import Inception, count_parameters

    return count_parameters(Inception(128, 32, 48, 64, 8, 16, 16, large_kernel=5))


@exercise(
    "architectures.reduction_saving_3a",
    hint="Count multiply-adds as (input channels x k x k) per output value, times the output values "
    "(channels x 28 x 28). Do it for the direct 5x5 convolution, then for the 1x1 reduction plus the "
    "5x5 on the reduced map, and subtract.",
)
def _reduction_saving_3a():
    from torch import nn

    from ..models import count_flops

    direct = nn.Conv2d(192, 32, 5, padding=2, bias=False)
    reduced = nn.Sequential(nn.Conv2d(192, 16, 1, bias=False), nn.Conv2d(16, 32, 5, padding=2, bias=False))
    return (count_flops(direct, (192, 28, 28)) - count_flops(reduced, (192, 28, 28))) // 2  # FLOPs -> multiply-adds


@exercise(
    "architectures.separable_ratio_5x5",
    hint="Per output position, a standard convolution does c_in x c_out x k^2 multiply-adds; the "
    "separable one c_in x k^2 (depthwise) plus c_in x c_out (pointwise). Divide, and simplify.",
    tol=1e-4,
)
def _separable_ratio_5x5():
    from torch import nn

    from ..models import count_flops
    from ..models.mobilenet import depthwise_conv

    standard = nn.Conv2d(128, 128, 5, padding=2, bias=False)
    separable = nn.Sequential(depthwise_conv(128, 5), nn.Conv2d(128, 128, 1, bias=False))
    return count_flops(separable, (128, 14, 14)) / count_flops(standard, (128, 14, 14))


@exercise(
    "architectures.inverted_residual_parameters",
    hint="Three convolutions without bias, each followed by a BatchNorm (2 per channel): a 1x1 from "
    "in to t x in channels, a depthwise 3x3 (one 3x3 kernel per channel), a 1x1 from t x in to out.",
)
def _inverted_residual_parameters():
    from ..models import InvertedResidual, count_parameters

    return count_parameters(InvertedResidual(40, 40, stride=1, expansion=6))


@exercise(
    "architectures.se_parameters",
    hint="Two fully connected layers with biases: C -> C/r and C/r -> C. The pooling, the ReLU, the "
    "sigmoid and the multiplication have no parameters.",
)
def _se_parameters():
    from ..models import SEBlock, count_parameters

    return count_parameters(SEBlock(256, reduction=16))


@exercise(
    "architectures.nin_class_maps_64",
    hint="Follow the height and width: each NiN block keeps them ('same' padding), each 3x3 max-pool "
    "with stride 2 and padding 1 maps n to floor((n + 2 - 3) / 2) + 1. The head's 1x1 convolution "
    "makes one map per class. Answer (classes, H, W).",
)
def _nin_class_maps_64():
    import torch

    from ..models import NiN

    model = NiN.small(16).eval()
    with torch.no_grad():
        maps = model.head[0](model.features(torch.zeros(1, 1, 64, 64)))  # before global average pooling
    return tuple(maps.shape[1:])
