"""coursekit.data.scenes: what a scene holds (shapes, boxes, masks, overlap, splits), that the same
arguments give the same scenes, the cache (used, rebuilt when damaged or foreign, written atomically),
the loaders, and bad arguments named."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit.boxes import box_iou, decode_targets
from coursekit.data import load_idx, scenes
from coursekit.data.scenes import (
    INK,
    SceneLoader,
    Scenes,
    cached_scenes,
    detection_loader,
    make_scenes,
    resize_bilinear,
    scene_cache_path,
    segmentation_loader,
)
from coursekit.errors import UnknownName

# The scenes of seed 7 (20 of them) on the machine this was written on. Any change to how scenes
# are drawn changes this digest; then bump scenes.FORMAT_VERSION so that old caches are not reused.
DIGEST_SEED_7 = "709dc4bbf0047b61d91c48c205d1053294bb6e27311a676c5fad879bf8d5533b"


@pytest.fixture(scope="module")
def some() -> Scenes:
    return make_scenes("mnist", 60, seed=3)


def digest(s: Scenes) -> str:
    h = hashlib.sha256()
    for tensor in (s.images, s.masks, torch.cat(s.boxes), torch.cat(s.labels), torch.cat(s.source_index)):
        h.update(tensor.contiguous().numpy().tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# What a scene holds


def test_shapes_and_dtypes(some):
    assert some.images.shape == (60, 1, 96, 96) and some.images.dtype == torch.uint8
    assert some.masks.shape == (60, 96, 96) and some.masks.dtype == torch.uint8
    assert len(some.boxes) == len(some.labels) == len(some.source_index) == 60
    for b, lab, src in zip(some.boxes, some.labels, some.source_index, strict=True):
        assert b.dtype == torch.float32 and b.shape[1:] == (4,)
        assert lab.dtype == src.dtype == torch.int64 and len(lab) == len(src) == len(b)
        assert 1 <= len(b) <= 4


def test_every_count_of_objects_occurs_and_boxes_lie_inside(some):
    counts = {len(b) for b in some.boxes}
    assert counts == {1, 2, 3, 4}
    all_boxes = torch.cat(some.boxes)
    assert (all_boxes >= 0).all() and (all_boxes <= 96).all()
    heights = all_boxes[:, 3] - all_boxes[:, 1]
    assert heights.min() >= 15 and heights.max() <= 42  # MNIST ink is about 20 pixels high, scale 1 to 2


def test_labels_are_the_source_digits_of_the_right_split():
    train_scenes = make_scenes("mnist", 30, seed=5, train=True)
    test_scenes = make_scenes("mnist", 30, seed=5, train=False)
    for split, s in ((True, train_scenes), (False, test_scenes)):
        _, pool_labels = load_idx("mnist", train=split)
        src, lab = torch.cat(s.source_index), torch.cat(s.labels)
        assert torch.equal(pool_labels[src], lab)
        assert src.max() < len(pool_labels)
    assert not torch.equal(train_scenes.images, test_scenes.images)  # the split is part of the seed


def test_boxes_overlap_at_most_max_overlap(some):
    worst = max((box_iou(b, b) - torch.eye(len(b))).max().item() if len(b) > 1 else 0.0 for b in some.boxes)
    assert worst <= 0.1 + 1e-6
    crowded = make_scenes("mnist", 20, objects=(4, 4), scale=(2.0, 2.0), seed=1, max_overlap=0.0)
    for b in crowded.boxes:  # not even touching: objects are left out instead
        assert len(b) <= 4 and (box_iou(b, b) - torch.eye(len(b))).max() <= 0
    assert min(len(b) for b in crowded.boxes) < 4  # 40-pixel digits that may not touch: some do not fit


def test_masks_label_ink_inside_the_boxes_of_that_class(some):
    for image, mask, b, lab in zip(some.images, some.masks, some.boxes, some.labels, strict=True):
        assert set(mask.unique().tolist()) <= {0} | {c + 1 for c in lab.tolist()}
        assert (image[0][mask > 0] >= INK).all()  # labelled pixels are ink
        inside = torch.zeros(96, 96, dtype=torch.bool)
        for (x0, y0, x1, y1), c in zip(b.long().tolist(), lab.tolist(), strict=True):
            region = mask[y0:y1, x0:x1]
            assert (region == c + 1).any()  # each object shows in the mask ...
            inside[y0:y1, x0:x1] |= True
            patch = image[0, y0:y1, x0:x1]
            # ... and its box is tight: ink on every edge row and column
            for edge in (patch[0], patch[-1], patch[:, 0], patch[:, -1]):
                assert edge.max() >= INK
        assert not (mask[~inside] > 0).any()  # no label outside every box


def test_same_arguments_same_scenes_and_the_pinned_digest():
    a, b = make_scenes("mnist", 20, seed=7), make_scenes("mnist", 20, seed=7)
    assert digest(a) == digest(b) == DIGEST_SEED_7
    assert digest(make_scenes("mnist", 20, seed=8)) != DIGEST_SEED_7


def test_more_scenes_extend_fewer_scenes():
    # scenes are drawn one after another from one generator, so the first ones do not depend on n:
    # a notebook can show scene 0 and get the same picture in every profile
    few, more = make_scenes("mnist", 4, seed=2), make_scenes("mnist", 9, seed=2)
    assert digest(few) == digest(more.take(4))


def test_take_and_targets(some):
    head = some.take(5)
    assert isinstance(head, Scenes) and len(head.images) == 5 and len(head.boxes) == 5
    assert torch.equal(head.images, some.images[:5]) and head.boxes[4] is some.boxes[4]
    assert len(some.take(1000).images) == 60
    assert some.targets()[2][0] is some.boxes[2] and some.targets()[2][1] is some.labels[2]


def test_fashion_mnist_scenes():
    s = make_scenes("fashion_mnist", 5, size=64, objects=(2, 2), scale=(1.0, 1.5), seed=0)
    assert s.images.shape == (5, 1, 64, 64) and all(len(b) <= 2 for b in s.boxes)
    assert int(s.masks.max()) <= 10


def test_resize_bilinear_agrees_with_torch():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (20, 13)).astype(np.uint8)
    for height, width in ((20, 13), (33, 21), (40, 26), (17, 9)):
        ours = torch.from_numpy(resize_bilinear(image, height, width)).float()
        theirs = F.interpolate(
            torch.from_numpy(image).float()[None, None], size=(height, width), mode="bilinear", align_corners=False
        )[0, 0]
        assert (ours - theirs.round()).abs().max() <= 1  # rounding of values that differ in the last bits
    assert np.array_equal(resize_bilinear(image, 20, 13), image)


# ---------------------------------------------------------------------------------------------
# The cache


ARGS = dict(source="mnist", n=12, seed=4, objects=(1, 2))


def test_cache_writes_once_then_reuses(tmp_path, monkeypatch):
    fresh = make_scenes(**ARGS)
    first = cached_scenes(**ARGS, directory=tmp_path)
    path = scene_cache_path(**ARGS, directory=tmp_path)
    assert path.is_file() and path.parent == tmp_path and path.name.startswith("mnist-train-12-")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind

    def no_generating(args):
        raise AssertionError("the cached file should have been used")

    monkeypatch.setattr(scenes, "_generate", no_generating)
    again = cached_scenes(**ARGS, directory=tmp_path)
    assert digest(again) == digest(first) == digest(fresh)


def test_cache_key_depends_on_every_argument(tmp_path):
    base = scene_cache_path(**ARGS, directory=tmp_path)
    for change in (
        dict(n=13),
        dict(seed=5),
        dict(objects=(1, 3)),
        dict(scale=(1.0, 1.5)),
        dict(size=64),
        dict(train=False),
        dict(max_overlap=0.2),
        dict(source="fashion_mnist"),
    ):
        assert scene_cache_path(**{**ARGS, **change}, directory=tmp_path) != base, change
    assert scene_cache_path(**ARGS, directory=tmp_path) == base
    assert scene_cache_path(**{**ARGS, "objects": [1, 2]}, directory=tmp_path) == base  # a list is the same pair


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"not a torch file"),
        lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),
        lambda path: torch.save({"format": scenes.FORMAT_VERSION, "images": torch.zeros(3)}, path),
        lambda path: torch.save([1, 2, 3], path),
    ],
    ids=["garbage", "truncated", "missing tensors", "not a dict"],
)
def test_a_damaged_cache_file_is_replaced(tmp_path, damage):
    good = cached_scenes(**ARGS, directory=tmp_path)
    path = scene_cache_path(**ARGS, directory=tmp_path)
    damage(path)
    with pytest.warns(RuntimeWarning, match="making the scenes again"):
        rebuilt = cached_scenes(**ARGS, directory=tmp_path)
    assert digest(rebuilt) == digest(good)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the replaced file is good again: no warning
        assert digest(cached_scenes(**ARGS, directory=tmp_path)) == digest(good)


def test_a_tampered_tensor_fails_the_checksum(tmp_path):
    good = cached_scenes(**ARGS, directory=tmp_path)
    path = scene_cache_path(**ARGS, directory=tmp_path)
    payload = torch.load(path, weights_only=True)
    payload["labels"][0] = (payload["labels"][0] + 1) % 10  # a wrong label, same shape and dtype
    torch.save(payload, path)
    with pytest.warns(RuntimeWarning, match="checksum"):
        rebuilt = cached_scenes(**ARGS, directory=tmp_path)
    assert torch.equal(torch.cat(rebuilt.labels), torch.cat(good.labels))


def test_a_file_of_other_arguments_is_not_trusted(tmp_path):
    path = scene_cache_path(**ARGS, directory=tmp_path)
    other = cached_scenes(**{**ARGS, "seed": 99}, directory=tmp_path)
    scene_cache_path(**{**ARGS, "seed": 99}, directory=tmp_path).rename(path)  # the wrong file under this name
    with pytest.warns(RuntimeWarning, match="other arguments"):
        mine = cached_scenes(**ARGS, directory=tmp_path)
    assert digest(mine) != digest(other)


def test_the_default_cache_folder_is_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSEKIT_DATA_DIR", str(tmp_path))
    assert scene_cache_path(**ARGS).parent == tmp_path / "scenes"


# ---------------------------------------------------------------------------------------------
# Batches


def test_detection_loader_batches(some):
    loader = detection_loader(some, grid=12, batch_size=16)
    x, y = next(iter(loader))
    assert x.shape == (16, 1, 96, 96) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert y.shape == (16, 6, 12, 12) and y.dtype == torch.float32
    assert len(loader) == 4 and loader.num_samples == 60
    decoded = decode_targets(y, 96)
    assert [len(b) for b, _ in decoded] == [len(b) for b in some.boxes[:16]]


def test_segmentation_loader_gives_int64_masks_and_shuffles_reproducibly(some):
    a = [y for _, y in segmentation_loader(some, batch_size=25, shuffle=True, seed=1)]
    b = [y for _, y in segmentation_loader(some, batch_size=25, shuffle=True, seed=1)]
    assert [len(y) for y in a] == [25, 25, 10] and all(y.dtype == torch.int64 for y in a)
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    assert torch.equal(torch.cat(a).sort(0).values, some.masks.long().sort(0).values)  # a permutation of all


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda s: SceneLoader(s.images, s.masks[:5]), ValueError, r"targets must have shape \(N, \.\.\.\) with N=60"),
        (lambda s: SceneLoader(s.images, s.masks.numpy()), TypeError, "targets must be a torch.Tensor"),
        (lambda s: SceneLoader(s.images, s.masks.bool()), ValueError, "integer or float"),
        (lambda s: SceneLoader(s.images.float(), s.masks), ValueError, r"images must be uint8"),
        (lambda s: SceneLoader(s.images, s.masks, batch_size=0), ValueError, "batch_size must be at least 1"),
        (lambda s: detection_loader(s.images, grid=12), TypeError, "scenes must be Scenes"),
        (lambda s: detection_loader(s, grid=7), ValueError, "multiple of grid=7"),
        (lambda s: segmentation_loader((s.images, s.masks)), TypeError, "scenes must be Scenes"),
    ],
)
def test_bad_loader_input_is_named(some, call, error, match):
    with pytest.raises(error, match=match):
        call(some)


# ---------------------------------------------------------------------------------------------
# Bad arguments


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(source="mnsit"), UnknownName, "unknown dataset 'mnsit'"),
        (dict(source=3), TypeError, "source must be a dataset name"),
        (dict(n=0), ValueError, "n must be at least 1"),
        (dict(n=2.0), TypeError, "n must be a whole number"),
        (dict(size=50), ValueError, r"scale up to 2\.0 makes a 28-pixel image 56 pixels wide.*size=50"),
        (dict(objects=(3, 1)), ValueError, "fewest <= most"),
        (dict(objects=4), ValueError, r"objects must be a pair"),
        (dict(objects=(-1, 2)), ValueError, r"objects\[0\] must be at least 0"),
        (dict(scale=(0, 1)), ValueError, r"scale\[0\] must be a finite number > 0"),
        (dict(scale=(2.0, 1.0)), ValueError, "smallest <= largest"),
        (dict(seed=-1), ValueError, "seed must be at least 0"),
        (dict(train="yes"), TypeError, "train must be True"),
        (dict(max_overlap=1.5), ValueError, r"max_overlap must be an IoU in \[0, 1\]"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    args = {"source": "mnist", "n": 2, **kwargs}
    for make in (make_scenes, cached_scenes, scene_cache_path):
        with pytest.raises(error, match=match):
            make(**args)
