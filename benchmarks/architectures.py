"""How fast do the six racers of notebook 12 train on this CPU, and how close to its peak?

The models are the race's (`coursekit.race.race_models` with the cpu-profile widths of
``settings("architectures")``): a plain VGG-style CNN, NiN, an Inception net, a MobileNetV2, a
ResNet and an SE-ResNet, at roughly matched parameter counts but very different arithmetic.
For each one this script measures

* **images/s** of training (forward + backward + SGD step) on real Fashion-MNIST batches, in both
  memory layouts: NCHW (PyTorch's default) and channels-last (NHWC, what the race trains in);
* **achieved GFLOP/s**: 3 x the forward FLOPs per image (`coursekit.models.count_flops`: Conv2d and
  Linear, 2 per multiply-add; a training step costs about three forward passes) x images/s;
* the same as a **fraction of the machine's float32 matrix-multiply peak** (the faster of a large
  ``torch.matmul`` and a large 1x1 channels-last convolution; see ``common.matmul_peak_gflops``).

Few FLOPs are not the same as little time: a depthwise convolution does k^2 multiply-adds per
value it reads, a 1x1 convolution C_in, so the depthwise part is limited by memory traffic, not
by arithmetic. This table shows by how much on this CPU.

    python benchmarks/architectures.py [--steps 10] [--batch-size 128] [--json out.json]
    python benchmarks/architectures.py --quick     # a few-second smoke run; writes nothing unless --json

Prints a table and writes ``benchmarks/results/architectures.json``; notebook 12 quotes that file.
The full run takes a minute or two on two cores; run it under the shared lock on a shared machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py, however this file is run
from common import (  # noqa: E402
    RESULTS,
    argument_parser,
    format_table,
    machine_record,
    matmul_peak_gflops,
    training_images_per_second,
    write_report,
)

from coursekit.data import tensor_loaders  # noqa: E402
from coursekit.models import count_flops, count_parameters  # noqa: E402
from coursekit.profile import settings  # noqa: E402
from coursekit.race import race_models  # noqa: E402

LAYOUTS = {"nchw": False, "channels_last": True}  # name in the report: model.to(channels_last)?
QUICK_WIDTHS = {"plain CNN": 4}  # --quick: one tiny model


def measure(name: str, build, loader, steps: int, warmup: int, peak: float) -> dict:
    """One model's row: parameters, forward MFLOPs, and per layout images/s, GFLOP/s, fraction of `peak`."""
    torch.manual_seed(0)
    model = build()
    flops = count_flops(model, (1, 28, 28))
    row = dict(
        model=name,
        parameters=count_parameters(model),
        forward_mflops=round(flops / 1e6, 2),
        images_per_s={},
        achieved_gflops={},
        fraction_of_peak={},
    )
    for layout, channels_last in LAYOUTS.items():
        torch.manual_seed(0)
        model = build()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        rate = training_images_per_second(model, loader, steps, warmup)
        achieved = 3 * flops * rate / 1e9
        row["images_per_s"][layout] = round(rate, 1)
        row["achieved_gflops"][layout] = round(achieved, 2)
        row["fraction_of_peak"][layout] = round(achieved / peak, 4)
    return row


def table(rows: list[dict]) -> str:
    columns = [
        ("model", "<13", "s"),
        ("params", ">9", ","),
        ("fwd MFLOP", ">10", ".1f"),
        ("NCHW img/s", ">11", ".0f"),
        ("NHWC img/s", ">11", ".0f"),
        ("NHWC GFLOP/s", ">13", ".1f"),
        ("% peak", ">8", ".1%"),
    ]
    return format_table(
        columns,
        [
            (
                r["model"],
                r["parameters"],
                r["forward_mflops"],
                r["images_per_s"]["nchw"],
                r["images_per_s"]["channels_last"],
                r["achieved_gflops"]["channels_last"],
                r["fraction_of_peak"]["channels_last"],
            )
            for r in rows
        ],
        rule=True,
    )


def main(argv=None) -> dict:
    parser = argument_parser(__file__, __doc__)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per round (two rounds)")
    parser.add_argument("--quick", action="store_true", help="smoke run: one tiny model, 2 steps; writes no JSON")
    args = parser.parse_args(argv)
    default_json = RESULTS / "architectures.json"

    torch.manual_seed(0)
    if args.quick:
        widths, steps, warmup = QUICK_WIDTHS, 2, 1
        rates = matmul_peak_gflops(n=256, repeat=1)
    else:
        widths, steps, warmup = dict(settings("architectures", "cpu").widths), args.steps, 2
        rates = matmul_peak_gflops()
    peak = rates["peak"]
    print(
        f"float32 matrix-multiply peak, {torch.get_num_threads()} threads: {peak:.1f} GFLOP/s "
        f"(torch.matmul: {rates['matmul']:.1f}; 1x1 convolution, oneDNN: {rates['conv1x1']:.1f})"
    )
    train, _ = tensor_loaders("fashion_mnist", batch_size=args.batch_size, train_subset=args.batch_size * 8, seed=0)
    rows = [measure(name, build, train, steps, warmup, peak) for name, build in race_models(widths).items()]

    report = dict(
        machine=machine_record(),
        peak_gflops={k: round(v, 1) for k, v in rates.items()},
        batch_size=args.batch_size,
        steps=steps,
        quick=args.quick,
        widths=widths,
        note=(
            "training step = forward + backward + SGD (momentum) step on Fashion-MNIST batches; achieved GFLOP/s "
            "= 3 x forward FLOPs (Conv2d + Linear, 2 per multiply-add, direct convolution) x images/s; "
            "fraction_of_peak is relative to peak_gflops['peak']"
        ),
        models=rows,
    )
    if args.quick and args.json == default_json:
        print(table(rows))
        print("quick run: nothing written (pass --json PATH to keep it)")
    else:
        write_report(args.json, report, table(rows))
    return report


if __name__ == "__main__":
    main()
