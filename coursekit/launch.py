"""Train LeNet-5 or the Fashion-MNIST ResNet data-parallel: one process per device, started by torchrun.

On one machine with N processes (N GPUs; or a CPU, where the cores are split between them)::

    torchrun --nproc-per-node=N -m coursekit.launch --model lenet --epochs 3 --out results.json

On several machines, the same command on each (``--nnodes``, ``--rdzv-backend=c10d``,
``--rdzv-endpoint=<first node>:29400``; the README has the commands and a Slurm script). Without
torchrun the script trains in one process -- world size 1 -- the run a distributed run must match::

    python -m coursekit.launch --model lenet --global-batch 128 --out single.json

Every rank: joins the job (`coursekit.distributed.setup`: NCCL on GPUs, gloo on the CPU), sets its
CPU threads to cores // processes-on-this-machine (``--threads`` overrides; torchrun alone would set
``OMP_NUM_THREADS=1``), seeds everything with ``--seed`` and builds the same model and data splits,
wraps the model in DistributedDataParallel and takes its shard of every global batch
(`coursekit.distributed.ShardedLoader`), trains with `coursekit.train.fit` (AdamW with a
one-cycle learning rate, as notebook 09; metrics summed over the ranks) and measures the test split once.
Rank 0 alone shows the progress bar, writes the checkpoint (``--checkpoint``, after every epoch,
the plain model's weights) and the report (``--out``, JSON, atomically) with: accuracies, the
per-epoch history, images per second, world size, backend, device, threads per process, and every
rank's own accuracies (which agree: the counts are summed over the ranks).

Defaults come from ``settings("distributed")`` of the active profile (``COURSEKIT_PROFILE``).
``--batch-size`` is per rank; ``--global-batch`` fixes the batch of all ranks together instead (it
must be divisible by the world size), which is how a 1-process and a 2-process run are made to
take the same steps. ``--lr`` is the learning rate of that global batch: no automatic scaling.

If a rank dies, the others fail at their next gradient all-reduce (gloo and NCCL notice the closed
connection) or, for a rank that hangs, after ``--timeout`` seconds; torchrun then stops the job and
reports the first failure.

From Python (a notebook or a test): `run_local(nproc, args, out)` starts torchrun on this machine --
on 127.0.0.1 with a free port -- waits for it and returns the report.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.distributed.elastic.multiprocessing.errors import record

from .data import tensor_splits
from .device import seed_everything
from .distributed import (
    DEFAULT_TIMEOUT,
    DistInfo,
    SaveOnMain,
    all_reduce_max,
    cleanup,
    cpu_threads,
    gather_floats,
    setup,
    shard,
    unwrap,
    wrap,
)
from .errors import UnknownName
from .files import write_json
from .profile import current_profile, settings
from .train import evaluate, fit

# --model: the dataset it trains on (`build_model` makes the network)
MODELS = {"lenet": "mnist", "resnet": "fashion_mnist"}
EVAL_BATCH_PER_RANK = 500


def build_model(name: str) -> torch.nn.Module:
    """A fresh network for --model `name`: "lenet" -> LeNet5() for MNIST, "resnet" -> ResNet.fashion()
    for Fashion-MNIST; both take (N, 1, 28, 28) images and return (N, 10) logits."""
    from .models import LeNet5, ResNet

    if name not in MODELS:
        raise UnknownName("model", name, MODELS)
    return LeNet5() if name == "lenet" else ResNet.fashion()


def _optional_count(text: str) -> int | None:
    """argparse type for subset sizes: a positive integer, or "none"/"all" for everything."""
    if text.strip().lower() in ("none", "all"):
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number or 'none', got {text!r}")
    return value


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
        return value

    return parse


def parse_args(argv=None) -> argparse.Namespace:
    """The command line; defaults from ``settings("distributed")`` of the active profile."""
    cfg = settings("distributed")
    first = (__doc__ or "").strip().splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m coursekit.launch", description=first)
    parser.add_argument("--model", choices=sorted(MODELS), default=cfg.model)
    parser.add_argument("--epochs", type=_positive(int), default=cfg.epochs)
    batch = parser.add_mutually_exclusive_group()
    batch.add_argument("--batch-size", type=_positive(int), default=cfg.batch_per_rank, help="per rank")
    batch.add_argument("--global-batch", type=_positive(int), default=None, help="all ranks together")
    parser.add_argument("--lr", type=_positive(float), default=cfg.lr, help="for the global batch")
    parser.add_argument("--weight-decay", type=float, default=cfg.weight_decay)
    parser.add_argument("--train-subset", type=_optional_count, default=cfg.train_subset)
    parser.add_argument("--val-size", type=_positive(int), default=cfg.val_size)
    parser.add_argument("--test-subset", type=_optional_count, default=cfg.test_subset)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: each rank's GPU if any, else cpu)")
    parser.add_argument("--threads", type=_positive(int), default=None, help="CPU threads per process")
    parser.add_argument("--timeout", type=_positive(float), default=DEFAULT_TIMEOUT, help="seconds")
    parser.add_argument("--checkpoint", type=Path, default=None, help="written by rank 0 after every epoch")
    parser.add_argument("--out", type=Path, default=None, help="the JSON report, written by rank 0")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return parser.parse_args(argv)


def train(args: argparse.Namespace, info: DistInfo) -> dict:
    """The job of one rank (all ranks run it together); returns the report (the same on every rank)."""
    if info.device.type == "cpu":
        torch.set_num_threads(args.threads or cpu_threads(info.local_world_size))
    global_batch = args.global_batch or args.batch_size * info.world_size
    dataset = MODELS[args.model]
    splits = tensor_splits(
        dataset,
        batch_size=global_batch,
        train_subset=args.train_subset,
        val_size=args.val_size,
        test_subset=args.test_subset,
        seed=args.seed,
        device=info.device,
        eval_batch_size=EVAL_BATCH_PER_RANK * info.world_size,
    )
    train_loader, val_loader, test_loader = (shard(loader, info.rank, info.world_size) for loader in splits)

    seed_everything(args.seed)  # the same initial weights everywhere (DDP copies rank 0's anyway)
    model = wrap(build_model(args.model), info)
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.epochs * len(train_loader), pct_start=0.25
    )
    callbacks = []
    if args.checkpoint is not None:
        meta = dict(model=args.model, dataset=dataset, seed=args.seed, global_batch=global_batch)
        callbacks.append(SaveOnMain(args.checkpoint, meta=meta))
    history = fit(
        model,
        train_loader,
        val_loader,
        args.epochs,
        optimizer,
        scheduler,
        device=info.device,
        loss_fn=F.cross_entropy,
        progress=args.progress,
        live=False,
        callbacks=callbacks,
    )
    test_loss, test_acc = evaluate(model, test_loader, info.device)  # a DDP model: every rank, summed
    by_rank = gather_floats([history.final_val_acc, test_acc])
    slowest = all_reduce_max(torch.tensor(history.train_seconds, dtype=torch.float64)).item()
    return dict(
        model=args.model,
        dataset=dataset,
        profile=current_profile(),
        world_size=info.world_size,
        backend=info.backend or "none",
        device=str(info.device),
        local_world_size=info.local_world_size,
        threads_per_process=torch.get_num_threads() if info.device.type == "cpu" else None,
        global_batch=global_batch,
        batch_per_rank=train_loader.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        epochs=args.epochs,
        seed=args.seed,
        train_samples=train_loader.num_samples,
        steps_per_epoch=len(train_loader),
        parameters=parameters,
        gradient_bytes=4 * parameters,
        history=history.as_dict(),
        val_acc=history.final_val_acc,
        test_loss=test_loss,
        test_acc=test_acc,
        val_acc_by_rank=[row[0] for row in by_rank],
        test_acc_by_rank=[row[1] for row in by_rank],
        train_seconds=slowest,
        images_per_second=history.samples / slowest,
        checkpoint=None if args.checkpoint is None else str(args.checkpoint),
        model_class=type(unwrap(model)).__name__,
        torch=torch.__version__,
    )


@record  # under torchrun: the failing rank's traceback goes into torchrun's summary
def main(argv=None) -> dict:
    """Parse `argv`, join the job (or run alone), train, write the report from rank 0; return it."""
    args = parse_args(argv)
    started_here = not (torch.distributed.is_available() and torch.distributed.is_initialized())
    info = setup(args.device, args.timeout)
    try:
        report = train(args, info)
        if info.is_main:
            if args.out is not None:
                write_json(args.out, report)
            print(
                f"{args.model}: {info.world_size} process(es), backend {report['backend']}, global batch "
                f"{report['global_batch']}: test accuracy {report['test_acc']:.4f}, "
                f"{report['images_per_second']:.0f} images/s"
            )
        return report
    except Exception as err:
        if info.world_size > 1:
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            print(
                f"[rank {info.rank} of {info.world_size}] stopped: {type(err).__name__}: {first[:300]}\n"
                f"(when another rank failed first, its error is the cause: the ranks stop together "
                f"at the next gradient exchange, or after --timeout={args.timeout:g} s)",
                file=sys.stderr,
                flush=True,
            )
        raise
    finally:
        if started_here:
            cleanup()


# ----------------------------------------------------------------------------------------- from Python


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now (the OS picks it when we bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def torchrun_command(nproc: int, args, port: int | None = None, program: str = "coursekit.launch") -> list[str]:
    """The torchrun command that runs `program` with `args` in `nproc` processes on this machine.

    `program`: a module name (run as ``python -m program``) or the path of a ``.py`` file. The command
    uses this Python (``python -m torch.distributed.run``, the program behind ``torchrun``) and a
    static rendezvous on 127.0.0.1 at `port` (default: a free one), so nothing listens beyond this
    machine. Returns the argument list for `subprocess.run`."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be a positive int (processes to start), got {nproc!r}")
    port = free_port() if port is None else port
    target = [str(program)] if str(program).endswith(".py") else ["-m", str(program)]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        f"--nproc-per-node={nproc}",
        "--master-addr=127.0.0.1",
        f"--master-port={port}",
        *target,
        *[str(a) for a in args],
    ]


def local_env(extra: dict | None = None) -> dict:
    """os.environ for a job on this machine: gloo told to use the loopback interface when there is
    one (so its connections stay on 127.0.0.1), plus `extra`."""
    env = dict(os.environ)
    names = {name for _, name in socket.if_nameindex()} if hasattr(socket, "if_nameindex") else set()
    loopback = next((name for name in ("lo", "lo0") if name in names), None)
    if loopback and "GLOO_SOCKET_IFNAME" not in env:
        env["GLOO_SOCKET_IFNAME"] = loopback
    env.update(extra or {})
    return env


def run_local(nproc: int, args, out: str | os.PathLike, timeout: float | None = 600) -> dict:
    """Run this script under torchrun with `nproc` processes on this machine and return its report.

    `args`: the command-line arguments (e.g. ``["--model", "lenet", "--epochs", "1"]``); the report
    goes to `out` (JSON). `timeout`: seconds before the whole run is stopped. A failing run raises
    RuntimeError with the last 60 lines of its output (the processes' errors, then torchrun's summary)."""
    out = Path(out)
    command = torchrun_command(nproc, [*args, "--out", out])
    try:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, env=local_env()
        )
    except subprocess.TimeoutExpired as err:
        raise RuntimeError(f"the {nproc}-process run did not finish within {timeout} s") from err
    if done.returncode != 0:
        tail = "\n".join(done.stdout.strip().splitlines()[-60:])
        raise RuntimeError(f"the {nproc}-process run failed (exit code {done.returncode}):\n{tail}")
    return json.loads(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
