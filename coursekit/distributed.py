"""Data-parallel training with `torch.distributed`: one process per device, a full replica in each.

torchrun starts W processes -- one per GPU, or a few on a CPU -- and tells each one its place in the
job through environment variables: ``RANK`` (0 .. W-1 over the whole job), ``WORLD_SIZE`` (W),
``LOCAL_RANK`` (0 .. on this machine), ``LOCAL_WORLD_SIZE`` (processes on this machine), and
``MASTER_ADDR``/``MASTER_PORT`` (where rank 0 waits for the others). Every process builds the same
model from the same seed and wraps it in `DistributedDataParallel` (DDP). In each step every rank
runs forward and backward on its own slice of the global batch; during backward DDP averages the
gradients of all ranks with an all-reduce -- bucket by bucket, while the rest of backward is still
running -- so that every replica takes the same optimizer step and the replicas stay identical.

- `init_from_env(device, timeout) -> DistInfo`: the process group from torchrun's variables, NCCL
  for a CUDA device and gloo otherwise; `setup()` does that under torchrun and describes a single
  process otherwise; `cleanup()` ends the group; `is_main_process()`: rank 0, or no group;
- `wrap(model, info)` / `unwrap(model)`: DDP around a model, and the plain model inside it;
- `ShardedLoader` / `shard(loader)`: each rank's disjoint part of every global batch;
- `all_reduce_sum`, `all_reduce_mean`, `all_reduce_max`, `gather_floats`: numbers across ranks;
- `save_on_main(model, path, meta)` and the `SaveOnMain` callback: a checkpoint written by rank 0
  only, atomically, holding the plain model's weights -- it loads in a single process;
- `ring_allreduce_simulated`, `ring_allreduce_seconds`, `scaling_model`, `scaling_table`: the ring
  all-reduce step by step, its time, and how a data-parallel step scales with the number of GPUs --
  a model with stated assumptions (`INTERCONNECTS`, `ASSUMED_GPU`), not a measurement.

`coursekit.train.fit` trains a DDP model unchanged: it sums loss and accuracy counts over the ranks
(every rank reports the same numbers) and shows its progress bar and live figure on rank 0 only.
`python -m coursekit.launch` puts the pieces together into a training script for torchrun.

A rank that dies makes the others fail instead of hang: gloo and NCCL notice the closed connection
at the next gradient all-reduce, and a rank that hangs is given up after `timeout` seconds.
"""

from __future__ import annotations

import datetime
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from .callbacks import Callback, Run
from .data.loaders import TensorLoader, _whole

__all__ = [
    "ENV_VARS",
    "DEFAULT_TIMEOUT",
    "RendezvousError",
    "DistInfo",
    "launched_by_torchrun",
    "read_env",
    "backend_for",
    "init_from_env",
    "single_process",
    "setup",
    "cleanup",
    "is_main_process",
    "get_rank",
    "get_world_size",
    "cpu_threads",
    "wrap",
    "unwrap",
    "ShardedLoader",
    "shard",
    "all_reduce_sum",
    "all_reduce_mean",
    "all_reduce_max",
    "gather_floats",
    "barrier",
    "save_on_main",
    "SaveOnMain",
    "ring_allreduce_simulated",
    "ring_allreduce_seconds",
    "scaling_model",
    "INTERCONNECTS",
    "ASSUMED_GPU",
    "assumed_step_seconds",
    "scaling_table",
]

# The variables torchrun sets for every process it starts (LOCAL_WORLD_SIZE too, optional here).
ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
# Seconds a rank waits for the others -- at start-up and in every collective -- before it gives up with
# an error: long enough for rank 0 to write a checkpoint while the others wait, short enough that a job
# with a hung rank stops within minutes instead of holding its GPUs for the default 10-30 minutes.
DEFAULT_TIMEOUT = 120.0

_WHAT_TORCHRUN_SETS = (
    "torchrun sets these for every process it starts: RANK (this process, 0..WORLD_SIZE-1), "
    "WORLD_SIZE (processes in the job), LOCAL_RANK (this process on its machine), MASTER_ADDR and "
    "MASTER_PORT (where rank 0 listens). Start the script with `torchrun --nproc-per-node=N script.py` "
    "(or `python -m torch.distributed.run ...`), or run it without torchrun as a single process"
)


class RendezvousError(ValueError):
    """torchrun's environment variables are missing or invalid, or the ranks could not meet."""


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a data-parallel job.

    `rank` (0 .. world_size-1 over all machines), `world_size` (processes in the job),
    `local_rank` / `local_world_size` (the same on this machine), `backend` ("nccl", "gloo", or None
    for a single process without a process group) and `device` (the torch.device this rank computes
    on: ``cuda:<local_rank>`` with NCCL, the CPU with gloo).
    """

    rank: int
    world_size: int
    local_rank: int
    backend: str | None
    device: torch.device
    local_world_size: int = 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the rank that prints, draws and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when a process group runs (even of one process)."""
        return self.backend is not None


# ----------------------------------------------------------------------------------------- start and end


def launched_by_torchrun(environ: Mapping[str, str] | None = None) -> bool:
    """True when any of torchrun's variables (`ENV_VARS`) is set: this process is part of a job."""
    environ = os.environ if environ is None else environ
    return any(name in environ for name in ENV_VARS)


def _env_int(environ: Mapping[str, str], name: str, low: int, high: int | None, meaning: str) -> int:
    text = environ[name].strip()
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        expected = f"an integer in {low}..{high}" if high is not None else f"an integer >= {low}"
        raise RendezvousError(
            f"environment variable {name}={environ[name]!r} is not valid: expected {expected} ({meaning}). "
            f"{_WHAT_TORCHRUN_SETS}."
        )
    return value


def read_env(environ: Mapping[str, str] | None = None) -> dict:
    """torchrun's variables, checked: a dict with rank, world_size, local_rank, local_world_size,
    master_addr, master_port.

    Raises `RendezvousError` (a ValueError) naming every missing variable, or the first invalid one
    with its value and what was expected. ``LOCAL_WORLD_SIZE`` is optional: without it (a launcher
    other than torchrun) it is taken to be ``WORLD_SIZE``, the safe guess for dividing CPU threads.
    """
    environ = os.environ if environ is None else environ
    missing = [name for name in ENV_VARS if not environ.get(name, "").strip()]
    if missing:
        raise RendezvousError(
            f"environment variable{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"{'are' if len(missing) > 1 else 'is'} not set; {_WHAT_TORCHRUN_SETS}."
        )
    size = _env_int(environ, "WORLD_SIZE", 1, None, "the number of processes in the job")
    values = dict(
        rank=_env_int(environ, "RANK", 0, size - 1, f"this process's rank among WORLD_SIZE={size}"),
        world_size=size,
        local_rank=_env_int(environ, "LOCAL_RANK", 0, size - 1, "this process's rank on its machine"),
        master_port=_env_int(environ, "MASTER_PORT", 1, 65535, "the TCP port rank 0 listens on"),
    )
    if environ.get("LOCAL_WORLD_SIZE", "").strip():
        values["local_world_size"] = _env_int(environ, "LOCAL_WORLD_SIZE", 1, size, "processes on this machine")
    else:
        values["local_world_size"] = size
    if values["local_rank"] >= values["local_world_size"]:
        raise RendezvousError(
            f"environment variable LOCAL_RANK={values['local_rank']} is not valid: this machine runs "
            f"LOCAL_WORLD_SIZE={values['local_world_size']} processes, so it must be below that. "
            f"{_WHAT_TORCHRUN_SETS}."
        )
    address = environ["MASTER_ADDR"].strip()
    if any(c.isspace() for c in address):
        raise RendezvousError(
            f"environment variable MASTER_ADDR={environ['MASTER_ADDR']!r} is not valid: expected a host "
            f"name or IP address (rank 0's machine). {_WHAT_TORCHRUN_SETS}."
        )
    values["master_addr"] = address
    return values


def _check_timeout(timeout) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"timeout must be a number of seconds, got {type(timeout).__name__} {timeout!r}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a positive, finite number of seconds (e.g. 120), got {timeout!r}")
    return float(timeout)


def _device_for(device, local_rank: int) -> torch.device:
    """The device this rank computes on: None -> cuda:<local_rank> when CUDA exists, else the CPU."""
    from .device import resolve_device

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = resolve_device(device)
    if device.type == "mps":
        raise ValueError(
            "device='mps': DistributedDataParallel runs on CUDA GPUs (NCCL) or on the CPU (gloo); "
            "use device='cpu' on a Mac"
        )
    if device.type == "cuda":
        index = local_rank if device.index is None else device.index
        count = torch.cuda.device_count()
        if index >= count:
            raise ValueError(
                f"LOCAL_RANK={local_rank} needs GPU cuda:{index}, but this machine has {count}; start at most "
                f"{count} processes per machine (torchrun --nproc-per-node={count})"
            )
        device = torch.device("cuda", index)
    return device


def backend_for(device: torch.device | str) -> str:
    """The collective library for `device`: "nccl" for CUDA GPUs, "gloo" for the CPU."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def init_from_env(device: torch.device | str | None = None, timeout: float = DEFAULT_TIMEOUT) -> DistInfo:
    """Join the job torchrun started: read its variables, choose device and backend, start the group.

    `device`: None (cuda:<LOCAL_RANK> when CUDA is available, else the CPU), "cpu", "cuda" (this
    rank's GPU) or a torch.device. Backend: NCCL for CUDA, gloo for the CPU. `timeout` (seconds)
    bounds the wait for the other ranks at start-up and in every collective afterwards.
    Raises `RendezvousError` for missing or invalid variables and when the ranks do not all arrive
    within `timeout`; RuntimeError if a process group already runs (call `cleanup()` first).
    """
    timeout = _check_timeout(timeout)
    env = read_env()
    if not dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed; install a regular PyTorch wheel")
    if dist.is_initialized():
        raise RuntimeError("a process group is already running in this process; call cleanup() first")
    device = _device_for(device, env["local_rank"])
    backend = backend_for(device)
    options = dict(backend=backend, rank=env["rank"], world_size=env["world_size"])
    if device.type == "cuda":
        torch.cuda.set_device(device)
        options["device_id"] = device
    try:
        dist.init_process_group(init_method="env://", timeout=datetime.timedelta(seconds=timeout), **options)
    except dist.DistError as err:
        raise RendezvousError(
            f"rank {env['rank']} of {env['world_size']} could not meet the other ranks at "
            f"{env['master_addr']}:{env['master_port']} within {timeout:g} s ({str(err).splitlines()[0]}); "
            f"check that all {env['world_size']} processes were started with the same MASTER_ADDR/MASTER_PORT "
            f"(torchrun: the same --rdzv-endpoint) and that the port is reachable"
        ) from err
    return DistInfo(env["rank"], env["world_size"], env["local_rank"], backend, device, env["local_world_size"])


def single_process(device: torch.device | str | None = None) -> DistInfo:
    """A `DistInfo` for a run without torchrun: rank 0 of 1, no process group, `device` as in
    `init_from_env` (None: the first GPU if any, else the CPU)."""
    return DistInfo(0, 1, 0, None, _device_for(device, 0), 1)


def _current(device) -> DistInfo:
    """The `DistInfo` of a process group that already runs in this process."""
    rank, size, backend = dist.get_rank(), dist.get_world_size(), dist.get_backend()
    try:  # started by torchrun: its variables; else (a group built by hand) one process per machine
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        local_size = int(os.environ.get("LOCAL_WORLD_SIZE", size))
    except ValueError:
        local_rank, local_size = rank, size
    dev = _device_for(device if device is not None else ("cuda" if backend == "nccl" else "cpu"), local_rank)
    return DistInfo(rank, size, local_rank, backend, dev, local_size)


def setup(device: torch.device | str | None = None, timeout: float = DEFAULT_TIMEOUT) -> DistInfo:
    """This process's place in the job, whatever started it: the group already running in this
    process, else `init_from_env` under torchrun, else `single_process` (world size 1)."""
    if dist.is_available() and dist.is_initialized():
        return _current(device)
    if launched_by_torchrun():
        return init_from_env(device, timeout)
    return single_process(device)


def cleanup() -> None:
    """End the process group, if one runs (safe to call twice, or without a group)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _running() -> bool:
    return dist.is_available() and dist.is_initialized()


def is_main_process() -> bool:
    """True on rank 0, and in a process without a process group."""
    return not _running() or dist.get_rank() == 0


def get_rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if _running() else 0


def get_world_size() -> int:
    """The number of processes in the job (1 without a process group)."""
    return dist.get_world_size() if _running() else 1


def cpu_threads(local_world_size: int = 1) -> int:
    """Threads each of `local_world_size` processes on this machine should use so that together they
    fill its cores once: ``max(1, cores // local_world_size)``. Cores: those this process may run on
    (``os.sched_getaffinity``, which respects Slurm's and containers' limits), else ``os.cpu_count()``."""
    local_world_size = _whole("local_world_size", local_world_size)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        cores = os.cpu_count() or 1
    return max(1, cores // local_world_size)


# ----------------------------------------------------------------------------------------- the model


def wrap(model: nn.Module, info: DistInfo, **ddp_options) -> nn.Module:
    """`model` moved to ``info.device``, inside `DistributedDataParallel` when a process group runs.

    Without a group (`single_process`) the model is returned as it is, moved. DDP copies rank 0's
    parameters and buffers to every rank when it is built, so all replicas start equal.
    `ddp_options` go to DDP (e.g. ``bucket_cap_mb=25``, the size of one gradient bucket).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"wrap(): model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(info, DistInfo):
        raise TypeError(f"wrap(): info must be the DistInfo of setup()/init_from_env(), got {type(info).__name__}")
    model = model.to(info.device)
    if not info.distributed:
        return model
    device_ids = [info.device.index] if info.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids, **ddp_options)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside a DDP wrapper (``model.module``); any other model as it is.

    Save and load this one: its state_dict has the plain parameter names, without ``module.``."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


# ----------------------------------------------------------------------------------------- the data


class ShardedLoader(TensorLoader):
    """This rank's part of every global batch of a split held in memory (see `TensorLoader`).

    images: uint8 (N, C, H, W); labels: integer (N,). `batch_size` is the **global** batch G -- all
    ranks together -- and must be divisible by `world_size` W; this rank yields batches
    (float32 (b, C, H, W) normalised, labels (b,)) with b = G / W, the ``batch_size`` attribute
    (``global_batch_size`` keeps G). Every epoch all ranks draw the *same* permutation (the same
    `seed`: construct the loader identically on every rank) and cut it into global batches; rank r
    takes the r-th of W contiguous, equal slices of each.

    The remainder, so that every sample is seen exactly once per epoch: the last global batch holds
    R = N mod G samples; it is split into W slices whose sizes differ by at most one (the first
    R mod W ranks get one more). If 0 < R < W some rank would get nothing -- and an empty batch has no
    mean loss -- so those R samples join the global batch before them instead. Every rank has the
    same number of steps, ``len(loader)``. (On a last step whose slices differ by one sample, DDP still
    weights every rank's mean gradient equally; for step-for-step equality with one process choose
    N divisible by G.) With ``drop_last=True`` the R samples are left out of that epoch instead.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int = 128,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = False,
        seed: int = 0,
        mean: float = 0.0,
        std: float = 1.0,
        device: torch.device | str | None = None,
        drop_last: bool = False,
    ):
        super().__init__(images, labels, batch_size, shuffle, seed, mean, std, device, drop_last)
        world_size = _whole("world_size", world_size, 1, " (the number of processes)")
        rank = _whole("rank", rank, 0)
        if rank >= world_size:
            raise ValueError(f"rank must be in 0..world_size-1 = 0..{world_size - 1}, got {rank}")
        if self.batch_size % world_size:
            raise ValueError(
                f"the global batch_size={self.batch_size} is not divisible by world_size={world_size}: each of the "
                f"{world_size} ranks must get an equal share; use a multiple of {world_size}, e.g. "
                f"{world_size * max(1, round(self.batch_size / world_size))}"
            )
        n = len(self.images)
        if not drop_last and n < world_size:
            raise ValueError(
                f"{n} samples cannot give each of the world_size={world_size} ranks at least one; "
                f"use more samples or fewer processes"
            )
        self.rank, self.world_size = rank, world_size
        self.global_batch_size = self.batch_size
        self.batch_size = self.global_batch_size // world_size

    def steps(self) -> list[tuple[int, int]]:
        """The epoch's global batches as (start, end) positions in its permutation, the same on every rank."""
        n, g, w = len(self.images), self.global_batch_size, self.world_size
        full, rest = divmod(n, g)
        bounds = [(i * g, (i + 1) * g) for i in range(full)]
        if rest and not self.drop_last:
            if rest >= w or not bounds:
                bounds.append((full * g, n))
            else:  # too few for one sample per rank: they join the step before
                bounds[-1] = (bounds[-1][0], n)
        return bounds

    def __len__(self) -> int:
        return len(self.steps())

    @property
    def rank_samples(self) -> int:
        """How many samples this rank sees per epoch (the ranks' counts add up to N, or less with drop_last)."""
        w = self.world_size
        return sum((end - start) // w + (self.rank < (end - start) % w) for start, end in self.steps())

    def __iter__(self):
        n = len(self.images)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        non_blocking = self.device.type == "cuda"
        for start, end in self.steps():
            idx = order[start:end].tensor_split(self.world_size)[self.rank]
            x = self.images[idx].to(self.device, non_blocking=non_blocking)
            y = self.labels[idx].to(self.device, non_blocking=non_blocking)
            x = x.float().mul_(1.0 / (255.0 * self.std)).sub_(self.mean / self.std)
            yield x, y

    def __repr__(self) -> str:
        return (
            f"ShardedLoader(rank {self.rank} of {self.world_size}, {len(self.images)} samples, global batch "
            f"{self.global_batch_size} = {self.world_size} x {self.batch_size}, {len(self)} steps)"
        )


def shard(loader: TensorLoader, rank: int | None = None, world_size: int | None = None) -> ShardedLoader:
    """A `ShardedLoader` over the same data as `loader`, whose ``batch_size`` becomes the global batch.

    `rank`/`world_size`: None takes them from the running process group (0 and 1 without one). The
    new loader continues `loader`'s random generator from its current state, so loaders built the
    same way on every rank (same seed, e.g. by `coursekit.data.tensor_splits`) shard the same
    permutation. `loader` itself is left as it is.
    """
    if not isinstance(loader, TensorLoader):
        raise TypeError(
            f"shard() needs a coursekit TensorLoader (e.g. from tensor_splits), got {type(loader).__name__}"
        )
    rank = get_rank() if rank is None else rank
    world_size = get_world_size() if world_size is None else world_size
    sharded = ShardedLoader(
        loader.images,  # on CUDA already pinned: pinning again returns the same tensor
        loader.labels,
        loader.batch_size,
        rank,
        world_size,
        shuffle=loader.shuffle,
        mean=loader.mean,
        std=loader.std,
        device=loader.device,
        drop_last=loader.drop_last,
    )
    sharded.generator.set_state(loader.generator.get_state())
    return sharded


# ----------------------------------------------------------------------------------------- numbers across ranks


def _collective_device() -> torch.device:
    """NCCL reduces tensors on the GPU, gloo on the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _reduce(tensor: torch.Tensor, op) -> torch.Tensor:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(tensor).__name__}; wrap numbers with torch.tensor(...)")
    if not _running():
        return tensor
    work = tensor.to(_collective_device())
    dist.all_reduce(work, op=op)
    if work is not tensor:
        tensor.copy_(work)
    return tensor


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` (any shape) replaced, in place and on every rank, by its elementwise sum over the ranks.

    Returns it. Without a process group it is left as it is (the sum over one process)."""
    return _reduce(tensor, dist.ReduceOp.SUM)


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` (floating point, any shape) replaced in place by its elementwise mean over the ranks."""
    if not tensor.is_floating_point():
        raise TypeError(f"all_reduce_mean needs a floating-point tensor, got {tensor.dtype}; use .double()")
    return all_reduce_sum(tensor).div_(get_world_size())


def all_reduce_max(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` (any shape) replaced in place by its elementwise maximum over the ranks (e.g. the
    slowest rank's seconds)."""
    return _reduce(tensor, dist.ReduceOp.MAX)


def gather_floats(values) -> list[list[float]]:
    """Every rank's list of numbers (the same length on every rank), in rank order, on every rank.

    ``gather_floats([acc])`` on 2 ranks -> ``[[acc_rank0], [acc_rank1]]``; one row without a group."""
    row = torch.tensor([float(v) for v in values], dtype=torch.float64)
    if not _running():
        return [row.tolist()]
    row = row.to(_collective_device())
    rows = [torch.empty_like(row) for _ in range(get_world_size())]
    dist.all_gather(rows, row)
    return [r.cpu().tolist() for r in rows]


def barrier() -> None:
    """Wait until every rank has arrived here (nothing to wait for without a process group)."""
    if _running():
        dist.barrier()


# ----------------------------------------------------------------------------------------- checkpoints


def save_on_main(model: nn.Module, path: str | os.PathLike, meta: dict | None = None) -> Path:
    """Rank 0 writes `model`'s checkpoint to `path` (atomically, `coursekit.checkpoint.save_checkpoint`);
    the other ranks wait for it (a barrier), so the file is complete on return, on every rank.

    A DDP model is unwrapped first: the file holds the plain model's class, configuration and
    parameter names, so ``load_checkpoint(path, LeNet5())`` works in a single process. Returns `path`.
    """
    from .checkpoint import save_checkpoint

    path = Path(path)
    if is_main_process():
        save_checkpoint(unwrap(model), path, meta)
    barrier()
    return path


class SaveOnMain(Callback):
    """Save a checkpoint from rank 0 after every `every` epochs and at the end of `fit`.

    The meta records the epoch, the world size and the epoch's validation accuracy (the same on every
    rank: `fit` sums the counts over the ranks), plus `meta`. See `save_on_main`.
    """

    def __init__(self, path: str | os.PathLike, every: int = 1, meta: dict | None = None):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"SaveOnMain path must be a str or Path, got {type(path).__name__}")
        self.path, self.every = Path(path), _whole("every", every)
        self.meta = dict(meta or {})
        self.saved_epoch: int | None = None

    def _save(self, run: Run) -> None:
        history = run.history
        meta = dict(self.meta, epoch=run.epoch, world_size=get_world_size(), val_acc=history.val_acc[-1])
        save_on_main(run.model, self.path, meta)
        self.saved_epoch = run.epoch

    def after_epoch(self, run: Run) -> None:
        if run.epoch % self.every == 0:
            self._save(run)

    def after_fit(self, run: Run) -> None:
        if run.history.epoch and self.saved_epoch != run.epoch:
            self._save(run)


# ----------------------------------------------------------------------------------------- how it scales


def ring_allreduce_simulated(tensors) -> tuple[list[torch.Tensor], list[int]]:
    """Sum p equal-shaped tensors the way a ring all-reduce does, step by step, in one process.

    Each of the p "ranks" cuts its tensor into p chunks. Reduce-scatter: in each of p-1 steps every
    rank sends one chunk to its right-hand neighbour, which adds it to its own; afterwards rank r holds
    the complete sum of chunk r+1 (mod p). All-gather: p-1 more steps pass the finished chunks
    around. Returns (the p results, each the elementwise sum, same shape as the inputs; the number of
    elements each rank sent) -- 2(p-1)/p times the tensor's size when p divides it.
    """
    tensors = list(tensors)
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise TypeError("ring_allreduce_simulated needs a non-empty list of tensors, one per rank")
    shape = tensors[0].shape
    if any(t.shape != shape for t in tensors):
        raise ValueError(f"every rank's tensor must have the same shape, got {[tuple(t.shape) for t in tensors]}")
    p = len(tensors)
    chunks = [list(t.detach().flatten().clone().tensor_split(p)) for t in tensors]  # chunks[rank][c]
    sent = [0] * p
    for phase in ("reduce-scatter", "all-gather"):
        for step in range(p - 1):
            if phase == "reduce-scatter":
                messages = [(r, (r - step) % p) for r in range(p)]  # rank r passes on chunk r - step
            else:
                messages = [(r, (r + 1 - step) % p) for r in range(p)]  # rank r passes on a finished chunk
            payload = [chunks[r][c].clone() for r, c in messages]  # all ranks send at the same time
            for (r, c), data in zip(messages, payload, strict=True):
                receiver = (r + 1) % p
                if phase == "reduce-scatter":
                    chunks[receiver][c] = chunks[receiver][c] + data
                else:
                    chunks[receiver][c] = data
                sent[r] += data.numel()
    return [torch.cat(chunks[r]).reshape(shape) for r in range(p)], sent


def ring_allreduce_seconds(nbytes: float, world_size: int, bandwidth: float, latency: float = 0.0) -> float:
    """Time of a ring all-reduce of `nbytes` bytes over `world_size` devices:

        2 (p - 1) / p * nbytes / bandwidth  +  2 (p - 1) * latency

    `bandwidth` in bytes per second per direction of the slowest link in the ring, `latency` in
    seconds per message. 0 for one device (nothing to exchange).
    """
    for name, value in (("nbytes", nbytes), ("bandwidth", bandwidth), ("latency", latency)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if bandwidth == 0:
        raise ValueError("bandwidth must be > 0 (bytes per second)")
    p = _whole("world_size", world_size)
    if p == 1:
        return 0.0
    return 2 * (p - 1) / p * nbytes / bandwidth + 2 * (p - 1) * latency


def scaling_model(
    compute_seconds: float,
    nbytes: float,
    world_sizes,
    bandwidth: float,
    latency: float = 0.0,
    gpus_per_node: int | None = None,
    network_bandwidth: float | None = None,
    network_latency: float | None = None,
    backward_fraction: float = 2 / 3,
    bucket_bytes: float = 25 * 2**20,
) -> list[dict]:
    """How a data-parallel step scales with the number of GPUs p, each with the same per-GPU batch.

    `compute_seconds`: forward + backward of one GPU's batch; `nbytes`: the gradient all-reduced
    every step. The all-reduce is `ring_allreduce_seconds` over one ring through all p GPUs, as fast
    as its slowest link: `bandwidth`/`latency` inside a node, and `network_bandwidth`/`network_latency`
    once p exceeds `gpus_per_node` (when those are given). Two estimates of a step:

    - no overlap: t = compute + allreduce(nbytes);
    - DDP's overlap: the gradient travels in buckets of `bucket_bytes` (DDP's default: 25 MiB), each
      all-reduced as soon as backward has produced it -- except the last bucket, which is ready only
      when backward ends: t = forward + max(backward, allreduce(nbytes - last)) + allreduce(last),
      last = min(nbytes, bucket_bytes), backward = `backward_fraction` of compute. A gradient that
      fits in one bucket gets no overlap at all.

    One row per p: world_size, allreduce_s, step_s (no overlap), step_overlap_s, speedup and
    speedup_overlap (p * compute / t: images per second relative to one GPU), efficiency and
    efficiency_overlap (speedup / p).
    """
    if not (isinstance(backward_fraction, numbers.Real) and 0 <= backward_fraction <= 1):
        raise ValueError(f"backward_fraction must be in [0, 1], got {backward_fraction!r}")
    if isinstance(bucket_bytes, bool) or not isinstance(bucket_bytes, numbers.Real) or not bucket_bytes > 0:
        raise ValueError(f"bucket_bytes must be a positive number, got {bucket_bytes!r}")
    if isinstance(compute_seconds, bool) or not isinstance(compute_seconds, numbers.Real) or not compute_seconds > 0:
        raise ValueError(f"compute_seconds must be a positive number, got {compute_seconds!r}")
    if gpus_per_node is not None:
        gpus_per_node = _whole("gpus_per_node", gpus_per_node)
        if network_bandwidth is None:
            raise ValueError("gpus_per_node is given: give network_bandwidth (bytes/s between nodes) too")
    rows = []
    backward = backward_fraction * compute_seconds
    forward = compute_seconds - backward
    for p in world_sizes:
        p = _whole("world size", p)
        across = gpus_per_node is not None and p > gpus_per_node
        bw = network_bandwidth if across else bandwidth
        lat = (network_latency if network_latency is not None else latency) if across else latency
        allreduce = ring_allreduce_seconds(nbytes, p, bw, lat)
        step = compute_seconds + allreduce
        last = min(nbytes, bucket_bytes)
        hidden = ring_allreduce_seconds(nbytes - last, p, bw, lat) if nbytes > last else 0.0
        step_overlap = forward + max(backward, hidden) + ring_allreduce_seconds(last, p, bw, lat)
        rows.append(
            dict(
                world_size=p,
                allreduce_s=allreduce,
                step_s=step,
                step_overlap_s=step_overlap,
                speedup=p * compute_seconds / step,
                speedup_overlap=p * compute_seconds / step_overlap,
                efficiency=compute_seconds / step,
                efficiency_overlap=compute_seconds / step_overlap,
            )
        )
    return rows


# The assumptions of the GPU scaling model (notebook 17 and benchmarks/distributed.py print them with every
# table): bandwidth in bytes per second per direction of one link, latency in seconds per message of the ring.
INTERCONNECTS = {
    "NVLink": dict(bandwidth=150e9, latency=5e-6),  # GPU to GPU inside a node
    "PCIe 4.0 x16": dict(bandwidth=25e9, latency=10e-6),  # GPUs of a node without NVLink
    "InfiniBand 100 Gb/s": dict(bandwidth=12.5e9, latency=10e-6),  # between nodes: 100 Gbit/s = 12.5 GB/s
}
# The GPU: training arithmetic it sustains (an A100-class GPU reaches roughly this on ResNet-50 in bfloat16),
# the least time one step takes however small the model (launching the step's few hundred kernels), and
# how many GPUs share a node.
ASSUMED_GPU = dict(name="an A100-class GPU", sustained_flops=50e12, min_step_seconds=1e-3, gpus_per_node=8)


def assumed_step_seconds(flops_per_image: float, batch: int) -> float:
    """Forward + backward time of one GPU's batch under `ASSUMED_GPU`: 3 x forward FLOPs x batch /
    sustained FLOP/s (backward costs about twice forward), but never less than its minimum step time."""
    batch = _whole("batch", batch)
    if isinstance(flops_per_image, bool) or not isinstance(flops_per_image, numbers.Real) or flops_per_image <= 0:
        raise ValueError(f"flops_per_image must be a positive number, got {flops_per_image!r}")
    work = 3 * flops_per_image * batch / ASSUMED_GPU["sustained_flops"]
    return max(ASSUMED_GPU["min_step_seconds"], work)


def scaling_table(
    compute_seconds: float,
    nbytes: float,
    within: str = "NVLink",
    between: str = "InfiniBand 100 Gb/s",
    world_sizes=(1, 2, 4, 8, 16, 32, 64),
) -> list[dict]:
    """`scaling_model` for GPUs in nodes of ``ASSUMED_GPU["gpus_per_node"]``, linked by the `within`
    interconnect inside a node and the `between` one across nodes (names of `INTERCONNECTS`)."""
    from .errors import UnknownName

    for name in (within, between):
        if name not in INTERCONNECTS:
            raise UnknownName("interconnect", name, INTERCONNECTS)
    inside, across = INTERCONNECTS[within], INTERCONNECTS[between]
    return scaling_model(
        compute_seconds,
        nbytes,
        world_sizes,
        bandwidth=inside["bandwidth"],
        latency=inside["latency"],
        gpus_per_node=ASSUMED_GPU["gpus_per_node"],
        network_bandwidth=across["bandwidth"],
        network_latency=across["latency"],
    )
