"""Exercises of notebook 14 (what a CNN has learned): receptive fields, the cost of occlusion, Grad-CAM by hand."""

from . import exercise


@exercise(
    "explain.field_after_layers",
    hint="Walk the layers in order with two numbers, the field r and the jump j, starting at r = j = 1: "
    "each layer adds (k - 1) * j to r, then multiplies j by its stride. Padding does not change r.",
)
def _field_after_layers():
    from torch import nn

    from ..explain import receptive_field

    stack = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3)
    )
    return receptive_field(stack, "3", (1, 32, 32)).size


@exercise(
    "explain.resnet18_field",
    hint="Build the network with ResNet.resnet18() (inside `with torch.device('meta'):` it takes no memory) "
    "and ask receptive_field for its last stage at 3 x 224 x 224; compare the size with the image.",
)
def _resnet18_field():
    import torch

    from ..explain import receptive_field
    from ..models import ResNet

    with torch.device("meta"):
        model = ResNet.resnet18()
    return receptive_field(model, "stages.3", (3, 224, 224)).size


@exercise(
    "explain.c3_unit_centre",
    hint="Unit (row, col) starts at start + row * jump (and start + col * jump); its centre lies (size - 1) / 2 "
    "further. Take size, jump and start of LeNet-5's C3 from receptive_field. Answer (y, x).",
    tol=1e-9,
)
def _c3_unit_centre():
    from ..explain import receptive_field
    from ..models import LeNet5

    field = receptive_field(LeNet5(), "features.3", (1, 28, 28))
    return field.centre(2, 3)


@exercise(
    "explain.occlusion_passes",
    hint="The patch positions follow the output-size formula of notebook 04 with no padding, in each direction; "
    "count the positions, then remember the score of the intact image is needed too.",
)
def _occlusion_passes():
    import torch
    from torch import nn

    from ..explain import occlusion

    model = nn.Sequential(nn.Flatten(), nn.Linear(56 * 56, 10))
    counted = []
    handle = model.register_forward_pre_hook(lambda module, inputs: counted.append(len(inputs[0])))
    try:
        occlusion(model, torch.zeros(1, 1, 56, 56), patch=8, stride=4)
    finally:
        handle.remove()
    return sum(counted)


@exercise(
    "explain.gradcam_map",
    hint="After global average pooling, d score / d A_k[i, j] is the class's weight for channel k divided by "
    "the number of positions, the same everywhere; that is alpha_k. Then weight, add and apply the ReLU.",
)
def _gradcam_map():
    import torch
    from torch import nn

    from ..explain import grad_cam

    head = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.0, 1.0]]))
    model = nn.Sequential(nn.Identity(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
    a = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, -2.0]]]])  # (1, 2, 2, 2): A_0 and A_1
    return grad_cam(model, a, "0", target=1, upsample=False)[0]
