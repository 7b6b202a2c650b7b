"""coursekit.explain: every map checked against a computation done another way, on tiny networks.

- Grad-CAM against its formula (closed form for a conv-ReLU-GAP-linear net, autograd pieces for a
  pre-ReLU layer); saliency against torch.autograd.grad; occlusion against the closed form of a
  linear model, and its count of forward passes;
- receptive fields against hand counts (LeNet-5, ResNet pieces, a projection shortcut, padding
  "same", F.pad, dilation), against `coursekit.models.vgg.receptive_fields` on AlexNet and VGG-16,
  and against the support of the input gradient;
- top_patches finds a planted maximum and cuts the right patch;
- every function leaves no hook behind, and restores modes, requires_grad and .grad, also when
  the forward pass raises; an unknown layer name lists the valid ones; bad arguments are named;
- the exercises of coursekit.checks.explain accept the answers computed the student's way.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit import explain
from coursekit.checks import check
from coursekit.errors import UnknownName
from coursekit.explain import (
    Field,
    best_matching_filters,
    box_mass,
    feature_maps,
    get_layer,
    grad_cam,
    layer_names,
    occlusion,
    randomized,
    rank_correlation,
    receptive_field,
    saliency,
    top_patches,
)
from coursekit.filters import NAMED, SOBEL_VERTICAL
from coursekit.models import AlexNet, LeNet5, ResidualBlock, ResNet
from coursekit.models.vgg import VGG, VGG16, receptive_fields


def tiny_net(seed: int = 0) -> nn.Sequential:
    """conv 3x3 (1 -> 3 channels) -> ReLU -> global average pool -> linear (3 -> 4 classes)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 4)
    )


def small_cnn(seed: int = 0) -> nn.Sequential:
    """A conv-BN-ReLU-pool-conv-BN-ReLU net with a GAP head, 5 classes, in training mode."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 5),
    ).train()


def no_hooks(model: nn.Module) -> bool:
    return all(
        not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks and not m._backward_pre_hooks
        for m in model.modules()
    )


def state_of(model: nn.Module):
    return (
        [m.training for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
        [None if p.grad is None else p.grad.clone() for p in model.parameters()],
    )


def same_state(a, b) -> bool:
    grads_equal = all(
        (x is None and y is None) or (x is not None and y is not None and torch.equal(x, y))
        for x, y in zip(a[2], b[2], strict=True)
    )
    return a[0] == b[0] and a[1] == b[1] and grads_equal


# ---------------------------------------------------------------------------------------------
# Layers by name


def test_get_layer_returns_the_named_module_and_lists_names_when_unknown():
    net = small_cnn()
    assert get_layer(net, "4") is net[4]
    assert layer_names(net) == [str(i) for i in range(10)]
    with pytest.raises(UnknownName, match=r"unknown layer of Sequential 'conv9'; choose one of: 0, 1, .*, 9") as info:
        get_layer(net, "conv9")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    with pytest.raises(UnknownName, match="choose one of"):
        get_layer(net, 4)  # an int is not a name
    with pytest.raises(TypeError, match="pass an instance"):
        get_layer(ResNet, "fc")
    with pytest.raises(UnknownName, match=r"stages\.2\.0\.conv1"):
        grad_cam(ResNet.fashion(), torch.zeros(1, 1, 28, 28), "stages.2.conv1")


# ---------------------------------------------------------------------------------------------
# Grad-CAM


def test_grad_cam_equals_the_closed_form_of_a_conv_relu_gap_linear_net():
    # score_c = sum_k W[c, k] * mean(A_k) + b_c, so dS/dA_k = W[c, k] / (h*w) everywhere:
    # alpha_k = W[c, k] / (h*w) and the map is relu(sum_k alpha_k A_k).
    net = tiny_net()
    x = torch.randn(3, 1, 6, 5)
    target = torch.tensor([0, 2, 3])
    with torch.no_grad():
        a = torch.relu(net[0](x))  # (3, 3, 6, 5)
        alpha = net[4].weight[target] / (6 * 5)  # (3, 3)
        expected = torch.relu((alpha[:, :, None, None] * a).sum(1))
    cam = grad_cam(net, x, "1", target=target, upsample=False)
    assert cam.shape == (3, 6, 5)
    torch.testing.assert_close(cam, expected, rtol=1e-5, atol=1e-6)


def test_grad_cam_equals_a_hand_computation_with_autograd_pieces_before_the_relu():
    net = tiny_net(1)
    x = torch.randn(2, 1, 7, 7)
    a = net[0](x).detach().requires_grad_(True)  # the conv's output, pre-ReLU
    logits = net[4](net[3](net[2](net[1](a))))
    target = logits.argmax(1)
    (grad,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), a)
    alpha = grad.mean(dim=(2, 3), keepdim=True)
    raw = (alpha * a).sum(1).detach()
    torch.testing.assert_close(grad_cam(net, x, "0", upsample=False, relu=False), raw, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_cam(net, x, "0", upsample=False), raw.clamp(min=0), rtol=1e-5, atol=1e-6)
    assert (raw < 0).any()  # relu=False really keeps the negative part


def test_grad_cam_upsamples_to_the_input_and_follows_the_target():
    net = small_cnn()
    x = torch.randn(4, 2, 12, 10)
    raw = grad_cam(net, x, "6", upsample=False)
    up = grad_cam(net, x, "6")
    assert raw.shape == (4, 6, 5) and up.shape == (4, 12, 10)
    torch.testing.assert_close(up, F.interpolate(raw[:, None], size=(12, 10), mode="bilinear")[:, 0])
    with torch.no_grad():
        predicted = net.eval()(x).argmax(1)
    net.train()
    torch.testing.assert_close(grad_cam(net, x, "6", target=predicted), up)  # None = the predicted class
    torch.testing.assert_close(grad_cam(net, x, "6", target=[2] * 4), grad_cam(net, x, "6", target=2))


def test_grad_cam_of_a_layer_followed_by_an_inplace_relu_uses_the_layer_output():
    net = small_cnn()
    x = torch.randn(2, 2, 8, 8)
    a = net.eval()[:2](x).detach().requires_grad_(True)  # BatchNorm's output, before the in-place ReLU
    logits = net[2:](a.clone())
    (grad,) = torch.autograd.grad(logits.gather(1, logits.argmax(1, keepdim=True)).sum(), a)
    expected = (grad.mean(dim=(2, 3), keepdim=True) * a).sum(1).detach()
    torch.testing.assert_close(grad_cam(net, x, "1", upsample=False, relu=False), expected, rtol=1e-5, atol=1e-6)


def test_grad_cam_refuses_a_layer_that_is_not_a_map_or_not_used():
    net = tiny_net()
    with pytest.raises(ValueError, match="not a feature map"):
        grad_cam(net, torch.randn(1, 1, 5, 5), "3")  # Flatten: (N, 3)

    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.side, self.main = nn.Conv2d(1, 1, 1), tiny_net()

        def forward(self, x):
            self.side(x)
            return self.main(x)

    with pytest.raises(ValueError, match="does not depend on layer 'side'"):
        grad_cam(Unused(), torch.randn(1, 1, 5, 5), "side")


# ---------------------------------------------------------------------------------------------
# Saliency


def test_saliency_is_the_channel_max_of_the_absolute_input_gradient():
    net = small_cnn()
    x = torch.randn(3, 2, 8, 8)
    target = torch.tensor([4, 0, 1])
    ref = net.eval()
    inputs = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(ref(inputs).gather(1, target[:, None]).sum(), inputs)
    net.train()
    torch.testing.assert_close(saliency(net, x, target=target), grad.abs().amax(1))
    # each image is explained on its own: the batch changes nothing
    one = saliency(net, x[1:2], target=0)
    torch.testing.assert_close(one[0], saliency(net, x, target=target)[1])
    assert saliency(net, x).shape == (3, 8, 8) and (saliency(net, x) >= 0).all()


# ---------------------------------------------------------------------------------------------
# Occlusion


def test_occlusion_of_a_linear_model_equals_its_closed_form():
    torch.manual_seed(0)
    c, h, w, k = 2, 6, 7, 3
    net = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, k))
    x = torch.randn(2, c, h, w)
    fill = torch.tensor([0.5, -1.0])
    drops = occlusion(net, x, patch=(2, 3), stride=(2, 2), fill=fill.tolist(), target=[1, 2])
    assert drops.shape == (2, (6 - 2) // 2 + 1, (7 - 3) // 2 + 1)  # 04's formula without padding: (3, 3)
    weights = net[1].weight.detach().view(k, c, h, w)
    for n, t in enumerate([1, 2]):
        for i in range(3):
            for j in range(3):
                window = (slice(None), slice(2 * i, 2 * i + 2), slice(2 * j, 2 * j + 3))
                # score(x) - score(x with the window set to fill) = sum over the window of w * (x - fill)
                expected = (weights[t][window] * (x[n][window] - fill[:, None, None])).sum()
                assert abs(drops[n, i, j].item() - expected.item()) < 1e-5


def test_occlusion_runs_one_plus_one_pass_per_position_and_batches_them():
    net = small_cnn()
    seen = []
    handle = net.register_forward_pre_hook(lambda module, inputs: seen.append(len(inputs[0])))
    try:
        drops = occlusion(net, torch.randn(2, 2, 9, 9), patch=3, stride=2, batch_size=7)
    finally:
        handle.remove()
    positions = ((9 - 3) // 2 + 1) ** 2  # 16
    assert drops.shape == (2, 4, 4)
    assert seen[0] == 2 and sum(seen) == 2 + 2 * positions and max(seen) == 7


def test_occlusion_with_a_fill_equal_to_the_image_changes_nothing():
    net = small_cnn()
    x = torch.full((1, 2, 8, 8), 0.25)
    assert torch.allclose(occlusion(net, x, 4, 4, fill=0.25), torch.zeros(1, 2, 2), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Receptive fields


def test_receptive_fields_of_lenet5_by_hand():
    # C1: 5x5, padding 2: r = 5, j = 1, start = -2. S2: 2x2/2: r = 5 + 1 = 6, j = 2.
    # C3: 5x5: r = 6 + 4 * 2 = 14. S4: 2x2/2: r = 14 + 1 * 2 = 16, j = 4. Padding only at C1: start -2.
    lenet = LeNet5()
    expected = {
        "features.0": (5, 1, -2),
        "features.1": (6, 2, -2),
        "features.3": (14, 2, -2),
        "features.4": (16, 4, -2),
    }
    for layer, (size, jump, start) in expected.items():
        assert receptive_field(lenet, layer, (1, 28, 28)) == Field(size, jump, start)


def test_receptive_fields_of_resnet_pieces_by_hand():
    net = ResNet.fashion()
    # stem 3x3/1 pad 1: (3, 1, -1). Block 1: conv 3x3/2 pad 1 -> (5, 2, -2); conv 3x3/1 pad 1 -> (9, 2, -4);
    # the projection 1x1/2 sees (3, 2, -1), inside the main path's patch, so the union is the main path's.
    assert receptive_field(net, "stem", (1, 28, 28)) == (3, 1, -1)
    assert receptive_field(net, "stages.0.0.conv1", (1, 28, 28)) == (5, 2, -2)
    assert receptive_field(net, "stages.0.0.shortcut", (1, 28, 28)) == (3, 2, -1)
    assert receptive_field(net, "stages.0", (1, 28, 28)) == (9, 2, -4)
    assert receptive_field(net, "stages.1", (1, 28, 28)) == (9 + 2 * 2 + 2 * 4, 4, -4 - 2 - 4)  # (21, 4, -10)
    assert receptive_field(net, "stages.2", (1, 28, 28)) == (21 + 2 * 4 + 2 * 8, 8, -10 - 4 - 8)  # (45, 8, -22)
    # torchvision's ResNet-18 layout: conv5_x sees 435 pixels, 32 apart
    with torch.device("meta"):  # shapes only, no arithmetic
        resnet18 = ResNet.resnet18()
    assert receptive_field(resnet18, "stages.3", (3, 224, 224)) == (435, 32, -217)


def test_the_union_of_two_branches_spans_both():
    class TwoBranches(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 1, 3, padding=1)  # (3, 1, -1)
            self.b = nn.Conv2d(1, 1, (1, 5), padding=(0, 4))  # rows (1, 1, 0), cols (5, 1, -4)

        def forward(self, x):
            return self.a(x) + self.b(x)[..., 2:-2]

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = TwoBranches()

        def forward(self, x):
            return self.body(x)

    # rows: union of [-1, 2) and [0, 1) = (3, 1, -1); cols: the slice moves positions: no field
    with pytest.raises(ValueError, match="no receptive field.*__getitem__"):
        receptive_field(Net(), "body", (1, 9, 9))
    block = ResidualBlock(2, 2)  # identity shortcut: union of the input (1, 1, 0) and the main path (5, 1, -2)
    assert receptive_field(nn.Sequential(block), "0", (2, 9, 9)) == (5, 1, -2)


def test_padding_same_pad_dilation_and_rectangular_kernels():
    net = nn.Sequential(
        nn.Conv2d(1, 1, 3, padding="same", dilation=2),  # effective 5: (5, 1, -2)
        nn.ZeroPad2d((1, 0, 3, 0)),  # left 1, top 3: start moves by -1 (cols) and -3 (rows)
        nn.Conv2d(1, 1, (3, 1), stride=(2, 1)),  # rows (7, 2, -5), cols (5, 1, -3)
    )
    assert receptive_field(net, "0", (1, 16, 16)) == (5, 1, -2)
    field = receptive_field(net, "2", (1, 16, 16))
    assert field == Field((7, 5), (2, 1), (-5, -3))
    assert field.box(1, 2) == (-3, -1, 4, 4)
    assert field.centre(0, 0) == (-2.0, -1.0)


def test_receptive_fields_agree_with_the_vgg_module_on_alexnet_and_vgg16():
    with torch.device("meta"):
        nets = [AlexNet(), VGG(VGG16)]
    for net in nets:
        for name, _, size, jump in receptive_fields(net.features):
            field = receptive_field(net, f"features.{name}", (3, 224, 224))
            assert (field.size, field.jump) == (size, jump), name


def test_receptive_field_is_the_support_of_the_input_gradient():
    # With positive weights, positive input and no max pooling, every pixel a unit depends on has a
    # non-zero gradient: the support of d unit / d input is exactly the field's box (clipped to the image).
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.ReLU(),
        ResidualBlock(2, 4, stride=2),
        nn.AvgPool2d(3, stride=2, padding=1),
        nn.Conv2d(4, 1, 3, dilation=2, padding=2),
    ).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_().add_(0.01)
    field = receptive_field(net, "4", (1, 40, 40))
    x = torch.rand(1, 1, 40, 40, requires_grad=True)
    out = net(x)
    assert out.shape[-2:] == (10, 10)
    for row, col in [(0, 0), (5, 4), (9, 9)]:
        (grad,) = torch.autograd.grad(out[0, 0, row, col], x, retain_graph=True)
        ys, xs = torch.nonzero(grad[0, 0], as_tuple=True)
        top, left, bottom, right = field.box(row, col)
        assert (ys.min().item(), xs.min().item()) == (max(top, 0), max(left, 0))
        assert (ys.max().item() + 1, xs.max().item() + 1) == (min(bottom, 40), min(right, 40))


def test_receptive_field_refuses_what_has_none_and_bad_sizes():
    net = ResNet.fashion()
    with pytest.raises(ValueError, match="'fc' has no receptive field: adaptive_avg_pool2d"):
        receptive_field(net, "fc", (1, 28, 28))
    with pytest.raises(ValueError, match=r"input_size must be \(C, H, W\)"):
        receptive_field(net, "stem", (28, 28))
    with pytest.raises(TypeError, match="input_size entry"):
        receptive_field(net, "stem", (1, 28.0, 28))
    with pytest.raises(ValueError, match="cannot run on one image of size"):
        receptive_field(net, "stem", (3, 28, 28))  # built for 1 channel
    with pytest.raises(ValueError, match="moves positions around"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)), "1", (1, 8, 8))


# ---------------------------------------------------------------------------------------------
# Top patches


def test_top_patches_finds_the_planted_maxima_and_cuts_their_patches():
    # 10 blank images, image i with one bright pixel of value i+1 at a known place; the layer is a
    # 3x3 convolution whose channel 0 copies the centre pixel and channel 1 negates it.
    n = 10
    images = torch.zeros(n, 1, 9, 9)
    spots = [(i % 9, (3 * i) % 9) for i in range(n)]
    for i, (r, c) in enumerate(spots):
        images[i, 0, r, c] = i + 1
    conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 1, 1], conv.weight[1, 0, 1, 1] = 1.0, -1.0
    net = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    found = top_patches(net, images, "0", channels=[0], k=3, batch_size=4)
    assert found.channels == [0] and found.field == (3, 1, -1)
    assert found.images.tolist() == [[9, 8, 7]]
    assert found.values.tolist() == [[10.0, 9.0, 8.0]]
    assert [tuple(p) for p in found.positions[0].tolist()] == [spots[9], spots[8], spots[7]]
    assert found.patches.shape == (1, 3, 1, 3, 3)
    for j, i in enumerate([9, 8, 7]):
        patch = found.patches[0, j, 0]
        assert patch[1, 1] == i + 1 and patch.sum() == i + 1  # the bright pixel, at the unit's centre
    every = top_patches(net, images, "0", k=2)
    assert every.channels == [0, 1] and every.values.shape == (2, 2)


def test_top_patches_fills_outside_the_image():
    images = torch.ones(2, 1, 5, 5)
    images[1] *= 2
    net = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Flatten(), nn.LazyLinear(2))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.zero_()
        net(images)  # materialise the lazy layer
    found = top_patches(net, images, "0", channels=0, k=1, fill=-7.0)
    # the strongest unit of the brighter image is an inner one; its patch lies inside the image
    assert found.images.item() == 1 and (found.patches == 2).all()
    corner = explain._cut_patches(images, torch.tensor([[1]]), torch.tensor([[[0, 0]]]), found.field, -7.0)
    assert corner[0, 0, 0, 0].tolist() == [-7.0, -7.0, -7.0] and corner[0, 0, 0, 1:, 1:].eq(2).all()


# ---------------------------------------------------------------------------------------------
# Feature maps, filters, randomisation, comparisons


def test_feature_maps_returns_each_layer_output_as_the_model_computes_it():
    net = small_cnn()
    x = torch.randn(2, 2, 8, 8)
    maps = feature_maps(net, x, ["1", "3", "6"])
    ref = net.eval()
    with torch.no_grad():
        after_bn = ref[:2](x)
        torch.testing.assert_close(maps["1"], after_bn)  # not changed by the in-place ReLU after it
        torch.testing.assert_close(maps["3"], ref[:4](x))
    assert maps["6"].shape == (2, 6, 4, 4) and (maps["1"] < 0).any()
    assert set(feature_maps(net, x, "4")) == {"4"}


def test_best_matching_filters_finds_named_kernels_up_to_scale_and_padding():
    sobel5 = np.pad(SOBEL_VERTICAL, 1)
    matches = best_matching_filters(
        np.stack([2 * NAMED["gaussian_blur"], -3 * SOBEL_VERTICAL, np.zeros((3, 3)), NAMED["emboss"]])
    )
    assert [m.name for m in matches[:2]] == ["gaussian_blur", "sobel_left"]
    assert matches[0].similarity == pytest.approx(1.0) and matches[1].similarity == pytest.approx(1.0)
    assert matches[2].similarity == 0.0 and matches[3] == ("emboss", pytest.approx(1.0))
    five = best_matching_filters(torch.tensor(sobel5[None, None] * 0.1))  # (K, 1, 5, 5) weights
    assert five[0].name == "sobel_vertical" and five[0].similarity == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"average over the input channels"):
        best_matching_filters(np.zeros((4, 3, 3, 3)))
    with pytest.raises(ValueError, match="cannot be centred"):
        best_matching_filters(np.zeros((2, 4, 4)))
    with pytest.raises(TypeError, match="non-empty mapping"):
        best_matching_filters(np.zeros((2, 3, 3)), named={})


def test_randomized_resets_only_the_named_layers_of_a_copy():
    net = small_cnn()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    copy = randomized(net, ["4", "9"], seed=3)
    assert torch.equal(torch.get_rng_state(), rng)  # the global random state is untouched
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())  # the original is untouched
    changed = {k for k, v in copy.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"4.weight", "4.bias", "9.weight", "9.bias"}
    again = randomized(net, ["4", "9"], seed=3)
    assert torch.equal(again[4].weight, copy[4].weight)
    everything = randomized(net, seed=1)  # (seed 0 would redraw small_cnn's own initial weights)
    assert not torch.equal(everything[0].weight, net[0].weight)
    with pytest.raises(UnknownName, match="choose one of"):
        randomized(net, ["fc"])


def test_rank_correlation_by_hand():
    a = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    assert rank_correlation(a, a).item() == pytest.approx(1.0)
    assert rank_correlation(a, -a).item() == pytest.approx(-1.0)
    assert rank_correlation(a, a**3).item() == pytest.approx(1.0)  # monotone: the same order
    # ties: b's ranks are (0.5, 0.5, 2, 3); Pearson of (0, 1, 2, 3) and those, by hand: 0.9487
    b = torch.tensor([[5.0, 5.0, 6.0, 7.0]])
    ra, rb = torch.tensor([0, 1, 2, 3.0]) - 1.5, torch.tensor([0.5, 0.5, 2, 3]) - 1.5
    assert rank_correlation(a, b).item() == pytest.approx((ra @ rb / (ra.norm() * rb.norm())).item())
    assert rank_correlation(a, torch.zeros(1, 4)).item() == 0.0
    maps = torch.rand(3, 5, 5)
    assert rank_correlation(maps, maps).shape == (3,)
    with pytest.raises(ValueError, match="same shape"):
        rank_correlation(maps, maps[:2])


def test_box_mass_counts_the_share_inside_and_falls_back_to_chance():
    maps = torch.zeros(3, 4, 6)
    maps[0] = 1.0  # uniform: the box's share of the image
    maps[1, 1:3, 2:4] = 5.0  # all inside the box
    boxes = [[2, 1, 4, 3]] * 3  # x0, y0, x1, y1: 2 x 2 pixels of 24
    mass = box_mass(maps, boxes)
    assert mass.tolist() == pytest.approx([4 / 24, 1.0, 4 / 24])  # the zero map counts as uniform
    with pytest.raises(ValueError, match="non-negative"):
        box_mass(-maps - 1, boxes)
    with pytest.raises(ValueError, match=r"boxes must have shape \(3, 4\)"):
        box_mass(maps, [[0, 0, 1, 1]])
    with pytest.raises(TypeError, match="boxes must be numbers"):
        box_mass(maps, [["x0", "y0", "x1", "y1"]] * 3)
    assert box_mass(maps, torch.tensor(boxes)).tolist() == pytest.approx(mass.tolist())  # a tensor works too


# ---------------------------------------------------------------------------------------------
# State: hooks, modes, requires_grad, .grad


class Exploding(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def exploding_net() -> nn.Sequential:
    net = small_cnn()
    net[7] = Exploding()  # after every feature layer, before the head
    return net


CALLS = {
    "saliency": lambda net, x: saliency(net, x),
    "grad_cam": lambda net, x: grad_cam(net, x, "4"),
    "occlusion": lambda net, x: occlusion(net, x, 4, 4),
    "feature_maps": lambda net, x: feature_maps(net, x, ["4"]),
    "top_patches": lambda net, x: top_patches(net, x, "4", k=1),
    "receptive_field": lambda net, x: receptive_field(net, "4", (2, 8, 8)),
}


def prepared(net: nn.Sequential) -> nn.Sequential:
    """A model in a mixed state: train mode with one BatchNorm in eval, one frozen conv, a stored .grad."""
    net.train()
    net[1].eval()
    net[0].weight.requires_grad_(False)
    net[4].weight.grad = torch.full_like(net[4].weight, 0.5)
    return net


@pytest.mark.parametrize("name", CALLS)
def test_state_is_restored_and_hooks_removed_after_an_exception(name):
    net = prepared(exploding_net())
    before = state_of(net)
    with pytest.raises((RuntimeError, ValueError), match="boom"):
        CALLS[name](net, torch.randn(2, 2, 8, 8))
    assert no_hooks(net)
    assert same_state(state_of(net), before)


@pytest.mark.parametrize("name", CALLS)
def test_state_is_restored_and_hooks_removed_after_success(name):
    net = prepared(small_cnn())
    before = state_of(net)
    CALLS[name](net, torch.randn(2, 2, 8, 8))
    assert no_hooks(net)
    assert same_state(state_of(net), before)
    assert net[0].weight.grad is None and net[1].training is False  # nothing new was written


def test_a_model_that_is_frozen_everywhere_can_still_be_explained():
    net = small_cnn().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x = torch.randn(1, 2, 8, 8)
    assert grad_cam(net, x, "4").shape == (1, 8, 8) and saliency(net, x).abs().sum() > 0
    assert not any(p.requires_grad for p in net.parameters())


def test_explaining_inside_torch_no_grad_still_works():
    net = small_cnn()
    with torch.no_grad():
        assert grad_cam(net, torch.randn(1, 2, 8, 8), "4").shape == (1, 8, 8)


DEVICES = [d for d in ("cuda", "mps") if (d == "cuda" and torch.cuda.is_available())]
if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
    DEVICES.append("mps")


@pytest.mark.parametrize("device", DEVICES or [pytest.param("cuda", marks=pytest.mark.skip("no accelerator here"))])
def test_the_maps_on_an_accelerator_equal_the_cpu_ones(device):
    net, x = small_cnn().eval(), torch.randn(2, 2, 8, 8)
    on_device = small_cnn().eval().to(device)
    assert grad_cam(on_device, x, "4").device.type == "cpu"
    torch.testing.assert_close(grad_cam(on_device, x, "4"), grad_cam(net, x, "4"), rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(saliency(on_device, x), saliency(net, x), rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(occlusion(on_device, x, 4, 2), occlusion(net, x, 4, 2), rtol=1e-3, atol=1e-4)
    assert receptive_field(on_device, "4", (2, 8, 8)) == receptive_field(net, "4", (2, 8, 8))


# ---------------------------------------------------------------------------------------------
# Bad input


def test_bad_inputs_are_named():
    net, x = small_cnn(), torch.randn(2, 2, 8, 8)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        saliency(net, x.numpy())
    with pytest.raises(ValueError, match=r"add the batch dimension: x.unsqueeze\(0\)"):
        grad_cam(net, x[0], "4")
    with pytest.raises(TypeError, match="floating-point"):
        saliency(net, x.to(torch.uint8))
    with pytest.raises(ValueError, match="x is empty"):
        saliency(net, x[:0])
    with pytest.raises(ValueError, match=r"target 7 is not a class of this model: it returns 5 scores"):
        saliency(net, x, target=7)
    with pytest.raises(ValueError, match=r"2 ints \(one per image\), got shape \(3,\)"):
        grad_cam(net, x, "4", target=[0, 1, 2])
    with pytest.raises(TypeError, match="integer class indices"):
        saliency(net, x, target=torch.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="target must be None, an int or N ints"):
        saliency(net, x, target=1.5)
    with pytest.raises(ValueError, match=r"scores of shape \(N, num_classes\)"):
        saliency(net[:3], x)  # a feature map is not a classifier's output
    with pytest.raises(ValueError, match=r"patch \(9, 9\) is larger than the images"):
        occlusion(net, x, 9)
    with pytest.raises(ValueError, match="patch\\[0\\] must be an integer >= 1"):
        occlusion(net, x, 0)
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        occlusion(net, x, 2, stride="2")
    with pytest.raises(TypeError, match=r"stride must be an int or a pair .*got True"):
        occlusion(net, x, 2, stride=True)
    with pytest.raises(ValueError, match="fill must be one finite number or 2"):
        occlusion(net, x, 2, fill=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="k=3 is more than the 2 images"):
        top_patches(net, x, "4", k=3)
    with pytest.raises(ValueError, match=r"channels 0 \.\. 5, got \[6\]"):
        top_patches(net, x, "4", channels=[6], k=1)
    with pytest.raises(TypeError, match="needs a torch.nn.Module"):
        grad_cam(lambda t: t, x, "4")
    with pytest.raises(ValueError, match="layers must be a layer name"):
        feature_maps(net, x, [])


# ---------------------------------------------------------------------------------------------
# The exercises of notebook 14, answered the student's way


def test_the_exercises_accept_the_answers_computed_as_a_student_would():
    from coursekit.models import count_parameters  # noqa: F401 -- the check modules import cleanly

    stack = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3)
    )
    assert check("explain.field_after_layers", receptive_field(stack, "3", (1, 32, 32)).size)
    assert not check("explain.field_after_layers", 9)
    with torch.device("meta"):
        resnet18 = ResNet.resnet18()
    assert check("explain.resnet18_field", receptive_field(resnet18, "stages.3", (3, 224, 224)).size)
    c3 = receptive_field(LeNet5(), "features.3", (1, 28, 28))
    assert check("explain.c3_unit_centre", c3.centre(2, 3))
    assert not check("explain.c3_unit_centre", (2, 3))
    assert check("explain.occlusion_passes", 1 + ((56 - 8) // 4 + 1) ** 2)
    weights = torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.0, 1.0]])
    a = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, -2.0]]])
    alpha = weights[1] / 4
    assert check("explain.gradcam_map", torch.relu((alpha[:, None, None] * a).sum(0)))
    assert not check("explain.gradcam_map", (alpha[:, None, None] * a).sum(0))  # forgot the ReLU
