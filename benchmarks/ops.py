"""How far is the NumPy convolution layer from PyTorch's?

Times ``coursekit.ops.corr2d_multi`` against ``torch.nn.functional.conv2d`` on a LeNet-sized layer:
a batch of 64 images with 6 channels of 28x28, 16 filters of 5x5, float32. The outputs are compared
first; then both are timed with ``timeit`` in alternating rounds, keeping each one's best round
(to discount interruptions from other processes). The goal is a ratio of at most 10.

On a busy machine the numbers swing widely: NumPy's multi-threaded BLAS slows down badly when
other processes hold the cores. The JSON records the load average next to the timings.

    python benchmarks/ops.py [--json out.json] [--repeat 7] [--number 5]

Writes ``benchmarks/results/ops.json`` unless told otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py, however this file is run
from common import argument_parser, best_ms, format_table, machine_record, write_report  # noqa: E402

from coursekit.ops import corr2d_multi  # noqa: E402

TARGET_RATIO = 10.0


def main(argv=None) -> dict:
    parser = argument_parser(__file__, __doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=5)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 28, 28), dtype=np.float32)
    w = rng.standard_normal((16, 6, 5, 5), dtype=np.float32)
    b = rng.standard_normal(16, dtype=np.float32)
    xt, wt, bt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)

    with torch.no_grad():
        ours, theirs = corr2d_multi(x, w, b), F.conv2d(xt, wt, bt).numpy()
    assert ours.dtype == np.float32 and ours.shape == theirs.shape == (64, 16, 24, 24)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)

    with torch.no_grad():
        times = best_ms(
            {"torch": lambda: F.conv2d(xt, wt, bt), "ours": lambda: corr2d_multi(x, w, b)}, args.repeat, args.number
        )
    torch_ms, ours_ms = times["torch"], times["ours"]
    ratio = ours_ms / torch_ms

    print(
        f"x {x.shape} float32, w {w.shape}; best of {args.repeat} x {args.number} calls, "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    table = format_table(
        [("impl", "<26", "s"), ("ms/call", ">10", ".3f"), ("ratio", ">8", ".2f")],
        [("torch F.conv2d", torch_ms, 1.0), ("coursekit corr2d_multi", ours_ms, ratio)],
    )
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    table += f"\ntarget ratio <= {TARGET_RATIO:g}: {verdict}"

    results = {
        "corr2d_multi_ms": round(ours_ms, 4),
        "torch_conv2d_ms": round(torch_ms, 4),
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
        "shapes": {"x": list(x.shape), "w": list(w.shape), "dtype": "float32"},
        "machine": machine_record(OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS")),
    }
    write_report(args.json, results, table)
    return results


if __name__ == "__main__":
    main()
