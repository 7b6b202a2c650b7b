"""How fast can a CNN learn? Recipes, measured runs and an ablation path (notebook 18).

A `Recipe` is everything that decides a training run -- data, network, optimiser, schedule,
augmentation, loss, evaluation -- in one frozen dataclass, so that an ablation step is "the previous
recipe with one field changed" (``dataclasses.replace``). `run` trains one recipe with one seed
through `coursekit.train.fit` and measures it the way the speedrun counts:

* **time** is `fit`'s training time (``History.train_seconds``: forward, backward and optimiser steps
  of every epoch, data included, evaluation excluded), printed, never asserted;
* **accuracy** is the test accuracy of the final weights, measured once, after training (with
  test-time augmentation if the recipe asks for it). No validation-based early stopping: the budget
  is fixed in advance, as in a real speedrun.

`ablation` runs a list of steps over several seeds and summarises each (mean, spread, minimum);
`where_time_goes` splits a training step into data, forward, backward and optimiser time.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .augment import Augmented, FlipCrop, flip_averaged_logits
from .data import Batches, normalization, tensor_splits
from .device import resolve_device, seed_everything
from .errors import UnknownName
from .models import LeNet5, ResNet
from .train import History, fit

__all__ = [
    "MODELS",
    "Recipe",
    "SpeedRun",
    "run",
    "ablation",
    "summarize",
    "where_time_goes",
    "evaluate_accuracy",
    "TARGETS",
    "MNIST_PATH",
    "FASHION_PATH",
]

# The networks a recipe can name: (N, 1, 28, 28) -> (N, 10).
MODELS: dict[str, Callable[[], nn.Module]] = {
    "LeNet5": LeNet5,
    "ResNet.fashion": ResNet.fashion,
}
DATASETS = ("mnist", "fashion_mnist")
OPTIMIZERS = ("adamw", "sgd")


@dataclass(frozen=True)
class Recipe:
    """One training run's every choice.

    dataset: "mnist" or "fashion_mnist"; model: a key of `MODELS`; epochs: passes over `train_subset`
    training images (None: all of them, less `val_size` held out as everywhere in the course) -- a
    fraction such as 1.4 trains round(1.4 x batches per pass) steps (`coursekit.data.Batches`);
    optimizer: "adamw" (fused where torch supports it) or "sgd" (Nesterov momentum 0.9), peak `lr`
    of a one-cycle schedule warming up for `pct_start` of the steps; label_smoothing: of the
    cross-entropy loss; shift: random shifts of up to that many pixels, flip: probability of a
    horizontal flip (`coursekit.augment.FlipCrop`); tta_flip: average the softmax of each test
    image and its mirror image; channels_last: NHWC weights and activations; compile: train the
    model through ``torch.compile`` (TorchInductor; its first steps pay for the compilation, inside the
    measured training time).
    """

    name: str
    dataset: str = "mnist"
    model: str = "LeNet5"
    epochs: int | float = 4
    train_subset: int | None = None
    val_size: int = 5000
    batch_size: int = 128
    optimizer: str = "adamw"
    lr: float = 6e-3
    weight_decay: float = 1e-4
    pct_start: float = 0.25
    label_smoothing: float = 0.0
    shift: int = 0
    flip: float = 0.0
    tta_flip: bool = False
    channels_last: bool = True
    compile: bool = False

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise UnknownName("dataset", self.dataset, DATASETS)
        if self.model not in MODELS:
            raise UnknownName("model", self.model, MODELS)
        if self.optimizer not in OPTIMIZERS:
            raise UnknownName("optimizer", self.optimizer, OPTIMIZERS)
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, float)) or not 0 < self.epochs < 1e6:
            raise ValueError(f"Recipe epochs must be a positive number of passes, got {self.epochs!r}")
        for field in ("batch_size", "val_size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Recipe {field} must be an integer >= 1, got {value!r}")
        if self.train_subset is not None and (
            isinstance(self.train_subset, bool) or not isinstance(self.train_subset, int) or self.train_subset < 1
        ):
            raise ValueError(f"Recipe train_subset must be None or an integer >= 1, got {self.train_subset!r}")
        for field, low, high in (("lr", 0, math.inf), ("weight_decay", -1e-12, math.inf)):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value < high:
                raise ValueError(f"Recipe {field} must be a finite number > {max(low, 0)}, got {value!r}")
        for field in ("pct_start", "label_smoothing", "flip"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"Recipe {field} must be a number in [0, 1), got {value!r}")
        if isinstance(self.shift, bool) or not isinstance(self.shift, int) or self.shift < 0:
            raise ValueError(f"Recipe shift must be an integer >= 0, got {self.shift!r}")
        for field in ("tta_flip", "channels_last", "compile"):
            if not isinstance(getattr(self, field), bool):
                raise ValueError(f"Recipe {field} must be True or False, got {getattr(self, field)!r}")

    def but(self, name: str, **changes) -> Recipe:
        """This recipe with `changes` applied, under a new `name` (one ablation step)."""
        return dataclasses.replace(self, name=name, **changes)


@dataclass
class SpeedRun:
    """One recipe trained with one seed: what the speedrun counts."""

    recipe: str
    seed: int
    test_accuracy: float
    train_seconds: float  # fit's History.train_seconds: training passes only
    train_images: int
    history: History
    plain_accuracy: float | None = None  # without test-time augmentation (equal to test_accuracy without it)

    @property
    def images_per_second(self) -> float:
        return self.train_images / self.train_seconds if self.train_seconds > 0 else math.nan


def evaluate_accuracy(model: nn.Module, loader, device, tta_flip: bool = False, channels_last: bool = False) -> float:
    """Fraction of `loader`'s (B, C, H, W) images whose predicted class is right; with `tta_flip`, the
    prediction averages the softmax of each image and its mirror image (`augment.flip_averaged_logits`)."""
    device = resolve_device(device)
    model.eval()
    correct = count = 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            logits = flip_averaged_logits(model, x) if tta_flip else model(x)
            correct += int((logits.argmax(1) == y).sum())
            count += len(y)
    return correct / count


def _model(recipe: Recipe, device: torch.device) -> nn.Module:
    """The recipe's network, seeded by the caller, in its memory format, on `device`, compiled if asked.

    ``torch.compile`` returns a wrapper that shares the parameters, so the optimiser and `fit` see the
    same weights either way."""
    model = MODELS[recipe.model]()
    if recipe.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.to(device)
    return torch.compile(model) if recipe.compile else model


def _optimizer(recipe: Recipe, model: nn.Module, device: torch.device):
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay
        )
    fused = device.type in ("cpu", "cuda", "mps")  # fused AdamW: one kernel per step (torch >= 2.4 on the CPU)
    return torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, fused=fused)


def run(recipe: Recipe, seed: int = 0, device=None, progress: bool = False) -> SpeedRun:
    """Train `recipe` with `seed` through `fit` and measure its test accuracy once; returns a `SpeedRun`.

    The validation split is held out as everywhere in the course (and not used: nothing is chosen
    during a speedrun); the test split is evaluated after the last step. The model, the batch order and
    the augmentation draws all follow `seed`.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"run() needs a Recipe, got {type(recipe).__name__}")
    device = resolve_device(device)
    seed_everything(seed)
    splits = tensor_splits(
        recipe.dataset, recipe.batch_size, recipe.train_subset, recipe.val_size, seed=0, device=device
    )
    splits.train.generator.manual_seed(seed)
    train = splits.train
    if recipe.shift or recipe.flip:
        mean, std = normalization(recipe.dataset)
        train = Augmented(train, FlipCrop(padding=recipe.shift, flip_p=recipe.flip, seed=seed, fill=-mean / std))
    epochs = recipe.epochs
    if not float(epochs).is_integer():  # a fraction of a pass: one "epoch" of exactly that many steps
        train, epochs = Batches(train, max(1, round(epochs * len(train)))), 1
    model = _model(recipe, device)
    optimizer = _optimizer(recipe, model, device)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.lr, total_steps=int(epochs) * len(train), pct_start=recipe.pct_start
    )
    history = fit(
        model,
        train,
        None,
        int(epochs),
        optimizer,
        scheduler,
        device=device,
        loss_fn=nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing),
        progress=progress,
        live=False,
    )
    plain = evaluate_accuracy(model, splits.test, device, False, recipe.channels_last)
    accuracy = evaluate_accuracy(model, splits.test, device, True, recipe.channels_last) if recipe.tta_flip else plain
    return SpeedRun(recipe.name, seed, accuracy, history.train_seconds, history.samples, history, plain)


def summarize(runs: Sequence[SpeedRun]) -> dict:
    """Mean, standard deviation (sample; 0 for one run), minimum and maximum test accuracy, and mean
    training seconds and images/s of `runs` (one recipe, several seeds)."""
    if not runs:
        raise ValueError("summarize() needs at least one run")
    accs = [r.test_accuracy for r in runs]  # the recipe's own measure (with test-time flips if it uses them)
    return dict(
        recipe=runs[0].recipe,
        seeds=[r.seed for r in runs],
        accuracy_mean=statistics.fmean(accs),
        accuracy_std=statistics.stdev(accs) if len(accs) > 1 else 0.0,
        accuracy_min=min(accs),
        accuracy_max=max(accs),
        plain_accuracy_mean=statistics.fmean(
            r.test_accuracy if r.plain_accuracy is None else r.plain_accuracy for r in runs
        ),
        seconds_mean=statistics.fmean(r.train_seconds for r in runs),
        images_per_second=statistics.fmean(r.images_per_second for r in runs),
    )


def ablation(steps: Sequence[Recipe], seeds: Sequence[int], device=None, report=print) -> list[dict]:
    """Every recipe of `steps` trained with every seed; one `summarize` row per step, in order.

    `report` (default print, None for silence) receives one line per finished run.
    """
    seeds = [int(s) for s in seeds]
    if not steps or not seeds:
        raise ValueError("ablation() needs at least one step and one seed")
    rows = []
    for recipe in steps:
        runs = []
        for seed in seeds:
            runs.append(run(recipe, seed, device))
            if report is not None:
                r = runs[-1]
                report(f"{recipe.name:34} seed {seed}: test {r.test_accuracy:.4f} after {r.train_seconds:6.1f} s")
        rows.append(summarize(runs))
    return rows


# ---------------------------------------------------------------------------------------------
# The course's speedrun: targets, and the path from the lessons' recipes to the fastest ones found.

# (test accuracy, seconds of training on the course's 2-core CPU): the targets of the speedrun.
TARGETS = {"mnist": (0.990, 5.0), "fashion_mnist": (0.940, 300.0)}

# Notebook 09's LeNet-5 recipe (profile "lenet", cpu), then one change per step.
MNIST_PATH = [
    Recipe("notebook 09's recipe", epochs=4, shift=1, lr=6e-3),
]
MNIST_PATH += [
    MNIST_PATH[-1].but("no random shifts", shift=0),
]
MNIST_PATH += [MNIST_PATH[-1].but("2 epochs", epochs=2)]
MNIST_PATH += [MNIST_PATH[-1].but("1.4 epochs", epochs=1.4)]
MNIST_PATH += [MNIST_PATH[-1].but("label smoothing 0.1", label_smoothing=0.1)]
MNIST_PATH += [MNIST_PATH[-1].but("schedule: peak lr 0.012, 20% warm-up", lr=1.2e-2, pct_start=0.2)]

# Notebook 11's ResNet recipe (profile "resnet", cpu: 12 epochs, about 380 s here) cut to the budget, then
# test-time flips. The TTA step trains exactly what the step before it trains: it changes evaluation only.
FASHION_PATH = [
    Recipe(
        "notebook 11's recipe in 11 epochs",
        dataset="fashion_mnist",
        model="ResNet.fashion",
        epochs=11,
        batch_size=256,
        optimizer="sgd",
        lr=0.2,
        weight_decay=5e-4,
        pct_start=0.3,  # OneCycleLR's default, as in notebook 11
        label_smoothing=0.1,
        flip=0.5,
    ),
]
FASHION_PATH += [FASHION_PATH[-1].but("test-time flips", tta_flip=True)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def where_time_goes(recipe: Recipe, steps: int = 30, warmup: int = 5, device=None) -> dict[str, float]:
    """Milliseconds per training step spent on data (batch + augmentation), forward (with the loss),
    backward and the optimiser, measured over `steps` steps of `recipe` after `warmup` untimed ones.

    The device is synchronised between phases, which costs a little overlap on a GPU; on a CPU the
    phases run one after another anyway. Returns {"data": ms, "forward": ms, "backward": ms,
    "optimizer": ms, "total": ms}.
    """
    device = resolve_device(device)
    seed_everything(0)
    splits = tensor_splits(recipe.dataset, recipe.batch_size, recipe.train_subset, recipe.val_size, device=device)
    train = splits.train
    if recipe.shift or recipe.flip:
        mean, std = normalization(recipe.dataset)
        train = Augmented(train, FlipCrop(padding=recipe.shift, flip_p=recipe.flip, seed=0, fill=-mean / std))
    model = _model(recipe, device).train()
    optimizer = _optimizer(recipe, model, device)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    totals = dict(data=0.0, forward=0.0, backward=0.0, optimizer=0.0)
    batches = iter(train)
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(train)
            x, y = next(batches)
        x, y = x.to(device), y.to(device)
        _sync(device)
        t1 = time.perf_counter()
        loss = loss_fn(model(x), y)
        _sync(device)
        t2 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        _sync(device)
        t3 = time.perf_counter()
        optimizer.step()
        _sync(device)
        t4 = time.perf_counter()
        if i >= warmup:
            for key, seconds in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                totals[key] += seconds
    result = {key: 1e3 * value / steps for key, value in totals.items()}
    result["total"] = sum(result.values())
    return result
