"""Self-checks for the exercises: ✓ when an answer is right, a hint when it is not.

Each exercise is registered under a key such as ``"padding.same_padding"`` by a function that
*computes* its expected answer (the modules in this package, one per topic, do this on import).
A notebook cell then reads::

    answer = None          # your answer here
    check("padding.same_padding", answer)

The result shows ``✓ …`` or ``✗ …`` with the hint -- never the expected value itself.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

_REGISTRY: dict[str, "_Exercise"] = {}
_loaded = False


@dataclass(frozen=True)
class _Exercise:
    expected: Callable[[], Any]
    hint: str
    tol: float


@dataclass(frozen=True)
class CheckResult:
    """What `check` found: truthy when correct; shows its message in a notebook."""

    key: str
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.message


def exercise(key: str, hint: str, tol: float = 1e-6):
    """Register the decorated zero-argument function as the computation of `key`'s answer."""
    def register(fn):
        if key in _REGISTRY:
            raise ValueError(f"exercise {key!r} is registered twice")
        _REGISTRY[key] = _Exercise(fn, hint, tol)
        return fn
    return register


def _load_topics() -> None:
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True


def exercises() -> list[str]:
    """All registered exercise keys, sorted."""
    _load_topics()
    return sorted(_REGISTRY)


def matches(answer: Any, expected: Any, tol: float = 1e-6) -> bool:
    """Whether `answer` equals `expected`: numbers and arrays within `tol`, shapes as tuples,
    strings ignoring case and surrounding spaces."""
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().lower() == expected.strip().lower()
    if hasattr(answer, "detach"):  # a torch tensor
        answer = answer.detach().cpu().numpy()
    if hasattr(expected, "detach"):
        expected = expected.detach().cpu().numpy()
    try:
        a = np.asarray(answer, dtype=float)
        e = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return answer == expected
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=0, atol=tol))


def check(key: str, answer: Any) -> CheckResult:
    """Compare a student's `answer` with exercise `key`'s computed answer."""
    _load_topics()
    if key not in _REGISTRY:
        raise KeyError(f"no exercise {key!r}; known: {', '.join(sorted(_REGISTRY))}")
    ex = _REGISTRY[key]
    if answer is None or answer is Ellipsis:
        return CheckResult(key, False, f"✗ {key}: no answer yet. Hint: {ex.hint}")
    if matches(answer, ex.expected(), ex.tol):
        return CheckResult(key, True, f"✓ {key}: correct.")
    return CheckResult(key, False, f"✗ {key}: not yet. Hint: {ex.hint}")
