"""Counting right and wrong answers: accuracy and the confusion matrix.

Both take class indices, not logits: ``preds = logits.argmax(1)``, or ``coursekit.train.predict``,
which returns ``(preds, labels)`` for a whole loader. Inputs may be tensors, NumPy arrays or lists of
ints, of shape (N,).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch


def _as_classes(values, name: str) -> torch.Tensor:
    """`values` as an int64 CPU tensor of shape (N,), or a clear error about what it is instead."""
    if isinstance(values, (str, bytes, dict, set)) or values is None:
        raise TypeError(
            f"{name} must be a sequence of class indices (tensor, array or list of ints), got {type(values).__name__}"
        )
    if isinstance(values, torch.Tensor):
        tensor = values.detach().cpu()
    else:
        try:
            array = np.asarray(values)
        except ValueError as err:  # ragged nested lists
            raise ValueError(f"{name} must be a flat sequence of class indices, got a ragged sequence") from err
        if array.dtype == object or array.dtype.kind in "USV":
            raise TypeError(f"{name} must hold integer class indices, got {array.dtype} values")
        tensor = torch.from_numpy(array) if array.size else torch.zeros(0, dtype=torch.long)
    if tensor.ndim == 2 and tensor.shape[1] > 1:
        raise ValueError(
            f"{name} must be class indices of shape (N,), got shape {tuple(tensor.shape)}: "
            f"for logits or probabilities take .argmax(1) first"
        )
    if tensor.ndim != 1:
        raise ValueError(f"{name} must have shape (N,), got shape {tuple(tensor.shape)}")
    if tensor.dtype == torch.bool or tensor.dtype.is_floating_point or tensor.is_complex():
        raise TypeError(
            f"{name} must hold integer class indices, got {tensor.dtype}; "
            f"for logits take .argmax(1), for whole-number floats use .long()"
        )
    return tensor.long()


def _pair(labels, preds) -> tuple[torch.Tensor, torch.Tensor]:
    labels, preds = _as_classes(labels, "labels"), _as_classes(preds, "preds")
    if len(labels) != len(preds):
        raise ValueError(f"labels and preds must have the same length, got {len(labels)} labels and {len(preds)} preds")
    return labels, preds


def accuracy(labels, preds) -> float:
    """Fraction of samples whose predicted class equals the true class: labels, preds (N,) ints, N >= 1."""
    labels, preds = _pair(labels, preds)
    if len(labels) == 0:
        raise ValueError("accuracy of no samples is undefined: labels and preds are empty")
    return (labels == preds).double().mean().item()


def confusion_matrix(labels, preds, num_classes: int) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs: int64 (K, K) with K = `num_classes`.

    Entry [i, j] is the number of samples of true class i predicted as class j: rows are true
    classes, columns predicted ones, the diagonal holds the correct answers, and the matrix sums to N.
    labels, preds: (N,) ints in 0..K-1.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__} {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    k = int(num_classes)
    labels, preds = _pair(labels, preds)
    for name, values in (("labels", labels), ("preds", preds)):
        if len(values) and (values.min() < 0 or values.max() >= k):
            bad = values[(values < 0) | (values >= k)][0].item()
            raise ValueError(f"{name} must be class indices in 0..{k - 1} (num_classes={k}), found {bad}")
    return torch.bincount(labels * k + preds, minlength=k * k).reshape(k, k)
