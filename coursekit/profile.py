"""One notebook, three machines: the run profiles.

A profile says how much work a notebook may do. The same notebook serves

* ``ci``  -- the test machine: 2 CPU cores, minutes not hours; small subsets, few epochs;
* ``cpu`` -- a student's laptop: the full lesson within minutes per notebook;
* ``gpu`` -- a CUDA machine: the full datasets and the paper-like budgets.

The profile comes from the environment variable ``COURSEKIT_PROFILE``; without it, ``gpu`` when
CUDA is available, else ``cpu``. Notebooks never branch on the profile themselves: they ask
``settings("lenet")`` for their numbers (epochs, subset sizes, image size, thresholds) and use
whatever comes back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from .errors import UnknownName

PROFILE_ENV = "COURSEKIT_PROFILE"
PROFILES = ("ci", "cpu", "gpu")

# One table per lesson. Every profile of a lesson has the same keys (a test checks it).
# `train_subset=None` means the whole training split (less `val_size`). `val_size`: images held out of the
# training split for validation -- every choice during training (best epoch, comparisons) is made on
# them, and the test set is evaluated once, at the end. `min_accuracy` is the test accuracy the notebook
# asserts after training in that profile. No profile holds a time limit: notebooks print how long they
# trained, and speed is measured by benchmarks/, never asserted.
SECTIONS: dict[str, dict[str, dict]] = {
    # 13_transfer_learning. Offline path: a small ResNet pretrained on MNIST digits 0-4
    # (source), transferred to digits 5-9 with `target_per_class` labels each (same target budget for
    # every strategy); asserts transfer beats scratch by `min_transfer_gain`. ImageNet path (only with
    # weights): ants/bees at 224 px, `imagenet_epochs` per strategy, `min_accuracy` for the pretrained ones.
    "transfer": {
        "ci": dict(
            width=8,
            source_subset=6000,
            source_epochs=2,
            target_per_class=10,
            target_epochs=30,
            test_subset=1000,
            lr=0.05,
            min_source_accuracy=0.90,
            min_transfer_gain=0.03,
            imagenet_epochs=2,
            imagenet_subset=64,
            min_accuracy=0.80,
        ),
        "cpu": dict(
            width=8,
            source_subset=15000,
            source_epochs=3,
            target_per_class=10,
            target_epochs=30,
            test_subset=None,
            lr=0.05,
            min_source_accuracy=0.95,
            min_transfer_gain=0.03,
            imagenet_epochs=5,
            imagenet_subset=None,
            min_accuracy=0.90,
        ),
        "gpu": dict(
            width=16,
            source_subset=None,
            source_epochs=5,
            target_per_class=10,
            target_epochs=30,
            test_subset=None,
            lr=0.05,
            min_source_accuracy=0.97,
            min_transfer_gain=0.03,
            imagenet_epochs=15,
            imagenet_subset=None,
            min_accuracy=0.92,
        ),
    },
    # 07_learning_filters: a small conv net (global max pool) vs an MLP on MNIST, both tested on the
    # test set as is and shifted 3 pixels right and down. `min_*_accuracy`: unshifted test accuracy;
    # `min_conv_shifted_accuracy`: the conv net on shifted digits; `min_shift_advantage`: how much
    # better than the MLP the conv net must do on shifted digits.
    "learning_filters": {
        "ci": dict(
            epochs=2,
            train_subset=10_000,
            val_size=2000,
            batch_size=64,
            lr=3e-3,
            min_conv_accuracy=0.93,
            min_mlp_accuracy=0.90,
            min_conv_shifted_accuracy=0.80,
            min_shift_advantage=0.40,
        ),
        "cpu": dict(
            epochs=3,
            train_subset=None,
            val_size=5000,
            batch_size=64,
            lr=3e-3,
            min_conv_accuracy=0.97,
            min_mlp_accuracy=0.95,
            min_conv_shifted_accuracy=0.85,
            min_shift_advantage=0.50,
        ),
        "gpu": dict(
            epochs=6,
            train_subset=None,
            val_size=5000,
            batch_size=128,
            lr=3e-3,
            min_conv_accuracy=0.98,
            min_mlp_accuracy=0.96,
            min_conv_shifted_accuracy=0.85,
            min_shift_advantage=0.50,
        ),
    },
    # 10_alexnet_vgg: AlexNet-style net (AlexNet.small(width, hidden), BatchNorm) on 28x28 Fashion-MNIST: SGD +
    # Nesterov momentum + weight decay, one-cycle to `lr`, crop (`padding`) + flip augmentation. `aug_*`: the
    # plain vs augmented comparison on `aug_subset` training images for `aug_epochs` (the notebook asserts that
    # augmentation shrinks the train-test gap and reports the test-accuracy change). `test_subset`: evaluate
    # on the first n test images (None: all).
    "alexnet": {
        "ci": dict(
            epochs=2,
            train_subset=5000,
            val_size=2000,
            test_subset=2000,
            batch_size=128,
            lr=0.1,
            weight_decay=5e-4,
            width=0.25,
            hidden=512,
            padding=2,
            aug_subset=2000,
            aug_epochs=3,
            min_accuracy=0.65,
        ),
        "cpu": dict(
            epochs=8,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=128,
            lr=0.1,
            weight_decay=5e-4,
            width=0.25,
            hidden=512,
            padding=2,
            aug_subset=2000,
            aug_epochs=20,
            min_accuracy=0.90,
        ),
        "gpu": dict(
            epochs=30,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=256,
            lr=0.1,
            weight_decay=5e-4,
            width=1.0,
            hidden=1024,
            padding=2,
            aug_subset=2000,
            aug_epochs=40,
            min_accuracy=0.92,
        ),
    },
    # 10_alexnet_vgg: VGG-style net VGG(config, hidden=hidden, pooled=3, batch_norm=True), the alexnet recipe.
    "vgg": {
        "ci": dict(
            epochs=2,
            train_subset=5000,
            val_size=2000,
            test_subset=2000,
            batch_size=128,
            lr=0.1,
            weight_decay=5e-4,
            config=((2, 32), (2, 64), (2, 128)),
            hidden=256,
            padding=2,
            min_accuracy=0.65,
        ),
        "cpu": dict(
            epochs=7,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=128,
            lr=0.1,
            weight_decay=5e-4,
            config=((2, 32), (2, 64), (2, 128)),
            hidden=256,
            padding=2,
            min_accuracy=0.915,
        ),
        "gpu": dict(
            epochs=30,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=256,
            lr=0.1,
            weight_decay=5e-4,
            config=((2, 64), (2, 128), (3, 256)),
            hidden=512,
            padding=2,
            min_accuracy=0.94,
        ),
    },
    # 11_resnet: plain vs residual nets of depth 8 and 32 on a Fashion-MNIST subset (training loss only).
    "degradation": {
        "ci": dict(train_subset=1024, epochs=1, batch_size=128, lr=0.1, max_train_loss=2.5),
        "cpu": dict(train_subset=2048, epochs=6, batch_size=128, lr=0.1, max_train_loss=1.5),
        "gpu": dict(train_subset=None, epochs=10, batch_size=128, lr=0.1, max_train_loss=0.5),
    },
    # 11_resnet: a small ResNet for 28x28 Fashion-MNIST (SGD + one-cycle). augment: random flips, and random
    # shifts of up to crop_padding pixels when that is > 0 (coursekit.augment.FlipCrop).
    "resnet": {
        "ci": dict(
            epochs=1,
            train_subset=4096,
            val_size=2000,
            test_subset=2000,
            batch_size=128,
            lr=0.1,
            augment=False,
            crop_padding=0,
            label_smoothing=0.1,
            min_accuracy=0.6,
        ),
        "cpu": dict(
            epochs=12,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=256,
            lr=0.2,
            augment=True,
            crop_padding=0,
            label_smoothing=0.1,
            min_accuracy=0.93,
        ),
        "gpu": dict(
            epochs=30,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=256,
            lr=0.2,
            augment=True,
            crop_padding=2,
            label_smoothing=0.1,
            min_accuracy=0.94,
        ),
    },
    "lenet": {
        # AdamW + one-cycle LR; `shift`: digits moved by up to that many pixels (augment.FlipCrop, no flips).
        # `compare_*`: the budget of each run in the 1998-vs-modern comparison.
        "ci": dict(
            epochs=2,
            train_subset=None,
            val_size=2000,
            batch_size=128,
            lr=4e-3,
            weight_decay=1e-4,
            shift=0,
            min_accuracy=0.985,
            compare_epochs=1,
            compare_subset=12000,
            compare_min_accuracy=0.9,
        ),
        "cpu": dict(
            epochs=4,
            train_subset=None,
            val_size=5000,
            batch_size=128,
            lr=6e-3,
            weight_decay=1e-4,
            shift=1,
            min_accuracy=0.99,
            compare_epochs=2,
            compare_subset=30000,
            compare_min_accuracy=0.98,
        ),
        "gpu": dict(
            epochs=8,
            train_subset=None,
            val_size=5000,
            batch_size=256,
            lr=6e-3,
            weight_decay=1e-4,
            shift=2,
            min_accuracy=0.992,
            compare_epochs=3,
            compare_subset=None,
            compare_min_accuracy=0.98,
        ),
    },
    # 08_backpropagation: a CNN written in NumPy (coursekit.layers: conv 5x5 with `channels` filters -> ReLU ->
    # max pool 2 -> linear) trained by its own backward pass and plain SGD on an MNIST subset; `min_accuracy`
    # is its test accuracy. `loop_subset`: training images for the written-out PyTorch loop run beside `fit`.
    "backprop": {
        "ci": dict(
            train_subset=5000,
            val_size=1000,
            test_subset=2000,
            epochs=2,
            batch_size=64,
            lr=0.05,
            channels=8,
            loop_subset=2000,
            min_accuracy=0.85,
        ),
        "cpu": dict(
            train_subset=30000,
            val_size=5000,
            test_subset=None,
            epochs=3,
            batch_size=64,
            lr=0.05,
            channels=8,
            loop_subset=10000,
            min_accuracy=0.95,
        ),
        "gpu": dict(
            train_subset=None,
            val_size=5000,
            test_subset=None,
            epochs=4,
            batch_size=64,
            lr=0.05,
            channels=8,
            loop_subset=None,
            min_accuracy=0.97,
        ),
    },
    # 12_architectures: the race of six small networks on Fashion-MNIST (coursekit.race: `widths` per racer, roughly
    # matched parameter counts), each trained with AdamW + one-cycle to `lr` for `epochs` on `train_subset` images
    # (no augmentation), once per seed in `seeds`; `min_accuracy`: the test accuracy every run must reach.
    "architectures": {
        "ci": dict(
            widths={"plain CNN": 16, "NiN": 18, "Inception": 12, "MobileNetV2": 24, "ResNet": 16, "SE-ResNet": 16},
            train_subset=4000,
            val_size=1000,
            test_subset=1000,
            epochs=1,
            batch_size=64,  # 63 steps: enough for BatchNorm's running statistics to settle (128 left MobileNetV2 at chance)
            lr=4e-3,
            weight_decay=1e-4,
            channels_last=True,
            seeds=(0,),
            min_accuracy=0.6,
        ),
        "cpu": dict(
            widths={"plain CNN": 16, "NiN": 18, "Inception": 12, "MobileNetV2": 24, "ResNet": 16, "SE-ResNet": 16},
            train_subset=8000,
            val_size=2000,
            test_subset=None,
            epochs=3,
            batch_size=128,
            lr=4e-3,
            weight_decay=1e-4,
            channels_last=True,
            seeds=(0, 1, 2),
            min_accuracy=0.78,
        ),
        "gpu": dict(
            widths={"plain CNN": 32, "NiN": 36, "Inception": 24, "MobileNetV2": 48, "ResNet": 32, "SE-ResNet": 32},
            train_subset=None,
            val_size=5000,
            test_subset=None,
            epochs=15,
            batch_size=256,
            lr=4e-3,
            weight_decay=1e-4,
            channels_last=True,
            seeds=(0, 1, 2, 3, 4),
            min_accuracy=0.90,
        ),
    },
    # (new lesson sections go above this line)
}


class Settings(Mapping):
    """A read-only mapping whose keys are also attributes: ``s.epochs == s["epochs"]``."""

    def __init__(self, section: str, profile: str, values: dict):
        self._section, self._profile, self._values = section, profile, dict(values)

    def __getitem__(self, key):
        try:
            return self._values[key]
        except (KeyError, TypeError):  # TypeError: an unhashable key such as a list
            raise UnknownName(f"key of settings({self._section!r})", key, self._values) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"settings({self._section!r}) has no {key!r}; it has {sorted(self._values)}") from None

    @property
    def section(self) -> str:
        return self._section

    @property
    def profile(self) -> str:
        return self._profile

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"settings({self._section!r}) [{self._profile}]: {body}"


def current_profile() -> str:
    """The active profile name: ``COURSEKIT_PROFILE`` if set, else ``gpu`` with CUDA, else ``cpu``."""
    name = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not name:
        return "gpu" if torch.cuda.is_available() else "cpu"
    if name not in PROFILES:
        raise UnknownName(f"profile in {PROFILE_ENV}", name, PROFILES)
    return name


def settings(section: str, profile: str | None = None) -> Settings:
    """The numbers lesson `section` uses in `profile` (default: the active profile)."""
    if not isinstance(section, str):
        raise TypeError(f"settings() takes a lesson name such as 'lenet', got {type(section).__name__} {section!r}")
    if profile is not None and not isinstance(profile, str):
        raise TypeError(
            f"settings() profile must be one of {', '.join(PROFILES)} or None, got {type(profile).__name__} {profile!r}"
        )
    if section not in SECTIONS:
        raise UnknownName("lesson", section, SECTIONS)
    profile = profile or current_profile()
    if profile not in PROFILES:
        raise UnknownName("profile", profile, PROFILES)
    return Settings(section, profile, SECTIONS[section][profile])
