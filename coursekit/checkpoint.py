"""Saving a trained model so that a crash never leaves half a file, and loading it safely.

`save_checkpoint(model, path, meta)` writes the weights, the model's class name and constructor
configuration (``model.config`` when it has one) and a small `meta` dict (accuracy, epochs, ...)
to a temporary file in the *same* folder, flushes it to disk, and only then renames it over
`path` with `os.replace`, which is atomic on POSIX and Windows. A failure at any point leaves the
previous checkpoint untouched and no partial file behind.

`load_checkpoint(path, model)` reads with ``torch.load(..., weights_only=True)``, which refuses to
unpickle arbitrary objects (a checkpoint from the internet cannot run code), checks that the
stored architecture is the one of `model` -- class, configuration, parameter names and shapes --
and raises `CheckpointMismatch` saying what differs, before copying any weight.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .data import _temporary_file

FORMAT = "coursekit-checkpoint/1"


class CheckpointMismatch(ValueError):
    """A checkpoint does not fit the model it is loaded into (other class, config or shapes)."""


def _architecture(model: nn.Module) -> dict:
    config = getattr(model, "config", None)
    return {
        "class": type(model).__name__,
        "config": dict(config) if isinstance(config, dict) else None,
        "shapes": {name: list(t.shape) for name, t in model.state_dict().items()},
    }


def save_checkpoint(model: nn.Module, path: str | os.PathLike, meta: dict | None = None) -> Path:
    """Write `model`'s weights, architecture and `meta` to `path` atomically; return the path.

    `meta` must hold only plain values (numbers, strings, lists, dicts, tensors) so that it can be
    read back with ``weights_only=True``.
    """
    path = Path(path)
    payload = {
        "format": FORMAT,
        "architecture": _architecture(model),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    with _temporary_file(path.parent, path.name) as tmp:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The raw checkpoint dict (format, architecture, state_dict, meta), loaded weights-only."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointMismatch(f"{path} is not a coursekit checkpoint (expected format {FORMAT!r})")
    return payload


def _differences(stored: dict, model: nn.Module) -> list[str]:
    wanted = _architecture(model)
    problems = []
    if stored["class"] != wanted["class"]:
        problems.append(f"it holds a {stored['class']}, the model is a {wanted['class']}")
    if stored["config"] != wanted["config"]:
        problems.append(f"its configuration is {stored['config']}, the model's is {wanted['config']}")
    have, want = stored["shapes"], wanted["shapes"]
    missing = sorted(set(want) - set(have))
    unexpected = sorted(set(have) - set(want))
    if missing:
        problems.append(f"it lacks parameters {', '.join(missing)}")
    if unexpected:
        problems.append(f"it has parameters the model does not: {', '.join(unexpected)}")
    for name in sorted(set(have) & set(want)):
        if list(have[name]) != list(want[name]):
            problems.append(f"{name} has shape {tuple(have[name])}, the model expects {tuple(want[name])}")
    return problems


def is_compatible(path: str | os.PathLike, model: nn.Module) -> bool:
    """True when `path` exists and holds a checkpoint of exactly `model`'s architecture."""
    try:
        payload = read_checkpoint(path)
    except (FileNotFoundError, CheckpointMismatch):
        return False
    return not _differences(payload["architecture"], model)


def load_checkpoint(path: str | os.PathLike, model: nn.Module) -> dict:
    """Load the weights stored at `path` into `model` (in place) and return the checkpoint's meta.

    Raises `FileNotFoundError` when there is no file and `CheckpointMismatch` when the checkpoint
    was saved from a different architecture; the model is not modified in either case.
    """
    payload = read_checkpoint(path)
    problems = _differences(payload["architecture"], model)
    if problems:
        raise CheckpointMismatch(
            f"{path} does not fit this model: " + "; ".join(problems)
            + ". Train the model again, or build the model the checkpoint was saved from."
        )
    model.load_state_dict(payload["state_dict"])
    return payload["meta"]
