"""Interactive explorers for Part I: a convolution step by step, padding and stride, pooling.

Each explorer is a small object with

* its **state** in plain attributes (``ex.padding``, ``ex.stride``, ``ex.kernel``, ...);
* its **ipywidgets** in a dict ``ex.controls`` keyed by plain names, so a notebook (or a test) can
  move a slider from code: ``ex.controls["stride"].value = 2``;
* ``ex.render()``, which recomputes everything from the state and returns the numbers it shows
  as a dict (arrays, sizes, messages) -- a notebook can assert on them in the next cell;
* ``ex.ui``: the controls, a message line and the figure, in one ``VBox``. Writing the explorer as
  the last expression of a cell displays ``ex.ui``.

Moving a control calls an observer that updates the state and calls ``render()``. Bad values
(a window larger than the padded input, a kernel entry that is not a number, ...) end up as a
message in the UI and in ``render()["message"]``; an observer never lets an exception escape.

The figure is a ``matplotlib.figure.Figure`` owned by the explorer -- not a pyplot figure -- so
redrawing never leaves figures behind and the inline backend never shows a stray copy below the
cell. Each redraw rasterises it to PNG and *replaces* the content of an ``ipywidgets.Output``
(the same effect as ``clear_output(wait=True)`` followed by ``display``, in one message, and
without needing a kernel). Nothing is drawn until ``ui`` is first used, so creating an explorer
is cheap and works without a notebook (in pytest, say).
"""
from __future__ import annotations

import base64
import html
import io
from contextlib import contextmanager

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from coursekit import examples, filters, ops

__all__ = [
    "conv_explorer",
    "padding_stride_explorer",
    "pool_explorer",
    "ConvExplorer",
    "PaddingStrideExplorer",
    "PoolExplorer",
]

CUSTOM = "(custom)"  # the filter dropdown's entry for a kernel edited by hand
MINUS = "\u2212"  # typographic minus sign, as on the slides
ARROW = "\u2192"
TIMES = "\u00d7"
MAX_NUMBERED_CELLS = 196  # write the value into each cell only up to 14x14 cells (else: colours only)


# ----------------------------------------------------------------------------------------------
# Formatting and drawing helpers


def _number(value) -> str:
    """A number as a student writes it: ``-1`` -> "−1", ``2.0`` -> "2", ``0.1111`` -> "0.111"."""
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    text = str(int(value)) if value.is_integer() else f"{value:.3g}"
    return text.replace("-", MINUS)


def _factor(value) -> str:
    """`_number` in parentheses when negative, for use in a product: "5×(−1)"."""
    text = _number(value)
    return f"({text})" if text.startswith(MINUS) else text


def _color_range(values) -> tuple[float, float]:
    """(vmin, vmax) for an array: symmetric around 0 if it has negative values, else [min, max]."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    if low < 0:
        bound = max(-low, high)
        return -bound, bound
    return low, high


def _matrix(ax, values, title: str = "", limits: tuple[float, float] | None = None) -> None:
    """Draw a 2-D array as a grid of coloured cells with each value written in its cell.

    ``values`` has shape ``(h, w)``; NaN cells stay blank. Signed data gets a diverging colour
    map centred on 0 (blue negative, red positive), non-negative data shades of blue. ``limits``
    fixes the colour range, so that two panels (or successive frames) use the same colours.
    """
    values = np.asarray(values, dtype=float)
    vmin, vmax = _color_range(values) if limits is None else limits
    signed = vmin < 0
    cmap = matplotlib.colormaps["RdBu_r" if signed else "Blues"].with_extremes(bad="white")
    ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)

    h, w = values.shape
    ax.set_xticks(np.arange(-0.5, w), minor=True)
    ax.set_yticks(np.arange(-0.5, h), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.8)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(title, fontsize=10)
    if h * w > MAX_NUMBERED_CELLS:
        return

    fontsize = 10 if max(h, w) <= 7 else 8
    span = (vmax - vmin) or 1.0
    for (i, j), value in np.ndenumerate(values):
        if not np.isfinite(value):
            continue
        # Dark cells get white text: the ends of the diverging map, the top of the sequential one.
        shade = abs(value) / (span / 2) if signed else (value - vmin) / span
        color = "white" if shade > 0.6 else "black"
        ax.text(j, i, _number(value), ha="center", va="center", fontsize=fontsize, color=color)


def _outline(ax, top: int, left: int, height: int, width: int, inset: float = 0.0, **style) -> None:
    """Draw a rectangle around the cells ``[top : top + height, left : left + width]``.

    ``inset`` shrinks it by that fraction of a cell on every side (to tell overlapping
    windows apart).
    """
    style = {"fill": False, "edgecolor": "red", "linewidth": 2.5, "clip_on": False, "zorder": 3, **style}
    corner = (left - 0.5 + inset, top - 0.5 + inset)
    ax.add_patch(Rectangle(corner, width - 2 * inset, height - 2 * inset, **style))


def _png(fig: Figure) -> str:
    """The figure rendered as a base64 PNG string, as a notebook's ``image/png`` output holds it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _error_html(text: str) -> str:
    return f"<span style='color:#b00'>{html.escape(text)}</span>"


def _slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=low, max=high, description=description,
                             continuous_update=False, style={"description_width": "initial"})


def _as_image(image, name: str = "image") -> np.ndarray:
    """Check an explorer's input matrix: a 2-D array of numbers, shape ``(H, W)``."""
    array = np.asarray(image)
    if array.ndim != 2 or array.size == 0 or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be a non-empty 2-D array of numbers (H, W); "
                         f"got shape {array.shape}, dtype {array.dtype}")
    return array


# ----------------------------------------------------------------------------------------------
# What the three explorers share


class _Explorer:
    """Controls + a message line + one figure, redrawn whenever a control changes.

    A subclass fills ``self.controls`` and implements ``_compute()`` (state -> result dict),
    ``_sync_controls(result)`` (state -> widgets), ``_draw(fig, result)`` and
    ``_layout_controls()``. It hooks its widgets up with ``_watch``.
    """

    figsize: tuple[float, float] = (9.0, 3.5)

    def __init__(self):
        self.controls: dict[str, widgets.Widget] = {}
        # Fixed margins rather than a layout engine: a redraw costs a third less.
        self._figure = Figure(figsize=self.figsize)
        self._figure.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.88, wspace=0.12)
        self._status = widgets.HTML()
        self._output = widgets.Output()
        self._ui: widgets.VBox | None = None
        self._quiet = False

    # -- display -------------------------------------------------------------------------------

    @property
    def ui(self) -> widgets.VBox:
        """The widget to display: controls, message line, figure. Built (and drawn) on first use."""
        if self._ui is None:
            self._ui = widgets.VBox([self._layout_controls(), self._status, self._output])
            self.render()
        return self._ui

    def _repr_mimebundle_(self, **kwargs):
        # Jupyter shows the widget; plain-text front ends (and nbval's text/plain) get repr(self).
        bundle = self.ui._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    # -- state -> numbers -> pictures ----------------------------------------------------------

    def render(self) -> dict:
        """Recompute from the current state, bring the widgets and the figure up to date.

        Returns the dict of what is shown (see the subclass). The figure is only drawn once the
        explorer has been displayed (``ui`` used).
        """
        result = self._compute()
        with self._quietly():
            self._sync_controls(result)
        if self._ui is not None:
            self._redraw(result)
        return result

    def _redraw(self, result: dict) -> None:
        self._figure.clear()
        self._draw(self._figure, result)
        figure_output = {
            "output_type": "display_data",
            "data": {"image/png": _png(self._figure), "text/plain": repr(self._figure)},
            "metadata": {},
        }
        # Replace, never append: the Output always holds exactly one picture.
        self._output.outputs = (figure_output,)
        self._status.value = self._status_html(result)

    def _status_html(self, result: dict) -> str:
        message = result.get("message", "")
        return _error_html(message) if result.get("error") else html.escape(message)

    # -- widgets -> state ----------------------------------------------------------------------

    @contextmanager
    def _quietly(self):
        """While inside, observers ignore changes: we are moving widgets ourselves."""
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    def _watch(self, widget: widgets.Widget, update) -> None:
        """When ``widget``'s value changes, call ``update(new_value)`` and re-render.

        Any exception is turned into a message in the UI: an exception escaping an observer would
        only end up in the browser's log, leaving the student with a frozen picture.
        """
        def on_change(change):
            if self._quiet:
                return
            try:
                update(change["new"])
                self.render()
            except Exception as error:  # noqa: BLE001 -- shown to the user instead of raised
                self._status.value = _error_html(f"{type(error).__name__}: {error}")

        widget.observe(on_change, names="value")

    def _setter(self, attribute: str):
        """An ``update`` for `_watch` that stores the new value in ``self.<attribute>``."""
        return lambda value: setattr(self, attribute, value)

    # -- for subclasses ------------------------------------------------------------------------

    def _compute(self) -> dict:
        raise NotImplementedError

    def _sync_controls(self, result: dict) -> None:
        raise NotImplementedError

    def _draw(self, fig: Figure, result: dict) -> None:
        raise NotImplementedError

    def _layout_controls(self) -> widgets.Widget:
        raise NotImplementedError


def _draw_message(fig: Figure, message: str) -> None:
    """A figure that only says what is wrong (when there is nothing to draw)."""
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, color="#b00", fontsize=11)


# ----------------------------------------------------------------------------------------------
# Convolution, one output element at a time


class ConvExplorer(_Explorer):
    """Slide a 3×3 kernel over an image and watch the output fill in, one element per step.

    The operation is cross-correlation, what CNN layers compute (`coursekit.ops.corr2d`).

    State:
        image: the input, shape ``(H, W)``.
        kernel: float array of shape ``(3, 3)``.
        filter: name of the kernel in `coursekit.filters.NAMED`, or ``CUSTOM`` once edited.
        padding, stride: ints.
        step: index of the current output element, counted row by row from 0
            (element ``(step // W', step % W')`` of the ``(H', W')`` output).

    Controls: "filter" (Dropdown), "kernel" (GridBox of nine FloatText, row by row:
    ``controls["kernel"].children[3 * row + col]``), "padding" and "stride" (IntSlider),
    "step" (IntSlider) and "play" (Play, linked to "step" in the browser).
    """

    figsize = (10.0, 3.6)

    def __init__(self, image=None, kernel="sobel_vertical", padding: int = 0, stride: int = 1):
        super().__init__()
        self.image = _as_image(examples.SOBEL_DEMO_IMAGE if image is None else image)
        if isinstance(kernel, str):
            self.filter, self.kernel = kernel, filters.get(kernel).astype(float)
        else:
            self.kernel = np.array(kernel, dtype=float)
            self.filter = next((name for name, k in filters.NAMED.items()
                                if k.shape == self.kernel.shape and np.array_equal(k, self.kernel)), CUSTOM)
        if self.kernel.shape != (3, 3):
            raise ValueError(f"the explorer edits 3×3 kernels; got shape {self.kernel.shape}")
        self.padding, self.stride, self.step = padding, stride, 0

        cells = [widgets.FloatText(value=float(v), step=1, layout=widgets.Layout(width="64px"))
                 for v in self.kernel.flat]
        self.controls = {
            "filter": widgets.Dropdown(options=[*filters.NAMED, CUSTOM], value=self.filter,
                                       description="filter"),
            "kernel": widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="repeat(3, 68px)")),
            "padding": _slider("padding p", padding, 0, 3),
            "stride": _slider("stride s", stride, 1, 3),
            "step": _slider("step", 0, 0, 0),
            "play": widgets.Play(value=0, min=0, max=0, interval=900, description="play"),
        }
        # The slider updates the Play button's position in the browser, and vice versa.
        widgets.jslink((self.controls["play"], "value"), (self.controls["step"], "value"))

        self._watch(self.controls["filter"], self._choose_filter)
        for index, cell in enumerate(cells):
            self._watch(cell, lambda value, index=index: self._edit_kernel(index, value))
        for name in ("padding", "stride", "step"):
            self._watch(self.controls[name], self._setter(name))
        self.render()  # sets the step slider's range; draws nothing until displayed

    def __repr__(self) -> str:
        return (f"ConvExplorer(filter={self.filter!r}, padding={self.padding}, "
                f"stride={self.stride}, step={self.step})")

    def _choose_filter(self, name: str) -> None:
        self.filter = name
        if name != CUSTOM:
            self.kernel = filters.get(name).astype(float)

    def _edit_kernel(self, index: int, value: float) -> None:
        kernel = self.kernel.copy()
        kernel.flat[index] = value
        self.kernel = kernel
        if self.filter != CUSTOM and not np.array_equal(kernel, filters.NAMED[self.filter]):
            self.filter = CUSTOM

    def _compute(self) -> dict:
        """The full output, and everything about the current element.

        Returns a dict with "output" ``(H', W')``, "shown" ``(H', W')`` (NaN after the current
        element), "position" ``(row, col)`` in the output, "window" ``(3, 3)`` (the padded input
        under the kernel), "expression" (the sum written out), "value", "output_shape"
        ``(H', W')``, "message" and "error" (True if nothing could be computed).
        """
        failed = dict(output=None, shown=None, position=None, window=None, expression="",
                      value=None, output_shape=None, error=True)
        if not np.all(np.isfinite(self.kernel)):
            return {**failed, "message": "every kernel entry must be a finite number"}
        try:
            output = ops.corr2d(self.image, self.kernel, self.padding, self.stride)
        except ValueError as error:
            return {**failed, "message": f"no output: {error}"}

        h, w = output.shape
        self.step = int(min(max(self.step, 0), h * w - 1))
        row, col = divmod(self.step, w)
        top, left = row * self.stride, col * self.stride
        window = ops.pad2d(self.image, self.padding)[top : top + 3, left : left + 3]

        shown = np.full(output.shape, np.nan)
        shown.flat[: self.step + 1] = output.flat[: self.step + 1]  # row by row, as the kernel moves
        value = output[row, col].item()
        terms = " + ".join(f"{_factor(x)}{TIMES}{_factor(k)}" for x, k in zip(window.flat, self.kernel.flat))
        expression = f"{terms} = {_number(value)}"
        return dict(output=output, shown=shown, position=(row, col), window=window,
                    expression=expression, value=value, output_shape=(h, w), error=False,
                    message=f"output[{row}, {col}] = {expression}")

    def _sync_controls(self, result: dict) -> None:
        c = self.controls
        c["filter"].value = self.filter
        for cell, value in zip(c["kernel"].children, self.kernel.flat):
            if np.isfinite(value):
                cell.value = float(value)
        c["padding"].value, c["stride"].value = self.padding, self.stride
        last = 0 if result["error"] else int(np.prod(result["output_shape"])) - 1
        c["step"].max = c["play"].max = last
        # Both, or the browser's link would copy Play's stale value onto the slider when shown.
        c["step"].value = c["play"].value = self.step
        c["step"].disabled = c["play"].disabled = result["error"]

    def _draw(self, fig: Figure, result: dict) -> None:
        if result["error"]:
            _draw_message(fig, result["message"])
            return
        padded = ops.pad2d(self.image, self.padding)
        (row, col), (h, w) = result["position"], result["output_shape"]
        ax_in, ax_k, ax_out = fig.subplots(1, 3, width_ratios=[padded.shape[1], 3, w])

        height, width = self.image.shape
        _matrix(ax_in, padded, f"input {height}{TIMES}{width}, padding {self.padding}")
        if self.padding:  # dashed frame: where the original image sits inside the zeros
            _outline(ax_in, self.padding, self.padding, *self.image.shape, edgecolor="0.3",
                     linestyle="--", linewidth=1.2)
        _outline(ax_in, row * self.stride, col * self.stride, 3, 3)

        _matrix(ax_k, self.kernel, f"kernel ({self.filter})")

        # Colours from the complete output, so a cell keeps its colour as the output fills in.
        _matrix(ax_out, result["shown"], f"output {h}{TIMES}{w}, stride {self.stride}",
                limits=_color_range(result["output"]))
        _outline(ax_out, row, col, 1, 1)

    def _layout_controls(self) -> widgets.Widget:
        c = self.controls
        settings = widgets.VBox([c["filter"], c["padding"], c["stride"]])
        kernel = widgets.VBox([widgets.Label("kernel (edit any entry)"), c["kernel"]])
        return widgets.VBox([widgets.HBox([settings, kernel]), widgets.HBox([c["play"], c["step"]])])


def conv_explorer(image=None, kernel="sobel_vertical", padding: int = 0, stride: int = 1) -> ConvExplorer:
    """A `ConvExplorer` on ``image`` (default: seed 000's 5×5 example with the vertical Sobel kernel).

    ``kernel`` is a name from `coursekit.filters.NAMED` or a 3×3 array.
    """
    return ConvExplorer(image, kernel, padding, stride)


# ----------------------------------------------------------------------------------------------
# Padding and stride: where does the window go, how big is the output?


class PaddingStrideExplorer(_Explorer):
    """An ``n×n`` input, padded by ``p``, scanned by an ``f×f`` window with stride ``s``.

    Shows every window position (a dot at each top-left corner, the first and last window
    outlined) and the output size ``⌊(n + 2p − f) / s⌋ + 1``. Input cells that no window ever
    covers are shaded red: that happens when ``(n + 2p − f)`` is not a multiple of ``s`` (the
    window does not tile the input exactly) or when ``s > f`` (gaps between windows).

    State: ``n``, ``f``, ``p``, ``s`` (ints). Controls: "n", "f", "p", "s" (IntSlider).
    """

    figsize = (5.0, 4.6)

    def __init__(self, n: int = 5, f: int = 3, p: int = 0, s: int = 1):
        super().__init__()
        self.n, self.f, self.p, self.s = n, f, p, s
        self.controls = {
            "n": _slider("input size n", n, 1, 12),
            "f": _slider("window size f", f, 1, 7),
            "p": _slider("padding p", p, 0, 3),
            "s": _slider("stride s", s, 1, 4),
        }
        for name in self.controls:
            self._watch(self.controls[name], self._setter(name))

    def __repr__(self) -> str:
        return f"PaddingStrideExplorer(n={self.n}, f={self.f}, p={self.p}, s={self.s})"

    def _compute(self) -> dict:
        """Returns a dict with "output_size" (int, None if the window does not fit), "exact",
        "message", "positions" (top-left corners ``(row, col)`` in the padded input, row by row),
        "ignored" (number of input pixels no window covers) and "error".
        """
        n, f, p, s = self.n, self.f, self.p, self.s
        padded = n + 2 * p
        formula = f"⌊(n + 2p {MINUS} f) / s⌋ + 1 = ⌊({n} + {2 * p} {MINUS} {f}) / {s}⌋ + 1"
        try:
            size = ops.output_size(n, f, p, s)
        except ValueError:
            message = (f"The {f}{TIMES}{f} window does not fit: the padded input is only "
                       f"{padded}{TIMES}{padded} (n + 2p = {padded} < f = {f}). "
                       f"Use a smaller window or more padding.")
            return dict(output_size=None, exact=False, message=message, positions=[], ignored=n * n,
                        covered=None, error=True)

        starts = [k * s for k in range(size)]
        positions = [(r, c) for r in starts for c in starts]
        covered = np.zeros(padded, dtype=bool)  # along one axis; the other is the same
        for start in starts:
            covered[start : start + f] = True
        seen = int(covered[p : p + n].sum())  # input rows (= columns) some window covers
        ignored = n * n - seen * seen
        exact = (padded - f) % s == 0

        message = f"output size {formula} = {size}, so the output is {size}{TIMES}{size}."
        if not exact:
            left = (padded - f) % s
            message += (f" The window does not tile the input exactly: (n + 2p {MINUS} f) mod s = {left}, "
                        f"so the last {left} row(s) and column(s) are never covered.")
        if s > f:
            message += " The stride is larger than the window: rows and columns between windows are skipped."
        if ignored:
            message += f" {ignored} of the {n * n} input pixels are ignored."
        return dict(output_size=size, exact=exact, message=message, positions=positions,
                    ignored=ignored, error=False, covered=covered)

    def _sync_controls(self, result: dict) -> None:
        for name in self.controls:
            self.controls[name].value = getattr(self, name)

    def _draw(self, fig: Figure, result: dict) -> None:
        n, f, p = self.n, self.f, self.p
        padded = n + 2 * p
        # Cell kinds: 0 padding, 1 input, 2 input that no window covers.
        kinds = np.zeros((padded, padded), dtype=int)
        kinds[p : p + n, p : p + n] = 1
        if not result["error"]:
            missed = ~result["covered"]
            kinds[np.ix_(missed, np.ones(padded, bool))] *= 2  # a whole missed row
            kinds[np.ix_(np.ones(padded, bool), missed)] *= 2  # a whole missed column
            kinds = np.minimum(kinds, 2)
        colors = matplotlib.colors.ListedColormap(["#e6e6e6", "#9ecae1", "#fb6a4a"])

        ax = fig.subplots()
        ax.imshow(kinds, cmap=colors, vmin=0, vmax=2)
        ax.set_xticks(np.arange(-0.5, padded), minor=True)
        ax.set_yticks(np.arange(-0.5, padded), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)

        if result["error"]:
            _outline(ax, 0, 0, f, f, edgecolor="#b00", linestyle="--")
            ax.set_xlim(-0.6, max(padded, f) - 0.4)
            ax.set_ylim(max(padded, f) - 0.4, -0.6)
            ax.set_title("the window does not fit", fontsize=10, color="#b00")
            return
        rows, cols = zip(*result["positions"])
        ax.plot(cols, rows, "k.", markersize=6)  # one dot per output element
        _outline(ax, *result["positions"][0], f, f, edgecolor="#1a7f37", linewidth=3)
        _outline(ax, *result["positions"][-1], f, f, edgecolor="#e36209", linestyle="--")
        size = result["output_size"]
        ax.set_title(f"padded input {padded}{TIMES}{padded} {ARROW} output {size}{TIMES}{size}\n"
                     f"(grey: padding, red: never covered)", fontsize=10)

    def _layout_controls(self) -> widgets.Widget:
        c = self.controls
        return widgets.HBox([widgets.VBox([c["n"], c["f"]]), widgets.VBox([c["p"], c["s"]])])


def padding_stride_explorer(n: int = 5, f: int = 3, p: int = 0, s: int = 1) -> PaddingStrideExplorer:
    """A `PaddingStrideExplorer` starting at input size ``n``, window ``f``, padding ``p``, stride ``s``."""
    return PaddingStrideExplorer(n, f, p, s)


# ----------------------------------------------------------------------------------------------
# Pooling


class PoolExplorer(_Explorer):
    """Max, average or sum pooling of a small matrix, each window outlined in its own colour.

    State: ``image`` ``(H, W)``, ``mode`` ("max" | "avg" | "sum"), ``size``, ``stride`` (ints).
    Controls: "mode" (ToggleButtons), "size" and "stride" (IntSlider).
    """

    figsize = (8.0, 3.8)

    def __init__(self, image=None, mode: str = "max", size: int = 2, stride: int = 2):
        super().__init__()
        self.image = _as_image(examples.POOL_DEMO_4X4 if image is None else image)
        self.mode, self.size, self.stride = mode, size, stride
        largest = max(5, max(self.image.shape))
        self.controls = {
            "mode": widgets.ToggleButtons(options=list(ops.POOL_MODES), value=mode, description="mode"),
            "size": _slider("window size", size, 1, largest),
            "stride": _slider("stride", stride, 1, largest),
        }
        for name in self.controls:
            self._watch(self.controls[name], self._setter(name))

    def __repr__(self) -> str:
        return f"PoolExplorer(mode={self.mode!r}, size={self.size}, stride={self.stride})"

    def _compute(self) -> dict:
        """Returns a dict with "output" ``(H', W')`` (None on error), "windows" (one
        ``(row_slice, col_slice)`` per output element, row by row: ``image[window]`` is the
        patch that element summarises), "output_shape", "message" and "error".
        """
        k, s = self.size, self.stride
        try:
            output = ops.pool2d(self.image, k, s, mode=self.mode)
        except ValueError as error:
            message = f"no output: {error}"
            if k > min(self.image.shape):
                message = (f"no output: the {k}{TIMES}{k} window is larger than the "
                           f"{self.image.shape[0]}{TIMES}{self.image.shape[1]} input")
            return dict(output=None, windows=[], output_shape=None, message=message, error=True)
        h, w = output.shape
        windows = [(slice(i * s, i * s + k), slice(j * s, j * s + k)) for i in range(h) for j in range(w)]
        message = (f"{self.mode} pooling, {k}{TIMES}{k} windows, stride {s}: "
                   f"{self.image.shape[0]}{TIMES}{self.image.shape[1]} {ARROW} {h}{TIMES}{w}")
        return dict(output=output, windows=windows, output_shape=(h, w), message=message, error=False)

    def _sync_controls(self, result: dict) -> None:
        for name in self.controls:
            self.controls[name].value = getattr(self, name)

    def _draw(self, fig: Figure, result: dict) -> None:
        if result["error"]:
            _draw_message(fig, result["message"])
            return
        h, w = result["output_shape"]
        ax_in, ax_out = fig.subplots(1, 2, width_ratios=[self.image.shape[1], max(w, 2)])
        limits = _color_range(self.image)  # same colours on both sides: a max keeps its colour
        _matrix(ax_in, self.image, "input")
        _matrix(ax_out, result["output"], f"{self.mode} pool, output {h}{TIMES}{w}",
                limits=None if self.mode == "sum" else limits)

        palette = matplotlib.colormaps["tab10"].colors
        overlap = self.stride < self.size
        for index, (rows, cols) in enumerate(result["windows"]):
            color = palette[index % len(palette)]
            # Overlapping windows would hide each other's outlines; shrink each a little more.
            inset = 0.04 + (0.05 * (index % 4) if overlap else 0.0)
            _outline(ax_in, rows.start, cols.start, self.size, self.size, inset=inset, edgecolor=color)
            _outline(ax_out, *divmod(index, w), 1, 1, inset=0.04, edgecolor=color)

    def _layout_controls(self) -> widgets.Widget:
        c = self.controls
        return widgets.VBox([c["mode"], widgets.HBox([c["size"], c["stride"]])])


def pool_explorer(image=None, mode: str = "max", size: int = 2, stride: int = 2) -> PoolExplorer:
    """A `PoolExplorer` on ``image`` (default: seed 000's 4×4 pooling example, 2×2 max pooling)."""
    return PoolExplorer(image, mode, size, stride)
