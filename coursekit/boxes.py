"""Boxes: how much two of them overlap, which of many to keep, how good a detector is, and the grid.

Every box is ``(x0, y0, x1, y1)`` in pixels ("xyxy"): the left, top, right and bottom edges, with
x growing to the right and y downwards. Pixel column c covers x in [c, c + 1), so a box holding
the columns 10..29 and rows 5..24 is ``(10, 5, 30, 25)``: 20 wide and 20 high.

- `box_area`, `box_iou`: intersection over union, IoU = |A ∩ B| / |A ∪ B|, for every pair;
- `nms`: greedy non-maximum suppression -- of boxes overlapping more than a threshold keep the best;
- `average_precision`, `match_detections`, `mean_average_precision`: the detection metric of
  PASCAL VOC (2010 onwards): per class the area under the precision-recall curve, all points
  interpolated, then the mean over classes;
- `encode_targets`, `decode`, `decode_targets`: YOLO's grid (Redmon et al. 2016). An image of
  ``size x size`` pixels is cut into ``grid x grid`` cells of ``stride = size / grid`` pixels; the
  cell that holds a box's centre is *responsible* for it and predicts, per cell,

      objectness logit | tx, ty (centre offset in the cell, through a sigmoid) | tw, th (log size) | class logits

  so that ``cx = (col + sigmoid(tx)) * stride``, ``w = stride * exp(tw)`` (the same for y and h).

Tensors are float32 unless said otherwise; functions accept tensors or anything ``torch.as_tensor``
reads. Bad input raises ValueError or TypeError naming the argument.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import torch
import torch.nn.functional as F

__all__ = [
    "TARGET_CHANNELS",
    "MeanAP",
    "as_boxes",
    "box_area",
    "box_iou",
    "nms",
    "average_precision",
    "match_detections",
    "mean_average_precision",
    "cell_of",
    "encode_targets",
    "decode",
    "decode_targets",
]

# Channels of an encoded target map (N, TARGET_CHANNELS, grid, grid): what each cell should predict.
# 0 objectness (1 in a responsible cell, else 0) | 1, 2 centre offset in the cell, in [0, 1) |
# 3, 4 log(width / stride), log(height / stride) | 5 class index (a float; -1 where no object).
TARGET_CHANNELS = 6


# ---------------------------------------------------------------------------------------------
# Argument checks.
# ---------------------------------------------------------------------------------------------


def _count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _tensor(value, name: str, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} ({error})") from None


def as_boxes(boxes, name: str = "boxes") -> torch.Tensor:
    """`boxes` as a float32 (N, 4) tensor of xyxy boxes with x1 >= x0 and y1 >= y0, or a clear error.

    An empty list gives a (0, 4) tensor. Boxes must be finite.
    """
    tensor = _tensor(boxes, name, "boxes (N, 4) as (x0, y0, x1, y1)")
    if tensor.numel() == 0 and tensor.ndim <= 2:
        return torch.zeros(0, 4)
    if tensor.ndim != 2 or tensor.shape[1] != 4:
        hint = " (one box? add the batch dimension: box[None])" if tensor.shape == (4,) else ""
        raise ValueError(f"{name} must have shape (N, 4) as (x0, y0, x1, y1), got {tuple(tensor.shape)}{hint}")
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise TypeError(f"{name} must hold real numbers, got {tensor.dtype}")
    tensor = tensor.float()
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} must be finite, found NaN or inf")
    bad = (tensor[:, 2] < tensor[:, 0]) | (tensor[:, 3] < tensor[:, 1])
    if bad.any():
        i = int(bad.nonzero()[0])
        raise ValueError(
            f"{name}[{i}] = {tensor[i].tolist()} is not (x0, y0, x1, y1) with x1 >= x0 and y1 >= y0; "
            f"convert (x, y, w, h) boxes with torch.cat([b[:, :2], b[:, :2] + b[:, 2:]], 1)"
        )
    return tensor


def _scores(scores, n: int, name: str = "scores") -> torch.Tensor:
    tensor = _tensor(scores, name, "a score per box (N,)")
    if tensor.numel() == 0 and n == 0:
        return torch.zeros(0)
    if tensor.ndim != 1 or len(tensor) != n:
        raise ValueError(f"{name} must have shape ({n},), one per box, got {tuple(tensor.shape)}")
    if tensor.dtype == torch.bool or tensor.is_complex() or not torch.isfinite(tensor.float()).all():
        raise ValueError(f"{name} must be finite real numbers, got {tensor.dtype} with NaN/inf or of the wrong kind")
    return tensor.float()


def _classes(labels, n: int, name: str, num_classes: int | None = None) -> torch.Tensor:
    tensor = _tensor(labels, name, "a class index per box (N,)")
    if tensor.numel() == 0 and n == 0:
        return torch.zeros(0, dtype=torch.long)
    if tensor.ndim != 1 or len(tensor) != n:
        raise ValueError(f"{name} must have shape ({n},), one class index per box, got {tuple(tensor.shape)}")
    if tensor.dtype.is_floating_point or tensor.is_complex() or tensor.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices, got {tensor.dtype}; convert them with .long()")
    tensor = tensor.long()
    if num_classes is not None and n and (tensor.min() < 0 or tensor.max() >= num_classes):
        bad = tensor[(tensor < 0) | (tensor >= num_classes)][0].item()
        raise ValueError(
            f"{name} must be class indices in 0..{num_classes - 1} (num_classes={num_classes}), found {bad}"
        )
    return tensor


# ---------------------------------------------------------------------------------------------
# Overlap and suppression.
# ---------------------------------------------------------------------------------------------


def box_area(boxes) -> torch.Tensor:
    """Areas of boxes (N, 4) xyxy -> (N,): (x1 - x0) * (y1 - y0)."""
    boxes = as_boxes(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(a, b) -> torch.Tensor:
    """Intersection over union of every pair: a (N, 4), b (M, 4) xyxy -> (N, M) in [0, 1].

    The intersection of two boxes is the box between the larger left/top and the smaller
    right/bottom edges (empty when those cross); the union is area(a) + area(b) - intersection.
    Two boxes of zero area have no union: their IoU is defined as 0 (torchvision gives NaN).
    """
    a, b = as_boxes(a, "a"), as_boxes(b, "b")
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])  # (N, M, 2)
    sides = (bottom_right - top_left).clamp(min=0)  # negative side: the boxes do not meet
    inter = sides[..., 0] * sides[..., 1]  # (N, M)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny), torch.zeros_like(inter))


def nms(boxes, scores, iou_threshold: float = 0.5, labels=None) -> torch.Tensor:
    """Greedy non-maximum suppression: the indices of the boxes kept, best score first (int64 (K,)).

    Take the highest-scoring box left, keep it, and discard every remaining box whose IoU with it
    is *above* `iou_threshold`; repeat until no box is left. boxes (N, 4) xyxy, scores (N,).
    With `labels` (N,) only boxes of the same class suppress each other ("per-class" NMS, as a
    detector of several classes needs). Equal scores keep the input order (a stable sort).
    Same result as ``torchvision.ops.nms`` (and ``batched_nms`` with labels).
    """
    boxes = as_boxes(boxes)
    scores = _scores(scores, len(boxes))
    iou_threshold = _fraction("iou_threshold", iou_threshold)
    order = torch.sort(scores, descending=True, stable=True).indices
    overlaps = box_iou(boxes[order], boxes[order]) > iou_threshold  # (N, N), in score order
    if labels is not None:
        classes = _classes(labels, len(boxes), "labels")[order]
        overlaps &= classes[:, None] == classes[None, :]
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for i in range(len(boxes)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= overlaps[i]  # everything this box overlaps too much (itself included) is done
    return order[torch.tensor(keep, dtype=torch.long)]


# ---------------------------------------------------------------------------------------------
# Average precision (PASCAL VOC, all points).
# ---------------------------------------------------------------------------------------------


def average_precision(scores, is_true_positive, num_targets: int) -> float:
    """Area under the precision-recall curve of one class's ranked detections (VOC all-point).

    scores (P,): the detections' confidences; is_true_positive (P,) bool: whether each matched a
    ground-truth box; num_targets: how many ground-truth boxes of the class there are.
    Going down the ranking (highest score first; equal scores keep the input order) after k
    detections: precision = TP_k / k, recall = TP_k / num_targets. Each precision is replaced by
    the best precision at any recall at least as high (the curve is made monotone), and
    AP = sum over the ranks where recall grows of (recall growth) x (that precision).
    A class without ground truth has no recall: its AP is NaN. No detection at all gives 0.
    """
    num_targets = _count("num_targets", num_targets, minimum=0)
    scores = _tensor(scores, "scores", "a score per detection (P,)")
    if scores.ndim != 1:
        raise ValueError(f"scores must have shape (P,), one per detection, got {tuple(scores.shape)}")
    scores = _scores(scores, len(scores))
    hits = _tensor(is_true_positive, "is_true_positive", "a bool per detection (P,)")
    if hits.ndim != 1 or len(hits) != len(scores):
        raise ValueError(f"is_true_positive must have shape ({len(scores)},), one per score, got {tuple(hits.shape)}")
    if hits.numel() and (hits.dtype.is_floating_point or hits.is_complex() or ((hits != 0) & (hits != 1)).any()):
        raise ValueError("is_true_positive must hold True/False (or 1/0) per detection")
    hits = hits.bool()
    if int(hits.sum()) > num_targets:
        raise ValueError(
            f"is_true_positive counts {int(hits.sum())} true positives but num_targets={num_targets}: "
            f"a ground-truth box can be matched once only"
        )
    if num_targets == 0:
        return float("nan")
    if len(scores) == 0:
        return 0.0
    ranked = hits[torch.sort(scores, descending=True, stable=True).indices].double()
    tp = ranked.cumsum(0)
    precision = tp / torch.arange(1, len(ranked) + 1, dtype=torch.float64)
    recall = tp / num_targets
    # the monotone envelope: at each rank, the best precision at this rank or any later one
    envelope = precision.flip(0).cummax(0).values.flip(0)
    steps = torch.diff(recall, prepend=recall.new_zeros(1))  # recall growth at each rank (0 for a FP)
    return float((steps * envelope).sum())


def _per_image(items, name: str, parts: int) -> list:
    if isinstance(items, (torch.Tensor, str, bytes, dict)) or not hasattr(items, "__len__"):
        raise TypeError(
            f"{name} must be a list with one tuple of {parts} tensors per image, got {type(items).__name__}"
        )
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != parts:
            raise TypeError(f"{name}[{i}] must be a tuple of {parts} tensors, got {type(item).__name__}")
    return list(items)


def _checked_lists(preds, targets, num_classes: int | None = None) -> tuple[list, list]:
    """preds and targets as lists of checked tensors, one entry per image (see `match_detections`)."""
    preds, targets = _per_image(preds, "preds", 3), _per_image(targets, "targets", 2)
    if len(preds) != len(targets):
        raise ValueError(f"preds has {len(preds)} images but targets has {len(targets)}; give one entry per image")
    checked_preds, checked_targets = [], []
    for i, ((p_boxes, p_scores, p_labels), (t_boxes, t_labels)) in enumerate(zip(preds, targets, strict=True)):
        p_boxes = as_boxes(p_boxes, f"preds[{i}] boxes")
        p_scores = _scores(p_scores, len(p_boxes), f"preds[{i}] scores")
        p_labels = _classes(p_labels, len(p_boxes), f"preds[{i}] labels", num_classes)
        t_boxes = as_boxes(t_boxes, f"targets[{i}] boxes")
        t_labels = _classes(t_labels, len(t_boxes), f"targets[{i}] labels", num_classes)
        checked_preds.append((p_boxes, p_scores, p_labels))
        checked_targets.append((t_boxes, t_labels))
    return checked_preds, checked_targets


def _match(preds: list, targets: list, label: int, iou_threshold: float) -> tuple[torch.Tensor, torch.Tensor, int]:
    """`match_detections` on lists already checked by `_checked_lists`."""
    found, gt_boxes = [], []
    for i, ((p_boxes, p_scores, p_labels), (t_boxes, t_labels)) in enumerate(zip(preds, targets, strict=True)):
        mine = p_labels == label
        found += [(float(s), i, b) for s, b in zip(p_scores[mine], p_boxes[mine], strict=True)]
        gt_boxes.append(t_boxes[t_labels == label])
    found.sort(key=lambda item: -item[0])  # Python's sort is stable: ties keep the order of the images
    taken = [torch.zeros(len(g), dtype=torch.bool) for g in gt_boxes]
    hits = torch.zeros(len(found), dtype=torch.bool)
    for k, (_, i, box) in enumerate(found):
        if len(gt_boxes[i]) == 0:
            continue
        ious = box_iou(box[None], gt_boxes[i])[0].masked_fill(taken[i], -1.0)  # a matched box is no candidate
        best = int(ious.argmax())
        if ious[best] >= iou_threshold:
            hits[k], taken[i][best] = True, True
    scores = torch.tensor([s for s, _, _ in found], dtype=torch.float32)
    return scores, hits, sum(len(g) for g in gt_boxes)


def match_detections(preds, targets, label: int, iou_threshold: float = 0.5) -> tuple[torch.Tensor, torch.Tensor, int]:
    """One class's detections over a set of images, each marked true or false positive.

    preds: a list, per image, of (boxes (P_i, 4), scores (P_i,), labels (P_i,)); targets: a list,
    per image, of (boxes (T_i, 4), labels (T_i,)). Detections of class `label` are taken in
    decreasing score over all images (equal scores: in image order); each is a true positive if it
    has IoU >= `iou_threshold` with a ground-truth box of that class in its image that is not
    matched yet (of those, the one of highest IoU is taken), else a false positive -- so a second
    detection of an object already found counts as a false positive. Returns (scores (P,),
    is_true_positive bool (P,), number of ground-truth boxes of the class), scores decreasing.
    """
    label = _count("label", label, minimum=0)
    iou_threshold = _fraction("iou_threshold", iou_threshold)
    return _match(*_checked_lists(preds, targets), label, iou_threshold)


class MeanAP(NamedTuple):
    """`mean_average_precision`'s result: the mean over classes and each class's AP (NaN: no ground truth)."""

    mean: float
    per_class: torch.Tensor  # float64 (num_classes,)


def mean_average_precision(preds, targets, num_classes: int, iou_threshold: float = 0.5) -> MeanAP:
    """mAP@iou_threshold of a detector over a set of images, PASCAL VOC style (all-point AP).

    preds: a list, per image, of (boxes (P_i, 4), scores (P_i,), labels (P_i,)) -- what `decode`
    returns; targets: a list, per image, of (boxes (T_i, 4), labels (T_i,)). For each class,
    `match_detections` then `average_precision`; the mean is over the classes that have ground
    truth (a class that never occurs is NaN in `per_class` and left out). Returns `MeanAP(mean,
    per_class)`; mean is NaN when no class occurs at all.
    """
    num_classes = _count("num_classes", num_classes)
    iou_threshold = _fraction("iou_threshold", iou_threshold)
    preds, targets = _checked_lists(preds, targets, num_classes)
    per_class = torch.full((num_classes,), float("nan"), dtype=torch.float64)
    for label in range(num_classes):
        per_class[label] = average_precision(*_match(preds, targets, label, iou_threshold))
    present = ~per_class.isnan()
    mean = float(per_class[present].mean()) if present.any() else float("nan")
    return MeanAP(mean, per_class)


# ---------------------------------------------------------------------------------------------
# The YOLO grid.
# ---------------------------------------------------------------------------------------------


def _grid_args(grid, size) -> float:
    grid, size = _count("grid", grid), _count("size", size)
    if size % grid:
        raise ValueError(f"size={size} must be a multiple of grid={grid}, so that every cell is a whole square")
    return size / grid


def cell_of(boxes, grid: int, size: int) -> torch.Tensor:
    """The (row, col) of the grid cell holding each box's centre: boxes (N, 4) -> int64 (N, 2).

    row = floor(cy / stride), col = floor(cx / stride) with stride = size / grid; a centre on the
    image's bottom or right edge belongs to the last cell.
    """
    stride = _grid_args(grid, size)
    boxes = as_boxes(boxes)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2  # (N, 2) as (cx, cy)
    cells = torch.floor(centre / stride).long().clamp(0, grid - 1)
    return cells.flip(1)  # (row, col) = (from cy, from cx)


def encode_targets(boxes, labels, grid: int, size: int, num_classes: int) -> torch.Tensor:
    """What each grid cell should predict, for a batch of images: float32 (N, 6, grid, grid).

    boxes: a list, per image, of (k_i, 4) xyxy pixel boxes inside the ``size x size`` image;
    labels: a list, per image, of (k_i,) class indices in 0..num_classes-1. The cell holding a
    box's centre gets objectness 1, the centre's offset within the cell (ox, oy) in [0, 1), the
    log of the box's width and height in units of the stride, and the class index (channels as
    in `TARGET_CHANNELS`); every other cell has objectness 0 and class -1. When two centres fall
    into one cell the cell can hold one box only: the larger box is encoded (the other is lost).
    """
    stride = _grid_args(grid, size)
    num_classes = _count("num_classes", num_classes)
    if isinstance(boxes, torch.Tensor) or isinstance(labels, torch.Tensor):
        raise TypeError(
            "encode_targets takes lists with one entry per image (boxes (k_i, 4), labels (k_i,)); "
            "for a single image pass [boxes] and [labels]"
        )
    boxes, labels = list(boxes), list(labels)
    if len(boxes) != len(labels):
        raise ValueError(f"boxes has {len(boxes)} images but labels has {len(labels)}; give one entry per image")
    out = torch.zeros(len(boxes), TARGET_CHANNELS, grid, grid)
    out[:, 5] = -1.0
    for n, (b, lab) in enumerate(zip(boxes, labels, strict=True)):
        b = as_boxes(b, f"boxes[{n}]")
        lab = _classes(lab, len(b), f"labels[{n}]", num_classes)
        if len(b) and (b.min() < 0 or b.max() > size):
            raise ValueError(
                f"boxes[{n}] must lie inside the {size}x{size} image, found a coordinate outside 0..{size}"
            )
        sides = (b[:, 2:] - b[:, :2]).clamp(min=1e-3)  # (k, 2) width, height; a degenerate box gets a tiny side
        order = torch.argsort(sides.prod(1), stable=True)  # smallest first: a larger box written later wins
        cells = cell_of(b, grid, size)
        for k in order.tolist():
            row, col = cells[k].tolist()
            centre = (b[k, :2] + b[k, 2:]) / 2
            out[n, 0, row, col] = 1.0
            out[n, 1, row, col] = centre[0] / stride - col
            out[n, 2, row, col] = centre[1] / stride - row
            out[n, 3:5, row, col] = torch.log(sides[k] / stride)
            out[n, 5, row, col] = float(lab[k])
    return out


def _boxes_from_cells(offsets: torch.Tensor, log_sides: torch.Tensor, stride: float) -> torch.Tensor:
    """Boxes of every cell: offsets (N, 2, G, G) in [0, 1], log sides (N, 2, G, G) -> (N, G, G, 4) xyxy."""
    g = offsets.shape[-1]
    cols = torch.arange(g, dtype=offsets.dtype).view(1, 1, g)
    rows = torch.arange(g, dtype=offsets.dtype).view(1, g, 1)
    cx = (cols + offsets[:, 0]) * stride  # (N, G, G)
    cy = (rows + offsets[:, 1]) * stride
    w, h = stride * log_sides[:, 0].exp(), stride * log_sides[:, 1].exp()
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def decode_targets(targets, size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The boxes an encoded target map holds: (N, 6, G, G) -> a list, per image, of
    (boxes (k_i, 4), labels (k_i,)) in row-major cell order. Inverts `encode_targets` (up to float
    rounding, and except for boxes lost to a shared cell)."""
    targets = _tensor(targets, "targets", "an encoded target map (N, 6, G, G)")
    if targets.ndim != 4 or targets.shape[1] != TARGET_CHANNELS or targets.shape[2] != targets.shape[3]:
        raise ValueError(f"targets must have shape (N, {TARGET_CHANNELS}, G, G), got {tuple(targets.shape)}")
    stride = _grid_args(targets.shape[-1], size)
    targets = targets.float()
    all_boxes = _boxes_from_cells(targets[:, 1:3], targets[:, 3:5], stride)  # (N, G, G, 4)
    out = []
    for n in range(len(targets)):
        here = targets[n, 0] > 0.5
        out.append((all_boxes[n][here], targets[n, 5][here].long()))
    return out


def decode(
    predictions,
    size: int,
    score_threshold: float = 0.05,
    iou_threshold: float = 0.5,
    max_detections: int = 100,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Detections from a grid detector's raw output: (N, 5 + K, G, G) -> a list, per image, of
    (boxes (P, 4) xyxy pixels, scores (P,), labels int64 (P,)), best score first.

    Each cell proposes one box (``cx = (col + sigmoid(tx)) * stride``, ``w = stride * exp(tw)``,
    the same for y and h) of its most likely class, scored sigmoid(objectness) x that class's
    softmax probability. Proposals scoring below `score_threshold` are dropped, per-class `nms`
    with `iou_threshold` removes duplicates, and at most `max_detections` are kept. A low
    threshold keeps weak detections: they cost mAP nothing (they rank last) and may add recall.
    """
    predictions = _tensor(predictions, "predictions", "a detector's output (N, 5 + K, G, G)")
    if predictions.ndim != 4 or predictions.shape[1] < 6 or predictions.shape[2] != predictions.shape[3]:
        raise ValueError(
            f"predictions must have shape (N, 5 + num_classes, G, G) with square G x G cells, "
            f"got {tuple(predictions.shape)}"
        )
    if not predictions.is_floating_point():
        raise TypeError(f"predictions must be floating point (raw network outputs), got {predictions.dtype}")
    stride = _grid_args(predictions.shape[-1], size)
    score_threshold = _fraction("score_threshold", score_threshold)
    iou_threshold = _fraction("iou_threshold", iou_threshold)
    max_detections = _count("max_detections", max_detections)
    p = predictions.float().cpu()
    boxes = _boxes_from_cells(torch.sigmoid(p[:, 1:3]), p[:, 3:5], stride)  # (N, G, G, 4)
    class_prob, labels = F.softmax(p[:, 5:], dim=1).max(dim=1)  # (N, G, G) each
    scores = torch.sigmoid(p[:, 0]) * class_prob
    out = []
    for n in range(len(p)):
        keep = scores[n] >= score_threshold
        b = boxes[n][keep].clamp(0, size)
        s, lab = scores[n][keep], labels[n][keep]
        kept = nms(b, s, iou_threshold, labels=lab)[:max_detections]
        out.append((b[kept], s[kept], lab[kept]))
    return out
