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


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in LeCun's IDX format."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A four-file IDX dataset 'tiny' in a mirror folder, plus an empty data dir; no network."""
    rng = np.random.default_rng(0)
    payloads = {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (20, 28, 28))),
        "train-labels-idx1-ubyte": idx_bytes(np.arange(20) % 10),
        "t10k-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (5, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_bytes(np.arange(5)),
    }
    mirror = tmp_path / "mirror"
    (mirror / "Tiny" / "raw").mkdir(parents=True)
    for name, payload in payloads.items():
        (mirror / "Tiny" / "raw" / (name + ".gz")).write_bytes(gzip.compress(payload))
    spec = data.IdxDataset("Tiny", {n: hashlib.sha256(p).hexdigest() for n, p in payloads.items()},
                           mean=0.5, std=0.25, classes=tuple("0123456789"), mirrors=("https://example.invalid/",))
    monkeypatch.setitem(data.IDX_DATASETS, "tiny", spec)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(data.MIRROR_ENV, str(mirror))

    def no_network(url, directory):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(data, "_download", no_network)
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
    assert images.shape == (20, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.tolist() == [i % 10 for i in range(20)]


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

    monkeypatch.setattr(data.gzip, "open", Exploding)
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

    monkeypatch.setattr(data, "_download", fake_download)
    raw = data.prepare_idx("tiny")
    assert fetched[0] == "https://example.invalid/train-images-idx3-ubyte.gz"
    assert len(fetched) == 4
    assert files_in(raw) == sorted(tiny["payloads"])


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        data.prepare_idx("cifar")


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
    assert first != second            # a new order each epoch ...
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
