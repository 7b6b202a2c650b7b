"""Bad inputs to coursekit.models, coursekit.viz and coursekit.widgets: each gets a clear error.

Every case is a call a careless student (or a typo) could make. The test asserts the exception
*type* and that the message names the problem -- the argument, the value and what is expected --
so an unhelpful message (a matrix-shape error from deep inside PyTorch, a KeyError with a bare
name) fails. Models are built with their validation only: nothing large is allocated, nothing is
trained.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from coursekit import viz, widgets  # noqa: E402
from coursekit.errors import UnknownName  # noqa: E402
from coursekit.models import (  # noqa: E402
    VGG,
    AlexNet,
    Bottleneck,
    DenseBlock,
    DenseLayer,
    LeNet5,
    ResidualBlock,
    ResNet,
    Transition,
    count_flops,
    count_parameters,
    pretrained,
    replace_head,
    summary,
)
from coursekit.models.blocks import conv1x1, conv3x3, conv_bn_relu, scaled  # noqa: E402
from coursekit.models.vgg import vgg_block  # noqa: E402


def zeros(*shape, dtype=torch.float32):
    return torch.zeros(*shape, dtype=dtype)


def tiny_resnet():
    return ResNet.small(depth=8, width=4)


def set_attribute(obj, name, value):
    setattr(obj, name, value)


# (id, call, exception type, words the message must contain)
MODEL_SIZES = [
    (
        "lenet-activation",
        lambda: LeNet5(activation="gelu"),
        UnknownName,
        ["activation", "'gelu'", "relu, sigmoid, tanh"],
    ),
    ("lenet-pool", lambda: LeNet5(pool="min"), UnknownName, ["pool", "'min'", "avg, max"]),
    ("lenet-in-channels-0", lambda: LeNet5(in_channels=0), ValueError, ["in_channels", ">= 1", "got 0"]),
    ("lenet-classes-negative", lambda: LeNet5(num_classes=-3), ValueError, ["num_classes", "got -3"]),
    ("lenet-classes-float", lambda: LeNet5(num_classes=2.5), ValueError, ["num_classes", "integer", "2.5"]),
    ("lenet-in-channels-bool", lambda: LeNet5(in_channels=True), ValueError, ["in_channels", "True", "bool"]),
    ("alexnet-stem", lambda: AlexNet(stem="tiny"), UnknownName, ["stem", "'tiny'", "imagenet, small"]),
    ("alexnet-width-0", lambda: AlexNet(width=0), ValueError, ["width", "> 0", "got 0"]),
    ("alexnet-width-negative", lambda: AlexNet(width=-0.5), ValueError, ["width", "-0.5"]),
    ("alexnet-width-nan", lambda: AlexNet(width=float("nan")), ValueError, ["width", "finite", "nan"]),
    ("alexnet-width-str", lambda: AlexNet.small(width="wide"), ValueError, ["width", "'wide'"]),
    ("alexnet-hidden-0", lambda: AlexNet(hidden=0), ValueError, ["hidden", "got 0"]),
    ("alexnet-classes-0", lambda: AlexNet(num_classes=0), ValueError, ["num_classes", "got 0"]),
    ("alexnet-in-channels-negative", lambda: AlexNet(in_channels=-1), ValueError, ["in_channels", "got -1"]),
    ("alexnet-dropout", lambda: AlexNet(dropout=1.5), ValueError, ["dropout", "[0, 1]", "1.5"]),
    ("vgg-name", lambda: VGG("vgg12"), UnknownName, ["VGG configuration", "'vgg12'", "vgg11, vgg13, vgg16, vgg19"]),
    ("vgg-empty", lambda: VGG([]), ValueError, ["config", "non-empty", "got []"]),
    ("vgg-zero-convs", lambda: VGG([(0, 64)]), ValueError, ["config", "entry 0", "convs", "got 0"]),
    ("vgg-negative-channels", lambda: VGG([(2, -64)]), ValueError, ["entry 0", "channels", "-64"]),
    ("vgg-float-convs", lambda: VGG([(1.5, 64)]), ValueError, ["convs", "integer", "1.5"]),
    ("vgg-not-pairs", lambda: VGG([64, 128]), ValueError, ["config", "pairs", "entry 0 is 64"]),
    ("vgg-hidden-0", lambda: VGG(hidden=0), ValueError, ["hidden", "got 0"]),
    ("vgg-pooled-0", lambda: VGG(pooled=0), ValueError, ["pooled", "got 0"]),
    ("vgg-block-0", lambda: vgg_block(0, 3, 8), ValueError, ["num_convs", "got 0"]),
    ("resnet-block", lambda: ResNet(block="wide"), UnknownName, ["block", "'wide'", "basic, bottleneck"]),
    ("resnet-stem", lambda: ResNet(stem="tiny"), UnknownName, ["stem", "'tiny'", "imagenet, small"]),
    ("resnet-zero-blocks", lambda: ResNet(layers=(2, 0), widths=(8, 16)), ValueError, ["layers[1]", "got 0"]),
    ("resnet-no-stages", lambda: ResNet(layers=(), widths=()), ValueError, ["layers", "non-empty"]),
    (
        "resnet-stage-mismatch",
        lambda: ResNet(layers=(1, 1), widths=(8,)),
        ValueError,
        ["layers and widths", "one entry per stage"],
    ),
    ("resnet-negative-width", lambda: ResNet(widths=(64, -128, 256, 512)), ValueError, ["widths[1]", "-128"]),
    ("resnet-strides-count", lambda: ResNet(strides=(1, 2)), ValueError, ["strides", "one entry per stage"]),
    ("resnet-stride-0", lambda: ResNet(strides=(1, 0, 2, 2)), ValueError, ["strides[1]", "got 0"]),
    ("resnet-stem-channels-0", lambda: ResNet(stem_channels=0), ValueError, ["stem_channels", "got 0"]),
    ("resnet-in-channels-float", lambda: ResNet(in_channels=3.0), ValueError, ["in_channels", "3.0"]),
    ("resnet-small-depth", lambda: ResNet.small(depth=21), ValueError, ["depth", "2*3*n + 2", "21"]),
    ("resnet-small-depth-0", lambda: ResNet.small(depth=0), ValueError, ["depth", "got 0"]),
    ("resnet-small-width-0", lambda: ResNet.small(width=0), ValueError, ["width", "got 0"]),
    ("resnet-small-stages-0", lambda: ResNet.small(stages=0), ValueError, ["stages", "got 0"]),
    ("residual-block-in-0", lambda: ResidualBlock(0, 8), ValueError, ["in_channels", "got 0"]),
    ("residual-block-stride-0", lambda: ResidualBlock(8, 8, stride=0), ValueError, ["stride", "got 0"]),
    ("bottleneck-channels", lambda: Bottleneck(8, -4), ValueError, ["channels", "-4"]),
    ("dense-growth-0", lambda: DenseBlock(16, growth_rate=0, num_layers=2), ValueError, ["growth_rate", "got 0"]),
    ("dense-layers-0", lambda: DenseBlock(16, 8, num_layers=0), ValueError, ["num_layers", "got 0"]),
    ("dense-bottleneck-0", lambda: DenseLayer(16, 8, bottleneck=0), ValueError, ["bottleneck", "got 0"]),
    ("transition-in-0", lambda: Transition(0, 8), ValueError, ["in_channels", "got 0"]),
    ("conv3x3-out-0", lambda: conv3x3(3, 0), ValueError, ["out_channels", "got 0"]),
    ("conv1x1-stride", lambda: conv1x1(3, 8, stride=-1), ValueError, ["stride", "-1"]),
    ("conv-bn-relu-kernel-0", lambda: conv_bn_relu(3, 8, 0), ValueError, ["kernel_size", "got 0"]),
    ("conv-bn-relu-padding", lambda: conv_bn_relu(3, 8, 3, padding=-1), ValueError, ["padding", ">= 0", "-1"]),
    ("scaled-width-0", lambda: scaled((64,), 0), ValueError, ["width", "> 0"]),
]

FORWARD = [
    ("lenet-32x32", lambda: LeNet5()(zeros(2, 1, 32, 32)), ValueError, ["LeNet5", "(N, 1, 28, 28)", "(2, 1, 32, 32)"]),
    ("lenet-64x64", lambda: LeNet5()(zeros(1, 1, 64, 64)), ValueError, ["(N, 1, 28, 28)", "(1, 1, 64, 64)", "28x28"]),
    ("lenet-no-batch", lambda: LeNet5()(zeros(1, 28, 28)), ValueError, ["(N, 1, 28, 28)", "unsqueeze(0)"]),
    (
        "lenet-rgb",
        lambda: LeNet5()(zeros(2, 3, 28, 28)),
        ValueError,
        ["LeNet5", "1 input channel", "3 channel", "in_channels=3"],
    ),
    (
        "lenet-uint8",
        lambda: LeNet5()(zeros(2, 1, 28, 28, dtype=torch.uint8)),
        TypeError,
        ["floating-point", "uint8", "x.float()"],
    ),
    ("lenet-numpy", lambda: LeNet5()(np.zeros((2, 1, 28, 28), np.float32)), TypeError, ["torch.Tensor", "ndarray"]),
    ("lenet-feature-maps-32", lambda: LeNet5().feature_maps(zeros(1, 1, 32, 32)), ValueError, ["(N, 1, 28, 28)", "32"]),
    (
        "alexnet-channels",
        lambda: AlexNet.small()(zeros(2, 3, 28, 28)),
        ValueError,
        ["AlexNet", "1 input channel", "(2, 3, 28, 28)"],
    ),
    (
        "vgg-channels",
        lambda: VGG([(1, 8)], num_classes=10, in_channels=1, hidden=16, pooled=1)(zeros(2, 3, 8, 8)),
        ValueError,
        ["VGG", "1 input channel", "3 channel"],
    ),
    (
        "resnet-channels",
        lambda: tiny_resnet()(zeros(2, 3, 28, 28)),
        ValueError,
        ["ResNet", "1 input channel", "in_channels=3"],
    ),
    ("resnet-2d-input", lambda: tiny_resnet()(zeros(28, 28)), ValueError, ["ResNet", "(N, 1, H, W)", "(28, 28)"]),
    (
        "residual-block-channels",
        lambda: ResidualBlock(8, 8)(zeros(1, 4, 5, 5)),
        ValueError,
        ["ResidualBlock", "8 input channel", "4 channel"],
    ),
    (
        "bottleneck-forward-channels",
        lambda: Bottleneck(16, 4)(zeros(1, 8, 5, 5)),
        ValueError,
        ["Bottleneck", "16 input channel", "8 channel"],
    ),
    (
        "dense-block-channels",
        lambda: DenseBlock(4, 2, 1)(zeros(1, 3, 5, 5)),
        ValueError,
        ["DenseBlock", "4 input channel", "3 channel"],
    ),
    (
        "dense-layer-channels",
        lambda: DenseLayer(4, 2)(zeros(1, 5, 4, 4)),
        ValueError,
        ["DenseLayer", "4 input channel", "5 channel"],
    ),
    (
        "transition-channels",
        lambda: Transition(4, 2)(zeros(1, 3, 4, 4)),
        ValueError,
        ["Transition", "4 input channel", "3 channel"],
    ),
]

TABLES = [
    ("summary-int", lambda: summary(LeNet5(), 28), ValueError, ["input_size", "(1, 28, 28)", "got 28"]),
    ("summary-zero", lambda: summary(LeNet5(), (1, 0, 28)), ValueError, ["input_size", "got 0"]),
    (
        "summary-wrong-size",
        lambda: summary(LeNet5(), (1, 32, 32)),
        ValueError,
        ["LeNet5 cannot run", "(1, 32, 32)", "28"],
    ),
    ("summary-batch-dimension", lambda: summary(LeNet5(), (1, 1, 28, 28)), ValueError, ["LeNet5", "(1, 1, 1, 28, 28)"]),
    ("summary-not-a-model", lambda: summary("LeNet5", (1, 28, 28)), TypeError, ["nn.Module", "str"]),
    ("flops-empty", lambda: count_flops(LeNet5(), ()), ValueError, ["input_size", "non-empty"]),
    ("flops-float", lambda: count_flops(LeNet5(), (1, 28.0, 28)), ValueError, ["input_size", "28.0"]),
    ("flops-string", lambda: count_flops(LeNet5(), "1x28x28"), ValueError, ["input_size", "'1x28x28'"]),
    ("count-parameters-none", lambda: count_parameters(None), TypeError, ["nn.Module", "NoneType"]),
    (
        "replace-head-no-fc",
        lambda: replace_head(nn.Sequential(nn.Linear(2, 2)), 2),
        TypeError,
        ["model.fc", "no attribute fc"],
    ),
    ("replace-head-classes-0", lambda: replace_head(tiny_resnet(), 0), ValueError, ["num_classes", "got 0"]),
    (
        "pretrained-unknown",
        lambda: pretrained("alexnet-9000"),
        UnknownName,
        ["pretrained model", "'alexnet-9000'", "resnet18"],
    ),
]

VIZ = [
    ("matrix-1d", lambda: viz.show_matrix(np.zeros(3)), ValueError, ["values", "2-D", "(3,)", "values[None]"]),
    ("matrix-3d", lambda: viz.show_matrix(np.zeros((2, 2, 2))), ValueError, ["2-D", "(2, 2, 2)"]),
    ("matrix-empty", lambda: viz.show_matrix(np.zeros((0, 3))), ValueError, ["at least one cell", "(0, 3)"]),
    ("matrix-strings", lambda: viz.show_matrix([["a", "b"]]), ValueError, ["real numbers", "dtype"]),
    ("matrix-ragged", lambda: viz.show_matrix([[1, 2], [3]]), ValueError, ["2-D", "ragged"]),
    ("matrix-limits-equal", lambda: viz.show_matrix(np.eye(2), limits=(1, 1)), ValueError, ["limits", "vmin < vmax"]),
    ("matrix-limits-scalar", lambda: viz.show_matrix(np.eye(2), limits=5), ValueError, ["limits", "pair"]),
    (
        "matrix-cmap",
        lambda: viz.show_matrix(np.eye(2), cmap="redblue"),
        UnknownName,
        ["colour map", "'redblue'", "RdBu_r"],
    ),
    ("matrix-fmt", lambda: viz.show_matrix(np.eye(2), fmt=".2q"), ValueError, ["fmt", "'.2q'"]),
    ("matrix-fmt-type", lambda: viz.show_matrix(np.eye(2), fmt=2), ValueError, ["fmt", "got 2"]),
    ("matrix-annotate", lambda: viz.show_matrix(np.eye(2), annotate="yes"), ValueError, ["annotate", "'all'", "'yes'"]),
    ("matrix-fontsize", lambda: viz.show_matrix(np.eye(2), fontsize=-3), ValueError, ["fontsize", "-3"]),
    ("matrix-ax", lambda: viz.show_matrix(np.eye(2), ax="left"), TypeError, ["ax", "Axes", "str"]),
    ("confusion-not-square", lambda: viz.show_confusion(np.ones((2, 3))), ValueError, ["square", "(2, 3)"]),
    ("confusion-negative", lambda: viz.show_confusion(np.array([[1, -1], [0, 2]])), ValueError, ["counts", "-1"]),
    ("confusion-fraction", lambda: viz.show_confusion(np.array([[1.5, 0], [0, 2]])), ValueError, ["counts", "1.5"]),
    (
        "confusion-names",
        lambda: viz.show_confusion(np.eye(3, dtype=int), class_names=["a", "b"]),
        ValueError,
        ["class_names", "2 names", "3x3"],
    ),
    ("images-empty", lambda: viz.show_images(np.zeros((0, 8, 8))), ValueError, ["images", "empty"]),
    (
        "images-labels",
        lambda: viz.show_images(np.zeros((3, 8, 8)), labels=[0, 1]),
        ValueError,
        ["labels", "2 entries", "3 images"],
    ),
    ("images-ncols", lambda: viz.show_images(np.zeros((3, 8, 8)), ncols=0), ValueError, ["ncols", ">= 1", "0"]),
    (
        "images-class-names",
        lambda: viz.show_images(np.zeros((2, 8, 8)), labels=[0, 5], class_names=["a", "b"]),
        ValueError,
        ["label 5", "class_names", "0..1"],
    ),
    (
        "images-channels",
        lambda: viz.show_images(np.zeros((2, 5, 8, 8))),
        ValueError,
        ["1 or 3 channels", "(2, 5, 8, 8)"],
    ),
    ("history-dict", lambda: viz.plot_history({"loss": [1.0]}), TypeError, ["History", "dict", "train_loss"]),
]

WIDGETS = [
    ("conv-padding-10", lambda: widgets.conv_explorer(padding=10), ValueError, ["padding", "0 to 3", "got 10"]),
    ("conv-stride-negative", lambda: widgets.conv_explorer(stride=-1), ValueError, ["stride", "1 to 3", "got -1"]),
    ("conv-padding-float", lambda: widgets.conv_explorer(padding=0.5), ValueError, ["padding", "integer", "0.5"]),
    ("conv-filter", lambda: widgets.conv_explorer(kernel="blurry"), UnknownName, ["filter", "'blurry'", "sharpen"]),
    ("conv-kernel-5x5", lambda: widgets.conv_explorer(kernel=np.ones((5, 5))), ValueError, ["3×3", "(5, 5)"]),
    ("conv-image-1d", lambda: widgets.conv_explorer(image=np.arange(9)), ValueError, ["image", "2-D", "(9,)"]),
    ("conv-image-nan", lambda: widgets.conv_explorer(image=np.full((4, 4), np.nan)), ValueError, ["image", "finite"]),
    (
        "conv-image-empty",
        lambda: widgets.conv_explorer(image=np.zeros((0, 4))),
        ValueError,
        ["image", "non-empty", "(0, 4)"],
    ),
    (
        "conv-set-padding",
        lambda: set_attribute(widgets.conv_explorer(), "padding", 4),
        ValueError,
        ["padding", "0 to 3", "got 4"],
    ),
    (
        "conv-set-step",
        lambda: set_attribute(widgets.conv_explorer(), "step", 9),
        ValueError,
        ["step", "0 to 8", "got 9"],
    ),
    (
        "conv-set-filter",
        lambda: set_attribute(widgets.conv_explorer(), "filter", 3),
        UnknownName,
        ["filter", "3", "identity"],
    ),
    (
        "conv-set-kernel",
        lambda: set_attribute(widgets.conv_explorer(), "kernel", [1, 2, 3]),
        ValueError,
        ["3×3", "(3,)"],
    ),
    ("padding-stride-p", lambda: widgets.padding_stride_explorer(p=10), ValueError, ["p must", "0 to 3", "got 10"]),
    ("padding-stride-n", lambda: widgets.padding_stride_explorer(n=0), ValueError, ["n must", "1 to 12", "got 0"]),
    ("padding-stride-f", lambda: widgets.padding_stride_explorer(f=8), ValueError, ["f must", "1 to 7", "got 8"]),
    ("padding-stride-s", lambda: widgets.padding_stride_explorer(s=-2), ValueError, ["s must", "1 to 4", "got -2"]),
    (
        "padding-stride-set-s",
        lambda: set_attribute(widgets.padding_stride_explorer(), "s", 5),
        ValueError,
        ["s must", "1 to 4"],
    ),
    (
        "pool-mode",
        lambda: widgets.pool_explorer(mode="median"),
        UnknownName,
        ["pooling mode", "'median'", "avg, max, sum"],
    ),
    ("pool-size-0", lambda: widgets.pool_explorer(size=0), ValueError, ["size", "1 to 5", "got 0"]),
    ("pool-stride-99", lambda: widgets.pool_explorer(stride=99), ValueError, ["stride", "1 to 5", "got 99"]),
    (
        "pool-image-3d",
        lambda: widgets.pool_explorer(image=np.zeros((2, 4, 4))),
        ValueError,
        ["image", "2-D", "(2, 4, 4)"],
    ),
    (
        "pool-image-bool",
        lambda: widgets.pool_explorer(image=np.eye(4, dtype=bool)),
        ValueError,
        ["image", "real numbers", "bool"],
    ),
    (
        "pool-set-image",
        lambda: set_attribute(widgets.pool_explorer(image=np.ones((8, 8)), size=8), "image", np.ones((4, 4))),
        ValueError,
        ["size 8", "1..5", "4×4"],
    ),
]

CASES = MODEL_SIZES + FORWARD + TABLES + VIZ + WIDGETS


def test_the_suite_is_large_enough():
    assert len(CASES) >= 45
    assert len({case[0] for case in CASES}) == len(CASES)  # every id once


@pytest.mark.parametrize("call, error, words", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_refused_with_a_message_naming_it(call, error, words):
    try:
        with pytest.raises(error) as caught:
            call()
        message = str(caught.value)
        missing = [word for word in words if word not in message]
        assert not missing, f"message {message!r} does not mention {missing}"
    finally:
        plt.close("all")
