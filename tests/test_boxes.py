"""coursekit.boxes: IoU and NMS by hand and against torchvision, VOC average precision on cases worked
out by hand, the YOLO grid's encoding and decoding, and bad input named. The notebook-15 exercises'
answers, computed the way a student would, are accepted by their checks."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

from coursekit import boxes
from coursekit.boxes import (
    average_precision,
    box_iou,
    cell_of,
    decode,
    decode_targets,
    encode_targets,
    match_detections,
    mean_average_precision,
    nms,
)
from coursekit.checks import check
from coursekit.checks import detection as ex


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def random_boxes(n: int, seed: int, size: float = 100.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    corner = torch.rand(n, 2, generator=g) * size
    sides = torch.rand(n, 2, generator=g) * size / 3 + 0.5  # positive areas
    return torch.cat([corner, corner + sides], dim=1)


# ---------------------------------------------------------------------------------------------
# IoU


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),  # the same box
        ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),  # apart
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # sharing an edge: no area in common
        ((0, 0, 20, 20), (5, 5, 15, 15), 100 / 400),  # one inside the other
        ((0, 0, 2, 2), (1, 1, 3, 3), 1 / 7),  # corner overlap: 1 / (4 + 4 - 1)
        ((0, 0, 4, 2), (2, 0, 6, 2), 4 / 12),  # half each: 4 / (8 + 8 - 4)
        ((8, 16, 40, 56), (24, 30, 64, 70), 416 / 2464),  # 16 x 26 over 1280 + 1600 - 416
        ((5, 5, 5, 5), (5, 5, 5, 5), 0.0),  # no area at all: defined as 0
    ],
)
def test_iou_by_hand(a, b, expected):
    assert box_iou(t([a]), t([b])).item() == pytest.approx(expected, abs=1e-6)
    assert box_iou(t([b]), t([a])).item() == pytest.approx(expected, abs=1e-6)  # symmetric


def test_iou_matrix_matches_torchvision_on_random_boxes():
    a, b = random_boxes(40, seed=0), random_boxes(25, seed=1)
    ours = box_iou(a, b)
    assert ours.shape == (40, 25)
    torch.testing.assert_close(ours, torchvision.ops.box_iou(a, b), atol=1e-6, rtol=0)
    assert (ours >= 0).all() and (ours <= 1).all()


def test_iou_of_empty_sets_has_an_empty_shape():
    assert box_iou(torch.zeros(0, 4), t([(0, 0, 1, 1)])).shape == (0, 1)
    assert box_iou([], []).shape == (0, 0)


# ---------------------------------------------------------------------------------------------
# NMS


def test_nms_by_hand():
    b = t([(0, 0, 10, 10), (1, 1, 11, 11), (50, 50, 60, 60), (0, 0, 10, 9)])
    s = torch.tensor([0.6, 0.9, 0.8, 0.3])
    # box 1 wins, suppresses 0 (IoU 81/119 = 0.68) and 3 (IoU 72/118 = 0.61); box 2 is far away
    assert nms(b, s, 0.5).tolist() == [1, 2]
    # at 0.7 box 0 survives box 1, and then box 0 itself suppresses box 3 (IoU 90/100)
    assert nms(b, s, 0.7).tolist() == [1, 2, 0]
    assert nms(b, s, 0.95).tolist() == [1, 2, 0, 3]  # nothing overlaps that much: all stay, best first


def test_nms_keeps_a_box_exactly_at_the_threshold():
    b, s = t([(0, 0, 4, 2), (2, 0, 6, 2)]), torch.tensor([0.9, 0.8])  # IoU exactly 1/3
    assert nms(b, s, 1 / 3 + 1e-6).tolist() == [0, 1] and nms(b, s, 0.3).tolist() == [0]


@pytest.mark.parametrize("threshold", [0.0, 0.1, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nms_matches_torchvision(threshold, seed):
    b = random_boxes(150, seed)
    s = torch.rand(150, generator=torch.Generator().manual_seed(seed + 10))
    labels = torch.randint(0, 4, (150,), generator=torch.Generator().manual_seed(seed + 20))
    assert torch.equal(nms(b, s, threshold), torchvision.ops.nms(b, s, threshold))
    assert torch.equal(nms(b, s, threshold, labels=labels), torchvision.ops.batched_nms(b, s, labels, threshold))


def test_nms_of_nothing_keeps_nothing():
    kept = nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert kept.dtype == torch.int64 and kept.shape == (0,)


# ---------------------------------------------------------------------------------------------
# Average precision


def test_average_precision_by_hand():
    assert average_precision([0.9, 0.8], [True, True], 2) == pytest.approx(1.0)  # perfect
    assert average_precision([0.9], [True], 2) == pytest.approx(0.5)  # one object missed
    assert average_precision([0.9, 0.8], [False, True], 1) == pytest.approx(0.5)  # a false alarm ranked first
    assert average_precision([0.9, 0.8], [True, False], 1) == pytest.approx(1.0)  # ... or last: costs nothing
    # TP, FP, TP with 2 objects: precision 1, 1/2, 2/3 -> envelope 1, 2/3, 2/3 -> 0.5 * 1 + 0.5 * 2/3
    assert average_precision([0.9, 0.8, 0.7], [1, 0, 1], 2) == pytest.approx(0.5 + 1 / 3)
    assert average_precision([], [], 3) == 0.0  # nothing detected
    assert math.isnan(average_precision([0.5], [False], 0))  # no ground truth: no recall


def test_average_precision_ranks_by_score_not_by_order_given():
    assert average_precision([0.2, 0.9], [True, False], 1) == pytest.approx(0.5)


def one_image(pred_boxes, scores, labels):
    return (t(pred_boxes).reshape(-1, 4), torch.tensor(scores, dtype=torch.float32), torch.tensor(labels).long())


def truth(gt_boxes, labels):
    return (t(gt_boxes).reshape(-1, 4), torch.tensor(labels).long())


def test_map_of_perfect_predictions_is_one():
    targets = [truth([(0, 0, 10, 10), (20, 20, 40, 30)], [3, 1]), truth([(5, 5, 15, 25)], [3])]
    preds = [(b, torch.ones(len(b)), lab) for b, lab in targets]
    result = mean_average_precision(preds, targets, num_classes=5)
    assert result.mean == pytest.approx(1.0)
    assert result.per_class[1] == 1.0 and result.per_class[3] == 1.0
    assert result.per_class[[0, 2, 4]].isnan().all()  # classes that never occur are left out


def test_map_with_one_object_missed():
    targets = [truth([(0, 0, 10, 10), (20, 20, 30, 30)], [0, 0])]
    preds = [one_image([(0, 0, 10, 10)], [0.9], [0])]
    assert mean_average_precision(preds, targets, 1).mean == pytest.approx(0.5)


def test_a_duplicate_detection_is_a_false_positive():
    targets = [truth([(0, 0, 10, 10)], [0]), truth([(50, 50, 60, 60)], [0])]
    preds = [
        one_image([(0, 0, 10, 10), (1, 0, 11, 10)], [0.9, 0.8], [0, 0]),  # the second finds the same object again
        one_image([(50, 50, 60, 60)], [0.7], [0]),
    ]
    scores, hits, num_targets = match_detections(preds, targets, label=0)
    assert scores.tolist() == pytest.approx([0.9, 0.8, 0.7]) and hits.tolist() == [True, False, True]
    assert num_targets == 2
    assert mean_average_precision(preds, targets, 1).mean == pytest.approx(0.5 + 1 / 3)


def test_the_right_box_with_the_wrong_class_finds_nothing():
    targets = [truth([(0, 0, 10, 10)], [2])]
    preds = [one_image([(0, 0, 10, 10)], [0.95], [7])]
    result = mean_average_precision(preds, targets, 10)
    assert result.per_class[2] == 0.0 and math.isnan(result.per_class[7])  # 7 has no ground truth
    assert result.mean == 0.0


def test_the_iou_threshold_decides_a_loose_box():
    targets = [truth([(0, 0, 10, 10)], [0])]
    preds = [one_image([(0, 0, 10, 4)], [0.9], [0])]  # IoU 0.4
    assert mean_average_precision(preds, targets, 1, iou_threshold=0.5).mean == 0.0
    assert mean_average_precision(preds, targets, 1, iou_threshold=0.3).mean == 1.0


def test_one_detection_cannot_claim_two_objects_and_takes_the_best_overlap():
    targets = [truth([(0, 0, 10, 10), (2, 0, 12, 10)], [0, 0])]
    preds = [one_image([(2, 0, 12, 10), (0, 0, 10, 10)], [0.9, 0.8], [0, 0])]
    _, hits, _ = match_detections(preds, targets, 0)
    assert hits.tolist() == [True, True]  # the first takes its exact twin, so the second still has one


# ---------------------------------------------------------------------------------------------
# The grid


def test_cell_of_rounds_down_and_a_border_centre_goes_below_and_right():
    b = t([(0, 0, 8, 8), (50, 20, 74, 60), (88, 88, 96, 96), (90, 0, 96, 2)])
    assert cell_of(b, grid=12, size=96).tolist() == [[0, 0], [5, 7], [11, 11], [0, 11]]


def test_encode_then_decode_targets_gives_the_boxes_back():
    b = t([(10, 20, 30, 60), (50, 50, 90, 70), (0, 80, 6, 96)])
    lab = torch.tensor([3, 7, 1])
    enc = encode_targets(
        [b, torch.zeros(0, 4)], [lab, torch.zeros(0, dtype=torch.long)], grid=12, size=96, num_classes=10
    )
    assert enc.shape == (2, boxes.TARGET_CHANNELS, 12, 12) and enc.dtype == torch.float32
    assert enc[:, 0].sum() == 3 and enc[1].abs().sum() == 12 * 12  # the empty image: only the -1 classes
    row, col = 5, 2  # the first box's centre (20, 40): col 20 // 8 = 2, row 40 // 8 = 5
    assert enc[0, :, row, col].tolist() == pytest.approx([1, 0.5, 0.0, math.log(20 / 8), math.log(40 / 8), 3])
    (got_boxes, got_labels), (none_boxes, _) = decode_targets(enc, size=96)
    order = torch.argsort(got_labels)
    torch.testing.assert_close(got_boxes[order], b[torch.argsort(lab)], atol=1e-4, rtol=0)
    assert got_labels[order].tolist() == sorted(lab.tolist()) and none_boxes.shape == (0, 4)


def test_two_centres_in_one_cell_keep_the_larger_box():
    b = t([(0, 0, 10, 10), (0, 0, 14, 14)])  # centres (5, 5) and (7, 7): both in cell (0, 0) of stride 8
    enc = encode_targets([b], [torch.tensor([1, 2])], grid=12, size=96, num_classes=3)
    assert enc[0, 0].sum() == 1 and enc[0, 5, 0, 0] == 2
    torch.testing.assert_close(decode_targets(enc, 96)[0][0], b[1:], atol=1e-4, rtol=0)


def perfect_predictions(targets: torch.Tensor, num_classes: int, confidence: float = 12.0) -> torch.Tensor:
    """The raw outputs a perfect GridDetector would give for encoded targets (N, 6, G, G)."""
    n, _, g, _ = targets.shape
    out = torch.zeros(n, 5 + num_classes, g, g)
    out[:, 0] = torch.where(targets[:, 0] > 0.5, confidence, -confidence)
    out[:, 1:3] = torch.logit(targets[:, 1:3].clamp(1e-4, 1 - 1e-4))
    out[:, 3:5] = targets[:, 3:5]
    classes = targets[:, 5].clamp(min=0).long()
    out[:, 5:] = -confidence
    out[:, 5:].scatter_(1, classes[:, None], confidence)
    return out


def test_decode_of_perfect_predictions_finds_every_box_with_full_marks():
    targets = [truth([(10, 20, 30, 60), (50, 50, 90, 70)], [3, 7]), truth([(40, 8, 60, 40)], [0])]
    enc = encode_targets([b for b, _ in targets], [lab for _, lab in targets], 12, 96, 10)
    found = decode(perfect_predictions(enc, 10), size=96)
    assert [len(b) for b, _, _ in found] == [2, 1]
    assert all((s > 0.99).all() for _, s, _ in found)
    assert mean_average_precision(found, targets, 10).mean == pytest.approx(1.0)
    torch.testing.assert_close(found[1][0], targets[1][0], atol=1e-2, rtol=0)  # logit(offset) rounds a little


def test_decode_drops_low_scores_removes_duplicates_and_caps_the_count():
    pred = torch.full((1, 7, 4, 4), -10.0)  # 2 classes, a 4 x 4 grid of 8-pixel cells on 32 x 32 pixels
    pred[0, 1:3] = 0.0  # every centre in the middle of its cell
    pred[0, 3:5] = math.log(3.0)  # 24-pixel boxes
    pred[0, 0, 1, 1] = pred[0, 0, 1, 2] = 10.0  # two confident neighbours 8 pixels apart: IoU 16/32 = 0.5
    pred[0, 5, 1, 1] = pred[0, 5, 1, 2] = pred[0, 5, 3, 3] = 5.0
    pred[0, 0, 3, 3] = -1.0  # a weak one: sigmoid(-1) * softmax = 0.27
    ((b, s, lab),) = decode(pred, size=32, score_threshold=0.5, iou_threshold=0.45)
    assert len(b) == 1 and lab.tolist() == [0]  # the neighbour overlaps too much, the weak one scores too low
    assert len(decode(pred, 32, score_threshold=0.5, iou_threshold=0.55)[0][0]) == 2
    assert len(decode(pred, 32, score_threshold=0.2, iou_threshold=0.55)[0][0]) == 3
    assert len(decode(pred, 32, score_threshold=0.2, iou_threshold=0.55, max_detections=2)[0][0]) == 2


# ---------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: box_iou(t([1, 2, 3, 4]), t([(0, 0, 1, 1)])), ValueError, r"a must have shape \(N, 4\).*box\[None\]"),
        (lambda: box_iou(t([(5, 0, 1, 1)]), t([(0, 0, 1, 1)])), ValueError, r"a\[0\].*x1 >= x0"),
        (lambda: box_iou(t([(0, 0, float("nan"), 1)]), t([(0, 0, 1, 1)])), ValueError, "finite"),
        (lambda: box_iou("boxes", t([(0, 0, 1, 1)])), TypeError, "a must be boxes"),
        (lambda: nms(t([(0, 0, 1, 1)]), torch.tensor([0.5, 0.4]), 0.5), ValueError, r"scores must have shape \(1,\)"),
        (lambda: nms(t([(0, 0, 1, 1)]), torch.tensor([0.5]), 1.5), ValueError, r"iou_threshold must be .*\[0, 1\]"),
        (lambda: nms(t([(0, 0, 1, 1)]), torch.tensor([0.5]), 0.5, labels=torch.tensor([0.5])), TypeError, "integer"),
        (lambda: average_precision([0.9, 0.8], [1, 1], 1), ValueError, "matched once only"),
        (lambda: average_precision([0.9], [1, 0], 1), ValueError, r"is_true_positive must have shape \(1,\)"),
        (lambda: average_precision([0.9], [2], 3), ValueError, "True/False"),
        (lambda: average_precision([0.9], [1], -1), ValueError, "num_targets must be an integer >= 0"),
        (lambda: mean_average_precision([], [truth([], [])], 3), ValueError, "preds has 0 images but targets has 1"),
        (lambda: mean_average_precision([one_image([], [], [])], [truth([], [])], 0), ValueError, "num_classes"),
        (
            lambda: mean_average_precision([one_image([], [], [])], [truth([(0, 0, 1, 1)], [4])], 3),
            ValueError,
            r"targets\[0\] labels must be class indices in 0\.\.2",
        ),
        (lambda: mean_average_precision(torch.zeros(3), [], 3), TypeError, "one tuple of 3 tensors per image"),
        (lambda: mean_average_precision([(1, 2)], [truth([], [])], 3), TypeError, r"preds\[0\] must be a tuple of 3"),
        (lambda: encode_targets([t([(0, 0, 8, 8)])], [torch.tensor([0])], 5, 96, 10), ValueError, "multiple of grid"),
        (lambda: encode_targets(t([(0, 0, 8, 8)]), torch.tensor([0]), 12, 96, 10), TypeError, r"pass \[boxes\]"),
        (
            lambda: encode_targets([t([(0, 0, 8, 8)])], [torch.tensor([10])], 12, 96, 10),
            ValueError,
            r"labels\[0\] must be class indices in 0\.\.9",
        ),
        (
            lambda: encode_targets([t([(90, 0, 100, 8)])], [torch.tensor([1])], 12, 96, 10),
            ValueError,
            "inside the 96x96",
        ),
        (
            lambda: encode_targets([t([(0, 0, 8, 8)])], [], 12, 96, 10),
            ValueError,
            "boxes has 1 images but labels has 0",
        ),
        (lambda: encode_targets([], [], 0, 96, 10), ValueError, "grid must be an integer >= 1"),
        (lambda: decode(torch.zeros(1, 15, 12, 10), 96), ValueError, r"\(N, 5 \+ num_classes, G, G\)"),
        (lambda: decode(torch.zeros(1, 15, 12, 12, dtype=torch.long), 96), TypeError, "floating point"),
        (lambda: decode(torch.zeros(1, 15, 12, 12), 100), ValueError, "multiple of grid=12"),
        (lambda: decode(torch.zeros(1, 15, 12, 12), 96, score_threshold=-0.1), ValueError, "score_threshold"),
        (lambda: decode_targets(torch.zeros(1, 5, 12, 12), 96), ValueError, r"\(N, 6, G, G\)"),
        (lambda: cell_of(t([(0, 0, 8, 8)]), 12.0, 96), TypeError, "grid must be an integer"),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------------------------------
# The exercises of notebook 15, answered the way a student would


def test_exercise_iou_pair_by_the_formula():
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = ex.IOU_A, ex.IOU_B
    inter = max(0, min(ax1, bx1) - max(ax0, bx0)) * max(0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    assert check("detection.iou_pair", inter / union)


def test_exercise_nms_kept_by_hand_loop():
    order = sorted(range(len(ex.NMS_SCORES)), key=lambda i: -ex.NMS_SCORES[i])
    kept = []
    for i in order:
        if all(box_iou(t([ex.NMS_BOXES[i]]), t([ex.NMS_BOXES[k]])).item() <= ex.NMS_THRESHOLD for k in kept):
            kept.append(i)
    assert check("detection.nms_kept", tuple(kept))
    assert not check("detection.nms_kept", tuple(nms(t(ex.NMS_BOXES), torch.tensor(ex.NMS_SCORES), 0.5).tolist()))


def test_exercise_transposed_output_by_the_formula():
    k, s, p, op = (ex.TRANSPOSED[name] for name in ("kernel_size", "stride", "padding", "output_padding"))
    assert check("detection.transposed_output", tuple((n - 1) * s - 2 * p + k + op for n in ex.TRANSPOSED_INPUT))


def test_exercise_ap_ranked_by_hand():
    tp, precisions, recalls = 0, [], []
    for k, hit in enumerate(ex.RANKED_HITS, start=1):
        tp += hit
        precisions.append(tp / k)
        recalls.append(tp / ex.RANKED_TARGETS)
    ap, previous = 0.0, 0.0
    for k, recall in enumerate(recalls):
        if recall > previous:
            ap += (recall - previous) * max(precisions[k:])
            previous = recall
    assert check("detection.ap_ranked", ap)


def test_exercise_responsible_cell_by_hand():
    x0, y0, x1, y1 = ex.CELL_BOX
    stride = ex.CELL_SIZE // ex.CELL_GRID
    assert check("detection.responsible_cell", (int((y0 + y1) / 2 // stride), int((x0 + x1) / 2 // stride)))


def test_exercise_mean_iou_by_counting():
    pairs = zip(sum(ex.MASK_PREDS, ()), sum(ex.MASK_LABELS, ()), strict=True)  # the 16 pixels, row by row
    cells = list(pairs)
    ious = []
    for c in range(ex.MASK_CLASSES):
        both = sum(p == c and q == c for p, q in cells)
        either = sum(p == c or q == c for p, q in cells)
        ious.append(both / either)
    assert check("detection.mean_iou", sum(ious) / len(ious))


# ---------------------------------------------------------------------------------------------
# Drawing


def test_draw_boxes_draws_each_box_on_its_pixels_with_a_caption():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from coursekit.viz import draw_boxes

    image = torch.zeros(1, 32, 32, dtype=torch.uint8)
    fig = draw_boxes(
        image, t([(2, 3, 12, 23), (20, 20, 30, 24)]), [7, 1], scores=[0.9, 0.456], class_names="0123456789"
    )
    ax = fig.axes[0]
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in rects] == [
        (1.5, 2.5, 10, 20),  # pixel column 2 is drawn from 1.5 to 2.5
        (19.5, 19.5, 10, 4),
    ]
    assert [text.get_text() for text in ax.texts] == ["7 0.90", "1 0.46"]
    draw_boxes(None, t([(0, 0, 4, 4)]), ax=ax, color="tab:blue")  # overlay on the same axes
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == 3 and len(ax.images) == 1
    with pytest.raises(ValueError, match="labels has 1 entries for 2 boxes"):
        draw_boxes(image, t([(0, 0, 1, 1), (1, 1, 2, 2)]), [1])
    with pytest.raises(ValueError, match="label 12 has no entry in class_names"):
        draw_boxes(image, t([(0, 0, 1, 1)]), [12], class_names="0123456789")
    with pytest.raises(ValueError, match="needs an image, or an ax"):
        draw_boxes(None, t([(0, 0, 1, 1)]))
    plt.close("all")
