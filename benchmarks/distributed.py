"""Data-parallel training on this machine (images/s, all-reduce time) and a model of how it scales on GPUs.

Measured (gloo on the CPU, every process on 127.0.0.1):

1. Throughput of ``python -m coursekit.launch`` (LeNet-5, MNIST, the same global batch and data):
   1 process using every core against N processes with the cores split between them (1 x 2 threads
   against 2 x 1 thread on a 2-core machine). The runs take turns, `--rounds` times, so a busy moment
   of a shared machine hits both; images/s is counted over the last epoch (the first one also pays
   for warming up the kernels), the median over rounds is reported.
2. The all-reduce time on gloo with 2 processes for a sweep of sizes, among them the gradients of
   LeNet-5 and ResNet.fashion(); a least-squares fit of t = 2(p-1) latency + 2(p-1)/p bytes / bandwidth
   gives this machine's latency and bandwidth.
3. With two or more CUDA GPUs: the same throughput measurement with one process per GPU (NCCL).

Modelled (`coursekit.distributed.scaling_table`): the step time and efficiency of 1..64 GPUs for
LeNet-5, ResNet.fashion() and, for contrast, torchvision's ResNet-50, under the stated assumptions
(`coursekit.distributed.INTERCONNECTS`, `ASSUMED_GPU`). On a machine without GPUs these rows are a
model, not a measurement -- the report says so.

    python benchmarks/distributed.py [--rounds 5] [--train-subset 16384] [--quick] [--json out.json]

Writes ``benchmarks/results/distributed.json`` unless told otherwise. ``--quick``: one short round,
a smoke test of the script (a few tens of seconds), not a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py, however this file is run
from common import argument_parser, format_table, machine_record, write_report  # noqa: E402

from coursekit.distributed import (  # noqa: E402
    ASSUMED_GPU,
    INTERCONNECTS,
    assumed_step_seconds,
    cpu_threads,
    scaling_table,
)
from coursekit.launch import local_env, run_local, torchrun_command  # noqa: E402

SIZES = [2**k for k in range(10, 25, 2)]  # float32 elements all-reduced: 4 KiB .. 64 MiB
WORLD_SIZES = (1, 2, 4, 8, 16, 32, 64)


# ----------------------------------------------------------------------------------------- the worker


def allreduce_worker(out: Path, sizes: list[int], reps: int, device: str) -> None:
    """Under torchrun: time `reps` all-reduces of float32 tensors of every size; rank 0 writes the medians."""
    import torch.distributed as dist

    from coursekit.distributed import cleanup, init_from_env

    info = init_from_env(device=device)
    torch.set_num_threads(cpu_threads(info.local_world_size))
    medians = {}
    for n in sizes:
        x = torch.ones(n, device=info.device)
        for _ in range(3):  # warm-up: connections, buffers
            dist.all_reduce(x)
        times = []
        for _ in range(reps):
            dist.barrier()
            if info.device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            dist.all_reduce(x)
            if info.device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        medians[str(n)] = statistics.median(times)
    if info.is_main:
        out.write_text(json.dumps(dict(world_size=info.world_size, backend=info.backend, seconds=medians)))
    cleanup()


def measure_allreduce(nproc: int, sizes: list[int], reps: int, device: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "allreduce.json"
        args = ["--allreduce-worker", out, "--reps", reps, "--sizes", ",".join(map(str, sizes)), "--device", device]
        command = torchrun_command(nproc, args, program=str(Path(__file__).resolve()))
        done = subprocess.run(command, capture_output=True, text=True, env=local_env(), timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"the all-reduce workers failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def fit_latency_bandwidth(seconds: dict, p: int) -> tuple[float, float]:
    """Least squares of t = 2(p-1) latency + [2(p-1)/p bytes] / bandwidth over the measured sizes."""
    xs = [2 * (p - 1) / p * 4 * int(n) for n in seconds]
    ys = list(seconds.values())
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    intercept = my - slope * mx
    return max(intercept, 0.0) / (2 * (p - 1)), 1 / slope


# ----------------------------------------------------------------------------------------- throughput


def last_epoch_rate(report: dict) -> float:
    """Images per second over the last epoch (rank 0's clock), warm-up excluded when there are 2+ epochs."""
    return report["train_samples"] / report["history"]["seconds"][-1]


def measure_throughput(process_counts, args, device: str) -> dict:
    """{nproc: [report, ...]} for `args.rounds` rounds, the process counts taking turns."""
    common = [
        "--model", "lenet", "--epochs", args.epochs, "--global-batch", args.global_batch,
        "--train-subset", args.train_subset, "--val-size", 1000, "--test-subset", 1000,
        "--no-progress", "--device", device,
    ]  # fmt: skip
    runs = {n: [] for n in process_counts}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.rounds):
            for n in process_counts:
                report = run_local(n, common, Path(folder) / f"{n}_{round_}.json", timeout=3600)
                runs[n].append(report)
                print(f"round {round_ + 1}: {n} process(es): {last_epoch_rate(report):.0f} images/s", flush=True)
    return runs


def summarise(runs: dict) -> list[dict]:
    rows = []
    for n, reports in runs.items():
        rates = [last_epoch_rate(r) for r in reports]
        first = reports[0]
        step_ms = [1000 * r["history"]["seconds"][-1] / r["steps_per_epoch"] for r in reports]
        rows.append(
            dict(
                processes=n,
                threads_per_process=first["threads_per_process"],
                backend=first["backend"],
                device=first["device"],
                global_batch=first["global_batch"],
                batch_per_rank=first["batch_per_rank"],
                images_per_second_median=statistics.median(rates),
                images_per_second_rounds=rates,
                ms_per_step_median=statistics.median(step_ms),
                test_acc=[r["test_acc"] for r in reports],
            )
        )
    return rows


# ----------------------------------------------------------------------------------------- the model


def gpu_model() -> dict:
    """The scaling model's rows for three networks and two kinds of node, with its assumptions."""
    import torchvision

    from coursekit.models import LeNet5, ResNet, count_flops, count_parameters

    networks = {
        "LeNet-5 (MNIST, 128 per GPU)": (LeNet5(), (1, 28, 28), 128),
        "ResNet.fashion() (Fashion-MNIST, 128 per GPU)": (ResNet.fashion(), (1, 28, 28), 128),
        "ResNet-50 (ImageNet 224 px, 64 per GPU)": (torchvision.models.resnet50(), (3, 224, 224), 64),
    }
    results = []
    for name, (net, size, batch) in networks.items():
        params, flops = count_parameters(net), count_flops(net, size)
        compute = assumed_step_seconds(flops, batch)
        for within in ("NVLink", "PCIe 4.0 x16"):
            rows = scaling_table(compute, 4 * params, within=within, world_sizes=WORLD_SIZES)
            results.append(
                dict(
                    network=name,
                    parameters=params,
                    gradient_bytes=4 * params,
                    forward_flops_per_image=flops,
                    batch_per_gpu=batch,
                    compute_ms=1000 * compute,
                    within_node=within,
                    between_nodes="InfiniBand 100 Gb/s",
                    rows=rows,
                )
            )
    return dict(
        note="a model, not a measurement: no GPU measured these numbers",
        assumptions=dict(
            interconnects=INTERCONNECTS,
            gpu=ASSUMED_GPU,
            step="compute = max(min_step_seconds, 3 * forward FLOPs * batch / sustained_flops); "
            "ring all-reduce = 2(p-1)/p * bytes / bandwidth + 2(p-1) * latency over the slowest link; "
            "overlap: 25 MiB buckets, all but the last hidden behind backward (2/3 of compute)",
        ),
        networks=results,
    )


# ----------------------------------------------------------------------------------------- main


def main(argv=None) -> dict:
    parser = argument_parser(__file__, __doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2, help="per run; the last epoch is timed")
    parser.add_argument("--train-subset", type=int, default=16384)
    parser.add_argument("--global-batch", type=int, default=128)
    parser.add_argument("--reps", type=int, default=30, help="all-reduces timed per size")
    parser.add_argument("--quick", action="store_true", help="a smoke test: 1 short round, few sizes")
    parser.add_argument("--allreduce-worker", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.allreduce_worker is not None:
        allreduce_worker(args.allreduce_worker, [int(s) for s in args.sizes.split(",")], args.reps, args.device)
        return {}
    if args.quick:
        args.rounds, args.epochs, args.train_subset, args.reps = 1, 1, 1024, 5
    sizes = SIZES[::3] if args.quick else SIZES
    from coursekit.models import LeNet5, ResNet, count_parameters

    # one float32 gradient element per parameter
    gradients = {"LeNet-5": count_parameters(LeNet5()), "ResNet.fashion()": count_parameters(ResNet.fashion())}
    sizes = sorted(set(sizes) | set(gradients.values()))

    cpu_counts = (1, 2)
    cpu_runs = measure_throughput(cpu_counts, args, "cpu")
    cpu_rows = summarise(cpu_runs)
    cpu_allreduce = measure_allreduce(2, sizes, args.reps, "cpu")
    latency, bandwidth = fit_latency_bandwidth(cpu_allreduce["seconds"], 2)
    one, two = cpu_rows
    lenet_allreduce = cpu_allreduce["seconds"][str(gradients["LeNet-5"])]
    ratio = two["images_per_second_median"] / one["images_per_second_median"]
    load, cores = os.getloadavg()[0], cpu_threads(1)
    verdict = f" Measured: 2 processes ran at {ratio:.2f}x the images/s of 1."
    if load > cores + 1:  # our own runs keep the cores busy; more than that is someone else's work
        verdict += (
            f" The machine was busy (load average {load:.1f} on {cores} cores): a process whose threads wait for "
            "each other at every parallel loop suffers more from sharing its cores than single-threaded ones "
            "do, so measure again on an idle machine."
        )
    why = dict(
        cores=cpu_threads(1),
        speedup_2_vs_1=ratio,
        ms_per_step_1_process=one["ms_per_step_median"],
        ms_per_step_2_processes=two["ms_per_step_median"],
        lenet_allreduce_ms=1000 * lenet_allreduce,
        allreduce_share_of_step=lenet_allreduce / (two["ms_per_step_median"] / 1000),
        explanation=(
            "Both configurations run the same arithmetic on the same cores: 1 process x "
            f"{one['threads_per_process']} threads or 2 processes x {two['threads_per_process']} thread. Data "
            "parallelism divides the work by samples instead of within each operation, but adds no arithmetic "
            "units, so it cannot multiply the images/s on one CPU; it can only split the work a little better "
            "or worse than threads do, and each step additionally all-reduces LeNet-5's gradient "
            f"({4 * gradients['LeNet-5']:,} bytes) over the loopback." + verdict
        ),
    )

    gpu = None
    if torch.cuda.device_count() >= 2:
        counts = [n for n in (1, 2, 4, 8, 16) if n <= torch.cuda.device_count()]
        gpu_runs = measure_throughput(counts, args, "cuda")
        gpu_allreduce = measure_allreduce(counts[-1], sizes, args.reps, "cuda")
        gpu_latency, gpu_bandwidth = fit_latency_bandwidth(gpu_allreduce["seconds"], counts[-1])
        gpu = dict(
            name=torch.cuda.get_device_name(0),
            throughput=summarise(gpu_runs),
            allreduce=dict(gpu_allreduce, latency_s=gpu_latency, bandwidth_bytes_per_s=gpu_bandwidth),
        )

    model = gpu_model()
    if gpu is not None:
        model["note"] = f"a model; the measured GPU numbers are under 'gpu_measured' ({gpu['name']})"
    table = format_table(
        [
            ("processes", "<10", "d"),
            ("threads", ">8", "d"),
            ("backend", ">8", "s"),
            ("images/s (median)", ">19", ".0f"),
            ("ms/step", ">9", ".1f"),
        ],
        [
            (
                r["processes"],
                r["threads_per_process"],
                r["backend"],
                r["images_per_second_median"],
                r["ms_per_step_median"],
            )
            for r in cpu_rows
        ],
    )
    table += (
        f"\n\ngloo all-reduce, 2 processes: LeNet-5's gradient {1000 * lenet_allreduce:.2f} ms; fit: latency "
        f"{1e6 * latency:.0f} us, bandwidth {bandwidth / 1e9:.2f} GB/s\n"
        f"2 processes vs 1: x{why['speedup_2_vs_1']:.2f}; all-reduce = {100 * why['allreduce_share_of_step']:.1f} % "
        f"of a 2-process step"
    )
    report = dict(
        what="data-parallel LeNet-5 training with torch.distributed on this CPU (gloo), and a GPU scaling model",
        quick=args.quick,
        rounds=args.rounds,
        epochs=args.epochs,
        train_subset=args.train_subset,
        global_batch=args.global_batch,
        cpu_throughput=cpu_rows,
        why_it_does_not_scale_here=why,
        cpu_allreduce=dict(
            cpu_allreduce,
            gradient_elements=gradients,
            latency_s=latency,
            bandwidth_bytes_per_s=bandwidth,
        ),
        gpu_measured=gpu,
        gpu_model=model,
        machine=machine_record(omp_num_threads=os.environ.get("OMP_NUM_THREADS")),
    )
    write_report(args.json, report, table)
    return report


if __name__ == "__main__":
    main()
