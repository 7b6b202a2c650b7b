"""Fault injection: ``kill -9`` in the middle of a write, then check nothing was lost or left half-done.

Each test starts a child Python process that does the real work (prepare a dataset, save a
checkpoint) with one hook: the write blocks half-way and the child announces it by creating a
marker file. The parent then kills the child with SIGKILL -- no clean-up code can run -- and checks
that the target is intact (the old checkpoint still loads; nothing half-written sits in ``data/``
under a real name), that a rerun succeeds, and that the rerun leaves no ``.partial`` file behind.
"""

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from coursekit import data
from coursekit.checkpoint import load_checkpoint, save_checkpoint
from coursekit.data import prepare
from coursekit.models import LeNet5

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

# How long a child may take to reach its write (importing torch on a busy machine is slow). Only a
# guard against a child that never gets there; nothing asserts how long anything took.
REACH_WRITE_WITHIN = 120.0


def kill_mid_write(script: str, marker: Path, *args: str, env: dict | None = None) -> None:
    """Run `script` in a child, wait until it creates `marker` (it is blocked mid-write), SIGKILL it."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), str(marker), *args],
        env=dict(os.environ, **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + REACH_WRITE_WITHIN
        while not marker.exists():
            if child.poll() is not None:
                out, err = child.communicate()
                pytest.fail(f"the child exited ({child.returncode}) before reaching the write:\n{err.decode()}")
            if time.monotonic() > deadline:
                pytest.fail("the child never reached the write")
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()


def partials(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.partial"))


# --- a checkpoint save ---------------------------------------------------------------------------

SAVE_AND_BLOCK = """
    import io, sys, time
    import torch
    from coursekit import checkpoint
    from coursekit.models import LeNet5

    marker, path = sys.argv[1], sys.argv[2]
    real_save = torch.save

    def half_then_block(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        blob = buffer.getvalue()
        f.write(blob[: len(blob) // 2])          # half of the new checkpoint is on disk ...
        f.flush()
        open(marker, "w").close()                # ... tell the parent, and wait to be killed
        time.sleep(600)

    checkpoint.torch.save = half_then_block
    torch.manual_seed(1)
    checkpoint.save_checkpoint(LeNet5(), path, {"version": 2})
"""


def test_kill_during_a_checkpoint_save_keeps_the_old_checkpoint(tmp_path):
    folder = tmp_path / "checkpoints"
    path = folder / "lenet.pt"
    torch.manual_seed(0)
    old = LeNet5()
    save_checkpoint(old, path, {"version": 1})
    before = path.read_bytes()

    kill_mid_write(SAVE_AND_BLOCK, tmp_path / "marker", str(path))

    assert path.read_bytes() == before  # the target is intact ...
    fresh = LeNet5()
    assert load_checkpoint(path, fresh) == {"version": 1}  # ... and still loads
    assert torch.equal(fresh.c1.weight, old.c1.weight)
    assert len(partials(folder)) == 1  # the killed save was mid-write

    torch.manual_seed(1)
    new = LeNet5()
    save_checkpoint(new, path, {"version": 2})  # a rerun succeeds ...
    assert load_checkpoint(path, LeNet5()) == {"version": 2}
    assert partials(folder) == []  # ... and removes the stale temporary
    assert sorted(p.name for p in folder.iterdir()) == ["lenet.pt"]


def test_kill_during_the_first_save_leaves_no_checkpoint(tmp_path):
    path = tmp_path / "first.pt"
    kill_mid_write(SAVE_AND_BLOCK, tmp_path / "marker", str(path))
    assert not path.exists() and len(partials(tmp_path)) == 1
    save_checkpoint(LeNet5(), path)
    assert partials(tmp_path) == [] and load_checkpoint(path, LeNet5()) == {}


# --- dataset preparation ---------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny_spec(tmp_path, monkeypatch):
    """A synthetic four-file IDX dataset in a tmp mirror, its spec as JSON (for the child) and in
    this process (for the rerun), and an empty tmp data folder."""
    rng = np.random.default_rng(1)
    payloads = {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (200, 28, 28))),
        "train-labels-idx1-ubyte": idx_bytes(np.arange(200) % 10),
        "t10k-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (50, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_bytes(np.arange(50) % 10),
    }
    mirror, data_root = tmp_path / "mirror", tmp_path / "data"
    (mirror / "Tiny" / "raw").mkdir(parents=True)
    for name, payload in payloads.items():
        (mirror / "Tiny" / "raw" / (name + ".gz")).write_bytes(gzip.compress(payload))
    spec = dict(
        sha256={n: hashlib.sha256(p).hexdigest() for n, p in payloads.items()},
        sizes={n: len(p) for n, p in payloads.items()},
    )
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    monkeypatch.setitem(
        data.IDX_DATASETS,
        "tiny",
        data.IdxDataset(
            "Tiny", spec["sha256"], 0.5, 0.25, tuple("0123456789"), ("https://example.invalid/",), spec["sizes"]
        ),
    )
    monkeypatch.setenv(data.DATA_DIR_ENV, str(data_root))
    monkeypatch.setenv(data.MIRROR_ENV, str(mirror))
    monkeypatch.setattr(prepare, "_download", lambda url, directory: pytest.fail("no download in this test"))
    env = {data.DATA_DIR_ENV: str(data_root), data.MIRROR_ENV: str(mirror)}
    return {"payloads": payloads, "data": data_root, "spec": tmp_path / "spec.json", "env": env}


PREPARE_AND_BLOCK = """
    import gzip, json, sys, time
    from coursekit import data
    from coursekit.data import prepare

    marker, spec_file = sys.argv[1], sys.argv[2]
    spec = json.loads(open(spec_file).read())
    data.IDX_DATASETS["tiny"] = data.IdxDataset("Tiny", spec["sha256"], 0.5, 0.25, tuple("0123456789"),
                                                ("https://example.invalid/",), spec["sizes"])
    prepare._BLOCK = 4096
    real_open = gzip.open

    class BlockAfterTwoReads:
        def __init__(self, *args, **kwargs):
            self.inner, self.reads = real_open(*args, **kwargs), 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.inner.close()

        def read(self, n):
            self.reads += 1
            if self.reads == 3:                  # two blocks are in the temporary file
                open(marker, "w").close()
                time.sleep(600)
            return self.inner.read(n)

    gzip.open = BlockAfterTwoReads
    data.prepare_idx("tiny")
"""


def test_kill_during_dataset_preparation_leaves_nothing_half_written(tiny_spec):
    raw = tiny_spec["data"] / "Tiny" / "raw"
    kill_mid_write(PREPARE_AND_BLOCK, tiny_spec["spec"].parent / "marker", str(tiny_spec["spec"]), env=tiny_spec["env"])

    left = sorted(p.name for p in raw.iterdir())
    assert len(left) == 1 and left[0].endswith(".partial")  # only the killed temporary ...
    assert (raw / left[0]).stat().st_size <= 2 * 4096  # ... holding at most what was read
    assert not any((raw / name).exists() for name in tiny_spec["payloads"])  # nothing under a real name

    assert data.prepare_idx("tiny") == raw  # a rerun succeeds ...
    for name, payload in tiny_spec["payloads"].items():
        assert (raw / name).read_bytes() == payload
    assert partials(tiny_spec["data"]) == []  # ... and leaves no stray file
    images, labels = data.load_idx("tiny")
    assert images.shape == (200, 1, 28, 28) and labels[:3].tolist() == [0, 1, 2]


COPY_TREE_AND_BLOCK = """
    import json, shutil, sys, time
    from coursekit.data import prepare

    marker, manifest_file = sys.argv[1], sys.argv[2]
    manifest = json.loads(open(manifest_file).read())
    prepare.read_manifest = lambda name=None: dict(manifest)
    real_copy, copied = shutil.copyfile, []

    def block_after_two(src, dst, *args, **kwargs):
        if len(copied) == 2:
            open(marker, "w").close()
            time.sleep(600)
        copied.append(src)
        return real_copy(src, dst, *args, **kwargs)

    shutil.copyfile = block_after_two
    prepare.prepare_hymenoptera()
"""


def test_kill_while_installing_the_ants_and_bees_leaves_no_half_folder(tmp_path, monkeypatch):
    files = {
        f"{split}/{cls}/{i}.jpg": bytes([i]) * 100
        for split in ("train", "val")
        for cls in ("ants", "bees")
        for i in range(3)
    }
    tree = tmp_path / "mirror" / "hymenoptera_data"
    for rel, payload in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(payload)
    manifest = {rel: hashlib.sha256(p).hexdigest() for rel, p in files.items()}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    data_root = tmp_path / "data"
    env = {data.DATA_DIR_ENV: str(data_root), data.MIRROR_ENV: str(tmp_path / "mirror")}

    kill_mid_write(COPY_TREE_AND_BLOCK, tmp_path / "marker", str(tmp_path / "manifest.json"), env=env)
    assert not (data_root / "hymenoptera_data").exists()  # nothing under the real name
    assert len(partials(data_root)) == 1  # the killed staging folder

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(prepare, "read_manifest", lambda name=None: dict(manifest))
    root = data.prepare_hymenoptera()  # a rerun succeeds ...
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted(files)
    assert partials(data_root) == [] and sorted(p.name for p in data_root.iterdir()) == ["hymenoptera_data"]
