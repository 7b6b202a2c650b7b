"""Argument and input checks shared by the model modules (one validation layer for `coursekit.models`).

A network built with a size of 0, -3 or 2.5 would either fail deep inside PyTorch with a message
about tensors, or -- worse -- build something odd without complaint. These helpers refuse such
values up front, naming the argument, the value and what is expected. `check_images` does the same
for a forward pass: a wrong batch shape or channel count is reported in the model's own terms
instead of as a matrix-multiplication error three layers down.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch

from ..errors import UnknownName


def positive_int(name: str, value, minimum: int = 1) -> int:
    """`value` as an int if it is an integer >= `minimum` (default 1), else ValueError naming `name`.

    Booleans and floats are refused even when integral (``2.0``): a size is counted, not measured.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def positive_ints(name: str, values, minimum: int = 1) -> tuple[int, ...]:
    """A non-empty sequence of integers >= `minimum`, as a tuple; ValueError naming `name` otherwise."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a non-empty sequence of integers >= {minimum}, got {values!r}")
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must be a non-empty sequence of integers >= {minimum}, got {values!r}")
    for i, value in enumerate(values):
        positive_int(f"{name}[{i}]", value, minimum)
    return tuple(int(v) for v in values)


def positive_number(name: str, value) -> float:
    """`value` as a float if it is a finite real number > 0, else ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def probability(name: str, value) -> float:
    """`value` as a float if it is a number in [0, 1] (a dropout rate), else ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def choose(what: str, name, table: dict):
    """``table[name]``, or `UnknownName` listing the keys of `table` (``what`` says what is named)."""
    try:
        return table[name]
    except (KeyError, TypeError):  # TypeError: an unhashable "name" such as a list
        raise UnknownName(what, name, table) from None


def check_module(model, caller: str) -> None:
    """TypeError unless `model` is a ``torch.nn.Module`` (`caller` names the function that needs one)."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{caller} needs a torch.nn.Module, got {type(model).__name__}")


def check_images(x, model: str, channels: int, size: tuple[int, int] | None = None) -> None:
    """Refuse a forward-pass input that is not a float (N, channels, H, W) tensor, in `model`'s terms.

    ``size`` = (H, W) also fixes the height and width (LeNet-5's 28 x 28). Costs a few attribute
    reads: nothing is computed on the tensor.
    """
    h, w = size if size is not None else ("H", "W")
    expected = f"(N, {channels}, {h}, {w})"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{model} expects a torch.Tensor of shape {expected}, got {type(x).__name__}")
    shape = tuple(x.shape)
    if x.ndim != 4:
        hint = " (a single image? add the batch dimension: x.unsqueeze(0))" if x.ndim == 3 else ""
        raise ValueError(f"{model} expects input of shape {expected}, got shape {shape}{hint}")
    if shape[1] != channels:
        raise ValueError(
            f"{model} was built for {channels} input channel(s) and expects shape {expected}; "
            f"got shape {shape} with {shape[1]} channel(s). Pass {channels}-channel input "
            f"or build it with in_channels={shape[1]}"
        )
    if size is not None and shape[2:] != tuple(size):
        raise ValueError(
            f"{model} expects input of shape {expected}, got shape {shape}: resize or crop the images to {h}x{w}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{model} expects a floating-point input, got dtype {x.dtype}; "
            f"convert it, e.g. x.float() / 255 for uint8 pixels"
        )


def check_multiple(x: torch.Tensor, multiple: int, why: str) -> None:
    """Refuse an (N, C, H, W) input whose H or W is not a multiple of `multiple`; the ValueError starts
    with `why` (the model's reason, e.g. how often it halves the map). Call it after `check_images`."""
    h, w = x.shape[-2:]
    if h % multiple or w % multiple:
        raise ValueError(f"{why}: H and W must be multiples of {multiple}, got {h}x{w}")
