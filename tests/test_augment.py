"""coursekit.augment: batch shifts and flips keep shapes, move pixels exactly, and repeat with a seed."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.augment import Augmented, FlipCrop, random_crop, random_hflip, shift_flip
from coursekit.data import TensorLoader


def batch(n=4, c=2, h=6, w=5, dtype=torch.uint8):
    return torch.arange(n * c * h * w).reshape(n, c, h, w).to(dtype)


def test_zero_shift_without_flip_is_the_identity_and_flip_mirrors():
    x = batch()
    zeros = torch.zeros(4, dtype=torch.long)
    assert torch.equal(shift_flip(x, zeros, zeros, torch.zeros(4, dtype=torch.bool)), x)
    flip = torch.tensor([True, False, True, False])
    out = shift_flip(x, zeros, zeros, flip)
    assert torch.equal(out[flip], x[flip].flip(-1)) and torch.equal(out[~flip], x[~flip])


def test_shift_moves_pixels_and_fills_or_repeats_the_edge():
    x = batch(n=1, c=1, dtype=torch.float32)
    dy, dx, no = torch.tensor([1]), torch.tensor([-2]), torch.tensor([False])
    out = shift_flip(x, dy, dx, no, fill=-1.0)
    assert torch.equal(out[0, 0, 1:, :-2], x[0, 0, :-1, 2:])  # moved down 1, left 2
    assert (out[0, 0, 0, :] == -1).all() and (out[0, 0, :, -2:] == -1).all()
    edge = shift_flip(x, dy, dx, no)  # no fill: the nearest edge pixel is repeated
    assert torch.equal(edge[0, 0, 0, :-2], x[0, 0, 0, 2:])
    assert torch.equal(edge[0, 0, 1:, -1], x[0, 0, :-1, -1])


def test_mirror_comes_before_the_shift():
    x = batch(n=1, c=1)
    out = shift_flip(x, torch.tensor([0]), torch.tensor([1]), torch.tensor([True]), fill=0)
    assert torch.equal(out[0, 0, :, 1:], x[0, 0].flip(-1)[:, :-1])


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_shape_and_dtype_are_kept(dtype):
    x = batch(n=8, c=3, h=9, w=7, dtype=dtype)
    g = torch.Generator().manual_seed(0)
    for out in (random_crop(x, 2, g), random_hflip(x, g), FlipCrop(padding=3)(x)):
        assert out.shape == x.shape and out.dtype == dtype


def test_every_random_crop_is_one_of_the_allowed_shifts():
    torch.manual_seed(0)
    x = torch.rand(16, 1, 8, 8)
    p = 2
    out = random_crop(x, p, torch.Generator().manual_seed(1), fill=0.0)
    no = torch.zeros(1, dtype=torch.bool)
    for i in range(len(x)):
        candidates = [
            shift_flip(x[i : i + 1], torch.tensor([dy]), torch.tensor([dx]), no, fill=0.0)
            for dy in range(-p, p + 1)
            for dx in range(-p, p + 1)
        ]
        assert any(torch.equal(out[i : i + 1], c) for c in candidates)


def test_flipcrop_is_repeatable_with_its_seed_and_varies_without():
    x = torch.rand(64, 1, 12, 12)
    a, b, c = FlipCrop(seed=5), FlipCrop(seed=5), FlipCrop(seed=6)
    first = a(x)
    assert torch.equal(first, b(x))
    assert not torch.equal(first, c(x))
    assert not torch.equal(first, a(x))  # the next batch gets new draws


def test_flip_probability_and_degenerate_settings():
    x = torch.rand(4000, 1, 4, 4)
    out = FlipCrop(padding=0, flip_p=0.5, seed=0)(x)
    flipped = (out == x.flip(-1)).flatten(1).all(1) & ~(out == x).flatten(1).all(1)
    assert 0.45 < flipped.float().mean().item() < 0.55
    assert torch.equal(FlipCrop(padding=0, flip_p=0.0)(x), x)
    assert torch.equal(FlipCrop(padding=0, flip_p=1.0)(x), x.flip(-1))
    with pytest.raises(ValueError, match="padding must be >= 0 pixels, got -1"):
        FlipCrop(padding=-1)
    with pytest.raises(ValueError, match=r"flip_p must be a probability in \[0, 1\], got 1.5"):
        FlipCrop(flip_p=1.5)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), got shape \(3, 4, 4\)"):
        FlipCrop()(torch.zeros(3, 4, 4))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: random_crop(x, -1), ValueError, "padding must be >= 0"),
        (lambda x: random_crop(x, 1.5), TypeError, "padding must be an int"),
        (lambda x: random_crop(x, True), TypeError, "padding must be an int"),
        (lambda x: random_hflip(x, p=-0.5), ValueError, r"p must be a probability in \[0, 1\], got -0.5"),
        (lambda x: random_hflip(x, p=float("inf")), ValueError, "p must be a probability"),
        (lambda x: random_crop(x, 1, fill=True), TypeError, "fill must be a number or None"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(call, error, message):
    with pytest.raises(error, match=message):
        call(batch(dtype=torch.float32))


def test_edge_settings_are_accepted():
    x = batch(n=3, dtype=torch.float32)
    assert torch.equal(random_hflip(x, p=0), x) and torch.equal(random_hflip(x, p=1), x.flip(-1))
    assert torch.equal(random_crop(x, 0), x)
    none = [torch.zeros(0, dtype=t) for t in (torch.long, torch.long, torch.bool)]
    assert torch.equal(shift_flip(x[:0], *none), x[:0])
    assert FlipCrop(padding=0, flip_p=1, seed=0).flip_p == 1.0


@settings(max_examples=30, deadline=None)
@given(dy=st.integers(-3, 3), dx=st.integers(-3, 3), flip=st.booleans())
def test_shifting_back_restores_the_interior(dy, dx, flip):
    x = torch.rand(1, 2, 10, 10)
    f = torch.tensor([flip])
    moved = shift_flip(x, torch.tensor([dy]), torch.tensor([dx]), f, fill=0.0)
    back = shift_flip(moved, torch.tensor([-dy]), torch.tensor([dx if flip else -dx]), f, fill=0.0)
    rows = slice(max(0, -dy), 10 - max(0, dy))
    cols = slice(max(0, -dx if not flip else dx), 10 - max(0, dx if not flip else -dx))
    assert torch.equal(back[..., rows, cols], x[..., rows, cols])


def test_augmented_loader_keeps_labels_and_length():
    images = torch.randint(0, 256, (50, 1, 8, 8), dtype=torch.uint8)
    labels = torch.arange(50)
    plain = TensorLoader(images, labels, batch_size=16, shuffle=True, seed=3)
    again = TensorLoader(images, labels, batch_size=16, shuffle=True, seed=3)
    aug = Augmented(again, FlipCrop(padding=1, seed=0))
    assert len(aug) == len(plain) == 4 and aug.batch_size == 16 and aug.num_samples == 50
    changed = 0
    for (x, y), (xa, ya) in zip(plain, aug, strict=True):
        assert torch.equal(y, ya) and xa.shape == x.shape and xa.dtype == torch.float32
        changed += int(not torch.equal(x, xa))
    assert changed == 4
