"""coursekit.models.alexnet and .vgg: torchvision's parameter counts, shapes, training on the CPU."""

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from coursekit.checks import check
from coursekit.models import VGG, AlexNet, count_parameters, summary
from coursekit.models.vgg import CONFIGS, VGG16, receptive_fields, vgg_block

SMALL_VGG = [(2, 16), (2, 32), (2, 64)]


@pytest.fixture
def meta_device():
    """Build on PyTorch's "meta" device: shapes only, so counting needs no memory and no initialisation."""
    with torch.device("meta"):
        yield


def copy_weights_in_order(source: nn.Module, target: nn.Module) -> None:
    """Copy every parameter and buffer of `source` into `target`, matched by order and shape."""
    src = list(source.state_dict().values())
    dst = target.state_dict()
    assert len(src) == len(dst)
    for (name, tensor), value in zip(dst.items(), src, strict=True):
        assert tensor.shape == value.shape, name
        dst[name] = value
    target.load_state_dict(dst)


def test_alexnet_is_torchvisions_alexnet():
    ours, theirs = AlexNet(), torchvision.models.alexnet(weights=None)
    assert count_parameters(ours) == count_parameters(theirs) == 61_100_840
    # same layer layout: torchvision's weights load by name, and then the outputs agree
    ours.load_state_dict(theirs.state_dict())
    ours.eval(), theirs.eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


def test_vgg16_is_torchvisions_vgg16():
    ours, theirs = VGG(VGG16), torchvision.models.vgg16(weights=None)
    assert count_parameters(ours) == count_parameters(theirs) == 138_357_544
    copy_weights_in_order(theirs, ours)
    ours.eval(), theirs.eval()
    x = torch.randn(1, 3, 64, 64)  # the adaptive pooling accepts a small image; keeps the test fast
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


@pytest.mark.usefixtures("meta_device")
@pytest.mark.parametrize("name", ["vgg11", "vgg13", "vgg19"])
def test_other_vgg_configurations_match_torchvision(name):
    ours, theirs = VGG(CONFIGS[name]), getattr(torchvision.models, name)(weights=None)
    assert [p.shape for p in ours.parameters()] == [p.shape for p in theirs.parameters()]
    assert count_parameters(VGG(name)) == count_parameters(ours) == count_parameters(theirs)


@pytest.mark.usefixtures("meta_device")
def test_imagenet_shapes_of_alexnet_and_vgg16():
    rows = {r.name: r.output_shape for r in summary(AlexNet(), (3, 224, 224))}
    assert rows["features.0"] == (64, 55, 55)
    assert rows["features.2"] == (64, 27, 27)
    assert rows["features.5"] == (192, 13, 13)
    assert rows["features.12"] == (256, 6, 6)
    assert rows["classifier.6"] == (1000,)
    vgg = VGG(VGG16)
    sizes = []
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        for block in vgg.features:
            x = block(x)
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14), (512, 7, 7)]


def test_small_variants_take_28_pixel_images():
    alex = AlexNet.small(width=0.25, hidden=64)
    assert alex(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert tuple(alex.features(torch.zeros(1, 1, 28, 28)).shape[1:]) == (64, 3, 3)
    vgg = VGG(SMALL_VGG, num_classes=10, in_channels=1, hidden=64, pooled=3, batch_norm=True)
    assert tuple(vgg.features(torch.zeros(1, 1, 28, 28)).shape[1:]) == (64, 3, 3)
    assert vgg(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    # width scales the channels: conv1 of a half-width AlexNet has 32 filters
    assert AlexNet.small(width=0.5).features[0].out_channels == 32


def test_batch_norm_variants():
    alex = AlexNet.small(batch_norm=True)
    convs = [m for m in alex.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in alex.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(convs) == len(norms) == 5 and all(c.bias is None for c in convs)
    plain = AlexNet.small(batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    block = vgg_block(3, 4, 8, batch_norm=True)
    assert [type(m).__name__ for m in block] == ["Conv2d", "BatchNorm2d", "ReLU"] * 3 + ["MaxPool2d"]
    assert block(torch.zeros(2, 4, 10, 10)).shape == (2, 8, 5, 5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: AlexNet.small(width=0.125, hidden=32),
        lambda: VGG(SMALL_VGG, num_classes=10, in_channels=1, hidden=32, pooled=3, batch_norm=True),
    ],
)
def test_forward_backward_and_a_few_steps_on_cpu(make):
    torch.manual_seed(0)
    model = make()
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(8):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]  # it learns the fixed batch


def test_receptive_fields_follow_kernels_and_strides():
    rows = receptive_fields(AlexNet().features)
    assert [r[1] for r in rows] == [
        "Conv2d",
        "MaxPool2d",
        "Conv2d",
        "MaxPool2d",
        "Conv2d",
        "Conv2d",
        "Conv2d",
        "MaxPool2d",
    ]
    assert [r[2] for r in rows] == [11, 19, 51, 67, 99, 131, 163, 195]
    assert [r[3] for r in rows] == [4, 8, 8, 16, 16, 16, 16, 32]
    vgg = receptive_fields(VGG(VGG16).features)
    assert [r[2] for r in vgg][:3] == [3, 5, 6] and vgg[-1][2:] == (212, 32)


def test_receptive_field_agrees_with_the_gradient():
    # One output pixel of a chain of convolutions depends on exactly an r x r input patch.
    stack = nn.Sequential(
        nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 5, stride=2, padding=2), nn.Conv2d(1, 1, 3, padding=1)
    )
    for conv in stack:
        nn.init.constant_(conv.weight, 1.0)
    r = receptive_fields(stack)[-1][2]
    x = torch.zeros(1, 1, 41, 41, requires_grad=True)
    out = stack(x)
    out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
    support = x.grad[0, 0].abs() > 0
    assert r == 11
    assert support.any(0).sum().item() == support.any(1).sum().item() == r


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="stem"):
        AlexNet(stem="tiny")
    with pytest.raises(ValueError, match="width"):
        AlexNet(width=0)
    with pytest.raises(ValueError, match="config"):
        VGG([(0, 64)])
    with pytest.raises(ValueError, match="config"):
        VGG([])


def test_exercises_accept_the_right_answers_only():
    side = 256
    for k, s, p in [(11, 4, 2), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1), (3, 2, 0)]:  # conv/pool chain
        side = (side + 2 * p - k) // s + 1
    fc6 = lambda pooled: 256 * pooled * pooled * 4096 + 4096  # noqa: E731
    right = {
        "modern.alexnet_features_256": (256, side, side),
        "modern.alexnet_pooled3_parameters": 61_100_840 - fc6(6) + fc6(3),
        "modern.small_alexnet_receptive_field": 42,  # 3, +1 (pool), +4*2, +1*2 (pool), +2*4 three times, +1*4
        "modern.two_convs_saving": (5 * 5 - 2 * 3 * 3) * 256 * 256,
        "modern.vgg11_parameters": 132_863_336,
        "modern.small_alexnet_features_32": (64, 4, 4),
    }
    assert side == 7
    for key, answer in right.items():
        assert check(key, answer), key
        assert not check(key, None)
    assert not check("modern.small_alexnet_features_32", (64, 3, 3))
    assert not check("modern.small_alexnet_receptive_field", 38)
    assert "132863336" not in check("modern.vgg11_parameters", 1).message
