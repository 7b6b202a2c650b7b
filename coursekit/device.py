"""Where tensors live and how runs are made repeatable.

`get_device()` picks the best available accelerator (CUDA, then Apple's MPS, then the CPU);
the environment variable ``COURSEKIT_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) overrides it.
`resolve_device(device)` checks a ``device=`` argument the same way (a str, a torch.device or None).
`seed_everything(seed)` seeds Python, NumPy and torch in one call. `environment_report()` is the
one-line summary a notebook prints so a reader knows what the numbers below it were measured on;
`machine()` is the same as a dict, for the JSON reports of ``benchmarks/``.
"""

from __future__ import annotations

import numbers
import os
import platform
import random
import re

import numpy as np
import torch

from .errors import UnknownName

DEVICE_ENV = "COURSEKIT_DEVICE"
DEVICE_CHOICES = ("cpu", "cuda", "cuda:N", "mps")  # the devices the course can train on
_DEVICE_PATTERN = re.compile(r"cpu|mps|cuda(:[0-9]+)?")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _check_available(device: torch.device, described: str) -> torch.device:
    """Return `device` if this machine has it; else a RuntimeError saying what is missing."""
    advice = "use one this machine has, e.g. cpu, or leave it unset to pick the best available"
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"{described} but CUDA is not available on this machine; {advice}")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise RuntimeError(f"{described} but only {count} CUDA device(s) exist (cuda:0 .. cuda:{count - 1})")
    if device.type == "mps" and not _mps_available():
        raise RuntimeError(f"{described} but Apple MPS is not available on this machine; {advice}")
    return device


def _parse_device(text: str, what: str) -> torch.device:
    """'cpu', 'cuda', 'cuda:N' or 'mps' (any case, spaces around ignored) -> torch.device."""
    name = text.strip().lower()
    if not _DEVICE_PATTERN.fullmatch(name):
        raise UnknownName(what, text, DEVICE_CHOICES)
    return torch.device(name)


def get_device() -> torch.device:
    """Return the device to compute on: ``COURSEKIT_DEVICE`` if set, else CUDA > MPS > CPU.

    ``COURSEKIT_DEVICE`` accepts only ``cpu``, ``cuda``, ``cuda:N`` and ``mps``: anything else (``meta``,
    ``xla``, ``xpu``, a typo) raises `UnknownName` (a ``ValueError``) naming the variable and the choices,
    and a device this machine does not have raises ``RuntimeError`` -- never a silent fallback.
    """
    requested = os.environ.get(DEVICE_ENV, "")
    if requested.strip():
        device = _parse_device(requested, f"device in {DEVICE_ENV}")
        return _check_available(device, f"{DEVICE_ENV}={requested!r}")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: torch.device | str | None = None, name: str = "device") -> torch.device:
    """The device argument of `fit`, `evaluate`, ...: None -> `get_device()`; a str or torch.device is
    checked like ``COURSEKIT_DEVICE`` (cpu, cuda, cuda:N or mps, and present on this machine).
    `name` is the argument's name, used in the error messages."""
    if device is None:
        return get_device()
    if isinstance(device, str):
        parsed = _parse_device(device, f"{name} argument")
    elif isinstance(device, torch.device):
        if device.type not in ("cpu", "cuda", "mps"):
            raise UnknownName(f"{name} argument", str(device), DEVICE_CHOICES)
        parsed = device
    else:
        raise TypeError(
            f"{name} must be a str such as 'cpu' or 'cuda', a torch.device or None, "
            f"got {type(device).__name__} {device!r}"
        )
    return _check_available(parsed, f"{name}={str(device)!r}")


def seed_everything(seed: int = 0) -> None:
    """Seed Python's `random`, NumPy and torch (all devices) so a run can be repeated exactly.

    `seed`: an int in 0 .. 2**32 - 1 (the range NumPy accepts)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in 0 .. 2**32 - 1 (NumPy's range), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def machine() -> dict:
    """What a measurement is made on: platform, processor, Python/NumPy/torch versions, CPU count,
    torch threads and the 1-minute load average (other work on the machine slows every timing)."""
    return dict(
        platform=platform.platform(),
        processor=platform.processor() or platform.machine(),
        python=platform.python_version(),
        numpy=np.__version__,
        torch=torch.__version__,
        cpu_count=os.cpu_count(),
        threads=torch.get_num_threads(),
        load_average_1min=round(os.getloadavg()[0], 2),
    )


def environment_report() -> str:
    """One line: Python, torch and torchvision versions, the chosen device and CPU threads."""
    import torchvision

    from .profile import current_profile

    device = get_device()
    name = device.type
    if device.type == "cuda":
        name = f"cuda ({torch.cuda.get_device_name(device)})"
    return (
        f"python {platform.python_version()} | torch {torch.__version__} | "
        f"torchvision {torchvision.__version__} | device {name} | "
        f"threads {torch.get_num_threads()} | profile {current_profile()}"
    )
