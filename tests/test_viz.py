"""coursekit.viz draws what it is given: colour limits, the numbers in the cells, axes and sizes.

Each test reads the drawn figure back (the image's colour limits and colour map, the texts and their
positions, tick labels, the figure size) instead of only checking that drawing did not fail.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from coursekit import callbacks, viz  # noqa: E402
from coursekit.errors import UnknownName  # noqa: E402
from coursekit.viz import MINUS, color_limits, format_number, show_confusion, show_matrix  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax) -> dict[tuple[int, int], str]:
    """{(row, col): text} of the numbers written in the cells of `ax` (x is the column)."""
    return {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}


# ----------------------------------------------------------------------------------------------
# numbers and colour limits


@pytest.mark.parametrize(
    "value, text",
    [
        (-1, f"{MINUS}1"),
        (2.0, "2"),
        (0, "0"),
        (1800, "1800"),
        (0.11111, "0.111"),
        (-2.5, f"{MINUS}2.5"),
        (np.int64(7), "7"),
        (float("nan"), "nan"),
        (1 / 3, "0.333"),
    ],
)
def test_format_number_writes_integers_without_decimals(value, text):
    assert format_number(value) == text


def test_color_limits_are_centred_on_zero_or_span_the_values():
    assert color_limits(np.array([[-1.0, 3.0], [np.nan, 0.5]])) == (-3.0, 3.0)
    assert color_limits(np.array([[2.0, 5.0]]), centred=False) == (2.0, 5.0)
    assert color_limits(np.zeros((2, 2))) == (-1.0, 1.0)  # never an empty range
    assert color_limits(np.full((2, 2), 4.0), centred=False) == (3.5, 4.5)
    assert color_limits(np.full((2, 2), np.nan), centred=False) == (0.0, 1.0)


# ----------------------------------------------------------------------------------------------
# show_matrix


def test_signed_matrix_is_centred_on_zero_and_every_value_is_written():
    values = np.array([[-1, 0, 2], [3, -4, 5], [6, 7, -8]])
    fig = show_matrix(values, title="kernel")
    (ax,) = fig.axes
    (image,) = ax.images
    assert image.get_clim() == (-8.0, 8.0)  # lim = max |v|, symmetric
    assert image.get_cmap().name.startswith("RdBu_r")
    np.testing.assert_array_equal(image.get_array(), values)
    written = texts(ax)
    assert written == {(i, j): format_number(v) for (i, j), v in np.ndenumerate(values)}
    assert written[(2, 2)] == f"{MINUS}8" and written[(0, 1)] == "0"
    assert ax.get_title() == "kernel"
    assert ax.xaxis.get_tick_params(which="major")["labelbottom"] is False  # no tick labels
    assert ax.yaxis.get_tick_params(which="major")["labelleft"] is False
    assert list(ax.get_xticks(minor=True)) == [-0.5, 0.5, 1.5, 2.5]  # cell borders


def test_text_is_white_on_dark_cells_and_black_on_light_ones():
    fig = show_matrix(np.array([[-10.0, 0.0, 10.0]]))
    colours = {t.get_text(): t.get_color() for t in fig.axes[0].texts}
    assert colours == {f"{MINUS}10": "white", "0": "black", "10": "white"}


def test_limits_cmap_and_fmt_are_used():
    values = torch.tensor([[0.25, -0.5], [1.0, 0.0]])  # a tensor works too
    fig = show_matrix(values, limits=(-2, 2), cmap="gray", fmt=".2f")
    image = fig.axes[0].images[0]
    assert image.get_clim() == (-2.0, 2.0) and image.get_cmap().name.startswith("gray")
    assert texts(fig.axes[0]) == {(0, 0): "0.25", (0, 1): f"{MINUS}0.50", (1, 0): "1.00", (1, 1): "0.00"}
    fig = show_matrix(values, fmt=lambda v: f"<{v:g}>")
    assert texts(fig.axes[0])[(1, 0)] == "<1>"
    fig = show_matrix(values, fmt="{:.0%}")
    assert texts(fig.axes[0])[(0, 0)] == "25%"


def test_nan_cells_stay_blank():
    fig = show_matrix(np.array([[1.0, np.nan], [np.nan, -1.0]]))
    assert texts(fig.axes[0]) == {(0, 0): "1", (1, 1): f"{MINUS}1"}
    assert fig.axes[0].images[0].get_clim() == (-1.0, 1.0)


def test_large_matrices_are_coloured_but_not_numbered_unless_forced():
    digit = np.random.default_rng(0).normal(size=(28, 28))
    assert len(show_matrix(digit).axes[0].texts) == 0
    assert len(show_matrix(np.ones((12, 12))).axes[0].texts) == 144  # 12 x 12: still numbered
    assert len(show_matrix(np.ones((13, 2))).axes[0].texts) == 0
    assert len(show_matrix(digit, annotate="all").axes[0].texts) == 28 * 28
    assert len(show_matrix(np.eye(3), annotate=False).axes[0].texts) == 0


def test_figure_size_follows_the_matrix():
    small = show_matrix(np.eye(3)).get_size_inches()
    large = show_matrix(np.eye(28)).get_size_inches()
    wide = show_matrix(np.ones((2, 10))).get_size_inches()
    assert 1.5 <= small[0] <= 3 and 1.5 <= small[1] <= 3  # a 3x3: about 0.6 in per cell
    assert 4.5 <= large[0] <= 6 and 4.5 <= large[1] <= 6  # a 28x28 capped near 5 in
    assert wide[0] > 2 * wide[1]  # the shape of the matrix
    assert show_matrix(np.eye(3), title="t").get_size_inches()[1] > small[1]  # room for a title


def test_with_ax_it_draws_there_and_returns_that_figure():
    fig, axes = plt.subplots(1, 2)
    assert show_matrix(np.eye(2), ax=axes[1], title="right") is fig
    assert len(axes[0].images) == 0 and len(axes[1].images) == 1 and axes[1].get_title() == "right"
    assert plt.get_fignums() == [fig.number]  # no extra figure


# ----------------------------------------------------------------------------------------------
# show_confusion


def test_confusion_writes_counts_emphasises_the_diagonal_and_colours_mistakes():
    matrix = np.array([[50, 3, 0], [8, 40, 1], [0, 0, 7]])
    fig = show_confusion(torch.tensor(matrix), class_names=["ant", "bee", "wasp"])
    (ax,) = fig.axes
    written = texts(ax)
    assert written == {(0, 0): "50", (0, 1): "3", (1, 0): "8", (1, 1): "40", (1, 2): "1", (2, 2): "7"}
    bold = {(round(t.get_position()[1]), round(t.get_position()[0])) for t in ax.texts if t.get_fontweight() == "bold"}
    assert bold == {(0, 0), (1, 1), (2, 2)}
    image = ax.images[0]
    assert image.get_clim() == (0.0, 8.0)  # colour = the largest mistake
    shown = np.ma.getdata(image.get_array())
    assert np.all(np.isnan(np.diag(shown))) and shown[1, 0] == 8  # the diagonal is not coloured by count
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ant", "bee", "wasp"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ant", "bee", "wasp"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("predicted", "true", "Confusion matrix")
    assert len(ax.patches) == 3  # one outline per diagonal cell


def test_confusion_default_names_and_size():
    fig = show_confusion(np.diag([5] * 10))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(10)]
    assert ax.images[0].get_clim() == (0.0, 1.0)  # no mistakes at all: a valid range
    width, height = fig.get_size_inches()
    assert 5 <= width <= 8 and 5 <= height <= 8


# ----------------------------------------------------------------------------------------------
# bad arguments and in_notebook


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: show_matrix(np.zeros(3)), ValueError, ["2-D", "(3,)"]),
        (lambda: show_matrix(np.zeros((0, 3))), ValueError, ["at least one cell"]),
        (lambda: show_matrix(np.array([["a", "b"]])), ValueError, ["real numbers"]),
        (lambda: show_matrix(np.eye(2), limits=(1, 1)), ValueError, ["limits", "vmin < vmax"]),
        (lambda: show_matrix(np.eye(2), limits=5), ValueError, ["limits", "pair"]),
        (lambda: show_matrix(np.eye(2), cmap="nope"), UnknownName, ["colour map", "nope", "viridis"]),
        (lambda: show_matrix(np.eye(2), fmt=".2q"), ValueError, ["fmt", ".2q"]),
        (lambda: show_matrix(np.eye(2), annotate="yes"), ValueError, ["annotate", "yes"]),
        (lambda: show_matrix(np.eye(2), ax="left"), TypeError, ["ax", "Axes", "str"]),
        (lambda: show_confusion(np.ones((2, 3))), ValueError, ["square", "(2, 3)"]),
        (lambda: show_confusion(np.array([[1, -1], [0, 2]])), ValueError, ["counts", "-1"]),
        (lambda: show_confusion(np.array([[1.5, 0], [0, 2]])), ValueError, ["counts", "1.5"]),
        (
            lambda: show_confusion(np.eye(3, dtype=int), class_names=["a", "b"]),
            ValueError,
            ["class_names", "2 names", "3x3"],
        ),
    ],
)
def test_bad_arguments_name_the_problem(call, error, words):
    with pytest.raises(error) as caught:
        call()
    for word in words:
        assert word in str(caught.value)


def test_in_notebook_lives_in_callbacks_and_is_false_outside_a_kernel():
    assert viz.in_notebook is callbacks.in_notebook
    assert viz.in_notebook() is False
