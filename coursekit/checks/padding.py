"""Exercises of notebook 04 (padding and stride): output sizes, 'same' padding, strided outputs."""
from . import exercise


@exercise("padding.same_padding_f5",
          hint="'Same' means n + 2p - f + 1 = n at stride 1; solve that for p with f = 5.")
def _same_padding_f5():
    from ..ops import output_size

    n, f = 28, 5
    # the one padding that keeps the size at stride 1
    (p,) = [p for p in range(f) if output_size(n, f, p, 1) == n]
    return p


@exercise("padding.output_size_32",
          hint="Use floor((n + 2p - f) / s) + 1 with n = 32, f = 5, p = 2, s = 2 -- the floor matters.")
def _output_size_32():
    import torch
    import torch.nn.functional as F

    out = F.conv2d(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 5, 5), padding=2, stride=2)
    return out.shape[-1]


@exercise("padding.torch_shape",
          hint="NCHW: the batch size is kept, the channels become the number of kernels, "
               "and each spatial side follows the output-size formula.")
def _torch_shape():
    import torch
    import torch.nn.functional as F

    x = torch.zeros(16, 1, 28, 28)
    w = torch.zeros(4, 1, 3, 3)
    return tuple(F.conv2d(x, w, padding=1, stride=2).shape)


@exercise("padding.seed003_stride3",
          hint="Pad the 5x5 binary image with one ring of zeros, then call coursekit.ops.corr2d "
               "with the sharpen kernel and stride=3; the result is a small 2-D array.")
def _seed003_stride3():
    from ..examples import BINARY_DEMO_IMAGE, SHARPEN_DEMO_KERNEL
    from ..ops import corr2d

    return corr2d(BINARY_DEMO_IMAGE, SHARPEN_DEMO_KERNEL, padding=1, stride=3)


@exercise("padding.largest_stride_keeping_3",
          hint="Try s = 1, 2, 3, ... in floor((12 + 2*1 - 3) / s) + 1 and keep the largest s "
               "for which the output is still 3 wide.")
def _largest_stride_keeping_3():
    from ..ops import output_size

    return max(s for s in range(1, 13) if output_size(12, 3, 1, s) == 3)
