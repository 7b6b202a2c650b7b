"""coursekit.checks.check answers ✓ or ✗ with a hint for *any* answer, and never gives the answer away.

* every registered key, fed odd answers (strings, dicts, sets, ragged lists, arrays of strings,
  object arrays, tensors of every dtype, NaN, complex, generators ...), returns a CheckResult;
* a hypothesis fuzz test throws many more answer types at every key;
* no message contains the expected value: the text around the hint carries no number at all,
  and no hint contains the expected number (or sequence) as a token;
* right answers in any reasonable form (int/float, list/tuple/array/tensor/torch.Size,
  upper-case string) are accepted;
* unknown keys raise coursekit.errors.UnknownName.

Expected answers are computed once per process (checks caches them), so the many calls are cheap.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from coursekit import checks
from coursekit.checks import CheckResult, check
from coursekit.errors import UnknownName

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = checks.exercises()


@pytest.fixture(scope="module", autouse=True)
def expected_values():
    """Compute every expected answer once up front (the first check of a key would do it too)."""
    return {key: checks._expected(key) for key in KEYS}


def _numbers(value) -> np.ndarray | None:
    """The expected value as a float array, or None for strings and other non-numeric answers."""
    if isinstance(value, str):
        return None
    try:
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().double().numpy()
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return array


def _outside_hint(result: CheckResult, key: str) -> str:
    """The message with the key and the hint cut out: only the fixed prose and the note remain."""
    return result.message.replace(key, "").replace(checks._REGISTRY[key].hint, "")


def assert_well_formed(result, key: str) -> None:
    assert isinstance(result, CheckResult), (key, type(result))
    assert isinstance(bool(result), bool) and result.key == key
    if result:
        assert result.message == f"✓ {key}: correct."
    else:
        assert result.message.startswith(f"✗ {key}: ") and "Hint: " in result.message
        # Nothing but the hint may carry numbers: the note describes the kind of answer only.
        assert not re.search(r"\d", _outside_hint(result, key)), result.message


# ----------------------------------------------------------------------------------------------
# Odd answers, every key

ODD_ANSWERS = {
    "string": "42",
    "empty string": "",
    "bytes": b"\x00\x01",
    "dict": {"answer": 1},
    "empty dict": {},
    "set": {1, 2, 3},
    "frozenset": frozenset({4}),
    "ragged list": [[1, 2], [3]],
    "deeply ragged": [1, [2, [3, [4]]]],
    "array of strings": np.array(["a", "b"]),
    "object array": np.array([None, "x", 3], dtype=object),
    "object scalar": np.array(object(), dtype=object),
    "list with None": [1, None],
    "nan": float("nan"),
    "nan array": np.full((2, 2), np.nan),
    "complex": 3 + 4j,
    "complex array": np.array([1 + 1j, 2]),
    "complex tensor": torch.tensor([1 + 2j]),
    "generator": (i for i in range(3)),
    "iterator": iter([1, 2]),
    "function": len,
    "class": int,
    "object": object(),
    "huge int": 10**400,
    "tuple with strings": (1, "two"),
    "datetime array": np.array(["2024-01-01"], dtype="datetime64[D]"),
    "structured array": np.zeros(2, dtype=[("a", int), ("b", float)]),
    "empty list": [],
    "empty array": np.zeros((0, 3)),
    "meta tensor": torch.empty(3, device="meta"),
    "bfloat16 tensor 3-D": torch.zeros(2, 3, 4, dtype=torch.bfloat16),
    "bool tensor": torch.tensor([True, False, True]),
    "uint8 tensor": torch.arange(7, dtype=torch.uint8).reshape(7, 1),
    "grad tensor": torch.zeros(5, 5, requires_grad=True),
    "torch.Size empty": torch.Size([]),
    "inf": float("inf"),
}


@pytest.mark.parametrize("kind", list(ODD_ANSWERS))
def test_every_key_answers_an_odd_answer_with_a_hint(kind, expected_values):
    answer = ODD_ANSWERS[kind]
    for key in KEYS:
        result = check(key, answer)
        assert_well_formed(result, key)
        if kind in ("string", "empty string") and isinstance(expected_values[key], str):
            continue  # a string might be right for a name exercise; not for these names, but fine
        assert not result, (key, kind)


def test_notes_say_what_kind_of_answer_is_wanted():
    numeric = next(k for k in KEYS if isinstance(checks._expected(k), (int, np.integer)))
    assert "expects a number, a tuple or an array" in check(numeric, "42").message
    assert "your answer is a string" in check(numeric, "42").message
    assert "your answer is a dict" in check(numeric, {"a": 1}).message
    assert "a set" in check(numeric, {1}).message
    assert "generator" in check(numeric, (i for i in range(2))).message
    assert "ragged list" in check(numeric, [[1, 2], [3]]).message
    assert "array of strings" in check(numeric, np.array(["1"])).message
    assert "complex" in check(numeric, 1j).message
    assert "NaN" in check(numeric, float("nan")).message
    assert "expected shape" in check(numeric, [1, 2, 3, 4, 5, 6, 7]).message
    named = [k for k in KEYS if isinstance(checks._expected(k), str)]
    for key in named:
        assert "expects a name, as a string" in check(key, 3).message


def test_a_generator_answer_is_not_consumed():
    numbers = (i for i in range(3))
    check(KEYS[0], numbers)
    assert list(numbers) == [0, 1, 2]


def test_none_and_ellipsis_mean_no_answer_yet():
    for key in KEYS:
        for empty in (None, ...):
            result = check(key, empty)
            assert not result and "no answer yet" in result.message and checks._REGISTRY[key].hint in result.message


# ----------------------------------------------------------------------------------------------
# Hypothesis: many more answer types


def _generator(items):
    return (item for item in items)


SCALARS = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(),
    st.booleans(),
    st.text(max_size=6),
    st.binary(max_size=4),
    st.none(),
    st.fractions(),
)
NESTED = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=2), inner, max_size=3),
        st.sets(st.integers(), max_size=3),
        st.frozensets(st.text(max_size=2), max_size=2),
    ),
    max_leaves=10,
)
ARRAYS = hnp.arrays(
    dtype=st.one_of(
        hnp.integer_dtypes(),
        hnp.unsigned_integer_dtypes(),
        hnp.floating_dtypes(),
        hnp.complex_number_dtypes(),
        hnp.boolean_dtypes(),
        hnp.unicode_string_dtypes(max_len=3),
        hnp.byte_string_dtypes(max_len=3),
        hnp.datetime64_dtypes(),
    ),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
)
TORCH_DTYPES = [
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.int8,
    torch.uint8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.bool,
    torch.complex64,
]


@st.composite
def tensors(draw):
    dtype = draw(st.sampled_from(TORCH_DTYPES))
    shape = draw(st.lists(st.integers(0, 4), max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = torch.from_numpy(np.asarray(rng.normal(size=shape) * 50))
    t = values.to(dtype)
    if dtype.is_floating_point and draw(st.booleans()):
        t = t.requires_grad_()
    if draw(st.booleans()) and t.ndim >= 2:
        t = t.transpose(0, 1)  # non-contiguous
    return t


ANSWERS = st.one_of(
    NESTED,
    ARRAYS,
    tensors(),
    st.builds(lambda xs: np.array(xs + [None], dtype=object), st.lists(SCALARS, max_size=3)),
    st.builds(_generator, st.lists(st.integers(), max_size=3)),
    st.builds(torch.Size, st.lists(st.integers(0, 100), max_size=4)),
    st.sampled_from([Ellipsis, len, int, object(), NotImplemented, range(3), slice(1, 2)]),
)


@FUZZ
@given(ANSWERS)
def test_fuzz_every_key_returns_a_result_and_never_the_answer(answer):
    for key in KEYS:
        assert_well_formed(check(key, answer), key)


@FUZZ
@given(st.sampled_from(KEYS), st.floats(-1e6, 1e6, allow_nan=False), st.integers(-1, 2))
def test_fuzz_near_misses_of_the_right_answer(key, delta, form):
    # Perturbed versions of the right answer, in several containers: ✗ unless within tolerance.
    expected = checks._expected(key)
    numbers = _numbers(expected)
    if numbers is None:
        return
    wrong = np.asarray(numbers + (delta if abs(delta) > checks._REGISTRY[key].tol * 10 else 1.0))
    single = wrong.astype(np.float32)
    single = single if np.array_equal(single, wrong) else wrong  # float32 could round back to the answer
    container = [wrong, wrong.tolist(), torch.from_numpy(wrong), single][form + 1]
    result = check(key, container)
    assert_well_formed(result, key)
    assert not result


# ----------------------------------------------------------------------------------------------
# The expected value never shows


def _tokens(value) -> list[str]:
    """Text forms of a numeric expected value that a leaking message would contain.

    Whole numbers below 10 are skipped: digits like 1 or 3 appear in any hint's prose ("a 3x3
    kernel"). Sequences are searched as a whole, in their tuple and list spellings.
    """
    numbers = _numbers(value)
    if numbers is None:
        return []
    if numbers.ndim == 0:
        v = float(numbers)
        if v.is_integer():
            return [str(int(v))] if abs(v) >= 10 else []
        return [repr(v), f"{v:.3f}", f"{v:.4f}", f"{v:g}"]
    flat = [int(v) if float(v).is_integer() else float(v) for v in numbers.ravel()]
    nested = numbers.astype(int).tolist() if all(isinstance(v, int) for v in flat) else numbers.tolist()
    return [str(tuple(flat)), str(flat), str(nested)] if numbers.size > 1 else _tokens(numbers.ravel()[0])


def _contains_token(text: str, token: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(token)}(?![\w]|\.\d)", text) is not None


@pytest.mark.parametrize("key", KEYS)
def test_no_message_contains_the_expected_value(key):
    expected = checks._expected(key)
    messages = [check(key, answer).message for answer in (None, "?", -123456.5, [[1, 2], [3]], {"k": 1})]
    for token in _tokens(expected):
        for message in messages:
            assert not _contains_token(message, token), f"{key}: the message shows {token!r}: {message}"


def test_the_token_search_is_smart():
    assert _contains_token("the answer is 784.", "784")
    assert not _contains_token("a 7840-pixel image", "784") and not _contains_token("x784", "784")
    assert not _contains_token("value 1.5", "1") and _tokens(3) == [] and _tokens(784) == ["784"]
    assert "(16, 6, 6)" in _tokens((16, 6, 6)) and "0.141" in _tokens(0.14100271541161666)


# ----------------------------------------------------------------------------------------------
# Right answers in any reasonable form


def _right_forms(expected):
    if isinstance(expected, str):
        return [expected, f"  {expected.upper()} "]
    numbers = _numbers(expected)
    if numbers is None:
        return [expected]
    forms = [expected, numbers, torch.from_numpy(numbers), numbers.tolist()]
    if numbers.ndim == 0:
        forms += [
            float(numbers),
            np.float32(numbers) if abs(numbers) < 1e6 and numbers == np.float32(numbers) else float(numbers),
        ]
        if float(numbers).is_integer():
            forms += [int(numbers), np.int64(numbers), Fraction(int(numbers))]
    elif numbers.ndim == 1 and all(float(v).is_integer() and v >= 0 for v in numbers):
        forms += [tuple(int(v) for v in numbers), torch.Size([int(v) for v in numbers])]
    return forms


@pytest.mark.parametrize("key", KEYS)
def test_right_answers_pass_in_any_form(key):
    for form in _right_forms(checks._expected(key)):
        result = check(key, form)
        assert result and result.message == f"✓ {key}: correct.", (key, form)


def test_tolerance_is_absolute_and_nan_only_matches_nan():
    checks.exercise("test.third", hint="One divided by three.", tol=1e-3)(lambda: 1 / 3)
    checks.exercise("test.nan", hint="Zero over zero, in floating point.")(lambda: float("nan"))
    try:
        assert check("test.third", 0.3334) and check("test.third", torch.tensor(0.333))
        assert not check("test.third", 0.335) and not check("test.third", [1 / 3])
        assert check("test.nan", float("nan")) and not check("test.nan", 0.0)
    finally:
        for key in ("test.third", "test.nan"):
            del checks._REGISTRY[key]
            checks._EXPECTED.pop(key, None)


# ----------------------------------------------------------------------------------------------
# Keys


@pytest.mark.parametrize("key", ["nope", "", "welcome", "WELCOME.PIXELS_PER_IMAGE", None, 3, ("a",)])
def test_unknown_key_raises_unknown_name_listing_the_keys(key):
    with pytest.raises(UnknownName, match=r"unknown exercise .*; choose one of: .*welcome\.") as info:
        check(key, 1)
    assert isinstance(info.value, KeyError) and info.value.known == KEYS


def test_unhashable_key_is_an_unknown_name_too():
    with pytest.raises(UnknownName, match=r"unknown exercise \['welcome'\]"):
        check(["welcome"], 1)


def test_a_failing_expected_function_is_reported_with_its_key():
    def broken():
        raise FileNotFoundError("data/mnist missing")

    checks.exercise("test.broken", hint="Needs data.")(broken)
    try:
        with pytest.raises(
            RuntimeError,
            match=r"expected answer of exercise 'test.broken' could not be computed "
            r"\(FileNotFoundError: data/mnist missing\)",
        ):
            check("test.broken", 1)
        assert not check("test.broken", None)  # no answer yet needs no expected value
    finally:
        del checks._REGISTRY["test.broken"]


def test_expected_values_are_computed_once():
    calls = []
    checks.exercise("test.counted", hint="Count.")(lambda: calls.append(1) or 7)
    try:
        for answer in (7, 8, "7", 7.0):
            check("test.counted", answer)
        assert calls == [1]
    finally:
        del checks._REGISTRY["test.counted"]
        checks._EXPECTED.pop("test.counted", None)


def test_matches_never_raises():
    for answer in ODD_ANSWERS.values():
        for expected in (42, (2, 3), np.eye(2), "max", torch.tensor([1.0]), ("a", "b"), None, {"a": 1}):
            assert checks.matches(answer, expected) in (True, False)
    assert math.isnan(float("nan")) and not checks.matches(float("nan"), 1.0)
