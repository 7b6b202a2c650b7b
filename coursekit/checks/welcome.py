"""Exercises of the welcome notebook: reading a dataset's shape and labels."""
from . import exercise


@exercise("welcome.pixels_per_image", hint="An MNIST image is a square grid; multiply its height by its width.")
def _pixels_per_image():
    from ..data import load_idx

    images, _ = load_idx("mnist", train=True)
    return images[0].numel()


@exercise("welcome.rarest_digit", hint="Count the training labels per class (torch.bincount) and take the argmin.")
def _rarest_digit():
    from ..data import load_idx

    _, labels = load_idx("mnist", train=True)
    return int(labels.bincount().argmin())


@exercise("welcome.batch_shape",
          hint="A batch is (N, C, H, W): N images, C channels (grey = 1), then height and width.")
def _batch_shape():
    from ..data import load_idx

    images, _ = load_idx("mnist", train=False)
    return tuple(images[:32].shape)  # 32 test images stacked: (N, C, H, W)
