"""Exercises of notebook 01 (images as arrays): shapes, channel orders, counting numbers."""

from . import exercise


@exercise("images.rgb_numbers", hint="An RGB image stores one number per pixel per channel: height x width x channels.")
def _rgb_numbers():
    import torch

    return torch.zeros(3, 48, 64).numel()  # one 48 x 64 RGB image, CHW


@exercise(
    "images.nchw_shape", hint="permute(0, 3, 1, 2) picks the old axes in that order: batch, channels, height, width."
)
def _nchw_shape():
    import torch

    batch_nhwc = torch.zeros(16, 32, 32, 3)  # 16 RGB images of 32 x 32, channels last
    return tuple(batch_nhwc.permute(0, 3, 1, 2).shape)


@exercise(
    "images.video_tensor",
    hint="The order is the number of axes, one per letter of (N, C, T, H, W); the count of "
    "numbers is the product of all the axis lengths. Answer as a tuple (order, numbers).",
)
def _video_tensor():
    import torch

    clips = torch.zeros(4, 3, 16, 32, 32)  # 4 RGB clips of 16 frames of 32 x 32: (N, C, T, H, W)
    return (clips.ndim, clips.numel())
