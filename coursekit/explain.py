"""What a trained CNN responds to, and where it looks.

Tools for any ``nn.Module`` classifier that maps (N, C, H, W) images to (N, K) class scores (logits),
with layers named as in ``dict(model.named_modules())`` -- ``"features.3"``, ``"stages.2"``,
``"layer4"``:

- `layer_names`, `get_layer`     the names a layer can be given by, and the module behind a name;
- `feature_maps`                 what some layers output for a batch;
- `receptive_field`, `Field`     which input pixels one unit of a layer depends on (size, jump, start);
- `top_patches`                  the dataset images and the patches in them that excite a channel most;
- `saliency`                     |d score / d pixel| (Simonyan, Vedaldi & Zisserman 2014);
- `grad_cam`                     gradient-weighted activations of a layer (Selvaraju et al. 2017);
- `occlusion`                    the score drop when a grey patch hides part of the image (Zeiler & Fergus 2014);
- `best_matching_filters`        the named kernel of `coursekit.filters` each learned kernel is closest to;
- `randomized`                   a copy with re-initialised layers, for the sanity check of Adebayo et al. 2018;
- `rank_correlation`, `box_mass` comparing maps with each other, and with an object's box.

What every function that runs the model promises:

* the batch is moved to the model's device (CPU, CUDA or MPS) and results come back as CPU tensors;
* the model runs in evaluation mode (BatchNorm uses its running statistics, so every image is
  explained on its own), and afterwards each module's train/eval mode, each parameter's
  ``requires_grad`` and each parameter's ``.grad`` are exactly what they were -- also when the
  forward pass raises;
* every hook it adds is removed, also when the forward pass raises;
* gradients are taken with ``torch.autograd.grad`` with respect to the input or the recorded
  activation only: nothing is written to any ``.grad``, and no weight gradient is computed;
* ``target`` chooses the class whose score is explained: None (each image's predicted class), an
  int (the same class for every image), or N ints (a list or an (N,) tensor);
* an unknown layer name raises `coursekit.errors.UnknownName` listing the valid names; other bad
  arguments raise TypeError/ValueError naming the argument, the value and what was expected.

How `receptive_field` computes: it runs one zero image through the model and follows every tensor
operation with a ``torch.overrides.TorchFunctionMode``, keeping for each tensor the field of its
units. A convolution or pooling with kernel k, stride s, padding p and dilation d applies the
recurrence of notebooks 04 and 10 (and of `coursekit.models.vgg.receptive_fields`)::

    size  += (k - 1) * d * jump        jump *= s        start -= p * jump (the jump before the layer)

an operation that keeps the map's height and width (BatchNorm, ReLU, an addition, a concatenation
of channels) gives its output the union of its inputs' fields -- which is how the shortcut of a
residual block and its main path meet -- and an operation that moves positions around (flatten,
global pooling, interpolation, a transposed convolution, a flip) ends the trace. Because the walk
follows the operations actually run, in the order they run, it is right for branching networks
where walking the modules in registration order is not.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from .errors import UnknownName

__all__ = [
    "Field",
    "Match",
    "TopPatches",
    "best_matching_filters",
    "box_mass",
    "feature_maps",
    "get_layer",
    "grad_cam",
    "layer_names",
    "occlusion",
    "randomized",
    "rank_correlation",
    "receptive_field",
    "saliency",
    "top_patches",
]


# ---------------------------------------------------------------------------------------------
# Arguments.
# ---------------------------------------------------------------------------------------------


def _check_model(model, caller: str) -> None:
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise TypeError(f"{caller}: model is the class {model.__name__}; pass an instance, e.g. {model.__name__}()")
    if not isinstance(model, nn.Module):
        raise TypeError(f"{caller} needs a torch.nn.Module as model, got {type(model).__name__}")


def _is_int(value) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _pair(name: str, value) -> tuple[int, int]:
    """An int or a pair of ints (rows, columns), each >= 1, as a pair."""
    if _is_int(value):
        value = (value, value)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{name} must be an int or a pair (rows, columns) of ints, got {value!r}")
    return _positive_int(f"{name}[0]", value[0]), _positive_int(f"{name}[1]", value[1])


def _device_of(model: nn.Module) -> torch.device:
    """Where the model's parameters (or buffers) live; the CPU for a model that has neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def _check_batch(x, caller: str) -> torch.Tensor:
    """`x` as a floating-point (N, C, H, W) tensor with N >= 1, else a TypeError/ValueError saying so."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{caller}: x must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        hint = " (one image? add the batch dimension: x.unsqueeze(0))" if x.ndim == 3 else ""
        raise ValueError(f"{caller}: x must have shape (N, C, H, W), got {tuple(x.shape)}{hint}")
    if x.shape[0] == 0 or 0 in x.shape[1:]:
        raise ValueError(f"{caller}: x is empty (shape {tuple(x.shape)}); give at least one image")
    if not x.is_floating_point():
        raise TypeError(
            f"{caller}: x must be a floating-point tensor (the normalised images the model was trained on), "
            f"got dtype {x.dtype}; convert uint8 pixels, e.g. x.float() / 255"
        )
    return x


def _check_logits(logits, n: int, caller: str) -> torch.Tensor:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != n:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(
            f"{caller} explains a classifier: the model must return scores of shape (N, num_classes) = ({n}, K), "
            f"it returned {shape}"
        )
    return logits


def _targets(target, logits: torch.Tensor) -> torch.Tensor:
    """The class to explain for each image, as an (N,) int64 tensor on the logits' device."""
    n, k = logits.shape
    if target is None:
        return logits.argmax(1)
    if _is_int(target):
        chosen = torch.full((n,), int(target), dtype=torch.long)
    else:
        if isinstance(target, (str, bytes, float)) or not isinstance(target, (torch.Tensor, np.ndarray, Sequence)):
            raise TypeError(f"target must be None, an int or N ints, got {type(target).__name__} {target!r}")
        chosen = torch.as_tensor(np.asarray(target.cpu() if isinstance(target, torch.Tensor) else target))
        if chosen.dtype.is_floating_point or chosen.dtype == torch.bool or chosen.is_complex():
            raise TypeError(f"target must hold integer class indices, got dtype {chosen.dtype}")
        if chosen.shape != (n,):
            raise ValueError(
                f"target must be None, an int or {n} ints (one per image), got shape {tuple(chosen.shape)}"
            )
        chosen = chosen.long()
    if chosen.min() < 0 or chosen.max() >= k:
        bad = int(chosen[(chosen < 0) | (chosen >= k)][0])
        raise ValueError(f"target {bad} is not a class of this model: it returns {k} scores (classes 0 .. {k - 1})")
    return chosen.to(logits.device)


# ---------------------------------------------------------------------------------------------
# Layers by name.
# ---------------------------------------------------------------------------------------------


def layer_names(model: nn.Module) -> list[str]:
    """Every name a layer of `model` can be given by: the keys of ``dict(model.named_modules())``
    except the model's own empty name, in registration order (``"features"``, ``"features.0"``, ...)."""
    _check_model(model, "layer_names")
    return [name for name, _ in model.named_modules() if name]


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule of `model` called `name` (as in ``dict(model.named_modules())``).

    Raises `coursekit.errors.UnknownName` listing `layer_names(model)` when there is no such layer.
    """
    _check_model(model, "get_layer")
    layers = dict(model.named_modules())
    layers.pop("", None)
    if not isinstance(name, str) or name not in layers:
        raise UnknownName(f"layer of {type(model).__name__}", name, layers)
    return layers[name]


# ---------------------------------------------------------------------------------------------
# Running the model: the state it is left in, and recording a layer's output.
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _inspecting(model: nn.Module):
    """Evaluation mode, no parameter requires grad; afterwards every module's mode and every
    parameter's ``requires_grad`` and ``.grad`` are restored, whatever happened inside."""
    modes = [(module, module.training) for module in model.modules()]
    params = [(p, p.requires_grad, p.grad) for p in model.parameters()]
    try:
        model.eval()
        for p, _, _ in params:
            p.requires_grad_(False)
        yield
    finally:
        for module, training in modes:
            module.training = training
        for p, requires_grad, grad in params:
            p.requires_grad_(requires_grad)
            p.grad = grad


class _Recorder:
    """What a forward hook saw: `output` is the layer's output tensor of the last forward pass."""

    def __init__(self, name: str, track_grad: bool = False):
        self.name, self.track_grad, self.output = name, track_grad, None

    def hook(self, module, inputs, output):
        if not isinstance(output, torch.Tensor):
            raise ValueError(
                f"layer {self.name!r} ({type(module).__name__}) returns a {type(output).__name__}, not a tensor; "
                f"choose a layer that outputs a feature map (N, C, h, w)"
            )
        if self.track_grad and not output.requires_grad:
            output.requires_grad_(True)  # a leaf: the gradient with respect to it can be taken
        self.output = output
        # The network continues with a copy: an in-place operation after this layer (ReLU(inplace=True))
        # then changes the copy, and the recorded output stays exactly what the layer returned.
        return output.clone()


@contextlib.contextmanager
def _recording(model: nn.Module, layers: Sequence[str], track_grad: bool = False):
    """Forward hooks on the named layers for the duration of the block (removed whatever happens)."""
    recorders = {name: _Recorder(name, track_grad) for name in layers}
    modules = {name: get_layer(model, name) for name in layers}
    handles = []
    try:
        for name, recorder in recorders.items():
            handles.append(modules[name].register_forward_hook(recorder.hook))
        yield recorders
    finally:
        for handle in handles:
            handle.remove()


def _map_of(recorder: _Recorder, caller: str) -> torch.Tensor:
    output = recorder.output
    if output is None:
        raise ValueError(f"{caller}: layer {recorder.name!r} did not run in the model's forward pass")
    if output.ndim != 4:
        raise ValueError(
            f"{caller}: layer {recorder.name!r} outputs shape {tuple(output.shape)}, not a feature map (N, C, h, w); "
            f"choose a convolutional layer or block"
        )
    return output


def feature_maps(model: nn.Module, x: torch.Tensor, layers) -> dict[str, torch.Tensor]:
    """What the named `layers` output when `model` reads the batch `x`.

    x: (N, C, H, W); layers: one name or a list of names (see `layer_names`).
    Returns {name: that layer's output}, e.g. (N, C_l, h_l, w_l) for a convolution, on the CPU.
    """
    _check_model(model, "feature_maps")
    names = [layers] if isinstance(layers, str) else list(layers) if isinstance(layers, Iterable) else None
    if not names:
        raise ValueError(f"feature_maps: layers must be a layer name or a non-empty list of names, got {layers!r}")
    x = _check_batch(x, "feature_maps")
    with _inspecting(model), _recording(model, names) as recorders, torch.no_grad():
        model(x.to(_device_of(model)))
    missing = [name for name, r in recorders.items() if r.output is None]
    if missing:
        raise ValueError(f"feature_maps: layers {missing} did not run in the model's forward pass")
    return {name: r.output.detach().cpu() for name, r in recorders.items()}


# ---------------------------------------------------------------------------------------------
# Receptive fields.
# ---------------------------------------------------------------------------------------------


class _Axis(NamedTuple):
    """The field along one axis: unit u covers input pixels start + u*jump ... start + u*jump + size - 1."""

    size: int
    jump: int
    start: int

    def through(self, kernel: int, stride: int, padding: int, dilation: int = 1) -> _Axis:
        """After a layer with this kernel, stride, padding (before the first unit) and dilation."""
        return _Axis(
            self.size + (kernel - 1) * dilation * self.jump, self.jump * stride, self.start - padding * self.jump
        )


def _union(axes: list[_Axis]) -> _Axis | str:
    """The field of a unit that reads the same position of several maps (an addition, a concatenation)."""
    if len({a.jump for a in axes}) > 1:
        return f"maps with different jumps {sorted({a.jump for a in axes})} are combined"
    low = min(a.start for a in axes)
    high = max(a.start + a.size for a in axes)
    return _Axis(high - low, axes[0].jump, low)


class Field(NamedTuple):
    """Where a unit of a layer looks in the input image.

    Unit (row, col) of the layer's map depends on the input pixels in rows
    ``start + row * jump`` to ``start + row * jump + size - 1`` (and the same for columns):

    - size:  side of that square patch, in input pixels (the receptive field);
    - jump:  how many input pixels apart two neighbouring units' patches are (the product of the strides);
    - start: the first row (and column) of unit (0, 0)'s patch; negative when it begins in the padding.

    Each is an int when rows and columns agree (every square-kernel network), else a (rows, cols) pair.
    """

    size: int | tuple[int, int]
    jump: int | tuple[int, int]
    start: int | tuple[int, int]

    @classmethod
    def _from_axes(cls, rows: _Axis, cols: _Axis) -> Field:
        def pick(a, b):
            return a if a == b else (a, b)

        return cls(pick(rows.size, cols.size), pick(rows.jump, cols.jump), pick(rows.start, cols.start))

    def _axes(self) -> tuple[_Axis, _Axis]:
        def split(v):
            return (v, v) if _is_int(v) else tuple(v)

        (rs, cs), (rj, cj), (r0, c0) = split(self.size), split(self.jump), split(self.start)
        return _Axis(rs, rj, r0), _Axis(cs, cj, c0)

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of unit (row, col)'s patch in input pixels, bottom and right
        exclusive (NumPy-style slices), before clipping to the image."""
        rows, cols = self._axes()
        top, left = rows.start + row * rows.jump, cols.start + col * cols.jump
        return top, left, top + rows.size, left + cols.size

    def centre(self, row: int, col: int) -> tuple[float, float]:
        """(y, x) of the centre of unit (row, col)'s patch, in input pixel coordinates."""
        top, left, bottom, right = self.box(row, col)
        return (top + bottom - 1) / 2, (left + right - 1) / 2


def _tensors(value):
    """Every tensor in a nested structure of arguments (lists, tuples, dicts)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _as_pair(value, default) -> tuple[int, int]:
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        value = default
    if _is_int(value):
        return int(value), int(value)
    value = tuple(int(v) for v in value)
    return value if len(value) == 2 else (value[0], value[0])


# The operations that slide a kernel, with their parameters in order (keyword arguments also work).
_POOL_ARGS = ("input", "kernel_size", "stride", "padding", "dilation")
_KERNEL_OPS = {
    torch.conv2d: ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    F.max_pool2d: _POOL_ARGS,
    F.max_pool2d_with_indices: _POOL_ARGS,
    torch.max_pool2d: _POOL_ARGS,
    F.avg_pool2d: ("input", "kernel_size", "stride", "padding"),
}
# Operations that move positions around while they may keep the map's size: they end the trace.
_REARRANGING = {
    F.interpolate,
    F.conv_transpose2d,
    F.grid_sample,
    F.pixel_shuffle,
    F.pixel_unshuffle,
    torch.flip,
    torch.Tensor.flip,
    torch.roll,
    torch.Tensor.roll,
    torch.transpose,
    torch.Tensor.transpose,
    torch.permute,
    torch.Tensor.permute,
    torch.rot90,
    torch.Tensor.rot90,
}


def _name(func) -> str:
    return getattr(func, "__name__", None) or repr(func)


def _kernel_axes(func, args, kwargs) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """((k, s, p, d) for rows, (k, s, p, d) for columns) of a convolution or pooling call."""
    bound = dict(zip(_KERNEL_OPS[func], args, strict=False))  # fewer arguments than names: defaults
    bound.update(kwargs)
    if func is torch.conv2d:
        kernel = tuple(bound["weight"].shape[-2:])
        stride = _as_pair(bound.get("stride"), 1)
    else:
        kernel = _as_pair(bound["kernel_size"], None)
        stride = _as_pair(bound.get("stride"), kernel)
    dilation = _as_pair(bound.get("dilation"), 1)
    padding = bound.get("padding", 0)
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":  # PyTorch puts the smaller half of d * (k - 1) before the first pixel
        padding = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation, strict=True))
    padding = _as_pair(padding, 0)
    return tuple(zip(kernel, stride, padding, dilation, strict=True))


class _FieldTracer(TorchFunctionMode):
    """Follows every tensor operation of a forward pass and keeps each tensor's field (or why it has none)."""

    def __init__(self, image: torch.Tensor):
        super().__init__()
        self.fields = {id(image): (_Axis(1, 1, 0), _Axis(1, 1, 0))}
        self.alive = [image]  # ids stay unique while the tensors they name are alive

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        inputs = [t for t in _tensors((args, kwargs)) if id(t) in self.fields]
        outputs = list(_tensors(result))
        if not inputs or not outputs:
            return result
        known = [self.fields[id(t)] for t in inputs]
        lost = next((f for f in known if isinstance(f, str)), None)
        field = lost or self._field(func, args, kwargs, inputs, known, outputs)
        for t in outputs:
            self.fields[id(t)] = field
            self.alive.append(t)
        return result

    @staticmethod
    def _field(func, args, kwargs, inputs, known, outputs):
        name = _name(func)
        if func in _KERNEL_OPS:
            (rows, cols), axes = known[0], _kernel_axes(func, args, kwargs)
            return rows.through(*axes[0]), cols.through(*axes[1])
        if func is F.pad:
            pad = list(kwargs.get("pad", args[1] if len(args) > 1 else ()))
            left, top = (pad + [0, 0, 0, 0])[0], (pad + [0, 0, 0, 0])[2]
            rows, cols = known[0]
            return rows._replace(start=rows.start - top * rows.jump), cols._replace(start=cols.start - left * cols.jump)
        if func in _REARRANGING:
            return f"{name} moves positions around"
        size = inputs[0].shape[-2:]
        if any(t.ndim != 4 or t.shape[-2:] != size for t in (*inputs, *outputs)):
            return f"{name} turns the {tuple(size)} map into shape {tuple(outputs[0].shape)}"
        rows, cols = _union([f[0] for f in known]), _union([f[1] for f in known])
        problem = next((a for a in (rows, cols) if isinstance(a, str)), None)
        return f"in {name}, {problem}" if problem else (rows, cols)


def receptive_field(model: nn.Module, layer: str, input_size) -> Field:
    """The receptive field of one unit of `layer` when `model` reads images of `input_size` = (C, H, W).

    Runs one zero image (1, C, H, W) through the model on its device, in evaluation mode, and traces
    every operation (see the module's docstring for the recurrence). Returns a `Field` (size, jump,
    start): unit (row, col) of the layer's (h, w) map depends on input rows
    ``start + row * jump .. start + row * jump + size - 1``, and the same for columns.

    Raises `UnknownName` for an unknown layer, ValueError for a bad `input_size`, a model that
    cannot run on it, or a layer whose output is no longer a map aligned with the image (after a
    flatten, a global pooling, a fully connected layer ...).
    """
    _check_model(model, "receptive_field")
    get_layer(model, layer)
    if (
        isinstance(input_size, (str, bytes))
        or not isinstance(input_size, (Sequence, torch.Size))
        or len(input_size) != 3
    ):
        raise ValueError(f"input_size must be (C, H, W) of one image, e.g. (1, 28, 28), got {input_size!r}")
    size = tuple(_positive_int("input_size entry", v) for v in input_size)
    image = torch.zeros(1, *size, device=_device_of(model))
    tracer = _FieldTracer(image)
    with _inspecting(model), _recording(model, [layer]) as recorders, torch.no_grad():
        try:
            with tracer:
                model(image)
        except (RuntimeError, ValueError, TypeError) as error:
            raise ValueError(
                f"receptive_field: {type(model).__name__} cannot run on one image of size {size}: {error}"
            ) from error
    output = recorders[layer].output
    if output is None:
        raise ValueError(f"receptive_field: layer {layer!r} did not run in the model's forward pass")
    field = tracer.fields.get(id(output), "its output does not depend on the input image")
    if isinstance(field, str):
        raise ValueError(f"receptive_field: layer {layer!r} has no receptive field: {field}")
    return Field._from_axes(*field)


# ---------------------------------------------------------------------------------------------
# Saliency and Grad-CAM.
# ---------------------------------------------------------------------------------------------


def saliency(model: nn.Module, x: torch.Tensor, target=None) -> torch.Tensor:
    """The vanilla gradient map of Simonyan, Vedaldi & Zisserman (2014).

    For each image n and its class t_n: ``max over channels c of |d score[n, t_n] / d x[n, c, i, j]|``,
    how much a small change of pixel (i, j) would change the class score.

    x: (N, C, H, W) -> (N, H, W), non-negative, on the CPU. `target`: see the module's docstring.
    """
    _check_model(model, "saliency")
    x = _check_batch(x, "saliency")
    with _inspecting(model), torch.enable_grad():
        inputs = x.detach().to(_device_of(model)).requires_grad_(True)
        logits = _check_logits(model(inputs), len(x), "saliency")
        chosen = _targets(target, logits)
        score = logits.gather(1, chosen[:, None]).sum()  # images are independent in eval mode
        (grad,) = torch.autograd.grad(score, inputs)
    return grad.abs().amax(dim=1).detach().cpu()


def grad_cam(
    model: nn.Module, x: torch.Tensor, layer: str, target=None, upsample: bool = True, relu: bool = True
) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017): where in `layer`'s map the evidence for the class lies.

    With A the layer's output (N, K, h, w) and S the score of class t_n, each channel k gets the
    weight ``alpha_k = mean over (i, j) of dS / dA_k[i, j]`` and the map is
    ``relu(sum over k of alpha_k * A_k)``, shape (N, h, w).

    x: (N, C, H, W). Returns (N, H, W) -- the map upsampled bilinearly to the input size -- or the
    raw (N, h, w) map with ``upsample=False``; ``relu=False`` keeps the negative evidence too. On the
    CPU. The activation is recorded with a forward hook and its gradient taken with
    ``torch.autograd.grad`` (what a backward hook on the layer would receive).
    """
    _check_model(model, "grad_cam")
    x = _check_batch(x, "grad_cam")
    with _inspecting(model), _recording(model, [layer], track_grad=True) as recorders, torch.enable_grad():
        logits = _check_logits(model(x.detach().to(_device_of(model))), len(x), "grad_cam")
        activation = _map_of(recorders[layer], "grad_cam")  # (N, K, h, w)
        chosen = _targets(target, logits)
        score = logits.gather(1, chosen[:, None]).sum()
        used = score.requires_grad  # False when nothing on the score's path came from the layer
        (grad,) = torch.autograd.grad(score, activation, allow_unused=True) if used else (None,)
    if grad is None:
        raise ValueError(f"grad_cam: the class score does not depend on layer {layer!r}'s output")
    alpha = grad.mean(dim=(2, 3), keepdim=True)  # (N, K, 1, 1): one weight per channel
    cam = (alpha * activation).sum(dim=1).detach()  # (N, h, w)
    if relu:
        cam = cam.clamp(min=0)
    if upsample:
        cam = F.interpolate(cam[:, None], size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[:, 0]
    return cam.cpu()


# ---------------------------------------------------------------------------------------------
# Occlusion.
# ---------------------------------------------------------------------------------------------


def occlusion(
    model: nn.Module, x: torch.Tensor, patch, stride=1, fill=0.0, target=None, batch_size: int = 256
) -> torch.Tensor:
    """Occlusion sensitivity (Zeiler & Fergus 2014): the score drop when a patch of the image is hidden.

    A `patch` (an int or (rows, cols)) filled with `fill` slides over each image with `stride`,
    only where it fits entirely, exactly like a convolution without padding (notebook 04):
    ``H' = (H - patch_rows) // stride_rows + 1``, the same for W'. Entry (i, j) of the result is
    ``score(image) - score(image with the patch at (i * stride, j * stride) hidden)`` for each image's
    class: positive where hiding the region hurts the class. Costs 1 + H' * W' forward passes per
    image, run `batch_size` images at a time.

    fill: a number, or C numbers (one per channel), in the units of `x`; for standardised inputs
    0.0 is the dataset's mean pixel, a neutral grey.
    x: (N, C, H, W) -> (N, H', W'), on the CPU.
    """
    _check_model(model, "occlusion")
    x = _check_batch(x, "occlusion")
    (ph, pw), (sh, sw) = _pair("patch", patch), _pair("stride", stride)
    batch_size = _positive_int("batch_size", batch_size)
    n, c, h, w = x.shape
    if ph > h or pw > w:
        raise ValueError(f"occlusion: patch {(ph, pw)} is larger than the images ({h}, {w})")
    fill = _fill_values(fill, c)
    rows, cols = (h - ph) // sh + 1, (w - pw) // sw + 1
    corners = [(i * sh, j * sw) for i in range(rows) for j in range(cols)]
    device = _device_of(model)
    drops = torch.empty(n, rows * cols)
    with _inspecting(model), torch.no_grad():
        x = x.detach().to(device)
        logits = _check_logits(model(x), n, "occlusion")
        chosen = _targets(target, logits)
        base = logits.gather(1, chosen[:, None])[:, 0]  # (N,)
        fill = fill.to(device=device, dtype=x.dtype)
        for image in range(n):
            for first in range(0, len(corners), batch_size):
                chunk = corners[first : first + batch_size]
                batch = x[image].repeat(len(chunk), 1, 1, 1)  # (B, C, H, W)
                for b, (top, left) in enumerate(chunk):
                    batch[b, :, top : top + ph, left : left + pw] = fill
                scores = model(batch)[:, chosen[image]]
                drops[image, first : first + len(chunk)] = (base[image] - scores).cpu()
    return drops.view(n, rows, cols)


def _fill_values(fill, channels: int) -> torch.Tensor:
    """`fill` as a (C, 1, 1) tensor: one number for every channel, or one per channel."""
    if isinstance(fill, (bool, np.bool_)):
        raise TypeError(f"fill must be a number or {channels} numbers, got {fill!r}")
    if isinstance(fill, numbers.Real):
        if not math.isfinite(fill):
            raise ValueError(f"fill must be finite, got {fill!r}")
        return torch.full((channels, 1, 1), float(fill))
    try:
        values = torch.as_tensor(fill, dtype=torch.float32).flatten()
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"fill must be a number or {channels} numbers, got {fill!r}") from None
    if values.numel() != channels or not torch.isfinite(values).all():
        raise ValueError(f"fill must be one finite number or {channels} (one per channel), got {fill!r}")
    return values.view(channels, 1, 1)


# ---------------------------------------------------------------------------------------------
# Maximally activating patches.
# ---------------------------------------------------------------------------------------------


@dataclass
class TopPatches:
    """The result of `top_patches`: for M channels, the k images that excite each one most.

    - layer, channels: what was searched (M channel indices);
    - values:    (M, k) the strongest activation of the channel in each chosen image, largest first;
    - images:    (M, k) the index of that image in the searched batch;
    - positions: (M, k, 2) (row, col) of that unit in the layer's map;
    - patches:   (M, k, C, size_rows, size_cols) the input under that unit's receptive field (the part
      outside the image filled with `fill`);
    - field:     the layer's `Field`, from which the patches were cut.
    """

    layer: str
    channels: list[int]
    values: torch.Tensor
    images: torch.Tensor
    positions: torch.Tensor
    patches: torch.Tensor
    field: Field


def top_patches(
    model: nn.Module, images: torch.Tensor, layer: str, channels=None, k: int = 9, batch_size: int = 256, fill=None
) -> TopPatches:
    """The `k` images of `images` in which each channel of `layer` responds most, and where.

    For every image and channel the strongest unit of the channel's map is found (one patch per
    image, so that k different images are shown); the k images with the largest such value are kept,
    with the patch of the image under that unit's receptive field (`receptive_field`) cut out.

    images: (N, C, H, W), as the model reads them (normalised); channels: an int, a list of ints, or
    None for all of the layer's channels; fill: the value of patch pixels outside the image (default:
    the smallest value in `images`, the background of MNIST-like images). Returns a `TopPatches`.
    """
    _check_model(model, "top_patches")
    images = _check_batch(images, "top_patches")
    k, batch_size = _positive_int("k", k), _positive_int("batch_size", batch_size)
    if k > len(images):
        raise ValueError(f"top_patches: k={k} is more than the {len(images)} images searched")
    field = receptive_field(model, layer, tuple(images.shape[1:]))
    device = _device_of(model)
    best_values, best_images, best_positions, selected = None, None, None, None
    with _inspecting(model), _recording(model, [layer]) as recorders, torch.no_grad():
        for first in range(0, len(images), batch_size):
            model(images[first : first + batch_size].to(device))
            maps = _map_of(recorders[layer], "top_patches")  # (B, K, h, w)
            if selected is None:
                selected = _channels(channels, maps.shape[1], layer)
                width = maps.shape[-1]
            flat = maps[:, selected].flatten(2)  # (B, M, h*w)
            values, where = flat.max(dim=2)  # (B, M): each image's strongest unit per channel
            index = torch.arange(first, first + len(values), device=values.device)[:, None].expand_as(values)
            values, where, index = values.T.cpu(), where.T.cpu(), index.T.cpu()  # (M, B)
            if best_values is not None:
                values = torch.cat([best_values, values], 1)
                where = torch.cat([best_positions, where], 1)
                index = torch.cat([best_images, index], 1)
            order = values.argsort(dim=1, descending=True, stable=True)[:, :k]
            best_values, best_positions, best_images = (t.gather(1, order) for t in (values, where, index))
    positions = torch.stack([best_positions // width, best_positions % width], dim=-1)  # (M, k, 2)
    fill_value = float(images.min()) if fill is None else float(fill)
    patches = _cut_patches(images, best_images, positions, field, fill_value)
    return TopPatches(layer, selected, best_values, best_images, positions, patches, field)


def _channels(channels, available: int, layer: str) -> list[int]:
    if channels is None:
        return list(range(available))
    chosen = [channels] if _is_int(channels) else list(channels) if isinstance(channels, Iterable) else None
    if not chosen or not all(_is_int(c) for c in chosen):
        raise TypeError(f"top_patches: channels must be an int, a list of ints or None, got {channels!r}")
    bad = [int(c) for c in chosen if not 0 <= c < available]
    if bad:
        raise ValueError(f"top_patches: layer {layer!r} has channels 0 .. {available - 1}, got {bad}")
    return [int(c) for c in chosen]


def _cut_patches(images, which, positions, field: Field, fill: float) -> torch.Tensor:
    """(M, k, C, size_rows, size_cols): the input under each chosen unit's field, `fill` outside the image."""
    rows_axis, cols_axis = field._axes()
    m, k = which.shape
    _, c, h, w = images.shape
    patches = torch.full((m, k, c, rows_axis.size, cols_axis.size), fill, dtype=images.dtype)
    for i in range(m):
        for j in range(k):
            top, left, bottom, right = field.box(int(positions[i, j, 0]), int(positions[i, j, 1]))
            y0, x0, y1, x1 = max(top, 0), max(left, 0), min(bottom, h), min(right, w)
            if y0 < y1 and x0 < x1:
                patches[i, j, :, y0 - top : y1 - top, x0 - left : x1 - left] = images[int(which[i, j]), :, y0:y1, x0:x1]
    return patches


# ---------------------------------------------------------------------------------------------
# Learned kernels against the named ones.
# ---------------------------------------------------------------------------------------------


class Match(NamedTuple):
    """The named kernel a learned kernel is closest to, and their cosine similarity (-1 .. 1)."""

    name: str
    similarity: float


def best_matching_filters(kernels, named: Mapping | None = None) -> list[Match]:
    """For each kernel, the named filter with the largest cosine similarity ``<a, b> / (|a| |b|)``.

    kernels: (K, kh, kw) or a first layer's (K, 1, kh, kw) weights (array or tensor; for colour
    input, average over the input channels first). named: {name: 2-D kernel}, default
    `coursekit.filters.NAMED`; a named kernel smaller than the learned ones is zero-padded around
    its centre (a 3x3 Sobel inside a 5x5 kernel). The similarity ignores scale but not sign: a
    kernel equal to -2 x Sobel matches the sign-flipped Sobel with similarity 1. A zero kernel has
    similarity 0 with everything. Returns one `Match` per kernel.
    """
    if named is None:
        from .filters import NAMED as named
    if isinstance(kernels, torch.Tensor):
        kernels = kernels.detach().cpu().double().numpy()
    k = np.asarray(kernels, dtype=np.float64)
    if k.ndim == 4 and k.shape[1] == 1:
        k = k[:, 0]
    if k.ndim != 3:
        hint = " (colour kernels: average over the input channels, weight.mean(1))" if k.ndim == 4 else ""
        raise ValueError(f"kernels must have shape (K, kh, kw) or (K, 1, kh, kw), got {k.shape}{hint}")
    if not isinstance(named, Mapping) or not named:
        raise TypeError(f"named must be a non-empty mapping {{name: 2-D kernel}}, got {type(named).__name__}")
    kh, kw = k.shape[1:]
    references = {}
    for name, kernel in named.items():
        kernel = np.asarray(kernel, dtype=np.float64)
        dh, dw = kh - kernel.shape[0], kw - kernel.shape[1]
        if kernel.ndim != 2 or dh < 0 or dw < 0 or dh % 2 or dw % 2:
            raise ValueError(
                f"named filter {name!r} of shape {kernel.shape} cannot be centred in the learned {kh}x{kw} kernels"
            )
        references[name] = np.pad(kernel, ((dh // 2, dh // 2), (dw // 2, dw // 2)))
    names = list(references)
    bank = np.stack([references[n].ravel() for n in names])  # (F, kh*kw)
    flat = k.reshape(len(k), -1)  # (K, kh*kw)
    norms = np.linalg.norm(flat, axis=1, keepdims=True) * np.linalg.norm(bank, axis=1)[None]
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.where(norms > 0, flat @ bank.T / np.where(norms > 0, norms, 1), 0.0)  # (K, F)
    best = cosine.argmax(axis=1)
    return [Match(names[b], float(cosine[i, b])) for i, b in enumerate(best)]


# ---------------------------------------------------------------------------------------------
# Sanity checks and measurements.
# ---------------------------------------------------------------------------------------------


def randomized(model: nn.Module, layers=None, seed: int = 0) -> nn.Module:
    """A copy of `model` whose named `layers` (and everything inside them) are re-initialised.

    Each submodule with a ``reset_parameters`` method (convolutions, linear layers, BatchNorm, whose
    running statistics are reset too) draws new weights, from a generator seeded with `seed`; the
    global random state is left as it was. layers: a name, a list of names, or None for the whole
    model. `model` itself is not changed. This is the "model randomisation test" of Adebayo et al.
    (2018): an explanation that does not change when the weights are replaced by random ones does
    not explain what the network learned.
    """
    _check_model(model, "randomized")
    names = [layers] if isinstance(layers, str) else None if layers is None else list(layers)
    seed = _positive_int("seed", seed, minimum=0)
    copied = copy.deepcopy(model)
    targets = [copied] if names is None else [get_layer(copied, name) for name in names]
    device = _device_of(copied)
    accelerator = device.type if device.type in ("cuda", "mps") else None  # its generator draws the new weights
    with torch.random.fork_rng(devices=[] if accelerator is None else None, device_type=accelerator or "cuda"):
        torch.manual_seed(seed)
        for target in targets:
            for module in target.modules():
                if callable(getattr(module, "reset_parameters", None)):
                    module.reset_parameters()
    return copied


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 0 .. n-1 of a 1-D tensor, ties getting the mean of the ranks they share."""
    ordered, order = values.sort()
    _, inverse, counts = torch.unique_consecutive(ordered, return_inverse=True, return_counts=True)
    first = counts.cumsum(0) - counts
    ranks = torch.empty_like(values, dtype=torch.float64)
    ranks[order] = (first + (counts - 1) / 2).double()[inverse]
    return ranks


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman's rank correlation between the maps a[n] and b[n] (any shape after N), as (N,).

    1: the two maps order the pixels the same way; 0: unrelated orders; -1: reversed. Ties get
    their mean rank. A constant map orders nothing, and its correlation is 0.
    """
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        raise TypeError(f"rank_correlation needs two tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(
            f"rank_correlation needs two batches of maps of the same shape (N, ...), got {a.shape} and {b.shape}"
        )
    result = torch.zeros(len(a), dtype=torch.float64)
    for n, (x, y) in enumerate(zip(a.detach().cpu().flatten(1), b.detach().cpu().flatten(1), strict=True)):
        rx, ry = _average_ranks(x), _average_ranks(y)
        rx, ry = rx - rx.mean(), ry - ry.mean()
        norm = rx.norm() * ry.norm()
        result[n] = (rx @ ry) / norm if norm > 0 else 0.0
    return result


def box_mass(maps: torch.Tensor, boxes) -> torch.Tensor:
    """The fraction of each map's total inside its box: (N, H, W) maps, (N, 4) boxes -> (N,).

    boxes: (x0, y0, x1, y1) in pixel-edge coordinates (the box [x0, x1) x [y0, y1); pixel (i, j)
    is inside when its centre (j + 0.5, i + 0.5) is). Maps must be non-negative (Grad-CAM,
    saliency). A map that is zero everywhere says nothing and counts as spread evenly: its
    fraction is the box's share of the image, the chance level.
    """
    if not isinstance(maps, torch.Tensor) or maps.ndim != 3:
        raise ValueError(
            f"box_mass: maps must be a (N, H, W) tensor, got {getattr(maps, 'shape', type(maps).__name__)}"
        )
    try:
        boxes = torch.as_tensor(boxes, dtype=torch.float64).cpu()
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"box_mass: boxes must be numbers of shape ({len(maps)}, 4), got {boxes!r:.60}") from None
    if boxes.shape != (len(maps), 4):
        raise ValueError(f"box_mass: boxes must have shape ({len(maps)}, 4) (x0, y0, x1, y1), got {tuple(boxes.shape)}")
    maps = maps.detach().cpu().double()
    if (maps < 0).any():
        raise ValueError("box_mass: maps must be non-negative (use grad_cam with relu=True, or saliency)")
    _, h, w = maps.shape
    ys, xs = torch.arange(h, dtype=torch.float64) + 0.5, torch.arange(w, dtype=torch.float64) + 0.5
    x0, y0, x1, y1 = (boxes[:, i, None] for i in range(4))
    inside = ((ys[None] >= y0) & (ys[None] < y1))[:, :, None] & ((xs[None] >= x0) & (xs[None] < x1))[:, None, :]
    total = maps.sum(dim=(1, 2))
    share = inside.double().mean(dim=(1, 2))
    mass = (maps * inside).sum(dim=(1, 2)) / torch.where(total > 0, total, 1.0)
    return torch.where(total > 0, mass, share)
