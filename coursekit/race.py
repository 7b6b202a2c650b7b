"""A fair race between networks: same data, same recipe, same budget, several seeds.

Notebook 12 races six small networks for 1 x 28 x 28 Fashion-MNIST images -- a plain VGG-style
CNN, NiN, an Inception net, a MobileNetV2, a ResNet and an SE-ResNet -- built by `race_models` at
roughly matched parameter counts. ``benchmarks/architectures.py`` times the same six models.

Fair means: every network trains on the same training images, in the same order for a given seed
(the loader's shuffle is re-seeded before each run), with the same optimiser (AdamW), the same
one-cycle learning-rate schedule, the same number of epochs and the same batch size; every choice
is made on the validation split, and the test set is evaluated once per run, at the end.

- `race_models(widths)`: {name: builder} for the six networks; `widths` gives each one's width
- `train_and_test(model, splits, ...)`: one run -> a `RaceRun` (accuracy, time, images/s)
- `race(builders, splits, seeds, ...)`: every model with every seed -> a list of `RaceRun`
- `summarize(runs)`: one row per model: mean and spread over the seeds
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .device import seed_everything
from .errors import UnknownName
from .models import VGG, GoogLeNet, MobileNetV2, NiN, ResNet, SEResNet, count_flops, count_parameters
from .models._args import positive_int
from .train import evaluate, fit

#: The racers, in the order the notebook introduces them.
RACE_NAMES = ("plain CNN", "NiN", "Inception", "MobileNetV2", "ResNet", "SE-ResNet")

#: ResNet and SE-ResNet in the race are `ResNet.small(RESNET_DEPTH, width)`: two basic blocks per stage.
RESNET_DEPTH = 14
#: SE reduction in the race: with 16-64 channels, the paper's r = 16 would leave 1-4 hidden units.
SE_REDUCTION = 4


def _plain(w: int) -> nn.Module:
    # VGG blocks of 2 convolutions (w, 2w, 4w channels; 28 -> 14 -> 7 -> 3), BatchNorm, FC head 8w-8w-10
    return VGG(((2, w), (2, 2 * w), (2, 4 * w)), num_classes=10, in_channels=1, hidden=8 * w, pooled=3, batch_norm=True)


_BUILDERS: dict[str, Callable[[int], nn.Module]] = {
    "plain CNN": _plain,
    "NiN": lambda w: NiN.small(w),
    "Inception": lambda w: GoogLeNet.small(w),
    "MobileNetV2": lambda w: MobileNetV2.small(w),
    "ResNet": lambda w: ResNet.small(RESNET_DEPTH, w),
    "SE-ResNet": lambda w: SEResNet.small(RESNET_DEPTH, w, reduction=SE_REDUCTION),
}


def race_models(widths: Mapping[str, int]) -> dict[str, Callable[[], nn.Module]]:
    """{name: zero-argument builder} for the racers named in `widths` ({name: width}), in `RACE_NAMES` order.

    Each builder makes a fresh network for (N, 1, 28, 28) inputs and 10 classes: "plain CNN" is a
    VGG-style net with a fully connected head, "NiN" `NiN.small`, "Inception" `GoogLeNet.small`,
    "MobileNetV2" `MobileNetV2.small`, "ResNet" and "SE-ResNet" depth-14 small ResNets. An unknown
    name raises `UnknownName`; a width that is not an integer >= 1 ValueError.
    """
    if not isinstance(widths, Mapping) or not widths:
        raise TypeError(f"widths must be a non-empty mapping {{name: width}}, e.g. {{'NiN': 16}}; got {widths!r}")
    for name, width in widths.items():
        if name not in _BUILDERS:
            raise UnknownName("racer", name, RACE_NAMES)
        positive_int(f"widths[{name!r}]", width)
    return {name: (lambda build=_BUILDERS[name], w=widths[name]: build(w)) for name in RACE_NAMES if name in widths}


@dataclass
class RaceRun:
    """One model trained with one seed."""

    model: str
    seed: int
    parameters: int
    forward_flops: int  # per 1 x 28 x 28 image, Conv2d + Linear, 2 per multiply-add (count_flops)
    epochs: int
    train_images: int  # images seen in training, all epochs together
    train_seconds: float  # wall time of the training passes (validation excluded)
    val_accuracy: float  # after the last epoch
    test_accuracy: float  # measured once, after training

    @property
    def images_per_second(self) -> float:
        return self.train_images / self.train_seconds if self.train_seconds > 0 else math.nan

    def as_dict(self) -> dict:
        return dict(asdict(self), images_per_second=self.images_per_second)


def train_and_test(
    name: str,
    build: Callable[[], nn.Module],
    splits,
    epochs: int,
    lr: float,
    weight_decay: float,
    seed: int = 0,
    device=None,
    channels_last: bool = True,
) -> RaceRun:
    """Build, train and test one racer with the race's recipe; returns a `RaceRun`.

    `splits`: `coursekit.data.Splits` (train, val, test loaders). The model is built after
    ``seed_everything(seed)`` and the training loader's shuffle is re-seeded with `seed`, so a run
    is repeatable and every model of one seed sees the same batches. AdamW (``lr``,
    ``weight_decay``) with a one-cycle schedule over all `epochs`; no augmentation.
    """
    epochs = positive_int("epochs", epochs)
    seed_everything(seed)
    model = build()
    parameters, flops = count_parameters(model), count_flops(model, (1, 28, 28))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    splits.train.generator.manual_seed(seed)  # the same batches, in the same order, for every model
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * len(splits.train))
    history = fit(
        model, splits.train, splits.val, epochs, optimizer, scheduler, device=device, progress=False, live=False
    )
    _, test_accuracy = evaluate(model, splits.test, device)
    return RaceRun(
        model=name,
        seed=seed,
        parameters=parameters,
        forward_flops=flops,
        epochs=epochs,
        train_images=history.samples,
        train_seconds=history.train_seconds,
        val_accuracy=history.final_val_acc,
        test_accuracy=test_accuracy,
    )


def race(
    builders: Mapping[str, Callable[[], nn.Module]],
    splits,
    seeds,
    epochs: int,
    lr: float,
    weight_decay: float,
    device=None,
    channels_last: bool = True,
    report: Callable[[str], None] | None = print,
) -> list[RaceRun]:
    """Every model of `builders` ({name: builder}) trained and tested with every seed of `seeds`.

    Seeds run in the outer loop, so a run cut short still holds every model for the first seeds.
    `report` (default print; None for silence) receives one line per finished run.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed, e.g. (0,)")
    runs = []
    for seed in seeds:
        for name, build in builders.items():
            run = train_and_test(name, build, splits, epochs, lr, weight_decay, seed, device, channels_last)
            runs.append(run)
            if report is not None:
                report(
                    f"{name:12} seed {seed}: test accuracy {run.test_accuracy:.4f}, "
                    f"{run.train_seconds:5.1f} s of training, {run.images_per_second:6.0f} images/s"
                )
    return runs


def summarize(runs: list[RaceRun]) -> list[dict]:
    """One row per model (first-seen order): parameters, forward FLOPs, seeds, mean/std/min/max test
    accuracy, mean training images/s and mean training seconds. std is the sample standard deviation
    over seeds (0 for a single seed)."""
    by_model: dict[str, list[RaceRun]] = {}
    for run in runs:
        by_model.setdefault(run.model, []).append(run)
    rows = []
    for name, group in by_model.items():
        accs = [r.test_accuracy for r in group]
        rows.append(
            dict(
                model=name,
                parameters=group[0].parameters,
                forward_flops=group[0].forward_flops,
                seeds=len(group),
                test_accuracy_mean=statistics.fmean(accs),
                test_accuracy_std=statistics.stdev(accs) if len(accs) > 1 else 0.0,
                test_accuracy_min=min(accs),
                test_accuracy_max=max(accs),
                images_per_second=statistics.fmean(r.images_per_second for r in group),
                train_seconds=statistics.fmean(r.train_seconds for r in group),
            )
        )
    return rows
