"""torchvision's ImageNet networks with their trained weights, loaded safely and offline-aware.

``pretrained("resnet18")`` builds torchvision's ResNet-18 (``weights=None``) and fills it with the
ImageNet weights found, in this order, at

1. ``data/weights/<file>`` -- where you put a copy by hand (e.g. on a machine without internet);
2. the torch hub cache, ``torch.hub.get_dir()/checkpoints/<file>`` -- where torchvision keeps
   the files it has downloaded before;
3. a download from torchvision's URL into ``data/weights/``, written to a temporary name and
   renamed only once its sha256 is verified.

Every file is checked against the expected sha256 (torchvision publishes the first 8 hex digits in
the file name, ``resnet18-f37072fd.pth``) and read with ``torch.load(..., weights_only=True)``,
which refuses to unpickle code. When no copy is available, `WeightsUnavailable` says where to put
the file.

This module only finds, fetches, verifies and loads weights. The transfer-learning helpers
(`replace_head`, `freeze_backbone`, `keep_frozen_bn`, `backbone_and_head`) live in
`coursekit.models.transfer`; they are importable from here too, for older code.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import torch
from torch import nn

from ..data.locations import data_dir
from ..errors import UnknownName
from ..files import atomic_path, remove_stale_partials, sha256_file
from .transfer import backbone_and_head, freeze_backbone, keep_frozen_bn, replace_head  # noqa: F401 -- old home


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither in data/weights, nor in the torch hub cache, nor downloadable."""


class WeightsChecksumMismatch(RuntimeError):
    """A weights file's sha256 is not the published one."""


def _builders():
    from torchvision import models

    return {
        "resnet18": (models.resnet18, models.ResNet18_Weights.IMAGENET1K_V1),
        "vgg19": (models.vgg19, models.VGG19_Weights.IMAGENET1K_V1),  # 548 MB; style transfer (Gatys et al.)
    }


def weights_url(name: str) -> str:
    """The download URL of `name`'s ImageNet weights (torchvision's)."""
    builders = _builders()
    if name not in builders:
        raise UnknownName("pretrained model", name, builders)
    return builders[name][1].url


def weights_filename(name: str) -> str:
    return weights_url(name).rsplit("/", 1)[-1]


# Expected sha256 per file name. torchvision publishes the first 8 hex digits in the name; a full
# digest may be put here instead (tests inject the digest of their stand-in file).
EXPECTED_SHA256: dict[str, str] = {}


def expected_sha256(filename: str) -> str:
    """The expected sha256 (or its published prefix) of weights file `filename`."""
    if filename in EXPECTED_SHA256:
        return EXPECTED_SHA256[filename]
    match = re.search(r"-([0-9a-f]{8,64})\.pth$", filename)
    if not match:
        raise ValueError(f"{filename}: no published hash in the file name")
    return match.group(1)


def _verify(path: Path, expected: str) -> None:
    got = sha256_file(path)
    if not got.startswith(expected.lower()):
        raise WeightsChecksumMismatch(
            f"{path}: sha256 is {got}, expected {expected}{'...' if len(expected) < 64 else ''}. "
            f"The file is corrupted or not the published one; delete it and supply a good copy."
        )


def _download(url: str, destination: Path) -> None:
    """Fetch `url` into the file `destination` (replaced in tests)."""
    with urllib.request.urlopen(url, timeout=30) as response, open(destination, "wb") as out:
        for block in iter(lambda: response.read(1 << 20), b""):
            out.write(block)


def weights_dir() -> Path:
    """Where hand-supplied and downloaded weights live: ``data/weights``."""
    return data_dir() / "weights"


def hub_checkpoints_dir() -> Path:
    """torch hub's cache of downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_weights(name: str, download: bool = True) -> Path:
    """The path of `name`'s verified weights file (data/weights, hub cache, or a fresh download)."""
    filename = weights_filename(name)
    expected = expected_sha256(filename)
    for candidate in (weights_dir() / filename, hub_checkpoints_dir() / filename):
        if candidate.is_file():
            _verify(candidate, expected)
            return candidate
    target = weights_dir() / filename
    error = "download disabled"
    if download:
        remove_stale_partials(target.parent)  # what a download killed half-way left behind
        try:
            with atomic_path(target) as tmp:  # renamed onto target only once verified
                _download(weights_url(name), tmp)
                _verify(tmp, expected)
            return target
        except WeightsChecksumMismatch:
            raise
        except Exception as err:  # offline, DNS failure, HTTP error ...
            error = f"{type(err).__name__}: {err}"
    raise WeightsUnavailable(
        f"ImageNet weights for {name} are not available: not in {weights_dir()}, not in the torch hub "
        f"cache {hub_checkpoints_dir()}, and the download of {weights_url(name)} failed ({error}).\n"
        f"To supply them, download that file on a machine with internet and copy it to "
        f"{weights_dir() / filename} (data/weights/{filename} in the project)."
    )


def pretrained(name: str = "resnet18", download: bool = True) -> nn.Module:
    """torchvision's `name` ("resnet18" or "vgg19") with its ImageNet weights (1000 classes), in eval mode.

    Raises `coursekit.errors.UnknownName` for a name without published weights,
    `WeightsUnavailable` (offline, nothing supplied), `WeightsChecksumMismatch`, or a RuntimeError
    naming the file if a verified file still cannot be loaded into the network.
    """
    path = find_weights(name, download=download)  # UnknownName for an unknown name
    model = _builders()[name][0](weights=None)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # refuses pickled code
        model.load_state_dict(state)
    except Exception as error:
        raise RuntimeError(f"{path}: cannot load these weights into torchvision's {name}: {error}") from error
    return model.eval()
