"""Every name coursekit.models advertises can be imported from the module it names."""

import pytest

import coursekit.models as models


@pytest.mark.parametrize("name", sorted(models._WHERE))
def test_exported_name_resolves(name):
    assert getattr(models, name) is not None
    assert name in dir(models)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'LeNet6'"):
        _ = models.LeNet6


# --- coursekit.models.blocks: one home for the shared building blocks ---------------------------


def test_blocks_keep_their_old_import_paths():
    from coursekit.models import alexnet, blocks, resnet, vgg

    assert resnet.conv3x3 is blocks.conv3x3 and resnet.conv1x1 is blocks.conv1x1
    assert alexnet.conv_bn_relu is blocks.conv_bn_relu is vgg.conv_bn_relu
    assert alexnet.scaled is blocks.scaled
    assert models.conv3x3 is blocks.conv3x3 and models._WHERE["conv_bn_relu"] == "blocks"


def test_conv3x3_and_conv1x1_shapes_and_no_bias():
    import torch

    from coursekit.models.blocks import conv1x1, conv3x3

    x = torch.zeros(2, 4, 9, 9)
    three, one = conv3x3(4, 8, stride=2), conv1x1(4, 6, stride=2)
    assert three(x).shape == (2, 8, 5, 5) and one(x).shape == (2, 6, 5, 5)
    assert three.bias is None and one.bias is None
    assert three.weight.shape == (8, 4, 3, 3) and one.weight.shape == (6, 4, 1, 1)


@pytest.mark.parametrize(
    "kernel_size, stride, padding, side",
    [(3, 1, None, 9), (5, 1, None, 9), (3, 2, None, 5), (11, 4, 2, 1), (3, 1, 0, 7)],
)
def test_conv_bn_relu_padding_defaults_to_same(kernel_size, stride, padding, side):
    import torch
    from torch import nn

    from coursekit.models.blocks import conv_bn_relu

    plain = conv_bn_relu(2, 3, kernel_size, stride, padding)
    with_bn = conv_bn_relu(2, 3, kernel_size, stride, padding, batch_norm=True)
    assert [type(m) for m in plain] == [nn.Conv2d, nn.ReLU]
    assert [type(m) for m in with_bn] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert plain[0].bias is not None and with_bn[0].bias is None  # BatchNorm's shift replaces the bias
    assert nn.Sequential(*with_bn)(torch.zeros(2, 2, 9, 9)).shape == (2, 3, side, side)


def test_scaled_rounds_and_never_goes_below_one():
    from coursekit.models.blocks import scaled

    assert scaled((64, 192, 384, 256, 256), 0.25) == (16, 48, 96, 64, 64)
    assert scaled((1, 2), 0.1) == (1, 1)
