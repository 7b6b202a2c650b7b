"""Exercises of notebook 18 (the speedrun): steps in a fractional budget, schedules, label smoothing, budgets."""

from . import exercise


@exercise(
    "speedrun.steps_in_1_4_epochs",
    hint="Count the batches of one pass first (the last, smaller batch counts too), then take 1.4 times "
    "that and round to a whole number of steps.",
)
def _steps_in_1_4_epochs():
    import math

    from ..data import Batches

    batches_per_pass = math.ceil(55_000 / 128)
    return len(Batches(range(batches_per_pass), round(1.4 * batches_per_pass)))


@exercise(
    "speedrun.smoothed_target",
    hint="Label smoothing mixes the one-hot target with the uniform distribution over the K classes: "
    "(1 - eps) x one-hot + eps / K.",
    tol=1e-9,
)
def _smoothed_target():
    import torch

    # the loss of logits that put all weight on class 0, with and without smoothing, tells torch's target
    logits = torch.tensor([[0.0] * 10], dtype=torch.float64)
    logits[0, 0] = 1.0
    plain = torch.nn.functional.cross_entropy(logits, torch.tensor([0]))
    smoothed = torch.nn.functional.cross_entropy(logits, torch.tensor([0]), label_smoothing=0.1)
    # smoothed = (1 - eps) * plain + eps * mean_k(-log p_k); solve for the weight on the true class
    log_p = torch.log_softmax(logits, 1)[0]
    eps = (smoothed - plain) / (-log_p.mean() - plain)
    return float(1 - eps + eps / 10)


@exercise(
    "speedrun.loss_floor",
    hint="With smoothing the target is not one-hot, so the best a network can do is to predict the smoothed "
    "target itself; the cross-entropy is then the entropy of that target, -sum t_k ln t_k.",
    tol=1e-4,
)
def _loss_floor():
    import torch

    target = torch.full((10,), 0.01)
    target[0] = 0.91
    return float(torch.nn.functional.cross_entropy(target.log()[None], torch.tensor([0]), label_smoothing=0.1))


@exercise(
    "speedrun.peak_step",
    hint="OneCycleLR warms up for pct_start of the steps: build it on a dummy optimiser, step through the "
    "schedule and find where the learning rate is largest (count steps from 0).",
)
def _peak_step():
    import torch

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.012, total_steps=602, pct_start=0.2)
    rates = []
    for _ in range(602):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return max(range(602), key=rates.__getitem__)


@exercise(
    "speedrun.passes_in_budget",
    hint="Images per second times seconds is the number of images the budget allows; divide by the size of one pass.",
    tol=0.01,
)
def _passes_in_budget():
    return 300 * 2_000 / 55_000
