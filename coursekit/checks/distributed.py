"""Exercises of notebook 17 (distributed training): batch sizes, learning rates, bytes on the wire, shards, speedup.

Each answer is computed with the package (the sharded loader, the ring all-reduce model), for
numbers the notebook does not print.
"""

from . import exercise


@exercise(
    "distributed.effective_batch",
    hint="One optimizer step averages the gradients of every GPU of every node, each over its own batch: "
    "multiply the three numbers.",
)
def _effective_batch():
    nodes, gpus_per_node, per_gpu = 4, 8, 32
    return nodes * gpus_per_node * per_gpu


@exercise(
    "distributed.scaled_lr",
    hint="The linear scaling rule: multiply the batch by k, multiply the learning rate by k. "
    "Take k from the recipe's batch and the effective batch of the previous exercise.",
)
def _scaled_lr():
    base_lr, base_batch = 0.1, 256
    return base_lr * _effective_batch() / base_batch


@exercise(
    "distributed.gradient_bytes",
    hint="There is one gradient value per parameter, and a float32 value takes 4 bytes; count the "
    "parameters of ResNet.fashion() with coursekit.models.count_parameters.",
)
def _gradient_bytes():
    import torch

    from ..models import ResNet, count_parameters

    with torch.device("meta"):  # counting needs shapes only
        return 4 * count_parameters(ResNet.fashion())


@exercise(
    "distributed.ring_traffic",
    hint="In a ring of p GPUs each one sends 2(p - 1) chunks of 1/p of the gradient: (p - 1) in the "
    "reduce-scatter, (p - 1) in the all-gather.",
    tol=0.5,  # bytes: the answer is a whole number, float arithmetic may leave a fraction
)
def _ring_traffic():
    from ..distributed import ring_allreduce_seconds

    # at a bandwidth of 1 byte per second and no latency, the all-reduce's seconds are the bytes each GPU sends
    return ring_allreduce_seconds(_gradient_bytes(), 16, bandwidth=1.0)


@exercise(
    "distributed.images_per_rank",
    hint="Cut the epoch into global batches of 300; every full one gives each rank 100. Then split the "
    "last, short global batch into 3 slices as ShardedLoader does (the first ranks get one more) -- "
    "or build a ShardedLoader over 50,000 dummy images and ask its rank_samples.",
)
def _images_per_rank():
    import torch

    from ..distributed import ShardedLoader

    n = 50_000
    loader = ShardedLoader(torch.zeros(n, 1, 1, 1, dtype=torch.uint8), torch.zeros(n, dtype=torch.long), 300, 2, 3)
    return loader.rank_samples


@exercise(
    "distributed.speedup",
    hint="Without overlap one step takes compute + all-reduce, the all-reduce being 2(p - 1)/p x bytes / "
    "bandwidth. p GPUs do p times one GPU's work per step: speedup = p x compute / step time.",
    tol=0.01,
)
def _speedup():
    from ..distributed import scaling_model

    (row,) = scaling_model(0.040, 200e6, [8], bandwidth=25e9)
    return row["speedup"]
