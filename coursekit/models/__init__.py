"""The course's networks, one architecture per module, each readable top to bottom.

- `blocks`     shared building blocks: `conv3x3`, `conv1x1`, `conv_bn_relu`, `scaled`
- `lenet`      LeNet-5 (LeCun et al. 1998)
- `alexnet`    AlexNet (Krizhevsky et al. 2012) and a small-image variant
- `vgg`        VGG from a block configuration (Simonyan & Zisserman 2015)
- `resnet`     residual and bottleneck blocks, ResNet (He et al. 2016)
- `densenet`   dense blocks and transitions (Huang et al. 2017)
- `nin`        Network in Network: `nin_block`, `NiN`, the 1x1-conv + global-average-pool head (Lin et al. 2013)
- `inception`  the `Inception` block and `GoogLeNet`, with auxiliary classifiers (Szegedy et al. 2015)
- `mobilenet`  `DepthwiseSeparable`, `InvertedResidual`, `MobileNetV2` (Howard et al. 2017, Sandler et al. 2018)
- `senet`      squeeze-and-excitation: `SEBlock`, `SEResidualBlock`, `SEResNet` (Hu et al. 2018)
- `imagenet`   `pretrained()`: torchvision's ImageNet models, loaded safely and offline-aware
- `transfer`   a new head, a frozen backbone, two learning rates: `replace_head`, `freeze_backbone`,
               `keep_frozen_bn`, `backbone_and_head`
- `table`      `summary()`, a per-layer table: output shape and parameter count
- `flops`      `count_flops()`, the arithmetic of one forward pass
- `detection`  `GridDetector`: a YOLO-style grid of boxes and classes (Redmon et al. 2016)
- `unet`       `UNet`: per-pixel classes, transposed-convolution upsampling and skips (Ronneberger et al. 2015)
- `embedding`  `EmbeddingNet`: images to unit-length vectors, for verification by distance

Everything is importable from here, e.g. ``from coursekit.models import LeNet5, summary``;
each name is loaded from its module on first use. Bad sizes (0, -1, 2.5 channels) raise
ValueError naming the argument; unknown names (activation, pool, stem, block, configuration,
pretrained model) raise `coursekit.errors.UnknownName`; a forward pass on input of the wrong
shape, channel count or dtype says what the model expects and what it got.
"""

import importlib

_WHERE = {
    "conv3x3": "blocks",
    "conv1x1": "blocks",
    "conv_bn_relu": "blocks",
    "scaled": "blocks",
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
    "replace_head": "transfer",
    "freeze_backbone": "transfer",
    "keep_frozen_bn": "transfer",
    "backbone_and_head": "transfer",
    "summary": "table",
    "count_parameters": "table",
    "EmbeddingNet": "embedding",
    "GridDetector": "detection",
    "UNet": "unet",
    "nin_block": "nin",
    "NiN": "nin",
    "gap_head": "nin",
    "Inception": "inception",
    "InceptionAux": "inception",
    "GoogLeNet": "inception",
    "depthwise_conv": "mobilenet",
    "DepthwiseSeparable": "mobilenet",
    "InvertedResidual": "mobilenet",
    "MobileNetV2": "mobilenet",
    "SEBlock": "senet",
    "SEResidualBlock": "senet",
    "SEResNet": "senet",
    # (new entries go above this line)
}


def __getattr__(name):
    if name in _WHERE:
        module = importlib.import_module(f"{__name__}.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_WHERE))
