"""coursekit.data: where datasets come from, how they are verified, and what is left on failure."""

import gzip
import hashlib
import json
import os
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from coursekit import data
from coursekit.data import prepare
from coursekit.errors import UnknownName


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in LeCun's IDX format."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A four-file IDX dataset 'tiny' in a mirror folder, plus an empty data dir; no network."""
    rng = np.random.default_rng(0)
    payloads = {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (60, 28, 28))),
        "train-labels-idx1-ubyte": idx_bytes(np.arange(60) % 10),
        "t10k-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (12, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_bytes(np.arange(12) % 10),
    }
    mirror = tmp_path / "mirror"
    (mirror / "Tiny" / "raw").mkdir(parents=True)
    for name, payload in payloads.items():
        (mirror / "Tiny" / "raw" / (name + ".gz")).write_bytes(gzip.compress(payload))
    spec = data.IdxDataset(
        "Tiny",
        {n: hashlib.sha256(p).hexdigest() for n, p in payloads.items()},
        mean=0.5,
        std=0.25,
        classes=tuple("0123456789"),
        mirrors=("https://example.invalid/",),
        sizes={n: len(p) for n, p in payloads.items()},
    )
    monkeypatch.setitem(data.IDX_DATASETS, "tiny", spec)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(data.MIRROR_ENV, str(mirror))

    def no_network(url, directory):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(prepare, "_download", no_network)
    return {"mirror": mirror, "data": tmp_path / "data", "payloads": payloads}


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_prepare_from_mirror_copies_verified_payloads(tiny):
    raw = data.prepare_idx("tiny")
    assert raw == tiny["data"] / "Tiny" / "raw"
    for name, payload in tiny["payloads"].items():
        assert (raw / name).read_bytes() == payload
        assert oct((raw / name).stat().st_mode & 0o777) == "0o644"


def test_prepared_data_is_used_before_the_mirror(tiny, monkeypatch):
    data.prepare_idx("tiny")
    monkeypatch.delenv(data.MIRROR_ENV)  # mirror gone, network gone: data/ alone must do
    images, labels = data.load_idx("tiny", train=True)
    assert images.shape == (60, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.tolist() == [i % 10 for i in range(60)]


def test_corrupted_mirror_file_is_named_and_nothing_is_left(tiny):
    victim = tiny["mirror"] / "Tiny" / "raw" / "train-images-idx3-ubyte.gz"
    payload = bytearray(tiny["payloads"]["train-images-idx3-ubyte"])
    payload[100] ^= 0xFF  # flip one byte
    victim.write_bytes(gzip.compress(bytes(payload)))
    with pytest.raises(data.ChecksumMismatch, match="train-images-idx3-ubyte.gz") as err:
        data.prepare_idx("tiny")
    assert str(victim) in str(err.value)
    assert "train-images-idx3-ubyte" not in files_in(tiny["data"] / "Tiny" / "raw")
    assert not [f for f in files_in(tiny["data"]) if f.endswith(".partial")]


def test_corrupted_prepared_file_is_named(tiny):
    raw = data.prepare_idx("tiny")
    target = raw / "t10k-labels-idx1-ubyte"
    blob = bytearray(target.read_bytes())
    blob[-1] ^= 0x01
    target.write_bytes(bytes(blob))
    with pytest.raises(data.ChecksumMismatch, match=r"t10k-labels-idx1-ubyte: sha256 is .* expected"):
        data.prepare_idx("tiny")


def test_offline_without_mirror_says_what_is_missing_and_how_to_supply_it(tiny, monkeypatch):
    monkeypatch.delenv(data.MIRROR_ENV)
    with pytest.raises(data.DatasetUnavailable) as err:
        data.prepare_idx("tiny")
    message = str(err.value)
    assert "train-images-idx3-ubyte" in message
    assert data.MIRROR_ENV in message
    assert "no network in tests" in message
    assert files_in(tiny["data"]) == []  # not even a temporary download folder


def test_interrupted_copy_leaves_no_partial_file(tiny, monkeypatch):
    real_open = gzip.open

    class Exploding:
        def __init__(self, *args, **kwargs):
            self.inner = real_open(*args, **kwargs)
            self.reads = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.inner.close()

        def read(self, n):
            self.reads += 1
            if self.reads > 1:
                raise KeyboardInterrupt  # the user pressed Ctrl-C half-way through
            return self.inner.read(16)

    monkeypatch.setattr(prepare.gzip, "open", Exploding)
    with pytest.raises(KeyboardInterrupt):
        data.prepare_idx("tiny")
    assert files_in(tiny["data"] / "Tiny" / "raw") == []


def test_download_is_used_when_there_is_no_mirror(tiny, monkeypatch):
    monkeypatch.delenv(data.MIRROR_ENV)
    fetched = []

    def fake_download(url, directory):
        name = url.rsplit("/", 1)[-1]
        fetched.append(url)
        path = Path(directory) / name
        path.write_bytes(gzip.compress(tiny["payloads"][name[:-3]]))
        return path

    monkeypatch.setattr(prepare, "_download", fake_download)
    raw = data.prepare_idx("tiny")
    assert fetched[0] == "https://example.invalid/train-images-idx3-ubyte.gz"
    assert len(fetched) == 4
    assert files_in(raw) == sorted(tiny["payloads"])


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        data.prepare_idx("cifar")
    with pytest.raises(UnknownName, match="unknown dataset 'cifar'; choose one of: fashion_mnist, mnist"):
        data.tensor_loaders("cifar")


def test_read_idx_rejects_other_files(tmp_path):
    bogus = tmp_path / "x"
    bogus.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(bogus)


def test_tensor_loader_normalises_and_covers_every_sample():
    images = torch.arange(10 * 4, dtype=torch.uint8).reshape(10, 1, 2, 2)
    labels = torch.arange(10)
    loader = data.TensorLoader(images, labels, batch_size=4, shuffle=True, seed=1, mean=0.5, std=0.25)
    assert len(loader) == 3
    seen = []
    for x, y in loader:
        assert x.dtype == torch.float32 and x.shape[1:] == (1, 2, 2)
        expected = (images[y].float() / 255 - 0.5) / 0.25
        torch.testing.assert_close(x, expected)
        seen += y.tolist()
    assert sorted(seen) == list(range(10))


def test_tensor_loader_order_is_seeded():
    images = torch.zeros(50, 1, 2, 2, dtype=torch.uint8)
    labels = torch.arange(50)

    def order(seed):
        loader = data.TensorLoader(images, labels, batch_size=50, shuffle=True, seed=seed)
        return [next(iter(loader))[1].tolist() for _ in range(2)]

    first, second = order(3)
    assert first != second  # a new order each epoch ...
    assert order(3) == [first, second]  # ... and the same sequence on every run
    assert order(4)[0] != first


def test_tensor_loader_rejects_float_images():
    with pytest.raises(ValueError, match="uint8"):
        data.TensorLoader(torch.zeros(4, 1, 2, 2), torch.zeros(4, dtype=torch.long))


def test_safe_extract_refuses_members_outside_the_target(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("hymenoptera_data/train/ants/ok.jpg", b"fine")
        zf.writestr("../../escaped.txt", b"gotcha")
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(ValueError, match=r"refusing to extract '\.\./\.\./escaped\.txt'"):
        data.safe_extract(archive, target)
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert files_in(target) == []  # checked before anything is written


def test_hymenoptera_from_a_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    for split in ("train", "val"):
        for cls in ("ants", "bees"):
            folder = mirror / "hymenoptera_data" / split / cls
            folder.mkdir(parents=True)
            (folder / "a.jpg").write_bytes(b"\xff\xd8 jpeg")
            os.chmod(folder, 0o555)  # like the read-only shared mirror
    manifest = {
        f"{s}/{c}/a.jpg": hashlib.sha256(b"\xff\xd8 jpeg").hexdigest()
        for s in ("train", "val")
        for c in ("ants", "bees")
    }
    monkeypatch.setattr(prepare, "read_manifest", lambda name=None: dict(manifest))
    monkeypatch.setenv(data.MIRROR_ENV, str(mirror))
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    root = data.prepare_hymenoptera()
    assert files_in(root) == sorted(f"{s}/{c}/a.jpg" for s in ("train", "val") for c in ("ants", "bees"))
    assert os.access(root / "train" / "ants", os.W_OK)


needs_mnist = pytest.mark.skipif(
    not (data.mirror_dir() or (data.data_dir() / "MNIST" / "raw").is_dir()),
    reason="real MNIST needs COURSEKIT_DATA_MIRROR or a prepared data/ folder",
)


@needs_mnist
def test_real_mnist_matches_its_published_facts():
    images, labels = data.load_idx("mnist", train=True)
    assert images.shape == (60000, 1, 28, 28)
    assert labels[:5].tolist() == [5, 0, 4, 1, 9]
    pixels = images.float() / 255
    assert round(pixels.mean().item(), 4) == data.normalization("mnist")[0]
    assert round(pixels.std().item(), 4) == data.normalization("mnist")[1]
    test_images, _ = data.load_idx("mnist", train=False)
    assert test_images.shape == (10000, 1, 28, 28)


def test_write_json_replaces_the_file_atomically(tmp_path):
    target = tmp_path / "results" / "report.json"
    assert data.write_json(target, {"a": 1}) == target
    assert json.loads(target.read_text()) == {"a": 1}
    data.write_json(target, {"a": [1, 2]})
    assert json.loads(target.read_text()) == {"a": [1, 2]}
    with pytest.raises(TypeError):
        data.write_json(target, {"a": object()})  # not JSON: the old report must survive whole
    assert json.loads(target.read_text()) == {"a": [1, 2]}
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]  # no temp file left


# --- verified once per process ------------------------------------------------------------------


@pytest.fixture
def hash_calls(monkeypatch):
    """Count the files coursekit hashes (every verification goes through coursekit.files.sha256_file)."""
    from coursekit import files

    calls = []
    real = files.sha256_file

    def counting(path):
        calls.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(files, "sha256_file", counting)
    return calls


def test_each_file_is_verified_once_per_process(tiny, hash_calls):
    data.prepare_idx("tiny")  # copied from the mirror: hashed while copying
    data.forget_verified()  # a new process, as far as the cache knows
    data.tensor_loaders("tiny", batch_size=8)
    assert sorted(hash_calls) == sorted(tiny["payloads"])  # each of the four files once, not twice
    data.tensor_loaders("tiny", batch_size=8)
    data.tensor_splits("tiny", val_size=10)
    assert len(hash_calls) == 4


def test_a_file_changed_after_verification_is_checked_again(tiny):
    raw = data.prepare_idx("tiny")
    data.load_idx("tiny")
    target = raw / "train-labels-idx1-ubyte"
    blob = bytearray(target.read_bytes())
    blob[-1] ^= 0x01
    target.write_bytes(bytes(blob))
    os.utime(target, ns=(1, 1))  # a different modification time, whatever the clock's resolution
    with pytest.raises(data.ChecksumMismatch, match="train-labels-idx1-ubyte: sha256 is"):
        data.load_idx("tiny")


def test_a_prepared_file_of_the_wrong_size_is_refused_without_hashing(tiny, hash_calls):
    raw = data.prepare_idx("tiny")
    data.forget_verified()
    hash_calls.clear()
    with open(raw / "t10k-images-idx3-ubyte", "ab") as f:
        f.write(b"\0")
    with pytest.raises(data.ChecksumMismatch, match=r"t10k-images-idx3-ubyte: 9,425 bytes, expected 9,424"):
        data.prepare_idx("tiny")
    assert "t10k-images-idx3-ubyte" not in hash_calls


# --- damaged and hostile sources ----------------------------------------------------------------


def test_offline_error_names_every_missing_file_and_waits_for_the_network_once(tiny, monkeypatch):
    monkeypatch.delenv(data.MIRROR_ENV)
    tried = []

    def no_network(url, directory):
        tried.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(prepare, "_download", no_network)
    with pytest.raises(data.DatasetUnavailable, match="4 file") as err:
        data.prepare_idx("tiny")
    for name in tiny["payloads"]:
        assert str(tiny["data"] / "Tiny" / "raw" / name) in str(err.value)
    assert tried == ["https://example.invalid/train-images-idx3-ubyte.gz"]


def test_a_missing_mirror_folder_is_named(tiny, monkeypatch, tmp_path):
    monkeypatch.setenv(data.MIRROR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(data.DatasetUnavailable, match=r"nowhere \(COURSEKIT_DATA_MIRROR\) does not exist"):
        data.prepare_idx("tiny")


@pytest.mark.parametrize("damage", ["truncated", "not gzip", "bad crc"])
def test_a_damaged_gz_in_the_mirror_is_one_paragraph_naming_the_file(tiny, damage):
    victim = tiny["mirror"] / "Tiny" / "raw" / "train-images-idx3-ubyte.gz"
    blob = victim.read_bytes()
    if damage == "truncated":
        blob = blob[: len(blob) // 2]
    elif damage == "not gzip":
        blob = b"this is not gzip data at all" * 10
    else:
        blob = blob[:-8] + bytes(b ^ 0xFF for b in blob[-8:-4]) + blob[-4:]
    victim.write_bytes(blob)
    with pytest.raises(data.CorruptArchive, match="truncated or damaged") as err:
        data.prepare_idx("tiny")
    message = str(err.value)
    assert message.startswith(str(victim)) and "\n" not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no chained 30-line traceback
    assert files_in(tiny["data"]) == []


def test_decompression_stops_at_the_expected_size(tiny, monkeypatch):
    victim = tiny["mirror"] / "Tiny" / "raw" / "t10k-labels-idx1-ubyte.gz"
    bomb = tiny["payloads"]["t10k-labels-idx1-ubyte"] + bytes(5 << 20)  # 5 MiB of zeros compress to little
    victim.write_bytes(gzip.compress(bomb))
    written = []
    real_open = open

    class Counting:
        def __init__(self, f):
            self.f, self.bytes = f, 0

        def write(self, block):
            self.bytes += len(block)
            return self.f.write(block)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def spying_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        if "w" in mode and Path(path).name.startswith(".t10k-labels-idx1-ubyte."):
            written.append(Counting(f))
            return written[-1]
        return f

    monkeypatch.setattr("builtins.open", spying_open)
    with pytest.raises(data.CorruptArchive, match=r"more than the 20 bytes t10k-labels-idx1-ubyte has"):
        data.prepare_idx("tiny")
    monkeypatch.undo()
    assert len(written) == 1 and written[0].bytes <= 20  # never more than the cap on disk
    assert not (tiny["data"] / "Tiny" / "raw" / "t10k-labels-idx1-ubyte").exists()
    assert [f for f in files_in(tiny["data"]) if f.endswith(".partial")] == []


def test_a_mirror_link_to_outside_the_mirror_is_refused(tiny, tmp_path):
    outside = tmp_path / "elsewhere.gz"
    victim = tiny["mirror"] / "Tiny" / "raw" / "train-labels-idx1-ubyte.gz"
    outside.write_bytes(victim.read_bytes())
    victim.unlink()
    victim.symlink_to(outside)
    with pytest.raises(data.UnsafeLink, match=r"train-labels-idx1-ubyte\.gz: this mirror file is a symbolic link"):
        data.prepare_idx("tiny")
    assert not (tiny["data"] / "Tiny" / "raw" / "train-labels-idx1-ubyte").exists()


def test_a_link_inside_the_mirror_is_fine(tiny):
    raw = tiny["mirror"] / "Tiny" / "raw"
    (raw / "copies").mkdir()
    victim = raw / "train-labels-idx1-ubyte.gz"
    os.replace(victim, raw / "copies" / victim.name)
    victim.symlink_to(Path("copies") / victim.name)
    assert (data.prepare_idx("tiny") / "train-labels-idx1-ubyte").read_bytes() == tiny["payloads"][
        "train-labels-idx1-ubyte"
    ]


def dead_pid() -> int:
    """The process id of a process that has finished (what a killed writer leaves in its temp names)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_a_killed_run_are_removed(tiny):
    raw = tiny["data"] / "Tiny" / "raw"
    raw.mkdir(parents=True)
    (raw / f".train-images-idx3-ubyte.{dead_pid()}x0123.partial").write_bytes(b"half")
    (raw / ".download.abc.partial").mkdir()
    (raw / ".download.abc.partial" / "x.gz").write_bytes(b"half")
    (raw / ".download-old").mkdir()  # an older version's folder
    data.prepare_idx("tiny")
    assert files_in(raw) == sorted(tiny["payloads"])
    assert sorted(p.name for p in raw.iterdir()) == sorted(tiny["payloads"])


def test_the_command_line_reports_a_data_problem_in_one_line(tiny, capsys):
    victim = tiny["mirror"] / "Tiny" / "raw" / "train-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:100])
    monkeypatch_preparers = dict(prepare.PREPARERS, tiny=lambda: data.prepare_idx("tiny"))
    prepare.PREPARERS["tiny"] = monkeypatch_preparers["tiny"]
    try:
        assert data.main(["prepare", "tiny"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and str(victim) in err and err.count("\n") == 1
        assert data.main(["prepare", "cifar"]) == 2
        assert "unknown dataset 'cifar'" in capsys.readouterr().err
        assert data.main([]) == 2
    finally:
        del prepare.PREPARERS["tiny"]


def test_python_m_coursekit_data_still_works():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "coursekit.data"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage: python -m coursekit.data prepare" in out.stderr


# --- splits ---------------------------------------------------------------------------------------


def rows(images: torch.Tensor) -> set:
    return {bytes(img.flatten().tolist()) for img in images}


def all_samples(loader):
    xs, ys = zip(*loader, strict=True)
    return torch.cat(xs), torch.cat(ys)


def test_tensor_splits_sizes_and_disjointness(tiny):
    splits = data.tensor_splits("tiny", batch_size=8, val_size=15, seed=3)
    assert isinstance(splits, data.Splits) and splits._fields == ("train", "val", "test")
    assert (splits.train.num_samples, splits.val.num_samples, splits.test.num_samples) == (45, 15, 12)
    train, val = rows(splits.train.images), rows(splits.val.images)
    assert len(train) == 45 and len(val) == 15 and not train & val
    everything, _ = data.load_idx("tiny")
    assert train | val == rows(everything)
    assert splits.train.shuffle and not splits.val.shuffle and not splits.test.shuffle
    assert splits.train.batch_size == 8 and splits.val.batch_size == splits.test.batch_size == 1000


def test_the_validation_split_is_fixed_by_the_seed_whatever_the_training_subset(tiny):
    full = data.tensor_splits("tiny", val_size=10, seed=5)
    small = data.tensor_splits("tiny", val_size=10, seed=5, train_subset=7)
    assert torch.equal(full.val.images, small.val.images) and torch.equal(full.val.labels, small.val.labels)
    assert small.train.num_samples == 7 and rows(small.train.images) <= rows(full.train.images)
    other = data.tensor_splits("tiny", val_size=10, seed=6)
    assert rows(other.val.images) != rows(full.val.images)


def test_tensor_splits_are_deterministic(tiny):
    a = data.tensor_splits("tiny", batch_size=4, val_size=10, train_subset=20, seed=1)
    b = data.tensor_splits("tiny", batch_size=4, val_size=10, train_subset=20, seed=1)
    for la, lb in zip(a, b, strict=True):
        xa, ya = all_samples(la)
        xb, yb = all_samples(lb)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_the_test_split_is_its_first_images_in_order(tiny):
    test = data.tensor_splits("tiny", val_size=10, test_subset=5).test
    x_test, y_test = data.load_idx("tiny", train=False)
    assert torch.equal(test.images, x_test[:5]) and torch.equal(test.labels, y_test[:5])
    x, y = all_samples(test)
    torch.testing.assert_close(x, (x_test[:5].float() / 255 - 0.5) / 0.25)
    assert torch.equal(y, y_test[:5])


def test_tensor_loaders_still_return_train_and_test(tiny):
    train, test = data.tensor_loaders("tiny", batch_size=16, train_subset=25, seed=0)
    assert (train.num_samples, test.num_samples, len(train)) == (25, 12, 2)
    train, _ = data.tensor_loaders("tiny", train_subset=10_000)  # more than there are: all of them
    assert train.num_samples == 60


def test_holdout_is_a_seeded_disjoint_split_in_the_original_order():
    images = torch.arange(30).reshape(30, 1) * 10
    labels = torch.arange(30)
    (rest_x, rest_y), (held_x, held_y) = data.holdout(images, labels, 8, seed=2)
    assert (len(rest_y), len(held_y)) == (22, 8)
    assert set(rest_y.tolist()).isdisjoint(held_y.tolist())
    assert sorted(rest_y.tolist() + held_y.tolist()) == list(range(30))
    assert torch.equal(rest_x[:, 0], rest_y * 10) and torch.equal(held_x[:, 0], held_y * 10)
    assert rest_y.tolist() == sorted(rest_y.tolist()) and held_y.tolist() == sorted(held_y.tolist())
    (_, again), _ = data.holdout(images, labels, 8, seed=2)
    assert torch.equal(again, rest_y)
    assert not torch.equal(data.holdout(images, labels, 8, seed=3)[1][1], held_y)


def test_importing_coursekit_data_imports_no_plotting_module():
    import subprocess
    import sys

    code = "import sys, coursekit.data; print(any(m.split('.')[0] == 'matplotlib' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
