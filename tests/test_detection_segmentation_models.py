"""GridDetector and UNet (shapes, gradients, bad input), the detection loss, transposed convolutions as the
backward pass of a convolution (autograd, coursekit.layers, the matrix view), their FLOPs, and
`fit(accuracy=False)` training both models a few steps on a handful of scenes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit import layers
from coursekit.boxes import decode, encode_targets, mean_average_precision
from coursekit.data.scenes import detection_loader, make_scenes, segmentation_loader
from coursekit.losses import detection_loss, detection_loss_parts
from coursekit.metrics import segmentation_iou
from coursekit.models import GridDetector, UNet, count_flops, flops_by_layer
from coursekit.train import evaluate, fit

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors (conftest.py)


@pytest.fixture(scope="module")
def few():
    return make_scenes("mnist", 8, seed=0)


def quiet(**kwargs):
    return dict(device="cpu", progress=False, live=False, **kwargs)


# ---------------------------------------------------------------------------------------------
# GridDetector


def test_detector_output_is_a_grid_of_5_plus_k_channels():
    model = GridDetector(num_classes=10)
    assert model.stride == 8 and model(torch.zeros(2, 1, 96, 96)).shape == (2, 15, 12, 12)
    assert model(torch.zeros(1, 1, 64, 32)).shape == (1, 15, 8, 4)
    deeper = GridDetector(in_channels=3, num_classes=4, widths=(8, 16, 32, 32), context=0)
    assert deeper.stride == 16 and deeper(torch.zeros(1, 3, 96, 96)).shape == (1, 9, 6, 6)


def test_detector_starts_at_its_objectness_prior():
    model = GridDetector(prior=0.02).eval()
    objectness = torch.sigmoid(model.head.bias[0]).item()
    assert objectness == pytest.approx(0.02) and model.head.bias[1:].abs().max() == 0


def test_detector_gradients_reach_every_parameter(few):
    model = GridDetector()
    x, targets = next(iter(detection_loader(few, grid=12, batch_size=8)))
    detection_loss(model(x), targets).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


# ---------------------------------------------------------------------------------------------
# UNet


def test_unet_keeps_the_size_and_gives_logits_per_pixel():
    model = UNet(num_classes=11)
    assert model(torch.zeros(2, 1, 96, 96)).shape == (2, 11, 96, 96)
    assert UNet(3, 4, widths=(4, 8))(torch.zeros(1, 3, 10, 6)).shape == (1, 4, 10, 6)
    ups = [m for m in model.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in ups] == [
        (64, 32, (2, 2), (2, 2)),
        (32, 16, (2, 2), (2, 2)),
        (16, 8, (2, 2), (2, 2)),
    ]


def test_unet_starts_at_the_background_prior():
    probabilities = torch.softmax(UNet(num_classes=5, background=0.8).head.bias, 0)
    torch.testing.assert_close(probabilities, torch.tensor([0.8, 0.05, 0.05, 0.05, 0.05]))


def test_unet_skips_carry_full_resolution_detail():
    # Cut the path from below (the last up-convolution outputs zeros): a one-pixel change of the input
    # still changes the output around it, through the level-0 skip -- and only within the 9-pixel reach
    # of the two double convs at full resolution.
    model = UNet().eval()
    last_up = model.decoder[-1].up
    nn.init.zeros_(last_up.weight)
    nn.init.zeros_(last_up.bias)
    x = torch.zeros(1, 1, 32, 32)
    y = x.clone()
    y[0, 0, 10, 20] = 1.0
    change = (model(y) - model(x)).abs().sum(1)[0]
    assert change[10, 20] > 0
    reached = change.nonzero()
    assert (reached - torch.tensor([10, 20])).abs().max() <= 4  # 4 stacked 3x3 convs: 4 pixels each way


def test_unet_gradients_reach_every_parameter(few):
    model = UNet()
    x, masks = next(iter(segmentation_loader(few, batch_size=4)))
    F.cross_entropy(model(x), masks).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: GridDetector()(torch.zeros(1, 1, 90, 96)), ValueError, "multiples of 8, got 90x96"),
        (lambda: GridDetector()(torch.zeros(1, 3, 96, 96)), ValueError, "built for 1 input channel"),
        (lambda: GridDetector()(torch.zeros(1, 96, 96)), ValueError, r"unsqueeze\(0\)"),
        (lambda: GridDetector(widths=()), ValueError, "widths must be a non-empty sequence"),
        (lambda: GridDetector(prior=1.0), ValueError, "prior must be strictly between 0 and 1"),
        (lambda: GridDetector(context=-1), ValueError, "context must be an integer >= 0"),
        (lambda: GridDetector(num_classes=0), ValueError, "num_classes must be an integer >= 1"),
        (lambda: UNet()(torch.zeros(1, 1, 92, 96)), ValueError, "multiples of 8, got 92x96"),
        (lambda: UNet()(torch.zeros(1, 1, 96, 96, dtype=torch.uint8)), TypeError, "floating-point"),
        (lambda: UNet(widths=(8,)), ValueError, "at least two levels"),
        (lambda: UNet(num_classes=1), ValueError, "num_classes must be an integer >= 2"),
        (lambda: UNet(background=0), ValueError, "background must be strictly between 0 and 1"),
        (lambda: detection_loss(torch.zeros(2, 15, 12, 12), torch.zeros(2, 6, 6, 6)), ValueError, r"\(2, 6, 12, 12\)"),
        (lambda: detection_loss(torch.zeros(2, 5, 12, 12), torch.zeros(2, 6, 12, 12)), ValueError, "5 \\+ num_classes"),
        (lambda: detection_loss(torch.zeros(1, 15, 2, 2), torch.zeros(1, 6, 2, 2).long()), TypeError, "float tensor"),
        (lambda: detection_loss(torch.zeros(1, 15, 2, 2), np.zeros((1, 6, 2, 2))), TypeError, "must be tensors"),
        (lambda: detection_loss(torch.zeros(1, 15, 2, 2), torch.zeros(1, 6, 2, 2), box_weight=-1), ValueError, "box_w"),
        (
            lambda: detection_loss_parts(torch.zeros(1, 15, 2, 2), torch.zeros(1, 6, 2, 2), math.nan),
            ValueError,
            "noobj",
        ),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------------------------
# The detection loss


def perfect(targets: torch.Tensor, num_classes: int = 10, confidence: float = 20.0) -> torch.Tensor:
    """Raw outputs that match encoded targets (N, 6, G, G) as closely as finite logits can."""
    out = torch.zeros(len(targets), 5 + num_classes, *targets.shape[-2:])
    out[:, 0] = torch.where(targets[:, 0] > 0.5, confidence, -confidence)
    out[:, 1:3] = torch.logit(targets[:, 1:3].clamp(1e-6, 1 - 1e-6))
    out[:, 3:5] = targets[:, 3:5]
    out[:, 5:] = -confidence
    out[:, 5:].scatter_(1, targets[:, 5].clamp(min=0).long()[:, None], confidence)
    return out


def test_the_loss_is_nearly_zero_for_perfect_predictions_and_grows_with_each_mistake(few):
    targets = encode_targets(few.boxes, few.labels, grid=12, size=96, num_classes=10)
    best = perfect(targets)
    parts = detection_loss_parts(best, targets)
    assert set(parts) == {"objectness", "box", "classes"}
    assert all(0 <= v < 1e-5 for v in parts.values()), parts
    responsible = targets[:, 0] > 0.5
    wrong_class = best.clone()
    wrong_class[:, 5:] = wrong_class[:, 5:].roll(1, dims=1)  # every cell now votes for the next digit
    wrong_box = best.clone()
    wrong_box[:, 3] += 0.5  # boxes 65% too wide
    missed = best.clone()
    missed[:, 0][responsible] = -20.0  # objects declared absent
    assert detection_loss_parts(wrong_class, targets)["classes"] > 10
    assert detection_loss_parts(wrong_box, targets)["box"] == pytest.approx(0.25 * responsible.sum() / len(targets))
    assert detection_loss_parts(missed, targets)["objectness"] > 10
    total = detection_loss(wrong_box, targets, box_weight=5.0)
    assert total.item() == pytest.approx(5 * 0.25 * responsible.sum().item() / len(targets), rel=1e-4)


def test_empty_cells_only_feel_the_objectness_term():
    targets = encode_targets([torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)], 4, 32, 3)
    pred = torch.randn(1, 8, 4, 4, requires_grad=True)
    parts = detection_loss_parts(pred, targets, noobj_weight=0.5)
    assert parts["box"] == 0 and parts["classes"] == 0
    expected = 0.5 * F.binary_cross_entropy_with_logits(pred[:, 0], torch.zeros(1, 4, 4), reduction="sum")
    assert parts["objectness"].item() == pytest.approx(expected.item())
    detection_loss(pred, targets).backward()
    assert pred.grad[:, 1:].abs().sum() == 0 and pred.grad[:, 0].abs().sum() > 0


# ---------------------------------------------------------------------------------------------
# Transposed convolution = the backward pass of a convolution

CASES = [  # (input side, kernel, stride, padding)
    (6, 3, 1, 0),
    (7, 3, 2, 1),
    (8, 3, 2, 1),  # stride 2 maps 7 and 8 to the same size: output_padding tells them apart
    (9, 4, 3, 2),
    (5, 2, 2, 0),
]


@pytest.mark.parametrize("side, k, s, p", CASES)
def test_conv_transpose_is_the_input_gradient_of_conv(side, k, s, p):
    g = torch.Generator().manual_seed(side * 10 + k)
    x = torch.randn(2, 3, side, side, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, k, k, generator=g, dtype=torch.float64)
    y = F.conv2d(x, w, stride=s, padding=p)
    dy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    y.backward(dy)  # x.grad = d<y, dy>/dx: the gradient a convolution sends back to its input
    output_padding = (side + 2 * p - k) % s  # rows the stride skipped at the bottom/right
    transposed = F.conv_transpose2d(dy, w, stride=s, padding=p, output_padding=output_padding)
    torch.testing.assert_close(transposed, x.grad)
    # the same numbers from coursekit.layers' NumPy backward pass (notebook 08)
    dx, _, _ = layers.conv_backward(x.detach().numpy(), w.numpy(), dy.numpy(), padding=p, stride=s)
    np.testing.assert_allclose(dx, x.grad.numpy(), rtol=1e-10, atol=1e-10)
    # and one channel of it from the worked-example function
    dx1, _ = layers.corr2d_backward(x.detach()[0, 0].numpy(), w[0, 0].numpy(), dy[0, 0].numpy(), padding=p, stride=s)
    single = F.conv_transpose2d(dy[:1, :1], w[:1, :1], stride=s, padding=p, output_padding=output_padding)
    np.testing.assert_allclose(dx1, single[0, 0].numpy(), rtol=1e-10, atol=1e-10)


def test_conv_transpose_multiplies_by_the_transposed_matrix():
    # Dumoulin & Visin's example: a 3x3 kernel over a 4x4 input is a 4 x 16 matrix C; its transpose maps 2x2 to 4x4
    w = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(1, 1, 3, 3)
    columns = [F.conv2d(e.reshape(1, 1, 4, 4), w).reshape(-1) for e in torch.eye(16, dtype=torch.float64)]
    c = torch.stack(columns, dim=1)  # (4, 16): column j is the response to the j-th unit input pixel
    assert c.shape == (4, 16) and (c != 0).sum() == 4 * 9  # every output reads 9 of the 16 pixels
    dy = torch.tensor([1.0, -2.0, 3.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(F.conv_transpose2d(dy.reshape(1, 1, 2, 2), w).reshape(-1), c.T @ dy)


def test_conv_transpose_output_size_formula():
    for n, k, s, p, op in [(12, 2, 2, 0, 0), (7, 5, 3, 1, 2), (10, 4, 2, 1, 0), (3, 3, 1, 1, 0)]:
        layer = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op)
        assert layer(torch.zeros(1, 1, n, n)).shape[-1] == (n - 1) * s - 2 * p + k + op


# ---------------------------------------------------------------------------------------------
# FLOPs


def test_conv_transpose_flops_by_hand():
    layer = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1)
    out = layer(torch.zeros(1, 4, 5, 7))
    assert out.shape == (1, 6, 10, 14)
    # every one of the 4*5*7 inputs is multiplied into a 3x3 patch of each of the 6 outputs; plus the bias
    assert count_flops(layer, (4, 5, 7)) == 2 * 4 * 5 * 7 * 9 * 6 + 6 * 10 * 14
    grouped = nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2, bias=False)
    assert count_flops(grouped, (4, 3, 3)) == 2 * 4 * 3 * 3 * 4 * 3


def test_unet_flops_include_its_up_convolutions():
    counts = flops_by_layer(UNet(), (1, 96, 96))
    ups = {name: n for name, n in counts.items() if name.endswith(".up")}
    assert len(ups) == 3
    # decoder.0.up: 64 -> 32 channels from 12x12 to 24x24 with a 2x2 kernel and a bias
    assert ups["decoder.0.up"] == 2 * 64 * 12 * 12 * 4 * 32 + 32 * 24 * 24
    assert sum(counts.values()) == count_flops(UNet(), (1, 96, 96))


# ---------------------------------------------------------------------------------------------
# fit(accuracy=False) trains both models


def test_fit_trains_the_detector_on_a_few_scenes(few):
    torch.manual_seed(0)
    model = GridDetector()
    batches = list(detection_loader(few, grid=12, batch_size=8))
    untrained = decode(model.eval()(batches[0][0]).detach(), 96)
    assert mean_average_precision(untrained, few.targets(), 10).mean < 0.05
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = fit(model, batches, batches, 80, optimizer, loss_fn=detection_loss, accuracy=False, **quiet())
    assert history.train_acc == [None] * 80 and history.val_acc == [None] * 80
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]
    with torch.no_grad():
        found = decode(model.eval()(batches[0][0]), 96)
    assert mean_average_precision(found, few.targets(), 10).mean > 0.5  # it is learning its eight scenes


def test_fit_trains_the_unet_and_evaluates_the_mean_pixel_loss():
    torch.manual_seed(0)
    model = UNet()
    small = make_scenes("mnist", 8, size=48, objects=(1, 2), scale=(1.0, 1.5), seed=1)
    batches = list(segmentation_loader(small, batch_size=4))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = fit(model, batches, None, 15, optimizer, accuracy=False, **quiet())
    assert history.train_loss[-1] < 0.6 * history.train_loss[0]
    loss, acc = evaluate(model, batches, loss_fn=F.cross_entropy, accuracy=False)
    with torch.no_grad():
        logits = model.eval()(torch.cat([x for x, _ in batches]))
    masks = torch.cat([y for _, y in batches])
    assert acc is None
    assert loss == pytest.approx(F.cross_entropy(logits, masks).item(), rel=1e-4)  # per pixel, not summed
    _, mean_iou = segmentation_iou(logits.argmax(1), masks, 11)
    assert mean_iou > 1 / 11  # better than everything background


def test_fit_refuses_a_non_bool_accuracy_and_explains_grid_outputs(few):
    model = GridDetector()
    batches = list(detection_loader(few, grid=12, batch_size=8))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(TypeError, match="accuracy must be True or False"):
        fit(model, batches, None, 1, optimizer, loss_fn=detection_loss, accuracy="no", **quiet())
    with pytest.raises(ValueError, match="labels must be integer class indices"):
        fit(model, batches, None, 1, optimizer, loss_fn=detection_loss, **quiet())
    with pytest.raises(TypeError, match=r"evaluate\(\): accuracy must be True or False"):
        evaluate(model, batches, loss_fn=detection_loss, accuracy=1)
    masks = list(segmentation_loader(few, batch_size=8))
    with pytest.raises(ValueError, match="pass accuracy=False"):
        evaluate(UNet(), [(x, y[:, 0, 0]) for x, y in masks])  # class labels (B,), per-pixel logits


# ---------------------------------------------------------------------------------------------
# Mean IoU of a segmentation


def test_segmentation_iou_by_hand():
    labels = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [0, 2, 2, 1], [0, 2, 2, 0]])
    preds = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 1], [0, 2, 2, 2], [0, 0, 2, 0]])
    per_class, mean = segmentation_iou(preds, labels, num_classes=4)
    # class 0: 6 both / 8 either; class 1: 4 / 6; class 2: 3 / 5; class 3 nowhere: NaN, left out
    torch.testing.assert_close(per_class[:3], torch.tensor([6 / 8, 4 / 6, 3 / 5], dtype=torch.float64))
    assert math.isnan(per_class[3]) and mean == pytest.approx((6 / 8 + 4 / 6 + 3 / 5) / 3)
    assert segmentation_iou(labels, labels, 3)[1] == 1.0


def test_segmentation_iou_pools_pixels_over_images():
    # image 1: one pixel of class 1, found; image 2: 3 pixels of class 1, none found. Pooled: 1 / 4, not (1 + 0) / 2
    labels = torch.tensor([[[1, 0], [0, 0]], [[1, 1], [1, 0]]])
    preds = torch.tensor([[[1, 0], [0, 0]], [[0, 0], [0, 0]]])
    per_class, _ = segmentation_iou(preds, labels, 2)
    assert per_class[1] == pytest.approx(1 / 4) and per_class[0] == pytest.approx(4 / 7)
    assert segmentation_iou(preds.numpy(), labels.tolist(), 2)[0].tolist() == per_class.tolist()  # arrays, lists


@pytest.mark.parametrize(
    "preds, labels, k, error, match",
    [
        (torch.zeros(2, 3, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long), 2, ValueError, "same shape"),
        (torch.zeros(2, 2), torch.zeros(2, 2, dtype=torch.long), 2, TypeError, "integer class indices"),
        (torch.full((2, 2), 3), torch.zeros(2, 2, dtype=torch.long), 3, ValueError, r"in 0\.\.2 \(num_classes=3\)"),
        (torch.zeros(2, 2, dtype=torch.long), "mask", 2, TypeError, "labels must be a map of class indices"),
        (torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 2, dtype=torch.long), 0, ValueError, "at least 1"),
        (torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 2, dtype=torch.long), 2.0, TypeError, "must be an int"),
    ],
)
def test_segmentation_iou_bad_input(preds, labels, k, error, match):
    with pytest.raises(error, match=match):
        segmentation_iou(preds, labels, k)
