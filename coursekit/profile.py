"""One notebook, three machines: the run profiles.

A profile says how much work a notebook may do. The same notebook serves

* ``ci``  -- the test machine: 2 CPU cores, minutes not hours; small subsets, few epochs;
* ``cpu`` -- a student's laptop: the full lesson within minutes per notebook;
* ``gpu`` -- a CUDA machine: the full datasets and the paper-like budgets.

The profile comes from the environment variable ``COURSEKIT_PROFILE``; without it, ``gpu`` when
CUDA is available, else ``cpu``. Notebooks never branch on the profile themselves: they ask
``settings("lenet")`` for their numbers (epochs, subset sizes, image size, thresholds) and use
whatever comes back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from .errors import UnknownName

PROFILE_ENV = "COURSEKIT_PROFILE"
PROFILES = ("ci", "cpu", "gpu")

# One table per lesson. Every profile of a lesson has the same keys (a test checks it).
# `train_subset=None` means the whole training split (less `val_size`). `val_size`: images held out of the
# training split for validation -- every choice during training (best epoch, comparisons) is made on
# them, and the test set is evaluated once, at the end. `min_accuracy` is the test accuracy the notebook
# asserts after training in that profile. No profile holds a time limit: notebooks print how long they
# trained, and speed is measured by benchmarks/, never asserted.
SECTIONS: dict[str, dict[str, dict]] = {
    # 13_transfer_learning. Offline path: a small ResNet pretrained on MNIST digits 0-4
    # (source), transferred to digits 5-9 with `target_per_class` labels each (same target budget for
    # every strategy); asserts transfer beats scratch by `min_transfer_gain`. ImageNet path (only with
    # weights): ants/bees at 224 px, `imagenet_epochs` per strategy, `min_accuracy` for the pretrained ones.
    "transfer": {
        "ci": dict(
            width=8,
            source_subset=6000,
            source_epochs=2,
            target_per_class=10,
            target_epochs=30,
            test_subset=1000,
            lr=0.05,
            min_source_accuracy=0.90,
            min_transfer_gain=0.03,
            imagenet_epochs=2,
            imagenet_subset=64,
            min_accuracy=0.80,
        ),
        "cpu": dict(
            width=8,
            source_subset=15000,
            source_epochs=3,
            target_per_class=10,
            target_epochs=30,
            test_subset=None,
            lr=0.05,
            min_source_accuracy=0.95,
            min_transfer_gain=0.03,
            imagenet_epochs=5,
            imagenet_subset=None,
            min_accuracy=0.90,
        ),
        "gpu": dict(
            width=16,
            source_subset=None,
            source_epochs=5,
            target_per_class=10,
            target_epochs=30,
            test_subset=None,
            lr=0.05,
            min_source_accuracy=0.97,
            min_transfer_gain=0.03,
            imagenet_epochs=15,
            imagenet_subset=None,
            min_accuracy=0.92,
        ),
    },
    # 07_learning_filters: a small conv net (global max pool) vs an MLP on MNIST, both tested on the
    # test set as is and shifted 3 pixels right and down. `min_*_accuracy`: unshifted test accuracy;
    # `min_conv_shifted_accuracy`: the conv net on shifted digits; `min_shift_advantage`: how much
    # better than the MLP the conv net must do on shifted digits.
    "learning_filters": {
        "ci": dict(
            epochs=2,
            train_subset=10_000,
            val_size=2000,
            batch_size=64,
            lr=3e-3,
            min_conv_accuracy=0.93,
            min_mlp_accuracy=0.90,
            min_conv_shifted_accuracy=0.80,
            min_shift_advantage=0.40,
        ),
        "cpu": dict(
            epochs=3,
            train_subset=None,
            val_size=5000,
            batch_size=64,
            lr=3e-3,
            min_conv_accuracy=0.97,
            min_mlp_accuracy=0.95,
            min_conv_shifted_accuracy=0.85,
            min_shift_advantage=0.50,
        ),
        "gpu": dict(
            epochs=6,
            train_subset=None,
            val_size=5000,
            batch_size=128,
            lr=3e-3,
            min_conv_accuracy=0.98,
            min_mlp_accuracy=0.96,
            min_conv_shifted_accuracy=0.85,
            min_shift_advantage=0.50,
        ),
    },
    # 10_alexnet_vgg: AlexNet-style net (AlexNet.small(width, hidden), BatchNorm) on 28x28 Fashion-MNIST: SGD +
    # Nesterov momentum + weight decay, one-cycle to `lr`, crop (`padding`) + flip augmentation. `aug_*`: the
    # plain vs augmented comparison on `aug_subset` training images for `aug_epochs` (the notebook asserts that
    # augmentation shrinks the train-test gap and reports the test-accuracy change). `test_subset`: evaluate
    # on the first n test images (None: all).
    "alexnet": {
        "ci": dict(
            epochs=2,
            train_subset=5000,
            val_size=2000,
            test_subset=2000,
            batch_size=128,
            lr=0.1,
            weight_decay=5e-4,
            width=0.25,
            hidden=512,
            padding=2,
            aug_subset=2000,
            aug_epochs=3,
            min_accuracy=0.65,
        ),
        "cpu": dict(
            epochs=8,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=128,
            lr=0.1,
            weight_decay=5e-4,
            width=0.25,
            hidden=512,
            padding=2,
            aug_subset=2000,
            aug_epochs=20,
            min_accuracy=0.90,
        ),
        "gpu": dict(
            epochs=30,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=256,
            lr=0.1,
            weight_decay=5e-4,
            width=1.0,
            hidden=1024,
            padding=2,
            aug_subset=2000,
            aug_epochs=40,
            min_accuracy=0.92,
        ),
    },
    # 10_alexnet_vgg: VGG-style net VGG(config, hidden=hidden, pooled=3, batch_norm=True), the alexnet recipe.
    "vgg": {
        "ci": dict(
            epochs=2,
            train_subset=5000,
            val_size=2000,
            test_subset=2000,
            batch_size=128,
            lr=0.1,
            weight_decay=5e-4,
            config=((2, 32), (2, 64), (2, 128)),
            hidden=256,
            padding=2,
            min_accuracy=0.65,
        ),
        "cpu": dict(
            epochs=7,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=128,
            lr=0.1,
            weight_decay=5e-4,
            config=((2, 32), (2, 64), (2, 128)),
            hidden=256,
            padding=2,
            min_accuracy=0.915,
        ),
        "gpu": dict(
            epochs=30,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=256,
            lr=0.1,
            weight_decay=5e-4,
            config=((2, 64), (2, 128), (3, 256)),
            hidden=512,
            padding=2,
            min_accuracy=0.94,
        ),
    },
    # 11_resnet: plain vs residual nets of depth 8 and 32 on a Fashion-MNIST subset (training loss only).
    "degradation": {
        "ci": dict(train_subset=1024, epochs=1, batch_size=128, lr=0.1, max_train_loss=2.5),
        "cpu": dict(train_subset=2048, epochs=6, batch_size=128, lr=0.1, max_train_loss=1.5),
        "gpu": dict(train_subset=None, epochs=10, batch_size=128, lr=0.1, max_train_loss=0.5),
    },
    # 11_resnet: a small ResNet for 28x28 Fashion-MNIST (SGD + one-cycle). augment: random flips, and random
    # shifts of up to crop_padding pixels when that is > 0 (coursekit.augment.FlipCrop).
    "resnet": {
        "ci": dict(
            epochs=1,
            train_subset=4096,
            val_size=2000,
            test_subset=2000,
            batch_size=128,
            lr=0.1,
            augment=False,
            crop_padding=0,
            label_smoothing=0.1,
            min_accuracy=0.6,
        ),
        "cpu": dict(
            epochs=12,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=256,
            lr=0.2,
            augment=True,
            crop_padding=0,
            label_smoothing=0.1,
            min_accuracy=0.93,
        ),
        "gpu": dict(
            epochs=30,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=256,
            lr=0.2,
            augment=True,
            crop_padding=2,
            label_smoothing=0.1,
            min_accuracy=0.94,
        ),
    },
    "lenet": {
        # AdamW + one-cycle LR; `shift`: digits moved by up to that many pixels (augment.FlipCrop, no flips).
        # `compare_*`: the budget of each run in the 1998-vs-modern comparison.
        "ci": dict(
            epochs=2,
            train_subset=None,
            val_size=2000,
            batch_size=128,
            lr=4e-3,
            weight_decay=1e-4,
            shift=0,
            min_accuracy=0.985,
            compare_epochs=1,
            compare_subset=12000,
            compare_min_accuracy=0.9,
        ),
        "cpu": dict(
            epochs=4,
            train_subset=None,
            val_size=5000,
            batch_size=128,
            lr=6e-3,
            weight_decay=1e-4,
            shift=1,
            min_accuracy=0.99,
            compare_epochs=2,
            compare_subset=30000,
            compare_min_accuracy=0.98,
        ),
        "gpu": dict(
            epochs=8,
            train_subset=None,
            val_size=5000,
            batch_size=256,
            lr=6e-3,
            weight_decay=1e-4,
            shift=2,
            min_accuracy=0.992,
            compare_epochs=3,
            compare_subset=None,
            compare_min_accuracy=0.98,
        ),
    },
    # 08_backpropagation: a CNN written in NumPy (coursekit.layers: conv 5x5 with `channels` filters -> ReLU ->
    # max pool 2 -> linear) trained by its own backward pass and plain SGD on an MNIST subset; `min_accuracy`
    # is its test accuracy. `loop_subset`: training images for the written-out PyTorch loop run beside `fit`.
    "backprop": {
        "ci": dict(
            train_subset=5000,
            val_size=1000,
            test_subset=2000,
            epochs=2,
            batch_size=64,
            lr=0.05,
            channels=8,
            loop_subset=2000,
            min_accuracy=0.85,
        ),
        "cpu": dict(
            train_subset=30000,
            val_size=5000,
            test_subset=None,
            epochs=3,
            batch_size=64,
            lr=0.05,
            channels=8,
            loop_subset=10000,
            min_accuracy=0.95,
        ),
        "gpu": dict(
            train_subset=None,
            val_size=5000,
            test_subset=None,
            epochs=4,
            batch_size=64,
            lr=0.05,
            channels=8,
            loop_subset=None,
            min_accuracy=0.97,
        ),
    },
    # 17_distributed_training and `python -m coursekit.launch` (its defaults): data-parallel training, 1 process
    # against `nproc` processes on the CPU (gloo; on a machine with several GPUs, one process per GPU) with the
    # same seed and the same global batch nproc * batch_per_rank; `lr` belongs to that global batch (AdamW,
    # one-cycle). `model`: "lenet" (MNIST) or "resnet" (ResNet.fashion() on Fashion-MNIST). `min_accuracy`: the
    # test accuracy both runs must reach; `accuracy_tolerance`: how far their test accuracies may differ (float
    # rounding only for "lenet"; for "resnet" also batch norm's per-rank statistics).
    "distributed": {
        "ci": dict(
            model="lenet",
            train_subset=8192,
            val_size=1000,
            test_subset=1000,
            epochs=2,
            nproc=2,
            batch_per_rank=64,
            lr=8e-3,
            weight_decay=1e-4,
            min_accuracy=0.9,
            accuracy_tolerance=0.01,
        ),
        "cpu": dict(
            model="lenet",
            train_subset=None,
            val_size=5000,
            test_subset=None,
            epochs=3,
            nproc=2,
            batch_per_rank=64,
            lr=6e-3,
            weight_decay=1e-4,
            min_accuracy=0.985,
            accuracy_tolerance=0.01,
        ),
        "gpu": dict(
            model="resnet",
            train_subset=None,
            val_size=5000,
            test_subset=None,
            epochs=5,
            nproc=2,
            batch_per_rank=128,
            lr=4e-3,
            weight_decay=1e-4,
            min_accuracy=0.9,
            accuracy_tolerance=0.015,
        ),
    },
    # 16_verification_and_style, part 1: an EmbeddingNet(dim, width) trained with the batch-hard triplet loss
    # (`margin`, Adam at `lr`) on the Fashion-MNIST `train_classes` of the training split (2,000 held out to
    # watch the loss; `train_subset` of the other 34,000, None: all), then verifying `n_pairs` balanced pairs
    # of the `heldout_classes` -- never seen in training -- of the test split. Asserts ROC AUC >= `min_auc` and
    # >= the raw-pixel AUC + `min_auc_gain`; test accuracy >= `min_verification_accuracy` at the threshold
    # chosen on validation pairs (unseen classes, training split); retrieval precision@5 >=
    # `min_precision_at_5` (chance: about 0.25).
    "verification": {
        "ci": dict(
            train_classes=(0, 1, 2, 3, 4, 5),
            heldout_classes=(6, 7, 8, 9),
            train_subset=12_000,
            epochs=2,
            batch_size=128,
            lr=3e-3,
            width=8,
            dim=32,
            margin=0.2,
            n_pairs=2000,
            min_auc=0.85,
            min_verification_accuracy=0.75,
            min_auc_gain=0.04,
            min_precision_at_5=0.6,
        ),
        "cpu": dict(
            train_classes=(0, 1, 2, 3, 4, 5),
            heldout_classes=(6, 7, 8, 9),
            train_subset=None,
            epochs=2,
            batch_size=128,
            lr=3e-3,
            width=8,
            dim=32,
            margin=0.2,
            n_pairs=6000,
            min_auc=0.88,
            min_verification_accuracy=0.80,
            min_auc_gain=0.08,
            min_precision_at_5=0.7,
        ),
        "gpu": dict(
            train_classes=(0, 1, 2, 3, 4, 5),
            heldout_classes=(6, 7, 8, 9),
            train_subset=None,
            epochs=10,
            batch_size=256,
            lr=3e-3,
            width=32,
            dim=64,
            margin=0.2,
            n_pairs=20_000,
            min_auc=0.92,
            min_verification_accuracy=0.85,
            min_auc_gain=0.10,
            min_precision_at_5=0.75,
        ),
    },
    # 16_verification_and_style, part 2: optimise an image. Offline path: `coursekit.style.RandomFeatures`
    # (`channels` random filters per kernel size, default sizes 1-15); a texture of `texture_size` pixels from
    # noise, `steps` L-BFGS steps, asserts final Gram loss <= `max_texture_ratio` x initial; style transfer on
    # an ants/bees photo of `transfer_size` pixels: content = the `content_layer` maps averaged over
    # `content_pool` x `content_pool` blocks, loss = content + `style_weight` x style, asserts the style part
    # falls to <= `max_transfer_ratio` of its start. VGG path (only with ImageNet VGG-19 weights, fetched only
    # if `vgg_download`): Gatys et al.'s layers at `vgg_size` pixels, `vgg_steps` steps, `vgg_style_weight`,
    # the same kind of assertion with `max_vgg_ratio`.
    "style": {
        "ci": dict(
            texture_size=64,
            transfer_size=64,
            channels=64,
            steps=60,
            content_layer="k15",
            content_pool=4,
            style_weight=5.0,
            max_texture_ratio=0.05,
            max_transfer_ratio=0.3,
            vgg_download=False,
            vgg_size=128,
            vgg_steps=30,
            vgg_style_weight=10.0,
            max_vgg_ratio=0.5,
        ),
        "cpu": dict(
            texture_size=128,
            transfer_size=128,
            channels=64,
            steps=200,
            content_layer="k15",
            content_pool=4,
            style_weight=5.0,
            max_texture_ratio=0.02,
            max_transfer_ratio=0.2,
            vgg_download=True,
            vgg_size=224,
            vgg_steps=150,
            vgg_style_weight=10.0,
            max_vgg_ratio=0.2,
        ),
        "gpu": dict(
            texture_size=256,
            transfer_size=256,
            channels=128,
            steps=500,
            content_layer="k15",
            content_pool=4,
            style_weight=5.0,
            max_texture_ratio=0.02,
            max_transfer_ratio=0.2,
            vgg_download=True,
            vgg_size=384,
            vgg_steps=300,
            vgg_style_weight=10.0,
            max_vgg_ratio=0.2,
        ),
    },
    # 12_architectures: the race of six small networks on Fashion-MNIST (coursekit.race: `widths` per racer, roughly
    # matched parameter counts), each trained with AdamW + one-cycle to `lr` for `epochs` on `train_subset` images
    # (no augmentation), once per seed in `seeds`; `min_accuracy`: the test accuracy every run must reach.
    "architectures": {
        "ci": dict(
            widths={"plain CNN": 16, "NiN": 18, "Inception": 12, "MobileNetV2": 24, "ResNet": 16, "SE-ResNet": 16},
            train_subset=4000,
            val_size=1000,
            test_subset=1000,
            epochs=1,
            # 63 steps: enough for BatchNorm's running statistics to settle (128 left MobileNetV2 at chance)
            batch_size=64,
            lr=4e-3,
            weight_decay=1e-4,
            channels_last=True,
            seeds=(0,),
            min_accuracy=0.6,
        ),
        "cpu": dict(
            widths={"plain CNN": 16, "NiN": 18, "Inception": 12, "MobileNetV2": 24, "ResNet": 16, "SE-ResNet": 16},
            train_subset=8000,
            val_size=2000,
            test_subset=None,
            epochs=3,
            batch_size=128,
            lr=4e-3,
            weight_decay=1e-4,
            channels_last=True,
            seeds=(0, 1, 2),
            min_accuracy=0.78,
        ),
        "gpu": dict(
            widths={"plain CNN": 32, "NiN": 36, "Inception": 24, "MobileNetV2": 48, "ResNet": 32, "SE-ResNet": 32},
            train_subset=None,
            val_size=5000,
            test_subset=None,
            epochs=15,
            batch_size=256,
            lr=4e-3,
            weight_decay=1e-4,
            channels_last=True,
            seeds=(0, 1, 2, 3, 4),
            min_accuracy=0.90,
        ),
    },
    # 14_what_cnns_learn: LeNet-5 on MNIST (notebook 09's checkpoint when present, else `lenet_epochs` on
    # `lenet_subset` digits) and ResNet.fashion() on Fashion-MNIST (SGD + one-cycle, the 11_resnet recipe without
    # augmentation; reused from data/checkpoints/resnet_fashion.pt when saved in the same profile). `patch_images`:
    # test images searched for the top patches (None: all), `patch_k` per channel; `min_purity_gain`: how much more
    # often a channel's top images share one class at the last stage than at the stem. `sanity_images`: images of
    # the randomisation check, `max_random_similarity`: the largest mean rank correlation allowed between the trained
    # and the fully randomised Grad-CAM. Canvases: one Fashion-MNIST item on a `canvas_size` canvas
    # (coursekit.data.scenes), a fully convolutional ResNet with `canvas_widths` and a global-average-pool head;
    # `min_box_gain`: how much more Grad-CAM mass the trained net puts in the item's box than the untrained one.
    # Keep every width >= 16: channels-last training of a strided 1x1 convolution on fewer than 16 channels crashes
    # the CPU backend of torch 2.14 (oneDNN, uxlfoundation/oneDNN#6035).
    "explain": {
        "ci": dict(
            lenet_epochs=1,
            lenet_subset=12000,
            lenet_min_accuracy=0.9,
            epochs=1,
            train_subset=4096,
            val_size=2000,
            test_subset=2000,
            batch_size=128,
            lr=0.1,
            min_accuracy=0.6,
            patch_images=2000,
            patch_k=8,
            min_purity_gain=0.0,
            sanity_images=32,
            max_random_similarity=0.5,
            canvas_size=56,
            canvas_train=4000,
            canvas_test=500,
            canvas_widths=(16, 32, 64),
            canvas_epochs=2,
            canvas_lr=0.1,
            min_canvas_accuracy=0.3,
            min_box_gain=0.02,
        ),
        "cpu": dict(
            lenet_epochs=2,
            lenet_subset=None,
            lenet_min_accuracy=0.98,
            epochs=3,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=256,
            lr=0.2,
            min_accuracy=0.88,
            patch_images=None,
            patch_k=8,
            min_purity_gain=0.15,
            sanity_images=64,
            max_random_similarity=0.5,
            canvas_size=56,
            canvas_train=20000,
            canvas_test=2000,
            canvas_widths=(16, 32, 64),
            canvas_epochs=4,
            canvas_lr=0.1,
            min_canvas_accuracy=0.75,
            min_box_gain=0.15,
        ),
        "gpu": dict(
            lenet_epochs=4,
            lenet_subset=None,
            lenet_min_accuracy=0.99,
            epochs=12,
            train_subset=None,
            val_size=5000,
            test_subset=None,
            batch_size=256,
            lr=0.2,
            min_accuracy=0.92,
            patch_images=None,
            patch_k=8,
            min_purity_gain=0.15,
            sanity_images=128,
            max_random_similarity=0.5,
            canvas_size=56,
            canvas_train=50000,
            canvas_test=5000,
            canvas_widths=(32, 64, 128),
            canvas_epochs=10,
            canvas_lr=0.1,
            min_canvas_accuracy=0.88,
            min_box_gain=0.2,
        ),
    },
    # 15_detection_and_segmentation: a YOLO-style GridDetector on synthetic scenes (coursekit.data.scenes: 1-4
    # MNIST digits, scale 1-2, on a `size` x `size` canvas; training scenes from the MNIST training split, the
    # `test_scenes` held-out scenes from its test split). AdamW + one-cycle to `lr`, no validation split
    # (nothing is chosen during training). `min_map`: mAP@0.5 (PASCAL VOC all-point AP, mean over the ten
    # digits) on the held-out scenes. Measured on 2 cores: ci 6.8 s of training (mAP 0.66), cpu 124 s (0.97).
    "detection": {
        "ci": dict(train_scenes=1200, test_scenes=200, size=96, epochs=4, batch_size=32, lr=3e-3, min_map=0.4),
        "cpu": dict(train_scenes=8000, test_scenes=1000, size=96, epochs=12, batch_size=32, lr=3e-3, min_map=0.9),
        "gpu": dict(train_scenes=20000, test_scenes=2000, size=96, epochs=30, batch_size=64, lr=3e-3, min_map=0.9),
    },
    # 15_detection_and_segmentation: a small UNet on the first `train_scenes` of the detection section's training
    # scenes (per-pixel labels: 0 background, digit + 1) and the first `test_scenes` of its held-out scenes.
    # `min_miou`: mean over the 11 classes (background and ten digits) of IoU = TP / (TP + FP + FN), pixels pooled
    # over the held-out scenes (coursekit.metrics.segmentation_iou). Measured on 2 cores: ci 14 s of training
    # (mean IoU 0.20), cpu 161 s (0.86 on 500 held-out scenes). The untrained UNet predicts background
    # everywhere: mean IoU about 0.93 / 11 = 0.08, so ci's 0.15 already needs digits found.
    "segmentation": {
        "ci": dict(train_scenes=600, test_scenes=200, epochs=3, batch_size=8, lr=5e-3, min_miou=0.15),
        "cpu": dict(train_scenes=4000, test_scenes=1000, epochs=6, batch_size=16, lr=1e-2, min_miou=0.8),
        "gpu": dict(train_scenes=12000, test_scenes=2000, epochs=20, batch_size=32, lr=1e-2, min_miou=0.85),
    },
    # 18_speedrun: the steps of coursekit.speedrun.MNIST_PATH and FASHION_PATH, each trained once per seed.
    # `train_cap`: at most that many training images per run (None: the recipe's own; ci trims every step
    # to exercise the path in seconds); `*_min_accuracy`: the test accuracy every run of the last step must
    # reach (the speedrun's own targets, in coursekit.speedrun.TARGETS, are reported, not asserted).
    # The notebook trains the last step of FASHION_PATH only (about 5 min in cpu; it reports the accuracy
    # with and without test-time flips); the whole path over 3 seeds is benchmarks/speedrun.py's.
    "speedrun": {
        "ci": dict(
            mnist_seeds=(0,),
            fashion_seeds=(0,),
            train_cap=3000,
            profile_steps=10,
            mnist_min_accuracy=0.9,
            fashion_min_accuracy=0.6,
        ),
        "cpu": dict(
            mnist_seeds=(0, 1, 2, 3, 4),
            fashion_seeds=(0,),
            train_cap=None,
            profile_steps=30,
            mnist_min_accuracy=0.989,
            fashion_min_accuracy=0.93,
        ),
        "gpu": dict(
            mnist_seeds=(0, 1, 2, 3, 4),
            fashion_seeds=(0, 1, 2),
            train_cap=None,
            profile_steps=30,
            mnist_min_accuracy=0.989,
            fashion_min_accuracy=0.93,
        ),
    },
    # (new lesson sections go above this line)
}


class Settings(Mapping):
    """A read-only mapping whose keys are also attributes: ``s.epochs == s["epochs"]``."""

    def __init__(self, section: str, profile: str, values: dict):
        self._section, self._profile, self._values = section, profile, dict(values)

    def __getitem__(self, key):
        try:
            return self._values[key]
        except (KeyError, TypeError):  # TypeError: an unhashable key such as a list
            raise UnknownName(f"key of settings({self._section!r})", key, self._values) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"settings({self._section!r}) has no {key!r}; it has {sorted(self._values)}") from None

    @property
    def section(self) -> str:
        return self._section

    @property
    def profile(self) -> str:
        return self._profile

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"settings({self._section!r}) [{self._profile}]: {body}"


def current_profile() -> str:
    """The active profile name: ``COURSEKIT_PROFILE`` if set, else ``gpu`` with CUDA, else ``cpu``."""
    name = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not name:
        return "gpu" if torch.cuda.is_available() else "cpu"
    if name not in PROFILES:
        raise UnknownName(f"profile in {PROFILE_ENV}", name, PROFILES)
    return name


def settings(section: str, profile: str | None = None) -> Settings:
    """The numbers lesson `section` uses in `profile` (default: the active profile)."""
    if not isinstance(section, str):
        raise TypeError(f"settings() takes a lesson name such as 'lenet', got {type(section).__name__} {section!r}")
    if profile is not None and not isinstance(profile, str):
        raise TypeError(
            f"settings() profile must be one of {', '.join(PROFILES)} or None, got {type(profile).__name__} {profile!r}"
        )
    if section not in SECTIONS:
        raise UnknownName("lesson", section, SECTIONS)
    profile = profile or current_profile()
    if profile not in PROFILES:
        raise UnknownName("profile", profile, PROFILES)
    return Settings(section, profile, SECTIONS[section][profile])
