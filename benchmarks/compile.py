"""Does torch.compile pay on this CPU? The speedrun's two final recipes, eager against compiled.

For `coursekit.speedrun.MNIST_PATH[-1]` (LeNet-5, batch 128) and `FASHION_PATH[-1]` (the small ResNet,
batch 256), each as it is and with ``compile=True``: milliseconds per training step split into data,
forward, backward and optimiser (`coursekit.speedrun.where_time_goes`, after untimed warm-up steps),
and the wall-clock seconds of the whole measurement, whose excess over the timed steps is set-up and
warm-up -- for the compiled recipe, mostly TorchInductor compiling the forward and backward graphs.
From the two: the step-time ratio and, when compiling makes a step faster, after how many steps the
compilation has paid for itself, beside the number of steps the recipe trains.

Compilation is measured cold, as a student's first run sees it: TorchInductor's on-disk caches go to a
fresh temporary folder (``TORCHINDUCTOR_CACHE_DIR``), removed at the end; with a warm cache a second
run compiles in a fraction of the time.

    python benchmarks/compile.py [--json out.json] [--steps 40] [--warmup 5]

Writes ``benchmarks/results/compile.json`` unless told otherwise. The machine and its load average at
the start are recorded.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py, however this file is run
from common import argument_parser, format_table, machine_record, write_report  # noqa: E402

from coursekit.speedrun import FASHION_PATH, MNIST_PATH, where_time_goes  # noqa: E402

TRAIN_IMAGES = 60_000  # MNIST and Fashion-MNIST alike, before the validation split


def budget_steps(recipe) -> int:
    """Training steps of `recipe`: batches per pass over its training images times its epochs (a fraction
    of a pass is rounded to whole steps, as `coursekit.speedrun.run` does)."""
    images = recipe.train_subset or TRAIN_IMAGES - recipe.val_size
    return round(recipe.epochs * math.ceil(images / recipe.batch_size))


def measure(recipe, steps: int, warmup: int) -> dict:
    """`where_time_goes` of `recipe` plus the wall-clock seconds of the call and the part of them that
    is not the timed steps (set-up, warm-up, compilation)."""
    start = time.perf_counter()
    phases = where_time_goes(recipe, steps=steps, warmup=warmup)
    wall = time.perf_counter() - start
    return dict(ms_per_step=phases, wall_seconds=wall, outside_timed_steps_seconds=wall - steps * phases["total"] / 1e3)


def compare(eager: dict, compiled: dict) -> dict:
    """Step-time ratio (eager / compiled: above 1 means compiling is faster), the extra seconds the
    compiled recipe spends outside its timed steps, and the steps after which that is paid back
    (None when a compiled step is not faster)."""
    eager_ms, compiled_ms = eager["ms_per_step"]["total"], compiled["ms_per_step"]["total"]
    overhead = compiled["outside_timed_steps_seconds"] - eager["outside_timed_steps_seconds"]
    saved_ms = eager_ms - compiled_ms
    return dict(
        speedup=eager_ms / compiled_ms,
        compile_overhead_seconds=overhead,
        break_even_steps=math.ceil(1e3 * overhead / saved_ms) if saved_ms > 0 else None,
    )


def main(argv=None) -> dict:
    parser = argument_parser(__file__, __doc__)
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per measurement")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation happens here)")
    args = parser.parse_args(argv)
    load_at_start = round(os.getloadavg()[0], 2)

    results, rows = {}, []
    for key, recipe in (("mnist", MNIST_PATH[-1]), ("fashion_mnist", FASHION_PATH[-1])):
        eager = measure(recipe, args.steps, args.warmup)
        compiled = measure(recipe.but(recipe.name + ", torch.compile", compile=True), args.steps, args.warmup)
        verdict = compare(eager, compiled)
        results[key] = dict(recipe=vars(recipe), budget_steps=budget_steps(recipe), eager=eager, compiled=compiled)
        results[key].update(verdict)
        for label, m in (("eager", eager), ("compiled", compiled)):
            ms = m["ms_per_step"]
            rows.append(
                (f"{key}, {label}", ms["forward"], ms["backward"], ms["optimizer"], ms["total"],
                 m["outside_timed_steps_seconds"])
            )  # fmt: skip
    table = format_table(
        [
            ("recipe", "<24", "s"),
            ("fwd ms", ">9", ".2f"),
            ("bwd ms", ">9", ".2f"),
            ("opt ms", ">9", ".2f"),
            ("step ms", ">9", ".2f"),
            ("other s", ">9", ".1f"),
        ],
        rows,
    )
    for key in ("mnist", "fashion_mnist"):
        r = results[key]
        paid = f"pays back after {r['break_even_steps']:,} steps" if r["break_even_steps"] else "never pays back"
        table += (
            f"\n{key}: compiled step {r['speedup']:.2f}x the speed of eager; "
            f"{r['compile_overhead_seconds']:.1f} s of compilation; {paid} (the recipe trains {r['budget_steps']:,})"
        )
    report = dict(
        compilation_cache="cold (a fresh TORCHINDUCTOR_CACHE_DIR)",
        steps=args.steps,
        warmup=args.warmup,
        **results,
        machine=machine_record(load_average_at_start=load_at_start),
    )
    write_report(args.json, report, table)
    return report


if __name__ == "__main__":
    # A cold, private compilation cache for this run. TorchInductor reads the variable when it first
    # compiles (`import torch` does not load it), so setting it here, after the imports, is in time.
    cold_cache = tempfile.mkdtemp(prefix="coursekit-inductor-")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = cold_cache
    try:
        main()
    finally:
        shutil.rmtree(cold_cache, ignore_errors=True)
