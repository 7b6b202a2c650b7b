"""Datasets: find them, verify them, and feed them to a model fast.

Where a dataset comes from, in order:

1. ``data/`` in the project (already prepared: nothing to do);
2. a local mirror, the folder named by ``COURSEKIT_DATA_MIRROR``, in torchvision's root layout
   (``MNIST/raw/*.gz``, ``FashionMNIST/raw/*.gz``, ``hymenoptera_data/{train,val}/...``);
3. a download from the canonical source (torchvision's own mirror list for MNIST and
   Fashion-MNIST, the PyTorch tutorial's zip for the ants/bees set).

Every IDX file is verified by the sha256 of its *uncompressed* payload, so a re-compressed but
identical copy (as Debian ships Fashion-MNIST) passes and a corrupted one does not. Files are
written to a temporary name and renamed only once verified: an interrupted or failed preparation
leaves nothing half-written in ``data/``.

For training on a CPU, `load_idx` returns a whole split as one uint8 tensor and `TensorLoader`
serves normalised batches from it -- no per-image PIL conversion, which dominates the run time of a
small network on two cores.

Command line: ``python -m coursekit.data prepare [mnist fashion_mnist hymenoptera]``.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

MIRROR_ENV = "COURSEKIT_DATA_MIRROR"
DATA_DIR_ENV = "COURSEKIT_DATA_DIR"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class DatasetUnavailable(RuntimeError):
    """A dataset is not in ``data/``, not in a mirror, and could not be downloaded."""


class ChecksumMismatch(RuntimeError):
    """A dataset file's content is not the original's (its sha256 differs)."""


def data_dir() -> Path:
    """The folder datasets are prepared into: ``COURSEKIT_DATA_DIR`` or ``<project>/data``."""
    return Path(os.environ.get(DATA_DIR_ENV) or PROJECT_ROOT / "data")


def mirror_dir() -> Path | None:
    """The local mirror named by ``COURSEKIT_DATA_MIRROR``, or None when it is not set."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    return Path(value).expanduser() if value else None


# ---------------------------------------------------------------------------------------------
# The IDX datasets (MNIST, Fashion-MNIST): four files each, verified by payload sha256.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdxDataset:
    name: str            # torchvision's class name, also the folder name under the root
    sha256: dict         # uncompressed file name -> sha256 of its payload
    mean: float          # training-set pixel mean and std after scaling to [0, 1]
    std: float
    classes: tuple
    mirrors: tuple = ()  # download base URLs; empty means torchvision's list for `name`

    def urls(self) -> list[list[str]]:
        """For each file, the download URLs to try in order (torchvision's mirrors by default)."""
        mirrors = self.mirrors
        if not mirrors:
            import torchvision.datasets as tvd

            mirrors = getattr(tvd, self.name).mirrors
        return [[m + f + ".gz" for m in mirrors] for f in self.sha256]


# MNIST: the hashes published with the course's mirror (train 60,000, test 10,000).
# Fashion-MNIST: computed from the original payloads. Note: the mirror's .gz files are Debian's
# re-compressions, so their md5s do not match torchvision's published .gz md5s (none of the four
# do); the uncompressed payloads are the originals, which is why we hash payloads, not archives.
IDX_DATASETS = {
    "mnist": IdxDataset(
        "MNIST",
        {
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        mean=0.1307, std=0.3081,
        classes=tuple(str(d) for d in range(10)),
    ),
    "fashion_mnist": IdxDataset(
        "FashionMNIST",
        {
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        mean=0.2860, std=0.3530,
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}

HYMENOPTERA_URL = "https://download.pytorch.org/tutorial/hymenoptera_data.zip"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def _temporary_file(directory: Path, stem: str):
    """A temp file in `directory` that is removed unless the body renamed it away.

    The package's one recipe for writing a file atomically (datasets, weights, checkpoints): write
    the temp file, then ``os.replace`` it onto the target; a failure leaves no partial file behind.
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".partial", dir=directory)
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def write_json(path: str | Path, obj) -> Path:
    """Write `obj` as indented JSON to `path`, atomically: the old file (if any) stays intact until
    the new one is complete, and a value JSON cannot encode raises TypeError before anything is
    replaced. Used for the benchmark reports. Returns the path."""
    path = Path(path)
    text = json.dumps(obj, indent=2) + "\n"  # fails here, before any file is touched
    with _temporary_file(path.parent, path.name) as tmp:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return path


def _copy_payload(source: Path, target: Path, expected: str) -> None:
    """Decompress (if .gz) `source` into `target`, atomically, only if the payload hash matches."""
    opener = gzip.open if source.suffix == ".gz" else open
    with _temporary_file(target.parent, target.name) as tmp:
        h = hashlib.sha256()
        with opener(source, "rb") as src, open(tmp, "wb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                h.update(block)
                dst.write(block)
        if h.hexdigest() != expected:
            raise ChecksumMismatch(
                f"{source}: the uncompressed content has sha256 {h.hexdigest()}, expected {expected}. "
                f"This copy is corrupted or not the original file; replace it with a good copy."
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a dataset is readable by everyone
        os.replace(tmp, target)


def _download(url: str, directory: Path) -> Path:
    """Fetch `url` into `directory` and return the file's path (torchvision's downloader)."""
    from torchvision.datasets.utils import download_url

    download_url(url, str(directory))
    return directory / url.rsplit("/", 1)[-1]


def _find_in_mirror(relative: str) -> Path | None:
    mirror = mirror_dir()
    if mirror is None:
        return None
    for candidate in (mirror / (relative + ".gz"), mirror / relative):
        if candidate.is_file():
            return candidate
    return None


def prepare_idx(key: str) -> Path:
    """Make sure the four IDX files of dataset `key` ('mnist' | 'fashion_mnist') are in ``data/``.

    Returns the dataset's raw folder. Raises `ChecksumMismatch` naming the bad file, or
    `DatasetUnavailable` saying what is missing and how to supply it.
    """
    spec = _idx_spec(key)
    raw = data_dir() / spec.name / "raw"
    for (fname, expected), urls in zip(spec.sha256.items(), spec.urls()):
        target = raw / fname
        if target.is_file():
            got = _sha256_file(target)
            if got != expected:
                raise ChecksumMismatch(
                    f"{target}: sha256 is {got}, expected {expected}. The prepared file is corrupted; "
                    f"delete it and run `python -m coursekit.data prepare {key}` to fetch it again."
                )
            continue
        source = _find_in_mirror(f"{spec.name}/raw/{fname}")
        if source is not None:
            _copy_payload(source, target, expected)
            continue
        errors = []
        with tempfile.TemporaryDirectory(prefix=".download-", dir=_ensure(raw)) as tmp:
            for url in urls:
                try:
                    archive = _download(url, Path(tmp))
                except Exception as err:  # any network failure: try the next mirror
                    errors.append(f"{url}: {err}")
                    continue
                _copy_payload(archive, target, expected)
                break
        if not target.is_file():
            raise DatasetUnavailable(_unavailable_message(spec.name, [target], errors))
    return raw


def _ensure(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _unavailable_message(name: str, missing: list[Path], errors: list[str]) -> str:
    mirror = mirror_dir()
    where = (f"the mirror {mirror} does not hold it" if mirror
             else f"no mirror is set (environment variable {MIRROR_ENV})")
    lines = [
        f"{name} is not available: missing {', '.join(str(m) for m in missing)}; {where}; "
        f"and the download failed.",
        *[f"  download error: {e}" for e in errors],
        "To supply it, either connect to the internet and run again, or point "
        f"{MIRROR_ENV} at a folder in torchvision's layout that holds {name}/raw/*.gz "
        f"(or hymenoptera_data/ for the ants/bees set), or copy the files into {data_dir() / name}.",
    ]
    return "\n".join(lines)


def _idx_spec(key: str) -> IdxDataset:
    try:
        return IDX_DATASETS[key]
    except KeyError:
        raise ValueError(f"unknown dataset {key!r}; choose one of {', '.join(IDX_DATASETS)}") from None


def read_idx(path: Path) -> np.ndarray:
    """Parse one uncompressed IDX file (LeCun's format) into a NumPy array of its stored shape."""
    raw = Path(path).read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    dtype, ndim = dtypes[raw[2]], raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(shape)


def load_idx(key: str, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole split in memory: images uint8 (N, 1, 28, 28) and labels int64 (N,)."""
    raw = prepare_idx(key)
    prefix = "train" if train else "t10k"
    images = read_idx(raw / f"{prefix}-images-idx3-ubyte")
    labels = read_idx(raw / f"{prefix}-labels-idx1-ubyte")
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def classes(key: str) -> tuple:
    """The class names of dataset `key`, in label order."""
    return _idx_spec(key).classes


def normalization(key: str) -> tuple[float, float]:
    """Training-set (mean, std) of dataset `key`'s pixels scaled to [0, 1]."""
    spec = _idx_spec(key)
    return spec.mean, spec.std


def mnist(train: bool = True, transform=None):
    """torchvision's `MNIST` over the verified files in ``data/`` (per-sample PIL pipeline)."""
    import torchvision.datasets as tvd

    prepare_idx("mnist")
    return tvd.MNIST(str(data_dir()), train=train, transform=transform, download=False)


def fashion_mnist(train: bool = True, transform=None):
    """torchvision's `FashionMNIST` over the verified files in ``data/``."""
    import torchvision.datasets as tvd

    prepare_idx("fashion_mnist")
    return tvd.FashionMNIST(str(data_dir()), train=train, transform=transform, download=False)


# ---------------------------------------------------------------------------------------------
# Hymenoptera (ants and bees): an image folder.
# ---------------------------------------------------------------------------------------------

def safe_extract(archive: Path, destination: Path) -> None:
    """Extract zip `archive` into `destination`, refusing any member that would land outside it.

    Every member is checked *before* anything is written: an archive with one hostile member
    ("../x", "/etc/x", "a/../../x") is refused as a whole with `UnsafeArchive`.
    """
    destination = destination.resolve()
    with zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            target = (destination / member.filename).resolve()
            if target != destination and destination not in target.parents:
                raise UnsafeArchive(
                    f"{archive}: refusing to extract {member.filename!r}, which would be written "
                    f"outside {destination}; nothing was extracted. The archive is damaged or hostile."
                )
        zf.extractall(destination)


class UnsafeArchive(ValueError):
    """A zip archive has a member whose path leads outside the folder it is extracted into."""


HYMENOPTERA_MANIFEST = "hymenoptera.sha256"


def read_manifest(name: str = HYMENOPTERA_MANIFEST) -> dict[str, str]:
    """The sha256 manifest `name` kept in ``coursekit/manifests``: {relative path: sha256}.

    One line per file, ``<sha256>  <relative/path>`` (the format of ``sha256sum``).
    """
    text = (Path(__file__).parent / "manifests" / name).read_text(encoding="utf-8")
    entries = {}
    for line in text.splitlines():
        if line.strip():
            digest, relative = line.split("  ", 1)
            entries[relative] = digest
    return entries


def verify_manifest(folder: Path, manifest: dict[str, str]) -> None:
    """Check that `folder` holds exactly the files of `manifest`, each with its sha256.

    Raises `ChecksumMismatch` naming the first differing file, a missing file or a file the
    manifest does not know.
    """
    folder = Path(folder)
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    missing = sorted(set(manifest) - present)
    if missing:
        raise ChecksumMismatch(f"{folder}: {len(missing)} file(s) of the manifest are missing, e.g. {missing[0]!r}")
    unknown = sorted(present - set(manifest))
    if unknown:
        raise ChecksumMismatch(f"{folder}: {unknown[0]!r} is not in the manifest ({len(unknown)} unknown file(s))")
    for relative, expected in sorted(manifest.items()):
        got = _sha256_file(folder / relative)
        if got != expected:
            raise ChecksumMismatch(
                f"{folder / relative}: sha256 is {got}, expected {expected} ({relative} in the manifest). "
                f"This copy is corrupted or not the original; nothing was installed."
            )


def prepare_hymenoptera() -> Path:
    """Make sure ``data/hymenoptera_data/{train,val}/{ants,bees}`` exists; return its folder.

    From the mirror (copied as is) or the canonical zip (extracted with `safe_extract`, then every
    file verified against the project's sha256 manifest), the files are staged in a temporary
    folder next to ``data/hymenoptera_data`` and only then moved into place: a failure leaves
    nothing half-written in ``data/``.
    """
    target = data_dir() / "hymenoptera_data"
    if (target / "train").is_dir() and (target / "val").is_dir():
        return target
    _ensure(target.parent)
    mirror = mirror_dir()
    with tempfile.TemporaryDirectory(prefix=".hymenoptera-", dir=target.parent) as tmp:
        staged = Path(tmp) / "hymenoptera_data"
        if mirror is not None and (mirror / "hymenoptera_data" / "train").is_dir():
            shutil.copytree(mirror / "hymenoptera_data", staged, copy_function=shutil.copyfile)
            for folder in [staged, *(p for p in staged.rglob("*") if p.is_dir())]:
                folder.chmod(0o755)  # a read-only mirror must not give us folders we cannot delete
        else:
            try:
                archive = _download(HYMENOPTERA_URL, Path(tmp))
            except Exception as err:
                raise DatasetUnavailable(
                    _unavailable_message("hymenoptera_data", [target], [f"{HYMENOPTERA_URL}: {err}"])
                ) from err
            extracted = Path(tmp) / "extracted"
            safe_extract(archive, extracted)
            if (extracted / "hymenoptera_data").is_dir():
                os.replace(extracted / "hymenoptera_data", staged)
                verify_manifest(staged, read_manifest(HYMENOPTERA_MANIFEST))
        if not (staged / "train").is_dir() or not (staged / "val").is_dir():
            raise DatasetUnavailable(f"the ants/bees set has no train/ and val/ folders in {staged}")
        os.replace(staged, target)
    return target


def is_photo(path: str | Path) -> bool:
    """Whether `path` is a JPEG photograph (the ants/bees set's only real format).

    The training set holds one placeholder, ``train/ants/imageNotFound.gif``: a grey 300x300 GIF
    reading "We're sorry, this image could not be found" -- a web page's stand-in, not an insect.
    It is a valid image, so ImageFolder would happily label it "ants"; this filter keeps it out.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.format == "JPEG"
    except (OSError, UnidentifiedImageError):
        return False


def hymenoptera(train_transform=None, val_transform=None, keep_placeholders: bool = False):
    """The ants/bees set as two torchvision `ImageFolder`s: (train, val).

    Files that are not JPEG photos (the placeholder GIF, anything unreadable) are left out unless
    `keep_placeholders`; each dataset lists what it left out in ``.excluded`` (paths relative to
    the data root, e.g. ``'train/ants/imageNotFound.gif'``), so a notebook can show it.
    """
    from torchvision.datasets import ImageFolder

    root = prepare_hymenoptera()
    splits = []
    for split, transform in (("train", train_transform), ("val", val_transform)):
        excluded = []

        def accept(path, _excluded=excluded):
            if keep_placeholders or is_photo(path):
                return True
            _excluded.append(Path(path).relative_to(root).as_posix())
            return False

        dataset = ImageFolder(str(root / split), transform, is_valid_file=accept)
        dataset.excluded = sorted(excluded)
        splits.append(dataset)
    return tuple(splits)


# ---------------------------------------------------------------------------------------------
# In-memory batches.
# ---------------------------------------------------------------------------------------------

class TensorLoader:
    """Batches from a split held in memory as one uint8 tensor.

    images: uint8 (N, C, H, W); labels: int64 (N,). Each batch is returned as
    (float32 (B, C, H, W) normalised with `mean`/`std`, int64 (B,)) on `device`.
    With ``shuffle=True`` each pass draws a new order from a generator seeded with `seed`, so the
    sequence of epochs is the same on every run. On CUDA the source is pinned and copied with
    ``non_blocking=True``.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 128,
                 shuffle: bool = False, seed: int = 0, mean: float = 0.0, std: float = 1.0,
                 device: torch.device | str | None = None, drop_last: bool = False):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"labels must be (N,) with N={len(images)}, got {tuple(labels.shape)}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.images, self.labels = images, labels
        if self.device.type == "cuda":
            self.images, self.labels = images.pin_memory(), labels.pin_memory()
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.mean, self.std = float(mean), float(std)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.images)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_samples(self) -> int:
        return len(self.images)

    def __iter__(self):
        n = len(self.images)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        non_blocking = self.device.type == "cuda"
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            idx = order[start:start + self.batch_size]
            x = self.images[idx].to(self.device, non_blocking=non_blocking)
            y = self.labels[idx].to(self.device, non_blocking=non_blocking)
            # scale to [0, 1] and standardise in one fused step: (x/255 - mean) / std
            x = x.float().mul_(1.0 / (255.0 * self.std)).sub_(self.mean / self.std)
            yield x, y


def tensor_loaders(key: str, batch_size: int = 128, train_subset: int | None = None, seed: int = 0,
                   device: torch.device | str | None = None) -> tuple[TensorLoader, TensorLoader]:
    """(train, test) `TensorLoader`s for 'mnist' or 'fashion_mnist', normalised with the training
    statistics; `train_subset` keeps a seeded random subset of that many training images."""
    mean, std = normalization(key)
    x_train, y_train = load_idx(key, train=True)
    x_test, y_test = load_idx(key, train=False)
    if train_subset is not None and train_subset < len(x_train):
        keep = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed))[:train_subset]
        x_train, y_train = x_train[keep], y_train[keep]
    train = TensorLoader(x_train, y_train, batch_size, shuffle=True, seed=seed, mean=mean, std=std, device=device)
    test = TensorLoader(x_test, y_test, 1000, shuffle=False, mean=mean, std=std, device=device)
    return train, test


PREPARERS = {
    "mnist": lambda: prepare_idx("mnist"),
    "fashion_mnist": lambda: prepare_idx("fashion_mnist"),
    "hymenoptera": prepare_hymenoptera,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "prepare":
        print("usage: python -m coursekit.data prepare [" + " ".join(PREPARERS) + "]", file=sys.stderr)
        return 2
    names = argv[1:] or list(PREPARERS)
    for name in names:
        if name not in PREPARERS:
            print(f"unknown dataset {name!r}; choose from {', '.join(PREPARERS)}", file=sys.stderr)
            return 2
        try:
            where = PREPARERS[name]()
        except (DatasetUnavailable, ChecksumMismatch) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(f"{name}: ready in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
