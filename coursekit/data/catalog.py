"""What the course's datasets are: their files, checksums, sizes, statistics and class names.

Nothing here touches the disk except `read_manifest`, which reads a manifest shipped inside the
package. `prepare` uses these facts to fetch and verify the files, `datasets` to describe them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UnknownName


@dataclass(frozen=True)
class IdxDataset:
    """An IDX dataset (MNIST, Fashion-MNIST): four files, each verified by its payload's sha256.

    name: torchvision's class name, also the folder under the data root (``MNIST/raw/...``);
    sha256: uncompressed file name -> sha256 of its payload; mean, std: training-set pixel mean and
    std after scaling to [0, 1]; classes: class names in label order; mirrors: download base URLs
    (empty: torchvision's list for `name`); sizes: uncompressed file name -> exact byte count (the
    cap decompression stops at; None: no size known, `DEFAULT_IDX_CAP` bytes at most).
    """

    name: str
    sha256: dict
    mean: float
    std: float
    classes: tuple
    mirrors: tuple = ()
    sizes: dict | None = None

    def urls(self) -> list[list[str]]:
        """For each file, the download URLs to try in order (torchvision's mirrors by default)."""
        mirrors = self.mirrors
        if not mirrors:
            import torchvision.datasets as tvd

            mirrors = getattr(tvd, self.name).mirrors
        return [[m + f + ".gz" for m in mirrors] for f in self.sha256]

    def size_of(self, filename: str) -> int | None:
        """The exact size in bytes of uncompressed file `filename`, or None when it is not recorded."""
        return None if self.sizes is None else self.sizes.get(filename)


# A payload without a recorded size is still not decompressed beyond this many bytes.
DEFAULT_IDX_CAP = 256 << 20

# Header (4 bytes of magic, 4 per dimension) plus one byte per pixel or label.
_IDX_SIZES = {
    "train-images-idx3-ubyte": 16 + 60000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60000,
    "t10k-images-idx3-ubyte": 16 + 10000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10000,
}

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
        mean=0.1307,
        std=0.3081,
        classes=tuple(str(d) for d in range(10)),
        sizes=dict(_IDX_SIZES),
    ),
    "fashion_mnist": IdxDataset(
        "FashionMNIST",
        {
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        mean=0.2860,
        std=0.3530,
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        sizes=dict(_IDX_SIZES),
    ),
}


def idx_spec(key) -> IdxDataset:
    """The `IdxDataset` of `key` ('mnist' | 'fashion_mnist'); `UnknownName` for any other key."""
    if not isinstance(key, str) or key not in IDX_DATASETS:
        raise UnknownName("dataset", key, IDX_DATASETS)
    return IDX_DATASETS[key]


# ---------------------------------------------------------------------------------------------
# The ants/bees set (hymenoptera): an image folder checked against a manifest in the package.
# ---------------------------------------------------------------------------------------------

HYMENOPTERA_URL = "https://download.pytorch.org/tutorial/hymenoptera_data.zip"
HYMENOPTERA_MANIFEST = "hymenoptera.sha256"
# The bytes of the 398 files the manifest lists (245 training, 153 validation images).
HYMENOPTERA_PAYLOAD_BYTES = 47_385_924
# Extraction or copying stops beyond the payload plus this margin (5 % and 1 MiB).
HYMENOPTERA_MAX_BYTES = int(HYMENOPTERA_PAYLOAD_BYTES * 1.05) + (1 << 20)

MANIFEST_DIR = Path(__file__).resolve().parents[1] / "manifests"


def read_manifest(name: str = HYMENOPTERA_MANIFEST) -> dict[str, str]:
    """The sha256 manifest `name` kept in ``coursekit/manifests``: {relative path: sha256}.

    One line per file, ``<sha256>  <relative/path>`` (the format of ``sha256sum``).
    """
    path = MANIFEST_DIR / name
    if not path.is_file():
        known = [p.name for p in MANIFEST_DIR.glob("*.sha256")]
        raise UnknownName("manifest", name, known)
    entries = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, relative = line.partition("  ")
        if not sep or len(digest) != 64:
            raise ValueError(f"{path}, line {number}: expected '<sha256>  <relative/path>', got {line!r}")
        entries[relative] = digest
    return entries
