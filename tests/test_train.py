"""coursekit.train: fit lowers the loss and equals a hand-written loop; evaluate and predict count
correctly; str devices, loss modules, ReduceLROnPlateau, clipping, divergence and empty loaders."""

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import coursekit.train as train
from coursekit.device import seed_everything
from coursekit.train import History, autocast_dtype, evaluate, fit, predict, use_amp

CPU = torch.device("cpu")


def blobs(n=256, seed=0):
    """Two Gaussian blobs in 2-D, labels 0/1: linearly separable."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.5 + (y[:, None].float() * 2 - 1) * 1.5
    return list(zip(x.split(32), y.split(32), strict=True))


def images(n_batches=3, batch=8, classes=3, seed=0):
    """A few batches of 8x8 one-channel images whose class sets their brightness."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        y = torch.randint(0, classes, (batch,), generator=g)
        x = torch.randn(batch, 1, 8, 8, generator=g) * 0.3 + y[:, None, None, None].float()
        out.append((x, y))
    return out


def small_cnn(classes=3):
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(4 * 4 * 4, classes),
    )


def quiet(**kwargs):
    return dict(device=CPU, progress=False, live=False, **kwargs)


def test_fit_lowers_the_loss_and_learns():
    seed_everything(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    train_batches, val = blobs(seed=0), blobs(seed=1)
    loss_before, _ = evaluate(model, val, CPU)
    history = fit(model, train_batches, val, epochs=5, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), **quiet())
    assert isinstance(history, History)
    assert history.epoch == [1, 2, 3, 4, 5]
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_loss[-1] < loss_before
    assert history.val_acc[-1] > 0.95
    assert len(history.seconds) == 5 and all(s > 0 for s in history.seconds)
    assert history.samples == 5 * 256
    assert history.best_epoch is None  # only KeepBest sets it


def test_the_notebooks_positional_call_still_works():
    """fit(model, train, val, epochs, optimizer, scheduler) as every notebook calls it."""
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)
    history = fit(model, blobs(), blobs(1), 2, opt, sched, device=CPU, progress=False, live=False)
    assert history.epoch == [1, 2] and None not in history.val_acc


def hand_written_loop(model, batches, epochs, optimizer, scheduler=None):
    for _ in range(epochs):
        model.train()
        for x, y in batches:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()


@pytest.mark.parametrize("one_cycle", [False, True])
def test_same_seed_fit_gives_the_result_of_a_plain_loop(one_cycle):
    """fit adds bookkeeping, validation and callbacks, never a change to the training steps
    (dropout draws, BatchNorm statistics and weights agree bit for bit)."""
    batches, val = images(seed=0), images(seed=1)
    results = []
    for use_fit in (True, False):
        seed_everything(3)
        model = small_cnn()
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = (
            torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3 * len(batches)) if one_cycle else None
        )
        if use_fit:
            fit(model, batches, val, 3, opt, sched, **quiet())
        else:
            hand_written_loop(model, batches, 3, opt, sched)
        results.append(model.state_dict())
    for name, value in results[0].items():
        assert torch.equal(value, results[1][name]), name


def test_fit_steps_an_epoch_scheduler_once_per_epoch():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    fit(model, blobs(), None, epochs=3, optimizer=opt, scheduler=sched, **quiet())
    assert opt.param_groups[0]["lr"] == pytest.approx(0.125)


def test_fit_steps_one_cycle_every_batch():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = blobs()
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2 * len(batches))
    fit(model, batches, None, epochs=2, optimizer=opt, scheduler=sched, **quiet())
    assert sched.last_epoch == 2 * len(batches)


@pytest.mark.parametrize("with_val", [True, False])
def test_reduce_lr_on_plateau_gets_the_validation_loss_or_the_training_loss(with_val):
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1e-6)  # too small to improve: a plateau from epoch 2 on
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=0)
    history = fit(model, blobs(), blobs(1) if with_val else None, 1, opt, sched, **quiet())
    assert sched.best == (history.val_loss[0] if with_val else history.train_loss[0])
    fit(model, blobs(), blobs(1) if with_val else None, 2, opt, sched, **quiet())
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-8)  # cut by 10 after each of the two flat epochs


def test_device_may_be_a_string():
    model = nn.Linear(2, 2)
    history = fit(
        model,
        blobs(),
        blobs(1),
        1,
        torch.optim.SGD(model.parameters(), lr=0.1),
        device="cpu",
        progress=False,
        live=False,
    )
    assert history.val_acc[0] is not None
    assert evaluate(model, blobs(1), "cpu")[1] == history.val_acc[0]


def test_a_loss_module_trains_like_the_function():
    states = []
    for loss_fn in (F.cross_entropy, nn.CrossEntropyLoss()):
        seed_everything(0)
        model = nn.Linear(2, 2)
        history = fit(
            model, blobs(), blobs(1), 2, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn=loss_fn, **quiet()
        )
        states.append((model.weight.detach().clone(), history))
    assert torch.equal(states[0][0], states[1][0])
    assert states[0][1].train_loss == states[1][1].train_loss
    assert states[1][1].val_loss == pytest.approx(states[0][1].val_loss, rel=1e-6)


def test_loss_modules_with_sum_or_no_reduction_record_the_mean_per_sample():
    seed_everything(0)
    model = nn.Linear(2, 2)
    batches = blobs(64)
    mean_loss, _ = evaluate(model, batches, CPU)
    for loss_fn in (nn.CrossEntropyLoss(reduction="sum"), nn.CrossEntropyLoss(reduction="none")):
        assert evaluate(model, batches, CPU, loss_fn)[0] == pytest.approx(mean_loss, rel=1e-6)
    smoothed = nn.CrossEntropyLoss(label_smoothing=0.1)
    x, y = batches[0]
    assert evaluate(model, [batches[0]], CPU, smoothed)[0] == pytest.approx(smoothed(model(x), y).item(), rel=1e-6)
    runs = []
    for loss_fn, lr in ((F.cross_entropy, 0.1), (nn.CrossEntropyLoss(reduction="sum"), 0.1 / 32)):
        seed_everything(0)
        model = nn.Linear(2, 2)
        runs.append(
            fit(model, batches, None, 2, torch.optim.SGD(model.parameters(), lr=lr), loss_fn=loss_fn, **quiet())
        )
    # the same steps (a sum over 32 samples with lr / 32 is the mean with lr), recorded per sample
    assert runs[1].train_loss == pytest.approx(runs[0].train_loss, rel=1e-5)


def test_evaluate_counts_accuracy_exactly():
    class Constant(nn.Module):
        def forward(self, x):
            return torch.tensor([[0.0, 1.0]]).expand(len(x), 2)  # always predicts class 1

    x = torch.zeros(10, 1, 1, 1)
    y = torch.tensor([1, 1, 1, 0, 0, 1, 1, 0, 1, 1])
    loader = list(zip(x.split(3), y.split(3), strict=True))
    loss, acc = evaluate(Constant(), loader, CPU)
    assert acc == pytest.approx(0.7)
    assert loss == pytest.approx(F.cross_entropy(torch.tensor([[0.0, 1.0]] * 10), y).item())


def test_predict_returns_classes_and_labels_in_order():
    model = nn.Linear(2, 2)
    batches = blobs(100)
    model.train()
    preds, labels = predict(model, batches)
    assert model.training  # restored
    assert preds.dtype == labels.dtype == torch.int64 and preds.shape == labels.shape == (100,)
    assert preds.device.type == "cpu"
    x = torch.cat([b[0] for b in batches])
    assert torch.equal(labels, torch.cat([b[1] for b in batches]))
    assert torch.equal(preds, model(x).argmax(1))
    assert (preds == labels).double().mean().item() == pytest.approx(evaluate(model, batches)[1])


def test_amp_only_on_cuda():
    assert use_amp(torch.device("cuda")) and not use_amp(torch.device("cpu"))
    assert not use_amp(torch.device("mps"))


def test_autocast_dtype_float32_off_cuda_bfloat16_where_supported(monkeypatch):
    assert autocast_dtype(CPU) == torch.float32 and autocast_dtype("cpu") == torch.float32
    assert autocast_dtype("mps") == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert autocast_dtype("cuda") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    assert autocast_dtype(torch.device("cuda", 0)) == torch.float16  # emulated bfloat16 does not count


def update_norm(model, before):
    return (
        torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before, strict=True)]).norm().item()
    )


def test_clip_grad_norm_limits_each_step():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    batch = images(n_batches=1)
    x, y = batch[0]
    F.cross_entropy(model(x), y).backward()
    grad_norm = torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()
    model.zero_grad()
    clip = grad_norm / 4
    before = [p.detach().clone() for p in model.parameters()]
    fit(model, batch, None, 1, torch.optim.SGD(model.parameters(), lr=1.0), clip_grad_norm=clip, **quiet())
    assert update_norm(model, before) == pytest.approx(clip, rel=1e-4)  # lr 1: the step is the clipped gradient


def test_the_float16_path_unscales_before_clipping(monkeypatch):
    """With float16 autocast (here forced on the CPU) a GradScaler multiplies the loss; clipping must
    see the true gradients, so the step still has norm `clip`, not clip / scale."""
    monkeypatch.setattr(train, "autocast_dtype", lambda device: torch.float16)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    x, y = torch.randn(8, 1, 8, 8) * 0.1, torch.randint(0, 2, (8,))
    before = [p.detach().clone() for p in model.parameters()]
    history = fit(model, [(x, y)], None, 1, torch.optim.SGD(model.parameters(), lr=1.0), clip_grad_norm=1e-3, **quiet())
    assert update_norm(model, before) == pytest.approx(1e-3, rel=1e-2)
    assert next(model.parameters()).dtype == torch.float32 and history.train_loss[0] > 0


def test_fit_rejects_zero_epochs():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        fit(model, blobs(), None, epochs=0, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), device=CPU)


def test_an_empty_training_loader_is_named():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="train_loader yielded no batches"):
        fit(model, [], None, 1, torch.optim.SGD(model.parameters(), lr=0.1), **quiet())
    with pytest.raises(ValueError, match="train_loader yielded no batches in epoch 2.*generator"):
        fit(model, (b for b in blobs()), None, 2, torch.optim.SGD(model.parameters(), lr=0.1), **quiet())


def test_a_diverging_run_stops_with_the_epoch_and_advice():
    model = nn.Linear(2, 2)
    bad = [(x.clone(), y) for x, y in blobs()]
    bad[3][0][0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match=r"became nan in epoch 1 .*lower the learning rate \(lr=0.1\)"):
        fit(model, bad, blobs(1), 3, torch.optim.SGD(model.parameters(), lr=0.1), **quiet())


def test_divergence_is_caught_inside_a_long_epoch(monkeypatch):
    from coursekit.callbacks import Callback

    class Count(Callback):
        batches = 0

        def after_batch(self, run):
            Count.batches += 1

    monkeypatch.setattr(train, "CHECK_EVERY", 2)
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.fill_(float("inf"))
    with pytest.raises(FloatingPointError, match="in epoch 1 \\(after 2 batches\\)"):
        fit(model, blobs(), None, 1, torch.optim.SGD(model.parameters(), lr=0.1), callbacks=[Count()], **quiet())
    assert Count.batches == 2  # stopped there, not at the end of the 8-batch epoch


def test_fit_leaves_no_live_figure_outside_a_notebook():
    import matplotlib.pyplot as plt

    plt.close("all")
    model = nn.Linear(2, 2)
    fit(
        model,
        blobs(),
        blobs(1),
        epochs=1,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        device=CPU,
        progress=False,
    )
    assert plt.get_fignums() == []


def test_importing_train_and_data_imports_no_plotting_module():
    code = (
        "import sys, coursekit.data, coursekit.train, coursekit.callbacks, coursekit.metrics\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'coursekit.viz'))\n"
        "bad += [m for m in sys.modules if m == 'coursekit.viz']\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
