"""Why libraries unroll windows: a convolutional layer computed by loops, by im2col and by PyTorch.

The layer is LeNet's C3 size: a batch of 64 images with 6 channels of 28x28, 16 filters of 5x5,
float64 (the precision of the course's NumPy layers). Three ways to compute the same forward pass:

* **loops** -- `coursekit.ops.corr2d_loops` for every (image, filter) pair: one Python step per
  output value, each a small sum over a (6, 5, 5) window;
* **im2col** -- `coursekit.layers.Conv2d.forward`: every window unrolled into a column
  (`coursekit.layers.im2col`), then one matrix product;
* **torch** -- ``torch.nn.functional.conv2d`` (oneDNN), float64 like the others;

and, since libraries are tuned for float32 (and oneDNN's float64 path is not its fast one), the
same layer in float32: `coursekit.ops.corr2d_multi` (im2col in float32) against ``F.conv2d``;

and the backward pass (gradients of the input, the weights and the bias) two ways: `Conv2d.backward`
(two matrix products and a `col2im`) and PyTorch's autograd. Outputs and gradients are compared
first; the timings alternate between implementations (`common.best_ms`). The loop version is slow,
so it is timed on the first `--loop-images` images and scaled to the batch (it is linear in N).

    python benchmarks/im2col.py [--json out.json] [--repeat 5] [--number 3] [--loop-images 4]

Writes ``benchmarks/results/im2col.json`` unless told otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py, however this file is run
from common import argument_parser, best_ms, format_table, machine_record, write_report  # noqa: E402

from coursekit import layers, ops  # noqa: E402

SHAPE_X, SHAPE_W = (64, 6, 28, 28), (16, 6, 5, 5)


def loop_layer(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The layer by definition: `ops.corr2d_loops` for every image and filter. x (N, C, H, W) -> (N, O, H', W')."""
    pairs = list(zip(w, b, strict=True))
    return np.stack([np.stack([ops.corr2d_loops(image, kernel) + bias for kernel, bias in pairs]) for image in x])


def main(argv=None) -> dict:
    parser = argument_parser(__file__, __doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--number", type=int, default=3)
    parser.add_argument("--loop-images", type=int, default=4, help="images the loop version is timed on")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE_X)
    conv = layers.Conv2d(6, 16, 5, rng=1)
    conv.params["bias"][:] = rng.standard_normal(16)
    w, b = conv.params["weight"], conv.params["bias"]
    dy = rng.standard_normal((64, 16, 24, 24))
    xt = torch.from_numpy(x).requires_grad_()
    wt, bt = torch.from_numpy(w.copy()).requires_grad_(), torch.from_numpy(b.copy()).requires_grad_()
    dyt = torch.from_numpy(dy)

    # the same numbers first
    ours = conv.forward(x)
    theirs = F.conv2d(xt, wt, bt)
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-10)
    few = args.loop_images
    np.testing.assert_allclose(loop_layer(x[:few], w, b), ours[:few], rtol=1e-10, atol=1e-10)
    dx = conv.backward(dy)
    theirs.backward(dyt)
    for name, a, t in [("dx", dx, xt.grad), ("dw", conv.grads["weight"], wt.grad), ("db", conv.grads["bias"], bt.grad)]:
        np.testing.assert_allclose(a, t.numpy(), rtol=1e-9, atol=1e-9, err_msg=name)

    def torch_forward():
        with torch.no_grad():
            F.conv2d(xt, wt, bt)

    def torch_backward():
        out = F.conv2d(xt, wt, bt)
        xt.grad = wt.grad = bt.grad = None
        out.backward(dyt)

    forward = best_ms(
        {"im2col": lambda: conv.forward(x), "torch": torch_forward},
        args.repeat,
        args.number,
    )
    loops_ms = best_ms({"loops": lambda: loop_layer(x[:few], w, b)}, max(1, args.repeat // 2), 1)["loops"]
    forward["loops"] = loops_ms * len(x) / few  # linear in the number of images

    def our_backward():
        conv.forward(x)
        conv.backward(dy)

    backward = best_ms({"im2col": our_backward, "torch": torch_backward}, args.repeat, args.number)

    x32, w32, b32 = x.astype(np.float32), w.astype(np.float32), b.astype(np.float32)
    x32t, w32t, b32t = torch.from_numpy(x32), torch.from_numpy(w32), torch.from_numpy(b32)
    single_ours, single_theirs = ops.corr2d_multi(x32, w32, b32), F.conv2d(x32t, w32t, b32t).numpy()
    np.testing.assert_allclose(single_ours, single_theirs, rtol=1e-4, atol=1e-4)

    def torch_forward32():
        with torch.no_grad():
            F.conv2d(x32t, w32t, b32t)

    single = best_ms(
        {"im2col": lambda: ops.corr2d_multi(x32, w32, b32), "torch": torch_forward32}, args.repeat, args.number
    )

    torch_ms = forward["torch"]
    rows = [
        ("forward: loops (corr2d_loops)", forward["loops"], forward["loops"] / torch_ms),
        ("forward: im2col + matmul", forward["im2col"], forward["im2col"] / torch_ms),
        ("forward: torch F.conv2d", torch_ms, 1.0),
        ("forward+backward: im2col", backward["im2col"], backward["im2col"] / backward["torch"]),
        ("forward+backward: torch", backward["torch"], 1.0),
        ("float32 forward: im2col", single["im2col"], single["im2col"] / single["torch"]),
        ("float32 forward: torch", single["torch"], 1.0),
    ]
    print(
        f"x {SHAPE_X}, w {SHAPE_W}, float64; best of {args.repeat} x {args.number} calls "
        f"(loops: {few} images, scaled to {len(x)}); {torch.get_num_threads()} torch threads"
    )
    table = format_table([("impl", "<32", "s"), ("ms/batch", ">12", ",.2f"), ("x torch", ">10", ".1f")], rows)
    results = {
        "forward_ms": {name: round(value, 3) for name, value in forward.items()},
        "forward_backward_ms": {name: round(value, 3) for name, value in backward.items()},
        "float32_forward_ms": {name: round(value, 3) for name, value in single.items()},
        "loops_over_im2col": round(forward["loops"] / forward["im2col"], 1),
        "im2col_over_torch": round(forward["im2col"] / torch_ms, 2),
        "float32_im2col_over_torch": round(single["im2col"] / single["torch"], 2),
        "shapes": {"x": list(SHAPE_X), "w": list(SHAPE_W), "dtype": "float64", "loop_images": few},
        "machine": machine_record(),
    }
    write_report(args.json, results, table)
    return results


if __name__ == "__main__":
    main()
