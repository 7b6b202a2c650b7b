"""Bad inputs to coursekit.data, coursekit.files and coursekit.checkpoint: each gets a clear error.

Every case names one careless or hostile input, the exception type it must raise and a pattern its
message must contain -- the argument, file or value at fault, and what was expected. A case fails
when the call succeeds, raises another type, or raises with a message that does not name the problem.
"""

import gzip
import hashlib
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from coursekit import checkpoint, data, files
from coursekit.checkpoint import CheckpointMismatch, CorruptCheckpoint, UnsafeCheckpoint
from coursekit.data import prepare
from coursekit.errors import UnknownName
from coursekit.models import LeNet5


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    """A tmp folder, a tiny IDX dataset 'tiny' (40 training, 8 test images) in a mirror, a good
    LeNet5 checkpoint and a helper to write files; no network."""
    rng = np.random.default_rng(0)
    payloads = {
        "train-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (40, 28, 28))),
        "train-labels-idx1-ubyte": idx_bytes(np.arange(40) % 10),
        "t10k-images-idx3-ubyte": idx_bytes(rng.integers(0, 256, (8, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_bytes(np.arange(8) % 10),
    }
    mirror = tmp_path / "mirror"
    (mirror / "Tiny" / "raw").mkdir(parents=True)
    for name, payload in payloads.items():
        (mirror / "Tiny" / "raw" / (name + ".gz")).write_bytes(gzip.compress(payload))
    monkeypatch.setitem(
        data.IDX_DATASETS,
        "tiny",
        data.IdxDataset(
            "Tiny",
            {n: hashlib.sha256(p).hexdigest() for n, p in payloads.items()},
            0.5,
            0.25,
            tuple("0123456789"),
            ("https://example.invalid/",),
            {n: len(p) for n, p in payloads.items()},
        ),
    )
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv(data.MIRROR_ENV, str(mirror))
    monkeypatch.setattr(prepare, "_download", lambda url, directory: (_ for _ in ()).throw(OSError("offline")))
    torch.manual_seed(0)
    model = LeNet5()
    good = checkpoint.save_checkpoint(model, tmp_path / "good.pt", {"acc": 0.5})

    def write(name: str, payload) -> Path:
        path = tmp_path / name
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        else:
            torch.save(payload, path)
        return path

    return {"tmp": tmp_path, "good": good, "model": model, "write": write, "mirror": mirror}


def zip_with(ctx, *members, compress=zipfile.ZIP_STORED) -> Path:
    path = ctx["tmp"] / "a.zip"
    with zipfile.ZipFile(path, "w", compress) as zf:
        for name, payload in members:
            zf.writestr(name, payload)
    return path


def stored_payload(ctx) -> dict:
    return torch.load(ctx["good"], weights_only=True)


def altered_checkpoint(ctx, change) -> Path:
    payload = stored_payload(ctx)
    change(payload)
    return ctx["write"]("altered.pt", payload)


def flipped(ctx) -> Path:
    blob = bytearray(ctx["good"].read_bytes())
    at = blob.find(ctx["model"].c3.weight.detach().numpy().tobytes())
    blob[at + 9] ^= 0x01
    return ctx["write"]("flipped.pt", bytes(blob))


def evil_pickle(ctx) -> Path:
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    return ctx["write"]("evil.pt", pickle.dumps({"format": checkpoint.FORMAT, "x": Evil()}, protocol=2))


def nested(depth: int):
    value = 0
    for _ in range(depth):
        value = [value]
    return value


loader_images = torch.zeros(6, 1, 4, 4, dtype=torch.uint8)
loader_labels = torch.arange(6)

CASES = [
    # --- coursekit.files -------------------------------------------------------------------------
    (
        "sha256 of a missing file",
        lambda c: files.sha256_file(c["tmp"] / "nope"),
        FileNotFoundError,
        r"nope: no such file",
    ),
    ("sha256 of a folder", lambda c: files.sha256_file(c["tmp"]), IsADirectoryError, r"is a folder, not a file"),
    (
        "json of a set",
        lambda c: files.write_json(c["tmp"] / "r.json", {"a": {1}}),
        TypeError,
        r"r\.json.*set is not JSON",
    ),
    (
        "json of a numpy scalar",
        lambda c: files.write_json(c["tmp"] / "r.json", np.float32(1)),
        TypeError,
        r"float32 is not JSON serializable.*float\(x\)",
    ),
    (
        "json of a Path",
        lambda c: files.write_json(c["tmp"] / "r.json", [Path("/")]),
        TypeError,
        r"PosixPath is not JSON.*str\(p\)",
    ),
    ("json of an object", lambda c: files.write_json(c["tmp"] / "r.json", object()), TypeError, r"object is not JSON"),
    (
        "json with a loop",
        lambda c: files.write_json(c["tmp"] / "r.json", (lambda loop: loop.append(loop) or loop)([])),
        ValueError,
        r"r\.json.*Circular reference",
    ),
    ("json onto a folder", lambda c: files.write_json(c["tmp"], {}), IsADirectoryError, r"Is a directory"),
    (
        "atomic path without a name",
        lambda c: files.atomic_path("..").__enter__(),
        ValueError,
        r"needs a file name to write",
    ),
    # --- dataset keys ----------------------------------------------------------------------------
    (
        "unknown key",
        lambda c: data.tensor_loaders("cifar"),
        UnknownName,
        r"unknown dataset 'cifar'; choose one of: .*mnist",
    ),
    ("key in capitals", lambda c: data.load_idx("MNIST"), UnknownName, r"unknown dataset 'MNIST'"),
    ("key None", lambda c: data.tensor_splits(None), UnknownName, r"unknown dataset None"),
    ("key a number", lambda c: data.prepare_idx(5), UnknownName, r"unknown dataset 5"),
    ("key a list", lambda c: data.normalization(["mnist"]), UnknownName, r"unknown dataset \['mnist'\]"),
    ("classes of an unknown key", lambda c: data.classes("imagenet"), UnknownName, r"unknown dataset 'imagenet'"),
    (
        "unknown manifest",
        lambda c: data.read_manifest("cats.sha256"),
        UnknownName,
        r"unknown manifest 'cats\.sha256'.*hymenoptera",
    ),
    (
        "load_idx with train='test'",
        lambda c: data.load_idx("tiny", train="test"),
        TypeError,
        r"train must be True \(training split\) or False",
    ),
    # --- tensor_loaders / tensor_splits arguments ------------------------------------------------
    (
        "negative train_subset",
        lambda c: data.tensor_loaders("mnist", train_subset=-5),
        ValueError,
        r"train_subset must be at least 1, got -5",
    ),
    (
        "zero train_subset",
        lambda c: data.tensor_loaders("mnist", train_subset=0),
        ValueError,
        r"train_subset must be at least 1, got 0",
    ),
    (
        "float train_subset",
        lambda c: data.tensor_loaders("mnist", train_subset=2.5),
        TypeError,
        r"train_subset must be a whole number, got 2\.5",
    ),
    (
        "string train_subset",
        lambda c: data.tensor_loaders("mnist", train_subset="100"),
        TypeError,
        r"train_subset must be a whole number",
    ),
    (
        "bool train_subset",
        lambda c: data.tensor_loaders("mnist", train_subset=True),
        TypeError,
        r"train_subset must be a whole number, got True",
    ),
    (
        "zero batch_size",
        lambda c: data.tensor_loaders("mnist", batch_size=0),
        ValueError,
        r"batch_size must be at least 1, got 0",
    ),
    (
        "negative batch_size",
        lambda c: data.tensor_splits("mnist", batch_size=-8),
        ValueError,
        r"batch_size must be at least 1, got -8",
    ),
    (
        "float batch_size",
        lambda c: data.tensor_loaders("mnist", batch_size=64.0),
        TypeError,
        r"batch_size must be a whole number",
    ),
    (
        "None batch_size",
        lambda c: data.tensor_loaders("mnist", batch_size=None),
        TypeError,
        r"batch_size must be a whole number, got None",
    ),
    (
        "string seed",
        lambda c: data.tensor_loaders("mnist", seed="0"),
        TypeError,
        r"seed must be a whole number, got '0'",
    ),
    (
        "unknown device",
        lambda c: data.tensor_loaders("mnist", device="gpu0"),
        ValueError,
        r"device 'gpu0' is not a device torch knows",
    ),
    (
        "device a number",
        lambda c: data.tensor_splits("mnist", device=0.5),
        TypeError,
        r"device must be a torch\.device",
    ),
    (
        "zero val_size",
        lambda c: data.tensor_splits("mnist", val_size=0),
        ValueError,
        r"val_size must be at least 1, got 0",
    ),
    (
        "negative val_size",
        lambda c: data.tensor_splits("mnist", val_size=-1),
        ValueError,
        r"val_size must be at least 1",
    ),
    (
        "float val_size",
        lambda c: data.tensor_splits("mnist", val_size=0.1),
        TypeError,
        r"val_size must be a whole number, got 0\.1",
    ),
    (
        "zero test_subset",
        lambda c: data.tensor_splits("mnist", test_subset=0),
        ValueError,
        r"test_subset must be at least 1",
    ),
    (
        "zero eval_batch_size",
        lambda c: data.tensor_splits("mnist", eval_batch_size=0),
        ValueError,
        r"eval_batch_size must be at least 1",
    ),
    (
        "val_size = the training set",
        lambda c: data.tensor_splits("tiny", val_size=40),
        ValueError,
        r"val_size=40 must be smaller than the 40 training images of tiny",
    ),
    (
        "val_size above the training set",
        lambda c: data.tensor_splits("tiny", val_size=1000),
        ValueError,
        r"val_size=1000 must be smaller than the 40",
    ),
    (
        "train_subset above what is left",
        lambda c: data.tensor_splits("tiny", val_size=10, train_subset=31),
        ValueError,
        r"train_subset=31 is more than the 30 training images left after holding out val_size=10",
    ),
    (
        "test_subset above the test set",
        lambda c: data.tensor_splits("tiny", val_size=10, test_subset=9),
        ValueError,
        r"test_subset=9 is more than the 8 test images of tiny",
    ),
    # --- holdout ---------------------------------------------------------------------------------
    (
        "holdout of nothing",
        lambda c: data.holdout(loader_images, loader_labels, 0),
        ValueError,
        r"size must be at least 1, got 0",
    ),
    (
        "holdout of everything",
        lambda c: data.holdout(loader_images, loader_labels, 6),
        ValueError,
        r"size=6 must be smaller than the 6 samples",
    ),
    (
        "holdout of a float size",
        lambda c: data.holdout(loader_images, loader_labels, 0.5),
        TypeError,
        r"size must be a whole number",
    ),
    (
        "holdout of unequal lengths",
        lambda c: data.holdout(loader_images, loader_labels[:5], 2),
        ValueError,
        r"must have the same N, got shapes \(6, 1, 4, 4\) and \(5,\)",
    ),
    (
        "holdout of arrays",
        lambda c: data.holdout(np.zeros((6, 2)), np.zeros(6), 2),
        TypeError,
        r"must be torch tensors, got ndarray",
    ),
    (
        "holdout with a string seed",
        lambda c: data.holdout(loader_images, loader_labels, 2, seed="x"),
        TypeError,
        r"seed must be a whole number",
    ),
    # --- TensorLoader ----------------------------------------------------------------------------
    (
        "loader of a numpy array",
        lambda c: data.TensorLoader(np.zeros((6, 1, 4, 4), np.uint8), loader_labels),
        TypeError,
        r"images must be a uint8 torch\.Tensor .*torch\.from_numpy",
    ),
    (
        "loader of float images",
        lambda c: data.TensorLoader(loader_images.float(), loader_labels),
        ValueError,
        r"images must be uint8 \(N, C, H, W\), got torch\.float32",
    ),
    (
        "loader of 3-d images",
        lambda c: data.TensorLoader(loader_images[:, 0], loader_labels),
        ValueError,
        r"images must be uint8 \(N, C, H, W\), got torch\.uint8 \(6, 4, 4\)",
    ),
    (
        "loader with too few labels",
        lambda c: data.TensorLoader(loader_images, loader_labels[:4]),
        ValueError,
        r"labels must be \(N,\) with N=6, got \(4,\)",
    ),
    (
        "loader with float labels",
        lambda c: data.TensorLoader(loader_images, loader_labels.float()),
        ValueError,
        r"labels must hold integer class indices, got dtype torch\.float32.*labels\.long\(\)",
    ),
    (
        "loader with a list of labels",
        lambda c: data.TensorLoader(loader_images, list(range(6))),
        TypeError,
        r"labels must be an integer torch\.Tensor \(N,\), got list",
    ),
    (
        "loader with batch_size 0",
        lambda c: data.TensorLoader(loader_images, loader_labels, batch_size=0),
        ValueError,
        r"batch_size must be at least 1",
    ),
    (
        "loader with std 0",
        lambda c: data.TensorLoader(loader_images, loader_labels, std=0),
        ValueError,
        r"std must be positive",
    ),
    (
        "loader with std nan",
        lambda c: data.TensorLoader(loader_images, loader_labels, std=float("nan")),
        ValueError,
        r"std must be a finite number, got nan",
    ),
    (
        "loader with a string mean",
        lambda c: data.TensorLoader(loader_images, loader_labels, mean="0.5"),
        ValueError,
        r"mean must be a finite number, got '0\.5'",
    ),
    (
        "loader with shuffle='yes'",
        lambda c: data.TensorLoader(loader_images, loader_labels, shuffle="yes"),
        TypeError,
        r"shuffle must be True or False, got 'yes'",
    ),
    (
        "loader with drop_last=1",
        lambda c: data.TensorLoader(loader_images, loader_labels, drop_last=1),
        TypeError,
        r"drop_last must be True or False, got 1",
    ),
    (
        "loader on an unknown device",
        lambda c: data.TensorLoader(loader_images, loader_labels, device="tpu"),
        ValueError,
        r"device 'tpu' is not a device torch knows",
    ),
    # --- IDX files -------------------------------------------------------------------------------
    (
        "read a missing IDX file",
        lambda c: data.read_idx(c["tmp"] / "none-idx"),
        FileNotFoundError,
        r"none-idx: no such IDX file",
    ),
    ("read a folder as IDX", lambda c: data.read_idx(c["tmp"]), ValueError, r"is a folder, not an IDX file"),
    (
        "read a zip as IDX",
        lambda c: data.read_idx(c["write"]("x", b"PK\x03\x04 zip")),
        ValueError,
        r"x is not an IDX file \(bad magic",
    ),
    (
        "IDX with an unknown type code",
        lambda c: data.read_idx(c["write"]("x", idx_bytes(np.zeros(3), code=0x07))),
        ValueError,
        r"unknown type code 0x07",
    ),
    (
        "truncated IDX",
        lambda c: data.read_idx(c["write"]("x", idx_bytes(np.zeros((4, 5)))[:-3])),
        ValueError,
        r"x holds 29 bytes but its header announces shape \(4, 5\) \(32 bytes\)",
    ),
    (
        "IDX with trailing bytes",
        lambda c: data.read_idx(c["write"]("x", idx_bytes(np.zeros(4)) + b"\0")),
        ValueError,
        r"holds 13 bytes but its header announces shape \(4,\)",
    ),
    (
        "IDX shorter than its header",
        lambda c: data.read_idx(c["write"]("x", bytes([0, 0, 8, 3, 0, 0]))),
        ValueError,
        r"x is truncated: 6 bytes, shorter than its 16-byte header",
    ),
    (
        "IDX with a huge header",
        lambda c: data.read_idx(c["write"]("x", bytes([0, 0, 8, 2]) + b"\xff" * 8)),
        ValueError,
        r"header announces shape \(4294967295, 4294967295\)",
    ),
    # --- sources: mirror, archives, manifests ----------------------------------------------------
    (
        "truncated gz in the mirror",
        lambda c: (
            (c["mirror"] / "Tiny/raw/t10k-images-idx3-ubyte.gz").write_bytes(
                (c["mirror"] / "Tiny/raw/t10k-images-idx3-ubyte.gz").read_bytes()[:200]
            ),
            data.prepare_idx("tiny"),
        ),
        data.CorruptArchive,
        r"t10k-images-idx3-ubyte\.gz cannot be decompressed: .*truncated or damaged",
    ),
    (
        "gz that is not gzip",
        lambda c: (
            (c["mirror"] / "Tiny/raw/train-labels-idx1-ubyte.gz").write_bytes(b"plain text, not gzip"),
            data.prepare_idx("tiny"),
        ),
        data.CorruptArchive,
        r"train-labels-idx1-ubyte\.gz cannot be decompressed: Not a gzipped file",
    ),
    (
        "gz bigger than its payload",
        lambda c: (
            (c["mirror"] / "Tiny/raw/t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(10**6))),
            data.prepare_idx("tiny"),
        ),
        data.CorruptArchive,
        r"decompresses to more than the 16 bytes t10k-labels-idx1-ubyte has",
    ),
    (
        "gz with another payload",
        lambda c: (
            (c["mirror"] / "Tiny/raw/t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(16))),
            data.prepare_idx("tiny"),
        ),
        data.ChecksumMismatch,
        r"t10k-labels-idx1-ubyte\.gz: the uncompressed content has sha256 .*, expected",
    ),
    (
        "mirror link to a system file",
        lambda c: (
            (c["mirror"] / "Tiny/raw/train-images-idx3-ubyte.gz").unlink(),
            (c["mirror"] / "Tiny/raw/train-images-idx3-ubyte.gz").symlink_to("/etc/hostname"),
            data.prepare_idx("tiny"),
        ),
        data.UnsafeLink,
        r"train-images-idx3-ubyte\.gz: this mirror file is a symbolic link to /etc/hostname, outside the mirror",
    ),
    (
        "offline without a mirror",
        lambda c: (os.environ.pop(data.MIRROR_ENV), data.prepare_idx("tiny")),
        data.DatasetUnavailable,
        r"Tiny is not available: 4 file\(s\) missing: .*train-images-idx3-ubyte, .*t10k-labels-idx1-ubyte",
    ),
    (
        "zip that is not a zip",
        lambda c: data.safe_extract(c["write"]("z.zip", b"not a zip"), c["tmp"] / "out"),
        data.CorruptArchive,
        r"z\.zip cannot be read as a zip archive: File is not a zip file",
    ),
    (
        "missing zip",
        lambda c: data.safe_extract(c["tmp"] / "none.zip", c["tmp"] / "out"),
        FileNotFoundError,
        r"none\.zip: no such zip",
    ),
    (
        "zip member leading outside",
        lambda c: data.safe_extract(zip_with(c, ("ok", b"1"), ("../../x", b"2")), c["tmp"] / "out"),
        data.UnsafeArchive,
        r"refusing to extract '\.\./\.\./x'",
    ),
    (
        "zip member with an absolute path",
        lambda c: data.safe_extract(zip_with(c, ("/etc/evil", b"2")), c["tmp"] / "out"),
        data.UnsafeArchive,
        r"refusing to extract '/etc/evil'",
    ),
    (
        "zip bomb",
        lambda c: data.safe_extract(
            zip_with(c, ("big", bytes(10**6)), compress=zipfile.ZIP_DEFLATED), c["tmp"] / "out", max_bytes=10**5
        ),
        data.CorruptArchive,
        r"members hold 1,000,000 bytes, more than the 100,000",
    ),
    (
        "zip with a damaged member",
        lambda c: data.safe_extract(
            c["write"]("d.zip", zip_with(c, ("m", b"x" * 1000)).read_bytes().replace(b"x" * 1000, b"y" * 1000)),
            c["tmp"] / "out",
        ),
        data.CorruptArchive,
        r"d\.zip cannot be extracted: member 'm': Bad CRC-32",
    ),
    (
        "verify a missing folder",
        lambda c: data.verify_manifest(c["tmp"] / "nothing", {}),
        data.ChecksumMismatch,
        r"nothing: no such folder to verify",
    ),
    # --- saving checkpoints ----------------------------------------------------------------------
    (
        "meta with a numpy float",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], {"acc": np.float64(0.9)}),
        TypeError,
        r"meta\['acc'\] is a numpy\.float64 .*float\(x\)",
    ),
    (
        "meta with a numpy int",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], {"n": np.int32(3)}),
        TypeError,
        r"meta\['n'\] is a numpy\.int32",
    ),
    (
        "meta with a Path",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], {"p": Path("x")}),
        TypeError,
        r"meta\['p'\] is a pathlib\.PosixPath .*str\(path\)",
    ),
    (
        "meta with an array",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], {"a": np.ones(2)}),
        TypeError,
        r"meta\['a'\] is a numpy\.ndarray .*tolist\(\)",
    ),
    (
        "meta with a set",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], {"s": {1}}),
        TypeError,
        r"meta\['s'\] is a set",
    ),
    (
        "meta with bytes",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], {"b": b"x"}),
        TypeError,
        r"meta\['b'\] is a bytes",
    ),
    (
        "meta with a module",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], {"m": nn.ReLU()}),
        TypeError,
        r"meta\['m'\] is a torch\.nn\.modules\.activation\.ReLU",
    ),
    (
        "meta deep inside a list",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], {"h": [1, [2, np.float16(3)]]}),
        TypeError,
        r"meta\['h'\]\[1\]\[1\] is a numpy\.float16",
    ),
    (
        "meta nested too deeply",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], {"x": nested(80)}),
        TypeError,
        r"nested more than 50 levels deep",
    ),
    (
        "meta with a tuple key",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], {("a",): 1}),
        TypeError,
        r"meta has a key \('a',\) of type tuple",
    ),
    (
        "meta a list",
        lambda c: checkpoint.save_checkpoint(c["model"], c["good"], [1, 2]),
        TypeError,
        r"meta must be a dict \(or None\), got list",
    ),
    (
        "save a state_dict",
        lambda c: checkpoint.save_checkpoint(c["model"].state_dict(), c["good"]),
        TypeError,
        r"model must be a torch\.nn\.Module, got OrderedDict",
    ),
    ("save to None", lambda c: checkpoint.save_checkpoint(c["model"], None), TypeError, r"path must be a str or Path"),
    (
        "save to ''",
        lambda c: checkpoint.save_checkpoint(c["model"], ""),
        ValueError,
        r"path '\.' names no file|path '' names no file",
    ),
    (
        "save onto a folder",
        lambda c: checkpoint.save_checkpoint(c["model"], c["tmp"]),
        IsADirectoryError,
        r"is a folder; give the checkpoint a file name",
    ),
    # --- loading checkpoints ---------------------------------------------------------------------
    (
        "load a missing file",
        lambda c: checkpoint.load_checkpoint(c["tmp"] / "none.pt", LeNet5()),
        FileNotFoundError,
        r"none\.pt: no checkpoint there; train the model",
    ),
    (
        "load a folder",
        lambda c: checkpoint.load_checkpoint(c["tmp"], LeNet5()),
        IsADirectoryError,
        r"is a folder, not a checkpoint file",
    ),
    (
        "load a truncated file",
        lambda c: checkpoint.load_checkpoint(c["write"]("t.pt", c["good"].read_bytes()[:5000]), LeNet5()),
        CorruptCheckpoint,
        r"t\.pt: torch cannot read it .*delete it and train the model again",
    ),
    (
        "load an empty file",
        lambda c: checkpoint.load_checkpoint(c["write"]("e.pt", b""), LeNet5()),
        CorruptCheckpoint,
        r"e\.pt: .*delete it",
    ),
    (
        "load random bytes",
        lambda c: checkpoint.load_checkpoint(c["write"]("r.pt", np.random.default_rng(0).bytes(4000)), LeNet5()),
        CorruptCheckpoint,
        r"r\.pt: it cannot be unpickled \(Unsupported operand 95\); the file is damaged or not a coursekit",
    ),
    (
        "load a pickle payload",
        lambda c: checkpoint.load_checkpoint(evil_pickle(c), LeNet5()),
        UnsafeCheckpoint,
        r"evil\.pt holds objects other than tensors and plain values, which could run code .*GLOBAL posix\.system",
    ),
    (
        "load a plain state_dict",
        lambda c: checkpoint.load_checkpoint(c["write"]("sd.pt", LeNet5().state_dict()), LeNet5()),
        CheckpointMismatch,
        r"sd\.pt is not a coursekit checkpoint",
    ),
    (
        "load a list",
        lambda c: checkpoint.load_checkpoint(c["write"]("l.pt", [1, 2]), LeNet5()),
        CheckpointMismatch,
        r"l\.pt is not a coursekit checkpoint",
    ),
    (
        "load a flipped byte",
        lambda c: checkpoint.load_checkpoint(flipped(c), LeNet5()),
        CorruptCheckpoint,
        r"flipped\.pt: the content of 1 tensor\(s\) differs from the sha256 saved with it \(features\.3\.weight\)",
    ),
    (
        "load into another config",
        lambda c: checkpoint.load_checkpoint(c["good"], LeNet5(activation="tanh")),
        CheckpointMismatch,
        r"good\.pt does not fit this model: its configuration is",
    ),
    (
        "load into other shapes",
        lambda c: checkpoint.load_checkpoint(c["good"], LeNet5(num_classes=3)),
        CheckpointMismatch,
        r"classifier\.5\.weight has shape \(10, 84\), the model expects \(3, 84\)",
    ),
    (
        "load into another class",
        lambda c: checkpoint.load_checkpoint(c["good"], nn.Linear(2, 2)),
        CheckpointMismatch,
        r"it holds a LeNet5, the model is a Linear",
    ),
    (
        "load into a non-model",
        lambda c: checkpoint.load_checkpoint(c["good"], "LeNet5"),
        TypeError,
        r"model must be a torch\.nn\.Module, got str",
    ),
    (
        "stored shapes disagree",
        lambda c: checkpoint.load_checkpoint(
            altered_checkpoint(c, lambda p: p["state_dict"].__setitem__("features.0.bias", torch.zeros(7))), LeNet5()
        ),
        CorruptCheckpoint,
        r"altered\.pt: tensor features\.0\.bias has shape \(7,\) but is recorded as \(6,\)",
    ),
    (
        "a tensor is missing",
        lambda c: checkpoint.load_checkpoint(
            altered_checkpoint(c, lambda p: p["state_dict"].pop("features.0.bias")), LeNet5()
        ),
        CorruptCheckpoint,
        r"the tensors it lists and the tensors it holds differ",
    ),
    (
        "checksums incomplete",
        lambda c: checkpoint.load_checkpoint(
            altered_checkpoint(c, lambda p: p["architecture"]["sha256"].pop("features.0.bias")), LeNet5()
        ),
        CorruptCheckpoint,
        r"its checksum record does not list every tensor",
    ),
    (
        "architecture missing",
        lambda c: checkpoint.load_checkpoint(altered_checkpoint(c, lambda p: p.pop("architecture")), LeNet5()),
        CorruptCheckpoint,
        r"its architecture record is missing",
    ),
    (
        "state_dict not tensors",
        lambda c: checkpoint.load_checkpoint(
            altered_checkpoint(c, lambda p: p["state_dict"].__setitem__("features.0.bias", [0.0] * 6)), LeNet5()
        ),
        CorruptCheckpoint,
        r"its state_dict is missing or holds something other than tensors",
    ),
    (
        "meta missing",
        lambda c: checkpoint.read_checkpoint(altered_checkpoint(c, lambda p: p.pop("meta"))),
        CorruptCheckpoint,
        r"its meta is missing",
    ),
    ("read a checkpoint of None", lambda c: checkpoint.read_checkpoint(None), TypeError, r"path must be a str or Path"),
]


@pytest.mark.parametrize("call, exception, pattern", [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_input_gets_a_clear_error(ctx, call, exception, pattern):
    with pytest.raises(exception, match=pattern):
        call(ctx)


def test_there_are_enough_cases():
    assert len(CASES) >= 60


def test_a_refused_save_leaves_the_old_checkpoint_whole(ctx):
    before = ctx["good"].read_bytes()
    for meta in ({"a": np.float64(1)}, {"p": Path("x")}, {"b": np.zeros(2)}):
        with pytest.raises(TypeError):
            checkpoint.save_checkpoint(LeNet5(), ctx["good"], meta)
    assert ctx["good"].read_bytes() == before
    assert checkpoint.load_checkpoint(ctx["good"], LeNet5()) == {"acc": 0.5}
    assert not list(ctx["tmp"].glob(".*.partial"))
