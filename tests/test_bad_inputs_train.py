"""Bad inputs to train, callbacks, metrics, device, profile and augment: each case asserts the exception
type and that the message names the problem (the argument, the value, or what was expected)."""

import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from coursekit import device as device_module
from coursekit import profile
from coursekit.augment import Augmented, FlipCrop, random_crop, random_hflip, shift_flip
from coursekit.callbacks import KeepBest, ProgressBar
from coursekit.errors import UnknownName
from coursekit.metrics import accuracy, confusion_matrix
from coursekit.train import evaluate, fit, predict


def batches(n=2, batch=8, classes=2, seed=0):
    """`n` batches of (float32 (batch, 1, 8, 8), int64 (batch,)) with labels in 0..classes-1."""
    g = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(batch, 1, 8, 8, generator=g), torch.randint(0, classes, (batch,), generator=g)) for _ in range(n)
    ]


def tiny(classes=2):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, classes))


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.1)


def train(train_loader=None, val_loader=None, epochs=1, model=None, optimizer=None, **kwargs):
    """fit() on a tiny model with defaults that work; override exactly one thing per case."""
    model = model if model is not None else tiny()
    optimizer = optimizer if optimizer is not None else sgd(model if isinstance(model, nn.Module) else tiny())
    kwargs = {"device": "cpu", "progress": False, "live": False, **kwargs}
    return fit(model, batches() if train_loader is None else train_loader, val_loader, epochs, optimizer, **kwargs)


def with_batch(x=None, y=None):
    """A one-batch loader with the inputs or labels replaced."""
    ((x0, y0),) = batches(n=1)
    return [(x0 if x is None else x, y0 if y is None else y)]


def nan_inputs():
    data = batches()
    data[1][0][0, 0, 0, 0] = float("nan")
    return data


def inf_model():
    model = tiny()
    with torch.no_grad():
        model[1].weight.fill_(float("inf"))
    return model


def other_scheduler():
    return torch.optim.lr_scheduler.StepLR(sgd(tiny()), 1)


def no_cuda(mp):
    mp.setattr(torch.cuda, "is_available", lambda: False)


def env_device(value):
    def case(mp):
        mp.setenv(device_module.DEVICE_ENV, value)
        device_module.get_device()

    return case


def x4():
    return torch.rand(4, 1, 6, 6)


def offsets(n=4):
    return torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.bool)


# (id, case(mp) -> raises, exception type, regex the message must match)
CASES = [
    # ---------------------------------------------------------------- fit: arguments
    ("fit-epochs-zero", lambda mp: train(epochs=0), ValueError, r"epochs must be at least 1, got 0"),
    ("fit-epochs-negative", lambda mp: train(epochs=-3), ValueError, r"epochs must be at least 1, got -3"),
    ("fit-epochs-float", lambda mp: train(epochs=2.5), TypeError, r"epochs must be a positive int.*2\.5"),
    ("fit-epochs-str", lambda mp: train(epochs="3"), TypeError, r"epochs must be a positive int.*'3'"),
    ("fit-epochs-bool", lambda mp: train(epochs=True), TypeError, r"epochs must be a positive int.*True"),
    ("fit-epochs-none", lambda mp: train(epochs=None), TypeError, r"epochs must be a positive int.*None"),
    ("fit-model-class", lambda mp: train(model=nn.Linear), TypeError, r"model is the class Linear; pass an instance"),
    ("fit-model-str", lambda mp: train(model="resnet"), TypeError, r"model must be a torch\.nn\.Module.*'resnet'"),
    (
        "fit-optimizer-none",
        lambda mp: fit(tiny(), batches(), None, 1, None, device="cpu"),
        TypeError,
        r"optimizer must be a torch\.optim\.Optimizer.*None",
    ),
    (
        "fit-optimizer-lr",
        lambda mp: fit(tiny(), batches(), None, 1, 0.1, device="cpu"),
        TypeError,
        r"optimizer must be a torch\.optim\.Optimizer.*0\.1",
    ),
    (
        "fit-optimizer-other-model",
        lambda mp: train(model=tiny(), optimizer=sgd(tiny())),
        ValueError,
        r"optimizer holds none of the model's parameters",
    ),
    (
        "fit-scheduler-other-optimizer",
        lambda mp: train(scheduler=other_scheduler()),
        ValueError,
        r"scheduler was built for a different optimizer",
    ),
    (
        "fit-scheduler-number",
        lambda mp: train(scheduler=0.5),
        TypeError,
        r"scheduler must be a torch\.optim\.lr_scheduler",
    ),
    (
        "fit-device-meta",
        lambda mp: train(device="meta"),
        UnknownName,
        r"unknown device argument 'meta'; choose one of: cpu, cuda, cuda:N, mps",
    ),
    ("fit-device-xla", lambda mp: train(device="xla"), UnknownName, r"unknown device argument 'xla'"),
    ("fit-device-gpu", lambda mp: train(device="gpu"), UnknownName, r"unknown device argument 'gpu'.*cuda:N"),
    (
        "fit-device-torch-meta",
        lambda mp: train(device=torch.device("meta")),
        UnknownName,
        r"unknown device argument 'meta'",
    ),
    ("fit-device-int", lambda mp: train(device=0), TypeError, r"device must be a str .*got int 0"),
    (
        "fit-device-cuda-missing",
        lambda mp: (no_cuda(mp), train(device="cuda")),
        RuntimeError,
        r"device='cuda' but CUDA is not available",
    ),
    (
        "fit-loss-class",
        lambda mp: train(loss_fn=nn.CrossEntropyLoss),
        TypeError,
        r"loss_fn is the class CrossEntropyLoss; pass an instance",
    ),
    (
        "fit-loss-str",
        lambda mp: train(loss_fn="cross_entropy"),
        TypeError,
        r"loss_fn must be a function.*'cross_entropy'",
    ),
    (
        "fit-loss-returns-float",
        lambda mp: train(loss_fn=lambda logits, y: 0.5),
        TypeError,
        r"loss_fn must return a tensor, got float",
    ),
    (
        "fit-loss-returns-matrix",
        lambda mp: train(loss_fn=lambda logits, y: logits),
        ValueError,
        r"loss_fn returned shape \(8, 2\); expected a scalar or \(8,\)",
    ),
    ("fit-progress-str", lambda mp: train(progress="yes"), TypeError, r"progress must be True or False"),
    ("fit-live-int", lambda mp: train(live=1), TypeError, r"live must be True, False or None"),
    (
        "fit-clip-zero",
        lambda mp: train(clip_grad_norm=0),
        ValueError,
        r"clip_grad_norm must be a positive finite.*got 0",
    ),
    ("fit-clip-negative", lambda mp: train(clip_grad_norm=-1.0), ValueError, r"clip_grad_norm must be a positive"),
    (
        "fit-clip-nan",
        lambda mp: train(clip_grad_norm=math.nan),
        ValueError,
        r"clip_grad_norm must be a positive finite.*nan",
    ),
    (
        "fit-clip-str",
        lambda mp: train(clip_grad_norm="1"),
        TypeError,
        r"clip_grad_norm must be a positive number or None",
    ),
    (
        "fit-callback-class",
        lambda mp: train(callbacks=[KeepBest]),
        TypeError,
        r"callbacks\[0\] is the class KeepBest; pass an instance, e\.g\. KeepBest\(\)",
    ),
    (
        "fit-callback-function",
        lambda mp: train(callbacks=[ProgressBar(), print]),
        TypeError,
        r"callbacks\[1\] is .*print.*not a coursekit\.callbacks\.Callback",
    ),
    ("fit-callbacks-none", lambda mp: train(callbacks=None), TypeError, r"callbacks must be a list of Callback"),
    # ---------------------------------------------------------------- fit: loaders and batches
    (
        "fit-train-none",
        lambda mp: (lambda m: fit(m, None, None, 1, sgd(m), device="cpu"))(tiny()),
        TypeError,
        r"train_loader is None",
    ),
    ("fit-train-empty", lambda mp: train(train_loader=[]), ValueError, r"train_loader yielded no batches"),
    (
        "fit-train-tensor",
        lambda mp: train(train_loader=torch.zeros(4, 2)),
        TypeError,
        r"train_loader must be an iterable of \(inputs, labels\) batches",
    ),
    (
        "fit-train-generator-used-up",
        lambda mp: train(train_loader=(b for b in batches()), epochs=2),
        ValueError,
        r"train_loader yielded no batches in epoch 2 -- a generator is used up",
    ),
    (
        "fit-train-inputs-only",
        lambda mp: train(train_loader=[x for x, _ in batches()]),
        TypeError,
        r"train_loader must yield \(inputs, labels\) pairs; batch 0 is a tensor of shape \(8, 1, 8, 8\)",
    ),
    (
        "fit-train-triples",
        lambda mp: train(train_loader=[(x, y, y) for x, y in batches()]),
        TypeError,
        r"pairs; batch 0 is a tuple of 3 items",
    ),
    (
        "fit-labels-float",
        lambda mp: train(train_loader=with_batch(y=torch.zeros(8))),
        ValueError,
        r"labels must be integer class indices of shape \(B,\), got torch\.float32",
    ),
    (
        "fit-labels-one-hot",
        lambda mp: train(train_loader=with_batch(y=torch.eye(2)[torch.zeros(8).long()].long())),
        ValueError,
        r"labels must be integer class indices of shape \(B,\).*\(8, 2\)",
    ),
    (
        "fit-inputs-numpy",
        lambda mp: train(train_loader=with_batch(x=np.zeros((8, 1, 8, 8), np.float32))),
        TypeError,
        r"inputs and labels must be torch tensors, got ndarray of shape \(8, 1, 8, 8\)",
    ),
    (
        "fit-length-mismatch",
        lambda mp: train(train_loader=with_batch(y=torch.zeros(4, dtype=torch.long))),
        ValueError,
        r"train_loader batch 0: 8 inputs but 4 labels",
    ),
    (
        "fit-label-too-large",
        lambda mp: train(train_loader=with_batch(y=torch.full((8,), 5))),
        ValueError,
        r"labels must be class indices in 0\.\.1 for a model with 2 outputs, found 5",
    ),
    (
        "fit-label-negative",
        lambda mp: train(train_loader=with_batch(y=torch.full((8,), -1))),
        ValueError,
        r"class indices in 0\.\.1 .*found -1",
    ),
    (
        "fit-model-output-1d",
        lambda mp: train(model=nn.Sequential(nn.Flatten(0), nn.Linear(512, 2))),
        ValueError,
        r"model must return logits of shape \(B, num_classes\) = \(8, K\); .* returned \(2,\)",
    ),
    (
        "fit-nan-inputs",
        lambda mp: train(train_loader=nan_inputs()),
        FloatingPointError,
        r"training diverged: .*nan in epoch 1.*lower the learning rate \(lr=0\.1\)",
    ),
    (
        "fit-inf-weights",
        lambda mp: train(model=inf_model(), epochs=3),
        FloatingPointError,
        r"became nan in epoch 1 .*clip_grad_norm=1\.0",
    ),
    ("fit-val-empty", lambda mp: train(val_loader=[]), ValueError, r"val_loader yielded no batches"),
    (
        "fit-val-generator-used-up",
        lambda mp: train(val_loader=(b for b in batches()), epochs=2),
        ValueError,
        r"val_loader yielded no batches",
    ),
    ("fit-val-str", lambda mp: train(val_loader="data/val"), TypeError, r"val_loader must be an iterable"),
    # ---------------------------------------------------------------- evaluate, predict
    ("evaluate-empty", lambda mp: evaluate(tiny(), [], "cpu"), ValueError, r"loader yielded no batches"),
    ("evaluate-none", lambda mp: evaluate(tiny(), None, "cpu"), TypeError, r"evaluate\(\): loader is None"),
    (
        "evaluate-device-meta",
        lambda mp: evaluate(tiny(), batches(), "meta"),
        UnknownName,
        r"unknown device argument 'meta'",
    ),
    (
        "evaluate-model-str",
        lambda mp: evaluate("model", batches()),
        TypeError,
        r"evaluate\(\): model must be a torch\.nn\.Module",
    ),
    (
        "evaluate-loss-int",
        lambda mp: evaluate(tiny(), batches(), "cpu", loss_fn=42),
        TypeError,
        r"loss_fn must be a function",
    ),
    (
        "evaluate-labels-out-of-range",
        lambda mp: evaluate(tiny(), with_batch(y=torch.full((8,), 7)), "cpu"),
        ValueError,
        r"loader batch 0: labels must be class indices in 0\.\.1 .*found 7",
    ),
    ("predict-empty", lambda mp: predict(tiny(), [], "cpu"), ValueError, r"predict\(\): loader yielded no batches"),
    (
        "predict-not-pairs",
        lambda mp: predict(tiny(), [torch.zeros(8, 1, 8, 8)], "cpu"),
        TypeError,
        r"loader must yield \(inputs, labels\) pairs",
    ),
    # ---------------------------------------------------------------- callbacks
    (
        "keepbest-metric",
        lambda mp: KeepBest(metric="val_accuracy"),
        UnknownName,
        r"unknown KeepBest metric 'val_accuracy'; choose one of: train_acc, train_loss, val_acc, val_loss",
    ),
    (
        "keepbest-mode",
        lambda mp: KeepBest(mode="maximum"),
        UnknownName,
        r"unknown KeepBest mode 'maximum'; choose one of: max, min",
    ),
    (
        "keepbest-no-val",
        lambda mp: train(callbacks=[KeepBest()]),
        ValueError,
        r"KeepBest\(metric='val_acc'\) needs a validation loader, but fit got val_loader=None",
    ),
    ("progressbar-desc", lambda mp: ProgressBar(desc=3), TypeError, r"ProgressBar desc must be a str"),
    (
        "progressbar-notebook",
        lambda mp: ProgressBar(notebook="yes"),
        TypeError,
        r"ProgressBar notebook must be True, False or None",
    ),
    # ---------------------------------------------------------------- metrics
    (
        "confusion-k-zero",
        lambda mp: confusion_matrix([0], [0], 0),
        ValueError,
        r"num_classes must be at least 1, got 0",
    ),
    (
        "confusion-k-float",
        lambda mp: confusion_matrix([0], [0], 2.5),
        TypeError,
        r"num_classes must be an int, got float 2\.5",
    ),
    (
        "confusion-label-too-large",
        lambda mp: confusion_matrix([0, 3], [0, 1], 3),
        ValueError,
        r"labels must be class indices in 0\.\.2 \(num_classes=3\), found 3",
    ),
    (
        "confusion-pred-negative",
        lambda mp: confusion_matrix([0, 1], [0, -1], 3),
        ValueError,
        r"preds must be class indices in 0\.\.2 .*found -1",
    ),
    (
        "confusion-length",
        lambda mp: confusion_matrix([0, 1, 1], [0, 1], 2),
        ValueError,
        r"same length, got 3 labels and 2 preds",
    ),
    (
        "confusion-logits",
        lambda mp: confusion_matrix([0, 1], torch.randn(2, 3), 3),
        ValueError,
        r"preds must be class indices of shape \(N,\), got shape \(2, 3\).*argmax\(1\)",
    ),
    (
        "confusion-float-labels",
        lambda mp: confusion_matrix(torch.tensor([0.0, 1.0]), [0, 1], 2),
        TypeError,
        r"labels must hold integer class indices, got torch\.float32",
    ),
    (
        "confusion-str",
        lambda mp: confusion_matrix("01", [0, 1], 2),
        TypeError,
        r"labels must be a sequence of class indices.*str",
    ),
    (
        "confusion-ragged",
        lambda mp: confusion_matrix([[0], [1, 2]], [0, 1], 3),
        ValueError,
        r"labels must be a flat sequence.*ragged",
    ),
    ("accuracy-empty", lambda mp: accuracy([], []), ValueError, r"accuracy of no samples is undefined"),
    (
        "accuracy-strings",
        lambda mp: accuracy(["cat", "dog"], [0, 1]),
        TypeError,
        r"labels must hold integer class indices, got <U3",
    ),
    # ---------------------------------------------------------------- device
    (
        "env-device-meta",
        env_device("meta"),
        UnknownName,
        r"unknown device in COURSEKIT_DEVICE 'meta'; choose one of: cpu, cuda, cuda:N, mps",
    ),
    ("env-device-xla", env_device("xla"), UnknownName, r"COURSEKIT_DEVICE 'xla'"),
    ("env-device-xpu", env_device("xpu"), UnknownName, r"COURSEKIT_DEVICE 'xpu'"),
    ("env-device-garbage", env_device("toaster"), UnknownName, r"COURSEKIT_DEVICE 'toaster'; choose one of"),
    ("env-device-bad-index", env_device("cuda:x"), UnknownName, r"COURSEKIT_DEVICE 'cuda:x'"),
    (
        "env-device-cuda-missing",
        lambda mp: (no_cuda(mp), env_device("cuda")(mp)),
        RuntimeError,
        r"COURSEKIT_DEVICE='cuda' but CUDA is not available on this machine",
    ),
    (
        "env-device-cuda-index",
        lambda mp: (
            mp.setattr(torch.cuda, "is_available", lambda: True),
            mp.setattr(torch.cuda, "device_count", lambda: 1),
            env_device("cuda:3")(mp),
        ),
        RuntimeError,
        r"COURSEKIT_DEVICE='cuda:3' but only 1 CUDA device\(s\) exist",
    ),
    (
        "env-device-mps-missing",
        lambda mp: (mp.setattr(device_module, "_mps_available", lambda: False), env_device("mps")(mp)),
        RuntimeError,
        r"'mps' but Apple MPS is not available",
    ),
    ("seed-float", lambda mp: device_module.seed_everything(1.5), TypeError, r"seed must be an int, got float 1\.5"),
    (
        "seed-negative",
        lambda mp: device_module.seed_everything(-1),
        ValueError,
        r"seed must be in 0 \.\. 2\*\*32 - 1.*-1",
    ),
    (
        "seed-too-large",
        lambda mp: device_module.seed_everything(2**32),
        ValueError,
        r"seed must be in 0 \.\. 2\*\*32 - 1",
    ),
    # ---------------------------------------------------------------- profile
    (
        "settings-unknown-lesson",
        lambda mp: profile.settings("lenet7"),
        UnknownName,
        r"unknown lesson 'lenet7'; choose one of: alexnet",
    ),
    (
        "settings-unknown-profile",
        lambda mp: profile.settings("lenet", "laptop"),
        UnknownName,
        r"unknown profile 'laptop'; choose one of: ci, cpu, gpu",
    ),
    ("settings-section-none", lambda mp: profile.settings(None), TypeError, r"settings\(\) takes a lesson name .*None"),
    ("settings-section-list", lambda mp: profile.settings(["lenet"]), TypeError, r"takes a lesson name .*list"),
    (
        "settings-profile-int",
        lambda mp: profile.settings("lenet", 1),
        TypeError,
        r"profile must be one of ci, cpu, gpu or None",
    ),
    (
        "settings-unknown-key",
        lambda mp: profile.settings("lenet", "ci")["epochz"],
        UnknownName,
        r"unknown key of settings\('lenet'\) 'epochz'; choose one of: .*epochs",
    ),
    (
        "settings-unhashable-key",
        lambda mp: profile.settings("lenet", "ci")[["epochs"]],
        UnknownName,
        r"unknown key of settings\('lenet'\) \['epochs'\]",
    ),
    ("settings-attribute", lambda mp: profile.settings("lenet", "ci").epochz, AttributeError, r"has no 'epochz'"),
    (
        "env-profile",
        lambda mp: (mp.setenv(profile.PROFILE_ENV, "laptop"), profile.current_profile()),
        UnknownName,
        r"unknown profile in COURSEKIT_PROFILE 'laptop'",
    ),
    # ---------------------------------------------------------------- augment
    ("flipcrop-padding-negative", lambda mp: FlipCrop(padding=-1), ValueError, r"padding must be >= 0 pixels, got -1"),
    (
        "flipcrop-padding-float",
        lambda mp: FlipCrop(padding=2.5),
        TypeError,
        r"padding must be an int number of pixels.*2\.5",
    ),
    (
        "flipcrop-p-above-one",
        lambda mp: FlipCrop(flip_p=1.5),
        ValueError,
        r"flip_p must be a probability in \[0, 1\], got 1\.5",
    ),
    (
        "flipcrop-p-negative",
        lambda mp: FlipCrop(flip_p=-0.1),
        ValueError,
        r"flip_p must be a probability in \[0, 1\], got -0\.1",
    ),
    (
        "flipcrop-p-nan",
        lambda mp: FlipCrop(flip_p=math.nan),
        ValueError,
        r"flip_p must be a probability in \[0, 1\], got nan",
    ),
    ("flipcrop-p-str", lambda mp: FlipCrop(flip_p="half"), TypeError, r"flip_p must be a probability .*'half'"),
    ("flipcrop-fill-str", lambda mp: FlipCrop(fill="black"), TypeError, r"fill must be a number or None"),
    ("flipcrop-seed-float", lambda mp: FlipCrop(seed=1.5), TypeError, r"seed must be an int"),
    ("crop-padding-negative", lambda mp: random_crop(x4(), -2), ValueError, r"padding must be >= 0 pixels, got -2"),
    ("hflip-p", lambda mp: random_hflip(x4(), p=2), ValueError, r"p must be a probability in \[0, 1\], got 2"),
    (
        "crop-3d",
        lambda mp: random_crop(torch.rand(4, 6, 6), 1),
        ValueError,
        r"expected a batch tensor \(N, C, H, W\), got shape \(4, 6, 6\); add the channel axis",
    ),
    (
        "crop-numpy",
        lambda mp: random_crop(np.zeros((4, 1, 6, 6)), 1),
        TypeError,
        r"expected a batch tensor.*got ndarray",
    ),
    (
        "crop-generator",
        lambda mp: random_crop(x4(), 1, generator=42),
        TypeError,
        r"generator must be a torch\.Generator",
    ),
    (
        "shift-dy-length",
        lambda mp: shift_flip(x4(), torch.zeros(3, dtype=torch.long), *offsets()[1:]),
        ValueError,
        r"dy must have shape \(4,\) \(one value per image\), got \(3,\)",
    ),
    (
        "shift-dx-float",
        lambda mp: shift_flip(x4(), offsets()[0], torch.zeros(4), offsets()[2]),
        TypeError,
        r"dx must hold integer pixel shifts, got torch\.float32",
    ),
    (
        "shift-flip-int",
        lambda mp: shift_flip(x4(), *offsets()[:2], torch.zeros(4, dtype=torch.long)),
        TypeError,
        r"flip must be a bool tensor",
    ),
    (
        "augmented-loader-none",
        lambda mp: Augmented(None, FlipCrop()),
        TypeError,
        r"loader must be an iterable of \(x, y\) batches",
    ),
    ("augmented-fn-str", lambda mp: Augmented(batches(), "flip"), TypeError, r"fn must be a function of a batch"),
]


def test_there_are_enough_distinct_cases():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 50


@pytest.mark.parametrize("case, error, pattern", [pytest.param(c, e, p, id=i) for i, c, e, p in CASES])
def test_bad_input_is_refused_with_a_message_that_names_it(case, error, pattern, monkeypatch):
    monkeypatch.delenv(device_module.DEVICE_ENV, raising=False)
    with pytest.raises(error) as info:
        case(monkeypatch)
    assert re.search(pattern, str(info.value)), f"message {str(info.value)!r} does not match {pattern!r}"
