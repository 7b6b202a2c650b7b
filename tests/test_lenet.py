"""coursekit.models.LeNet5: the paper's shapes, parameter counts from the formulas, every option,
and the pieces of the CUDA path that can be exercised on a CPU."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.data import TensorLoader
from coursekit.device import seed_everything
from coursekit.models import LeNet5, count_parameters, summary
from coursekit.train import evaluate, fit, use_amp


def conv_params(c_in, c_out, k):
    return c_out * (c_in * k * k + 1)


def linear_params(n_in, n_out):
    return n_out * (n_in + 1)


def test_output_shape_and_dtype():
    model = LeNet5()
    out = model(torch.randn(7, 1, 28, 28))
    assert out.shape == (7, 10)
    assert out.dtype == torch.float32


def test_the_papers_feature_map_shapes():
    rows = summary(LeNet5(activation="tanh", pool="avg"), (1, 28, 28))
    shapes = [row.output_shape for row in rows if row.kind in {"Conv2d", "AvgPool2d", "Linear"}]
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,), (10,)]


def test_parameters_per_layer_follow_the_formulas():
    model = LeNet5()
    expected = {
        "C1": conv_params(1, 6, 5),
        "C3": conv_params(6, 16, 5),
        "C5": linear_params(16 * 5 * 5, 120),
        "F6": linear_params(120, 84),
        "output": linear_params(84, 10),
    }
    layers = {"C1": model.c1, "C3": model.c3, "C5": model.c5, "F6": model.f6, "output": model.output}
    for name, layer in layers.items():
        assert count_parameters(layer) == expected[name], name
    assert expected == {"C1": 156, "C3": 2416, "C5": 48120, "F6": 10164, "output": 850}
    assert count_parameters(model) == sum(expected.values()) == 61706
    assert summary(model, (1, 28, 28)).total_parameters == 61706


def test_in_channels_and_num_classes_change_only_the_ends():
    model = LeNet5(in_channels=3, num_classes=4)
    assert model(torch.randn(2, 3, 28, 28)).shape == (2, 4)
    assert count_parameters(model.c1) == conv_params(3, 6, 5)
    assert count_parameters(model.output) == linear_params(84, 4)


@pytest.mark.parametrize("activation,kind", [("relu", nn.ReLU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid)])
@pytest.mark.parametrize("pool,pool_kind", [("max", nn.MaxPool2d), ("avg", nn.AvgPool2d)])
def test_each_option_builds_its_layers_and_trains(activation, kind, pool, pool_kind):
    seed_everything(0)
    model = LeNet5(activation=activation, pool=pool)
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(kind) == 4 and kinds.count(pool_kind) == 2
    assert model.config == dict(activation=activation, pool=pool, in_channels=1, num_classes=10)
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


def test_unknown_options_are_refused():
    with pytest.raises(ValueError, match="activation"):
        LeNet5(activation="gelu")
    with pytest.raises(ValueError, match="pool"):
        LeNet5(pool="min")


def test_feature_maps_match_the_forward_pass():
    """ReLU and max pooling commute, so pooling C3's pictured maps gives what the classifier reads."""
    seed_everything(0)
    model = LeNet5().eval()
    x = torch.randn(3, 1, 28, 28)
    maps = model.feature_maps(x)
    assert maps["C1"].shape == (3, 6, 28, 28) and maps["C3"].shape == (3, 16, 10, 10)
    torch.testing.assert_close(model.classifier(F.max_pool2d(maps["C3"], 2)), model(x))
    torch.testing.assert_close(F.relu(F.max_pool2d(model.c1(x), 2)), F.max_pool2d(maps["C1"], 2))


def test_feature_maps_squash_the_convolutions_of_the_1998_variant():
    seed_everything(0)
    model = LeNet5(activation="tanh", pool="avg").eval()
    x = torch.randn(3, 1, 28, 28)
    maps = model.feature_maps(x)
    torch.testing.assert_close(maps["C1"], torch.tanh(model.c1(x)))
    s2 = torch.tanh(F.avg_pool2d(model.c1(x), 2))  # the 1998 S2 squashes after averaging
    torch.testing.assert_close(maps["C3"], torch.tanh(model.c3(s2)))
    assert maps["C1"].abs().max() <= 1


def test_translation_moves_c1_feature_maps_with_the_digit():
    """A convolution is shift-equivariant: shifting the input shifts C1's maps (away from edges)."""
    seed_everything(0)
    model = LeNet5().eval()
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 8:14, 8:14] = torch.rand(6, 6)
    shifted = torch.roll(x, shifts=(3, 2), dims=(2, 3))
    a, b = model.feature_maps(x)["C1"], model.feature_maps(shifted)["C1"]
    torch.testing.assert_close(torch.roll(a, shifts=(3, 2), dims=(2, 3))[..., 4:24, 4:24], b[..., 4:24, 4:24])


def test_lenet_learns_a_small_mnist_subset_with_the_course_loop():
    """Forward/backward/step through TensorLoader + fit on the CPU: the loss falls, accuracy rises."""
    from coursekit.data import load_idx, normalization

    seed_everything(0)
    images, labels = load_idx("mnist", train=True)
    mean, std = normalization("mnist")
    train = TensorLoader(images[:1024], labels[:1024], 64, shuffle=True, seed=0, mean=mean, std=std, device="cpu")
    val = TensorLoader(images[1024:1536], labels[1024:1536], 256, mean=mean, std=std, device="cpu")
    model = LeNet5()
    _, acc_before = evaluate(model, val, torch.device("cpu"))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    history = fit(model, train, val, 3, opt, device=torch.device("cpu"), progress=False, live=False)
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_acc[-1] > max(0.8, acc_before + 0.5)


def test_cpu_path_pieces_of_the_cuda_recipe():
    """On CUDA, TensorLoader pins memory and copies non-blocking and fit uses AMP; on the CPU
    neither happens, and batches arrive as normalised float32 on the requested device."""
    images = torch.randint(0, 256, (10, 1, 28, 28), dtype=torch.uint8)
    loader = TensorLoader(images, torch.arange(10), batch_size=4, mean=0.5, std=0.25, device="cpu")
    assert not loader.images.is_pinned()
    x, y = next(iter(loader))
    assert x.device.type == "cpu" and x.dtype == torch.float32
    torch.testing.assert_close(x, (images[:4].float() / 255 - 0.5) / 0.25)
    assert not use_amp(torch.device("cpu"))
    assert use_amp(torch.device("cuda"))  # decided from the device type alone; no GPU needed
    # with AMP off, a LeNet forward inside the same autocast context fit uses stays float32
    with torch.autocast(device_type="cpu", dtype=torch.float16, enabled=use_amp(torch.device("cpu"))):
        assert LeNet5()(x).dtype == torch.float32


def test_channels_last_and_fused_adamw_change_the_speed_not_the_result():
    """Notebook 09 stores LeNet-5 channels-last and runs AdamW fused: the same training steps as the
    plain NCHW model with the for-loop AdamW, up to float rounding."""
    seed_everything(0)
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    lr = 1e-2
    plain = LeNet5()
    start = {name: p.detach().clone() for name, p in plain.named_parameters()}
    fast = copy.deepcopy(plain).to(memory_format=torch.channels_last)
    assert fast.c1.weight.is_contiguous(memory_format=torch.channels_last)
    optimizers = {
        plain: torch.optim.AdamW(plain.parameters(), lr=lr, weight_decay=1e-4),
        fast: torch.optim.AdamW(fast.parameters(), lr=lr, weight_decay=1e-4, fused=True),
    }
    for _ in range(3):
        for model, optimizer in optimizers.items():
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    # Adam moves every weight by up to lr per step, and for a near-zero gradient m / sqrt(v) magnifies
    # rounding: so "the same" means within 1 % of one step, while the weights moved far more than that.
    for (name, p), q, p0 in zip(plain.named_parameters(), fast.parameters(), start.values(), strict=True):
        assert (p - p0).abs().max() > lr, f"{name} did not train"
        torch.testing.assert_close(q, p, rtol=0, atol=lr / 100, msg=lambda m, name=name: f"{name}: {m}")
    torch.testing.assert_close(fast(x), plain(x), rtol=1e-3, atol=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_loader_pins_and_amp_trains():
    images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8)
    loader = TensorLoader(images, torch.randint(0, 10, (64,)), 32, shuffle=True, device="cuda")
    assert loader.images.is_pinned()
    model = LeNet5()
    history = fit(
        model,
        loader,
        loader,
        1,
        torch.optim.AdamW(model.parameters()),
        device=torch.device("cuda"),
        progress=False,
        live=False,
    )
    assert next(model.parameters()).dtype == torch.float32  # AMP keeps float32 master weights
    assert history.val_acc[-1] is not None


def test_the_papers_parameter_count_is_sixty_thousand():
    from coursekit.models.lenet import C3_CONNECTIONS, paper_parameter_counts

    assert len(C3_CONNECTIONS) == 16
    assert sorted(len(c) for c in C3_CONNECTIONS) == [3] * 6 + [4] * 9 + [6]
    assert len(set(C3_CONNECTIONS)) == 16  # no two C3 maps read the same S2 maps
    counts = paper_parameter_counts()
    assert counts["C3"] == (6 * 3 + 9 * 4 + 6) * 25 + 16 == 1516
    assert sum(counts.values()) == 60_000


def test_exercise_answers_match_hand_counts():
    from coursekit.checks import check

    connections = 6 * 3 + 9 * 4 + 6  # S2 maps read by the sixteen C3 maps
    assert check("lenet.parameters_rgb", 61_706 + 6 * 5 * 5 * 2)  # only C1 sees the two extra channels
    assert check("lenet.c3_connections_1998", (connections * 25 + 16) * 10 * 10)
    assert check("lenet.s4_shape_32", (16, 6, 6))  # 32 -> 32 -> 16 -> 12 -> 6
    assert check("lenet.dense_first_layer", 28 * 28 * 6 * 28 * 28 + 6 * 28 * 28)
    assert check("lenet.c5_as_convolution", (120, 1, 1))
    assert not check("lenet.s4_shape_32", (16, 5, 5))
    assert count_parameters(LeNet5()) == 61_706
