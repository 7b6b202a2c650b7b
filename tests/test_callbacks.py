"""coursekit.callbacks: the events come in order, CancelFit stops cleanly, KeepBest restores the best
epoch's weights, the progress bar ends showing the finished run, LivePlot imports Matplotlib lazily."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from coursekit import callbacks as cb_module
from coursekit.callbacks import Callback, CancelFit, KeepBest, LivePlot, ProgressBar, Run, in_notebook
from coursekit.train import evaluate, fit

CPU = torch.device("cpu")


def images(n_batches=3, batch=8, seed=0):
    """A few batches of 8x8 one-channel images whose class (0 or 1) sets their brightness."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        y = torch.randint(0, 2, (batch,), generator=g)
        x = torch.randn(batch, 1, 8, 8, generator=g) * 0.3 + (2 * y[:, None, None, None].float() - 1)
        out.append((x, y))
    return out


def tiny():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 2))


def run_fit(model=None, epochs=3, callbacks=(), val=True, **kwargs):
    model = model or tiny()
    kwargs = dict(dict(device=CPU, progress=False, live=False), **kwargs)
    return model, fit(
        model,
        images(),
        images(seed=1) if val else None,
        epochs,
        torch.optim.SGD(model.parameters(), lr=0.1),
        callbacks=callbacks,
        **kwargs,
    )


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def before_fit(self, run):
        assert isinstance(run, Run) and run.epoch == 0 and run.device == CPU
        self.events.append("before_fit")

    def before_epoch(self, run):
        self.events.append(f"before_epoch {run.epoch}")

    def after_batch(self, run):
        assert run.loss.ndim == 0 and not run.loss.requires_grad
        assert run.logits.shape == (len(run.y), 2) and run.x.shape[1:] == (1, 8, 8)
        self.events.append(f"after_batch {run.epoch}.{run.batch}")

    def after_epoch(self, run):
        assert run.history.epoch[-1] == run.epoch and run.history.val_acc[-1] is not None
        self.events.append(f"after_epoch {run.epoch}")

    def after_fit(self, run):
        self.events.append("after_fit")

    def cleanup_fit(self, run):
        self.events.append("cleanup_fit")


def test_events_come_in_order_with_the_run_filled_in():
    rec = Recorder()
    run_fit(epochs=2, callbacks=[rec])
    batches = [f"after_batch {e}.{b}" for e in (1, 2) for b in range(3)]
    assert rec.events == (
        ["before_fit", "before_epoch 1"]
        + batches[:3]
        + ["after_epoch 1", "before_epoch 2"]
        + batches[3:]
        + ["after_epoch 2", "after_fit", "cleanup_fit"]
    )


def test_callbacks_run_in_list_order_and_a_single_callback_is_accepted():
    order = []

    class Named(Callback):
        def __init__(self, name):
            self.name = name

        def after_epoch(self, run):
            order.append(self.name)

    run_fit(epochs=1, callbacks=[Named("a"), Named("b")])
    run_fit(epochs=1, callbacks=Named("c"))
    assert order == ["a", "b", "c"]


@pytest.mark.parametrize(
    "event, epochs_done", [("before_fit", 0), ("before_epoch", 1), ("after_batch", 1), ("after_epoch", 2)]
)
def test_cancel_fit_stops_cleanly_and_returns_the_history_so_far(event, epochs_done):
    class Stop(Callback):
        def before_fit(self, run):
            if event == "before_fit":
                raise CancelFit

        def before_epoch(self, run):
            if event == "before_epoch" and run.epoch == 2:
                raise CancelFit

        def after_batch(self, run):
            if event == "after_batch" and run.epoch == 2 and run.batch == 1:
                raise CancelFit

        def after_epoch(self, run):
            if event == "after_epoch" and run.epoch == 2:
                raise CancelFit

    rec = Recorder()
    _, history = run_fit(epochs=5, callbacks=[Stop(), rec])
    assert history.epoch == list(range(1, epochs_done + 1))  # an epoch cut short is not recorded
    assert rec.events[-2:] == ["after_fit", "cleanup_fit"]


def test_an_error_still_runs_cleanup_but_not_after_fit():
    class Boom(Callback):
        def after_batch(self, run):
            raise RuntimeError("boom")

    rec = Recorder()
    with pytest.raises(RuntimeError, match="boom"):
        run_fit(callbacks=[rec, Boom()])
    assert "after_fit" not in rec.events and rec.events[-1] == "cleanup_fit"


def test_keep_best_restores_the_best_epochs_weights():
    """Epochs 1-2 learn; during epoch 3 a callback wipes the weights, so epoch 3 is at chance level.
    KeepBest must hand back the best epoch's weights, exactly."""

    class Snapshots(Callback):
        def __init__(self):
            self.states = {}

        def after_epoch(self, run):
            self.states[run.epoch] = {k: v.clone() for k, v in run.model.state_dict().items()}

    class Sabotage(Callback):
        def after_batch(self, run):
            if run.epoch == 3 and run.batch == run.n_batches - 1:
                with torch.no_grad():
                    for p in run.model.parameters():
                        p.zero_()

    keep, snaps = KeepBest(), Snapshots()
    torch.manual_seed(0)
    model, history = run_fit(epochs=3, callbacks=[Sabotage(), snaps, keep])
    assert history.val_acc[2] < max(history.val_acc[:2])  # the last epoch is worse
    assert keep.best_epoch in (1, 2) and history.best_epoch == keep.best_epoch
    assert keep.best_value == max(history.val_acc)
    for name, value in model.state_dict().items():
        assert torch.equal(value, snaps.states[keep.best_epoch][name]), name
    assert evaluate(model, images(seed=1), CPU)[1] == keep.best_value


def test_keep_best_by_loss_minimises_and_ties_keep_the_first():
    keep = KeepBest("val_loss")
    assert keep.mode == "min" and KeepBest("train_acc").mode == "max"
    _, history = run_fit(epochs=3, callbacks=[keep])
    assert keep.best_value == min(history.val_loss)
    assert keep.best_epoch == history.val_loss.index(min(history.val_loss)) + 1

    class Flat(Callback):  # every epoch scores the same: the first one is kept
        def after_epoch(self, run):
            run.history.val_acc[-1] = 0.5

    flat = KeepBest()
    run_fit(epochs=3, callbacks=[Flat(), flat])
    assert flat.best_epoch == 1


def test_keep_best_on_the_training_loss_works_without_validation():
    keep = KeepBest("train_loss")
    _, history = run_fit(epochs=2, callbacks=[keep], val=False)
    assert history.best_epoch == keep.best_epoch and keep.best_value == min(history.train_loss)


def last_frame(text: str) -> str:
    return text.replace("\n", "\r").strip("\r").split("\r")[-1]


def test_text_progress_bar_ends_full_with_the_final_numbers(capsys):
    _, history = run_fit(epochs=2, callbacks=[ProgressBar(notebook=False)])
    final = last_frame(capsys.readouterr().err)
    assert "100%" in final and "6/6" in final
    assert f"loss={history.train_loss[-1]:.4f}" in final and f"val_acc={history.val_acc[-1]:.4f}" in final


def test_progress_is_the_default_callback_and_not_doubled(capsys):
    run_fit(epochs=1, progress=True, callbacks=[ProgressBar(desc="mine", notebook=False)])
    err = capsys.readouterr().err
    assert "mine" in err and "training" not in err
    run_fit(epochs=1, progress=True)
    assert "training" in capsys.readouterr().err


def test_a_stopped_run_ends_at_what_ran(capsys):
    class StopAfterOne(Callback):
        def after_epoch(self, run):
            raise CancelFit

    run_fit(epochs=4, callbacks=[StopAfterOne(), ProgressBar(notebook=False)])
    final = last_frame(capsys.readouterr().err)
    assert "3/3" in final and "100%" in final and "stopped=epoch 1" in final


def test_notebook_progress_bar_republishes_its_finished_state(monkeypatch):
    """In a notebook the bar is a widget; a saved notebook keeps the text/plain of the display, so the
    bar re-publishes its output at the end: the saved text reads as the finished run."""
    pytest.importorskip("ipywidgets")
    import IPython.display

    published = []

    class Handle:
        def update(self, obj):
            published.append(repr(obj))

    def display(obj, display_id=None):
        assert display_id is True
        published.append(repr(obj))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    bar = ProgressBar(notebook=True)
    seen = {}

    class Peek(Callback):  # look at the widget before cleanup closes the bar
        def after_fit(self, run):
            seen["bar"] = bar.bar

    _, history = run_fit(epochs=2, callbacks=[bar, Peek()])
    assert len(published) == 2 and "0/6" in published[0]
    final = published[-1]
    assert "100%" in final and "6/6" in final
    assert f"loss={history.train_loss[-1]:.4f}" in final and f"val_acc={history.val_acc[-1]:.4f}" in final
    widget = seen["bar"].container.children[1]
    assert widget.value == widget.max == 6 and widget.bar_style == "success"


def test_in_notebook_is_false_here_and_viz_keeps_its_name():
    assert in_notebook() is False
    from coursekit import viz

    assert viz.in_notebook() is False


def test_live_plot_imports_matplotlib_only_when_a_fit_uses_it():
    code = (
        "import sys, torch\n"
        "from torch import nn\n"
        "from coursekit.callbacks import LivePlot\n"
        "from coursekit.train import fit\n"
        "plot = LivePlot()\n"
        "print('matplotlib' in sys.modules)\n"
        "m = nn.Linear(2, 2)\n"
        "data = [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))]\n"
        "fit(m, data, data, 1, torch.optim.SGD(m.parameters(), lr=0.1), device='cpu', progress=False,\n"
        "    callbacks=[plot])\n"
        "print('matplotlib' in sys.modules, plot.curves is None)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "MPLBACKEND": "Agg"},
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "False" and lines[-1] == "True True"


def test_live_plot_redraws_one_figure_per_epoch_in_a_notebook(monkeypatch):
    import IPython.display

    updates = []

    class Handle:
        def update(self, obj):
            updates.append(obj)

    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id=None: Handle())
    monkeypatch.setattr(cb_module, "in_notebook", lambda: True)
    plot = LivePlot()
    run_fit(epochs=3, callbacks=[plot])
    assert len(updates) == 3 and all(fig is plot.curves.fig for fig in updates)


def test_live_is_added_only_in_a_notebook(monkeypatch):
    from coursekit import train

    made = []
    monkeypatch.setattr(LivePlot, "before_fit", lambda self, run: made.append(self))
    monkeypatch.setattr(LivePlot, "after_epoch", lambda self, run: None)
    monkeypatch.setattr(train, "in_notebook", lambda: True)
    run_fit(epochs=1, live=None)
    assert len(made) == 1
    monkeypatch.setattr(train, "in_notebook", lambda: False)
    run_fit(epochs=1, live=None)
    run_fit(epochs=1, live=True, callbacks=[LivePlot()])  # not doubled
    assert len(made) == 2


def test_the_run_has_a_short_repr():
    seen = []

    class Look(Callback):
        def after_epoch(self, run):
            seen.append(repr(run))

    run_fit(epochs=1, callbacks=[Look()])
    assert seen == ["Run(epoch 1/1, batch 3/3, device cpu, stopped=False)"]
    assert cb_module.EVENTS[0] == "before_fit" and len(cb_module.EVENTS) == 6
