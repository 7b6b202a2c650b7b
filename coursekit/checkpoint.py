"""Saving a trained model so that a crash never leaves half a file, and loading it safely.

`save_checkpoint(model, path, meta)` checks `meta` first (only plain values and tensors, so that it
can be read back), then writes the weights, the model's class name and constructor configuration
(``model.config`` when it has one), the sha256 of every tensor's bytes and `meta` to a temporary
file in the *same* folder, reads it back to be sure it loads, and only then renames it over `path`
with `os.replace`, which is atomic on POSIX and Windows. A failure at any point -- an unsuitable
`meta`, a full disk, ``kill -9`` -- leaves the previous checkpoint untouched; the temporary file a
killed save leaves behind is removed by the next save into that folder.

`load_checkpoint(path, model)` reads with ``torch.load(..., weights_only=True)``, which refuses to
unpickle arbitrary objects (a checkpoint from the internet cannot run code), verifies every
tensor's sha256 (one flipped byte is caught), checks that the stored architecture is the one of
`model` -- class, configuration, parameter names and the shape of every stored tensor -- and only
then copies the weights: a checkpoint that does not fit leaves the model as it was. Every error
names the file and says what to do. `is_compatible(path, model)` answers whether that load would
succeed, and never raises for a missing, truncated, foreign or hostile file.

The file layout (``torch.load(path, weights_only=True)`` reads it without coursekit)::

    {"format": "coursekit-checkpoint/1",
     "architecture": {"class": str, "config": dict | None, "shapes": {name: [int, ...]},
                      "sha256": {name: hex digest of the tensor's dtype, shape and bytes}},
     "state_dict": {name: tensor}, "meta": dict}

Checkpoints written before the checksums were added (no ``"sha256"`` entry) still load.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import torch
from torch import nn

from .files import atomic_path, remove_stale_partials

FORMAT = "coursekit-checkpoint/1"
_PLAIN = (type(None), bool, int, float, str)
_MAX_DEPTH = 50


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: it does not fit the model, or the file is damaged."""


class CheckpointMismatch(CheckpointError):
    """A checkpoint does not fit the model it is loaded into (other class, config or shapes)."""


class CorruptCheckpoint(CheckpointError):
    """A checkpoint file is truncated, damaged or altered (unreadable, or a tensor's sha256 differs)."""


class UnsafeCheckpoint(CorruptCheckpoint, pickle.UnpicklingError):
    """A checkpoint file holds objects other than tensors and plain values (it could run code)."""


# ---------------------------------------------------------------------------------------------
# What is stored.
# ---------------------------------------------------------------------------------------------


def tensor_sha256(tensor: torch.Tensor) -> str:
    """The sha256 of a tensor's dtype, shape and bytes (in row-major order, whatever its strides)."""
    t = tensor.detach().cpu().contiguous()
    h = hashlib.sha256(f"{t.dtype}:{tuple(t.shape)}:".encode())
    if t.numel():
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _architecture(model: nn.Module) -> dict:
    config = getattr(model, "config", None)
    return {
        "class": type(model).__name__,
        "config": dict(config) if isinstance(config, dict) else None,
        "shapes": {name: list(t.shape) for name, t in model.state_dict().items()},
    }


def _fix_for(value) -> str:
    """How to turn an unsuitable `value` into something a checkpoint can hold."""
    module = type(value).__module__
    if module == "numpy":
        return "use float(x) or int(x) for a NumPy scalar, x.tolist() or torch.from_numpy(x) for an array"
    if isinstance(value, os.PathLike):
        return "use str(path)"
    if isinstance(value, (set, frozenset)):
        return "use sorted(values) or list(values)"
    return "store numbers, strings, lists, tuples, dicts or tensors only (e.g. float(x), str(x))"


def _check_meta(value, where: str = "meta", depth: int = 0) -> None:
    """Raise TypeError naming the first entry of `meta` that ``weights_only`` loading would refuse."""
    if depth > _MAX_DEPTH:
        raise TypeError(
            f"{where} is nested more than {_MAX_DEPTH} levels deep (a list or dict that contains "
            f"itself?); store a flat summary instead"
        )
    if type(value) in _PLAIN or type(value) in (torch.Tensor, nn.Parameter):
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            _check_meta(item, f"{where}[{i}]", depth + 1)
        return
    if type(value) is dict:
        for key, item in value.items():
            if type(key) not in (str, int):
                raise TypeError(
                    f"{where} has a key {key!r} of type {type(key).__name__}; checkpoint meta keys "
                    f"must be strings (or ints): use str(key). Nothing was written."
                )
            _check_meta(item, f"{where}[{key!r}]", depth + 1)
        return
    kind = f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")
    raise TypeError(
        f"{where} is a {kind} ({value!r:.60}), which a checkpoint cannot load back with "
        f"weights_only=True; {_fix_for(value)}. Nothing was written."
    )


def _check_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or Path naming the checkpoint file, got {type(path).__name__}")
    path = Path(path)
    if str(path) in ("", "."):
        raise ValueError(f"path {str(path)!r} names no file; give a file name such as 'model.pt'")
    return path


def _check_model(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


# ---------------------------------------------------------------------------------------------
# Saving.
# ---------------------------------------------------------------------------------------------


def save_checkpoint(model: nn.Module, path: str | os.PathLike, meta: dict | None = None) -> Path:
    """Write `model`'s weights, architecture, tensor checksums and `meta` to `path` atomically.

    `meta` must hold only None, bools, ints, floats, strings, tensors and lists, tuples or dicts
    of those (dict keys: strings or ints): anything else -- a NumPy scalar, a Path, an array --
    raises TypeError naming the entry and how to convert it, *before* any file is touched. The
    written file is read back and verified before it replaces `path`. Returns the path.
    """
    model = _check_model(model)
    path = _check_path(path)
    if meta is not None and type(meta) is not dict:
        raise TypeError(f"meta must be a dict (or None), got {type(meta).__name__}")
    meta = dict(meta or {})
    _check_meta(meta)
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a folder; give the checkpoint a file name inside it, e.g. {path / 'model.pt'}"
        )
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    architecture = _architecture(model)
    architecture["sha256"] = {k: tensor_sha256(v) for k, v in state.items()}
    payload = {"format": FORMAT, "architecture": architecture, "state_dict": state, "meta": meta}
    remove_stale_partials(path.parent)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
        read_checkpoint(tmp)  # it loads and every checksum matches, or the old file stays
    return path


# ---------------------------------------------------------------------------------------------
# Loading.
# ---------------------------------------------------------------------------------------------

_DELETE = "delete it and train the model again (or restore a good copy)"


def _corrupt(path: Path, what: str) -> CorruptCheckpoint:
    return CorruptCheckpoint(f"{path}: {what}; the file is damaged or not a coursekit checkpoint -- {_DELETE}.")


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint dict (format, architecture, state_dict, meta), loaded weights-only and verified.

    Raises FileNotFoundError, IsADirectoryError, `UnsafeCheckpoint` (objects that could run code),
    `CorruptCheckpoint` (unreadable, truncated, a tensor whose sha256 differs) or
    `CheckpointMismatch` (a file of another format), each naming `path`.
    """
    path = _check_path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a checkpoint file")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no checkpoint there; train the model and save it with save_checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        detail = _unpickler_detail(err)
        if "GLOBAL" in detail:  # it asks to import a function or class: refused by weights_only
            raise UnsafeCheckpoint(
                f"{path} holds objects other than tensors and plain values, which could run code when loaded "
                f"({detail}); refused. Do not load it; {_DELETE}."
            ) from None
        raise _corrupt(path, f"it cannot be unpickled ({detail})") from None
    except (RuntimeError, EOFError, ValueError, OSError, KeyError, AttributeError, IndexError) as err:
        reason = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise _corrupt(path, f"torch cannot read it ({reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointMismatch(
            f"{path} is not a coursekit checkpoint (expected format {FORMAT!r}); "
            f"save models with coursekit.checkpoint.save_checkpoint"
        )
    _check_structure(path, payload)
    return payload


def _unpickler_detail(err: Exception) -> str:
    """The one informative line of torch's long weights-only error (e.g. 'Unsupported operand 95')."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line or line.startswith("Unsupported") or "WeightsUnpickler error:" in line and line[-1] != ":":
            return line[:160]
    return (lines[0] if lines else type(err).__name__)[:160]


def _check_structure(path: Path, payload: dict) -> None:
    arch, state, meta = payload.get("architecture"), payload.get("state_dict"), payload.get("meta")
    if not isinstance(arch, dict) or not {"class", "config", "shapes"} <= set(arch):
        raise _corrupt(path, "its architecture record is missing or incomplete")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise _corrupt(path, "its state_dict is missing or holds something other than tensors")
    if not isinstance(meta, dict):
        raise _corrupt(path, "its meta is missing")
    shapes = arch["shapes"]
    if not isinstance(shapes, dict) or set(shapes) != set(state):
        raise _corrupt(path, "the tensors it lists and the tensors it holds differ")
    for name, tensor in state.items():
        if list(tensor.shape) != list(shapes[name]):
            raise _corrupt(
                path, f"tensor {name} has shape {tuple(tensor.shape)} but is recorded as {tuple(shapes[name])}"
            )
    digests = arch.get("sha256")
    if digests is None:
        return  # written before checksums existed
    if not isinstance(digests, dict) or set(digests) != set(state):
        raise _corrupt(path, "its checksum record does not list every tensor")
    altered = [name for name, tensor in state.items() if tensor_sha256(tensor) != digests[name]]
    if altered:
        raise CorruptCheckpoint(
            f"{path}: the content of {len(altered)} tensor(s) differs from the sha256 saved with it "
            f"({', '.join(altered[:5])}{', ...' if len(altered) > 5 else ''}); the file was damaged or altered "
            f"after saving -- {_DELETE}."
        )


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
    """True when `load_checkpoint(path, model)` would succeed: `path` holds an intact checkpoint of
    exactly `model`'s architecture. False -- never an exception -- for a missing file, a folder, a
    truncated, altered or foreign file, or one that holds code."""
    model = _check_model(model)
    try:
        payload = read_checkpoint(path)
    except (OSError, CheckpointError, TypeError, ValueError):
        return False
    return not _differences(payload["architecture"], model)


def load_checkpoint(path: str | os.PathLike, model: nn.Module) -> dict:
    """Load the weights stored at `path` into `model` (in place) and return the checkpoint's meta.

    Raises FileNotFoundError when there is no file, `CorruptCheckpoint` / `UnsafeCheckpoint` when
    the file is damaged, altered or holds code, and `CheckpointMismatch` when it was saved from a
    different architecture. Everything is checked before the first weight is copied: in every
    failing case the model is left exactly as it was.
    """
    model = _check_model(model)
    payload = read_checkpoint(path)
    problems = _differences(payload["architecture"], model)
    if problems:
        raise CheckpointMismatch(
            f"{path} does not fit this model: "
            + "; ".join(problems)
            + ". Train the model again, or build the model the checkpoint was saved from."
        )
    backup = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        model.load_state_dict(payload["state_dict"])
    except Exception as err:
        with torch.no_grad():
            model.load_state_dict(backup)
        raise CheckpointMismatch(
            f"{path} could not be loaded into this model ({err}); the model is unchanged. "
            f"Train the model again, or build the model the checkpoint was saved from."
        ) from None
    return payload["meta"]
