"""Counting right and wrong answers: accuracy and the confusion matrix; ROC curves for verification.

Both take class indices, not logits: ``preds = logits.argmax(1)``, or ``coursekit.train.predict``,
which returns ``(preds, labels)`` for a whole loader. Inputs may be tensors, NumPy arrays or lists of
ints, of shape (N,). `segmentation_iou` compares two class maps pixel by pixel (notebook 15).

Verification (notebook 16) answers "same or different?" for a pair of images by comparing a score
with a threshold. `verification_pairs` draws a fixed, balanced set of pairs to test on (the
protocol of face-verification benchmarks such as LFW: a list of pairs, half of them matching);
`roc_curve` gives the false- and true-positive rates at every threshold and `roc_auc` the area
under that curve: the probability that a random matching pair scores higher than a random
non-matching one (the Mann-Whitney U statistic divided by its maximum).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch


def _index_array(values, name: str, what: str) -> np.ndarray:
    """A list or array of class indices (not a tensor) as a NumPy array; a ragged list is a ValueError
    saying `name` must be `what`, strings or objects a TypeError."""
    try:
        array = np.asarray(values)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} must be {what}, got a ragged sequence") from err
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(f"{name} must hold integer class indices, got {array.dtype} values")
    return array


def _as_classes(values, name: str) -> torch.Tensor:
    """`values` as an int64 CPU tensor of shape (N,), or a clear error about what it is instead."""
    if isinstance(values, (str, bytes, dict, set)) or values is None:
        raise TypeError(
            f"{name} must be a sequence of class indices (tensor, array or list of ints), got {type(values).__name__}"
        )
    if isinstance(values, torch.Tensor):
        tensor = values.detach().cpu()
    else:
        array = _index_array(values, name, "a flat sequence of class indices")
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


# ----------------------------------------------------------------------------------------------
# Segmentation: intersection over union per class


def _class_map(values, name: str) -> torch.Tensor:
    """`values` (any shape) as a CPU tensor of class indices; flattened it goes to `confusion_matrix`."""
    if isinstance(values, (str, bytes, dict, set)) or values is None:
        raise TypeError(f"{name} must be a map of class indices (tensor or array), got {type(values).__name__}")
    if isinstance(values, torch.Tensor):
        return values.detach().cpu()
    return torch.from_numpy(_index_array(values, name, "a map of class indices"))


def segmentation_iou(preds, labels, num_classes: int) -> tuple[torch.Tensor, float]:
    """Per-class IoU of a segmentation and their mean (the "mean IoU" of PASCAL VOC and Cityscapes).

    preds, labels: integer class maps of the same shape, e.g. (N, H, W) -- ``logits.argmax(1)``
    and the true masks -- with values in 0..num_classes-1. Pixels are pooled over the whole set
    (not averaged image by image): for class c, IoU_c = TP / (TP + FP + FN), the pixels both call
    c over the pixels either calls c. A class that is in neither preds nor labels has no IoU (NaN)
    and is left out of the mean. Returns (per-class IoU float64 (num_classes,), mean IoU).
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__} {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    maps = [_class_map(preds, "preds"), _class_map(labels, "labels")]
    if maps[0].shape != maps[1].shape:
        raise ValueError(
            f"preds and labels must have the same shape, got {tuple(maps[0].shape)} and {tuple(maps[1].shape)}"
        )
    flat = [m.reshape(-1) for m in maps]
    counts = confusion_matrix(flat[1], flat[0], num_classes).double()  # (K, K): rows true, columns predicted
    tp = counts.diagonal()
    union = counts.sum(0) + counts.sum(1) - tp  # predicted c or labelled c
    per_class = torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))
    present = ~per_class.isnan()
    mean = float(per_class[present].mean()) if present.any() else float("nan")
    return per_class, mean


# ----------------------------------------------------------------------------------------------
# Verification: pairs, ROC curve, area under it


def _scores(scores) -> torch.Tensor:
    """`scores` as a float64 CPU tensor of shape (N,) holding only finite numbers."""
    if isinstance(scores, (str, bytes, dict, set)) or scores is None:
        raise TypeError(f"scores must be a sequence of numbers (tensor, array or list), got {type(scores).__name__}")
    if isinstance(scores, torch.Tensor):
        tensor = scores.detach().cpu()
        if tensor.dtype == torch.bool or tensor.is_complex():
            raise TypeError(f"scores must be real numbers, got dtype {tensor.dtype}")
    else:
        try:
            array = np.asarray(scores)
        except ValueError as err:
            raise ValueError("scores must be a flat sequence of numbers, got a ragged sequence") from err
        if array.dtype.kind not in "iuf":
            raise TypeError(f"scores must be real numbers, got {array.dtype} values")
        tensor = torch.from_numpy(array.astype(np.float64))
    if tensor.ndim != 1:
        raise ValueError(f"scores must have shape (N,), got shape {tuple(tensor.shape)}")
    tensor = tensor.double()
    if not torch.isfinite(tensor).all():
        raise ValueError("scores must be finite numbers; found NaN or infinity")
    return tensor


def _flags(same, n: int) -> torch.Tensor:
    """`same` as a bool CPU tensor of shape (n,): True for a matching pair (bool, or ints 0/1)."""
    if isinstance(same, (str, bytes, dict, set)) or same is None:
        raise TypeError(f"same must be a sequence of True/False (or 1/0), got {type(same).__name__}")
    if isinstance(same, torch.Tensor):
        tensor = same.detach().cpu()
    else:
        array = np.asarray(same)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"same must be True/False or 1/0 flags, got {array.dtype} values")
        tensor = torch.from_numpy(array)
    if tensor.ndim != 1 or len(tensor) != n:
        raise ValueError(f"same must have shape ({n},), one flag per score, got shape {tuple(tensor.shape)}")
    if tensor.dtype == torch.bool:
        return tensor
    if tensor.dtype.is_floating_point or tensor.is_complex() or not bool(((tensor == 0) | (tensor == 1)).all()):
        raise ValueError("same must hold True/False or 1/0 only (1 = the pair matches)")
    return tensor.bool()


def roc_curve(scores, same) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ROC curve of scores for "same": (fpr, tpr, thresholds), float64 tensors of shape (K + 1,).

    scores: (N,) numbers, higher meaning "more likely the same" -- for a distance pass its negative;
    same: (N,) bool or 0/1, True for the matching pairs (both kinds must occur). Predicting "same"
    when score >= t gives, at each threshold t, the true-positive rate (matching pairs accepted /
    matching pairs) and the false-positive rate (non-matching pairs accepted / non-matching pairs).
    thresholds: +inf (nothing accepted: the point (0, 0)), then the K distinct scores in decreasing
    order; the last point is (1, 1). Equal scores are accepted together, so a tie between a matching
    and a non-matching pair is one diagonal step of the curve.
    """
    scores = _scores(scores)
    same = _flags(same, len(scores))
    positives, negatives = int(same.sum()), int((~same).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"the ROC curve needs matching and non-matching pairs, got {positives} matching and {negatives} "
            f"non-matching; sample both, e.g. with verification_pairs()"
        )
    order = torch.argsort(scores, descending=True, stable=True)
    scores, same = scores[order], same[order]
    true_pos, false_pos = torch.cumsum(same, 0), torch.cumsum(~same, 0)
    last_of_tie = torch.ones(len(scores), dtype=torch.bool)  # the last position of each run of equal scores
    last_of_tie[:-1] = scores[1:] != scores[:-1]
    zero, inf = torch.zeros(1, dtype=torch.float64), torch.full((1,), math.inf, dtype=torch.float64)
    fpr = torch.cat([zero, false_pos[last_of_tie].double() / negatives])
    tpr = torch.cat([zero, true_pos[last_of_tie].double() / positives])
    return fpr, tpr, torch.cat([inf, scores[last_of_tie]])


def roc_auc(scores, same) -> float:
    """Area under the ROC curve of `roc_curve(scores, same)`, a float in [0, 1].

    It equals the probability that a random matching pair scores higher than a random non-matching
    one, ties counting one half (the Mann-Whitney U statistic / (matching x non-matching)): 1 for
    scores that separate perfectly, 0.5 for scores that know nothing, 0 for perfectly inverted ones.
    """
    fpr, tpr, _ = roc_curve(scores, same)
    return float(torch.trapezoid(tpr, fpr))


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def verification_pairs(
    labels, n_pairs: int, seed: int = 0, classes=None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A fixed, balanced list of image pairs to verify: (first, second, same), each of shape (n_pairs,).

    labels: (N,) class indices of a set of images; classes: only images of these classes take part
    (e.g. the classes a network never saw in training), default all. Returns int64 indices into
    `labels` with first < second, and bool flags: the first n_pairs / 2 pairs are matching (same
    class, same=True), the other half non-matching. Each half is drawn uniformly among all such
    pairs, without repeats and never an image with itself, from a generator seeded with `seed`:
    the same arguments give the same pairs on every machine. n_pairs must be even and >= 2.
    """
    labels = _as_classes(labels, "labels")
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, numbers.Integral) or n_pairs < 2 or n_pairs % 2:
        raise ValueError(f"n_pairs must be an even integer >= 2 (half matching, half not), got {n_pairs!r}")
    seed = _seed(seed)
    if classes is None:
        pool = torch.arange(len(labels))
    else:
        wanted = _as_classes(classes, "classes")
        pool = torch.nonzero(torch.isin(labels, wanted)).flatten()
    kinds = labels[pool]
    counts = torch.unique(kinds, return_counts=True)[1].long()
    n = len(pool)
    matching = int((counts * (counts - 1) // 2).sum())
    non_matching = n * (n - 1) // 2 - matching
    half = int(n_pairs) // 2
    if half > matching or half > non_matching:
        raise ValueError(
            f"n_pairs={n_pairs} needs {half} matching and {half} non-matching pairs, but the {n} images "
            f"(of {len(counts)} classes) offer {matching} matching and {non_matching} non-matching pairs; ask for fewer"
        )
    generator = torch.Generator().manual_seed(seed)
    halves = []
    for want_same in (True, False):
        chosen: dict[int, None] = {}  # key a * n + b of pair (a, b), a < b; a dict keeps the drawing order
        while len(chosen) < half:
            a, b = torch.randint(n, (2, 4 * half), generator=generator)
            a, b = torch.minimum(a, b), torch.maximum(a, b)
            keep = (a != b) & ((kinds[a] == kinds[b]) == want_same)
            for key in (a[keep] * n + b[keep]).tolist():
                chosen.setdefault(key)
                if len(chosen) == half:
                    break
        keys = torch.tensor(list(chosen), dtype=torch.long)
        halves.append((pool[keys // n], pool[keys % n]))
    first = torch.cat([halves[0][0], halves[1][0]])
    second = torch.cat([halves[0][1], halves[1][1]])
    same = torch.arange(n_pairs) < half
    return first, second, same
