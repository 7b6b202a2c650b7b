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

PROFILE_ENV = "COURSEKIT_PROFILE"
PROFILES = ("ci", "cpu", "gpu")

# One table per lesson. Every profile of a lesson has the same keys (a test checks it).
# `train_subset=None` means the whole training split. `min_accuracy` is the test accuracy the
# notebook asserts after training in that profile.
SECTIONS: dict[str, dict[str, dict]] = {
    "lenet": {
        "ci": dict(epochs=2, train_subset=None, batch_size=128, lr=2e-3, min_accuracy=0.985, max_train_seconds=60),
        "cpu": dict(epochs=8, train_subset=None, batch_size=128, lr=2e-3, min_accuracy=0.99, max_train_seconds=600),
        "gpu": dict(epochs=12, train_subset=None, batch_size=256, lr=2e-3, min_accuracy=0.992, max_train_seconds=600),
    },
}


class Settings(Mapping):
    """A read-only mapping whose keys are also attributes: ``s.epochs == s["epochs"]``."""

    def __init__(self, section: str, profile: str, values: dict):
        self._section, self._profile, self._values = section, profile, dict(values)

    def __getitem__(self, key):
        return self._values[key]

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
        raise ValueError(f"{PROFILE_ENV}={name!r} is not a profile; choose one of {', '.join(PROFILES)}")
    return name


def settings(section: str, profile: str | None = None) -> Settings:
    """The numbers lesson `section` uses in `profile` (default: the active profile)."""
    if section not in SECTIONS:
        raise KeyError(f"no settings for {section!r}; known lessons: {', '.join(sorted(SECTIONS))}")
    profile = profile or current_profile()
    if profile not in PROFILES:
        raise ValueError(f"{profile!r} is not a profile; choose one of {', '.join(PROFILES)}")
    return Settings(section, profile, SECTIONS[section][profile])
