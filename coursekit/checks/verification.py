"""Exercises of notebook 16 (verification by embeddings, style transfer): losses, pairs, ROC, Gram matrices."""

from . import exercise

# The short list of exercise 6: distances of twelve verified pairs and whether each pair matches.
THRESHOLD_DISTANCES = (0.10, 0.15, 0.22, 0.30, 0.35, 0.41, 0.48, 0.55, 0.62, 0.70, 0.80, 0.95)
THRESHOLD_SAME = (1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0)
MAX_FALSE_POSITIVE_RATE = 0.25

# Exercise 3: six pairs, their embedding distances and whether they match.
AUC_DISTANCES = (0.2, 0.5, 0.4, 0.9, 0.4, 0.7)
AUC_SAME = (1, 1, 0, 0, 1, 0)


@exercise(
    "verification.contrastive_pair",
    hint="First the Euclidean distance between the two embeddings; then use the branch of the loss for a "
    "pair of *different* classes: how far is the pair still inside the margin, squared?",
    tol=1e-4,
)
def _contrastive_pair():
    import torch

    from ..losses import contrastive_loss

    x1, x2 = torch.tensor([[0.6, 0.8]]), torch.tensor([[0.8, 0.6]])
    return contrastive_loss(x1, x2, torch.tensor([False]), margin=0.5).item()


@exercise(
    "verification.pairs_in_batch",
    hint="Count unordered pairs: n images give n(n - 1)/2 pairs in all. Matching pairs come from inside each "
    "class; every other pair is non-matching. Answer (matching, non-matching).",
)
def _pairs_in_batch():
    import torch

    from ..losses import batch_pairs

    labels = torch.arange(4).repeat_interleave(8)  # 4 classes x 8 images
    _, _, same = batch_pairs(labels)
    return (int(same.sum()), int((~same).sum()))


@exercise(
    "verification.auc_small",
    hint="A small distance means 'same', so rank by minus the distance. Compare every matching pair with "
    "every non-matching one: count the comparisons the matching pair wins, a tie counts one half, and "
    "divide by the number of comparisons.",
    tol=1e-4,
)
def _auc_small():
    import torch

    from ..metrics import roc_auc

    return roc_auc(-torch.tensor(AUC_DISTANCES, dtype=torch.float64), torch.tensor(AUC_SAME))


@exercise(
    "verification.triplets_in_batch",
    hint="A triplet is an anchor, another image of the anchor's class and an image of any other class. "
    "Multiply the choices for each, summed over anchors; batch-hard keeps one triplet per anchor. "
    "Answer (all triplets, batch-hard triplets).",
)
def _triplets_in_batch():
    import torch

    from ..losses import mine_triplets

    labels = torch.arange(4).repeat_interleave(8)
    embeddings = torch.randn(len(labels), 2, generator=torch.Generator().manual_seed(0))
    every = mine_triplets(embeddings, labels, "all")[0]
    hardest = mine_triplets(embeddings, labels, "batch_hard")[0]
    return (len(every), len(hardest))


@exercise(
    "verification.gram_distinct_entries",
    hint="A Gram matrix has one row and one column per channel, whatever the height and width of the map. "
    "It is symmetric: entry [c, k] equals entry [k, c]. Count the diagonal once.",
)
def _gram_distinct_entries():
    import torch

    from ..losses import gram_matrix

    gram = gram_matrix(torch.rand(1, 256, 56, 56, generator=torch.Generator().manual_seed(0)))[0]
    assert torch.allclose(gram, gram.T)
    rows, cols = torch.triu_indices(*gram.shape)  # the upper triangle, diagonal included
    return len(rows)


@exercise(
    "verification.threshold_at_fpr",
    hint="Accept 'same' when the distance is at most the threshold. Walk the distances from small to large: "
    "the false-positive rate is the share of non-matching pairs accepted. Stop before it exceeds the "
    "limit; the true-positive rate is the share of matching pairs accepted. Answer (threshold, TPR).",
    tol=1e-3,
)
def _threshold_at_fpr():
    import torch

    from ..metrics import roc_curve

    distances = torch.tensor(THRESHOLD_DISTANCES, dtype=torch.float64)
    fpr, tpr, thresholds = roc_curve(-distances, torch.tensor(THRESHOLD_SAME))
    allowed = torch.nonzero(fpr <= MAX_FALSE_POSITIVE_RATE).flatten()[-1]  # the most permissive allowed point
    return (-thresholds[allowed].item(), tpr[allowed].item())
