"""Exercises of the transfer-learning notebook: heads, frozen parameters and the ants/bees data."""
from . import exercise


def _resnet18_two_classes():
    from torchvision.models import resnet18

    from ..models.imagenet import freeze_backbone, replace_head

    model = resnet18(weights=None)
    replace_head(model, 2)
    return model, freeze_backbone(model)


@exercise("transfer.feature_size",
          hint="Look at model.fc of torchvision's resnet18: how many inputs does the classifier take?")
def _feature_size():
    model, _ = _resnet18_two_classes()
    return model.fc.in_features


@exercise("transfer.trainable_parameters",
          hint="Only the new head learns: a linear layer has (inputs x outputs) weights plus one bias per output.")
def _trainable_parameters():
    _, trainable = _resnet18_two_classes()
    return trainable


@exercise("transfer.training_images",
          hint="Count the images hymenoptera() keeps in its training ImageFolder (len of the dataset).")
def _training_images():
    from ..data import hymenoptera

    train, _ = hymenoptera()
    return len(train)


@exercise("transfer.frozen_fraction",
          hint="Divide the frozen parameters by all parameters of the two-class ResNet-18; answer as a float.",
          tol=1e-4)
def _frozen_fraction():
    model, trainable = _resnet18_two_classes()
    total = sum(p.numel() for p in model.parameters())
    return (total - trainable) / total
