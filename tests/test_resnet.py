"""ResNet, its blocks, the plain variant, the dense block and the FLOP counter."""

import pytest
import torch
import torchvision
from torch import nn

from coursekit.models import (
    Bottleneck,
    DenseBlock,
    ResidualBlock,
    ResNet,
    Transition,
    count_flops,
    count_parameters,
    flops_by_layer,
)


@pytest.fixture
def meta_device():
    """Build on PyTorch's "meta" device: shapes only, so counting needs no memory and no initialisation."""
    with torch.device("meta"):
        yield


@pytest.mark.usefixtures("meta_device")
def test_resnet18_and_resnet50_match_torchvision_parameter_counts():
    ours18, ours50 = ResNet.resnet18(), ResNet.resnet50()
    assert count_parameters(ours18) == count_parameters(torchvision.models.resnet18(weights=None)) == 11_689_512
    assert count_parameters(ours50) == count_parameters(torchvision.models.resnet50(weights=None)) == 25_557_032


@pytest.mark.usefixtures("meta_device")
def test_resnet18_and_resnet50_parameter_shapes_match_torchvision_in_order():
    for ours, theirs in [
        (ResNet.resnet18(), torchvision.models.resnet18(weights=None)),
        (ResNet.resnet50(), torchvision.models.resnet50(weights=None)),
    ]:
        assert [p.shape for p in ours.parameters()] == [p.shape for p in theirs.parameters()]


@pytest.mark.usefixtures("meta_device")
@pytest.mark.parametrize("build, final", [(ResNet.resnet18, 512), (ResNet.resnet50, 2048)])
def test_imagenet_resnets_output_shapes(build, final):
    model = build(num_classes=7).eval()
    features = model.stages(model.stem(torch.zeros(2, 3, 224, 224)))
    assert features.shape == (2, final, 7, 7)
    assert model(torch.zeros(2, 3, 224, 224)).shape == (2, 7)


def test_named_depths():
    assert ResNet.resnet18().depth == 18
    assert ResNet.resnet50().depth == 50
    for depth in (8, 20, 32, 56):
        assert ResNet.small(depth).depth == depth
        assert ResNet.small(depth, residual=False).depth == depth
    with pytest.raises(ValueError):
        ResNet.small(10)


def test_small_resnet_shapes_and_forward_backward_on_cpu():
    torch.manual_seed(0)
    model = ResNet.small(depth=8, width=8)
    x = torch.randn(4, 1, 28, 28)
    shapes = []
    h = model.stem(x)
    for stage in model.stages:
        h = stage(h)
        shapes.append(tuple(h.shape[1:]))
    assert shapes == [(8, 28, 28), (16, 14, 14), (32, 7, 7)]
    logits = model(x)
    assert logits.shape == (4, 10)
    nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 3])).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert all(g.abs().sum() > 0 for g in grads)


def test_strides_argument_moves_the_subsampling():
    model = ResNet("basic", (1, 1, 1), (32, 64, 128), "small", 1, 10, stem_channels=16, strides=(2, 2, 2))
    h = model.stem(torch.zeros(1, 1, 28, 28))
    sizes = []
    for stage in model.stages:
        h = stage(h)
        sizes.append(h.shape[-1])
    assert sizes == [14, 7, 4]
    with pytest.raises(ValueError):
        ResNet("basic", (1, 1), (8, 16), "small", strides=(1,))


@pytest.mark.parametrize("Block", [ResidualBlock, Bottleneck])
@pytest.mark.parametrize(
    "in_channels, channels, stride", [(16, 16, 1), (16, 16, 2), (16, 32, 1), (64, 16, 1), (8, 4, 2)]
)
def test_projection_shortcut_exactly_when_the_shape_changes(Block, in_channels, channels, stride):
    block = Block(in_channels, channels, stride)
    x = torch.randn(2, in_channels, 8, 8)
    y = block(x)
    assert y.shape == (2, channels * Block.expansion, 8 // stride, 8 // stride)
    shape_changes = tuple(y.shape) != tuple(x.shape)
    assert (block.shortcut is not None) == shape_changes
    if shape_changes:
        conv = block.shortcut[0]
        assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1) and conv.stride == (stride, stride)


@pytest.mark.parametrize("Block", [ResidualBlock, Bottleneck])
def test_identity_shortcut_adds_the_input(Block):
    torch.manual_seed(0)
    channels = 8
    block = Block(channels * Block.expansion, channels).eval()
    last_bn = block.bn2 if Block is ResidualBlock else block.bn3
    nn.init.zeros_(last_bn.weight)  # F(x) == 0, so the block is relu(x)
    x = torch.randn(2, channels * Block.expansion, 5, 5)
    assert torch.equal(block(x), torch.relu(x))
    plain = Block(channels * Block.expansion, channels, residual=False).eval()
    nn.init.zeros_(plain.bn2.weight if Block is ResidualBlock else plain.bn3.weight)
    assert torch.equal(plain(x), torch.zeros_like(x))  # nothing is added back


def test_plain_variant_has_no_shortcut_anywhere():
    plain = ResNet.small(32, width=8, residual=False)
    blocks = [m for m in plain.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 15
    assert all(b.shortcut is None and not b.residual for b in blocks)
    assert not any("shortcut" in name for name, _ in plain.named_parameters())
    residual = ResNet.small(32, width=8)
    with_projection = [b for b in residual.modules() if isinstance(b, ResidualBlock) and b.shortcut is not None]
    assert len(with_projection) == 2  # the first block of stages 2 and 3
    # the plain net is the residual net minus the two projections (1x1 conv + BN each)
    extra = sum(count_parameters(b.shortcut) for b in with_projection)
    assert count_parameters(residual) - count_parameters(plain) == extra == (8 * 16 + 2 * 16) + (16 * 32 + 2 * 32)


def test_plain_and_residual_differ_only_by_the_shortcut():
    torch.manual_seed(0)
    residual = ResNet.small(8, width=4).eval()
    plain = ResNet.small(8, width=4, residual=False).eval()
    plain.load_state_dict({k: v for k, v in residual.state_dict().items() if "shortcut" not in k})
    x = torch.randn(2, 1, 28, 28)
    assert not torch.allclose(residual(x), plain(x))
    for block in residual.modules():
        if isinstance(block, ResidualBlock):
            block.residual = False
    assert torch.allclose(residual(x), plain(x))


def test_dense_block_concatenates_growth_rate_channels_per_layer():
    block = DenseBlock(in_channels=6, growth_rate=4, num_layers=3)
    x = torch.randn(2, 6, 9, 9)
    y = block(x)
    assert y.shape == (2, 6 + 3 * 4, 9, 9) and block.out_channels == 18
    assert torch.equal(y[:, :6], x)  # the input is passed through untouched
    assert [layer.bn1.num_features for layer in block.layers] == [6, 10, 14]
    assert Transition(18, 9)(y).shape == (2, 9, 4, 4)


def test_flop_counter_matches_hand_counts():
    conv = nn.Conv2d(3, 8, kernel_size=3, padding=1, bias=True)
    assert count_flops(conv, (3, 10, 10)) == 2 * 3 * 9 * 8 * 100 + 8 * 100
    strided = nn.Conv2d(4, 6, kernel_size=3, stride=2, bias=False, groups=2)
    assert count_flops(strided, (4, 9, 9)) == 2 * 2 * 9 * 6 * 16
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 2, bias=False))
    assert flops_by_layer(mlp, (3, 2, 2)) == {"1": 2 * 12 * 5 + 5, "3": 2 * 5 * 2}


@pytest.mark.usefixtures("meta_device")  # FLOPs follow from the shapes alone
def test_flop_counter_on_resnets_is_in_the_published_range():
    # He et al. (2016), Table 1: 1.8 and 3.8 GFLOPs -- which there means multiply-adds.
    macs18 = count_flops(ResNet.resnet18(), (3, 224, 224)) / 2
    macs50 = count_flops(ResNet.resnet50(), (3, 224, 224)) / 2
    assert 1.75e9 < macs18 < 1.85e9
    assert 4.0e9 < macs50 < 4.2e9  # torchvision's v1.5 (stride on the 3x3) costs a little more than 3.8


def test_exercise_answers_match_hand_counts():
    from coursekit.checks import check

    projections = sum(c_in * c_out + 2 * c_out for c_in, c_out in [(64, 128), (128, 256), (256, 512)])
    side = 300
    for k, s, p in [(7, 2, 3), (3, 2, 1), (3, 2, 1), (3, 2, 1)]:  # stem conv, max-pool, stages 2 and 3
        side = (side + 2 * p - k) // s + 1
    assert check("resnet.block128_parameters", 2 * (128 * 128 * 9) + 2 * (2 * 128))
    assert check("resnet.resnet18_projections", projections) and projections == 173_824
    assert check("resnet.bottleneck1024_parameters", 1024 * 256 + 256 * 256 * 9 + 256 * 1024 + 2 * (256 + 256 + 1024))
    assert check("resnet.stage3_shape_300", (4 * 256, side, side)) and side == 19
    assert check("resnet.small_depth", 2 * 3 * 7 + 2)
    assert check("resnet.dense_channels", 24 + 6 * 12)
    assert not check("resnet.small_depth", 2 * 3 * 7)
    assert not check("resnet.stage3_shape_300", (1024, 18, 18))
