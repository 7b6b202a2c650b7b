"""Callbacks: small objects that `coursekit.train.fit` calls at fixed points of training.

`fit` owns the loop (forward, loss, backward, step); a callback adds one behaviour around it without
copying the loop. There are five events, in this order::

    before_fit
        before_epoch                 (epoch = 1, 2, ...)
            after_batch              (after each optimizer step; batch = 0, 1, ...)
        after_epoch                  (after validation; run.history holds this epoch)
    after_fit                        (after the last epoch, or after CancelFit)
    cleanup_fit                      (always, even when training failed: close what you opened)

Each event is a method taking the `Run`, which holds everything the loop knows: the model, the
optimizer, the history so far, the current batch... Raise `CancelFit` from any event to stop
training cleanly: `fit` then runs ``after_fit`` and returns the history of the finished epochs.

The callbacks shipped here: `ProgressBar` and `LivePlot` (the two `fit` adds by default) and
`KeepBest` (keep the weights of the best epoch). Writing one is a few lines::

    class StopAt(Callback):
        def __init__(self, accuracy):
            self.accuracy = accuracy
        def after_epoch(self, run):
            if run.history.val_acc[-1] >= self.accuracy:
                raise CancelFit

This module imports neither Matplotlib nor IPython: `LivePlot` imports `coursekit.viz` only when
a fit starts with it, so ``import coursekit.train`` stays free of plotting modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from .errors import UnknownName


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where live figures and widget progress bars make sense)."""
    import sys

    if "IPython" not in sys.modules:  # nobody started IPython, so this is no kernel (and stays cheap)
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class CancelFit(Exception):
    """Raise it in any callback event to stop training; `fit` returns the history so far."""


@dataclass(repr=False, eq=False)
class Run:
    """What `fit` knows while it trains; every callback event receives it.

    Set once: `model`, `optimizer`, `scheduler` (or None), `device`, `history` (a
    `coursekit.train.History`, filled epoch by epoch), `epochs` (the number asked for), `train_loader`,
    `val_loader` (or None), `loss_fn`, `dtype` (the autocast dtype; float32 means no autocast),
    `n_batches` (``len(train_loader)``, or None when the loader has no length).
    Updated as training goes: `epoch` (1-based; 0 before the first), `batch` (0-based index in the
    epoch), and after each step `x` (B, ...) and `y` (the batch on `device`: class labels (B,), or any
    target (B, ...) when fit runs with ``accuracy=False``), `logits` (the model's output: (B, K) for a
    classifier) and `loss` (the batch's mean loss, a detached scalar tensor: call ``.item()`` only when
    you need the number, since it waits for the device). `stopped` is True once a callback raised CancelFit.
    """

    model: torch.nn.Module
    optimizer: Any
    scheduler: Any
    device: torch.device
    history: Any
    epochs: int
    train_loader: Any = None
    val_loader: Any = None
    loss_fn: Any = None
    dtype: torch.dtype = torch.float32
    n_batches: int | None = None
    epoch: int = 0
    batch: int = -1
    x: torch.Tensor | None = None
    y: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    loss: torch.Tensor | None = None
    stopped: bool = False
    extra: dict = field(default_factory=dict)  # room for callbacks to share values

    def __repr__(self) -> str:
        batches = "?" if self.n_batches is None else self.n_batches
        return (
            f"Run(epoch {self.epoch}/{self.epochs}, batch {self.batch + 1}/{batches}, "
            f"device {self.device}, stopped={self.stopped})"
        )


class Callback:
    """Base class: override the events you need; the others do nothing.

    Events run in the order of `fit`'s ``callbacks`` list (its default `ProgressBar` and `LivePlot`
    first). See the module docstring for when each event runs.
    """

    def before_fit(self, run: Run) -> None:
        """Once, before the first epoch (the model is already on `run.device`)."""

    def before_epoch(self, run: Run) -> None:
        """At the start of each epoch, `run.epoch` set."""

    def after_batch(self, run: Run) -> None:
        """After each optimizer step (and a per-batch scheduler step): `run.x/y/logits/loss` set."""

    def after_epoch(self, run: Run) -> None:
        """After the epoch's validation; the epoch's numbers are the last entries of `run.history`."""

    def after_fit(self, run: Run) -> None:
        """Once, after the last epoch or after a CancelFit (not after an error)."""

    def cleanup_fit(self, run: Run) -> None:
        """Always last, also when training raised an error: release what `before_fit` opened."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


EVENTS = ("before_fit", "before_epoch", "after_batch", "after_epoch", "after_fit", "cleanup_fit")


def _postfix(history) -> dict:
    """The numbers a progress bar shows after an epoch: training loss and validation accuracy."""
    postfix = {}
    if history.train_loss:
        postfix["loss"] = f"{history.train_loss[-1]:.4f}"
    if history.val_acc and history.val_acc[-1] is not None:
        postfix["val_acc"] = f"{history.val_acc[-1]:.4f}"
    return postfix


class ProgressBar(Callback):
    """A tqdm progress bar over all batches of the run, with the last epoch's loss and val_acc.

    In a notebook it is an ipywidgets bar whose output is re-published when training ends, so a saved
    notebook (also its plain-text fallback) shows the finished run: a full bar, the final loss and
    val_acc. Elsewhere it is tqdm's text bar on stderr. `notebook=None` decides with `in_notebook()`.
    """

    def __init__(self, desc: str = "training", notebook: bool | None = None):
        if not isinstance(desc, str):
            raise TypeError(f"ProgressBar desc must be a str, got {type(desc).__name__} {desc!r}")
        if notebook is not None and not isinstance(notebook, bool):
            raise TypeError(f"ProgressBar notebook must be True, False or None, got {notebook!r}")
        self.desc, self.notebook = desc, notebook
        self.bar = None
        self._handle = None  # the notebook output the bar lives in

    def _open(self, total: int | None):
        if self.notebook if self.notebook is not None else in_notebook():
            try:
                from IPython.display import display
                from tqdm.notebook import IProgress, tqdm_notebook

                if IProgress is not None:
                    bar = tqdm_notebook(total=total, desc=self.desc, unit="batch", display=False)
                    self._handle = display(bar.container, display_id=True)
                    return bar
            except ImportError:  # no ipywidgets: the text bar works everywhere
                pass
        from tqdm.std import tqdm

        return tqdm(total=total, desc=self.desc, unit="batch", leave=True)

    def before_fit(self, run: Run) -> None:
        total = None if run.n_batches is None else run.epochs * run.n_batches
        self.bar = self._open(total)

    def after_batch(self, run: Run) -> None:
        self.bar.update(1)

    def after_epoch(self, run: Run) -> None:
        self.bar.set_postfix(_postfix(run.history), refresh=True)

    def after_fit(self, run: Run) -> None:
        bar = self.bar
        if bar.total is None or bar.n < bar.total:  # unknown length, or stopped early: end at what ran
            bar.total = bar.n
            if hasattr(bar, "container"):  # the widget's bar keeps the total it was built with
                widget = bar.container.children[1]
                widget.max, widget.layout.width = max(bar.n, 1), None
        postfix = _postfix(run.history)
        if run.stopped:
            postfix["stopped"] = f"epoch {run.epoch}"
        bar.set_postfix(postfix, refresh=False)
        bar.refresh()  # the last update(1) may have been skipped by tqdm's minimum interval

    def cleanup_fit(self, run: Run) -> None:
        if self.bar is None:
            return
        self.bar.close()
        if self._handle is not None:  # re-publish: the saved text/plain now reads as the finished bar
            self._handle.update(self.bar.container)
        self.bar, self._handle = None, None


class LivePlot(Callback):
    """One live loss/accuracy figure, redrawn after every epoch (`coursekit.viz.LiveCurves`).

    It draws in a notebook only (elsewhere there is no output to redraw in place; use
    `coursekit.viz.plot_history` after training). Matplotlib is imported when a fit starts with this
    callback, not when it is created.
    """

    def __init__(self):
        self.curves = None

    def before_fit(self, run: Run) -> None:
        from .viz import LiveCurves

        self.curves = LiveCurves() if in_notebook() else None

    def after_epoch(self, run: Run) -> None:
        if self.curves is not None:
            self.curves.update(run.history)


class KeepBest(Callback):
    """Keep the weights of the best epoch: after `fit` the model holds them, not the last epoch's.

    metric: ``"val_acc"`` (default), ``"val_loss"``, ``"train_acc"`` or ``"train_loss"`` -- a column of
    `History`. mode: ``"max"`` or ``"min"``; None (default) means ``"max"`` for accuracies and
    ``"min"`` for losses. After every epoch that improves on the best so far, the model's state_dict is
    copied to the CPU; after fit it is loaded back. Sets `best_epoch` (1-based), `best_value`, and
    ``history.best_epoch``. Ties keep the earlier epoch; a NaN value never counts as best.
    """

    METRICS = ("val_acc", "val_loss", "train_acc", "train_loss")

    def __init__(self, metric: str = "val_acc", mode: str | None = None):
        if metric not in self.METRICS:
            raise UnknownName("KeepBest metric", metric, self.METRICS)
        if mode is None:
            mode = "min" if metric.endswith("loss") else "max"
        if mode not in ("max", "min"):
            raise UnknownName("KeepBest mode", mode, ("max", "min"))
        self.metric, self.mode = metric, mode
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.best_state: dict | None = None

    def _better(self, value: float) -> bool:
        if self.best_value is None:
            return True
        return value > self.best_value if self.mode == "max" else value < self.best_value

    def before_fit(self, run: Run) -> None:
        if self.metric.startswith("val_") and run.val_loader is None:
            raise ValueError(
                f"KeepBest(metric={self.metric!r}) needs a validation loader, but fit got "
                f"val_loader=None; pass one, or use metric='train_loss'"
            )
        self.best_epoch = self.best_value = self.best_state = None

    def after_epoch(self, run: Run) -> None:
        value = getattr(run.history, self.metric)[-1]
        if value is None or math.isnan(value) or not self._better(value):
            return
        self.best_epoch, self.best_value = run.history.epoch[-1], float(value)
        self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in run.model.state_dict().items()}

    def after_fit(self, run: Run) -> None:
        if self.best_state is not None:
            run.model.load_state_dict(self.best_state)
        run.history.best_epoch = self.best_epoch

    def __repr__(self) -> str:
        return f"KeepBest(metric={self.metric!r}, mode={self.mode!r}, best_epoch={self.best_epoch})"
