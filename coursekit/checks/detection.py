"""Exercises of notebook 15 (detection and segmentation): IoU, NMS, AP, the grid, transposed convolutions.

The numbers each exercise is about are constants here, so that the notebook's question, the
expected answer and the instructor's solution all read the same ones. Every answer is computed
with the package's own functions (`coursekit.boxes`, `coursekit.metrics`, ``nn.ConvTranspose2d``).
"""

from . import exercise

# detection.iou_pair: two boxes (x0, y0, x1, y1)
IOU_A = (8, 16, 40, 56)
IOU_B = (24, 30, 64, 70)

# detection.nms_kept: five boxes, their scores, and the threshold
NMS_BOXES = ((10, 10, 50, 50), (12, 12, 52, 52), (40, 40, 80, 80), (42, 38, 82, 78), (11, 30, 51, 70))
NMS_SCORES = (0.9, 0.8, 0.75, 0.7, 0.6)
NMS_THRESHOLD = 0.3

# detection.transposed_output: ConvTranspose2d(kernel_size, stride, padding, output_padding) on a map (H, W)
TRANSPOSED = dict(kernel_size=5, stride=3, padding=1, output_padding=2)
TRANSPOSED_INPUT = (7, 10)

# detection.ap_ranked: one class's detections in decreasing score, true (1) or false (0) positive
RANKED_HITS = (1, 1, 0, 1, 0, 0, 1)
RANKED_TARGETS = 5

# detection.responsible_cell: a box on a SIZE x SIZE image cut into GRID x GRID cells
CELL_BOX = (50, 20, 74, 60)
CELL_SIZE, CELL_GRID = 96, 12

# detection.mean_iou: a 4 x 4 segmentation with three classes (0 background)
MASK_LABELS = ((0, 0, 1, 1), (0, 0, 1, 1), (0, 2, 2, 1), (0, 2, 2, 0))
MASK_PREDS = ((0, 0, 1, 1), (0, 1, 1, 1), (0, 2, 2, 2), (0, 0, 2, 0))
MASK_CLASSES = 3


@exercise(
    "detection.iou_pair",
    hint="The intersection is the box between the larger of the two left edges and the smaller of the "
    "two right edges (the same for top and bottom); the union is the sum of the two areas minus it.",
    tol=1e-3,
)
def _iou_pair():
    import torch

    from ..boxes import box_iou

    return float(box_iou(torch.tensor([IOU_A]), torch.tensor([IOU_B]))[0, 0])


@exercise(
    "detection.nms_kept",
    hint="Go down the scores: keep a box, then strike out every remaining box whose IoU with it is above "
    "the threshold -- here lower than the usual one, so compute each overlap. Answer the kept "
    "indices in the order NMS keeps them.",
)
def _nms_kept():
    import torch

    from ..boxes import nms

    return tuple(nms(torch.tensor(NMS_BOXES, dtype=torch.float32), torch.tensor(NMS_SCORES), NMS_THRESHOLD).tolist())


@exercise(
    "detection.transposed_output",
    hint="A transposed convolution maps n to (n - 1) * stride - 2 * padding + kernel_size + output_padding: "
    "the size of the input of the convolution it is the backward pass of. Apply it to each side.",
)
def _transposed_output():
    import torch
    from torch import nn

    layer = nn.ConvTranspose2d(1, 1, **TRANSPOSED)
    with torch.no_grad():
        return tuple(layer(torch.zeros(1, 1, *TRANSPOSED_INPUT)).shape[-2:])


@exercise(
    "detection.ap_ranked",
    hint="Write precision and recall after each detection; replace each precision by the best one at any "
    "later rank; then add up, over the ranks where recall grows, the growth times that precision.",
    tol=1e-3,
)
def _ap_ranked():
    import torch

    from ..boxes import average_precision

    scores = torch.linspace(1.0, 0.1, len(RANKED_HITS))  # decreasing: the given order is the ranking
    return average_precision(scores, torch.tensor(RANKED_HITS, dtype=torch.bool), RANKED_TARGETS)


@exercise(
    "detection.responsible_cell",
    hint="Find the box's centre, divide by the cell size (image size / grid) and round down; a centre "
    "exactly on a border belongs to the cell below or to the right of it. Answer (row, column).",
)
def _responsible_cell():
    import torch

    from ..boxes import cell_of

    return tuple(cell_of(torch.tensor([CELL_BOX], dtype=torch.float32), CELL_GRID, CELL_SIZE)[0].tolist())


@exercise(
    "detection.mean_iou",
    hint="For each class count the pixels both maps give it, and the pixels either map gives it; their "
    "ratio is the class's IoU. Average over the classes, background included.",
    tol=1e-3,
)
def _mean_iou():
    import torch

    from ..metrics import segmentation_iou

    return segmentation_iou(torch.tensor(MASK_PREDS), torch.tensor(MASK_LABELS), MASK_CLASSES)[1]
