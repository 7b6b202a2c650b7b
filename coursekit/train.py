"""Training and evaluation loops, written once and used by every notebook.

`fit` runs the classic loop -- forward, loss, backward, step -- for a number of epochs, evaluates
on a validation loader after each one, and returns a `History`. Behaviour around the loop comes from
callbacks (`coursekit.callbacks`): by default a progress bar, and in a notebook one live
loss/accuracy figure; `KeepBest` keeps the best epoch's weights; raise `CancelFit` to stop.

Precision: on CUDA `fit` uses autocast -- bfloat16 where the GPU supports it (no gradient scaler
needed: bfloat16 has float32's range), else float16 with a `GradScaler`; on the CPU and on MPS it
stays in float32, where autocast would only slow it down (`autocast_dtype`).

`evaluate` gives mean loss and accuracy, `predict` the predicted and true classes of a loader.
Importing this module imports no plotting library.

Data-parallel training (`coursekit.distributed`): given a model wrapped in DistributedDataParallel,
`fit` and `evaluate` sum their loss, accuracy and sample counts over the ranks, so that every rank
reports the numbers of the whole batch, split or epoch; only rank 0 adds the progress bar and the
live figure. Every rank must then call them together (each on its shard); to evaluate on one rank
alone, pass the plain model, ``model.module``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .callbacks import Callback, CancelFit, KeepBest, LivePlot, ProgressBar, Run, in_notebook
from .device import get_device, resolve_device

__all__ = [
    "History",
    "fit",
    "evaluate",
    "predict",
    "autocast_dtype",
    "use_amp",
    "Callback",
    "CancelFit",
    "KeepBest",
    "LivePlot",
    "ProgressBar",
    "Run",
    "in_notebook",
]

# A diverging run is caught at the end of every epoch, and inside long epochs every this many batches
# (one device synchronisation per check, never one per batch).
CHECK_EVERY = 100


@dataclass
class History:
    """What happened during `fit`, one entry per epoch (validation entries None without a loader)."""

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)  # wall time of each epoch's training pass
    samples: int = 0  # training samples seen in total
    best_epoch: int | None = None  # set by callbacks.KeepBest: the epoch whose weights were kept

    @property
    def train_seconds(self) -> float:
        """Total wall time spent in training passes (evaluation excluded)."""
        return float(sum(self.seconds))

    @property
    def final_val_acc(self) -> float | None:
        return self.val_acc[-1] if self.val_acc else None

    def as_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------------------- precision


def _bf16_supported() -> bool:
    """Native bfloat16 on the current CUDA GPU (compute capability >= 8.0), emulation not counted."""
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # older torch without the argument
        return bool(torch.cuda.is_bf16_supported())
    except (RuntimeError, AssertionError):  # no usable CUDA
        return False


def autocast_dtype(device: torch.device | str) -> torch.dtype:
    """The dtype `fit` computes in on `device`: bfloat16 on a CUDA GPU that supports it natively,
    float16 on other CUDA GPUs (then with a gradient scaler), float32 (no autocast) on CPU and MPS."""
    device = torch.device(device)
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if _bf16_supported() else torch.float16


def use_amp(device: torch.device) -> bool:
    """Mixed precision pays off on CUDA only; CPU and MPS train in float32."""
    return torch.device(device).type == "cuda"


def _autocast(device: torch.device, dtype: torch.dtype):
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _batch_steps_scheduler(scheduler) -> bool:
    """One-cycle and cyclic schedules are stepped every batch; all others once per epoch."""
    return isinstance(scheduler, (torch.optim.lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.CyclicLR))


# ----------------------------------------------------------------------------------------- checks


def _describe(value) -> str:
    """A one-line description of a wrong value for an error message."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # NumPy arrays and the like
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _check_model(model, where: str) -> None:
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise TypeError(f"{where}: model is the class {model.__name__}; pass an instance, e.g. {model.__name__}()")
    if not isinstance(model, nn.Module):
        raise TypeError(f"{where}: model must be a torch.nn.Module, got {_describe(model)}")


def _length(loader) -> int | None:
    """len(loader), or None for loaders without a length (generators, iterable datasets)."""
    try:
        return len(loader)
    except TypeError:
        return None


def _check_loader(loader, name: str, where: str) -> None:
    """A loader is any re-iterable of (inputs, labels) batches: a list, a DataLoader, a TensorLoader."""
    if loader is None:
        raise TypeError(f"{where}: {name} is None; pass a loader of (inputs, labels) batches")
    if isinstance(loader, (torch.Tensor, str, bytes, dict)) or not hasattr(loader, "__iter__"):
        raise TypeError(
            f"{where}: {name} must be an iterable of (inputs, labels) batches "
            f"(a list, DataLoader or TensorLoader), got {_describe(loader)}"
        )
    if _length(loader) == 0:
        raise ValueError(
            f"{where}: {name} yielded no batches (it is empty); "
            f"check the dataset size and batch_size (with drop_last, fewer samples than one batch)"
        )


def _check_loss_fn(loss_fn, where: str) -> None:
    if isinstance(loss_fn, type):
        raise TypeError(
            f"{where}: loss_fn is the class {loss_fn.__name__}; pass an instance, e.g. {loss_fn.__name__}()"
        )
    if not callable(loss_fn):
        raise TypeError(
            f"{where}: loss_fn must be a function like F.cross_entropy or a module like "
            f"nn.CrossEntropyLoss(), got {_describe(loss_fn)}"
        )


def _check_flag(value, name: str, where: str) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{where}: {name} must be True or False, got {_describe(value)}")


def _unpack(batch, name: str, index: int, classes: bool = True):
    """(inputs, labels) of one batch, or a TypeError/ValueError saying what the loader yields instead.

    `classes`: the labels must be class indices (B,); otherwise any tensor (B, ...) (fit's accuracy=False)."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"{name} must yield (inputs, labels) pairs; batch {index} is {_describe(batch)}")
    x, y = batch
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(
            f"{name} batch {index}: inputs and labels must be torch tensors, got "
            f"{_describe(x)} and {_describe(y)}; convert them with torch.as_tensor"
        )
    if classes and (y.ndim != 1 or y.dtype.is_floating_point or y.dtype == torch.bool or y.is_complex()):
        raise ValueError(
            f"{name} batch {index}: labels must be integer class indices of shape (B,), "
            f"got {y.dtype} of shape {tuple(y.shape)}"
        )
    if y.ndim == 0:
        raise ValueError(f"{name} batch {index}: labels must have a batch dimension (B, ...), got a scalar")
    if len(x) != len(y):
        raise ValueError(f"{name} batch {index}: {len(x)} inputs but {len(y)} labels")
    return x, y


def _check_logits(logits, y: torch.Tensor, name: str, index: int, check_labels: bool) -> None:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or len(logits) != len(y):
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(
            f"the model must return logits of shape (B, num_classes) = ({len(y)}, K); "
            f"on {name} batch {index} it returned {shape} (for outputs that are not class logits, "
            f"such as a detector's grid or per-pixel logits, pass accuracy=False)"
        )
    if check_labels and len(y):  # once per call: one synchronisation, and a clear message instead of a
        low, high = int(y.min()), int(y.max())  # CUDA device-side assert
        if low < 0 or high >= logits.shape[1]:
            raise ValueError(
                f"{name} batch {index}: labels must be class indices in 0..{logits.shape[1] - 1} "
                f"for a model with {logits.shape[1]} outputs, found {low if low < 0 else high}"
            )


def _losses(loss_fn, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss to back-propagate, sum of the batch's per-sample losses).

    `loss_fn(logits, y)` may return the batch mean (F.cross_entropy, nn.CrossEntropyLoss()), the sum
    (a loss module with reduction='sum') or per-sample losses (B,) (reduction='none'; then the mean is
    back-propagated). No ``reduction=`` argument is passed, so any callable works.
    """
    out = loss_fn(logits, y)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"loss_fn must return a tensor, got {_describe(out)}")
    if out.ndim > 0:
        if out.shape != (len(y),):
            raise ValueError(f"loss_fn returned shape {tuple(out.shape)}; expected a scalar or ({len(y)},)")
        return out.mean(), out.sum()
    if getattr(loss_fn, "reduction", "mean") == "sum":
        return out, out
    return out, out * len(y)


def _summed_loss(loss_fn, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The batch's summed loss; exact (reduction='sum') for F.cross_entropy / F.nll_loss and partials of them.

    Only for labels (B,): with per-pixel labels (B, H, W) reduction='sum' would add up pixels, not samples."""
    func = loss_fn.func if isinstance(loss_fn, functools.partial) else loss_fn
    if func in (F.cross_entropy, F.nll_loss) and "reduction" not in getattr(loss_fn, "keywords", {}) and y.ndim == 1:
        return loss_fn(logits, y, reduction="sum")
    return _losses(loss_fn, logits, y)[1]


def _check_fit_args(model, epochs, optimizer, scheduler, loss_fn, progress, live, clip_grad_norm) -> None:
    where = "fit()"
    _check_model(model, where)
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral):
        raise TypeError(f"{where}: epochs must be a positive int (the number of passes), got {_describe(epochs)}")
    if epochs < 1:
        raise ValueError(f"{where}: epochs must be at least 1, got {epochs}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"{where}: optimizer must be a torch.optim.Optimizer such as "
            f"torch.optim.SGD(model.parameters(), lr=0.1), got {_describe(optimizer)}"
        )
    ours = {id(p) for p in model.parameters()}
    theirs = [p for group in optimizer.param_groups for p in group["params"]]
    if ours and not any(id(p) in ours for p in theirs):
        raise ValueError(
            f"{where}: the optimizer holds none of the model's parameters (it was made for "
            f"another model); create it after the model: torch.optim.SGD(model.parameters(), ...)"
        )
    if scheduler is not None:
        if not hasattr(scheduler, "step"):
            raise TypeError(
                f"{where}: scheduler must be a torch.optim.lr_scheduler object or None, got {_describe(scheduler)}"
            )
        if getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError(
                f"{where}: the scheduler was built for a different optimizer than the one "
                f"passed to fit; build it from the same optimizer"
            )
    _check_loss_fn(loss_fn, where)
    if not isinstance(progress, bool):
        raise TypeError(f"{where}: progress must be True or False, got {_describe(progress)}")
    if live is not None and not isinstance(live, bool):
        raise TypeError(f"{where}: live must be True, False or None (None: only in a notebook), got {_describe(live)}")
    if clip_grad_norm is not None:
        if isinstance(clip_grad_norm, bool) or not isinstance(clip_grad_norm, numbers.Real):
            raise TypeError(
                f"{where}: clip_grad_norm must be a positive number or None, got {_describe(clip_grad_norm)}"
            )
        if not (math.isfinite(clip_grad_norm) and clip_grad_norm > 0):
            raise ValueError(
                f"{where}: clip_grad_norm must be a positive finite number (e.g. 1.0) or None, got {clip_grad_norm}"
            )


def _callback_list(callbacks, progress: bool, live: bool, main: bool = True) -> list[Callback]:
    """The default callbacks (progress bar, live figure) first, then the caller's, in order.

    `main`: False on the ranks of a data-parallel run other than 0, which show neither default."""
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    if callbacks is None or isinstance(callbacks, (str, bytes, type)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"fit(): callbacks must be a list of Callback objects, got {_describe(callbacks)}")
    callbacks = list(callbacks)
    for i, cb in enumerate(callbacks):
        if isinstance(cb, type) and issubclass(cb, Callback):
            raise TypeError(f"fit(): callbacks[{i}] is the class {cb.__name__}; pass an instance, e.g. {cb.__name__}()")
        if not isinstance(cb, Callback):
            raise TypeError(
                f"fit(): callbacks[{i}] is {_describe(cb)}, not a coursekit.callbacks.Callback; "
                f"subclass Callback and override the events you need"
            )
    defaults = []
    if progress and main and not any(isinstance(cb, ProgressBar) for cb in callbacks):
        defaults.append(ProgressBar())
    if live and main and not any(isinstance(cb, LivePlot) for cb in callbacks):
        defaults.append(LivePlot())
    return defaults + callbacks


def _emit(callbacks, event: str, run: Run) -> None:
    for cb in callbacks:
        getattr(cb, event)(run)


def _model_device(model: nn.Module) -> torch.device | None:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return None


def _eval_device(model: nn.Module, device) -> torch.device:
    """evaluate/predict: the given device, else the one the model is on, else `get_device()`."""
    if device is None:
        return _model_device(model) or get_device()
    return resolve_device(device)


def _process_group(model: nn.Module):
    """The process group of a DistributedDataParallel `model` (its metrics are summed over it), else None."""
    if isinstance(model, nn.parallel.DistributedDataParallel):
        return model.process_group
    return None


def _is_main(model: nn.Module) -> bool:
    """False on every rank but 0 of a DDP `model` (they train silently); True for any other model."""
    return _process_group(model) is None or torch.distributed.get_rank() == 0


def _sum_over_ranks(model: nn.Module, device: torch.device, *values) -> list[float]:
    """`values` (numbers or 0-d tensors) as floats, summed over the ranks of a DDP `model` with one
    all-reduce (in float64, on `device`: NCCL reduces on the GPU); unchanged for any other model."""
    group = _process_group(model)
    numbers_ = [float(v) for v in values]
    if group is None:
        return numbers_
    total = torch.tensor(numbers_, dtype=torch.float64, device=device)
    torch.distributed.all_reduce(total, group=group)
    return total.tolist()


# ----------------------------------------------------------------------------------------- loops


def _evaluate(model, loader, device, loss_fn, dtype, name: str, accuracy: bool = True) -> tuple[float, float | None]:
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    try:
        with torch.no_grad():
            for i, batch in enumerate(loader):
                x, y = _unpack(batch, name, i, accuracy)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with _autocast(device, dtype):
                    logits = model(x)
                if accuracy:
                    _check_logits(logits, y, name, i, check_labels=i == 0)
                total_loss += _summed_loss(loss_fn, logits.float(), y).item()
                if accuracy:
                    correct += (logits.argmax(1) == y).sum().item()
                count += len(y)
    finally:
        model.train(was_training)
    total_loss, correct, count = _sum_over_ranks(model, device, total_loss, correct, count)
    if count == 0:
        raise ValueError(
            f"{name} yielded no batches; check the dataset size and batch_size -- and pass a list "
            f"or a loader, not a generator, which is used up after one pass"
        )
    return total_loss / count, (correct / count if accuracy else None)


def evaluate(
    model: torch.nn.Module,
    loader,
    device: torch.device | str | None = None,
    loss_fn=F.cross_entropy,
    accuracy: bool = True,
) -> tuple[float, float | None]:
    """Mean loss and accuracy of `model` over `loader` (batches of (B, …) inputs and (B,) int labels).

    `device` (str or torch.device; default: where the model's parameters are) is where the batches go;
    the model is moved there. `loss_fn` is a function like F.cross_entropy or a module like
    nn.CrossEntropyLoss(label_smoothing=0.1). Returns (mean loss per sample, fraction correct).
    ``accuracy=False``: labels of any shape (B, ...) that `loss_fn` accepts; returns (mean loss, None).
    """
    _check_model(model, "evaluate()")
    _check_flag(accuracy, "accuracy", "evaluate()")
    _check_loader(loader, "loader", "evaluate()")
    _check_loss_fn(loss_fn, "evaluate()")
    device = _eval_device(model, device)
    model.to(device)
    return _evaluate(model, loader, device, loss_fn, autocast_dtype(device), "loader", accuracy)


def predict(
    model: torch.nn.Module, loader, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The predicted class (argmax of the logits) and the true label of every sample of `loader`.

    loader yields (inputs (B, …), labels (B,)); returns (preds int64 (N,), labels int64 (N,)) on the
    CPU, in the loader's order. The model runs in eval mode (restored afterwards) without gradients.
    """
    _check_model(model, "predict()")
    _check_loader(loader, "loader", "predict()")
    device = _eval_device(model, device)
    model.to(device)
    dtype = autocast_dtype(device)
    preds, labels = [], []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i, batch in enumerate(loader):
                x, y = _unpack(batch, "loader", i)
                x = x.to(device, non_blocking=True)
                with _autocast(device, dtype):
                    logits = model(x)
                _check_logits(logits, y, "loader", i, check_labels=False)
                preds.append(logits.argmax(1))
                labels.append(y)
    finally:
        model.train(was_training)
    if not preds:
        raise ValueError("predict(): loader yielded no batches (it is empty); check the dataset size and batch_size")
    return torch.cat(preds).cpu().long(), torch.cat([t.cpu() for t in labels]).long()


def _check_finite(loss_sum: torch.Tensor | float, count: int | float, run: Run, where: str) -> float:
    value = float(loss_sum) / count
    if not math.isfinite(value):
        lr = run.optimizer.param_groups[0].get("lr", "?")
        raise FloatingPointError(
            f"training diverged: the mean training loss became {value} in epoch {run.epoch} ({where}); "
            f"lower the learning rate (lr={lr}), or clip gradients with fit(..., clip_grad_norm=1.0), "
            f"and check the inputs for NaN or inf"
        )
    return value


def _train_epoch(
    run: Run, callbacks, scaler, per_batch: bool, clip_grad_norm, accuracy: bool = True
) -> tuple[float, float | None, int]:
    """One pass over the training loader; returns (mean loss, accuracy (None without), samples)."""
    model, optimizer, device = run.model, run.optimizer, run.device
    model.train()
    loss_sum = torch.zeros((), device=device)  # summed on the device: no sync per batch
    correct = torch.zeros((), device=device, dtype=torch.long)
    count = 0
    for i, batch in enumerate(run.train_loader):
        x, y = _unpack(batch, "train_loader", i, accuracy)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        run.batch, run.x, run.y = i, x, y
        with _autocast(device, run.dtype):
            logits = model(x)
            if accuracy:
                _check_logits(logits, y, "train_loader", i, check_labels=run.epoch == 1 and i == 0)
            loss, batch_sum = _losses(run.loss_fn, logits, y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if clip_grad_norm is not None:
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
            nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        if per_batch:
            run.scheduler.step()
        loss_sum += batch_sum.detach().float()
        if accuracy:
            correct += (logits.detach().argmax(1) == y).sum()
        count += len(y)
        run.logits, run.loss = logits.detach(), loss.detach()
        _emit(callbacks, "after_batch", run)
        if (i + 1) % CHECK_EVERY == 0:  # on a DDP model all ranks check the same summed loss, together
            _check_finite(*_sum_over_ranks(model, device, loss_sum, count), run, f"after {i + 1} batches")
    if count == 0:
        hint = (
            " -- a generator is used up after one pass: pass a list, a DataLoader or a TensorLoader"
            if run.epoch > 1
            else "; check the dataset size and batch_size"
        )
        raise ValueError(f"train_loader yielded no batches in epoch {run.epoch}{hint}")
    loss_sum, correct, count = _sum_over_ranks(model, device, loss_sum, correct, count)
    train_loss = _check_finite(loss_sum, count, run, "at its end")
    return train_loss, (correct / count if accuracy else None), int(count)


def fit(
    model: torch.nn.Module,
    train_loader,
    val_loader,
    epochs: int,
    optimizer,
    scheduler=None,
    device: torch.device | str | None = None,
    loss_fn=F.cross_entropy,
    progress: bool = True,
    live: bool | None = None,
    callbacks=(),
    clip_grad_norm: float | None = None,
    accuracy: bool = True,
) -> History:
    """Train `model` for `epochs` passes over `train_loader`; evaluate on `val_loader` after each.

    train_loader / val_loader yield (inputs (B, …), int labels (B,)); val_loader may be None. The model
    must return logits (B, num_classes). `device`: str or torch.device (default `get_device()`); the
    model is moved there. `loss_fn(logits, labels)`: a function or an nn.Module returning the batch mean.
    `scheduler` is stepped once per epoch -- ReduceLROnPlateau with the validation loss (the training
    loss without val_loader) -- or once per batch for OneCycleLR/CyclicLR.
    `progress` adds a `ProgressBar`; `live` a `LivePlot` (default: only inside a notebook). `callbacks`:
    more `coursekit.callbacks.Callback` objects, called in order after those two. `clip_grad_norm`:
    clip the gradients' total norm to this value before every step.
    ``accuracy=False`` trains models whose outputs are not (B, num_classes) logits -- a detector's grid,
    a segmenter's per-pixel logits: the batches' labels may be any tensor (B, ...) that `loss_fn`
    accepts, only the loss is recorded, and the history's accuracies are None.
    A DistributedDataParallel `model` trains unchanged (see the module docstring): the history holds
    the numbers summed over all ranks, the same on each, and only rank 0 shows progress.
    Returns a `History` with per-epoch loss, accuracy and wall time. A loss that becomes NaN or inf
    raises FloatingPointError; a callback raising `CancelFit` ends training early (history so far).
    """
    _check_fit_args(model, epochs, optimizer, scheduler, loss_fn, progress, live, clip_grad_norm)
    _check_flag(accuracy, "accuracy", "fit()")
    _check_loader(train_loader, "train_loader", "fit()")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader", "fit()")
    live = in_notebook() if live is None else live
    callbacks = _callback_list(callbacks, progress, live, _is_main(model))
    device = resolve_device(device)
    model.to(device)
    dtype = autocast_dtype(device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    per_batch = _batch_steps_scheduler(scheduler)
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    history = History()
    run = Run(
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        device=device,
        history=history,
        epochs=int(epochs),
        train_loader=train_loader,
        val_loader=val_loader,
        loss_fn=loss_fn,
        dtype=dtype,
        n_batches=_length(train_loader),
    )
    try:
        try:
            _emit(callbacks, "before_fit", run)
            for epoch in range(1, run.epochs + 1):
                run.epoch, run.batch = epoch, -1
                _emit(callbacks, "before_epoch", run)
                start = time.perf_counter()
                train_loss, train_acc, count = _train_epoch(run, callbacks, scaler, per_batch, clip_grad_norm, accuracy)
                history.seconds.append(time.perf_counter() - start)
                history.samples += count
                history.epoch.append(epoch)
                history.train_loss.append(train_loss)
                history.train_acc.append(train_acc)
                if val_loader is not None:
                    val_loss, val_acc = _evaluate(model, val_loader, device, loss_fn, dtype, "val_loader", accuracy)
                else:
                    val_loss = val_acc = None
                history.val_loss.append(val_loss)
                history.val_acc.append(val_acc)
                if scheduler is not None and plateau:
                    scheduler.step(val_loss if val_loss is not None else train_loss)
                elif scheduler is not None and not per_batch:
                    scheduler.step()
                _emit(callbacks, "after_epoch", run)
        except CancelFit:
            run.stopped = True
        try:
            _emit(callbacks, "after_fit", run)
        except CancelFit:
            run.stopped = True
    finally:
        for cb in callbacks:
            cb.cleanup_fit(run)
    return history
