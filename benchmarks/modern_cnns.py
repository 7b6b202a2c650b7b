"""How fast do the course's Fashion-MNIST networks train on this CPU, and how close to its peak?

For each model -- the AlexNet-style and VGG-style networks of notebook 10 and the ResNet of
notebook 11 -- this script measures

* **images/s** of training (forward + backward + SGD step) on real Fashion-MNIST batches;
* **achieved GFLOP/s**: 3 x the forward FLOPs per image (counted from the layer shapes by
  `coursekit.models.count_flops`; a training step costs about three forward passes) x images/s;
* the same as a **fraction of the machine's matrix-multiply peak**: the faster of a large float32
  ``torch.matmul`` (BLAS) and a large 1x1 channels-last convolution (oneDNN's GEMM), 2 FLOPs per
  multiply-add. Both are measured because they differ: on an AMD CPU, MKL's matmul takes a slower
  code path than oneDNN. The model FLOPs are those of a *direct* convolution; oneDNN may compute a 3x3
  convolution with fewer multiplications (e.g. Winograd), so a model can exceed 100 % of this peak;
* **time to the accuracy targets**: by default read from the committed notebooks' cpu-profile
  outputs (lines such as ``time to 93%: 412 s (epoch 5)``); with ``--full`` each model is trained
  here instead with the ResNet notebook's recipe (its cpu-profile settings) and timed per epoch.

    python benchmarks/modern_cnns.py [--full] [--epochs N] [--json out.json]

Prints a table and writes ``benchmarks/results/modern_cnns.json``. The default mode takes a few
minutes on two cores; run it under the shared lock on a shared machine.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py, however this file is run
from common import (  # noqa: E402
    ROOT,
    argument_parser,
    format_table,
    machine_record,
    matmul_peak_gflops,
    training_images_per_second,
    write_report,
)

from coursekit.data import tensor_loaders, tensor_splits  # noqa: E402
from coursekit.models import count_flops, count_parameters  # noqa: E402
from coursekit.profile import SECTIONS, settings  # noqa: E402

TARGETS = (0.90, 0.92, 0.93)


# ---------------------------------------------------------------------------------------------
# The models, as the notebooks build them.
# ---------------------------------------------------------------------------------------------


def _section(name: str) -> dict:
    """The cpu-profile settings of a lesson section, or {} when that section does not exist (yet)."""
    return dict(settings(name, "cpu")) if name in SECTIONS else {}


def build_alexnet():
    from coursekit.models import AlexNet

    s = _section("alexnet")
    kwargs = {k: s[k] for k in ("width", "hidden", "dropout", "batch_norm") if k in s}
    return AlexNet.small(**kwargs)


def build_vgg():
    from coursekit.models import VGG

    s = _section("vgg")
    config = s.get("config", [(2, 32), (2, 64), (2, 128)])  # the vgg module's 28x28 example
    return VGG(
        config,
        num_classes=10,
        in_channels=1,
        hidden=s.get("hidden", 256),
        pooled=s.get("pooled", 3),
        dropout=s.get("dropout", 0.5),
        batch_norm=s.get("batch_norm", True),
    )


def build_resnet():
    from coursekit.models import ResNet

    return ResNet.fashion()


MODELS = {
    # name: (builder, channels_last as its notebook trains it, notebook with the committed run,
    #        the label that starts that model's result lines in the notebook's output, "" for none)
    "AlexNet-small": (build_alexnet, True, "10_alexnet_vgg", "AlexNet-style"),
    "VGG-small": (build_vgg, True, "10_alexnet_vgg", "VGG-style"),
    "ResNet.fashion": (build_resnet, True, "11_resnet", ""),
}


# ---------------------------------------------------------------------------------------------
# Measurements (the timing helpers, matmul_peak_gflops and training_images_per_second, are in common.py).
# ---------------------------------------------------------------------------------------------


_TIME_TO = re.compile(r"time to (\d+(?:\.\d+)?)%: (\d+(?:\.\d+)?) s \(epoch (\d+)\)")
_ACCURACY = re.compile(r"test accuracy (\d\.\d+)")


def committed_times(notebook: str, label: str, root: Path = ROOT) -> dict | None:
    """{"90%": seconds, ..., "final_accuracy": a} for one model, read from the committed notebook's stdout.

    Only lines that belong to the model count: ``"{label} time to 93%: 412 s (epoch 5)"`` and
    ``"{label}: test accuracy 0.9312 ..."`` (without a label: lines that *start* with "time to" /
    "test accuracy"), so two models printed by one notebook cannot overwrite each other.
    None when the notebook or such lines do not exist.
    """
    path = root / "notebooks" / f"{notebook}.ipynb"
    if not path.is_file():
        return None
    time_prefix = f"{label} time to" if label else "time to"
    accuracy_prefix = f"{label}: test accuracy" if label else "test accuracy"
    found = {}
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") != "stream" or out.get("name") != "stdout":
                continue
            for line in "".join(out.get("text", "")).splitlines():
                line = line.strip()
                if line.startswith(time_prefix) and (match := _TIME_TO.search(line)):
                    found.setdefault(f"{float(match.group(1)):g}%", float(match.group(2)))
                elif line.startswith(accuracy_prefix) and (match := _ACCURACY.search(line)):
                    found.setdefault("final_accuracy", float(match.group(1)))
    return found or None


def trained_times(model, epochs: int) -> dict:
    """Train on the full set with notebook 11's recipe (cpu-profile settings of "resnet": SGD + Nesterov,
    one-cycle, flips, label smoothing), validating on the `val_size` images it holds out of the training
    split; cumulative training seconds when each validation-accuracy target is first met, and the
    final test accuracy."""
    from functools import partial

    from coursekit.augment import Augmented, FlipCrop
    from coursekit.train import evaluate, fit

    s = settings("resnet", "cpu")
    train, val, test = tensor_splits("fashion_mnist", batch_size=s.batch_size, val_size=s.val_size, seed=0)
    if s.augment:
        train = Augmented(train, FlipCrop(padding=s.crop_padding, seed=0))
    optimizer = torch.optim.SGD(model.parameters(), lr=s.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=s.lr, total_steps=epochs * len(train))
    loss_fn = partial(F.cross_entropy, label_smoothing=s.label_smoothing)
    history = fit(
        model, train, val, epochs, optimizer, scheduler, device=torch.device("cpu"), loss_fn=loss_fn, progress=False
    )
    times, elapsed = {}, 0.0
    for seconds, acc in zip(history.seconds, history.val_acc, strict=True):
        elapsed += seconds
        for target in TARGETS:
            key = f"{round(target * 100)}%"
            if acc >= target and key not in times:
                times[key] = round(elapsed, 1)
    times["final_val_accuracy"] = history.final_val_acc
    times["final_accuracy"] = evaluate(model, test, device=torch.device("cpu"))[1]
    return times


def main(argv=None) -> dict:
    parser = argument_parser(__file__, __doc__)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per round")
    parser.add_argument("--full", action="store_true", help="train every model to measure time to accuracy")
    parser.add_argument("--epochs", type=int, default=settings("resnet", "cpu").epochs, help="epochs with --full")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    rates = matmul_peak_gflops()
    peak = rates["peak"]
    print(
        f"float32 matrix-multiply peak, {torch.get_num_threads()} threads: {peak:.1f} GFLOP/s "
        f"(torch.matmul 2048x2048: {rates['matmul']:.1f}; 1x1 convolution, oneDNN: {rates['conv1x1']:.1f})"
    )
    train, _ = tensor_loaders("fashion_mnist", batch_size=args.batch_size, train_subset=args.batch_size * 8, seed=0)

    rows = []
    for name in args.models:
        builder, channels_last, notebook, label = MODELS[name]
        try:
            model = builder()
        except (ImportError, AttributeError, TypeError) as err:  # a model that is not written yet
            print(f"{name}: skipped ({err})")
            continue
        flops = count_flops(model, (1, 28, 28))
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        rate = training_images_per_second(model, train, args.steps)
        achieved = 3 * flops * rate / 1e9
        row = dict(
            model=name,
            parameters=count_parameters(model),
            channels_last=channels_last,
            forward_mflops=round(flops / 1e6, 2),
            train_images_per_s=round(rate, 1),
            achieved_gflops=round(achieved, 2),
            fraction_of_peak=round(achieved / peak, 4),
        )
        if args.full:
            fresh = builder()
            row["time_to_accuracy_s"] = trained_times(
                fresh.to(memory_format=torch.channels_last) if channels_last else fresh, args.epochs
            )
            row["time_source"] = f"--full: trained here, {args.epochs} epochs"
        else:
            row["time_to_accuracy_s"] = committed_times(notebook, label)
            row["time_source"] = f"notebooks/{notebook}.ipynb (committed cpu run)"
        rows.append(row)

    columns = [
        ("model", "<16", "s"),
        ("params", ">10", ","),
        ("fwd MFLOP", ">11", ".1f"),
        ("img/s", ">9", ".0f"),
        ("GFLOP/s", ">9", ".2f"),
        ("% peak", ">8", ".1%"),
        ("   time to 90/92/93% (s)", "<27", "s"),
        ("final acc", "", ".4f"),
    ]
    table_rows = []
    for r in rows:
        t = r["time_to_accuracy_s"] or {}
        times = " / ".join(f"{t[k]:.0f}" if k in t else "-" for k in ("90%", "92%", "93%")) if t else "n/a"
        table_rows.append(
            (
                r["model"],
                r["parameters"],
                r["forward_mflops"],
                r["train_images_per_s"],
                r["achieved_gflops"],
                r["fraction_of_peak"],
                f"   {times}",
                t.get("final_accuracy"),
            )
        )
    table = format_table(columns, table_rows, rule=True)

    result = dict(
        machine=machine_record(),
        peak_gflops={k: round(v, 1) for k, v in rates.items()},
        batch_size=args.batch_size,
        steps=args.steps,
        full=args.full,
        note=(
            "achieved GFLOP/s = 3 x forward FLOPs of direct convolution (Conv2d + Linear, 2 per multiply-add) x "
            "training images/s; oneDNN may use fewer multiplications (e.g. Winograd), so more than 100% of the "
            "GEMM peak is possible"
        ),
        models=rows,
    )
    write_report(args.json, result, table)
    return result


if __name__ == "__main__":
    main()
