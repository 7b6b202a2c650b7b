"""Texture synthesis and neural style transfer: keep the network fixed and optimise the image.

Gatys, Ecker & Bethge (2016) describe an image by a CNN's feature maps at a few layers: the maps
themselves say *what is where* (content), their Gram matrices say *which features occur together*,
wherever they are (style, or texture). A new image is then made by gradient descent on its pixels
until its features match -- the content of one image, the style of another, or only a texture.

What the lesson needs besides the losses (those are in `coursekit.losses`):

- `RandomFeatures`: a single layer of random filters at several sizes (scales) and a ReLU, the
  feature extractor that needs no trained weights; Ustyuzhaninov, Brendel, Gatys & Bethge (2016)
  showed that such random multi-scale features already synthesise convincing textures (with many
  more filters than a laptop affords here; the zero-sum filters and the 1 x 1 colour scale are
  this course's choices);
- `VGGFeatures`: the named layers (``conv1_1``, ``relu4_2``, ...) of a VGG's convolutional part,
  e.g. ``VGGFeatures(pretrained("vgg19").features, ...)`` -- Gatys et al.'s extractor -- with
  ImageNet normalisation inside and max pooling replaced by average pooling, as they suggest;
- `layer_names`: those names, computed from the layers of a VGG's ``features``;
- `optimize_image`: the loop -- L-BFGS (as Gatys et al.) or Adam on the pixels, which are kept
  in [0, 1] -- returning the image, the loss after every step and snapshots along the way.

Images are float tensors (N, C, H, W) with values in [0, 1]; every extractor returns a dict
``{layer name: feature maps (N, C_l, H_l, W_l)}``.
"""

from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .errors import UnknownName
from .models._args import check_images, positive_int, positive_number

#: ImageNet's channel means and standard deviations (R, G, B), which torchvision's networks expect.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Gatys et al.'s choice for VGG-19: style at the first layer of each of the five blocks, content deep.
GATYS_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
GATYS_CONTENT_LAYER = "relu4_2"

METHODS = ("lbfgs", "adam")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.05}
POOLS = ("avg", "max")


# ----------------------------------------------------------------------------------------------
# Feature extractors


class RandomFeatures(nn.Module):
    """One layer of fixed random filters at several scales, with a ReLU: (N, in_channels, H, W) ->
    ``{"k1": (N, channels, H, W), "k3": ..., ...}``, one entry per kernel size.

    Each scale is a convolution with `channels` filters of odd size k (padding k // 2, mirroring
    the image at its border so that the border looks like the rest of the image; H and W are kept),
    no bias, weights drawn from N(0, 1 / (in_channels k²)) by a generator seeded with
    `seed`. For k > 1 each filter's weights are then shifted to sum to zero over its k x k window
    (per input channel): such a filter ignores flat colour and responds only to pattern -- edges,
    stripes, blobs of its size -- while the 1 x 1 scale (k = 1) mixes the colour channels and so
    carries the colour statistics. The image (values in [0, 1]) is centred at 0 first. Nothing here
    is trained: the weights never require grad.
    """

    def __init__(
        self,
        kernel_sizes: Iterable[int] = (1, 3, 5, 7, 11, 15),
        channels: int = 64,
        in_channels: int = 3,
        seed: int = 0,
    ):
        super().__init__()
        if isinstance(kernel_sizes, (str, bytes)) or not isinstance(kernel_sizes, Iterable):
            raise ValueError(f"kernel_sizes must be a sequence of odd integers such as (3, 5, 7), got {kernel_sizes!r}")
        sizes = tuple(kernel_sizes)
        if not sizes:
            raise ValueError("kernel_sizes must name at least one kernel size, got an empty sequence")
        for i, k in enumerate(sizes):
            positive_int(f"kernel_sizes[{i}]", k)
            if k % 2 == 0:
                raise ValueError(f"kernel_sizes[{i}] must be odd (a centred kernel keeps H and W), got {k}")
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"kernel_sizes must not repeat a size, got {sizes}")
        channels = positive_int("channels", channels)
        in_channels = positive_int("in_channels", in_channels)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        self.config = dict(kernel_sizes=sizes, channels=channels, in_channels=in_channels, seed=int(seed))
        generator = torch.Generator().manual_seed(int(seed))
        self.scales = nn.ModuleDict()
        for k in sizes:
            conv = nn.Conv2d(in_channels, channels, k, padding=k // 2, padding_mode="reflect", bias=False)
            weight = torch.randn(conv.weight.shape, generator=generator) / math.sqrt(in_channels * k * k)
            if k > 1:  # zero sum over the window: blind to flat colour, sees only pattern
                weight -= weight.mean(dim=(2, 3), keepdim=True)
            with torch.no_grad():
                conv.weight.copy_(weight)
            self.scales[f"k{k}"] = conv
        self.requires_grad_(False)
        self.eval()

    @property
    def layers(self) -> tuple[str, ...]:
        """The names of the feature maps `forward` returns: ``("k1", "k3", ...)``, one per kernel size."""
        return tuple(self.scales)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: (N, in_channels, H, W) in [0, 1] -> {"k<size>": (N, channels, H, W)} for every size."""
        check_images(x, "RandomFeatures", self.config["in_channels"])
        reach = max(self.config["kernel_sizes"]) // 2
        if min(x.shape[2:]) <= reach:
            raise ValueError(
                f"RandomFeatures with {max(self.config['kernel_sizes'])}x{max(self.config['kernel_sizes'])} kernels "
                f"needs images larger than {reach} x {reach} pixels (mirrored padding), got {tuple(x.shape[2:])}"
            )
        centred = x - 0.5
        return {name: F.relu(conv(centred)) for name, conv in self.scales.items()}


def layer_names(features: nn.Sequential) -> list[str]:
    """Names for the layers of a VGG's convolutional part, in order: conv<b>_<i>, relu<b>_<i>, pool<b>.

    Block b counts from 1 and ends at each pooling layer; i counts the convolutions in the block
    (a BatchNorm after conv<b>_<i> is bn<b>_<i>). For torchvision's ``vgg19().features`` this gives
    the names of Gatys et al.'s paper: conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ...
    A layer of any other kind raises TypeError naming it.
    """
    if not isinstance(features, nn.Sequential):
        raise TypeError(
            f"features must be an nn.Sequential of a VGG's layers (model.features), got {type(features).__name__}"
        )
    names, block, conv = [], 1, 0
    for i, module in enumerate(features):
        if isinstance(module, nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(module, nn.BatchNorm2d):
            names.append(f"bn{block}_{conv}")
        elif isinstance(module, nn.ReLU):
            names.append(f"relu{block}_{conv}")
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:
            raise TypeError(
                f"features[{i}] is a {type(module).__name__}; a VGG's features hold only Conv2d, BatchNorm2d, "
                f"ReLU and pooling layers"
            )
    return names


class VGGFeatures(nn.Module):
    """The maps of a VGG's `features` at the named `layers`: (N, 3, H, W) in [0, 1] -> {name: (N, C, h, w)}.

    features: a VGG's convolutional part, e.g. ``pretrained("vgg19").features`` (named by
    `layer_names`); layers: the names to return, e.g. ``(*GATYS_STYLE_LAYERS, GATYS_CONTENT_LAYER)``
    (unknown names raise `coursekit.errors.UnknownName`). Only the layers up to the deepest one asked
    for are kept and run. The input is normalised with ImageNet's mean and std inside; in-place ReLUs
    are replaced by ones that keep their input (so a stored conv map is not overwritten), and with
    ``pool="avg"`` (default; Gatys et al.) max pooling by average pooling of the same size. The
    weights are shared with `features` and frozen (requires_grad False).
    """

    def __init__(self, features: nn.Sequential, layers: Iterable[str], pool: str = "avg"):
        super().__init__()
        names = layer_names(features)
        if isinstance(layers, str) or not isinstance(layers, Iterable):
            raise ValueError(f"layers must be a sequence of layer names such as ('relu1_1', 'relu2_1'), got {layers!r}")
        layers = tuple(layers)
        if not layers:
            raise ValueError("layers must name at least one layer, got an empty sequence")
        for name in layers:
            if name not in names:
                raise UnknownName("VGG layer", name, names)
        if pool not in POOLS:
            raise UnknownName("pooling", pool, POOLS)
        last = max(names.index(name) for name in layers)
        kept = OrderedDict()
        for name, module in zip(names[: last + 1], list(features)[: last + 1], strict=True):
            if isinstance(module, nn.ReLU):
                module = nn.ReLU(inplace=False)
            elif isinstance(module, nn.MaxPool2d) and pool == "avg":
                module = nn.AvgPool2d(module.kernel_size, module.stride, module.padding)
            kept[name] = module
        self.body = nn.Sequential(kept)
        self.layers = layers
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: (N, 3, H, W) in [0, 1] -> {name: (N, C, h, w)} for each of `layers`, in that order."""
        check_images(x, "VGGFeatures", 3)
        h = (x - self.mean) / self.std
        found = {}
        for name, module in self.body.named_children():
            h = module(h)
            if name in self.layers:
                found[name] = h
        return {name: found[name] for name in self.layers}


# ----------------------------------------------------------------------------------------------
# Optimising the image


@dataclass
class Optimized:
    """What `optimize_image` returns.

    image: the final image (N, C, H, W), values in [0, 1], detached; losses: ``steps + 1`` floats,
    losses[0] at the start image and losses[k] after k steps; snapshots: {step: image (N, C, H, W)}
    for the steps asked for in ``keep`` (0 = the start image).
    """

    image: torch.Tensor
    losses: list[float] = field(default_factory=list)
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """Final loss / initial loss: 0.1 means the loss fell to a tenth (inf if it started at 0)."""
        return self.losses[-1] / self.losses[0] if self.losses[0] else math.inf


def _evaluate(loss_fn: Callable, image: torch.Tensor) -> torch.Tensor:
    loss = loss_fn(image)
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise TypeError(f"loss_fn(image) must return a scalar tensor, got {shape}")
    if not loss.requires_grad:
        raise TypeError(
            "loss_fn(image) returned a loss without a gradient: compute it from the image it is given "
            "(not from a copy, and not under torch.no_grad())"
        )
    if not torch.isfinite(loss):
        raise FloatingPointError(f"the loss became {loss.item()}; lower the learning rate or the loss weights")
    return loss


def optimize_image(
    image: torch.Tensor,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    steps: int,
    method: str = "lbfgs",
    lr: float | None = None,
    keep: Iterable[int] = (),
) -> Optimized:
    """Change the pixels of `image` to lower ``loss_fn(image)``; the network inside loss_fn stays fixed.

    image: float (N, C, H, W) in [0, 1], the start (noise for a texture, the content photo for style
    transfer); it is copied, never changed. loss_fn: image (N, C, H, W) -> scalar tensor; it always
    sees the pixels clipped to [0, 1]. method: "lbfgs" (as Gatys et al.: L-BFGS, one iteration and
    one evaluation of loss_fn per step, step size `lr`, default 1) or "adam" (`lr` default 0.05,
    and after each step the pixels are clipped back into [0, 1]). keep: steps (0..steps) after
    which to keep a copy of the image. Returns an `Optimized`: image, ``steps + 1`` losses, snapshots.
    Scale the loss to about 1 at the start (see `coursekit.losses.relative_style_loss`): L-BFGS
    ignores curvature below a fixed size and barely moves on a loss of 1e-5. It also ignores
    curvature where the loss bends downwards, and then takes plain gradient steps -- as from a flat
    grey start; start from noise or from a photo, or take Adam.
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 4 or not image.is_floating_point():
        got = f"{image.dtype} {tuple(image.shape)}" if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a float tensor (N, C, H, W) with values in [0, 1], got {got}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function image -> scalar loss, got {type(loss_fn).__name__}")
    steps = positive_int("steps", steps)
    if method not in METHODS:
        raise UnknownName("image optimisation method", method, METHODS)
    lr = DEFAULT_LR[method] if lr is None else positive_number("lr", lr)
    if isinstance(keep, (str, bytes)) or not isinstance(keep, Iterable):
        raise ValueError(f"keep must be a sequence of step numbers, got {keep!r}")
    keep = tuple(keep)
    for i, step in enumerate(keep):
        positive_int(f"keep[{i}]", step, minimum=0)
        if step > steps:
            raise ValueError(f"keep[{i}] = {step} is after the last step ({steps}); keep steps in 0..{steps}")

    pixels = image.detach().clone(memory_format=torch.contiguous_format).clamp_(0, 1).requires_grad_(True)
    if method == "lbfgs":  # no line search: one evaluation per step; the history carries over between steps
        optimizer = torch.optim.LBFGS([pixels], lr=lr, max_iter=1, tolerance_grad=0.0, tolerance_change=0.0)
    else:
        optimizer = torch.optim.Adam([pixels], lr=lr)
    result = Optimized(image=pixels.detach())

    def closure():
        optimizer.zero_grad(set_to_none=True)
        loss = _evaluate(loss_fn, pixels.clamp(0, 1))
        loss.backward()
        result.losses.append(loss.item())  # the loss at the image this step starts from
        return loss

    if 0 in keep:
        result.snapshots[0] = pixels.detach().clone()
    for step in range(1, steps + 1):
        optimizer.step(closure)
        if method == "adam":
            with torch.no_grad():
                pixels.clamp_(0, 1)
        if step in keep:
            result.snapshots[step] = pixels.detach().clamp(0, 1)
    with torch.no_grad():
        final = pixels.detach().clamp(0, 1)
        result.losses.append(float(loss_fn(final)))
    result.image = final
    return result
