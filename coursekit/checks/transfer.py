"""Exercises of the transfer-learning notebook: heads, frozen parameters and the ants/bees data."""

from . import exercise


def _resnet18_two_classes():
    """torchvision's ResNet-18 with a new 2-class head and a frozen backbone: (model, trainable count)."""
    from torchvision.models import resnet18

    from ..models.transfer import freeze_backbone, replace_head

    model = resnet18(weights=None)
    replace_head(model, 2)
    return model, freeze_backbone(model)


@exercise(
    "transfer.feature_size",
    hint="The classifier takes one number per feature map of the last stage, after global average "
    "pooling: how many maps does ResNet-18's last stage output?",
)
def _feature_size():
    model, _ = _resnet18_two_classes()
    return model.fc.in_features


@exercise(
    "transfer.trainable_parameters",
    hint="Only the new head learns: a linear layer has (inputs x outputs) weights plus one bias per output.",
)
def _trainable_parameters():
    _, trainable = _resnet18_two_classes()
    return trainable


@exercise(
    "transfer.frozen_parameters",
    hint="Count every parameter of the two-class ResNet-18 (the whole network, not only its head), "
    "then take away the ones that still learn.",
)
def _frozen_parameters():
    # An exact integer: "everything frozen" or "nothing frozen" cannot pass as a rounding of it.
    model, _ = _resnet18_two_classes()
    return sum(p.numel() for p in model.parameters() if not p.requires_grad)


@exercise(
    "transfer.training_per_class",
    hint="The training ImageFolder knows the label of every photo it kept without opening any "
    "image; count each label. Answer (ants, bees), in the order of .classes.",
)
def _training_per_class():
    from ..data import hymenoptera

    train, _ = hymenoptera()
    return tuple(sum(1 for t in train.targets if t == c) for c in range(len(train.classes)))
