"""Exercises of the welcome notebook (00): reading a dataset's shape and labels."""

from . import exercise


@exercise("welcome.pixels_per_image", hint="An MNIST image is a square grid; multiply its height by its width.")
def _pixels_per_image():
    from ..data import load_idx

    images, _ = load_idx("mnist", train=True)
    return images[0].numel()


@exercise(
    "welcome.test_baseline",
    hint="The baseline always answers the digit that is most common among the training labels. "
    "Its test accuracy is how often that digit occurs among the test labels, as a fraction "
    "between 0 and 1 (not a percentage).",
    tol=1e-4,
)
def _test_baseline():
    from ..data import load_idx

    _, train_labels = load_idx("mnist", train=True)
    _, test_labels = load_idx("mnist", train=False)
    majority = int(train_labels.bincount().argmax())  # the digit the baseline always answers
    return int((test_labels == majority).sum()) / len(test_labels)


@exercise(
    "welcome.batch_shape", hint="A batch is (N, C, H, W): N images, C channels (grey = 1), then height and width."
)
def _batch_shape():
    from ..data import load_idx

    images, _ = load_idx("mnist", train=False)
    return tuple(images[:32].shape)  # 32 test images stacked: (N, C, H, W)
