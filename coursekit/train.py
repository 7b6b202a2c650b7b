"""Training and evaluation loops, written once and used by every notebook.

`fit` runs the classic loop -- forward, loss, backward, step -- for a number of epochs, evaluates
on a validation loader after each one, and returns a `History`. In a notebook it shows a progress
bar and one live loss/accuracy figure. On CUDA it uses automatic mixed precision (float16 autocast
with a gradient scaler); on the CPU it stays in float32, where autocast would only slow it down.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .device import get_device
from .viz import LiveCurves, in_notebook


@dataclass
class History:
    """What happened during `fit`, one entry per epoch (validation entries None without a loader)."""

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)  # wall time of each epoch's training pass
    samples: int = 0                              # training samples seen in total

    @property
    def train_seconds(self) -> float:
        """Total wall time spent in training passes (evaluation excluded)."""
        return float(sum(self.seconds))

    @property
    def final_val_acc(self) -> float | None:
        return self.val_acc[-1] if self.val_acc else None

    def as_dict(self) -> dict:
        return asdict(self)


def use_amp(device: torch.device) -> bool:
    """Mixed precision pays off on CUDA only; CPU and MPS train in float32."""
    return device.type == "cuda"


def _batch_steps_scheduler(scheduler) -> bool:
    """One-cycle and cyclic schedules are stepped every batch; all others once per epoch."""
    return isinstance(scheduler, (torch.optim.lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.CyclicLR))


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader, device: torch.device | None = None,
             loss_fn=F.cross_entropy) -> tuple[float, float]:
    """Mean loss and accuracy of `model` over `loader` (batches of (B, …) inputs and (B,) labels)."""
    device = device or get_device()
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp(device)):
            logits = model(x)
        total_loss += loss_fn(logits.float(), y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        count += len(y)
    model.train(was_training)
    if count == 0:
        raise ValueError("evaluate() got an empty loader")
    return total_loss / count, correct / count


def fit(model: torch.nn.Module, train_loader, val_loader, epochs: int, optimizer,
        scheduler=None, device: torch.device | None = None, loss_fn=F.cross_entropy,
        progress: bool = True, live: bool | None = None) -> History:
    """Train `model` for `epochs` passes over `train_loader`; evaluate on `val_loader` after each.

    train_loader / val_loader yield (inputs (B, …), labels (B,)); val_loader may be None.
    `scheduler` is stepped once per epoch, or once per batch for OneCycleLR/CyclicLR.
    `live` draws one live loss/accuracy figure (default: only inside a notebook).
    Returns a `History` with per-epoch loss, accuracy and wall time.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    device = device or get_device()
    model.to(device)
    amp = use_amp(device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    per_batch = _batch_steps_scheduler(scheduler)
    live = in_notebook() if live is None else live
    curves = LiveCurves() if live else None
    history = History()

    bar = tqdm(total=epochs * len(train_loader), desc="training", unit="batch", disable=not progress)
    for epoch in range(1, epochs + 1):
        model.train()
        start = time.perf_counter()
        loss_sum = torch.zeros((), device=device)  # summed on the device: no sync per batch
        correct = torch.zeros((), device=device, dtype=torch.long)
        count = 0
        for x, y in train_loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                logits = model(x)
                loss = loss_fn(logits, y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None and per_batch:
                scheduler.step()
            loss_sum += loss.detach() * len(y)
            correct += (logits.detach().argmax(1) == y).sum()
            count += len(y)
            bar.update(1)
        if scheduler is not None and not per_batch:
            scheduler.step()
        history.seconds.append(time.perf_counter() - start)
        history.samples += count
        history.epoch.append(epoch)
        history.train_loss.append(loss_sum.item() / count)
        history.train_acc.append(correct.item() / count)
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, device, loss_fn)
        else:
            val_loss = val_acc = None
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
        if val_acc is not None:
            postfix["val_acc"] = f"{val_acc:.4f}"
        bar.set_postfix(postfix)
        if curves is not None:
            curves.update(history)
    bar.close()
    return history
