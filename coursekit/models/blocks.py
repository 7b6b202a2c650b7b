"""The small building blocks the course's networks share: convolutions of fixed shape and conv-BN-ReLU.

- `conv3x3`, `conv1x1`: the two convolutions ResNet is made of (no bias: a BatchNorm follows them);
- `conv_bn_relu`: [Conv2d, (BatchNorm2d), ReLU], the unit AlexNet and VGG repeat;
- `scaled`: a channel plan multiplied by a width factor (AlexNet.small, narrower networks).

Shapes: a convolution with kernel k, stride s and padding p maps (N, C_in, H, W) to
(N, C_out, (H + 2p - k) // s + 1, (W + 2p - k) // s + 1); with ``padding = k // 2`` and an odd k
("same" padding) that is (N, C_out, ceil(H / s), ceil(W / s)).
"""

from __future__ import annotations

from torch import nn

from ._args import positive_int, positive_number


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding 1, no bias (the BatchNorm after it has one).

    (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    """
    in_channels = positive_int("in_channels", in_channels)
    out_channels = positive_int("out_channels", out_channels)
    stride = positive_int("stride", stride)
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias: mixes channels, and with stride 2 also subsamples.

    (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    """
    in_channels = positive_int("in_channels", in_channels)
    out_channels = positive_int("out_channels", out_channels)
    stride = positive_int("stride", stride)
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


def conv_bn_relu(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int | None = None,
    batch_norm: bool = False,
) -> list[nn.Module]:
    """[Conv2d, (BatchNorm2d), ReLU] as a list, to splice into an ``nn.Sequential(*layers)``.

    ``padding=None`` means ``kernel_size // 2`` ("same" for odd kernels: H and W only shrink by the
    stride). With BatchNorm the convolution's bias is redundant (BatchNorm's shift replaces it) and
    dropped. (N, in_channels, H, W) -> (N, out_channels, (H + 2p - k) // stride + 1, ...).
    """
    in_channels = positive_int("in_channels", in_channels)
    out_channels = positive_int("out_channels", out_channels)
    kernel_size = positive_int("kernel_size", kernel_size)
    stride = positive_int("stride", stride)
    padding = kernel_size // 2 if padding is None else positive_int("padding", padding, minimum=0)
    layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return layers


def scaled(channels, width: float) -> tuple[int, ...]:
    """`channels` multiplied by `width`, rounded, and never below 1: ``scaled((64, 192), 0.25) == (16, 48)``."""
    width = positive_number("width", width)
    return tuple(max(1, int(round(c * width))) for c in channels)


def init_he(model: nn.Module) -> None:
    """He initialisation for every convolution of `model` (normal, variance 2 / fan_out, as torchvision's
    ResNet, GoogLeNet and MobileNet), and every BatchNorm set to the identity (scale 1, shift 0). In place."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
