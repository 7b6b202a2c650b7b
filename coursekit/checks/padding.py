"""Exercises of notebook 04 (padding and stride): output sizes, the padding of a strided layer,
strided outputs."""

from . import exercise


@exercise(
    "padding.stem_padding_224",
    hint="Set the output-size formula equal to 112 and solve it for p; then put your p back into "
    "the formula, floor included, and confirm it gives exactly 112.",
)
def _stem_padding_224():
    from ..ops import output_size

    n, f, s, wanted = 224, 7, 2, 112
    # the paddings that turn 224x224 into 112x112 with a 7x7 kernel at stride 2 (there is one)
    (p,) = [p for p in range(f) if output_size(n, f, p, s) == wanted]
    return p


@exercise(
    "padding.output_size_32",
    hint="The output-size formula of this notebook applies directly; here the division does not "
    "come out even, so decide what the floor does with the remainder.",
)
def _output_size_32():
    import torch
    import torch.nn.functional as F

    out = F.conv2d(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 5, 5), padding=2, stride=2)
    return out.shape[-1]


@exercise(
    "padding.torch_shape",
    hint="NCHW: the batch size is kept, the channels become the number of kernels, "
    "and each spatial side follows the output-size formula.",
)
def _torch_shape():
    import torch
    import torch.nn.functional as F

    x = torch.zeros(16, 1, 28, 28)
    w = torch.zeros(4, 1, 3, 3)
    return tuple(F.conv2d(x, w, padding=1, stride=2).shape)


@exercise(
    "padding.seed003_stride3",
    hint="Work out the output size first. Each output value is the sum over one 3x3 window of "
    "the padded image times the kernel, and at stride 3 the windows start three pixels apart.",
)
def _seed003_stride3():
    from ..examples import BINARY_DEMO_IMAGE, SHARPEN_DEMO_KERNEL
    from ..ops import corr2d

    return corr2d(BINARY_DEMO_IMAGE, SHARPEN_DEMO_KERNEL, padding=1, stride=3)


@exercise(
    "padding.largest_stride_keeping_3",
    hint="Compute the output size for several strides in a row and watch the floor: "
    "neighbouring strides can give the same size.",
)
def _largest_stride_keeping_3():
    from ..ops import output_size

    return max(s for s in range(1, 13) if output_size(12, 3, 1, s) == 3)
