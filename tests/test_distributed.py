"""Data-parallel training (coursekit.distributed, coursekit.launch): two processes compute what one computes.

Everything runs on the CPU with gloo; processes talk over 127.0.0.1 on ports the OS reports free.

- torchrun's variables: a missing or invalid one is named, with what torchrun sets (no process is started);
  a rank whose partners never come gives up after its timeout with an error saying so;
- `ShardedLoader`: every sample exactly once per epoch over all ranks, for many sizes, world sizes and
  remainders, the same permutation on every rank, reproducible by seed; a global batch the world size
  does not divide is refused;
- one 2-process job under torchrun (``python -m torch.distributed.run``, a module fixture), in which
  (a) `fit` trains a float64 toy CNN wrapped in DDP for 3 steps of 2 x 8 samples: its parameters equal
      those of 1 process x 16 samples to 1e-12, and both replicas hold bit-identical parameters;
  (b) a `ShardedLoader` over 101 samples, iterated on both real ranks, covers every sample exactly once;
  (c) `python -m coursekit.launch` trains LeNet-5 on 1,024 MNIST digits: the same test accuracy as the
      1-process run of this process with the same seed and global batch (tolerance 0.01; float32
      rounding is the only difference, measured at 0 here), the same accuracy on every rank, and rank 0's
      checkpoint loads into a plain LeNet5 in this process and reproduces the validation accuracy;
- a rank killed with SIGKILL mid-training makes the other exit with an error (within 60 s) instead of hanging;
- the arithmetic of the ring all-reduce and of the scaling model, and the checks of notebook 17.

This file is also the workers' program: ``python tests/test_distributed.py <job|die> <folder>``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from coursekit import distributed as cd
from coursekit.callbacks import Callback
from coursekit.data.loaders import TensorLoader
from coursekit.distributed import RendezvousError, ShardedLoader
from coursekit.train import fit

HERE = Path(__file__).resolve()
JOB_TIMEOUT = 240  # seconds before a hung job is killed (the test then fails instead of waiting forever)
LAUNCH_ARGS = [
    "--model", "lenet", "--device", "cpu", "--global-batch", "64", "--train-subset", "1024",
    "--val-size", "512", "--test-subset", "512", "--epochs", "1", "--lr", "0.008",
    "--weight-decay", "1e-4", "--seed", "0", "--no-progress",
]  # fmt: skip
ACCURACY_TOLERANCE = 0.01


# ----------------------------------------------------------------------------------------- shared pieces


class Float64(nn.Module):
    """Casts the loader's float32 batch to float64, so the exactness test compares float64 arithmetic."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.double()


def toy_model() -> nn.Module:
    """A small float64 CNN: (B, 1, 8, 8) -> (B, 3) logits, seeded."""
    torch.manual_seed(0)
    return nn.Sequential(Float64(), nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).double()


def toy_loader(rank: int, world_size: int) -> ShardedLoader:
    """48 random 8x8 images in 3 classes; a global batch of 16 -> 3 steps per epoch."""
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (48, 1, 8, 8), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 3, (48,), generator=g)
    return ShardedLoader(images, labels, 16, rank, world_size, shuffle=True, seed=2, mean=0.5, std=0.25)


def train_toy(model: nn.Module, loader) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fit(model, loader, None, 1, optimizer, device="cpu", progress=False, live=False)


def index_loader(n: int, global_batch: int, rank: int, world_size: int, **options) -> ShardedLoader:
    """A loader whose labels are the sample indices 0..n-1, so the batches show which samples a rank got."""
    images = torch.zeros(n, 1, 1, 1, dtype=torch.uint8)
    return ShardedLoader(images, torch.arange(n), global_batch, rank, world_size, **options)


def seen(loader) -> list[int]:
    """The sample indices one epoch of an `index_loader` yields, in order."""
    return [i for _, y in loader for i in y.tolist()]


def base_env(extra: dict) -> dict:
    """The environment of a worker: this one, minus any rendezvous variables, plus `extra`."""
    from coursekit.launch import local_env

    env = {k: v for k, v in local_env().items() if k not in cd.ENV_VARS + ("LOCAL_WORLD_SIZE",)}
    env.update(extra)
    return env


# ----------------------------------------------------------------------------------------- the workers


class KillAt(Callback):
    """Rank 1 kills itself (SIGKILL: no clean-up, like a crash) after `batch` steps of epoch 1."""

    def __init__(self, batch: int):
        self.batch = batch

    def after_batch(self, run) -> None:
        if cd.get_rank() == 1 and run.batch == self.batch:
            os.kill(os.getpid(), signal.SIGKILL)


def worker_job(folder: Path) -> None:
    """Under torchrun, 2 ranks: (a) exactness, (b) coverage, (c) the launch script, on one process group."""
    from coursekit import launch
    from coursekit.train import _is_main

    info = cd.init_from_env(device="cpu", timeout=60)
    rank = info.rank
    model = cd.wrap(toy_model(), info)
    train_toy(model, toy_loader(rank, info.world_size))
    torch.save(cd.unwrap(model).state_dict(), folder / f"exact_rank{rank}.pt")
    cd.save_on_main(model, folder / f"saved_by_rank{rank}.pt")
    loader = index_loader(101, 10, rank, info.world_size, shuffle=True, seed=5)
    epochs = [seen(loader) for _ in range(2)]
    (folder / f"rank{rank}.json").write_text(json.dumps(dict(epochs=epochs, is_main=_is_main(model))))
    launch.main([*LAUNCH_ARGS, "--out", str(folder / "ddp.json"), "--checkpoint", str(folder / "ddp.pt")])
    cd.cleanup()


def worker_die(folder: Path) -> None:
    """2 ranks started by hand (no torchrun to stop the survivor); rank 1 dies after 3 steps."""
    info = cd.init_from_env(device="cpu", timeout=30)
    model = cd.wrap(toy_model(), info)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = toy_loader(info.rank, info.world_size)
    fit(model, loader, None, 1000, optimizer, device="cpu", progress=False, live=False, callbacks=[KillAt(2)])
    (folder / f"finished_rank{info.rank}").write_text("training ended normally\n")  # must never happen


# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """Run `worker_job` under torchrun with 2 processes; the folder with what the ranks wrote."""
    from coursekit.launch import torchrun_command

    folder = tmp_path_factory.mktemp("ddp_job")
    command = torchrun_command(2, ["job", folder], program=str(HERE))
    assert command[command.index("--master-addr=127.0.0.1") + 2] == str(HERE)  # a script, not a module
    done = subprocess.run(command, capture_output=True, text=True, timeout=JOB_TIMEOUT, env=base_env({}))
    assert done.returncode == 0, f"the 2-process job failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return folder


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    """The launch script in this process, without torchrun: world size 1, the same seed and global batch."""
    from coursekit import launch

    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("single") / "single.json"
    try:
        report = launch.main([*LAUNCH_ARGS, "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    return report


# ----------------------------------------------------------------------------------------- torchrun's variables

GOOD_ENV = dict(
    RANK="1", WORLD_SIZE="2", LOCAL_RANK="1", LOCAL_WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT="29500"
)


def test_read_env_accepts_what_torchrun_sets():
    values = cd.read_env(GOOD_ENV)
    assert values == dict(
        rank=1, world_size=2, local_rank=1, local_world_size=2, master_addr="127.0.0.1", master_port=29500
    )
    assert cd.launched_by_torchrun(GOOD_ENV) and not cd.launched_by_torchrun({"PATH": "/bin"})
    no_local_size = {k: v for k, v in GOOD_ENV.items() if k != "LOCAL_WORLD_SIZE"}
    assert cd.read_env(no_local_size)["local_world_size"] == 2  # the safe guess: all on this machine


def test_missing_variables_are_named_with_what_torchrun_sets():
    with pytest.raises(RendezvousError, match=r"RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT are not set"):
        cd.read_env({})
    env = {k: v for k, v in GOOD_ENV.items() if k != "MASTER_PORT"}
    with pytest.raises(RendezvousError, match=r"variable MASTER_PORT is not set; torchrun sets these"):
        cd.read_env(env)
    with pytest.raises(RendezvousError, match=r"MASTER_ADDR is not set"):
        cd.read_env(dict(GOOD_ENV, MASTER_ADDR="  "))


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("RANK", "two", r"RANK='two' is not valid: expected an integer in 0\.\.1"),
        ("RANK", "2", r"RANK='2' is not valid: expected an integer in 0\.\.1"),
        ("WORLD_SIZE", "0", r"WORLD_SIZE='0' is not valid: expected an integer >= 1"),
        ("LOCAL_RANK", "-1", r"LOCAL_RANK='-1' is not valid"),
        ("MASTER_PORT", "70000", r"MASTER_PORT='70000' is not valid: expected an integer in 1\.\.65535"),
        ("LOCAL_WORLD_SIZE", "1", r"LOCAL_RANK=1 is not valid: this machine runs LOCAL_WORLD_SIZE=1"),
        ("MASTER_ADDR", "host name", r"MASTER_ADDR='host name' is not valid"),
    ],
)
def test_invalid_variables_are_named_with_their_value(name, value, expected):
    with pytest.raises(RendezvousError, match=expected):
        cd.read_env(dict(GOOD_ENV, **{name: value}))


def test_init_from_env_reads_os_environ_and_checks_its_arguments(monkeypatch):
    for name in cd.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RendezvousError, match="not set"):
        cd.init_from_env(device="cpu")
    for name, value in GOOD_ENV.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="timeout must be a positive"):
        cd.init_from_env(device="cpu", timeout=0)
    with pytest.raises(TypeError, match="timeout must be a number of seconds"):
        cd.init_from_env(device="cpu", timeout="60")
    with pytest.raises((ValueError, RuntimeError), match="(?i)mps"):  # a Mac: DDP needs CUDA or the CPU
        cd.init_from_env(device="mps")
    with pytest.raises(ValueError, match="unknown device argument 'tpu'"):
        cd.init_from_env(device="tpu")


def test_a_rank_whose_partners_never_come_gives_up(monkeypatch):
    from coursekit.launch import free_port

    env = dict(GOOD_ENV, RANK="0", LOCAL_RANK="0", MASTER_PORT=str(free_port()))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    alone = r"rank 0 of 2 could not meet the other ranks at 127\.0\.0\.1:\d+ within 1 s"
    with pytest.raises(RendezvousError, match=alone):
        cd.init_from_env(device="cpu", timeout=1)
    assert not torch.distributed.is_initialized()


def test_a_running_group_is_reused_not_started_twice(monkeypatch):
    from coursekit.launch import free_port

    env = dict(GOOD_ENV, RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", LOCAL_WORLD_SIZE="1", MASTER_PORT=str(free_port()))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    info = cd.init_from_env(device="cpu", timeout=30)  # a real gloo group of one process
    try:
        assert (info.rank, info.world_size, info.backend, info.device.type) == (0, 1, "gloo", "cpu")
        assert info.distributed and info.is_main
        with pytest.raises(RuntimeError, match="a process group is already running in this process"):
            cd.init_from_env(device="cpu")
        assert cd.setup(device="cpu") == info  # setup() joins the running group instead
        x = torch.tensor([1.0, 3.0])
        assert cd.all_reduce_mean(x) is x and x.tolist() == [1.0, 3.0]
        assert cd.all_reduce_max(torch.tensor([2, 5])).tolist() == [2, 5]
        assert cd.gather_floats([0.25, 0.5]) == [[0.25, 0.5]] and cd.get_world_size() == 1 and cd.is_main_process()
        with pytest.raises(TypeError, match="floating-point"):
            cd.all_reduce_mean(torch.tensor([1, 2]))
        cd.barrier()
    finally:
        cd.cleanup()
    assert not torch.distributed.is_initialized()


def test_without_torchrun_setup_describes_one_process(monkeypatch):
    for name in cd.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    info = cd.setup(device="cpu")
    assert (info.rank, info.world_size, info.backend, info.device.type) == (0, 1, None, "cpu")
    assert info.is_main and not info.distributed and cd.is_main_process() and cd.get_world_size() == 1
    model = nn.Linear(3, 2)
    assert cd.wrap(model, info) is model and cd.unwrap(model) is model
    assert cd.backend_for("cpu") == "gloo" and cd.backend_for("cuda:1") == "nccl"
    x = torch.tensor([1.0, 2.0])
    assert cd.all_reduce_sum(x) is x and x.tolist() == [1.0, 2.0] and cd.gather_floats([0.5]) == [[0.5]]
    cd.cleanup()  # nothing to end: no error


def test_cpu_threads_split_the_cores():
    cores = cd.cpu_threads(1)
    assert cores >= 1
    assert cd.cpu_threads(2) == max(1, cores // 2)
    assert cd.cpu_threads(10_000) == 1
    with pytest.raises(ValueError, match="local_world_size must be at least 1"):
        cd.cpu_threads(0)


# ----------------------------------------------------------------------------------------- the sharded loader


@pytest.mark.parametrize(
    "n, global_batch, world_size",
    [(64, 16, 2), (70, 16, 2), (65, 16, 2), (101, 12, 3), (100, 12, 3), (49, 12, 4), (7, 8, 4), (5, 4, 4)],
)
def test_every_sample_exactly_once_per_epoch(n, global_batch, world_size):
    loaders = [index_loader(n, global_batch, r, world_size, shuffle=True, seed=3) for r in range(world_size)]
    steps = {len(loader) for loader in loaders}
    assert len(steps) == 1, "every rank must take the same number of steps, or DDP would wait forever"
    for _ in range(3):  # three epochs, three different permutations
        batches = [list(loader) for loader in loaders]
        assert all(len(b) == len(loaders[0]) for b in batches)
        together = sorted(i for rank_batches in batches for _, y in rank_batches for i in y.tolist())
        assert together == list(range(n))
        for step in zip(*batches, strict=True):  # each step: sizes differ by at most one, none empty
            sizes = [len(y) for _, y in step]
            assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1 and max(sizes) <= global_batch // world_size + 1
    assert sum(loader.rank_samples for loader in loaders) == n


def test_a_short_last_batch_is_split_or_joins_the_one_before():
    # 70 = 4 x 16 + 6: a fifth, short step of 3 + 3
    assert [len(y) for _, y in index_loader(70, 16, 0, 2)] == [8, 8, 8, 8, 3]
    # 65 = 4 x 16 + 1: one sample cannot be shared by 2 ranks, so it joins step 4 (9 + 8)
    assert [len(y) for _, y in index_loader(65, 16, 0, 2)] == [8, 8, 8, 9]
    assert [len(y) for _, y in index_loader(65, 16, 1, 2)] == [8, 8, 8, 8]
    # drop_last leaves the remainder out of the epoch
    loader = index_loader(70, 16, 1, 2, drop_last=True)
    assert [len(y) for _, y in loader] == [8, 8, 8, 8] and loader.rank_samples == 32


def test_ranks_take_disjoint_slices_of_the_same_permutation():
    one = index_loader(48, 16, 0, 1, shuffle=True, seed=7)
    halves = [index_loader(48, 16, r, 2, shuffle=True, seed=7) for r in range(2)]
    for (_, whole), (_, first), (_, second) in zip(one, *halves, strict=True):
        assert torch.equal(torch.cat([first, second]), whole)  # the global batch, cut in two
    again = index_loader(48, 16, 0, 2, shuffle=True, seed=7)
    assert seen(again) == seen(index_loader(48, 16, 0, 2, shuffle=True, seed=7))  # reproducible by seed
    assert seen(again) != seen(again)  # a new permutation each epoch
    assert seen(index_loader(48, 16, 0, 2)) == [*range(8), *range(16, 24), *range(32, 40)]  # unshuffled


def test_sharded_batches_are_normalised_like_tensor_loader():
    images = torch.randint(0, 256, (12, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(12)
    plain = TensorLoader(images, labels, 12, mean=0.2, std=0.3)
    sharded = [ShardedLoader(images, labels, 12, r, 3, mean=0.2, std=0.3) for r in range(3)]
    (x, _), parts = next(iter(plain)), [next(iter(s)) for s in sharded]
    assert torch.equal(torch.cat([p[0] for p in parts]), x)
    assert all(p[0].shape == (4, 1, 4, 4) and p[0].dtype == torch.float32 for p in parts)
    assert "global batch 12 = 3 x 4" in repr(sharded[0])


def test_shard_continues_a_tensor_loader():
    images = torch.zeros(40, 1, 1, 1, dtype=torch.uint8)
    loader = TensorLoader(images, torch.arange(40), 10, shuffle=True, seed=4, mean=0.1, std=0.5)
    parts = [cd.shard(loader, r, 2) for r in range(2)]
    assert (parts[0].batch_size, parts[0].global_batch_size, parts[0].mean, parts[0].std) == (5, 10, 0.1, 0.5)
    expected = [y for _, y in loader]  # the loader's own next epoch: the shards cut exactly this one
    got = [torch.cat([a, b]) for (_, a), (_, b) in zip(*parts, strict=True)]
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
    assert cd.shard(loader).world_size == 1  # no process group: one rank


def test_bad_sharding_is_refused():
    with pytest.raises(ValueError, match=r"global batch_size=10 is not divisible by world_size=3.*multiple of 3"):
        index_loader(30, 10, 0, 3)
    with pytest.raises(ValueError, match=r"rank must be in 0\.\.world_size-1 = 0\.\.1, got 2"):
        index_loader(30, 10, 2, 2)
    with pytest.raises(ValueError, match="world_size must be at least 1"):
        index_loader(30, 10, 0, 0)
    with pytest.raises(TypeError, match="rank must be a whole number"):
        index_loader(30, 10, 0.5, 2)
    with pytest.raises(ValueError, match=r"3 samples cannot give each of the world_size=4 ranks at least one"):
        index_loader(3, 4, 0, 4)
    with pytest.raises(TypeError, match="shard\\(\\) needs a coursekit TensorLoader"):
        cd.shard([(torch.zeros(2, 1), torch.zeros(2))], 0, 1)
    with pytest.raises(TypeError, match="wrap\\(\\): model must be a torch.nn.Module"):
        cd.wrap("lenet", cd.single_process("cpu"))
    with pytest.raises(TypeError, match="wrap\\(\\): info must be the DistInfo"):
        cd.wrap(nn.Linear(2, 2), "cpu")


# ----------------------------------------------------------------------------------------- fit and rank 0


def test_only_rank_0_gets_the_progress_bar_and_live_figure():
    from coursekit.callbacks import LivePlot, ProgressBar
    from coursekit.train import _callback_list

    shown = _callback_list([], progress=True, live=True, main=True)
    assert [type(cb) for cb in shown] == [ProgressBar, LivePlot]
    assert _callback_list([], progress=True, live=True, main=False) == []


def test_save_on_main_writes_the_plain_model(tmp_path):
    from coursekit.checkpoint import load_checkpoint
    from coursekit.models import LeNet5

    torch.manual_seed(0)
    model = LeNet5()
    path = cd.save_on_main(model, tmp_path / "lenet.pt", dict(note="one process"))
    fresh = LeNet5()
    assert load_checkpoint(path, fresh) == dict(note="one process")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="every must be at least 1"):
        cd.SaveOnMain(tmp_path / "x.pt", every=0)


# ----------------------------------------------------------------------------------------- the 2-process job


def test_two_processes_take_the_steps_of_one_with_twice_the_batch(job):
    reference = toy_model()
    train_toy(reference, toy_loader(0, 1))  # 1 process x 16 samples per step
    ranks = [torch.load(job / f"exact_rank{r}.pt", weights_only=True) for r in range(2)]  # 2 processes x 8
    start = toy_model().state_dict()
    for name, expected in reference.state_dict().items():
        assert not torch.equal(expected, start[name]), f"{name} did not change: the test would prove nothing"
        assert torch.equal(ranks[0][name], ranks[1][name]), f"the replicas' {name} differ"
        assert torch.allclose(ranks[0][name], expected, rtol=0, atol=1e-12), name  # float64 rounding only


def test_the_real_ranks_cover_every_sample_exactly_once(job):
    records = [json.loads((job / f"rank{r}.json").read_text()) for r in range(2)]
    for epoch in range(2):
        together = records[0]["epochs"][epoch] + records[1]["epochs"][epoch]
        assert sorted(together) == list(range(101))
    assert records[0]["epochs"][0] != records[0]["epochs"][1]  # each epoch its own permutation
    assert [r["is_main"] for r in records] == [True, False]  # fit's progress bar: rank 0 only


def test_only_rank_0_writes_checkpoints(job):
    assert (job / "saved_by_rank0.pt").exists() and not (job / "saved_by_rank1.pt").exists()


def test_two_processes_reach_the_accuracy_of_one(job, single_run):
    ddp = json.loads((job / "ddp.json").read_text())
    assert (ddp["world_size"], ddp["backend"], ddp["threads_per_process"]) == (2, "gloo", max(1, cd.cpu_threads(2)))
    assert (single_run["world_size"], single_run["backend"]) == (1, "none")
    assert ddp["global_batch"] == single_run["global_batch"] == 64 and ddp["batch_per_rank"] == 32
    assert ddp["steps_per_epoch"] == single_run["steps_per_epoch"] == 1024 // 64
    assert ddp["history"]["samples"] == single_run["history"]["samples"] == 1024  # summed over the ranks
    assert single_run["test_acc"] > 0.5, "the run must learn, or agreeing accuracies would prove little"
    assert abs(ddp["test_acc"] - single_run["test_acc"]) <= ACCURACY_TOLERANCE
    assert abs(ddp["val_acc"] - single_run["val_acc"]) <= ACCURACY_TOLERANCE
    assert math.isclose(ddp["history"]["train_loss"][0], single_run["history"]["train_loss"][0], rel_tol=1e-3)
    assert ddp["val_acc_by_rank"] == [ddp["val_acc"]] * 2 and ddp["test_acc_by_rank"] == [ddp["test_acc"]] * 2
    assert ddp["images_per_second"] > 0 and ddp["gradient_bytes"] == 4 * ddp["parameters"] == 4 * 61_706


def test_rank_0_checkpoint_loads_in_one_process(job):
    from coursekit.checkpoint import load_checkpoint
    from coursekit.data import tensor_splits
    from coursekit.models import LeNet5
    from coursekit.train import evaluate

    ddp = json.loads((job / "ddp.json").read_text())
    model = LeNet5()
    meta = load_checkpoint(job / "ddp.pt", model)
    assert (meta["epoch"], meta["world_size"], meta["model"]) == (1, 2, "lenet")
    assert meta["val_acc"] == ddp["val_acc"]
    val = tensor_splits("mnist", 64, 1024, val_size=512, test_subset=512, seed=0).val
    _, accuracy = evaluate(model, val, "cpu")
    assert abs(accuracy - ddp["val_acc"]) <= 2 / 512  # at most two borderline digits may flip with the batching


def test_the_launch_script_trains_the_resnet_too():
    from coursekit import launch

    threads = torch.get_num_threads()
    try:
        report = launch.main(
            ["--model", "resnet", "--device", "cpu", "--global-batch", "32", "--train-subset", "64",
             "--val-size", "64", "--test-subset", "64", "--epochs", "1", "--no-progress"]
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    assert (report["model_class"], report["dataset"], report["world_size"]) == ("ResNet", "fashion_mnist", 1)
    assert report["history"]["samples"] == 64 and report["steps_per_epoch"] == 2 and 0 <= report["test_acc"] <= 1


def test_launch_commands_and_their_errors(tmp_path):
    from coursekit import launch
    from coursekit.errors import UnknownName

    command = launch.torchrun_command(3, ["--epochs", 1], port=29999)
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=3" in command and "--master-addr=127.0.0.1" in command
    assert command[-4:] == ["-m", "coursekit.launch", "--epochs", "1"] and "--master-port=29999" in command
    with pytest.raises(ValueError, match="nproc must be a positive int"):
        launch.torchrun_command(0, [])
    with pytest.raises(UnknownName, match="unknown model 'alexnet'; choose one of: lenet, resnet"):
        launch.build_model("alexnet")
    with pytest.raises(SystemExit):
        launch.parse_args(["--batch-size", "32", "--global-batch", "64"])  # one or the other
    # a run that fails under torchrun: its exit code and the end of its output, not a silent None
    with pytest.raises(RuntimeError, match=r"(?s)the 1-process run failed \(exit code [1-9].*invalid choice: 'nope'"):
        launch.run_local(1, ["--model", "nope"], tmp_path / "out.json", timeout=JOB_TIMEOUT)
    assert not (tmp_path / "out.json").exists()


# ----------------------------------------------------------------------------------------- a rank that dies


def test_a_dead_rank_stops_the_other_instead_of_hanging(tmp_path):
    from coursekit.launch import free_port

    port = str(free_port())
    processes = []
    try:
        for rank in range(2):
            env = base_env(dict(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE="2",
                                MASTER_ADDR="127.0.0.1", MASTER_PORT=port, OMP_NUM_THREADS="1"))  # fmt: skip
            command = [sys.executable, str(HERE), "die", str(tmp_path)]
            processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        survivor, victim = processes
        try:
            _, err = survivor.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("rank 0 was still waiting 60 s after rank 1 died: it hangs instead of failing")
        assert victim.wait(timeout=60) == -signal.SIGKILL
        assert survivor.returncode != 0, "rank 0 must fail when its partner is gone"
        assert not list(tmp_path.glob("finished_rank*"))
        assert b"Error" in err  # a Python traceback, not a silent exit
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


# ----------------------------------------------------------------------------------------- how it scales


def test_the_simulated_ring_sums_and_sends_2_p_minus_1_over_p_of_the_data():
    g = torch.Generator().manual_seed(0)
    for p, n in [(2, 12), (4, 12), (3, 10), (5, 7)]:
        tensors = [torch.randn(n, generator=g, dtype=torch.float64) for _ in range(p)]
        results, sent = cd.ring_allreduce_simulated(tensors)
        total = sum(tensors)
        assert all(torch.allclose(r, total, rtol=0, atol=1e-12) for r in results)
        assert sum(sent) == 2 * (p - 1) * n  # every chunk travels p-1 hops in each phase
        if n % p == 0:
            assert sent == [2 * (p - 1) * n // p] * p
    matrices = [torch.ones(2, 3) * k for k in range(3)]
    assert cd.ring_allreduce_simulated(matrices)[0][0].shape == (2, 3)
    with pytest.raises(ValueError, match="same shape"):
        cd.ring_allreduce_simulated([torch.ones(2), torch.ones(3)])
    with pytest.raises(TypeError, match="one per rank"):
        cd.ring_allreduce_simulated([])


def test_ring_allreduce_time_and_the_scaling_model():
    assert cd.ring_allreduce_seconds(1e9, 1, 1e10) == 0.0
    assert math.isclose(cd.ring_allreduce_seconds(1e9, 4, 1e10), 2 * 3 / 4 * 0.1)
    assert math.isclose(cd.ring_allreduce_seconds(0, 4, 1e10, latency=1e-5), 6e-5)
    rows = cd.scaling_model(0.03, 1e8, [1, 2, 8, 16], bandwidth=1e11, gpus_per_node=8, network_bandwidth=1e10)
    assert [r["world_size"] for r in rows] == [1, 2, 8, 16]
    assert rows[0]["efficiency"] == 1.0 and rows[0]["speedup"] == 1.0
    assert all(r["speedup_overlap"] >= r["speedup"] for r in rows)
    assert math.isclose(rows[2]["allreduce_s"], 2 * 7 / 8 * 1e8 / 1e11)  # inside a node: NVLink-like
    assert math.isclose(rows[3]["allreduce_s"], 2 * 15 / 16 * 1e8 / 1e10)  # across nodes: the network
    last = 25 * 2**20  # DDP's bucket: the last one is exposed, the others hide behind backward (0.02 s)
    hidden, exposed = (cd.ring_allreduce_seconds(n, 16, 1e10) for n in (1e8 - last, last))
    assert math.isclose(rows[3]["step_overlap_s"], 0.01 + max(0.02, hidden) + exposed)
    small = cd.scaling_model(0.03, 1e6, [2, 64], bandwidth=1e9)  # one bucket: nothing to overlap with
    assert all(math.isclose(r["step_overlap_s"], r["step_s"]) for r in small)
    table = cd.scaling_table(cd.assumed_step_seconds(1e9, 64), 1e8, within="PCIe 4.0 x16")
    assert [r["world_size"] for r in table] == [1, 2, 4, 8, 16, 32, 64]
    assert math.isclose(table[3]["allreduce_s"], cd.ring_allreduce_seconds(1e8, 8, 25e9, 10e-6))
    assert cd.assumed_step_seconds(1.0, 1) == cd.ASSUMED_GPU["min_step_seconds"]
    with pytest.raises(ValueError, match="unknown interconnect 'carrier pigeon'"):
        cd.scaling_table(0.01, 1e6, within="carrier pigeon")
    with pytest.raises(ValueError, match="give network_bandwidth"):
        cd.scaling_model(0.03, 1e8, [1], bandwidth=1e11, gpus_per_node=8)
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        cd.ring_allreduce_seconds(1e6, 2, 0)


# ----------------------------------------------------------------------------------------- notebook 17's checks


def test_the_checks_accept_the_solutions_computations():
    from coursekit.checks import check
    from coursekit.models import ResNet, count_parameters

    assert check("distributed.effective_batch", 4 * 8 * 32)
    assert not check("distributed.effective_batch", 8 * 32)
    assert check("distributed.scaled_lr", 0.1 * (4 * 8 * 32) / 256)
    gradient = 4 * count_parameters(ResNet.fashion())
    assert check("distributed.gradient_bytes", gradient)
    assert check("distributed.ring_traffic", 2 * (16 - 1) / 16 * gradient)
    assert not check("distributed.ring_traffic", gradient)
    loader = index_loader(50_000, 300, 2, 3)
    assert check("distributed.images_per_rank", loader.rank_samples)
    assert check("distributed.images_per_rank", 166 * 100 + 66)
    step = 0.040 + 2 * 7 / 8 * 200e6 / 25e9
    assert check("distributed.speedup", 8 * 0.040 / step)
    assert not check("distributed.speedup", 8)


# ----------------------------------------------------------------------------------------- worker entry point

if __name__ == "__main__":
    WORKERS = {"job": worker_job, "die": worker_die}
    WORKERS[sys.argv[1]](Path(sys.argv[2]))
