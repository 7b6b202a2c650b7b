"""Pictures: matrices with their numbers, confusion matrices, image grids, training curves.

- `show_matrix(values)`: a small 2-D array as coloured cells with each value written in its cell,
  on a colour scale centred on 0 (blue negative, white 0, red positive) -- kernels, feature maps,
  convolution outputs;
- `show_confusion(matrix)`: which class was predicted for which (rows true, columns predicted);
- `show_images(images)`: a grid of images with captions;
- `draw_boxes(image, boxes)`: detection boxes on an image, captioned with class and score;
- `plot_history(history)` and `LiveCurves`: loss and accuracy per epoch, the latter redrawn in
  place while a model trains.

Every function draws into a new Matplotlib figure and returns it (or, given ``ax=``, draws there
and returns ``ax.figure``); a notebook cell ends with ``plt.show()`` so the figure is shown once
(and nbval compares its ``<Figure size …>`` line). Bad arguments raise ValueError (or TypeError for
a wrong type) naming the argument; an unknown colour map raises `coursekit.errors.UnknownName`.
"""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.patches import Rectangle

from .callbacks import in_notebook  # noqa: F401 -- its home is callbacks (train needs it without matplotlib)
from .errors import UnknownName

MINUS = "\u2212"  # typographic minus sign, as on the slides
MAX_ANNOTATED = 12  # show_matrix writes the numbers into matrices up to 12 x 12 unless forced


# ----------------------------------------------------------------------------------------------
# Matrices


def format_number(value) -> str:
    """A number as a student writes it: ``-1`` -> "−1", ``2.0`` -> "2", ``0.1111`` -> "0.111".

    Integers without decimals, anything else with 3 significant digits; a typographic minus sign.
    """
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.3g}"
    return text.replace("-", MINUS)


def _as_matrix(values, name: str = "values") -> np.ndarray:
    """A 2-D array/tensor/nested list of real numbers (H, W) -> float64 array; ValueError otherwise."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values)
    except ValueError as error:  # a ragged list
        raise ValueError(f"{name} must be a 2-D array of numbers (H, W); got a ragged sequence ({error})") from None
    if array.dtype == bool:
        array = array.astype(float)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{name} must hold real numbers; got dtype {array.dtype}")
    if array.ndim != 2:
        hint = " (a vector? draw it as one row: values[None])" if array.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (H, W); got shape {array.shape}{hint}")
    if array.size == 0:
        raise ValueError(f"{name} must have at least one cell; got shape {array.shape}")
    return array.astype(float)


def color_limits(values, centred: bool = True) -> tuple[float, float]:
    """(vmin, vmax) for the finite entries of `values`.

    centred: ``(-m, m)`` with ``m = max |v|``, so 0 is the middle colour of a diverging map;
    otherwise ``(min, max)``. Never an empty range: all zeros give (-1, 1), a constant c gives
    (c - 0.5, c + 0.5); no finite entry at all gives (-1, 1) or (0, 1).
    """
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    if centred:
        bound = float(np.abs(finite).max()) if finite.size else 0.0
        return (-bound, bound) if bound > 0 else (-1.0, 1.0)
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def _colormap(cmap) -> Colormap:
    """A Colormap from a name (NaN cells white) or a Colormap (used as it is)."""
    if isinstance(cmap, Colormap):
        return cmap
    if not isinstance(cmap, str) or cmap not in matplotlib.colormaps:
        raise UnknownName("colour map", cmap, matplotlib.colormaps)
    return matplotlib.colormaps[cmap].with_extremes(bad="white")


def _formatter(fmt):
    """value -> text: `format_number` (None), a format spec such as ".2f" or "{:.1%}", or a callable."""
    if fmt is None:
        return format_number
    if callable(fmt):
        return fmt
    if not isinstance(fmt, str):
        raise ValueError(f"fmt must be None, a format string such as '.2f' or '{{:.2f}}', or a function; got {fmt!r}")
    template = fmt if "{" in fmt else "{:" + fmt + "}"
    try:
        template.format(-1.5)
    except (ValueError, IndexError, KeyError) as error:
        raise ValueError(f"fmt {fmt!r} cannot format a number ({error}); use e.g. '.2f' or '{{:.2f}}'") from None
    return lambda value: template.format(value).replace("-", MINUS)


def _text_color(rgba) -> str:
    """Black on light cells, white on dark ones (by the cell colour's luminance)."""
    r, g, b = rgba[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def _check_ax(ax) -> None:
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. from plt.subplots()), got {type(ax).__name__}")


def _new_axes(rows: int, cols: int, title: str, cell: float = 0.6, longest: float = 5.0, margin: float = 0.3) -> Axes:
    """A new pyplot figure sized to a rows x cols matrix: cells of `cell` inches, at most `longest`
    inches along the longer side, so a 3x3 kernel and a 28x28 digit both look right; `margin`
    inches around it for labels (plus room for the title)."""
    size = min(cell, longest / max(rows, cols))
    width = round(max(cols * size, 1.0) + margin + 0.1, 1)
    height = round(max(rows * size, 0.5) + margin + (0.3 if title else 0.0), 1)
    _, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return ax


def _fontsize(rows: int, cols: int) -> float:
    longest = max(rows, cols)
    return 10 if longest <= 5 else 9 if longest <= 8 else 8 if longest <= 12 else 6


def _cell_borders(ax, rows: int, cols: int, color: str = "0.6") -> None:
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color=color, linewidth=0.8)


def show_matrix(values, ax=None, title: str = "", annotate=True, fmt=None, limits=None, cmap="RdBu_r", fontsize=None):
    """A 2-D array as a grid of coloured cells, each value written in its cell. Returns the Figure.

    values: (H, W) array, tensor or nested list of numbers; NaN cells stay blank (white).
    ax: draw into this Axes (returns ``ax.figure``); default: a new figure sized to the matrix.
    annotate: True writes the numbers when the matrix is at most `MAX_ANNOTATED` (12) cells on each
        side, "all" writes them whatever the size, False never.
    fmt: how a number is written: None (integers without decimals, else 3 significant digits, see
        `format_number`), a format spec (".2f", "{:.1%}") or a function value -> str.
    limits: (vmin, vmax) of the colour scale; default ``(-m, m)`` with ``m = max |value|``, so 0 is
        the middle (white) colour of "RdBu_r". Pass the same limits to compare several panels.
    cmap: a Matplotlib colour map name or Colormap. fontsize: of the numbers (default by size).

    Cell borders are drawn up to 16 cells on a side; tick labels are hidden.
    """
    array = _as_matrix(values)
    _check_ax(ax)
    if annotate not in (True, False, "all"):
        raise ValueError(f"annotate must be True, False or 'all', got {annotate!r}")
    write = _formatter(fmt)
    if limits is None:
        vmin, vmax = color_limits(array, centred=True)
    else:
        try:
            vmin, vmax = (float(v) for v in limits)
        except (TypeError, ValueError):
            raise ValueError(f"limits must be a pair (vmin, vmax) of numbers, got {limits!r}") from None
        if not (np.isfinite(vmin) and np.isfinite(vmax) and vmin < vmax):
            raise ValueError(f"limits must be finite with vmin < vmax, got {limits!r}")
    colormap = _colormap(cmap)
    if fontsize is not None and (
        isinstance(fontsize, bool) or not isinstance(fontsize, (int, float)) or not 0 < fontsize < 100
    ):
        raise ValueError(f"fontsize must be a number of points between 0 and 100, got {fontsize!r}")

    rows, cols = array.shape
    if ax is None:
        ax = _new_axes(rows, cols, title)
    image = ax.imshow(array, cmap=colormap, vmin=vmin, vmax=vmax)
    if max(rows, cols) <= 16:
        _cell_borders(ax, rows, cols)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    if title:
        ax.set_title(title, fontsize=10)

    if annotate == "all" or (annotate and max(rows, cols) <= MAX_ANNOTATED):
        size = fontsize or _fontsize(rows, cols)
        colours = image.to_rgba(array)
        for (i, j), value in np.ndenumerate(array):
            if np.isfinite(value):
                ax.text(j, i, write(value), ha="center", va="center", fontsize=size, color=_text_color(colours[i, j]))
    return ax.figure


def _as_counts(matrix) -> np.ndarray:
    """A square matrix of non-negative integer counts (K, K) -> int64 array; ValueError otherwise."""
    array = _as_matrix(matrix, "matrix")
    rows, cols = array.shape
    if rows != cols:
        raise ValueError(f"matrix must be square (K, K), rows true class, columns predicted; got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array != np.round(array)):
        raise ValueError(
            "matrix must hold counts (non-negative integers); got values such as "
            f"{array[~np.isfinite(array) | (array < 0) | (array != np.round(array))][0]!r}"
        )
    return array.astype(np.int64)


def show_confusion(matrix, class_names=None, ax=None, title: str = "Confusion matrix"):
    """A confusion matrix: rows the true class, columns the predicted one. Returns the Figure.

    matrix: (K, K) counts (array or tensor), e.g. from `coursekit.metrics.confusion_matrix`;
    class_names: K labels for the ticks (default 0 .. K-1). Off the diagonal the colour shows the
    mistakes (white: none, dark red: the most frequent confusion) and every non-zero count is
    written in its cell; the diagonal -- the correct predictions -- is emphasised: pale blue cells
    with the count in bold blue. Numbers are written up to K = 20.
    """
    counts = _as_counts(matrix)
    _check_ax(ax)
    k = counts.shape[0]
    if class_names is None:
        names = [str(i) for i in range(k)]
    else:
        names = [str(name) for name in class_names]
        if len(names) != k:
            raise ValueError(f"class_names has {len(names)} names for a {k}x{k} matrix; give one per class")

    mistakes = counts.astype(float)
    np.fill_diagonal(mistakes, np.nan)  # drawn in the colour map's "bad" colour: the diagonal
    worst = np.nanmax(mistakes) if k > 1 else 0.0
    reds = matplotlib.colormaps["Reds"].with_extremes(bad="#dbe9f6")
    if ax is None:
        ax = _new_axes(k, k, title, cell=0.7, longest=6.0, margin=1.2)
    show_matrix(mistakes, ax=ax, title=title, annotate=False, limits=(0, max(worst, 1.0)), cmap=reds)

    ticks = np.arange(k)
    slanted = max(len(n) for n in names) * k > 30  # long names side by side would overlap
    ax.set_xticks(ticks, names, rotation=45 if slanted else 0, ha="right" if slanted else "center")
    ax.set_yticks(ticks, names)
    ax.tick_params(which="major", labelbottom=True, labelleft=True, length=0)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 20:
        size = 9 if k <= 10 else 7 if k <= 15 else 6
        colours = ax.images[-1].to_rgba(mistakes)
        for (i, j), count in np.ndenumerate(counts):
            if i == j:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=size, color="tab:blue", fontweight="bold")
            elif count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=size, color=_text_color(colours[i, j]))
    for i in range(k):
        ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="tab:blue", linewidth=1.2))
    return ax.figure


# ----------------------------------------------------------------------------------------------
# Images and training curves


def _as_numpy_images(images) -> np.ndarray:
    """(N, H, W), (N, 1, H, W) or (N, 3, H, W) tensor/array -> (N, H, W) or (N, H, W, 3) array."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    images = np.asarray(images)
    if images.ndim == 4:
        if images.shape[1] == 1:
            images = images[:, 0]
        elif images.shape[1] == 3:
            images = images.transpose(0, 2, 3, 1)
        else:
            raise ValueError(f"images must have 1 or 3 channels, got shape {images.shape}")
    elif images.ndim != 3:
        raise ValueError(f"images must be (N, H, W) or (N, C, H, W), got shape {images.shape}")
    return images


def show_images(
    images,
    labels=None,
    ncols: int = 8,
    class_names=None,
    title: str | None = None,
    size: float = 1.3,
    cmap: str = "gray",
):
    """A grid of images with optional captions.

    images: (N, H, W) or (N, C, H, W) with C in {1, 3}, any range (each image is scaled for display
    unless it is uint8); labels: N ints or strings (ints are looked up in `class_names` if given).
    Returns the Figure.
    """
    images = _as_numpy_images(images)
    n = len(images)
    if n == 0:
        raise ValueError(f"images is empty (shape {images.shape}); give at least one image")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be an integer >= 1, got {ncols!r}")
    if labels is not None:
        labels = list(labels)
        if len(labels) != n:
            raise ValueError(f"labels has {len(labels)} entries for {n} images; give one per image")
        if class_names is not None:
            bad = [
                lab
                for lab in labels
                if isinstance(lab, (int, np.integer, torch.Tensor)) and not 0 <= int(lab) < len(class_names)
            ]
            if bad:
                raise ValueError(
                    f"label {int(bad[0])} has no entry in class_names "
                    f"({len(class_names)} names, indices 0..{len(class_names) - 1})"
                )
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = images[i]
        if img.dtype != np.uint8 and img.ndim == 3:  # colour floats: rescale to [0, 1] for imshow
            lo, hi = img.min(), img.max()
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None)
        if labels is not None:
            label = labels[i]
            label = label.item() if isinstance(label, torch.Tensor) else label
            if class_names is not None and isinstance(label, (int, np.integer)):
                label = class_names[label]
            ax.set_title(str(label), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def draw_boxes(
    image,
    boxes,
    labels=None,
    scores=None,
    class_names=None,
    ax=None,
    color: str = "tab:red",
    title: str = "",
    linestyle: str = "-",
):
    """Boxes drawn on an image, each captioned with its class (and score). Returns the Figure.

    image: (H, W), (1, H, W) or (3, H, W) tensor or array, or None to draw on `ax` as it is (to
    overlay predictions on ground truth: draw the truth, then the predictions with ``ax=`` and
    another colour). boxes: (k, 4) xyxy pixel boxes (`coursekit.boxes`; pixel column c spans
    x in [c, c + 1)). labels: k class indices (looked up in `class_names` if given) or strings;
    scores: k numbers, written after the label with two decimals.
    """
    from .boxes import as_boxes

    boxes = as_boxes(boxes).numpy()
    k = len(boxes)
    _check_ax(ax)
    if image is None and ax is None:
        raise ValueError("draw_boxes needs an image, or an ax that already shows one")
    captions = [""] * k
    if labels is not None:
        labels = [lab.item() if isinstance(lab, torch.Tensor) else lab for lab in labels]
        if len(labels) != k:
            raise ValueError(f"labels has {len(labels)} entries for {k} boxes; give one per box")
        if class_names is not None:
            for lab in labels:
                if isinstance(lab, (int, np.integer)) and not 0 <= lab < len(class_names):
                    raise ValueError(f"label {lab} has no entry in class_names ({len(class_names)} names)")
            labels = [class_names[lab] if isinstance(lab, (int, np.integer)) else lab for lab in labels]
        captions = [str(lab) for lab in labels]
    if scores is not None:
        scores = [float(v) for v in (scores.tolist() if isinstance(scores, torch.Tensor) else scores)]
        if len(scores) != k:
            raise ValueError(f"scores has {len(scores)} entries for {k} boxes; give one per box")
        captions = [f"{c} {v:.2f}".strip() for c, v in zip(captions, scores, strict=True)]
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2 + (0.3 if title else 0.0)))
    if image is not None:
        picture = _as_numpy_images(np.asarray(image.detach().cpu() if isinstance(image, torch.Tensor) else image)[None])
        ax.imshow(picture[0], cmap="gray" if picture[0].ndim == 2 else None)
        ax.axis("off")
    for (x0, y0, x1, y1), caption in zip(boxes, captions, strict=True):
        # imshow centres pixel c on c, so its span [c, c + 1) is drawn from c - 0.5
        ax.add_patch(
            Rectangle(
                (x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=1.5, linestyle=linestyle
            )
        )
        if caption:
            ax.text(
                x0 - 0.5,
                y0 - 1.5,
                caption,
                color="white",
                fontsize=7,
                va="bottom",
                bbox=dict(facecolor=color, pad=1, linewidth=0),
            )
    if title:
        ax.set_title(title, fontsize=9)
    return ax.figure


def _draw_history(axes, history) -> None:
    loss_ax, acc_ax = axes
    loss_ax.clear()
    acc_ax.clear()
    epochs = history.epoch
    loss_ax.plot(epochs, history.train_loss, "o-", label="train")
    if any(v is not None for v in history.val_loss):
        loss_ax.plot(epochs, history.val_loss, "o-", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    if any(v is not None for v in history.train_acc):
        acc_ax.plot(epochs, history.train_acc, "o-", label="train")
    if any(v is not None for v in history.val_acc):
        acc_ax.plot(epochs, history.val_acc, "o-", label="validation")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    if not acc_ax.lines:  # fit(..., accuracy=False): a detector, a segmenter, an embedding
        acc_ax.text(0.5, 0.5, "no accuracy for this task:\nthe loss is the measure", ha="center", va="center")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()


def plot_history(history):
    """Loss and accuracy per epoch, train and validation side by side. Returns the Figure.

    history: a `coursekit.train.History` (or anything with its lists ``epoch``, ``train_loss``,
    ``train_acc``, ``val_loss``, ``val_acc``).
    """
    missing = [
        name for name in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc") if not hasattr(history, name)
    ]
    if missing:
        raise TypeError(
            f"plot_history needs a coursekit.train.History (the result of fit); "
            f"{type(history).__name__} has no {', '.join(missing)}"
        )
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    _draw_history(axes, history)
    fig.tight_layout()
    return fig


class LiveCurves:
    """One figure of loss/accuracy that is redrawn in place after every epoch (in a notebook).

    It uses IPython's ``display(..., display_id=True)`` and updates that one output, so a run of 20
    epochs leaves one figure, not 20. Outside a notebook it does nothing.
    """

    def __init__(self):
        from IPython.display import display

        self.fig, self.axes = plt.subplots(1, 2, figsize=(10, 3.5))
        plt.close(self.fig)  # we display it ourselves; keep the inline backend from showing it again
        self.handle = display(self.fig, display_id=True)

    def update(self, history) -> None:
        if self.handle is None:  # display() returns None outside IPython: nothing to redraw
            return
        _draw_history(self.axes, history)
        self.fig.tight_layout()
        self.handle.update(self.fig)
