"""Pictures: image grids, training curves, and a curve that redraws itself while a model trains.

Every function draws into a new Matplotlib figure and returns it; a notebook cell ends with
``plt.show()`` so the figure is shown once (and nbval compares its ``<Figure size …>`` line).
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch


def _as_numpy_images(images) -> np.ndarray:
    """(N, H, W), (N, 1, H, W) or (N, 3, H, W) tensor/array -> (N, H, W) or (N, H, W, 3) array."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    images = np.asarray(images)
    if images.ndim == 4:
        if images.shape[1] == 1:
            images = images[:, 0]
        elif images.shape[1] == 3:
            images = images.transpose(0, 2, 3, 1)
        else:
            raise ValueError(f"images must have 1 or 3 channels, got shape {images.shape}")
    elif images.ndim != 3:
        raise ValueError(f"images must be (N, H, W) or (N, C, H, W), got shape {images.shape}")
    return images


def show_images(images, labels=None, ncols: int = 8, class_names=None, title: str | None = None,
                size: float = 1.3, cmap: str = "gray"):
    """A grid of images with optional captions.

    images: (N, H, W) or (N, C, H, W) with C in {1, 3}, any range (each image is scaled for display
    unless it is uint8); labels: N ints or strings (ints are looked up in `class_names` if given).
    Returns the Figure.
    """
    images = _as_numpy_images(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = images[i]
        if img.dtype != np.uint8 and img.ndim == 3:  # colour floats: rescale to [0, 1] for imshow
            lo, hi = img.min(), img.max()
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None)
        if labels is not None:
            label = labels[i]
            label = label.item() if isinstance(label, torch.Tensor) else label
            if class_names is not None and isinstance(label, (int, np.integer)):
                label = class_names[label]
            ax.set_title(str(label), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _draw_history(axes, history) -> None:
    loss_ax, acc_ax = axes
    loss_ax.clear()
    acc_ax.clear()
    epochs = history.epoch
    loss_ax.plot(epochs, history.train_loss, "o-", label="train")
    if any(v is not None for v in history.val_loss):
        loss_ax.plot(epochs, history.val_loss, "o-", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    acc_ax.plot(epochs, history.train_acc, "o-", label="train")
    if any(v is not None for v in history.val_acc):
        acc_ax.plot(epochs, history.val_acc, "o-", label="validation")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()


def plot_history(history):
    """Loss and accuracy per epoch, train and validation side by side. Returns the Figure."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    _draw_history(axes, history)
    fig.tight_layout()
    return fig


class LiveCurves:
    """One figure of loss/accuracy that is redrawn in place after every epoch (in a notebook).

    It uses IPython's ``display(..., display_id=True)`` and updates that one output, so a run of 20
    epochs leaves one figure, not 20. Outside a notebook it does nothing.
    """

    def __init__(self):
        from IPython.display import display

        self.fig, self.axes = plt.subplots(1, 2, figsize=(10, 3.5))
        plt.close(self.fig)  # we display it ourselves; keep the inline backend from showing it again
        self.handle = display(self.fig, display_id=True)

    def update(self, history) -> None:
        _draw_history(self.axes, history)
        self.fig.tight_layout()
        self.handle.update(self.fig)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where live figures and widget progress bars make sense)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
