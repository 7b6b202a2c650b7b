"""LeNet-5 with coursekit against the pytorch/examples MNIST recipe, side by side on one machine.

Two pipelines, each run in its own subprocess (so each has its own peak memory):

1. **coursekit** -- `coursekit.models.LeNet5` (ReLU, max pooling, channels-last weights) trained
   with `coursekit.train.fit` on in-memory uint8 tensors (`coursekit.data.tensor_loaders`), batches
   shifted by up to 1 pixel (`coursekit.augment.FlipCrop` without flips), fused AdamW with a one-cycle
   learning rate, for each of several seeds -- exactly as notebook 09 trains it.
2. **baseline** -- the pytorch/examples ``mnist/main.py`` recipe as published: conv 1->32 3x3,
   conv 32->64 3x3, max-pool 2, dropout 0.25, fc 9216->128, dropout 0.5, fc 128->10,
   log-softmax; Adadelta lr 1.0, StepLR gamma 0.7, batch 64 (test batch 1000), torchvision
   ``datasets.MNIST`` with per-sample ``ToTensor`` + ``Normalize``, a plain ``DataLoader``
   (shuffled, no worker processes). It trains until its test accuracy first reaches 99.0 %, or
   for 5 epochs.

Definitions (the same for both):

* *training seconds*: wall time of the training passes only. Both pipelines evaluate on the
  10,000 test images after every epoch; that evaluation is **not** counted as training time.
* *time to 99.0 %*: training seconds up to the end of the first epoch whose test accuracy is
  >= 99.0 % (None if never reached).
* *images/s*: training images processed / training seconds.
* *peak memory*: the subprocess's peak resident set size, ``resource.getrusage(RUSAGE_SELF)
  .ru_maxrss`` (includes the Python interpreter and torch itself, ~0.3 GB).

Targets: LeNet-5 final test accuracy >= 99.2 % (mean and minimum over the seeds), and its time to
99.0 % at least 15x shorter than the baseline's.

    python benchmarks/lenet_mnist.py [--seeds 0 1 2 3 4] [--epochs N] [--json out.json]

Writes ``benchmarks/results/lenet_mnist.json`` unless told otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py, however this file is run
from common import ROOT, argument_parser, format_table, machine_record, write_report  # noqa: E402

from coursekit.profile import settings  # noqa: E402

TARGET_ACCURACY = 0.992
TARGET_SPEEDUP = 15.0
THRESHOLD = 0.99
BASELINE_MAX_EPOCHS = 5

# The coursekit recipe: the "cpu" profile of settings("lenet"), which notebook 09 trains with, plus the
# one-cycle warm-up fraction that notebook passes to OneCycleLR. Like the notebook, the model is stored
# channels-last and AdamW runs fused.
_CPU = settings("lenet", "cpu")
LENET_RECIPE = dict(
    epochs=_CPU.epochs,
    batch_size=_CPU.batch_size,
    lr=_CPU.lr,
    weight_decay=_CPU.weight_decay,
    pct_start=0.25,
    shift=_CPU.shift,
)


def _peak_rss_mb() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux (bytes on macOS)
    return kib / (1024 * 1024) if sys.platform == "darwin" else kib / 1024


def time_to(threshold: float, accuracies: list, seconds: list) -> float | None:
    """Training seconds until the end of the first epoch with accuracy >= threshold."""
    elapsed = 0.0
    for acc, sec in zip(accuracies, seconds, strict=True):
        elapsed += sec
        if acc is not None and acc >= threshold:
            return elapsed
    return None


def run_lenet(seed: int, epochs: int) -> dict:
    """coursekit: LeNet5 + TensorLoader (+ random shifts) + fit, AdamW + OneCycleLR; test accuracy per epoch."""
    import torch

    from coursekit.augment import Augmented, FlipCrop
    from coursekit.data import normalization, tensor_loaders
    from coursekit.device import get_device, seed_everything
    from coursekit.models import LeNet5
    from coursekit.train import fit

    device = get_device()
    seed_everything(seed)
    r = LENET_RECIPE
    train, test = tensor_loaders("mnist", batch_size=r["batch_size"], seed=seed, device=device)
    mean, std = normalization("mnist")
    train = Augmented(train, FlipCrop(padding=r["shift"], flip_p=0.0, seed=seed, fill=-mean / std))
    model = LeNet5().to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=r["lr"], weight_decay=r["weight_decay"], fused=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=r["lr"], total_steps=epochs * len(train), pct_start=r["pct_start"]
    )
    history = fit(model, train, test, epochs, optimizer, scheduler, device=device, progress=False, live=False)
    return dict(
        pipeline="coursekit LeNet-5",
        seed=seed,
        epochs=epochs,
        device=str(device),
        test_acc=history.val_acc,
        epoch_seconds=history.seconds,
        train_seconds=history.train_seconds,
        images=history.samples,
        parameters=sum(p.numel() for p in model.parameters()),
    )


def _baseline_net():
    import torch.nn.functional as F
    from torch import nn

    class Net(nn.Module):
        """The pytorch/examples MNIST network, layer for layer."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = x.flatten(1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)

    return Net()


def run_baseline(seed: int, max_epochs: int) -> dict:
    """pytorch/examples mnist: per-sample transforms, DataLoader, Adadelta + StepLR."""
    import torch
    import torch.nn.functional as F
    from torchvision import transforms

    from coursekit.data import mnist

    torch.manual_seed(seed)
    device = torch.device("cpu")
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_loader = torch.utils.data.DataLoader(mnist(train=True, transform=transform), batch_size=64, shuffle=True)
    test_loader = torch.utils.data.DataLoader(mnist(train=False, transform=transform), batch_size=1000)
    model = _baseline_net().to(device)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    accuracies, seconds, images = [], [], 0
    for _ in range(max_epochs):
        model.train()
        start = time.perf_counter()
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
            images += len(y)
        seconds.append(time.perf_counter() - start)
        scheduler.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test_loader:
                correct += (model(x.to(device)).argmax(1) == y.to(device)).sum().item()
        accuracies.append(correct / len(test_loader.dataset))
        if accuracies[-1] >= THRESHOLD:
            break
    return dict(
        pipeline="pytorch/examples baseline",
        seed=seed,
        epochs=len(seconds),
        device=str(device),
        test_acc=accuracies,
        epoch_seconds=seconds,
        train_seconds=sum(seconds),
        images=images,
        parameters=sum(p.numel() for p in model.parameters()),
    )


def worker(kind: str, seed: int, epochs: int) -> None:
    load_before = os.getloadavg()[0]  # other processes on the machine slow both pipelines down
    result = run_lenet(seed, epochs) if kind == "lenet" else run_baseline(seed, epochs)
    result["peak_rss_mb"] = _peak_rss_mb()
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print("RESULT " + json.dumps(result), flush=True)


def in_subprocess(kind: str, seed: int, epochs: int) -> dict:
    """Run one pipeline in a fresh interpreter and return its result dict."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        "--seed",
        str(seed),
        "--epochs",
        str(epochs),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    line = next(s for s in out.stdout.splitlines() if s.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["time_to_99"] = time_to(THRESHOLD, result["test_acc"], result["epoch_seconds"])
    result["final_acc"] = result["test_acc"][-1]
    result["seconds_per_epoch"] = result["train_seconds"] / result["epochs"]
    result["images_per_second"] = result["images"] / result["train_seconds"]
    return result


def summarise(lenet: list[dict], baseline: dict | None) -> dict:
    finals = [r["final_acc"] for r in lenet]
    times = [r["time_to_99"] for r in lenet]
    reached = [t for t in times if t is not None]
    summary = dict(
        lenet_final_acc_mean=statistics.fmean(finals),
        lenet_final_acc_min=min(finals),
        lenet_seconds_per_epoch=statistics.fmean(r["seconds_per_epoch"] for r in lenet),
        lenet_images_per_second=statistics.fmean(r["images_per_second"] for r in lenet),
        lenet_time_to_99_mean=statistics.fmean(reached) if reached else None,
        lenet_time_to_99_max=max(reached) if len(reached) == len(times) else None,
        lenet_peak_rss_mb=max(r["peak_rss_mb"] for r in lenet),
    )
    summary["accuracy_target_met"] = (
        summary["lenet_final_acc_mean"] >= TARGET_ACCURACY and summary["lenet_final_acc_min"] >= TARGET_ACCURACY
    )
    if baseline is not None:
        summary.update(
            baseline_final_acc=baseline["final_acc"],
            baseline_seconds_per_epoch=baseline["seconds_per_epoch"],
            baseline_images_per_second=baseline["images_per_second"],
            baseline_time_to_99=baseline["time_to_99"],
            baseline_peak_rss_mb=baseline["peak_rss_mb"],
        )
        t_lenet, t_base = summary["lenet_time_to_99_mean"], baseline["time_to_99"]
        if t_lenet and t_base:
            summary["speedup_time_to_99"] = t_base / t_lenet
        elif t_lenet:  # the baseline never got there: its whole run is a lower bound on its time
            summary["speedup_time_to_99_lower_bound"] = baseline["train_seconds"] / t_lenet
        speedup = summary.get("speedup_time_to_99") or summary.get("speedup_time_to_99_lower_bound")
        summary["speed_target_met"] = bool(speedup and speedup >= TARGET_SPEEDUP)
    return summary


def table(lenet: list[dict], baseline: dict | None, summary: dict) -> str:
    columns = [
        ("pipeline", "<30", "s"),
        ("final acc", ">10", ".4f"),
        ("s/epoch", ">9", ".1f"),
        ("images/s", ">10", ".0f"),
        ("t→99.0%", ">10", ".1f"),
        ("peak MB", ">9", ".0f"),
    ]
    s = summary
    rows = [
        (
            f"LeNet-5 seed {r['seed']}",
            r["final_acc"],
            r["seconds_per_epoch"],
            r["images_per_second"],
            r["time_to_99"],
            r["peak_rss_mb"],
        )
        for r in lenet
    ]
    rows.append(
        (
            "LeNet-5 mean (min acc)",
            s["lenet_final_acc_mean"],
            s["lenet_seconds_per_epoch"],
            s["lenet_images_per_second"],
            s["lenet_time_to_99_mean"],
            s["lenet_peak_rss_mb"],
        )
    )
    rows.append(("", f"({s['lenet_final_acc_min']:.4f})", "", "", "", ""))
    if baseline is not None:
        b = baseline
        rows.append(
            (
                "pytorch/examples baseline",
                b["final_acc"],
                b["seconds_per_epoch"],
                b["images_per_second"],
                b["time_to_99"],
                b["peak_rss_mb"],
            )
        )
    lines = format_table(columns, rows, rule=True).splitlines()
    rule = lines[1]
    if baseline is not None:
        lines.append(f"baseline test accuracy per epoch: {', '.join(f'{a:.4f}' for a in baseline['test_acc'])}")
    lines.append(rule)
    lines.append(
        f"accuracy target (mean and min >= {TARGET_ACCURACY:.3f}): {'met' if s['accuracy_target_met'] else 'NOT met'}"
    )
    if "speedup_time_to_99" in s:
        lines.append(
            f"time to 99.0 %: baseline / LeNet-5 = {s['speedup_time_to_99']:.1f}x "
            f"(target {TARGET_SPEEDUP:.0f}x): {'met' if s['speed_target_met'] else 'NOT met'}"
        )
    elif "speedup_time_to_99_lower_bound" in s:
        lines.append(f"the baseline never reached 99.0 %; ratio at least {s['speedup_time_to_99_lower_bound']:.1f}x")
    lines.append("training seconds exclude the per-epoch test evaluation; peak memory = ru_maxrss per subprocess")
    return "\n".join(lines)


def main(argv=None) -> dict | None:
    parser = argument_parser(__file__, __doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=LENET_RECIPE["epochs"], help="LeNet-5 epochs")
    parser.add_argument("--baseline-seed", type=int, default=1, help="pytorch/examples' default seed")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--worker", choices=["lenet", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.seed, args.epochs)
        return None

    lenet = []
    for seed in args.seeds:
        lenet.append(in_subprocess("lenet", seed, args.epochs))
        print(
            f"LeNet-5 seed {seed}: final {lenet[-1]['final_acc']:.4f}, per epoch "
            f"{', '.join(f'{a:.4f}' for a in lenet[-1]['test_acc'])}",
            flush=True,
        )
    baseline = None
    if not args.skip_baseline:
        baseline = in_subprocess("baseline", args.baseline_seed, BASELINE_MAX_EPOCHS)
    summary = summarise(lenet, baseline)
    report = dict(
        definitions=dict(
            train_seconds="wall time of training passes only; the per-epoch test evaluation is excluded",
            time_to_99="training seconds until the end of the first epoch with test accuracy >= 0.990",
            images_per_second="training images / training seconds",
            peak_rss_mb="resource.getrusage(RUSAGE_SELF).ru_maxrss of each pipeline's own subprocess, MiB",
        ),
        targets=dict(final_accuracy=TARGET_ACCURACY, speedup_time_to_99=TARGET_SPEEDUP),
        lenet_recipe=dict(
            LENET_RECIPE,
            epochs=args.epochs,
            optimizer="AdamW (fused)",
            scheduler="OneCycleLR",
            memory_format="channels_last",
        ),
        summary=summary,
        lenet_runs=lenet,
        baseline_run=baseline,
        machine=machine_record(),
    )
    write_report(args.json, report, table(lenet, baseline, summary))
    return report


if __name__ == "__main__":
    main()
