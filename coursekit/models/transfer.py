"""Transfer learning: a new head on a trained network, a frozen backbone, two learning rates.

The helpers work on any network whose classifier is a linear layer in its ``fc`` attribute --
torchvision's ResNets and coursekit's `ResNet`. Everything before ``fc`` is the *backbone*::

    image (N, C, H, W) -> backbone -> features (N, fc.in_features) -> fc -> logits (N, num_classes)

- `replace_head(model, k)`: a fresh ``nn.Linear(fc.in_features, k)`` for the new task's k classes;
- `freeze_backbone(model)`: only ``fc`` keeps ``requires_grad`` (feature extraction);
- `keep_frozen_bn(model)`: ``model.train()`` leaves frozen BatchNorm layers in eval mode, so their
  running statistics stay those of the original data;
- `backbone_and_head(model)`: the two parameter lists, for optimizer groups with different
  learning rates (fine-tuning).
"""

from __future__ import annotations

import types

from torch import nn

from ._args import check_module, positive_int

HEAD = "fc"  # the attribute that holds the classifier


def _head(model, caller: str) -> nn.Linear:
    """``model.fc`` if it is an ``nn.Linear``; TypeError saying what `caller` needs otherwise."""
    check_module(model, caller)
    head = getattr(model, HEAD, None)
    if not isinstance(head, nn.Linear):
        found = "no attribute fc" if head is None else f"fc is a {type(head).__name__}"
        raise TypeError(
            f"{caller} needs a network whose classifier is an nn.Linear in model.fc (like "
            f"torchvision's and coursekit's ResNets); {type(model).__name__} has {found}"
        )
    return head


def _is_head(name: str) -> bool:
    return name.startswith(HEAD + ".")


def replace_head(model: nn.Module, num_classes: int) -> nn.Linear:
    """Put a new, freshly initialised linear classifier `model.fc` with `num_classes` outputs.

    The new head maps (N, fc.in_features) -> (N, num_classes) and is returned. It is created on the
    device and with the dtype of the head it replaces.
    """
    old = _head(model, "replace_head")
    num_classes = positive_int("num_classes", num_classes)
    head = nn.Linear(
        old.in_features, num_classes, bias=old.bias is not None, device=old.weight.device, dtype=old.weight.dtype
    )
    setattr(model, HEAD, head)
    return head


def freeze_backbone(model: nn.Module) -> int:
    """Stop gradients everywhere except `model.fc`; return the number of trainable parameters left.

    The frozen part should also keep its BatchNorm statistics: see `keep_frozen_bn`.
    """
    _head(model, "freeze_backbone")
    for name, p in model.named_parameters():
        p.requires_grad = _is_head(name)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _is_frozen(bn: nn.Module, backbone_frozen: bool) -> bool:
    params = list(bn.parameters())
    return not any(p.requires_grad for p in params) if params else backbone_frozen


def _train_keeping_frozen_bn(self: nn.Module, mode: bool = True) -> nn.Module:
    type(self).train(self, mode)
    backbone_frozen = not any(p.requires_grad for n, p in self.named_parameters() if not _is_head(n))
    for m in self.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and _is_frozen(m, backbone_frozen):
            m.eval()
    return self


def keep_frozen_bn(model: nn.Module) -> nn.Module:
    """Make ``model.train()`` leave every BatchNorm whose parameters are frozen in eval mode.

    Feature extraction means the backbone does not change at all -- including BatchNorm's running
    statistics, which training mode would otherwise keep updating from the new data. A BatchNorm
    without parameters (``affine=False``) counts as frozen when nothing outside the head trains.
    Calling it twice changes nothing more; ``copy.deepcopy(model)`` keeps the behaviour. Returns
    `model`.
    """
    check_module(model, "keep_frozen_bn")
    # A method bound to this instance (not a closure over it), so that a deep copy rebinds it.
    model.train = types.MethodType(_train_keeping_frozen_bn, model)
    return model


def backbone_and_head(model: nn.Module) -> tuple[list, list]:
    """(backbone parameters, head parameters) for two optimizer groups with different learning rates."""
    _head(model, "backbone_and_head")
    head = [p for n, p in model.named_parameters() if _is_head(n)]
    backbone = [p for n, p in model.named_parameters() if not _is_head(n)]
    return backbone, head
