"""Notebook 12's architectures: NiN, GoogLeNet/Inception, depthwise-separable convolutions and
MobileNetV2, squeeze-and-excitation; the FLOP counter on every model of the course; the race.

Counts are checked against torchvision's own models built without weights (on the meta device:
shapes only, nothing allocated or downloaded). FLOPs are checked against a hand count and against
``torch.utils.flop_counter.FlopCounterMode``. FlopCounterMode also counts 2 FLOPs per multiply-add
but leaves out the bias additions, which ``count_flops`` includes (one per output value of a Conv2d
or Linear with a bias); the comparison subtracts them.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from coursekit.checks import check, exercises
from coursekit.errors import UnknownName
from coursekit.models import (
    VGG,
    AlexNet,
    DenseBlock,
    DenseLayer,
    DepthwiseSeparable,
    GoogLeNet,
    Inception,
    InceptionAux,
    InvertedResidual,
    LeNet5,
    MobileNetV2,
    NiN,
    ResidualBlock,
    ResNet,
    SEBlock,
    SEResidualBlock,
    SEResNet,
    Transition,
    count_flops,
    count_parameters,
    gap_head,
    nin_block,
)
from coursekit.models.mobilenet import depthwise_conv
from coursekit.profile import PROFILES, settings
from coursekit.race import RACE_NAMES, RaceRun, race, race_models, summarize, train_and_test

ROOT = Path(__file__).resolve().parents[1]


def on_meta(build):
    with torch.device("meta"):  # parameter shapes only: no memory, no initialisation cost
        return build()


# --- parameter counts against torchvision --------------------------------------------------------


@pytest.mark.parametrize("aux, expected", [(False, 6_624_904), (True, 13_004_888)])
def test_googlenet_matches_torchvision(aux, expected):
    ours = on_meta(lambda: GoogLeNet(aux_logits=aux, large_kernel=3))
    theirs = on_meta(lambda: torchvision.models.googlenet(weights=None, aux_logits=aux, init_weights=False))
    assert count_parameters(ours) == count_parameters(theirs) == expected
    shapes = sorted(tuple(p.shape) for p in ours.parameters())
    assert shapes == sorted(tuple(p.shape) for p in theirs.parameters())  # the same tensors, not just the sum


def test_googlenet_paper_kernel_costs_what_the_5x5_branches_add():
    torchvision_layout, paper = on_meta(lambda: GoogLeNet(large_kernel=3)), on_meta(lambda: GoogLeNet())
    extra = sum(r5 * c5 * (25 - 9) for stage in paper.config["stages"] for (_, _, _, r5, c5, _) in stage)
    assert count_parameters(paper) - count_parameters(torchvision_layout) == extra == 380_928


def test_mobilenet_v2_matches_torchvision():
    ours = on_meta(MobileNetV2)
    theirs = on_meta(lambda: torchvision.models.mobilenet_v2(weights=None))
    assert count_parameters(ours) == count_parameters(theirs) == 3_504_872
    assert sorted(tuple(p.shape) for p in ours.parameters()) == sorted(tuple(p.shape) for p in theirs.parameters())


def test_googlenet_shape_table_at_224():
    torch.manual_seed(0)
    net = GoogLeNet(large_kernel=3).eval()
    shapes = []
    with torch.no_grad():
        x = net.stem(torch.zeros(1, 3, 224, 224))
        shapes.append(tuple(x.shape[1:]))
        for s, stage in enumerate(net.stages):
            x = stage(net.pool(x) if s else x)
            shapes.append(tuple(x.shape[1:]))
        assert net.head(x).shape == (1, 1000)
    assert shapes == [(192, 28, 28), (480, 28, 28), (832, 14, 14), (1024, 7, 7)]
    assert [b.out_channels for stage in net.stages for b in stage] == [256, 480, 512, 512, 512, 528, 832, 832, 1024]


def test_googlenet_auxiliary_outputs_only_when_asked():
    torch.manual_seed(0)
    net = GoogLeNet(aux_logits=True, large_kernel=3, num_classes=7)
    x = torch.randn(2, 3, 96, 96)  # the auxiliary heads pool adaptively: any size that survives the stem
    logits, aux1, aux2 = net(x, with_aux=True)
    assert logits.shape == aux1.shape == aux2.shape == (2, 7)
    assert net(x).shape == (2, 7)
    assert [m.in_channels for m in net.aux] == [512, 528]  # after 4a and after 4d
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 5  # one on the main path, two in each auxiliary classifier


# --- forward and backward ---------------------------------------------------------------------------

SMALL_MODELS = {
    "NiN": lambda: NiN.small(4),
    "GoogLeNet.small": lambda: GoogLeNet.small(4),
    "MobileNetV2.small": lambda: MobileNetV2.small(8),
    "SEResNet.small": lambda: SEResNet.small(8, 4, reduction=2),
}


@pytest.mark.parametrize("name", list(SMALL_MODELS))
def test_small_models_forward_and_backward(name):
    torch.manual_seed(0)
    model = SMALL_MODELS[name]()
    logits = model(torch.randn(4, 1, 28, 28))
    assert logits.shape == (4, 10)
    F.cross_entropy(logits, torch.tensor([0, 1, 2, 3])).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"{name}: no finite gradient for {missing}"


@pytest.mark.parametrize(
    "block, x, out_shape",
    [
        (lambda: Inception(16, 4, 4, 8, 2, 4, 4), (2, 16, 9, 9), (2, 20, 9, 9)),
        (lambda: Inception(16, 4, 4, 8, 2, 4, 4, large_kernel=3, batch_norm=False), (2, 16, 9, 9), (2, 20, 9, 9)),
        (lambda: InceptionAux(24, 5), (2, 24, 14, 14), (2, 5)),
        (lambda: DepthwiseSeparable(8, 16, stride=2), (2, 8, 9, 9), (2, 16, 5, 5)),
        (lambda: InvertedResidual(8, 8), (2, 8, 9, 9), (2, 8, 9, 9)),
        (lambda: InvertedResidual(8, 12, stride=2, expansion=1), (2, 8, 9, 9), (2, 12, 5, 5)),
        (lambda: SEBlock(16, 4), (2, 16, 5, 5), (2, 16, 5, 5)),
        (lambda: SEResidualBlock(8, 16, stride=2, reduction=4), (2, 8, 9, 9), (2, 16, 5, 5)),
        (lambda: nin_block(3, 8, 5, stride=2), (2, 3, 9, 9), (2, 8, 5, 5)),
        (lambda: gap_head(8, 10), (2, 8, 3, 5), (2, 10)),
    ],
)
def test_block_shapes_and_gradients(block, x, out_shape):
    torch.manual_seed(0)
    module = block()
    inputs = torch.randn(*x, requires_grad=True)
    out = module(inputs)
    assert out.shape == out_shape
    out.square().mean().backward()
    assert inputs.grad is not None and inputs.grad.abs().sum() > 0


def test_inverted_residual_shortcut_and_linear_bottleneck():
    same, wider = InvertedResidual(8, 8), InvertedResidual(8, 16)
    assert same.use_shortcut and not wider.use_shortcut and not InvertedResidual(8, 8, stride=2).use_shortcut
    assert isinstance(same.project[-1], nn.BatchNorm2d)  # no ReLU after the projection
    assert isinstance(InvertedResidual(8, 8, expansion=1).expand, nn.Identity)
    torch.manual_seed(0)
    nn.init.zeros_(same.project[1].weight)  # projection's BatchNorm scale 0: the block returns x unchanged
    nn.init.zeros_(same.project[1].bias)
    x = torch.randn(2, 8, 5, 5)
    assert torch.equal(same.eval()(x), x)


def test_nin_accepts_any_input_size_and_has_no_linear_layer():
    model = NiN.small(4).eval()
    with torch.no_grad():
        for side in (28, 36, 64):
            assert model(torch.zeros(2, 1, side, side)).shape == (2, 10)
    assert not any(isinstance(m, nn.Linear) for m in model.modules())
    assert count_parameters(model.head) == 32 * 10 + 10


# --- the identities the notebook shows --------------------------------------------------------------


def test_1x1_convolution_is_a_linear_layer_at_every_pixel():
    torch.manual_seed(0)
    conv, linear = nn.Conv2d(12, 5, 1), nn.Linear(12, 5)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.view(5, 12))
        linear.bias.copy_(conv.bias)
    x = torch.randn(3, 12, 4, 6)
    per_pixel = linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(conv(x), per_pixel, atol=1e-6, rtol=1e-6)


def test_depthwise_is_a_grouped_convolution_of_each_channel_on_its_own():
    torch.manual_seed(0)
    dw = depthwise_conv(6, 3)
    assert dw.groups == 6 and dw.weight.shape == (6, 1, 3, 3)
    x = torch.randn(2, 6, 7, 7)
    per_channel = torch.cat([F.conv2d(x[:, c : c + 1], dw.weight[c : c + 1], padding=1) for c in range(6)], dim=1)
    torch.testing.assert_close(dw(x), per_channel, atol=1e-6, rtol=1e-6)


def test_separable_equals_a_standard_convolution_with_factored_kernels():
    torch.manual_seed(0)
    dw, pw = depthwise_conv(6, 3), nn.Conv2d(6, 4, 1, bias=False)
    kernel = pw.weight[:, :, 0, 0, None, None] * dw.weight[:, 0][None]  # K[o, i] = P[o, i] * D[i]: (4, 6, 3, 3)
    x = torch.randn(2, 6, 7, 7)
    torch.testing.assert_close(pw(dw(x)), F.conv2d(x, kernel, padding=1), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("c_in, c_out, k", [(64, 64, 3), (32, 128, 5), (16, 7, 3)])
def test_separable_cost_ratio_is_one_over_c_out_plus_one_over_k_squared(c_in, c_out, k):
    standard = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
    separable = nn.Sequential(depthwise_conv(c_in, k), nn.Conv2d(c_in, c_out, 1, bias=False))
    flops = Fraction(count_flops(separable, (c_in, 10, 10)), count_flops(standard, (c_in, 10, 10)))
    params = Fraction(count_parameters(separable), count_parameters(standard))
    assert flops == params == Fraction(1, c_out) + Fraction(1, k * k)


def test_se_block_gates_and_its_parameter_count():
    torch.manual_seed(0)
    se = SEBlock(64, reduction=16)
    assert count_parameters(se) == 2 * 64 * 4 + 4 + 64
    x = torch.randn(3, 64, 5, 5)
    gates = se.gates(x)
    assert gates.shape == (3, 64) and ((gates > 0) & (gates < 1)).all()
    torch.testing.assert_close(se(x), x * gates[:, :, None, None])
    assert SEBlock(8, reduction=16).fc1.out_features == 1  # never fewer than one hidden unit


def test_se_residual_block_with_open_gates_is_the_residual_block():
    torch.manual_seed(0)
    plain, gated = ResidualBlock(8, 16, stride=2).eval(), SEResidualBlock(8, 16, stride=2, reduction=4).eval()
    missing, unexpected = gated.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(name.startswith("se.") for name in missing)
    with torch.no_grad():
        gated.se.fc2.weight.zero_()
        gated.se.fc2.bias.fill_(40.0)  # sigmoid(40) == 1.0 in float32: every gate fully open
    x = torch.randn(2, 8, 9, 9)
    assert torch.equal(gated(x), plain(x))


def test_se_resnet_is_resnet_plus_one_se_block_per_block():
    se_net, plain = SEResNet.small(14, 8, reduction=4), ResNet.small(14, 8)
    blocks = [m for m in se_net.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 6 and all(isinstance(b, SEResidualBlock) for b in blocks)
    extra = sum(count_parameters(b.se) for b in blocks)
    assert count_parameters(se_net) == count_parameters(plain) + extra
    assert se_net.depth == plain.depth == 14 and se_net.config["reduction"] == 4


# --- the FLOP counter: by hand, and against torch's own counter on every model of the course --------


def test_flops_of_grouped_and_depthwise_convolutions_by_hand():
    grouped = nn.Conv2d(8, 16, 3, padding=1, groups=4)  # each output sees 8/4 = 2 input channels
    assert count_flops(grouped, (8, 5, 5)) == 2 * (2 * 3 * 3) * 16 * 5 * 5 + 16 * 5 * 5
    assert count_flops(depthwise_conv(8, 5, stride=2), (8, 9, 9)) == 2 * (1 * 5 * 5) * 8 * 5 * 5


def _bias_adds(model: nn.Module, input_size: tuple) -> int:
    """One addition per output value of every Conv2d/Linear with a bias, for one input."""
    adds = 0

    def hook(module, inputs, output):
        nonlocal adds
        adds += output[0].numel()

    with_bias = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None]
    handles = [m.register_forward_hook(hook) for m in with_bias]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_size))
    finally:
        for handle in handles:
            handle.remove()
    return adds


def _torch_flops(model: nn.Module, input_size: tuple) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, *input_size))
    return counter.get_total_flops()


COURSE_MODELS = {
    "LeNet5": (lambda: LeNet5(), (1, 28, 28)),
    "LeNet5-1998": (lambda: LeNet5(activation="tanh", pool="avg"), (1, 28, 28)),
    "AlexNet.small": (lambda: AlexNet.small(width=0.125, hidden=64), (1, 28, 28)),
    "VGG-small": (lambda: VGG([(2, 8), (2, 16)], num_classes=10, in_channels=1, hidden=32, pooled=3), (1, 28, 28)),
    "ResNet.small": (lambda: ResNet.small(8, 4), (1, 28, 28)),
    "ResNet.fashion": (lambda: ResNet.fashion(), (1, 28, 28)),
    "ResNet-bottleneck": (lambda: ResNet("bottleneck", (1, 1), (4, 8), "small", 1, 10), (1, 28, 28)),
    "DenseLayer": (lambda: DenseLayer(8, 4), (8, 8, 8)),
    "DenseBlock": (lambda: DenseBlock(8, 4, 3), (8, 8, 8)),
    "Transition": (lambda: Transition(20, 10), (20, 8, 8)),
    "NiN.small": (lambda: NiN.small(4), (1, 28, 28)),
    "NiN-no-bn": (lambda: NiN((4, 8), batch_norm=False), (1, 28, 28)),
    "Inception": (lambda: Inception(16, 4, 4, 8, 2, 4, 4, batch_norm=False), (16, 9, 9)),
    "GoogLeNet.small": (lambda: GoogLeNet.small(4), (1, 28, 28)),
    "GoogLeNet": (lambda: GoogLeNet(large_kernel=3), (3, 112, 112)),  # any size: the arithmetic is the same
    "DepthwiseSeparable": (lambda: DepthwiseSeparable(8, 16), (8, 9, 9)),
    "MobileNetV2.small": (lambda: MobileNetV2.small(8), (1, 28, 28)),
    "MobileNetV2": (lambda: MobileNetV2(), (3, 112, 112)),
    "SEBlock": (lambda: SEBlock(16, 4), (16, 5, 5)),
    "SEResNet.small": (lambda: SEResNet.small(8, 4, reduction=2), (1, 28, 28)),
}


@pytest.mark.parametrize("name", list(COURSE_MODELS))
def test_count_flops_agrees_with_torch_flop_counter(name):
    build, input_size = COURSE_MODELS[name]
    torch.manual_seed(0)
    model = build()
    ours = count_flops(model, input_size)
    assert ours > 0
    assert ours - _bias_adds(model, input_size) == _torch_flops(model, input_size)


# --- bad inputs -------------------------------------------------------------------------------------

BAD = [
    (lambda: Inception(16, 0, 4, 8, 2, 4, 4), ValueError, "c1 must be an integer >= 1, got 0"),
    (lambda: Inception(16, 4, 4, 8, 2, 4, 4, large_kernel=4), ValueError, "large_kernel must be odd"),
    (lambda: GoogLeNet(stem="tiny"), UnknownName, "unknown stem 'tiny'; choose one of: imagenet, small"),
    (lambda: GoogLeNet(stages=[[(1, 2, 3)]]), ValueError, r"stages\[0\]\[0\] has 3 numbers"),
    (lambda: GoogLeNet(stages=[[]]), ValueError, "stage 0 is"),
    (lambda: GoogLeNet(stages=[]), ValueError, "got an empty list"),
    (lambda: GoogLeNet(stages="3a"), ValueError, "stages must be"),
    (lambda: GoogLeNet.small(0), ValueError, "width must be an integer >= 1, got 0"),
    (lambda: GoogLeNet(dropout=1.5), ValueError, "dropout must be a probability"),
    (
        lambda: GoogLeNet(stages=GoogLeNet.small(4).config["stages"], stem="small", aux_logits=True),
        ValueError,
        "aux_logits=True needs a second stage of at least four blocks",
    ),
    (lambda: InceptionAux(0, 10), ValueError, "in_channels must be an integer >= 1"),
    (lambda: depthwise_conv(8, 4), ValueError, "kernel_size must be odd"),
    (lambda: DepthwiseSeparable(8, 2.5), ValueError, "out_channels must be an integer >= 1, got 2.5"),
    (lambda: InvertedResidual(16, 16, expansion=0), ValueError, "expansion must be an integer >= 1, got 0"),
    (lambda: MobileNetV2(settings=[(6, 24, 2)]), ValueError, r"settings\[0\] must be \(expansion t"),
    (lambda: MobileNetV2(settings=[]), ValueError, "got an empty list"),
    (lambda: MobileNetV2(last_channels=-1), ValueError, "last_channels must be an integer >= 1, got -1"),
    (lambda: SEBlock(16, reduction=0), ValueError, "reduction must be an integer >= 1, got 0"),
    (lambda: SEResNet("bottleneck", (1,), (4,), "small", 1, 10), ValueError, "SEResNet is built from basic blocks"),
    (lambda: SEResNet.small(depth=9), ValueError, "depth must be 2\\*3\\*n \\+ 2"),
    (lambda: NiN(widths=(8, 16), kernel_sizes=(3,)), ValueError, "kernel_sizes needs one entry per block"),
    (lambda: NiN(widths=()), ValueError, "widths must be a non-empty sequence"),
    (lambda: gap_head(8, 0), ValueError, "num_classes must be an integer >= 1, got 0"),
    (lambda: race_models({"LeNet": 4}), UnknownName, "unknown racer 'LeNet'; choose one of"),
    (lambda: race_models({"NiN": 0}), ValueError, r"widths\['NiN'\] must be an integer >= 1, got 0"),
    (lambda: race_models([]), TypeError, "widths must be a non-empty mapping"),
]


@pytest.mark.parametrize("build, error, message", BAD, ids=[m[:40] for _, _, m in BAD])
def test_bad_arguments_are_refused_with_a_clear_message(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize(
    "model, x, message",
    [
        (lambda: NiN.small(4), torch.zeros(1, 3, 28, 28), "NiN was built for 1 input channel"),
        (lambda: GoogLeNet.small(4), torch.zeros(1, 28, 28), "add the batch dimension"),
        (lambda: MobileNetV2.small(8), torch.zeros(1, 1, 28, 28, dtype=torch.uint8), "floating-point input"),
        (lambda: Inception(16, 4, 4, 8, 2, 4, 4), torch.zeros(1, 8, 9, 9), "Inception was built for 16"),
        (lambda: SEBlock(16), torch.zeros(1, 8, 5, 5), "SEBlock was built for 16"),
        (lambda: InvertedResidual(8, 8), torch.zeros(1, 4, 5, 5), "InvertedResidual was built for 8"),
    ],
)
def test_wrong_input_is_reported_in_the_models_terms(model, x, message):
    with pytest.raises((ValueError, TypeError), match=message):
        model()(x)


def test_with_aux_needs_auxiliary_classifiers():
    with pytest.raises(ValueError, match="with_aux=True needs a GoogLeNet built with aux_logits=True"):
        GoogLeNet.small(4)(torch.zeros(1, 1, 28, 28), with_aux=True)


# --- the race ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_race_settings_name_every_racer_at_matched_sizes(profile):
    cfg = settings("architectures", profile)
    assert set(cfg.widths) == set(RACE_NAMES) and len(cfg.seeds) >= 1 and 0 < cfg.min_accuracy < 1
    counts = {name: count_parameters(on_meta(build)) for name, build in race_models(cfg.widths).items()}
    assert list(counts) == list(RACE_NAMES)
    assert max(counts.values()) <= 1.5 * min(counts.values()), counts
    if profile == "cpu":
        assert len(cfg.seeds) >= 3  # mean and spread over several seeds


def test_race_trains_every_model_with_every_seed_repeatably():
    from coursekit.data import tensor_splits

    splits = tensor_splits("fashion_mnist", batch_size=32, train_subset=64, val_size=32, test_subset=32, seed=0)
    builders = race_models({"NiN": 2, "plain CNN": 2})
    lines = []
    runs = race(builders, splits, seeds=(0, 1), epochs=1, lr=1e-3, weight_decay=0.0, device="cpu", report=lines.append)
    assert [(r.model, r.seed) for r in runs] == [("plain CNN", 0), ("NiN", 0), ("plain CNN", 1), ("NiN", 1)]
    assert len(lines) == 4 and lines[1].startswith("NiN          seed 0: test accuracy")
    assert all(r.train_images == 64 and 0 <= r.test_accuracy <= 1 and r.images_per_second > 0 for r in runs)
    again = train_and_test("NiN", builders["NiN"], splits, 1, 1e-3, 0.0, seed=1, device="cpu")
    assert again.test_accuracy == runs[3].test_accuracy and again.val_accuracy == runs[3].val_accuracy
    rows = summarize(runs)
    assert [r["model"] for r in rows] == ["plain CNN", "NiN"] and all(r["seeds"] == 2 for r in rows)
    nin = [r.test_accuracy for r in runs if r.model == "NiN"]
    assert rows[1]["test_accuracy_min"] == min(nin) and rows[1]["test_accuracy_max"] == max(nin)
    assert set(RaceRun.__dataclass_fields__) <= set(runs[0].as_dict())
    with pytest.raises(ValueError, match="seeds must hold at least one seed"):
        race(builders, splits, seeds=(), epochs=1, lr=1e-3, weight_decay=0.0)


# --- the exercises and the benchmark ----------------------------------------------------------------


def test_every_architectures_exercise_accepts_the_worked_answer():
    keys = [k for k in exercises() if k.startswith("architectures.")]
    assert len(keys) == 6
    bn = 2  # a BatchNorm holds a scale and a shift per channel
    inception = (
        (128 * 32 + bn * 32)
        + (128 * 48 + bn * 48 + 48 * 64 * 9 + bn * 64)
        + (128 * 8 + bn * 8 + 8 * 16 * 25 + bn * 16)
        + (128 * 16 + bn * 16)
    )
    hidden = 40 * 6
    answers = {
        "architectures.inception_parameters": inception,
        "architectures.reduction_saving_3a": (192 * 25 * 32 - (192 * 16 + 16 * 25 * 32)) * 28 * 28,
        "architectures.separable_ratio_5x5": 1 / 128 + 1 / 25,
        "architectures.inverted_residual_parameters": 40 * hidden
        + bn * hidden
        + hidden * 9
        + bn * hidden
        + hidden * 40
        + bn * 40,
        "architectures.se_parameters": 256 * 16 + 16 + 16 * 256 + 256,
        "architectures.nin_class_maps_64": (10, 16, 16),
    }
    assert set(answers) == set(keys)
    for key, answer in answers.items():
        assert check(key, answer), key
        assert not check(key, answer + 1 if isinstance(answer, int) else (10, 15, 15)), key


def _benchmark(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_uses_the_shared_helpers_and_answers_help(capsys):
    module = _benchmark("architectures")
    for script in ("architectures", "modern_cnns"):
        source = (ROOT / "benchmarks" / f"{script}.py").read_text()
        assert "matmul_peak_gflops" in source and "def matmul_peak_gflops" not in source
        assert "def training_images_per_second" not in source and "write_json(" not in source
    with pytest.raises(SystemExit) as exit_:
        module.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out.replace("\n", "").replace(" ", "")
    assert "--quick" in out and "benchmarks/results/architectures.json" in out
