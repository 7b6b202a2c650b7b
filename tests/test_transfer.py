"""Transfer learning: the ants/bees loader (placeholder, hostile archive, manifest) and pretrained weights."""

import hashlib
import io
import urllib.error
import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image

from coursekit import data
from coursekit.checks import check, exercises
from coursekit.data import prepare
from coursekit.models import imagenet as pt
from coursekit.models.imagenet import (
    WeightsChecksumMismatch,
    WeightsUnavailable,
    backbone_and_head,
    freeze_backbone,
    keep_frozen_bn,
    replace_head,
)


def jpeg_bytes(colour, size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="JPEG")
    return buf.getvalue()


def gif_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (30, 30), 3).save(buf, format="GIF")
    return buf.getvalue()


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


FILES = {
    "train/ants/a1.jpg": jpeg_bytes("red"),
    "train/ants/imageNotFound.gif": gif_bytes(),
    "train/ants/broken.jpg": b"\xff\xd8 not really a jpeg",
    "train/bees/b1.jpg": jpeg_bytes("yellow"),
    "val/ants/a2.jpg": jpeg_bytes("brown"),
    "val/bees/b2.jpg": jpeg_bytes("orange"),
}


def zip_of(files: dict, extra: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel, payload in files.items():
            zf.writestr(f"hymenoptera_data/{rel}", payload)
        for name, payload in (extra or {}).items():
            zf.writestr(name, payload)
    return buf.getvalue()


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """Empty data dir, no mirror, a fake canonical zip 'served' by a monkeypatched _download."""
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    served = {"zip": zip_of(FILES)}

    def fake_download(url, directory):
        assert url == data.HYMENOPTERA_URL
        path = Path(directory) / "hymenoptera_data.zip"
        path.write_bytes(served["zip"])
        return path

    monkeypatch.setattr(prepare, "_download", fake_download)
    manifest = {rel: hashlib.sha256(p).hexdigest() for rel, p in FILES.items()}
    monkeypatch.setattr(prepare, "read_manifest", lambda name=None: dict(manifest))
    return {"data": tmp_path / "data", "served": served, "manifest": manifest}


# --- the placeholder ----------------------------------------------------------------------------


def test_placeholder_and_unreadable_files_are_excluded_and_listed(offline):
    train, val = data.hymenoptera()
    kept = sorted(Path(p).relative_to(offline["data"] / "hymenoptera_data").as_posix() for p, _ in train.samples)
    assert kept == ["train/ants/a1.jpg", "train/bees/b1.jpg"]
    assert train.excluded == ["train/ants/broken.jpg", "train/ants/imageNotFound.gif"]
    assert val.excluded == [] and len(val) == 2
    assert train.classes == ["ants", "bees"] and [y for _, y in train.samples] == [0, 1]


def test_keep_placeholders_shows_what_imagefolder_would_do(offline):
    train, _ = data.hymenoptera(keep_placeholders=True)
    assert len(train) == 4 and train.excluded == []
    assert data.is_photo(offline["data"] / "hymenoptera_data/train/ants/a1.jpg")
    assert not data.is_photo(offline["data"] / "hymenoptera_data/train/ants/imageNotFound.gif")


real_data = pytest.mark.skipif(
    not (data.mirror_dir() or (data.data_dir() / "hymenoptera_data").is_dir()),
    reason="needs the real ants/bees set (COURSEKIT_DATA_MIRROR or data/)",
)


@real_data
def test_the_real_set_has_exactly_one_placeholder():
    train, val = data.hymenoptera()
    assert train.excluded == ["train/ants/imageNotFound.gif"]
    assert val.excluded == []
    assert (len(train), len(val)) == (244, 153)


def test_project_manifest_lists_the_published_counts():
    manifest = data.read_manifest()
    assert len(manifest) == 245 + 153
    assert sum(k.startswith("train/") for k in manifest) == 245
    assert "train/ants/ant photos.jpg" in manifest  # a name with a space parses
    assert all(len(v) == 64 and int(v, 16) >= 0 for v in manifest.values())


@real_data
def test_project_manifest_matches_the_mirror_copy():
    root = data.prepare_hymenoptera()
    data.verify_manifest(root, data.read_manifest())
    # the extraction cap is derived from this total
    assert sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) == data.HYMENOPTERA_PAYLOAD_BYTES


# --- download, manifest, hostile archive ---------------------------------------------------------


def test_download_is_extracted_and_verified(offline):
    root = data.prepare_hymenoptera()
    assert files_in(root) == sorted(FILES)
    assert [f for f in files_in(offline["data"]) if not f.startswith("hymenoptera_data/")] == []


def test_hostile_archive_is_refused_and_nothing_is_written(offline, tmp_path):
    offline["served"]["zip"] = zip_of(FILES, extra={"../../outside.txt": b"gotcha"})
    with pytest.raises(data.UnsafeArchive, match=r"refusing to extract '\.\./\.\./outside\.txt'"):
        data.prepare_hymenoptera()
    assert files_in(offline["data"]) == []
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path.parent / "outside.txt").exists()


def test_absolute_member_is_refused(tmp_path):
    archive = tmp_path / "abs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr(str(tmp_path / "elsewhere" / "x.txt"), b"gotcha")
    (tmp_path / "out").mkdir()
    with pytest.raises(data.UnsafeArchive):
        data.safe_extract(archive, tmp_path / "out")
    assert files_in(tmp_path / "out") == []


def test_tampered_file_is_named_and_nothing_is_installed(offline):
    tampered = dict(FILES, **{"val/bees/b2.jpg": jpeg_bytes("blue")})
    offline["served"]["zip"] = zip_of(tampered)
    with pytest.raises(data.ChecksumMismatch, match="val/bees/b2.jpg"):
        data.prepare_hymenoptera()
    assert files_in(offline["data"]) == []


def test_missing_and_unknown_files_are_refused(offline):
    fewer = {k: v for k, v in FILES.items() if k != "train/bees/b1.jpg"}
    offline["served"]["zip"] = zip_of(fewer)
    with pytest.raises(data.ChecksumMismatch, match="train/bees/b1.jpg"):
        data.prepare_hymenoptera()
    offline["served"]["zip"] = zip_of(dict(FILES, **{"train/bees/extra.jpg": jpeg_bytes("green")}))
    with pytest.raises(data.ChecksumMismatch, match="extra.jpg"):
        data.prepare_hymenoptera()
    assert files_in(offline["data"]) == []


def test_offline_without_mirror_says_how_to_supply(offline, monkeypatch):
    def no_network(url, directory):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(prepare, "_download", no_network)
    with pytest.raises(data.DatasetUnavailable, match=data.MIRROR_ENV):
        data.prepare_hymenoptera()


# --- the set is verified wherever it comes from ------------------------------------------------


def write_tree(root: Path, files: dict) -> Path:
    for rel, payload in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(payload)
    return root


@pytest.fixture
def mirrored(offline, tmp_path, monkeypatch):
    """`offline`, plus a mirror holding hymenoptera_data/ with the manifest's files."""
    mirror = tmp_path / "mirror"
    write_tree(mirror / "hymenoptera_data", FILES)
    monkeypatch.setenv(data.MIRROR_ENV, str(mirror))
    return dict(offline, mirror=mirror, tree=mirror / "hymenoptera_data")


def test_the_mirror_copy_is_verified_against_the_manifest(mirrored):
    (mirrored["tree"] / "val/ants/a2.jpg").write_bytes(jpeg_bytes("green"))  # same name, other photo
    with pytest.raises(data.ChecksumMismatch, match=r"differ from the manifest's sha256.*'val/ants/a2\.jpg'"):
        data.prepare_hymenoptera()
    assert files_in(mirrored["data"]) == []


def test_the_mirror_copy_with_missing_and_extra_files_names_them_all(mirrored):
    (mirrored["tree"] / "train/bees/b1.jpg").unlink()
    (mirrored["tree"] / "val/ants/a2.jpg").unlink()
    (mirrored["tree"] / "val/bees/new.jpg").write_bytes(jpeg_bytes("blue"))
    with pytest.raises(data.ChecksumMismatch) as err:
        data.prepare_hymenoptera()
    message = str(err.value)
    assert "2 file(s) of the manifest are missing: 'train/bees/b1.jpg', 'val/ants/a2.jpg'" in message
    assert "1 file(s) are not in the manifest: 'val/bees/new.jpg'" in message
    assert "Nothing was copied" in message and files_in(mirrored["data"]) == []


def test_a_mirror_link_leading_outside_is_refused(mirrored, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(FILES["val/bees/b2.jpg"])
    (mirrored["tree"] / "val/bees/b2.jpg").unlink()
    (mirrored["tree"] / "val/bees/b2.jpg").symlink_to(secret)
    with pytest.raises(data.UnsafeLink, match=r"b2\.jpg: this mirror file is a symbolic link to .*secret\.txt"):
        data.prepare_hymenoptera()
    assert files_in(mirrored["data"]) == []


def test_the_set_already_in_data_is_verified_once_and_rechecked_when_it_changes(mirrored, monkeypatch):
    from coursekit import files

    root = data.prepare_hymenoptera()
    calls = []
    real = files.sha256_file
    monkeypatch.setattr(files, "sha256_file", lambda p: calls.append(p) or real(p))
    data.prepare_hymenoptera()
    data.hymenoptera()
    assert calls == []  # verified when installed: a stat of each file is enough now
    (root / "train/ants/a1.jpg").write_bytes(b"\xff\xd8 a damaged photo")
    with pytest.raises(data.ChecksumMismatch, match=r"'train/ants/a1\.jpg'.*Delete .*hymenoptera_data"):
        data.prepare_hymenoptera()


def test_extra_and_missing_files_in_data_are_named(mirrored):
    root = data.prepare_hymenoptera()
    (root / "train/bees/b1.jpg").unlink()
    (root / "train/bees/mine.jpg").write_bytes(jpeg_bytes("pink"))
    with pytest.raises(
        data.ChecksumMismatch,
        match=r"missing: 'train/bees/b1\.jpg'.*not in the manifest: "
        r"'train/bees/mine\.jpg'",
    ):
        data.hymenoptera()


def test_a_zip_in_the_mirror_is_used(offline, tmp_path, monkeypatch):
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "hymenoptera_data.zip").write_bytes(offline["served"]["zip"])
    monkeypatch.setenv(data.MIRROR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setattr(prepare, "_download", lambda url, directory: pytest.fail("must not download"))
    assert files_in(data.prepare_hymenoptera()) == sorted(FILES)


@pytest.mark.parametrize("cut", [0.5, 0.97])
def test_a_truncated_zip_in_the_mirror_is_named_in_one_paragraph(offline, tmp_path, monkeypatch, cut):
    blob = zip_of(FILES)
    archive = tmp_path / "mirror" / "hymenoptera_data.zip"
    archive.parent.mkdir()
    archive.write_bytes(blob[: int(len(blob) * cut)])
    monkeypatch.setenv(data.MIRROR_ENV, str(archive.parent))
    with pytest.raises(data.CorruptArchive, match="truncated or damaged") as err:
        data.prepare_hymenoptera()
    assert str(err.value).startswith(str(archive)) and "\n" not in str(err.value)
    assert err.value.__cause__ is None
    assert files_in(offline["data"]) == []


def test_extraction_stops_at_the_manifest_total(offline, monkeypatch):
    from coursekit.data import catalog

    monkeypatch.setattr(catalog, "HYMENOPTERA_MAX_BYTES", 1000)
    with pytest.raises(data.CorruptArchive, match=r"more than the 1,000 expected; nothing was extracted"):
        data.prepare_hymenoptera()
    assert files_in(offline["data"]) == []


def test_extraction_counts_the_bytes_it_writes_too(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.bin", bytes(3000))
        zf.writestr("b.bin", bytes(3000))
    with pytest.raises(data.CorruptArchive, match="more than the 4,000 expected"):
        data.safe_extract(archive, tmp_path / "out", max_bytes=4000)
    assert files_in(tmp_path / "out") == []


def test_a_killed_preparation_leaves_a_partial_folder_that_the_next_run_removes(offline):
    stale = offline["data"] / ".hymenoptera_data.0x1.partial"
    write_tree(stale / "hymenoptera_data", {"train/ants/half.jpg": b"\xff"})
    root = data.prepare_hymenoptera()
    assert files_in(root) == sorted(FILES)
    assert sorted(p.name for p in offline["data"].iterdir()) == ["hymenoptera_data"]


# --- pretrained weights -----------------------------------------------------------------------------


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """A stand-in ResNet-18 weights file (random weights) with its sha256 injected; no network."""
    from torchvision.models import resnet18

    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    torch.manual_seed(0)
    state = resnet18(weights=None).state_dict()
    blob = tmp_path / "standin.pth"
    torch.save(state, blob)
    filename = pt.weights_filename("resnet18")
    monkeypatch.setitem(pt.EXPECTED_SHA256, filename, hashlib.sha256(blob.read_bytes()).hexdigest())
    calls = []

    def no_network(url, destination):
        calls.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(pt, "_download", no_network)
    return {"state": state, "blob": blob, "file": filename, "calls": calls, "tmp": tmp_path}


def assert_loaded(model, state):
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert not model.training


def test_missing_weights_raise_a_helpful_error(weights):
    with pytest.raises(WeightsUnavailable) as err:
        pt.pretrained("resnet18")
    message = str(err.value)
    assert f"data/weights/{weights['file']}" in message and "download" in message
    assert weights["calls"] == [pt.weights_url("resnet18")]
    assert files_in(weights["tmp"] / "data") == []  # no partial file left


def test_weights_from_data_dir(weights):
    target = weights["tmp"] / "data" / "weights" / weights["file"]
    target.parent.mkdir(parents=True)
    target.write_bytes(weights["blob"].read_bytes())
    assert_loaded(pt.pretrained("resnet18"), weights["state"])
    assert weights["calls"] == []


def test_weights_from_hub_cache(weights):
    target = weights["tmp"] / "hub" / "checkpoints" / weights["file"]
    target.parent.mkdir(parents=True)
    target.write_bytes(weights["blob"].read_bytes())
    assert_loaded(pt.pretrained("resnet18"), weights["state"])


def test_weights_downloaded_verified_and_kept(weights, monkeypatch):
    def serve(url, destination):
        Path(destination).write_bytes(weights["blob"].read_bytes())

    monkeypatch.setattr(pt, "_download", serve)
    assert_loaded(pt.pretrained("resnet18"), weights["state"])
    assert files_in(weights["tmp"] / "data") == [f"weights/{weights['file']}"]


def test_corrupted_download_is_refused_and_removed(weights, monkeypatch):
    monkeypatch.setattr(pt, "_download", lambda url, dest: Path(dest).write_bytes(b"not the weights"))
    with pytest.raises(WeightsChecksumMismatch):
        pt.pretrained("resnet18")
    assert files_in(weights["tmp"] / "data") == []


def test_weights_are_loaded_with_weights_only(weights, monkeypatch):
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    target = weights["tmp"] / "data" / "weights" / weights["file"]
    target.parent.mkdir(parents=True)
    target.write_bytes(weights["blob"].read_bytes())
    pt.pretrained("resnet18")
    assert seen.get("weights_only") is True


def test_expected_hash_comes_from_the_published_name():
    assert pt.expected_sha256("resnet18-f37072fd.pth") == "f37072fd"
    with pytest.raises(ValueError):
        pt.pretrained("alexnet-9000")


# --- transfer helpers --------------------------------------------------------------------------------


def test_freeze_backbone_trains_only_the_new_head():
    from coursekit.models import ResNet

    model = ResNet.small(depth=8, width=4, num_classes=5)
    replace_head(model, 3)
    assert freeze_backbone(model) == 16 * 3 + 3
    keep_frozen_bn(model).train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(not m.training for m in bns) and model.fc.training
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fc.")}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss = model(torch.randn(8, 1, 28, 28)).logsumexp(1).mean()
    loss.backward()
    opt.step()
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())  # incl. BN running statistics
    backbone, head = backbone_and_head(model)
    assert len(head) == 2 and sum(p.numel() for p in backbone) + 51 == sum(p.numel() for p in model.parameters())


def test_transfer_exercises_are_registered_and_answerable():
    keys = [k for k in exercises() if k.startswith("transfer.")]
    assert len(keys) >= 3
    assert check("transfer.feature_size", 512)
    assert check("transfer.trainable_parameters", 512 * 2 + 2)
    assert not check("transfer.trainable_parameters", 11_689_512)
    assert "1026" not in check("transfer.trainable_parameters", None).message
