"""Interactive explorers for Part I: a convolution step by step, padding and stride, pooling.

Each explorer is a small object with

* its **state** in plain attributes (``ex.padding``, ``ex.stride``, ``ex.kernel``, ...);
* its **ipywidgets** in a dict ``ex.controls`` keyed by plain names, so a notebook (or a test) can
  move a slider from code: ``ex.controls["stride"].value = 2``;
* ``ex.render()``, which recomputes everything from the state and returns the numbers it shows
  as a dict (arrays, sizes, messages) -- a notebook can assert on them in the next cell;
* ``ex.ui``: the controls, a message line and the figure, in one ``VBox``. Writing the explorer as
  the last expression of a cell displays ``ex.ui``.

**State and controls always agree.** Every state attribute has exactly the range its control
offers (listed in each explorer's docstring: padding 0..3, stride 1..3, ...). A value outside it --
given to the constructor or assigned later (``ex.padding = 10``) -- raises ValueError naming the
attribute, the value and the allowed range, and changes nothing; an unknown filter or pooling mode
raises `coursekit.errors.UnknownName`; an image that is not a 2-D array of finite numbers raises
ValueError. Nothing is clamped silently. A valid assignment moves the control to match and
re-renders, and moving a control assigns the attribute, so the two never disagree. The one
adjustment the explorer makes itself: when a new padding, stride or image shrinks the output, the
convolution explorer's current ``step`` is pulled back to the last output element.

Values in range that have no output -- a window larger than the padded input, a kernel entry that
is not a finite number -- are not errors: they end up as a message in the UI and in
``render()["message"]`` (with ``render()["error"]`` True). Neither ``ui`` nor an observer lets an
exception escape: a failure while drawing becomes a message too.

The figure is a ``matplotlib.figure.Figure`` owned by the explorer -- not a pyplot figure -- so
redrawing never leaves figures behind and the inline backend never shows a stray copy below the
cell. Each redraw rasterises it to PNG and *replaces* the content of an ``ipywidgets.Output``
(the same effect as ``clear_output(wait=True)`` followed by ``display``, in one message, and
without needing a kernel). Nothing is drawn until ``ui`` is first used, so creating an explorer
is cheap and works without a notebook (in pytest, say). The matrices are drawn by
`coursekit.viz.show_matrix`.
"""

from __future__ import annotations

import base64
import html
import io
from contextlib import contextmanager
from numbers import Integral

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from coursekit import examples, filters, ops
from coursekit.errors import UnknownName
from coursekit.viz import MINUS, color_limits, format_number, show_matrix

__all__ = [
    "conv_explorer",
    "padding_stride_explorer",
    "pool_explorer",
    "ConvExplorer",
    "PaddingStrideExplorer",
    "PoolExplorer",
]

CUSTOM = "(custom)"  # the filter dropdown's entry for a kernel edited by hand
ARROW = "\u2192"
TIMES = "\u00d7"
MAX_NUMBERED_CELLS = 196  # write the value into each cell only up to 14x14 cells (else: colours only)
#: The named kernels the convolution explorer offers (it edits 3x3 kernels).
FILTERS = tuple(name for name, kernel in filters.NAMED.items() if kernel.shape == (3, 3))


# ----------------------------------------------------------------------------------------------
# Formatting and drawing helpers


def _factor(value) -> str:
    """`format_number` in parentheses when negative, for use in a product: "5×(−1)"."""
    text = format_number(value)
    return f"({text})" if text.startswith(MINUS) else text


def _limits(values) -> tuple[float, float]:
    """Colour range of an explorer's matrix: centred on 0 if it has negative values, else [min, max]."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return color_limits(values, centred=bool(finite.size) and bool(finite.min() < 0))


def _panel(ax, values, title: str = "", limits: tuple[float, float] | None = None) -> None:
    """One matrix of an explorer, drawn by `show_matrix`: a signed matrix on the colour scale
    centred on 0 (blue negative, red positive), a non-negative one in shades of blue from its
    minimum to its maximum (`_limits`). ``limits`` fixes the colour range, so that two panels (or
    successive frames) use the same colours. ``values`` has shape ``(h, w)``; NaN cells stay blank.
    """
    limits = _limits(values) if limits is None else limits
    h, w = np.shape(values)
    numbered = h * w <= MAX_NUMBERED_CELLS
    show_matrix(
        values,
        ax=ax,
        title=title,
        limits=limits,
        cmap="RdBu_r" if limits[0] < 0 else "Blues",
        annotate="all" if numbered else False,
        fontsize=10 if max(h, w) <= 7 else 8,
    )


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
    return widgets.IntSlider(
        value=value,
        min=low,
        max=high,
        description=description,
        continuous_update=False,
        style={"description_width": "initial"},
    )


def _as_image(image, name: str = "image") -> np.ndarray:
    """Check an explorer's input matrix: a non-empty 2-D array of finite real numbers, shape ``(H, W)``.

    Returns a copy (later changes to the caller's array do not reach the explorer), dtype kept.
    """
    array = np.array(image)
    real = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    if array.ndim != 2 or array.size == 0 or not real:
        raise ValueError(
            f"{name} must be a non-empty 2-D array of real numbers (H, W); got shape {array.shape}, dtype {array.dtype}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers; it has NaN or infinite entries")
    return array


def _check_int(name: str, value, low: int, high: int) -> int:
    """`value` if it is an integer in ``low..high`` (the range of its slider), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high} (the range of its slider), got {value!r}")
    return int(value)


def _int_state(name: str, doc: str) -> property:
    """A state attribute holding an int in ``self._range(name)``, checked on every assignment."""

    def get(self):
        return self._state[name]

    def set(self, value):
        self._set(**{name: _check_int(name, value, *self._range(name))})

    return property(get, set, doc=doc)


# ----------------------------------------------------------------------------------------------
# What the three explorers share


class _Explorer:
    """Controls + a message line + one figure, redrawn whenever a control changes.

    A subclass sets its state (through the checked attributes), fills ``self.controls``, calls
    ``self._ready()``, and implements ``_compute()`` (state -> result dict),
    ``_sync_controls(result)`` (state -> widgets), ``_draw(fig, result)`` and
    ``_layout_controls()``. ``RANGES`` (or ``_range``) gives each int attribute's allowed range,
    which is also its slider's. It hooks its widgets up with ``_watch``.
    """

    figsize: tuple[float, float] = (9.0, 3.5)
    RANGES: dict[str, tuple[int, int]] = {}

    def __init__(self):
        self._state: dict = {}
        self._built = False  # controls exist: assignments re-render and move them
        self.controls: dict[str, widgets.Widget] = {}
        # Fixed margins rather than a layout engine: a redraw costs a third less.
        self._figure = Figure(figsize=self.figsize)
        self._figure.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.88, wspace=0.12)
        self._status = widgets.HTML()
        self._output = widgets.Output()
        self._ui: widgets.VBox | None = None
        self._quiet = False

    def _range(self, name: str) -> tuple[int, int]:
        """(lowest, highest) value of int attribute `name`: the range its slider offers."""
        return self.RANGES[name]

    def _int_slider(self, name: str, description: str) -> widgets.IntSlider:
        return _slider(description, self._state[name], *self._range(name))

    def _set(self, **values) -> None:
        """Store checked state values; once the controls exist, re-render (which moves them)."""
        self._state.update(values)
        if self._built:
            self.render()

    def _ready(self) -> None:
        """Called at the end of a subclass's ``__init__``: from now on the state drives the controls."""
        self._built = True
        self.render()  # sets the controls' ranges and values; draws nothing until displayed

    # -- display -------------------------------------------------------------------------------

    @property
    def ui(self) -> widgets.VBox:
        """The widget to display: controls, message line, figure. Built (and drawn) on first use."""
        if self._ui is None:
            self._ui = widgets.VBox([self._layout_controls(), self._status, self._output])
            try:
                self.render()
            except Exception as error:  # noqa: BLE001 -- shown to the user instead of raised
                self._status.value = _error_html(f"{type(error).__name__}: {error}")
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
        try:
            self._draw(self._figure, result)
        except Exception as error:  # noqa: BLE001 -- a picture that fails says so instead of raising
            self._figure.clear()
            result = {**result, "error": True, "message": f"could not draw: {type(error).__name__}: {error}"}
            _draw_message(self._figure, result["message"])
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
        """When ``widget``'s value changes, call ``update(new_value)`` (which stores it in the state
        and re-renders).

        Any exception is turned into a message in the UI: an exception escaping an observer would
        only end up in the browser's log, leaving the student with a frozen picture. The controls
        are then moved back to the state, so that they still agree with it.
        """

        def on_change(change):
            if self._quiet:
                return
            try:
                update(change["new"])
            except Exception as error:  # noqa: BLE001 -- shown to the user instead of raised
                self._status.value = _error_html(f"{type(error).__name__}: {error}")
                try:
                    with self._quietly():
                        self._sync_controls(self._compute())
                except Exception:  # noqa: BLE001 -- the message above already says what is wrong
                    pass

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

    State (each assignment is checked; see the module docstring):
        image: the input, a 2-D array of finite numbers ``(H, W)``.
        kernel: float array of shape ``(3, 3)``; a non-finite entry is shown as a message.
        filter: a name in `FILTERS` (the 3×3 kernels of `coursekit.filters.NAMED`), or ``CUSTOM``
            once edited. Choosing a name sets the kernel; a kernel that is not the named one turns
            the filter to ``CUSTOM``.
        padding: int in 0..3; stride: int in 1..3.
        step: index of the current output element, counted row by row from 0
            (element ``(step // W', step % W')`` of the ``(H', W')`` output), in 0..H'W' − 1
            (0 when there is no output).

    Controls: "filter" (Dropdown), "kernel" (GridBox of nine FloatText, row by row:
    ``controls["kernel"].children[3 * row + col]``), "padding" and "stride" (IntSlider),
    "step" (IntSlider) and "play" (Play, linked to "step" in the browser).
    """

    figsize = (10.0, 3.6)
    RANGES = {"padding": (0, 3), "stride": (1, 3)}

    padding = _int_state("padding", "Zeros added on every side of the image, 0..3.")
    stride = _int_state("stride", "Step of the kernel between output elements, 1..3.")
    step = _int_state("step", "Index of the current output element, row by row.")

    def __init__(self, image=None, kernel="sobel_vertical", padding: int = 0, stride: int = 1):
        super().__init__()
        self.image = examples.SOBEL_DEMO_IMAGE if image is None else image
        if isinstance(kernel, str):
            self.filter = kernel  # sets the kernel too
        else:
            self.kernel = kernel
            self._state["filter"] = next(
                (name for name in FILTERS if np.array_equal(filters.NAMED[name], self.kernel)), CUSTOM
            )
        self.padding, self.stride = padding, stride
        self._state["step"] = 0

        cells = [
            widgets.FloatText(value=float(v), step=1, layout=widgets.Layout(width="64px")) for v in self.kernel.flat
        ]
        self.controls = {
            "filter": widgets.Dropdown(options=[*FILTERS, CUSTOM], value=self.filter, description="filter"),
            "kernel": widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="repeat(3, 68px)")),
            "padding": self._int_slider("padding", "padding p"),
            "stride": self._int_slider("stride", "stride s"),
            "step": _slider("step", 0, 0, 0),
            "play": widgets.Play(value=0, min=0, max=0, interval=900, description="play"),
        }
        # The slider updates the Play button's position in the browser, and vice versa.
        widgets.jslink((self.controls["play"], "value"), (self.controls["step"], "value"))

        self._watch(self.controls["filter"], self._setter("filter"))
        for index, cell in enumerate(cells):
            self._watch(cell, lambda value, index=index: self._edit_kernel(index, value))
        for name in ("padding", "stride", "step"):
            self._watch(self.controls[name], self._setter(name))
        self._ready()

    def __repr__(self) -> str:
        return f"ConvExplorer(filter={self.filter!r}, padding={self.padding}, stride={self.stride}, step={self.step})"

    # -- checked state ---------------------------------------------------------------------------

    @property
    def image(self) -> np.ndarray:
        """The input, ``(H, W)``."""
        return self._state["image"]

    @image.setter
    def image(self, value) -> None:
        self._set(image=_as_image(value))

    @property
    def kernel(self) -> np.ndarray:
        """The 3×3 kernel (float)."""
        return self._state["kernel"]

    @kernel.setter
    def kernel(self, value) -> None:
        try:
            kernel = np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"kernel must be a 3×3 array of numbers, got {value!r}") from None
        if kernel.shape != (3, 3):
            raise ValueError(f"the explorer edits 3×3 kernels; got kernel of shape {kernel.shape}")
        name = self._state.get("filter", CUSTOM)
        if name != CUSTOM and not np.array_equal(kernel, filters.NAMED[name]):
            name = CUSTOM
        self._set(kernel=kernel, filter=name)

    @property
    def filter(self) -> str:
        """Name of the kernel (a key of `FILTERS`), or ``CUSTOM``."""
        return self._state["filter"]

    @filter.setter
    def filter(self, name) -> None:
        if not isinstance(name, str) or (name not in FILTERS and name != CUSTOM):
            raise UnknownName("filter", name, [*FILTERS, CUSTOM])
        if name == CUSTOM:
            self._set(filter=name)
        else:
            self._set(filter=name, kernel=filters.get(name).astype(float))

    def _range(self, name: str) -> tuple[int, int]:
        if name != "step":
            return super()._range(name)
        return 0, max(self._output_elements() - 1, 0)

    def _output_elements(self) -> int:
        """H' × W' of the current output (0 if there is none: the kernel does not fit or is not finite)."""
        if not np.all(np.isfinite(self.kernel)):
            return 0
        try:
            h, w = (ops.output_size(n, 3, self.padding, self.stride) for n in self.image.shape)
        except ValueError:
            return 0
        return h * w

    def _edit_kernel(self, index: int, value: float) -> None:
        kernel = self.kernel.copy()
        kernel.flat[index] = value
        self.kernel = kernel

    # -- state -> numbers ------------------------------------------------------------------------

    def _compute(self) -> dict:
        """The full output, and everything about the current element.

        Returns a dict with "output" ``(H', W')``, "shown" ``(H', W')`` (NaN after the current
        element), "position" ``(row, col)`` in the output, "window" ``(3, 3)`` (the padded input
        under the kernel), "expression" (the sum written out), "value", "output_shape"
        ``(H', W')``, "message" and "error" (True if nothing could be computed).
        """
        failed = dict(
            output=None,
            shown=None,
            position=None,
            window=None,
            expression="",
            value=None,
            output_shape=None,
            error=True,
        )
        if not np.all(np.isfinite(self.kernel)):
            self._state["step"] = 0
            return {**failed, "message": "every kernel entry must be a finite number"}
        try:
            output = ops.corr2d(self.image, self.kernel, self.padding, self.stride)
        except ValueError as error:
            self._state["step"] = 0
            return {**failed, "message": f"no output: {error}"}

        h, w = output.shape
        # A smaller output (new padding, stride or image) pulls the step back to its last element.
        self._state["step"] = step = min(self.step, h * w - 1)
        row, col = divmod(step, w)
        top, left = row * self.stride, col * self.stride
        window = ops.pad2d(self.image, self.padding)[top : top + 3, left : left + 3]

        shown = np.full(output.shape, np.nan)
        shown.flat[: step + 1] = output.flat[: step + 1]  # row by row, as the kernel moves
        value = output[row, col].item()
        terms = " + ".join(
            f"{_factor(x)}{TIMES}{_factor(k)}" for x, k in zip(window.flat, self.kernel.flat, strict=True)
        )
        expression = f"{terms} = {format_number(value)}"
        return dict(
            output=output,
            shown=shown,
            position=(row, col),
            window=window,
            expression=expression,
            value=value,
            output_shape=(h, w),
            error=False,
            message=f"output[{row}, {col}] = {expression}",
        )

    def _sync_controls(self, result: dict) -> None:
        c = self.controls
        c["filter"].value = self.filter
        for cell, value in zip(c["kernel"].children, self.kernel.flat, strict=True):
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
        _panel(ax_in, padded, f"input {height}{TIMES}{width}, padding {self.padding}")
        if self.padding:  # dashed frame: where the original image sits inside the zeros
            _outline(
                ax_in, self.padding, self.padding, *self.image.shape, edgecolor="0.3", linestyle="--", linewidth=1.2
            )
        _outline(ax_in, row * self.stride, col * self.stride, 3, 3)

        _panel(ax_k, self.kernel, f"kernel ({self.filter})")

        # Colours from the complete output, so a cell keeps its colour as the output fills in.
        _panel(ax_out, result["shown"], f"output {h}{TIMES}{w}, stride {self.stride}", limits=_limits(result["output"]))
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

    State: ``n`` in 1..12, ``f`` in 1..7, ``p`` in 0..3, ``s`` in 1..4 (ints; each assignment is
    checked, see the module docstring). Controls: "n", "f", "p", "s" (IntSlider, same ranges).
    """

    figsize = (5.0, 4.6)
    RANGES = {"n": (1, 12), "f": (1, 7), "p": (0, 3), "s": (1, 4)}

    n = _int_state("n", "Input size (the input is n×n), 1..12.")
    f = _int_state("f", "Window size (f×f), 1..7.")
    p = _int_state("p", "Padding on every side, 0..3.")
    s = _int_state("s", "Stride, 1..4.")

    def __init__(self, n: int = 5, f: int = 3, p: int = 0, s: int = 1):
        super().__init__()
        self.n, self.f, self.p, self.s = n, f, p, s
        self.controls = {
            "n": self._int_slider("n", "input size n"),
            "f": self._int_slider("f", "window size f"),
            "p": self._int_slider("p", "padding p"),
            "s": self._int_slider("s", "stride s"),
        }
        for name in self.controls:
            self._watch(self.controls[name], self._setter(name))
        self._ready()

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
            message = (
                f"The {f}{TIMES}{f} window does not fit: the padded input is only "
                f"{padded}{TIMES}{padded} (n + 2p = {padded} < f = {f}). "
                f"Use a smaller window or more padding."
            )
            return dict(
                output_size=None, exact=False, message=message, positions=[], ignored=n * n, covered=None, error=True
            )

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
            message += (
                f" The window does not tile the input exactly: (n + 2p {MINUS} f) mod s = {left}, "
                f"so the last {left} row(s) and column(s) are never covered."
            )
        if s > f:
            message += " The stride is larger than the window: rows and columns between windows are skipped."
        if ignored:
            message += f" {ignored} of the {n * n} input pixels are ignored."
        return dict(
            output_size=size,
            exact=exact,
            message=message,
            positions=positions,
            ignored=ignored,
            error=False,
            covered=covered,
        )

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
        rows, cols = zip(*result["positions"], strict=True)
        ax.plot(cols, rows, "k.", markersize=6)  # one dot per output element
        _outline(ax, *result["positions"][0], f, f, edgecolor="#1a7f37", linewidth=3)
        _outline(ax, *result["positions"][-1], f, f, edgecolor="#e36209", linestyle="--")
        size = result["output_size"]
        ax.set_title(
            f"padded input {padded}{TIMES}{padded} {ARROW} output {size}{TIMES}{size}\n"
            f"(grey: padding, red: never covered)",
            fontsize=10,
        )

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

    State (each assignment is checked, see the module docstring): ``image``, a 2-D array of finite
    numbers ``(H, W)``; ``mode`` ("max" | "avg" | "sum"); ``size`` and ``stride``, ints in
    1..max(5, H, W) (a window larger than the image is allowed: it shows why there is no output).
    Controls: "mode" (ToggleButtons), "size" and "stride" (IntSlider, same ranges).
    """

    figsize = (8.0, 3.8)

    size = _int_state("size", "Window size (size×size), 1..max(5, H, W).")
    stride = _int_state("stride", "Step between windows, 1..max(5, H, W).")

    def __init__(self, image=None, mode: str = "max", size: int = 2, stride: int = 2):
        super().__init__()
        self.image = examples.POOL_DEMO_4X4 if image is None else image
        self.mode, self.size, self.stride = mode, size, stride
        self.controls = {
            "mode": widgets.ToggleButtons(options=list(ops.POOL_MODES), value=mode, description="mode"),
            "size": self._int_slider("size", "window size"),
            "stride": self._int_slider("stride", "stride"),
        }
        for name in self.controls:
            self._watch(self.controls[name], self._setter(name))
        self._ready()

    @staticmethod
    def _largest(image: np.ndarray) -> int:
        return max(5, *image.shape)

    def _range(self, name: str) -> tuple[int, int]:
        return 1, self._largest(self.image)

    @property
    def image(self) -> np.ndarray:
        """The input, ``(H, W)``. A new image must leave ``size`` and ``stride`` in its range."""
        return self._state["image"]

    @image.setter
    def image(self, value) -> None:
        image = _as_image(value)
        largest = self._largest(image)
        for name in ("size", "stride"):
            if self._state.get(name, 1) > largest:
                raise ValueError(
                    f"{name} {self._state[name]} is outside 1..{largest}, the range for a "
                    f"{image.shape[0]}{TIMES}{image.shape[1]} image; make {name} smaller first"
                )
        self._set(image=image)

    @property
    def mode(self) -> str:
        """How a window is summarised: "max", "avg" or "sum"."""
        return self._state["mode"]

    @mode.setter
    def mode(self, value) -> None:
        if not isinstance(value, str) or value not in ops.POOL_MODES:
            raise UnknownName("pooling mode", value, ops.POOL_MODES)
        self._set(mode=value)

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
                message = (
                    f"no output: the {k}{TIMES}{k} window is larger than the "
                    f"{self.image.shape[0]}{TIMES}{self.image.shape[1]} input"
                )
            return dict(output=None, windows=[], output_shape=None, message=message, error=True)
        h, w = output.shape
        windows = [(slice(i * s, i * s + k), slice(j * s, j * s + k)) for i in range(h) for j in range(w)]
        message = (
            f"{self.mode} pooling, {k}{TIMES}{k} windows, stride {s}: "
            f"{self.image.shape[0]}{TIMES}{self.image.shape[1]} {ARROW} {h}{TIMES}{w}"
        )
        return dict(output=output, windows=windows, output_shape=(h, w), message=message, error=False)

    def _sync_controls(self, result: dict) -> None:
        c = self.controls
        c["mode"].value = self.mode
        for name in ("size", "stride"):
            c[name].max = self._range(name)[1]  # first: the value is always within the new range
            c[name].value = getattr(self, name)

    def _draw(self, fig: Figure, result: dict) -> None:
        if result["error"]:
            _draw_message(fig, result["message"])
            return
        h, w = result["output_shape"]
        ax_in, ax_out = fig.subplots(1, 2, width_ratios=[self.image.shape[1], max(w, 2)])
        limits = _limits(self.image)  # same colours on both sides: a max keeps its colour
        _panel(ax_in, self.image, "input")
        _panel(
            ax_out,
            result["output"],
            f"{self.mode} pool, output {h}{TIMES}{w}",
            limits=None if self.mode == "sum" else limits,
        )

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
