"""What channels-last weights and fused AdamW buy LeNet-5 on a CPU: time per training step.

Notebook 09 and ``benchmarks/lenet_mnist.py`` train LeNet-5 with two settings that change how the
work is done but not what is computed: the model stored channels-last (NHWC) and AdamW with
``fused=True``. This script measures each setting on its own and both together, on the same real
MNIST batches (shifted by up to 1 pixel, as in training). The four configurations take turns, one
round of `--steps` steps each, for `--rounds` rounds, so a slow moment of a shared machine hits all
of them alike; the table reports the median and minimum milliseconds per step.

    python benchmarks/lenet_step.py [--steps 100] [--rounds 15] [--json out.json]

Writes ``benchmarks/results/lenet_step.json`` unless told otherwise.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py, however this file is run
from common import argument_parser, format_table, machine_record, write_report  # noqa: E402

from coursekit.augment import FlipCrop  # noqa: E402
from coursekit.data import normalization, tensor_loaders  # noqa: E402
from coursekit.models import LeNet5  # noqa: E402

CONFIGS = {  # name: (channels_last, fused AdamW)
    "NCHW, AdamW": (False, False),
    "NCHW, fused AdamW": (False, True),
    "NHWC, AdamW": (True, False),
    "NHWC, fused AdamW": (True, True),
}


def make_step(channels_last: bool, fused: bool):
    """One training step of a fresh LeNet-5: (x (B, 1, 28, 28), y (B,)) -> None."""
    torch.manual_seed(0)
    model = LeNet5()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4, fused=fused)

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main(argv=None) -> dict:
    parser = argument_parser(__file__, __doc__)
    parser.add_argument("--steps", type=int, default=100, help="training steps per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)

    train, _ = tensor_loaders("mnist", batch_size=args.batch_size, seed=0)
    mean, std = normalization("mnist")
    shift = FlipCrop(padding=1, flip_p=0.0, seed=0, fill=-mean / std)
    batches = [(shift(x), y) for _, (x, y) in zip(range(args.steps), train, strict=False)]  # the first `steps` batches
    steps = {name: make_step(*flags) for name, flags in CONFIGS.items()}
    for step in steps.values():  # warm-up: first calls pick kernels and allocate
        for x, y in batches[:10]:
            step(x, y)

    ms = {name: [] for name in CONFIGS}
    for _ in range(args.rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for x, y in batches:
                step(x, y)
            ms[name].append(1000 * (time.perf_counter() - start) / len(batches))

    base = statistics.median(ms["NCHW, AdamW"])
    rows = [
        dict(
            config=name,
            channels_last=CONFIGS[name][0],
            fused_adamw=CONFIGS[name][1],
            median_ms_per_step=statistics.median(v),
            min_ms_per_step=min(v),
            rounds_ms=v,
            time_saved_vs_plain=1 - statistics.median(v) / base,
        )
        for name, v in ms.items()
    ]
    table = format_table(
        [
            ("configuration", "<22", "s"),
            ("median ms/step", ">15", ".2f"),
            ("min ms/step", ">13", ".2f"),
            ("saved", ">8", "s"),
        ],
        [
            (r["config"], r["median_ms_per_step"], r["min_ms_per_step"], f"{100 * r['time_saved_vs_plain']:.0f}%")
            for r in rows
        ],
    )
    report = dict(
        what="LeNet-5 training step (forward, loss, backward, AdamW) on MNIST batches, ms per step",
        batch_size=args.batch_size,
        steps_per_round=args.steps,
        rounds=args.rounds,
        results=rows,
        machine=machine_record(),
    )
    write_report(args.json, report, table)
    return report


if __name__ == "__main__":
    main()
