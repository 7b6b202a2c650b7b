"""How much arithmetic a forward pass costs, counted from the layer shapes.

`count_flops(model, input_size)` runs one image through the model with forward hooks on every
`Conv2d`, `ConvTranspose2d` and `Linear` and adds up their floating-point operations. One
multiply-accumulate is counted as 2 FLOPs (the convention of hardware peak numbers), so::

    Conv2d:           2 * (C_in / groups) * k_h * k_w * C_out * H_out * W_out  (+ C_out*H_out*W_out with a bias)
    ConvTranspose2d:  2 * C_in * k_h * k_w * (C_out / groups) * H_in * W_in    (+ C_out*H_out*W_out with a bias)
    Linear:           2 * in_features * out_features                             (+ out_features with a bias)

(A transposed convolution spreads every input value over a k_h x k_w patch of each output channel
-- the same products as the convolution whose backward pass it is, counted from the input side.)

BatchNorm, ReLU, pooling and additions are left out: they are a few percent of a CNN's
arithmetic (though not of its memory traffic). A training step costs about 3x the forward pass
(the backward pass computes gradients for both the inputs and the weights).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ._args import check_module
from .table import probe


def _conv_flops(module: nn.Conv2d, output: torch.Tensor) -> int:
    c_in = module.in_channels // module.groups
    k_h, k_w = module.kernel_size
    out_elements = output[0].numel()  # C_out * H_out * W_out for one image
    flops = 2 * c_in * k_h * k_w * out_elements
    if module.bias is not None:
        flops += out_elements
    return flops


def _conv_transpose_flops(module: nn.ConvTranspose2d, output: torch.Tensor) -> int:
    # the input's size, from the output's: H_out = (H_in - 1) s - 2p + d (k - 1) + output_padding + 1
    h_in, w_in = (
        (size - 1 - extra + 2 * pad - dil * (k - 1)) // stride + 1
        for size, extra, pad, dil, k, stride in zip(
            output.shape[-2:],
            module.output_padding,
            module.padding,
            module.dilation,
            module.kernel_size,
            module.stride,
            strict=True,
        )
    )
    k_h, k_w = module.kernel_size
    flops = 2 * module.in_channels * k_h * k_w * (module.out_channels // module.groups) * h_in * w_in
    if module.bias is not None:
        flops += output[0].numel()
    return flops


def _linear_flops(module: nn.Linear, output: torch.Tensor) -> int:
    rows = output[0].numel() // module.out_features  # 1 for (N, out); more for (N, T, out)
    flops = 2 * module.in_features * module.out_features * rows
    if module.bias is not None:
        flops += module.out_features * rows
    return flops


@torch.no_grad()
def flops_by_layer(model: nn.Module, input_size: tuple) -> OrderedDict[str, int]:
    """Forward FLOPs of each Conv2d/ConvTranspose2d/Linear for ONE input of `input_size` = (C, H, W), in call order.

    A layer called several times accumulates its calls. The model runs once in eval mode. A bad
    `input_size` or a model that cannot run on it raises ValueError saying so (see `table.probe`).
    """
    check_module(model, "count_flops")
    counts: OrderedDict[str, int] = OrderedDict()

    def hook_for(name, fn):
        def hook(module, inputs, output):
            counts[name] = counts.get(name, 0) + fn(module, output)

        return hook

    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            hooks.append((module, hook_for(name, _conv_flops)))
        elif isinstance(module, nn.ConvTranspose2d):
            hooks.append((module, hook_for(name, _conv_transpose_flops)))
        elif isinstance(module, nn.Linear):
            hooks.append((module, hook_for(name, _linear_flops)))
    probe(model, input_size, hooks)
    return counts


def count_flops(model: nn.Module, input_size: tuple) -> int:
    """Total forward FLOPs (2 per multiply-accumulate) of Conv2d, ConvTranspose2d and Linear layers for one input."""
    return sum(flops_by_layer(model, input_size).values())
