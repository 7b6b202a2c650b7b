"""Exercises of notebook 01 (images as arrays): shapes, channel orders, counting numbers."""
from . import exercise


@exercise("images.rgb_numbers",
          hint="An RGB image stores one number per pixel per channel: height x width x channels.")
def _rgb_numbers():
    import torch

    return torch.zeros(3, 48, 64).numel()  # one 48 x 64 RGB image, CHW


@exercise("images.nchw_shape",
          hint="permute(0, 3, 1, 2) picks the old axes in that order: batch, channels, height, width.")
def _nchw_shape():
    import torch

    batch_nhwc = torch.zeros(16, 32, 32, 3)  # 16 RGB images of 32 x 32, channels last
    return tuple(batch_nhwc.permute(0, 3, 1, 2).shape)


@exercise("images.tensor_order",
          hint="The order is the number of indices you need to reach one number: count the axes (ndim).")
def _tensor_order():
    import numpy as np

    # a batch of 8 grey 28 x 28 images, each with its single channel axis
    return np.zeros((8, 1, 28, 28)).ndim
