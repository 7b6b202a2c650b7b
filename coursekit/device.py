"""Where tensors live and how runs are made repeatable.

`get_device()` picks the best available accelerator (CUDA, then Apple's MPS, then the CPU);
the environment variable ``COURSEKIT_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) overrides it.
`seed_everything(seed)` seeds Python, NumPy and torch in one call. `environment_report()` is the
one-line summary a notebook prints so a reader knows what the numbers below it were measured on;
`machine()` is the same as a dict, for the JSON reports of ``benchmarks/``.
"""
from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

DEVICE_ENV = "COURSEKIT_DEVICE"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_device() -> torch.device:
    """Return the device to compute on: ``COURSEKIT_DEVICE`` if set, else CUDA > MPS > CPU.

    Raises ``RuntimeError`` when the override names a device this machine does not have, and
    ``ValueError`` when it is not a device name at all, rather than silently falling back.
    """
    requested = os.environ.get(DEVICE_ENV, "").strip()
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError as err:
            raise ValueError(
                f"{DEVICE_ENV}={requested!r} is not a device name; use cpu, cuda, cuda:N or mps"
            ) from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"{DEVICE_ENV}={requested!r} but CUDA is not available on this machine")
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"{DEVICE_ENV}={requested!r} but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"{DEVICE_ENV}={requested!r} but Apple MPS is not available on this machine")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python's `random`, NumPy and torch (all devices) so a run can be repeated exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def machine() -> dict:
    """What a measurement is made on: platform, processor, Python/NumPy/torch versions, CPU count,
    torch threads and the 1-minute load average (other work on the machine slows every timing)."""
    return dict(
        platform=platform.platform(), processor=platform.processor() or platform.machine(),
        python=platform.python_version(), numpy=np.__version__, torch=torch.__version__,
        cpu_count=os.cpu_count(), threads=torch.get_num_threads(),
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
