"""Tests for coursekit.widgets, driven headless: move a control, read the numbers `render()` returns.

Every number is checked against an independent computation -- `coursekit.ops` called directly, a
sum written out from the window, or PyTorch (conv2d, max/avg pooling, and the gradient of a
convolution to find which input pixels a window ever touches).
"""

from __future__ import annotations

import base64
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.testing import assert_allclose, assert_array_equal

from coursekit import examples, filters, ops, widgets

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors (conftest.py)


def torch_conv(image, kernel, padding=0, stride=1) -> np.ndarray:
    x = torch.tensor(np.asarray(image, dtype=np.float64))[None, None]
    w = torch.tensor(np.asarray(kernel, dtype=np.float64))[None, None]
    return F.conv2d(x, w, padding=padding, stride=stride)[0, 0].numpy()


def evaluate(expression: str) -> float:
    """Evaluate the written-out sum "5×(−1) + 15×0 + … = −6": returns the left-hand side."""
    left, _ = expression.split("=")
    return eval(left.replace(widgets.TIMES, "*").replace(widgets.MINUS, "-"))  # digits and + - * ( ) only


def png_of(explorer) -> bytes:
    (output,) = explorer._output.outputs  # exactly one picture, never an accumulation
    return base64.b64decode(output["data"]["image/png"])


# ----------------------------------------------------------------------------------------------
# Convolution explorer


def test_conv_default_is_seed_000_sobel_example():
    ex = widgets.conv_explorer()
    r = ex.render()
    assert_array_equal(ex.image, examples.SOBEL_DEMO_IMAGE)
    assert_array_equal(ex.kernel, filters.SOBEL_VERTICAL)
    assert_array_equal(r["output"], ops.corr2d(examples.SOBEL_DEMO_IMAGE, filters.SOBEL_VERTICAL))
    assert r["output_shape"] == (3, 3) and r["position"] == (0, 0)
    assert r["expression"].startswith(f"5{widgets.TIMES}({widgets.MINUS}1) + 15{widgets.TIMES}0")


def test_conv_padding_and_stride_match_torch():
    ex = widgets.conv_explorer()
    ex.controls["padding"].value = 1
    ex.controls["stride"].value = 2
    r = ex.render()
    assert (ex.padding, ex.stride) == (1, 2)
    assert r["output_shape"] == (3, 3)
    assert_allclose(r["output"], torch_conv(examples.SOBEL_DEMO_IMAGE, filters.SOBEL_VERTICAL, 1, 2))


def test_filter_dropdown_changes_the_kernel_and_the_cells():
    ex = widgets.conv_explorer()
    ex.controls["filter"].value = "sharpen"
    assert_array_equal(ex.kernel, filters.get("sharpen"))
    assert [cell.value for cell in ex.controls["kernel"].children] == list(filters.SHARPEN.flat)
    assert_allclose(ex.render()["output"], ops.corr2d(ex.image, filters.SHARPEN))


def test_editing_one_kernel_cell_changes_the_output():
    ex = widgets.conv_explorer()
    before = ex.render()["output"]
    centre = ex.controls["kernel"].children[4]  # row 1, column 1
    centre.value = centre.value + 1
    after = ex.render()["output"]
    assert ex.kernel[1, 1] == 1 and ex.filter == widgets.CUSTOM
    assert ex.controls["filter"].value == widgets.CUSTOM
    # Correlation is linear in the kernel: +1 at the centre adds the pixel under the centre.
    assert_allclose(after - before, examples.SOBEL_DEMO_IMAGE[1:-1, 1:-1])
    # Typing the named value back does not re-select the name, but choosing it does.
    ex.controls["filter"].value = "sobel_vertical"
    assert_array_equal(ex.render()["output"], before)


@pytest.mark.parametrize("padding, stride", [(0, 1), (1, 2)])
def test_stepping_moves_the_window_and_fills_the_output_in_order(padding, stride):
    ex = widgets.conv_explorer(padding=padding, stride=stride)
    full = ops.corr2d(ex.image, ex.kernel, padding, stride)
    padded = ops.pad2d(ex.image, padding)
    h, w = full.shape
    assert ex.controls["step"].max == h * w - 1
    for step in range(h * w):
        ex.controls["step"].value = step
        r = ex.render()
        row, col = divmod(step, w)
        assert r["position"] == (row, col) and ex.controls["play"].value == step
        top, left = row * stride, col * stride
        assert_array_equal(r["window"], padded[top : top + 3, left : left + 3])
        assert r["value"] == full[row, col] == np.sum(r["window"] * ex.kernel)
        assert evaluate(r["expression"]) == r["value"]
        done = np.isfinite(r["shown"]).ravel()
        assert_array_equal(done, np.arange(h * w) <= step)  # the first step+1 elements, row by row
        assert_array_equal(r["shown"].ravel()[done], full.ravel()[done])


def test_a_smaller_output_pulls_the_step_back_into_range():
    ex = widgets.conv_explorer()
    ex.controls["step"].value = 8  # last element of the 3x3 output
    ex.controls["stride"].value = 3  # output 1x1
    r = ex.render()
    assert r["output_shape"] == (1, 1)
    assert ex.step == 0 and ex.controls["step"].value == 0 and ex.controls["step"].max == 0


def test_conv_bad_values_give_a_message_not_an_exception():
    ex = widgets.conv_explorer(image=np.arange(4).reshape(2, 2))
    r = ex.render()
    assert r["error"] and r["output"] is None and "larger than the padded input" in r["message"]
    assert ex.controls["step"].disabled
    ex.controls["padding"].value = 1  # 4x4 padded: now a 3x3 kernel fits
    r = ex.render()
    assert not r["error"] and r["output_shape"] == (2, 2)

    ex.controls["kernel"].children[0].value = float("nan")
    r = ex.render()
    assert r["error"] and "finite" in r["message"]


def test_an_unexpected_error_in_an_observer_is_shown_not_raised(monkeypatch):
    ex = widgets.conv_explorer()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ops, "corr2d", broken)
    ex.controls["padding"].value = 2  # must not raise
    assert "RuntimeError: boom" in ex._status.value


def test_conv_rejects_a_kernel_it_cannot_edit():
    with pytest.raises(ValueError, match="3×3"):
        widgets.conv_explorer(kernel=np.ones((5, 5)))
    assert widgets.conv_explorer(kernel=filters.GAUSSIAN_BLUR * 1).filter == "gaussian_blur"


# ----------------------------------------------------------------------------------------------
# Padding and stride explorer


def test_padding_stride_sizes_match_torch_on_a_grid():
    ex = widgets.padding_stride_explorer()
    c = ex.controls
    for n, f, p, s in itertools.product(range(1, 9), range(1, 6), range(3), range(1, 4)):
        c["n"].value, c["f"].value, c["p"].value, c["s"].value = n, f, p, s
        r = ex.render()
        if f > n + 2 * p:
            assert r["output_size"] is None and r["error"] and "does not fit" in r["message"]
            continue
        with torch.no_grad():
            y = F.conv2d(torch.ones(1, 1, n, n), torch.ones(1, 1, f, f), padding=p, stride=s)
        assert y.shape[-2:] == (r["output_size"], r["output_size"]), (n, f, p, s)
        assert len(r["positions"]) == r["output_size"] ** 2
        assert r["exact"] == ((n + 2 * p - f) % s == 0)


@pytest.mark.parametrize("n, f, p, s", [(5, 3, 0, 1), (6, 3, 0, 2), (7, 2, 1, 3), (8, 3, 1, 3), (5, 1, 0, 2)])
def test_ignored_pixels_are_those_the_output_does_not_depend_on(n, f, p, s):
    ex = widgets.padding_stride_explorer(n, f, p, s)
    r = ex.render()
    x = torch.ones(1, 1, n, n, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, f, f), padding=p, stride=s).sum().backward()
    assert r["ignored"] == int((x.grad == 0).sum())
    assert ("ignored" in r["message"]) == (r["ignored"] > 0)


def test_padding_stride_positions_and_messages():
    ex = widgets.padding_stride_explorer(n=6, f=3, p=0, s=2)
    r = ex.render()
    assert r["positions"] == [(0, 0), (0, 2), (2, 0), (2, 2)]
    assert not r["exact"] and r["ignored"] == 36 - 25  # the last row and column
    assert "⌊(6 + 0 − 3) / 2⌋ + 1" in r["message"] and "mod s = 1" in r["message"]
    ex.controls["n"].value = 7
    assert ex.render()["exact"]


def test_window_larger_than_padded_input_gives_a_message():
    ex = widgets.padding_stride_explorer()
    ex.controls["f"].value = 7
    r = ex.render()
    assert r["output_size"] is None and r["positions"] == [] and not r["exact"]
    assert "7×7 window does not fit" in r["message"]
    ex.controls["p"].value = 1
    assert ex.render()["output_size"] == 1


# ----------------------------------------------------------------------------------------------
# Pooling explorer


def test_pool_default_matches_torch_and_windows_point_at_the_input():
    ex = widgets.pool_explorer()
    assert_array_equal(ex.image, examples.POOL_DEMO_4X4)
    x = torch.tensor(examples.POOL_DEMO_4X4, dtype=torch.float64)[None, None]
    for mode, size, stride in [("max", 2, 2), ("avg", 2, 2), ("max", 3, 1), ("sum", 2, 1)]:
        ex.controls["mode"].value = mode
        ex.controls["size"].value = size
        ex.controls["stride"].value = stride
        r = ex.render()
        if mode == "max":
            expected = F.max_pool2d(x, size, stride)
        else:
            expected = F.avg_pool2d(x, size, stride) * (size * size if mode == "sum" else 1)
        assert_allclose(r["output"], expected[0, 0].numpy())
        assert_allclose(r["output"], ops.pool2d(ex.image, size, stride, mode=mode))
        summarise = {"max": np.max, "avg": np.mean, "sum": np.sum}[mode]
        assert_allclose([summarise(ex.image[window]) for window in r["windows"]], r["output"].ravel())


def test_pool_window_larger_than_input_gives_a_message():
    ex = widgets.pool_explorer()
    ex.controls["size"].value = 5
    r = ex.render()
    assert r["error"] and r["output"] is None and "larger than the 4×4 input" in r["message"]


# ----------------------------------------------------------------------------------------------
# Display: nothing at construction, one picture replaced in place, no figure leak


def test_construction_displays_nothing(capsys):
    explorers = [widgets.conv_explorer(), widgets.padding_stride_explorer(), widgets.pool_explorer()]
    assert capsys.readouterr().out == ""
    assert all(ex._output.outputs == () for ex in explorers)


def test_display_shows_the_ui_and_redraws_in_place_without_leaking_figures():
    ex = widgets.padding_stride_explorer()
    bundle = ex._repr_mimebundle_()
    assert bundle["text/plain"] == "PaddingStrideExplorer(n=5, f=3, p=0, s=1)"
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.ui.model_id
    first = png_of(ex)
    assert first.startswith(b"\x89PNG")

    figures = plt.get_fignums()
    for value in [1, 2, 3, 4] * 5:  # 20 changes
        ex.controls["s"].value = value
    assert plt.get_fignums() == figures
    assert png_of(ex) != first  # stride 4: a different picture, still exactly one
    assert "output is 1×1" in ex._status.value


def test_conv_and_pool_draw_once_displayed():
    for ex in (widgets.conv_explorer(), widgets.pool_explorer()):
        _ = ex.ui  # building the ui draws the explorer
        before = png_of(ex)
        ex.controls["stride" if isinstance(ex, widgets.PoolExplorer) else "step"].value = 1
        assert png_of(ex) != before
    assert plt.get_fignums() == []


# ----------------------------------------------------------------------------------------------
# Out-of-range values: refused with a ValueError naming the range; state and controls always agree


def controls_agree(ex) -> None:
    """Every control shows exactly the explorer's state."""
    c = ex.controls
    if isinstance(ex, widgets.ConvExplorer):
        assert (c["padding"].value, c["stride"].value, c["step"].value) == (ex.padding, ex.stride, ex.step)
        assert c["play"].value == ex.step and c["filter"].value == ex.filter
        cells = np.array([cell.value for cell in c["kernel"].children]).reshape(3, 3)
        assert_array_equal(cells, ex.kernel)
        assert c["step"].min <= ex.step <= c["step"].max
    elif isinstance(ex, widgets.PaddingStrideExplorer):
        assert {name: c[name].value for name in "nfps"} == {name: getattr(ex, name) for name in "nfps"}
    else:
        assert (c["mode"].value, c["size"].value, c["stride"].value) == (ex.mode, ex.size, ex.stride)
        assert c["size"].max == c["stride"].max == max(5, *ex.image.shape)
    for name, control in c.items():  # every int state lies within its slider's range
        if isinstance(control, widgets.widgets.IntSlider) and name != "step":
            assert (control.min, control.max) == ex._range(name)


EXPLORERS = {
    "conv": widgets.conv_explorer,
    "padding_stride": widgets.padding_stride_explorer,
    "pool": widgets.pool_explorer,
}


@pytest.mark.parametrize(
    "make, kwargs, words",
    [
        ("conv", dict(padding=10), ["padding", "0 to 3", "10"]),
        ("conv", dict(padding=-1), ["padding", "0 to 3", "-1"]),
        ("conv", dict(stride=-2), ["stride", "1 to 3", "-2"]),
        ("conv", dict(stride=0), ["stride", "1 to 3"]),
        ("conv", dict(padding=1.5), ["padding", "integer", "1.5"]),
        ("conv", dict(padding=True), ["padding", "integer", "True"]),
        ("conv", dict(kernel="blurry"), ["unknown filter 'blurry'", "sobel_vertical"]),
        ("conv", dict(kernel=np.ones((2, 2))), ["3×3", "(2, 2)"]),
        ("conv", dict(kernel=[["a", "b", "c"]] * 3), ["kernel", "numbers"]),
        ("conv", dict(image=np.arange(5)), ["image", "2-D", "(5,)"]),
        ("conv", dict(image=np.zeros((2, 2, 2))), ["image", "2-D", "(2, 2, 2)"]),
        ("conv", dict(image=np.full((3, 3), np.nan)), ["image", "finite"]),
        ("conv", dict(image=np.array([["x"]])), ["image", "real numbers"]),
        ("padding_stride", dict(p=10), ["p", "0 to 3", "10"]),
        ("padding_stride", dict(s=-1), ["s", "1 to 4"]),
        ("padding_stride", dict(n=0), ["n", "1 to 12"]),
        ("padding_stride", dict(n=13), ["n", "1 to 12"]),
        ("padding_stride", dict(f=8), ["f", "1 to 7"]),
        ("pool", dict(size=0), ["size", "1 to 5"]),
        ("pool", dict(stride=6), ["stride", "1 to 5"]),
        ("pool", dict(mode="median"), ["unknown pooling mode 'median'", "max"]),
        ("pool", dict(image=np.ones(4)), ["image", "2-D"]),
    ],
)
def test_out_of_range_construction_is_refused_with_the_range(make, kwargs, words):
    with pytest.raises(ValueError) as caught:
        EXPLORERS[make](**kwargs)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    "make, kwargs",
    [
        ("conv", dict(padding=3, stride=3)),
        ("conv", dict(image=np.ones((1, 1)))),  # kernel larger than the image
        ("conv", dict(image=np.ones((1, 1)), padding=3, stride=3)),
        ("conv", dict(image=np.ones((1, 9)), kernel=np.eye(3))),
        ("conv", dict(image=np.arange(16, dtype=np.uint8).reshape(4, 4), kernel="box_blur")),
        ("padding_stride", dict(n=1, f=7, p=0, s=4)),  # window larger than the input
        ("padding_stride", dict(n=12, f=1, p=3, s=4)),
        ("pool", dict(size=5)),  # window larger than the 4x4 input
        ("pool", dict(image=np.ones((1, 1)), size=5, stride=5, mode="sum")),
        ("pool", dict(image=np.ones((9, 2)), size=9, stride=1, mode="avg")),
    ],
)
def test_extreme_values_in_range_never_make_ui_raise(make, kwargs):
    ex = EXPLORERS[make](**kwargs)
    controls_agree(ex)
    _ = ex.ui  # builds and draws
    assert png_of(ex).startswith(b"\x89PNG")
    assert "could not draw" not in ex._status.value and "Error" not in ex._status.value
    controls_agree(ex)
    plt.close("all")


def test_assigning_attributes_moves_the_controls_and_refuses_out_of_range():
    ex = widgets.conv_explorer()
    controls_agree(ex)
    ex.padding, ex.stride = 2, 2
    controls_agree(ex)
    assert ex.render()["output_shape"] == (4, 4)
    ex.step = 15
    controls_agree(ex)
    with pytest.raises(ValueError, match=r"step must be an integer from 0 to 15"):
        ex.step = 16
    with pytest.raises(ValueError, match=r"padding must be an integer from 0 to 3 \(the range of its slider\), got 10"):
        ex.padding = 10
    assert ex.padding == 2 and ex.controls["padding"].value == 2  # nothing changed
    ex.stride = 3  # the output shrinks to 3x3: the step is pulled back to its last element
    assert ex.step == 8
    controls_agree(ex)
    ex.filter = "sharpen"
    assert_array_equal(ex.kernel, filters.SHARPEN)
    controls_agree(ex)
    ex.kernel = np.ones((3, 3))
    assert ex.filter == widgets.CUSTOM
    controls_agree(ex)
    with pytest.raises(ValueError, match="unknown filter 'median'"):
        ex.filter = "median"
    ex.image = np.ones((2, 2))  # no output for this padding ... until it is padded enough
    controls_agree(ex)
    ex.padding = 0
    assert ex.render()["error"] and ex.step == 0
    controls_agree(ex)


def test_padding_stride_and_pool_assignments_keep_controls_in_step():
    ps = widgets.padding_stride_explorer()
    ps.n, ps.f, ps.p, ps.s = 12, 7, 3, 4
    controls_agree(ps)
    with pytest.raises(ValueError, match="p must be an integer from 0 to 3"):
        ps.p = 4
    assert ps.p == 3
    controls_agree(ps)

    pool = widgets.pool_explorer(image=np.arange(64).reshape(8, 8))
    assert pool.controls["size"].max == 8
    pool.size, pool.stride, pool.mode = 8, 7, "avg"
    controls_agree(pool)
    with pytest.raises(ValueError, match="size 8 is outside 1..5"):
        pool.image = np.ones((4, 4))  # the 8x8 window no longer fits the slider of a 4x4 image
    assert pool.image.shape == (8, 8)
    pool.size, pool.stride = 2, 2
    pool.image = np.ones((4, 4))
    controls_agree(pool)
    with pytest.raises(ValueError, match="unknown pooling mode"):
        pool.mode = "min"
    assert pool.mode == "avg"


def test_moving_controls_updates_the_state_the_same_way():
    ex = widgets.pool_explorer()
    ex.controls["size"].value = 3
    ex.controls["mode"].value = "sum"
    assert (ex.size, ex.mode) == (3, "sum")
    controls_agree(ex)
    ex.controls["size"].value = 99  # the slider clamps to its max, the state follows it
    assert ex.size == ex.controls["size"].value == 5
    controls_agree(ex)
    conv = widgets.conv_explorer()
    conv.controls["kernel"].children[0].value = float("inf")
    assert conv.render()["error"] and np.isinf(conv.kernel[0, 0])
    controls_agree(conv)
    _ = conv.ui  # builds and draws
    assert "finite" in conv._status.value
