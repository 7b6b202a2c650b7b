"""The course's networks, one architecture per module, each readable top to bottom.

- `lenet`      LeNet-5 (LeCun et al. 1998)
- `alexnet`    AlexNet (Krizhevsky et al. 2012) and a small-image variant
- `vgg`        VGG from a block configuration (Simonyan & Zisserman 2015)
- `resnet`     residual and bottleneck blocks, ResNet (He et al. 2016)
- `imagenet`   `pretrained()`: torchvision's ImageNet models, loaded safely and offline-aware
- `table`      `summary()`, a per-layer table: output shape and parameter count

Everything is importable from here, e.g. ``from coursekit.models import LeNet5, summary``;
each name is loaded from its module on first use.
"""
import importlib

_WHERE = {
    "LeNet5": "lenet",
    "AlexNet": "alexnet",
    "VGG": "vgg",
    "ResidualBlock": "resnet",
    "Bottleneck": "resnet",
    "ResNet": "resnet",
    "DenseLayer": "densenet",
    "DenseBlock": "densenet",
    "Transition": "densenet",
    "count_flops": "flops",
    "flops_by_layer": "flops",
    "pretrained": "imagenet",
    "WeightsUnavailable": "imagenet",
    "summary": "table",
    "count_parameters": "table",
}


def __getattr__(name):
    if name in _WHERE:
        module = importlib.import_module(f"{__name__}.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_WHERE))
