"""coursekit: the code behind the "CNNs, hands-on" notebooks.

One concept per module:

- `coursekit.ops`      convolution, padding, stride and pooling from scratch in NumPy
- `coursekit.filters`  named kernels (blur, sharpen, Sobel, …)
- `coursekit.data`     datasets found in data/, a mirror or online; fast in-memory batches
- `coursekit.device`   the device to compute on, seeding, an environment report
- `coursekit.profile`  how much work a notebook may do on this machine (ci | cpu | gpu)
- `coursekit.models`   the course's networks, readable top to bottom
- `coursekit.train`    `fit` and `evaluate`
- `coursekit.viz`      image grids and training curves
- `coursekit.widgets`  interactive explorers for the notebooks
- `coursekit.checks`   self-checks for the exercises

Import what you need from the module that owns it, e.g. ``from coursekit.train import fit``.
"""
__version__ = "0.1.0"
