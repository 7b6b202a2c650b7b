"""Self-checks for the exercises: ✓ when an answer is right, a hint when it is not.

Each exercise is registered under a key such as ``"padding.same_padding_f5"`` by a function that
*computes* its expected answer (the modules in this package, one per topic, do this on import).
A notebook cell then reads::

    answer = None          # your answer here
    check("padding.same_padding_f5", answer)

The result shows ``✓ …`` or ``✗ …`` with the hint -- never the expected value itself.

What `check` promises
---------------------
* It never raises because of the answer. A string where a number is expected, a dict, a set, a
  ragged list, an array of strings, an object array, a tensor of any dtype, shape or device, NaN,
  a complex number, a generator: each gets ``✗`` with the hint and, when it helps, a short note
  on what kind of answer the exercise wants ("a number, a tuple or an array", "a name, as a
  string"). The note describes the *kind* of answer, never its value.
* An unknown key raises `coursekit.errors.UnknownName` listing the registered keys (a typo in a
  key is the notebook's bug, not the student's answer).
* The result is a `CheckResult`: truthy exactly when the answer is right, so ``assert result``
  works. Numbers and arrays match within the exercise's tolerance (absolute, ``tol``) and must
  have the expected shape (a tuple matches a ``torch.Size``); strings match ignoring case and
  surrounding spaces.
* Expected answers are computed the first time an exercise is checked, then kept for the rest of
  the process, so checking again is instant.

Solutions notebooks (for teachers)
----------------------------------
The answers are kept out of the student path: ``solutions/NN_solutions.ipynb`` holds the
instructor's solutions for lecture notebook ``notebooks/NN_*.ipynb``, one solutions notebook per
lecture notebook with the same number. Each exercise there is answered *by code, the way a
student would* (never by calling the exercise's own expected function), and checked by the very
`check` the students use::

    answer = ops.output_size(32, 5, padding=2, stride=2)   # worked out, not typed in
    result = check("padding.output_size_32", answer)
    print(result)
    assert result

To use them, open ``solutions/NN_solutions.ipynb`` next to the lecture notebook (in a teacher's
copy of the repository; they are not linked from the lessons) and run it top to bottom: every
cell prints ``✓`` or stops at the first wrong solution. ``make test`` runs them with nbval, and
``tests/test_solutions_cover.py`` asserts that every key in `exercises()` is checked in some
solutions notebook, that every key checked there exists, that lecture and solutions notebooks
pair up by number, and that each check's result is asserted. When you add an exercise, register
it in the topic module and add its solution to the matching solutions notebook in the same change.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from coursekit.errors import UnknownName

__all__ = ["CheckResult", "check", "exercise", "exercises", "matches"]

_REGISTRY: dict[str, _Exercise] = {}
_EXPECTED: dict[str, Any] = {}  # key -> computed expected answer, filled on first check
_loaded = False


@dataclass(frozen=True)
class _Exercise:
    expected: Callable[[], Any]
    hint: str
    tol: float


@dataclass(frozen=True)
class CheckResult:
    """What `check` found: truthy when correct; shows its message in a notebook.

    Attributes: ``key`` (the exercise), ``ok`` (bool), ``message`` (``"✓ …"`` or ``"✗ … Hint: …"``).
    """

    key: str
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.message

    __str__ = __repr__


def exercise(key: str, hint: str, tol: float = 1e-6):
    """Register the decorated zero-argument function as the computation of `key`'s answer.

    ``key`` is ``"topic.name"`` (non-empty, no spaces), ``hint`` a non-empty sentence that points
    to the idea without giving the answer, ``tol`` the absolute tolerance for numeric answers
    (a finite number >= 0). Raises ValueError naming the problem, or if ``key`` is taken.
    """
    if not isinstance(key, str) or not key or key != key.strip() or " " in key:
        raise ValueError(f"exercise key must be a non-empty string without spaces, got {key!r}")
    if not isinstance(hint, str) or not hint.strip():
        raise ValueError(f"exercise {key!r} needs a hint (a non-empty string), got {hint!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"exercise {key!r}: tol must be a finite number >= 0, got {tol!r}")

    def register(fn):
        if not callable(fn):
            raise ValueError(f"exercise {key!r} must decorate a function, got {fn!r}")
        if key in _REGISTRY:
            raise ValueError(f"exercise {key!r} is registered twice")
        _REGISTRY[key] = _Exercise(fn, hint, float(tol))
        _EXPECTED.pop(key, None)
        return fn

    return register


def _load_topics() -> None:
    """Import every topic module of this package once (each registers its exercises)."""
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__):
            try:
                importlib.import_module(f"{__name__}.{info.name}")
            except Exception as error:
                raise ImportError(
                    f"the exercises of {__name__}.{info.name} could not be loaded: {type(error).__name__}: {error}"
                ) from error
        _loaded = True


def exercises() -> list[str]:
    """All registered exercise keys, sorted."""
    _load_topics()
    return sorted(_REGISTRY)


# ----------------------------------------------------------------------------------------------
# Comparing an answer with the expected one. Nothing in here may raise because of the answer.


def _to_array(value) -> np.ndarray | None:
    """``value`` as a float64 array, or None if it is not made of real numbers.

    Tensors are detached and moved to the CPU; strings, mappings, sets, iterators, ragged lists,
    complex numbers and anything NumPy cannot read as real numbers give None.
    """
    if value is None or isinstance(value, (str, bytes, Mapping, set, frozenset, Iterator)):
        return None
    try:
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.Tensor):
            value = value.detach()
            if value.is_complex():
                return None
            value = value.cpu().resolve_conj().resolve_neg().to(torch.float64).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = np.asarray(value)
            if array.dtype.kind == "O":  # e.g. a list of tensors, of Fractions, or of None
                array = array.astype(np.float64)  # float() of each element; raises for non-numbers
        if array.dtype.kind not in "biuf":
            return None
        return array.astype(np.float64)
    except Exception:
        return None


def _describe(answer) -> str:
    """What kind of thing ``answer`` is, for the note: 'a string', 'a dict', ... (never its value)."""
    if isinstance(answer, (str, bytes)):
        return "a string"
    if isinstance(answer, Mapping):
        return "a dict"
    if isinstance(answer, (set, frozenset)):
        return "a set (which has no order)"
    if isinstance(answer, Iterator):
        return "an iterator or a generator (turn it into a tuple or a list first)"
    if isinstance(answer, complex):
        return "a complex number"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kind = np.asarray(answer).dtype.kind
    except Exception:
        return "a ragged list (its rows do not all have the same length)"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(answer, torch.Tensor) and answer.is_complex():
        kind = "c"
    return {"c": "complex", "U": "an array of strings", "S": "an array of bytes"}.get(
        kind, f"a {type(answer).__name__}"
    )


def _compare(answer, expected, tol: float) -> tuple[bool, str]:
    """``(correct, note)``; the note says what kind of answer is expected, never its value."""
    if isinstance(expected, str):
        if isinstance(answer, str):
            return answer.strip().lower() == expected.strip().lower(), ""
        return False, f"your answer is {_describe(answer)}; this exercise expects a name, as a string"
    e = _to_array(expected)
    if e is None:  # something else: compare as Python objects
        try:
            return bool(answer == expected), ""
        except Exception:
            return False, ""
    a = _to_array(answer)
    if a is None:
        return False, (
            f"your answer is {_describe(answer)}; this exercise expects a number, a tuple or an array of numbers"
        )
    if a.shape != e.shape:
        return False, "your answer does not have the expected shape (number of values)"
    with np.errstate(invalid="ignore", over="ignore"):
        if np.isnan(a).any() and not np.isnan(e).any():
            return False, "your answer contains NaN (not a number)"
        ok = bool(np.allclose(a, e, rtol=0, atol=tol, equal_nan=True))
    return ok, ""


def matches(answer: Any, expected: Any, tol: float = 1e-6) -> bool:
    """Whether `answer` equals `expected`: numbers and arrays within `tol` (absolute) and of the
    same shape, shapes as tuples, strings ignoring case and surrounding spaces. Never raises."""
    try:
        return _compare(answer, expected, tol)[0]
    except Exception:
        return False


def _expected(key: str) -> Any:
    """Exercise ``key``'s expected answer, computed once per process."""
    if key not in _EXPECTED:
        try:
            _EXPECTED[key] = _REGISTRY[key].expected()
        except Exception as error:
            raise RuntimeError(
                f"the expected answer of exercise {key!r} could not be computed "
                f"({type(error).__name__}: {error}); this is a problem of the "
                f"course's set-up (data, installation), not of your answer"
            ) from error
    return _EXPECTED[key]


def check(key: str, answer: Any) -> CheckResult:
    """Compare a student's `answer` with exercise `key`'s computed answer.

    Args:
        key: a registered exercise key (see `exercises`).
        answer: anything; None or ``...`` means "no answer yet".

    Returns:
        A `CheckResult`, truthy when correct. Never raises because of ``answer``.

    Raises:
        coursekit.errors.UnknownName: ``key`` is not registered (the message lists the keys).
        RuntimeError: the expected answer itself could not be computed (e.g. missing data).
    """
    _load_topics()
    if not isinstance(key, str) or key not in _REGISTRY:
        raise UnknownName("exercise", key, _REGISTRY)
    ex = _REGISTRY[key]
    if answer is None or answer is Ellipsis:
        return CheckResult(key, False, f"✗ {key}: no answer yet. Hint: {ex.hint}")
    expected = _expected(key)
    try:
        ok, note = _compare(answer, expected, ex.tol)
    except Exception:
        ok, note = False, ""
    if ok:
        return CheckResult(key, True, f"✓ {key}: correct.")
    note = f" (Note: {note}.)" if note else ""
    return CheckResult(key, False, f"✗ {key}: not yet. Hint: {ex.hint}{note}")
