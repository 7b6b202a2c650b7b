"""A model's shape table: what each layer outputs and how many parameters it owns.

`summary(model, input_size)` runs one dummy batch through the model with forward hooks on the
*leaf* modules (layers with no children), so the table follows the data in execution order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ._args import check_module, positive_int


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters in `module` (optionally only those with requires_grad)."""
    check_module(module, "count_parameters")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


@dataclass
class LayerRow:
    name: str  # dotted path inside the model, e.g. "features.0"
    kind: str  # the layer's class name, e.g. "Conv2d"
    output_shape: tuple  # without the batch dimension, e.g. (6, 28, 28)
    parameters: int


class Summary(list):
    """A list of `LayerRow`s that prints as an aligned table with a total line."""

    @property
    def total_parameters(self) -> int:
        return sum(row.parameters for row in self)

    def __str__(self) -> str:
        header = f"{'layer':<22}{'type':<18}{'output shape':<20}{'parameters':>12}"
        lines = [header, "-" * len(header)]
        for row in self:
            shape = "×".join(str(d) for d in row.output_shape)
            lines.append(f"{row.name:<22}{row.kind:<18}{shape:<20}{row.parameters:>12,}")
        lines.append("-" * len(header))
        lines.append(f"{'total':<60}{self.total_parameters:>12,}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


@torch.no_grad()
def summary(model: nn.Module, input_size: tuple) -> Summary:
    """Per-layer output shapes and parameter counts for an input of `input_size` = (C, H, W).

    The model runs once in eval mode on a zero batch of size 1 on its own device (see `probe`).
    Parameters shared by several layers are counted once.
    """
    check_module(model, "summary")
    rows, seen = Summary(), set()

    def record(name):
        def hook(module, inputs, output):
            own = [p for p in module.parameters(recurse=False) if id(p) not in seen]
            seen.update(id(p) for p in own)
            shape = tuple(output.shape[1:]) if isinstance(output, torch.Tensor) else ()
            rows.append(LayerRow(name, type(module).__name__, shape, sum(p.numel() for p in own)))

        return hook

    leaves = [(name, module) for name, module in model.named_modules() if name and not list(module.children())]
    probe(model, input_size, [(module, record(name)) for name, module in leaves])
    return rows


def check_input_size(input_size) -> tuple[int, ...]:
    """`input_size` as a tuple of ints >= 1, the shape of ONE input without the batch dimension.

    ``(1, 28, 28)`` for a grey 28 x 28 image; ``(3,)`` for a vector of 3. ValueError otherwise.
    """
    example = "e.g. (1, 28, 28) for one grey 28x28 image (no batch dimension)"
    if isinstance(input_size, (str, bytes)) or not isinstance(input_size, (tuple, list, torch.Size)):
        raise ValueError(f"input_size must be a tuple of positive ints, {example}; got {input_size!r}")
    if not input_size:
        raise ValueError(f"input_size must be a non-empty tuple of positive ints, {example}; got {input_size!r}")
    try:
        return tuple(positive_int("input_size entry", d) for d in input_size)
    except ValueError as error:
        raise ValueError(
            f"input_size must be a tuple of positive ints, {example}; got {tuple(input_size)!r} ({error})"
        ) from None


@torch.no_grad()
def probe(model: nn.Module, input_size: tuple, hooks: list) -> None:
    """Run one zero batch of `input_size` = (C, H, W) through `model` with forward `hooks`
    [(module, hook_fn), ...] attached: in eval mode, on the model's device; afterwards the hooks
    are removed and the model's previous mode is restored, even if the forward pass fails.

    A bad `input_size` raises ValueError before anything runs; a model that cannot run on that size
    raises ValueError naming the model and the size, with PyTorch's message.
    """
    check_module(model, "summary/count_flops")
    input_size = check_input_size(input_size)
    device = next(model.parameters(), torch.empty(0)).device
    handles = [module.register_forward_hook(fn) for module, fn in hooks]
    was_training = model.training
    model.eval()
    try:
        model(torch.zeros(1, *input_size, device=device))
    except (RuntimeError, ValueError, TypeError) as error:
        raise ValueError(
            f"{type(model).__name__} cannot run on one input of size {input_size} "
            f"(a batch of shape {(1, *input_size)}): {error}"
        ) from error
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
