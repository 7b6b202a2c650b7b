"""coursekit.speedrun: recipes are validated, runs are repeatable and measured as the speedrun counts them."""

import math

import pytest
import torch
from torch import nn

from coursekit.augment import flip_averaged_logits
from coursekit.errors import UnknownName
from coursekit.speedrun import MODELS, Recipe, SpeedRun, evaluate_accuracy, run, summarize, where_time_goes
from coursekit.train import History

TINY = Recipe("tiny", dataset="mnist", model="LeNet5", epochs=1, train_subset=512, val_size=100, batch_size=32)


@pytest.mark.parametrize(
    "changes, error, words",
    [
        (dict(dataset="cifar10"), UnknownName, ["dataset", "cifar10", "mnist"]),
        (dict(model="VGG"), UnknownName, ["model", "VGG", "LeNet5"]),
        (dict(optimizer="adam"), UnknownName, ["optimizer", "adam", "adamw"]),
        (dict(epochs=0), ValueError, ["epochs", "positive number"]),
        (dict(epochs="2"), ValueError, ["epochs"]),
        (dict(batch_size=True), ValueError, ["batch_size"]),
        (dict(train_subset=0), ValueError, ["train_subset"]),
        (dict(lr=0), ValueError, ["lr"]),
        (dict(lr=float("inf")), ValueError, ["lr"]),
        (dict(weight_decay=-1.0), ValueError, ["weight_decay"]),
        (dict(label_smoothing=1.0), ValueError, ["label_smoothing", "[0, 1)"]),
        (dict(flip=-0.1), ValueError, ["flip"]),
        (dict(shift=-1), ValueError, ["shift", "integer >= 0"]),
        (dict(compile="yes"), ValueError, ["compile", "True or False"]),
        (dict(tta_flip=1), ValueError, ["tta_flip", "True or False"]),
    ],
)
def test_a_bad_recipe_is_refused_by_name(changes, error, words):
    with pytest.raises(error) as raised:
        Recipe("bad", **changes)
    for word in words:
        assert word in str(raised.value)


def test_but_changes_one_thing_and_renames():
    step = TINY.but("smoothed", label_smoothing=0.1)
    assert step.name == "smoothed" and step.label_smoothing == 0.1
    assert {f: getattr(step, f) for f in ("dataset", "model", "epochs", "lr")} == {
        f: getattr(TINY, f) for f in ("dataset", "model", "epochs", "lr")
    }
    assert TINY.label_smoothing == 0.0  # frozen: the original is unchanged
    with pytest.raises(ValueError, match="lr"):
        TINY.but("bad", lr=-1.0)


def test_every_named_model_reads_28x28_and_gives_10_scores():
    for name, build in MODELS.items():
        assert build()(torch.zeros(2, 1, 28, 28)).shape == (2, 10), name


def test_flip_averaged_logits_is_the_mean_of_both_views():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Flatten(), nn.Linear(3 * 4 * 4, 5)).eval()
    x = torch.randn(4, 1, 6, 6)
    expected = (model(x) + model(torch.flip(x, dims=[3]))) / 2
    torch.testing.assert_close(flip_averaged_logits(model, x), expected)
    mirror_blind = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1, 5)).eval()
    torch.testing.assert_close(flip_averaged_logits(mirror_blind, x), mirror_blind(x))
    with pytest.raises(TypeError, match="batch tensor"):
        flip_averaged_logits(model, x.numpy())


def test_a_run_is_repeatable_and_counts_training_only():
    first, second = run(TINY, seed=3), run(TINY, seed=3)
    assert isinstance(first, SpeedRun) and first.recipe == "tiny" and first.seed == 3
    assert first.train_images == 512 and first.history.epoch == [1]
    assert first.train_seconds == pytest.approx(first.history.train_seconds) and first.train_seconds > 0
    assert 0.0 <= first.test_accuracy <= 1.0 and first.test_accuracy == second.test_accuracy
    assert math.isclose(first.images_per_second, 512 / first.train_seconds)
    with pytest.raises(TypeError, match="Recipe"):
        run({"epochs": 1})


def test_test_accuracy_with_and_without_the_mirror():
    class Fixed(nn.Module):  # predicts class 1 for an image brighter on the left, else class 0
        def forward(self, x):
            left, right = x[..., : x.shape[-1] // 2].sum((1, 2, 3)), x[..., x.shape[-1] // 2 :].sum((1, 2, 3))
            return torch.stack([right - left, left - right], 1)

    x = torch.zeros(2, 1, 4, 4)
    x[0, ..., :2] = 1.0  # bright left: class 1
    x[1, ..., 2:] = 1.0  # bright right: class 0
    loader = [(x, torch.tensor([1, 0]))]
    assert evaluate_accuracy(Fixed(), loader, "cpu") == 1.0
    # the mirror view cancels every score: two ties, both broken towards class 0, right for one image only
    assert evaluate_accuracy(Fixed(), loader, "cpu", tta_flip=True) == 0.5


def test_a_fraction_of_an_epoch_trains_that_many_steps():
    part = run(TINY.but("1.5 passes", epochs=1.5), seed=0)
    assert part.train_images == 24 * 32  # 16 batches a pass (512 / 32): round(1.5 x 16) = 24 steps
    assert part.history.epoch == [1]


def test_summarize_gives_mean_spread_and_minimum():
    runs = [SpeedRun("r", s, acc, sec, 1000, History()) for s, acc, sec in [(0, 0.99, 4.0), (1, 0.98, 6.0)]]
    row = summarize(runs)
    assert row["recipe"] == "r" and row["seeds"] == [0, 1]
    assert row["accuracy_mean"] == pytest.approx(0.985) and row["accuracy_min"] == 0.98
    assert row["accuracy_std"] == pytest.approx(0.00707107, rel=1e-5) and row["seconds_mean"] == 5.0
    assert row["plain_accuracy_mean"] == pytest.approx(0.985)  # no test-time augmentation: the same
    assert summarize(runs[:1])["accuracy_std"] == 0.0
    with pytest.raises(ValueError, match="at least one run"):
        summarize([])


def test_where_time_goes_adds_up():
    phases = where_time_goes(TINY, steps=3, warmup=1)
    assert set(phases) == {"data", "forward", "backward", "optimizer", "total"}
    assert all(v > 0 for v in phases.values())
    assert phases["total"] == pytest.approx(sum(v for k, v in phases.items() if k != "total"))


def test_batches_wraps_around_the_loader_for_a_budget_in_steps():
    from coursekit.data import Batches

    loader = [(torch.full((2, 1), float(i)), torch.tensor([i, i])) for i in range(3)]  # three batches a pass
    budget = Batches(loader, 7)
    assert len(budget) == 7
    assert [int(y[0]) for _, y in budget] == [0, 1, 2, 0, 1, 2, 0]
    assert [int(y[0]) for _, y in Batches(loader, 2)] == [0, 1]
    with pytest.raises(ValueError, match="no batches"):
        list(Batches([], 3))
    with pytest.raises(ValueError, match="count"):
        Batches(loader, 0)
    with pytest.raises(TypeError, match="iterable"):
        Batches(None, 3)


def test_compile_trains_the_compiled_wrapper_of_the_same_weights(monkeypatch):
    # torch.compile itself is measured by benchmarks/compile.py (tens of seconds of compilation); here a
    # stand-in records what it is given, and the run must train and evaluate through what it returns.
    given, calls = [], []

    class Wrapper(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            calls.append(x.shape)
            return self.model(x)

    def fake_compile(model):
        given.append(model)
        return Wrapper(model)

    monkeypatch.setattr(torch, "compile", fake_compile)
    compiled = run(TINY.but("compiled", compile=True), seed=3)
    assert len(given) == 1 and isinstance(given[0], MODELS["LeNet5"])
    assert len(calls) > 16  # 16 training batches, then the test set: all through the wrapper
    plain = run(TINY, seed=3)
    assert len(given) == 1  # compile=False never compiles
    assert compiled.test_accuracy == plain.test_accuracy  # same seed, same weights, same arithmetic
    where_time_goes(TINY.but("compiled", compile=True), steps=2, warmup=1)
    assert len(given) == 2
