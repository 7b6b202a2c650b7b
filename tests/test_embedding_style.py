"""Notebook 16's machinery: embeddings, metric losses, triplet mining, ROC/AUC, pairs, Gram losses, image optimisation.

* `EmbeddingNet` returns (N, dim) rows of length 1 for any image size, and refuses bad sizes and inputs;
* `contrastive_loss` on hand cases (same pair at distance d costs d², different pairs beyond the
  margin cost 0, inside it (margin - d)²), with a finite gradient at distance 0;
* `mine_triplets` picks, on a hand-made 1-D batch, exactly the triplets worked out by hand for each
  strategy; `batch_triplet_loss` is torch's triplet loss on them;
* `gram_matrix` against einsum and a hand example; `style_loss` is 0 for identical and for spatially
  shuffled features, `content_loss` is not; `relative_style_loss` weighs layers by their size;
* `roc_curve`/`roc_auc` on hand cases with ties, perfect, inverted and constant scores, and against
  the Mann-Whitney U statistic computed pair by pair; `verification_pairs` is balanced, disjoint,
  restricted to the classes asked for and deterministic from its seed;
* `RandomFeatures`, `layer_names` (Gatys et al.'s VGG-19 names), `VGGFeatures` and `optimize_image`,
  which lowers a texture loss on a 16 x 16 image in a few steps with both methods; `pretrained`
  knows torchvision's VGG-19 weights and, offline, says where to put them;
* the exercises of `coursekit.checks.verification` accept the computation a student would do;
* bad input everywhere raises an error naming the argument.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.checks import check
from coursekit.errors import UnknownName
from coursekit.losses import (
    batch_contrastive_loss,
    batch_pairs,
    batch_triplet_loss,
    content_loss,
    contrastive_loss,
    gram_matrix,
    mine_triplets,
    pairwise_distances,
    relative_style_loss,
    style_loss,
)
from coursekit.metrics import roc_auc, roc_curve, verification_pairs
from coursekit.models import EmbeddingNet
from coursekit.style import (
    GATYS_CONTENT_LAYER,
    GATYS_STYLE_LAYERS,
    RandomFeatures,
    VGGFeatures,
    layer_names,
    optimize_image,
)

# ---------------------------------------------------------------------------------------------- embedding


def test_embedding_net_shapes_and_unit_length():
    torch.manual_seed(0)
    net = EmbeddingNet(dim=16, width=4).eval()
    for size in (28, 32, 17):
        out = net(torch.randn(3, 1, size, size))
        assert out.shape == (3, 16)
        assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)
    assert net.unnormalised(torch.randn(2, 1, 28, 28)).shape == (2, 16)
    rgb = EmbeddingNet(dim=8, width=4, in_channels=3).eval()
    assert rgb(torch.randn(2, 3, 28, 28)).shape == (2, 8)


def test_embedding_net_bad_sizes_and_inputs():
    with pytest.raises(ValueError, match="dim must be an integer >= 1, got 0"):
        EmbeddingNet(dim=0)
    with pytest.raises(ValueError, match="width must be an integer >= 1, got 2.5"):
        EmbeddingNet(width=2.5)
    net = EmbeddingNet(dim=4, width=2)
    with pytest.raises(ValueError, match="built for 1 input channel"):
        net(torch.zeros(1, 3, 28, 28))
    with pytest.raises(TypeError, match="floating-point input"):
        net(torch.zeros(1, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="add the batch dimension"):
        net(torch.zeros(1, 28, 28))


# ---------------------------------------------------------------------------------------------- contrastive


def test_contrastive_loss_by_hand():
    x1 = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    x2 = torch.tensor([[3.0, 4.0], [3.0, 4.0], [0.3, 0.4], [1.0, 1.0]])  # distances 5, 5, 0.5, 0
    same = torch.tensor([True, False, False, False])
    per_pair = contrastive_loss(x1, x2, same, margin=1.0, reduction="none")
    # same pair at d=5 -> d² = 25; different beyond the margin -> 0; inside -> (1 - 0.5)²; at d=0 -> margin²
    assert torch.allclose(per_pair, torch.tensor([25.0, 0.0, 0.25, 1.0]), atol=1e-5)
    assert contrastive_loss(x1, x2, same, margin=1.0).item() == pytest.approx(26.25 / 4, abs=1e-5)
    assert contrastive_loss(x1, x2, same, margin=1.0, reduction="sum").item() == pytest.approx(26.25, abs=1e-5)
    as_ints = contrastive_loss(x1, x2, torch.tensor([1, 0, 0, 0]), margin=1.0, reduction="none")
    assert torch.equal(as_ints, per_pair)
    assert contrastive_loss(x1[:1], x2[:1], torch.tensor([False]), margin=6.0).item() == pytest.approx(1.0, abs=1e-5)


def test_contrastive_gradient_is_finite_at_distance_zero():
    x1 = torch.ones(2, 3, requires_grad=True)
    x2 = torch.ones(2, 3)
    contrastive_loss(x1, x2, torch.tensor([True, False])).backward()
    assert torch.isfinite(x1.grad).all()


def test_batch_pairs_and_batch_contrastive_loss():
    labels = torch.tensor([0, 1, 0, 1])
    first, second, same = batch_pairs(labels)
    assert list(zip(first.tolist(), second.tolist(), strict=True)) == list(itertools.combinations(range(4), 2))
    assert same.tolist() == [False, True, False, False, True, False]
    e = torch.randn(4, 5, generator=torch.Generator().manual_seed(1))
    expected = contrastive_loss(e[first], e[second], same, margin=0.7)
    assert batch_contrastive_loss(e, labels, margin=0.7).item() == pytest.approx(expected.item())


def test_pairwise_distances_match_cdist_and_have_no_nan_gradient():
    e = torch.randn(6, 4, generator=torch.Generator().manual_seed(2))
    e = torch.cat([e, e[:1]]).requires_grad_(True)  # a duplicate row: a distance of exactly 0 off the diagonal
    d = pairwise_distances(e)
    assert torch.allclose(d, torch.cdist(e, e), atol=1e-5)
    assert torch.equal(d.diagonal(), torch.zeros(7)) and d[0, 6].item() == 0.0
    d.sum().backward()
    assert torch.isfinite(e.grad).all()


# ---------------------------------------------------------------------------------------------- triplets

# Five 1-D embeddings: class 0 at 0, 1, 3 and class 1 at 0.5, 5 (worked out by hand in the tests below).
POINTS = torch.tensor([[0.0], [1.0], [3.0], [0.5], [5.0]])
CLASSES = torch.tensor([0, 0, 0, 1, 1])


def triplets(strategy):
    return [tuple(t) for t in torch.stack(mine_triplets(POINTS, CLASSES, strategy), 1).tolist()]


def test_batch_hard_takes_the_farthest_positive_and_the_nearest_negative():
    # anchor 0: positives at 1, 3 -> 2; negatives at 0.5, 5 -> 3. anchor 3: negatives 0 and 1 tie at 0.5 -> 0.
    assert triplets("batch_hard") == [(0, 2, 3), (1, 2, 3), (2, 0, 4), (3, 4, 0), (4, 3, 2)]


def test_semi_hard_takes_the_nearest_negative_farther_than_the_positive():
    # (2, 0): d_ap = 3, negatives at 2.5 and 2 are both closer -> the farther of them (3).
    # (2, 1): d_ap = 2, negative 4 is at exactly 2 (not farther), 3 at 2.5 is -> 3.
    assert triplets("semi_hard") == [
        (0, 1, 4),
        (0, 2, 4),
        (1, 0, 4),
        (1, 2, 4),
        (2, 0, 3),
        (2, 1, 3),
        (3, 4, 2),
        (4, 3, 0),
    ]


def test_all_triplets_are_every_valid_one():
    brute = [
        (a, p, n)
        for a, p, n in itertools.product(range(5), repeat=3)
        if a != p and CLASSES[a] == CLASSES[p] and CLASSES[n] != CLASSES[a]
    ]
    assert sorted(triplets("all")) == brute and len(brute) == 3 * 2 * 2 + 2 * 1 * 3


def test_batch_triplet_loss_is_torchs_loss_on_the_mined_triplets():
    e = F.normalize(torch.randn(12, 3, generator=torch.Generator().manual_seed(3)), dim=1)
    labels = torch.tensor([0, 1, 2] * 4)
    a, p, n = mine_triplets(e, labels, "batch_hard")
    expected = nn.TripletMarginLoss(margin=0.3)(e[a], e[p], e[n])
    assert batch_triplet_loss(e, labels, margin=0.3, strategy="batch_hard").item() == pytest.approx(expected.item())
    # by hand: points 0, 1 (class 0) and 0.5 (class 1); anchors 0 and 1 each have one triplet with
    # d(a, p) = 1 and d(a, n) = 0.5, so each costs 1 - 0.5 + 0.2; the class-1 point has no positive
    two = batch_triplet_loss(POINTS[[0, 1, 3]], torch.tensor([0, 0, 1]), margin=0.2, strategy="batch_hard")
    assert two.item() == pytest.approx(1 - 0.5 + 0.2, abs=1e-5)


def test_a_few_steps_of_triplet_training_lower_the_loss():
    torch.manual_seed(0)
    net = EmbeddingNet(dim=8, width=4)
    x = torch.randn(24, 1, 16, 16)
    labels = torch.arange(3).repeat(8)
    x = x + labels.view(-1, 1, 1, 1).float()  # three separable groups
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = batch_triplet_loss(net(x), labels, margin=0.5, strategy="batch_hard")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------------------------------------- Gram, style


def test_gram_matrix_by_hand_and_against_einsum():
    features = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (1, 2, 1, 2): two channels, two positions
    assert gram_matrix(features).tolist() == [[[2.5, 5.5], [5.5, 12.5]]]  # [[1+4, 3+8], [3+8, 9+16]] / 2
    f = torch.randn(3, 5, 4, 6, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(gram_matrix(f), torch.einsum("nchw,nkhw->nck", f, f) / 24, atol=1e-5)
    assert gram_matrix(f).shape == (3, 5, 5)


def test_style_loss_ignores_where_content_loss_does_not():
    f = torch.randn(1, 4, 5, 5, generator=torch.Generator().manual_seed(5))
    shuffled = f.flatten(2)[:, :, torch.randperm(25, generator=torch.Generator().manual_seed(6))].reshape(f.shape)
    assert style_loss(f, gram_matrix(f)).item() == 0.0
    assert style_loss(shuffled, gram_matrix(f)[0]).item() < 1e-10  # same Gram, (C, C) target
    assert content_loss(f, f).item() == 0.0 and content_loss(shuffled, f).item() > 0.1
    assert style_loss(2 * f, gram_matrix(f)).item() == pytest.approx((3 * gram_matrix(f)).pow(2).mean().item())
    bigger = torch.randn(1, 4, 9, 7)  # a Gram does not depend on the image size
    assert style_loss(bigger, gram_matrix(f)).item() > 0


def test_relative_style_loss_weighs_each_layer_by_its_size():
    a, b = torch.rand(1, 3, 4, 4) + 1, torch.rand(1, 2, 3, 3)
    targets = {"a": gram_matrix(a), "b": gram_matrix(10 * b)}
    features = {"a": a, "b": b, "unused": torch.zeros(1, 1, 2, 2)}
    expected = (0 + style_loss(b, targets["b"]) / targets["b"].pow(2).mean()) / 2
    assert relative_style_loss(features, targets).item() == pytest.approx(expected.item())
    assert relative_style_loss({"a": a}, {"a": gram_matrix(a)}).item() == 0.0


def test_style_losses_refuse_bad_input():
    f = torch.zeros(1, 3, 4, 4)
    with pytest.raises(ValueError, match=r"features must have shape \(N, C, H, W\), got shape \(3, 4, 4\)"):
        gram_matrix(f[0])
    with pytest.raises(TypeError, match="floating-point"):
        gram_matrix(f.long())
    with pytest.raises(ValueError, match=r"target_gram must have shape \(3, 3\) or \(1, 3, 3\)"):
        style_loss(f, torch.zeros(4, 4))
    with pytest.raises(ValueError, match="same shape"):
        content_loss(f, torch.zeros(1, 3, 4, 5))
    with pytest.raises(UnknownName, match="unknown layer in features 'k9'"):
        relative_style_loss({"k3": f}, {"k9": torch.ones(3, 3)})
    with pytest.raises(ValueError, match="all zeros"):
        relative_style_loss({"k3": f}, {"k3": torch.zeros(3, 3)})


def test_metric_losses_refuse_bad_input():
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="x1 and x2 must have the same shape"):
        contrastive_loss(x, torch.zeros(2, 4), torch.tensor([True, False]))
    with pytest.raises(ValueError, match="margin must be a finite number > 0, got -1"):
        contrastive_loss(x, x, torch.tensor([True, False]), margin=-1)
    with pytest.raises(TypeError, match="same must be bool or integer 0/1"):
        contrastive_loss(x, x, torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="same must hold only 0 and 1"):
        contrastive_loss(x, x, torch.tensor([2, 0]))
    with pytest.raises(UnknownName, match="unknown reduction 'avg'"):
        contrastive_loss(x, x, torch.tensor([1, 0]), reduction="avg")
    with pytest.raises(UnknownName, match="unknown triplet mining strategy 'hardest'"):
        mine_triplets(x, torch.tensor([0, 1]), "hardest")
    with pytest.raises(ValueError, match="has no triplet"):
        mine_triplets(torch.zeros(3, 2), torch.tensor([0, 0, 0]))  # one class only
    with pytest.raises(ValueError, match="has no triplet"):
        batch_triplet_loss(torch.zeros(3, 2), torch.tensor([0, 1, 2]))  # no class twice
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        batch_contrastive_loss(x, torch.tensor([0, 1, 1]))
    with pytest.raises(TypeError, match="labels must hold integer class indices"):
        batch_pairs(torch.tensor([0.0, 1.0]))


# ---------------------------------------------------------------------------------------------- ROC, AUC


def test_roc_curve_by_hand_with_a_tie():
    fpr, tpr, thresholds = roc_curve([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0])
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert thresholds.tolist() == [math.inf, 0.9, 0.8, 0.1]
    # pairs (matching vs non-matching): 0.9 > 0.8, 0.9 > 0.1, 0.8 = 0.8 (one half), 0.8 > 0.1 -> 3.5 / 4
    assert roc_auc([0.9, 0.8, 0.8, 0.1], [1, 0, 1, 0]) == pytest.approx(0.875)


def test_auc_of_perfect_inverted_and_constant_scores():
    same = torch.tensor([True, True, False, False, False])
    assert roc_auc(torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0]), same) == 1.0
    assert roc_auc(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), same) == 0.0
    assert roc_auc(torch.ones(5), same) == 0.5
    fpr, tpr, _ = roc_curve(torch.ones(5), same)
    assert fpr.tolist() == [0.0, 1.0] and tpr.tolist() == [0.0, 1.0]


def mann_whitney_auc(scores, same):
    """U / (n_pos n_neg), every (matching, non-matching) comparison counted: wins 1, ties 1/2."""
    pos = [s for s, y in zip(scores, same, strict=True) if y]
    neg = [s for s, y in zip(scores, same, strict=True) if not y]
    u = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return u / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(8))
def test_auc_equals_the_mann_whitney_statistic(seed):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randint(0, 6, (40,), generator=g).double()  # few values: many ties
    same = torch.rand(40, generator=g) < 0.4
    same[0], same[1] = True, False
    assert roc_auc(scores, same) == pytest.approx(mann_whitney_auc(scores.tolist(), same.tolist()), abs=1e-12)
    fpr, tpr, thresholds = roc_curve(scores, same)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert (fpr.diff() >= 0).all() and (tpr.diff() >= 0).all() and (thresholds.diff() < 0).all()


def test_roc_refuses_bad_input():
    with pytest.raises(ValueError, match="needs matching and non-matching pairs, got 2 matching and 0"):
        roc_auc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="finite"):
        roc_curve([0.1, float("nan")], [1, 0])
    with pytest.raises(ValueError, match=r"same must have shape \(3,\)"):
        roc_curve([0.1, 0.2, 0.3], [1, 0])
    with pytest.raises(ValueError, match=r"scores must have shape \(N,\)"):
        roc_curve(torch.zeros(2, 2), [1, 0])
    with pytest.raises(ValueError, match="True/False or 1/0"):
        roc_curve([0.1, 0.2], [2, 0])
    with pytest.raises(TypeError, match="scores must be real numbers"):
        roc_curve(["a", "b"], [1, 0])


# ---------------------------------------------------------------------------------------------- pairs


def test_verification_pairs_are_balanced_distinct_and_from_the_classes_asked_for():
    labels = torch.arange(10).repeat(30)  # 300 images, 10 classes
    first, second, same = verification_pairs(labels, 400, seed=3, classes=[6, 7, 8, 9])
    assert first.shape == second.shape == same.shape == (400,)
    assert same.sum() == 200 and same[:200].all() and not same[200:].any()
    assert (first < second).all()  # never an image with itself, each pair once, in one order
    assert len(set(zip(first.tolist(), second.tolist(), strict=True))) == 400
    assert torch.equal(labels[first] == labels[second], same)
    used = torch.cat([first, second])
    assert torch.isin(labels[used], torch.tensor([6, 7, 8, 9])).all()  # disjoint from the other classes
    assert set(labels[used].tolist()) == {6, 7, 8, 9}


def test_verification_pairs_are_deterministic_from_the_seed():
    labels = torch.arange(5).repeat(20)
    one, two = verification_pairs(labels, 50, seed=7), verification_pairs(labels, 50, seed=7)
    assert all(torch.equal(a, b) for a, b in zip(one, two, strict=True))
    other = verification_pairs(labels, 50, seed=8)
    assert not torch.equal(one[0], other[0])


def test_verification_pairs_refuse_impossible_requests():
    labels = torch.tensor([0, 0, 1, 1])  # 2 matching pairs, 4 non-matching
    assert verification_pairs(labels, 4)[2].sum() == 2
    with pytest.raises(ValueError, match="offer 2 matching and 4 non-matching pairs"):
        verification_pairs(labels, 6)
    with pytest.raises(ValueError, match="n_pairs must be an even integer >= 2"):
        verification_pairs(labels, 3)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        verification_pairs(labels, 2, seed=-1)


# ---------------------------------------------------------------------------------------------- style module


def test_random_features_shapes_determinism_and_frozen_weights():
    image = torch.rand(2, 3, 16, 16)
    features = RandomFeatures(kernel_sizes=(1, 3, 7), channels=5, seed=1)
    out = features(image)
    assert features.layers == ("k1", "k3", "k7") and list(out) == ["k1", "k3", "k7"]
    assert all(f.shape == (2, 5, 16, 16) and (f >= 0).all() for f in out.values())
    again = RandomFeatures(kernel_sizes=(1, 3, 7), channels=5, seed=1)(image)
    assert all(torch.equal(out[k], again[k]) for k in out)
    assert not any(p.requires_grad for p in features.parameters())
    flat = features(torch.full((1, 3, 16, 16), 0.8))  # a flat colour: only the 1x1 scale responds
    assert flat["k3"].abs().max() < 1e-5 and flat["k7"].abs().max() < 1e-5 and flat["k1"].abs().max() > 0


def test_random_features_refuse_bad_arguments():
    with pytest.raises(ValueError, match=r"kernel_sizes\[1\] must be odd"):
        RandomFeatures(kernel_sizes=(3, 4))
    with pytest.raises(ValueError, match="must not repeat"):
        RandomFeatures(kernel_sizes=(3, 3))
    with pytest.raises(ValueError, match="needs images larger than 7 x 7"):
        RandomFeatures(kernel_sizes=(15,), channels=2)(torch.rand(1, 3, 7, 7))


def small_vgg() -> nn.Sequential:
    """Two VGG blocks, the second with BatchNorm, with in-place ReLUs as torchvision builds them."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def test_layer_names_follow_gatys_for_vgg19():
    from torchvision.models.vgg import cfgs, make_layers

    names = layer_names(make_layers(cfgs["E"]))  # VGG-19's features, without the 120M-parameter classifier
    assert len(names) == 37 and names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert [names.index(n) for n in GATYS_STYLE_LAYERS] == [1, 6, 11, 20, 29]
    assert names.index(GATYS_CONTENT_LAYER) == 22 and names[-1] == "pool5"
    assert layer_names(small_vgg()) == [
        *("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"),
        *("conv2_1", "bn2_1", "relu2_1", "pool2"),
    ]
    with pytest.raises(TypeError, match=r"features\[1\] is a Linear"):
        layer_names(nn.Sequential(nn.Conv2d(3, 3, 1), nn.Linear(3, 3)))


def test_vgg_features_returns_the_named_layers_unchanged_by_in_place_relus():
    torch.manual_seed(0)
    vgg = small_vgg().eval()
    extractor = VGGFeatures(vgg, ["relu2_1", "conv1_1"], pool="avg")
    assert list(extractor.body._modules) == layer_names(vgg)[:8]  # stops after relu2_1
    assert isinstance(extractor.body.pool1, nn.AvgPool2d)
    x = torch.rand(2, 3, 8, 8)
    out = extractor(x)
    assert list(out) == ["relu2_1", "conv1_1"] and out["relu2_1"].shape == (2, 6, 4, 4)
    normalised = (x - extractor.mean) / extractor.std
    assert torch.allclose(out["conv1_1"], vgg[0](normalised), atol=1e-6)  # not overwritten by the ReLU
    assert (out["conv1_1"] < 0).any()
    assert not any(p.requires_grad for p in extractor.parameters())
    assert isinstance(VGGFeatures(vgg, ["conv2_1"], pool="max").body.pool1, nn.MaxPool2d)
    with pytest.raises(UnknownName, match="unknown VGG layer 'relu3_1'"):
        VGGFeatures(vgg, ["relu3_1"])
    with pytest.raises(UnknownName, match="unknown pooling 'min'"):
        VGGFeatures(vgg, ["conv1_1"], pool="min")


def test_pretrained_knows_vgg19_and_says_where_its_weights_go_when_offline(tmp_path, monkeypatch):
    from coursekit.data import locations
    from coursekit.models import WeightsUnavailable, imagenet, pretrained

    monkeypatch.setenv(locations.DATA_DIR_ENV, str(tmp_path / "data"))  # nowhere a real copy could be
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert imagenet.weights_url("vgg19") == "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
    assert imagenet.expected_sha256(imagenet.weights_filename("vgg19")) == "dcbb9e9d"  # torchvision's prefix
    with pytest.raises(WeightsUnavailable, match=r"data/weights/vgg19-dcbb9e9d\.pth"):
        pretrained("vgg19", download=False)


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_texture_synthesis_lowers_the_gram_loss_in_a_few_steps(method):
    torch.manual_seed(0)
    extractor = RandomFeatures(kernel_sizes=(1, 3, 5), channels=8, seed=0)
    texture = (torch.rand(1, 3, 16, 16) > 0.5).float()  # a black-and-white noise texture
    targets = {name: gram_matrix(f) for name, f in extractor(texture).items()}
    start = torch.rand(1, 3, 16, 16)  # white noise, as Gatys et al. start a texture
    result = optimize_image(start, lambda image: relative_style_loss(extractor(image), targets), 8, method, keep=(0, 8))
    assert len(result.losses) == 9 and result.ratio < 0.5
    assert result.image.shape == (1, 3, 16, 16) and 0 <= result.image.min() and result.image.max() <= 1
    assert torch.equal(result.snapshots[8], result.image) and not torch.equal(result.snapshots[0], result.image)
    assert torch.equal(result.snapshots[0], start)  # the start image itself is left alone


def test_optimize_image_refuses_bad_arguments():
    image = torch.rand(1, 3, 4, 4)

    def loss(x):
        return x.mean()

    with pytest.raises(ValueError, match="steps must be an integer >= 1, got 0"):
        optimize_image(image, loss, 0)
    with pytest.raises(UnknownName, match="unknown image optimisation method 'sgd'"):
        optimize_image(image, loss, 1, method="sgd")
    with pytest.raises(ValueError, match=r"keep\[0\] = 5 is after the last step"):
        optimize_image(image, loss, 2, keep=(5,))
    with pytest.raises(ValueError, match="image must be a float tensor"):
        optimize_image(image[0], loss, 1)
    with pytest.raises(TypeError, match="without a gradient"):
        optimize_image(image, lambda x: torch.tensor(1.0), 1)
    with pytest.raises(TypeError, match="must return a scalar tensor"):
        optimize_image(image, lambda x: x, 1)


# ---------------------------------------------------------------------------------------------- exercises


def test_the_exercises_accept_the_students_computation():
    # 1. contrastive loss of a different-class pair: d = sqrt(0.2² + 0.2²) inside the margin 0.5
    assert check("verification.contrastive_pair", (0.5 - math.hypot(0.2, 0.2)) ** 2)
    # 2. 4 classes x 8 images: matching pairs inside each class, the rest non-matching
    total, matching = 32 * 31 // 2, 4 * (8 * 7 // 2)
    assert check("verification.pairs_in_batch", (matching, total - matching))
    # 3. AUC by counting wins of matching over non-matching pairs, a smaller distance winning
    from coursekit.checks.verification import AUC_DISTANCES, AUC_SAME, THRESHOLD_DISTANCES, THRESHOLD_SAME

    assert check("verification.auc_small", mann_whitney_auc([-d for d in AUC_DISTANCES], AUC_SAME))
    # 4. every anchor (32) x another of its class (7) x any of the other classes (24); batch-hard: one per anchor
    assert check("verification.triplets_in_batch", (32 * 7 * 24, 32))
    # 5. a 256 x 256 symmetric matrix: the diagonal and one triangle
    assert check("verification.gram_distinct_entries", 256 * 257 // 2)
    # 6. walk the distances upwards while at most a quarter of the non-matching pairs are accepted
    negatives = sum(1 for s in THRESHOLD_SAME if not s)
    positives = len(THRESHOLD_SAME) - negatives
    best = None
    for t in sorted(THRESHOLD_DISTANCES):
        accepted = [s for d, s in zip(THRESHOLD_DISTANCES, THRESHOLD_SAME, strict=True) if d <= t]
        if (len(accepted) - sum(accepted)) / negatives <= 0.25:
            best = (t, sum(accepted) / positives)
    assert check("verification.threshold_at_fpr", best)
    assert not check("verification.threshold_at_fpr", (best[0], 1.0))
