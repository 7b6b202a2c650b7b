"""Losses that are not in torch: what a network is trained to minimise beyond classification.

Classification and segmentation need nothing new -- ``F.cross_entropy(logits, labels)`` takes
logits (N, K) and labels (N,), or per-pixel logits (N, K, H, W) and masks (N, H, W). The losses
here follow the same call convention as ``F.cross_entropy`` (predictions first, targets second,
the batch mean returned), so `coursekit.train.fit` can train with any of them via ``loss_fn=``.

Sections, one per task (each starts with a ``# ---`` banner; new sections go above the last line):

- detection: `detection_loss_parts` and `detection_loss`, YOLO's sum of an objectness, a box and a
  class term over the grid (Redmon et al. 2016), for `coursekit.models.detection.GridDetector`.
- metric learning: `pairwise_distances`, `batch_pairs`, `contrastive_loss` (Hadsell, Chopra & LeCun
  2006), `batch_contrastive_loss`, `mine_triplets` (batch-hard, semi-hard or all triplets of a
  batch) and `batch_triplet_loss`, which hands the mined triplets to torch's own
  ``F.triplet_margin_loss`` (``nn.TripletMarginLoss``; Schroff et al. 2015), for
  `coursekit.models.EmbeddingNet`;
- style transfer: `gram_matrix`, `style_loss`, `relative_style_loss` (several layers at once) and
  `content_loss` (Gatys, Ecker & Bethge 2016), for the feature extractors of `coursekit.style`.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from .boxes import TARGET_CHANNELS
from .errors import UnknownName

__all__ = [
    "detection_loss",
    "detection_loss_parts",
    "pairwise_distances",
    "batch_pairs",
    "contrastive_loss",
    "batch_contrastive_loss",
    "mine_triplets",
    "batch_triplet_loss",
    "gram_matrix",
    "style_loss",
    "relative_style_loss",
    "content_loss",
]


# ---------------------------------------------------------------------------------------------
# Detection (a YOLO-style grid).
# ---------------------------------------------------------------------------------------------


def _weight(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_detection(predictions, targets) -> None:
    if not isinstance(predictions, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError(
            f"predictions and targets must be tensors, got {type(predictions).__name__} and {type(targets).__name__}"
        )
    if predictions.ndim != 4 or predictions.shape[1] < 6:
        raise ValueError(
            f"predictions must have shape (N, 5 + num_classes, G, G) (a GridDetector's output), "
            f"got {tuple(predictions.shape)}"
        )
    n, _, gh, gw = predictions.shape
    if targets.shape != (n, TARGET_CHANNELS, gh, gw):
        raise ValueError(
            f"targets must have shape (N, {TARGET_CHANNELS}, G, G) = {(n, TARGET_CHANNELS, gh, gw)} to match the "
            f"predictions (coursekit.boxes.encode_targets with grid={gh}), got {tuple(targets.shape)}"
        )
    if not targets.is_floating_point():
        raise TypeError(f"targets must be a float tensor from coursekit.boxes.encode_targets, got {targets.dtype}")


def detection_loss_parts(predictions, targets, noobj_weight: float = 0.5) -> dict[str, torch.Tensor]:
    """The three terms of the detection loss, each summed over the grid and averaged over images.

    predictions: (N, 5 + K, G, G) raw outputs of a grid detector (channels: objectness logit, tx,
    ty, tw, th, K class logits); targets: (N, 6, G, G) from `coursekit.boxes.encode_targets`.
    A cell is *responsible* when its target objectness is 1. Returns a dict of scalars:

    - ``objectness``: binary cross-entropy of the objectness logit against 1 (responsible cells)
      or 0 (all others), the empty cells weighted by `noobj_weight` (YOLO's lambda_noobj = 0.5:
      most cells are empty, and without it they dominate);
    - ``box``: over responsible cells only, the squared error of (sigmoid(tx), sigmoid(ty)) against
      the centre's offset in the cell and of (tw, th) against log(side / stride);
    - ``classes``: over responsible cells only, cross-entropy of the class logits.
    """
    _check_detection(predictions, targets)
    noobj_weight = _weight("noobj_weight", noobj_weight)
    n = len(predictions)
    predictions, targets = predictions.float(), targets.float()
    responsible = targets[:, 0] > 0.5  # (N, G, G)
    object_bce = F.binary_cross_entropy_with_logits(predictions[:, 0], targets[:, 0], reduction="none")
    weights = torch.where(responsible, 1.0, noobj_weight)
    objectness = (weights * object_bce).sum() / n

    pred = predictions.permute(0, 2, 3, 1)[responsible]  # (P, 5 + K): the responsible cells' outputs
    true = targets.permute(0, 2, 3, 1)[responsible]  # (P, 6)
    centre_error = (torch.sigmoid(pred[:, 1:3]) - true[:, 1:3]).square().sum()
    size_error = (pred[:, 3:5] - true[:, 3:5]).square().sum()
    box = (centre_error + size_error) / n
    classes = F.cross_entropy(pred[:, 5:], true[:, 5].long(), reduction="sum") / n
    return {"objectness": objectness, "box": box, "classes": classes}


def detection_loss(predictions, targets, box_weight: float = 5.0, noobj_weight: float = 0.5) -> torch.Tensor:
    """YOLO's loss for a grid detector, averaged over the images of the batch (a scalar).

    objectness + box_weight * box + classes (see `detection_loss_parts` for the terms and shapes).
    `box_weight` is YOLO's lambda_coord = 5: few cells carry a box, and their coordinates matter.
    Use it as ``fit(..., loss_fn=detection_loss)``; ``functools.partial`` changes the weights.
    """
    box_weight = _weight("box_weight", box_weight)
    parts = detection_loss_parts(predictions, targets, noobj_weight)
    return parts["objectness"] + box_weight * parts["box"] + parts["classes"]


# ---------------------------------------------------------------------------------------------
# Metric learning (notebook 16): embeddings that put one kind close together and kinds apart.
# ---------------------------------------------------------------------------------------------

REDUCTIONS = ("mean", "sum", "none")
MINING = ("batch_hard", "semi_hard", "all")


def _float_tensor(name: str, value, ndim: int, shape_text: str) -> torch.Tensor:
    """`value` if it is a floating-point tensor with `ndim` dimensions, else a TypeError/ValueError."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_text}, got {type(value).__name__}")
    if value.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape_text}, got shape {tuple(value.shape)}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}; convert it with .float()")
    return value


def _labels(labels, batch: int | None = None) -> torch.Tensor:
    """Integer class labels of shape (batch,) (any length when `batch` is None), or a clear error."""
    expected = f"({batch},)" if batch is not None else "(B,)"
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be an integer torch.Tensor of shape {expected}, got {type(labels).__name__}")
    if labels.ndim != 1 or (batch is not None and len(labels) != batch):
        raise ValueError(f"labels must have shape {expected} (one per embedding), got shape {tuple(labels.shape)}")
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise TypeError(f"labels must hold integer class indices, got dtype {labels.dtype}")
    return labels


def _same(same, batch: int) -> torch.Tensor:
    """`same` (B,) as a bool tensor: True for a pair of one class, False for a pair of two."""
    if not isinstance(same, torch.Tensor):
        raise TypeError(f"same must be a bool (or 0/1) torch.Tensor of shape ({batch},), got {type(same).__name__}")
    if same.ndim != 1 or len(same) != batch:
        raise ValueError(f"same must have shape ({batch},) (one flag per pair), got shape {tuple(same.shape)}")
    if same.dtype == torch.bool:
        return same
    if same.dtype.is_floating_point or same.dtype.is_complex:
        raise TypeError(f"same must be bool or integer 0/1, got dtype {same.dtype}")
    if len(same) and not bool(((same == 0) | (same == 1)).all()):
        raise ValueError(f"same must hold only 0 and 1 (or False and True), found {same[(same != 0) & (same != 1)][0]}")
    return same.bool()


def _margin(margin) -> float:
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not math.isfinite(margin) or margin <= 0:
        raise ValueError(f"margin must be a finite number > 0, got {margin!r}")
    return float(margin)


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction not in REDUCTIONS:
        raise UnknownName("reduction", reduction, REDUCTIONS)
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def pairwise_distances(embeddings: torch.Tensor) -> torch.Tensor:
    """Euclidean distance between every two rows: (B, D) -> (B, B), symmetric, zero diagonal.

    ``d[i, j] = ||embeddings[i] - embeddings[j]||``, computed from the differences (exact, with an
    exact 0 on the diagonal; memory B x B x D, fine for a training batch). Where a distance is 0 its
    gradient is 0, not NaN (the square root's slope at 0 is infinite).
    """
    embeddings = _float_tensor("embeddings", embeddings, 2, "(B, D)")
    squared = (embeddings[:, None, :] - embeddings[None, :, :]).pow(2).sum(-1)
    return squared.clamp_min(1e-12).sqrt() * (squared > 0)


def batch_pairs(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every unordered pair of a batch: labels (B,) -> (first, second, same), each of shape (B(B-1)/2,).

    first < second are int64 indices into the batch, in row order (0,1), (0,2), ..., (B-2, B-1);
    same is True where the two have the same label.
    """
    labels = _labels(labels)
    first, second = torch.triu_indices(len(labels), len(labels), offset=1, device=labels.device)
    return first, second, labels[first] == labels[second]


def contrastive_loss(
    x1: torch.Tensor, x2: torch.Tensor, same: torch.Tensor, margin: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """The contrastive loss of Hadsell, Chopra & LeCun (2006) for pairs of embeddings.

    x1, x2: (B, D) the two embeddings of each pair; same: (B,) bool or 0/1, True for a pair of one
    class. With d = ||x1 - x2||, a pair costs

        d²                   if same        (pull together: zero only at distance 0)
        max(0, margin - d)²  if different   (push apart, but only until the margin)

    so different pairs already farther apart than `margin` cost nothing. (The paper writes both
    terms with a factor 1/2, which only halves the gradient.) reduction: "mean" (default) -> a
    scalar, "sum" -> a scalar, "none" -> (B,) per-pair losses.
    """
    x1 = _float_tensor("x1", x1, 2, "(B, D)")
    x2 = _float_tensor("x2", x2, 2, "(B, D)")
    if x1.shape != x2.shape:
        raise ValueError(f"x1 and x2 must have the same shape (B, D), got {tuple(x1.shape)} and {tuple(x2.shape)}")
    same = _same(same, len(x1))
    margin = _margin(margin)
    squared = (x1 - x2).pow(2).sum(1)  # d², no square root: exact, with a gradient even at d = 0
    distance = squared.clamp_min(1e-12).sqrt()  # the clamp keeps the gradient of sqrt finite at d = 0
    losses = torch.where(same, squared, F.relu(margin - distance).pow(2))
    return _reduce(losses, reduction)


def batch_contrastive_loss(embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """`contrastive_loss` averaged over every pair of a batch: embeddings (B, D), labels (B,) -> scalar.

    The signature of a classification loss, ``loss_fn(outputs, labels)``: the pairs are formed
    inside the batch (`batch_pairs`), so an ordinary loader of labelled images is all training needs.
    """
    embeddings = _float_tensor("embeddings", embeddings, 2, "(B, D)")
    first, second, same = batch_pairs(_labels(labels, len(embeddings)))
    if len(first) == 0:
        raise ValueError("a batch of one embedding has no pair; use batches of at least two images")
    return contrastive_loss(embeddings[first], embeddings[second], same, margin)


def _no_triplets(labels: torch.Tensor) -> ValueError:
    counts = torch.bincount(labels - labels.min()).tolist() if len(labels) else []
    return ValueError(
        f"this batch of {len(labels)} has no triplet (anchor, positive of its class, negative of another): "
        f"it needs a class with two images and a second class; images per label: {[c for c in counts if c]}"
    )


def mine_triplets(
    embeddings: torch.Tensor, labels: torch.Tensor, strategy: str = "semi_hard"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Choose (anchor, positive, negative) triplets in a batch: three int64 index tensors of shape (T,).

    embeddings: (B, D); labels: (B,). A positive has the anchor's label (and is another image), a
    negative has a different label. d(a, x) is the Euclidean distance. strategy:

    - ``"batch_hard"`` (Hermans et al. 2017): per anchor, its farthest positive and its nearest
      negative -- one triplet per anchor that has both (T <= B);
    - ``"semi_hard"`` (Schroff et al. 2015, FaceNet): per ordered positive pair (a, p), the nearest
      negative that is still *farther* than p, i.e. d(a, p) < d(a, n); if every negative is closer
      than p, the farthest negative -- one triplet per positive pair;
    - ``"all"``: every valid triplet (T can be large: about B³/K for K balanced classes).

    Ties go to the lower index. The distances are computed without gradient: mining only picks
    indices, and the loss is computed afterwards, e.g. ``F.triplet_margin_loss(e[a], e[p], e[n])``.
    Raises ValueError when the batch has no valid triplet.
    """
    embeddings = _float_tensor("embeddings", embeddings, 2, "(B, D)")
    labels = _labels(labels, len(embeddings))
    if strategy not in MINING:
        raise UnknownName("triplet mining strategy", strategy, MINING)
    with torch.no_grad():
        d = pairwise_distances(embeddings.detach())
        same = labels[:, None] == labels[None, :]
        positive = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)  # (B, B)
        negative = ~same
        usable = positive.any(1) & negative.any(1)  # anchors with at least one of each
        if not usable.any():
            raise _no_triplets(labels)
        if strategy == "batch_hard":
            anchor = torch.nonzero(usable).flatten()
            far_positive = d.masked_fill(~positive, -1.0)[anchor].argmax(1)  # distances are >= 0
            near_negative = d.masked_fill(~negative, math.inf)[anchor].argmin(1)
            return anchor, far_positive, near_negative
        if strategy == "all":
            valid = positive[:, :, None] & negative[:, None, :]  # (a, p, n)
            anchor, pos, neg = torch.nonzero(valid, as_tuple=True)
            return anchor, pos, neg
        anchor, pos = torch.nonzero(positive & usable[:, None], as_tuple=True)  # every positive pair (a, p)
        d_an = d[anchor]  # (P, B): distance from each pair's anchor to every image
        is_negative = negative[anchor]
        farther = is_negative & (d_an > d[anchor, pos][:, None])
        semi_hard = d_an.masked_fill(~farther, math.inf).argmin(1)
        farthest = d_an.masked_fill(~is_negative, -1.0).argmax(1)
        neg = torch.where(farther.any(1), semi_hard, farthest)
        return anchor, pos, neg


def batch_triplet_loss(
    embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 0.2, strategy: str = "semi_hard"
) -> torch.Tensor:
    """Triplet loss over the triplets `mine_triplets` finds in a batch: (B, D), (B,) -> scalar.

    Each triplet costs max(0, d(a, p) - d(a, n) + margin) -- the anchor must be closer to its
    positive than to its negative by at least `margin` -- computed by torch's
    ``F.triplet_margin_loss`` and averaged over the triplets. Signature ``loss_fn(outputs, labels)``.
    """
    margin = _margin(margin)
    anchor, pos, neg = mine_triplets(embeddings, labels, strategy)
    return F.triplet_margin_loss(embeddings[anchor], embeddings[pos], embeddings[neg], margin=margin)


# ---------------------------------------------------------------------------------------------
# Style transfer (notebook 16): what is where (content), which features occur together (style).
# ---------------------------------------------------------------------------------------------


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Which channels fire together: (N, C, H, W) feature maps -> (N, C, C) Gram matrices.

    With F the features reshaped to (C, H·W) -- one row per channel, one column per position --
    G = F Fᵀ / (H·W): entry [c, k] is the average over all positions of channel c times channel k.
    Summing over positions forgets *where* things are and keeps *which features occur together*:
    a texture's statistics. The division by H·W makes Grams of different image sizes comparable.
    """
    features = _float_tensor("features", features, 4, "(N, C, H, W)")
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def style_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the Gram matrix of `features` and a target: -> scalar.

    features: (N, C, H, W); target_gram: (C, C) or (N, C, C), e.g. ``gram_matrix(style_features)``
    (its H, W may differ from `features`': Grams do not depend on the image size). Zero exactly
    when the Grams agree -- for identical features, but also for features shuffled in space. This
    is Gatys et al.'s layer loss E_l = Σ (G - A)² / (4 C² (HW)²) times 4, with G, A not divided by HW.
    """
    features = _float_tensor("features", features, 4, "(N, C, H, W)")
    if not isinstance(target_gram, torch.Tensor):
        raise TypeError(f"target_gram must be a torch.Tensor (C, C) or (N, C, C), got {type(target_gram).__name__}")
    c = features.shape[1]
    if target_gram.shape not in ((c, c), (len(features), c, c)):
        raise ValueError(
            f"target_gram must have shape ({c}, {c}) or ({len(features)}, {c}, {c}) for features of shape "
            f"{tuple(features.shape)}, got {tuple(target_gram.shape)}; compute it with gram_matrix() of "
            f"features with {c} channels"
        )
    return (gram_matrix(features) - target_gram).pow(2).mean()


def relative_style_loss(features: dict, target_grams: dict) -> torch.Tensor:
    """The style loss of several layers, each relative to the size of its target: -> scalar.

    features: {layer: (N, C_l, H_l, W_l)} (an extractor's output; extra layers are ignored);
    target_grams: {layer: (C_l, C_l) or (N, C_l, C_l)}. The mean over the target's layers of
    ``style_loss(features[l], A_l) / mean(A_l²)``: each layer's squared Gram error as a fraction of
    its target's squared size, so every layer counts alike whatever the scale of its features, and
    the loss of a random start image is of the order of 1 (Gatys et al. weight layers by hand instead).
    """
    if not isinstance(features, dict) or not isinstance(target_grams, dict):
        raise TypeError(
            f"features and target_grams must be dicts {{layer name: tensor}}, got {type(features).__name__} "
            f"and {type(target_grams).__name__}"
        )
    if not target_grams:
        raise ValueError("target_grams is empty; give the Gram matrix of at least one layer")
    missing = [name for name in target_grams if name not in features]
    if missing:
        raise UnknownName("layer in features", missing[0], features)
    terms = []
    for name, target in target_grams.items():
        size = target.detach().pow(2).mean()
        if not size > 0:
            raise ValueError(f"the target Gram matrix of layer {name!r} is all zeros; its features never fire")
        terms.append(style_loss(features[name], target) / size)
    return torch.stack(terms).mean()


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between two feature maps of the same shape (N, C, H, W): -> scalar.

    Position by position, so it keeps *what is where*: Gatys et al.'s content loss, divided by the
    number of values instead of multiplied by 1/2.
    """
    features = _float_tensor("features", features, 4, "(N, C, H, W)")
    target = _float_tensor("target", target, 4, "(N, C, H, W)")
    if features.shape != target.shape:
        raise ValueError(
            f"features and target must have the same shape, got {tuple(features.shape)} and {tuple(target.shape)}; "
            f"compute both at the same layer from images of the same size"
        )
    return (features - target).pow(2).mean()


# (new loss sections go above this line)
