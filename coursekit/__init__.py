"""coursekit: the code behind the "CNNs, hands-on" notebooks.

One concept per module:

- `coursekit.ops`       convolution, padding, stride and pooling from scratch in NumPy
- `coursekit.layers`    the same layers with a backward pass (NumPy): conv, pooling, ReLU, linear,
                        softmax and cross-entropy, im2col, gradient checks
- `coursekit.filters`   named kernels (blur, sharpen, Sobel, …)
- `coursekit.data`      datasets found in data/, a mirror or online; fast in-memory batches and
                        train/validation/test splits (a package: locations, prepare, datasets, loaders)
- `coursekit.files`     writing a file atomically, hashing it
- `coursekit.errors`    the exception every lookup of an unknown name raises
- `coursekit.checkpoint` saving and loading trained weights safely
- `coursekit.device`    the device to compute on, seeding, an environment report
- `coursekit.profile`   how much work a notebook may do on this machine (ci | cpu | gpu)
- `coursekit.models`    the course's networks and their building blocks, readable top to bottom
- `coursekit.augment`   batch augmentation on the device
- `coursekit.train`     `fit`, `evaluate` and `predict`
- `coursekit.callbacks` what `fit` can be extended with: progress bar, live plot, keep-best, ...
- `coursekit.distributed` data-parallel training with torch.distributed: the process group from
                        torchrun's environment, DDP, a loader sharded by rank, numbers summed over
                        ranks, checkpoints from rank 0, and the arithmetic of how it scales
- `coursekit.launch`    the data-parallel training script: ``torchrun --nproc-per-node=N -m coursekit.launch``
- `coursekit.race`      the architecture race: small networks trained on one recipe, measured side by side
- `coursekit.speedrun`  recipes, measured runs over seeds, ablations, where a training step's time goes
- `coursekit.metrics`   accuracy and the confusion matrix; mean IoU of segmentations; ROC curve, AUC and
                        verification pairs
- `coursekit.boxes`     boxes: IoU, non-maximum suppression, mAP, the YOLO-style grid encoding
- `coursekit.losses`    losses torch does not have: detection, contrastive and triplet mining, Gram/style/content
- `coursekit.style`     texture synthesis and style transfer: random and VGG feature extractors, image optimisation
- `coursekit.explain`   what a trained CNN responds to and where it looks: receptive fields, top patches,
                        saliency, Grad-CAM, occlusion
- `coursekit.viz`       image grids, signed matrices, confusion matrices and training curves
- `coursekit.widgets`   interactive explorers for the notebooks
- `coursekit.checks`    self-checks for the exercises (instructor solutions in solutions/)

Import what you need from the module that owns it, e.g. ``from coursekit.train import fit``.
"""

__version__ = "0.1.0"
