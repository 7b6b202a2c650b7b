"""coursekit.viz draws what it is given; coursekit.checks answers ✓ or a hint, never the answer."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from coursekit import checks
from coursekit.errors import UnknownName
from coursekit.train import History
from coursekit.viz import plot_history, show_images


def test_show_images_grid_and_captions():
    fig = show_images(torch.zeros(10, 1, 28, 28), labels=torch.arange(10), ncols=4, class_names="abcdefghij")
    axes = fig.axes
    assert len(axes) == 12  # 3 rows of 4, two left empty
    assert [ax.get_title() for ax in axes[:10]] == list("abcdefghij")
    plt.close(fig)


def test_show_images_rejects_odd_channels():
    with pytest.raises(ValueError, match="1 or 3 channels"):
        show_images(np.zeros((2, 5, 8, 8)))


def test_plot_history_draws_both_curves():
    h = History(
        epoch=[1, 2],
        train_loss=[1.0, 0.5],
        train_acc=[0.5, 0.8],
        val_loss=[1.1, 0.6],
        val_acc=[0.4, 0.7],
        seconds=[1.0, 1.0],
    )
    fig = plot_history(h)
    loss_ax, acc_ax = fig.axes
    assert [tuple(line.get_ydata()) for line in loss_ax.lines] == [(1.0, 0.5), (1.1, 0.6)]
    assert [tuple(line.get_ydata()) for line in acc_ax.lines] == [(0.5, 0.8), (0.4, 0.7)]
    plt.close(fig)


def test_plot_history_without_accuracy_says_so_instead_of_an_empty_panel():
    none = [None, None]
    h = History(epoch=[1, 2], train_loss=[1.0, 0.5], train_acc=none, val_loss=none, val_acc=none)
    fig = plot_history(h)  # what fit(..., accuracy=False) records, e.g. for a detector
    loss_ax, acc_ax = fig.axes
    assert [tuple(line.get_ydata()) for line in loss_ax.lines] == [(1.0, 0.5)]
    assert not acc_ax.lines and "no accuracy" in acc_ax.texts[0].get_text()
    plt.close(fig)


def test_check_answers_tick_or_hint_without_the_answer():
    checks.exercise("test.answer_is_42", hint="Six times seven.")(lambda: 42)
    try:
        right = checks.check("test.answer_is_42", 42.0)
        wrong = checks.check("test.answer_is_42", 41)
        empty = checks.check("test.answer_is_42", None)
        assert right and repr(right) == "✓ test.answer_is_42: correct."
        assert (
            not wrong and "Six times seven." in repr(wrong) and "42" not in repr(wrong).replace("test.answer_is_42", "")
        )
        assert not empty and "no answer yet" in repr(empty)
    finally:
        del checks._REGISTRY["test.answer_is_42"]
        checks._EXPECTED.pop("test.answer_is_42", None)


def test_matches_handles_shapes_arrays_and_strings():
    assert checks.matches(torch.Size([2, 3]), (2, 3))
    assert not checks.matches((3, 2), (2, 3))
    assert checks.matches(np.array([[1, 2]]), [[1.0, 2.0]])
    assert not checks.matches([1, 2, 3], [1, 2])
    assert checks.matches(" Max ", "max")
    assert not checks.matches(3, "max")


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(UnknownName, match=r"unknown exercise 'nope'; choose one of: .*welcome\."):
        checks.check("nope", 1)
    with pytest.raises(KeyError):  # UnknownName is a KeyError, as before
        checks.check("nope", 1)


def test_every_registered_exercise_computes_its_answer():
    keys = checks.exercises()
    assert keys, "no exercises registered"
    for key in keys:
        expected = checks._expected(key)  # computed once per process, shared with test_checks
        assert checks.check(key, expected), key


def test_check_results_print_their_message():
    checks.exercise("test.printed", hint="Think of seven.")(lambda: 7)
    try:
        assert str(checks.check("test.printed", 7)) == "✓ test.printed: correct."
        assert str(checks.check("test.printed", "seven")).startswith("✗ test.printed: not yet. Hint: Think of seven.")
    finally:
        del checks._REGISTRY["test.printed"]
        checks._EXPECTED.pop("test.printed", None)
