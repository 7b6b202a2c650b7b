"""coursekit.train: fit lowers the loss; evaluate counts correctly; the CPU path has no AMP."""
import matplotlib
import pytest
import torch
from torch import nn

from coursekit.data import TensorLoader
from coursekit.device import seed_everything
from coursekit.train import History, evaluate, fit, use_amp


def blobs(n=256, seed=0):
    """Two Gaussian blobs in 2-D, labels 0/1: linearly separable."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.5 + (y[:, None].float() * 2 - 1) * 1.5
    return list(zip(x.split(32), y.split(32)))


def test_fit_lowers_the_loss_and_learns():
    seed_everything(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    train, val = blobs(seed=0), blobs(seed=1)
    loss_before, _ = evaluate(model, val, torch.device("cpu"))
    history = fit(model, train, val, epochs=5, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                  device=torch.device("cpu"), progress=False, live=False)
    assert isinstance(history, History)
    assert history.epoch == [1, 2, 3, 4, 5]
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_loss[-1] < loss_before
    assert history.val_acc[-1] > 0.95
    assert len(history.seconds) == 5 and all(s > 0 for s in history.seconds)
    assert history.samples == 5 * 256


def test_fit_steps_an_epoch_scheduler_once_per_epoch():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    fit(model, blobs(), None, epochs=3, optimizer=opt, scheduler=sched, device=torch.device("cpu"),
        progress=False, live=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.125)


def test_fit_steps_one_cycle_every_batch():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = blobs()
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2 * len(batches))
    fit(model, batches, None, epochs=2, optimizer=opt, scheduler=sched, device=torch.device("cpu"),
        progress=False, live=False)
    assert sched.last_epoch == 2 * len(batches)


def test_evaluate_counts_accuracy_exactly():
    class Constant(nn.Module):
        def forward(self, x):
            return torch.tensor([[0.0, 1.0]]).expand(len(x), 2)  # always predicts class 1

    x = torch.zeros(10, 1, 1, 1, dtype=torch.uint8)
    y = torch.tensor([1, 1, 1, 0, 0, 1, 1, 0, 1, 1])
    loss, acc = evaluate(Constant(), TensorLoader(x, y, batch_size=3), torch.device("cpu"))
    assert acc == pytest.approx(0.7)
    assert loss == pytest.approx(torch.nn.functional.cross_entropy(torch.tensor([[0.0, 1.0]] * 10), y).item())


def test_amp_only_on_cuda():
    assert use_amp(torch.device("cuda")) and not use_amp(torch.device("cpu"))
    assert not use_amp(torch.device("mps"))


def test_fit_rejects_zero_epochs():
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        fit(nn.Linear(2, 2), blobs(), None, epochs=0, optimizer=None, device=torch.device("cpu"))


def test_fit_leaves_no_live_figure_outside_a_notebook():
    import matplotlib.pyplot as plt

    plt.close("all")
    model = nn.Linear(2, 2)
    fit(model, blobs(), blobs(1), epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        device=torch.device("cpu"), progress=False)
    assert plt.get_fignums() == []
