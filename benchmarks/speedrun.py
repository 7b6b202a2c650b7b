"""The speedrun's final recipes against the lessons' own, side by side in one run, on several seeds.

* **MNIST**: notebook 09's LeNet-5 recipe (`coursekit.speedrun.MNIST_PATH[0]`) and the speedrun's final
  recipe (`MNIST_PATH[-1]`), 5 seeds each: test accuracy (mean, min) and seconds of training; the ratio
  of their training times; the target (99.0 % in at most 5 s, every seed at least 98.9 %) met or not.
* **Fashion-MNIST**: the final recipe (`FASHION_PATH[-1]`: notebook 11's ResNet recipe in 11 epochs,
  then test-time flips), 3 seeds, with the accuracy with and without the flips; the target (94.0 % in at
  most 300 s) met or not.
* where a training step's time goes (data, forward, backward, optimiser) for both final recipes.

Seconds are `fit`'s training time (evaluation excluded). Every run is seeded; the machine and its load
average are recorded.

    python benchmarks/speedrun.py [--json out.json] [--mnist-seeds 5] [--fashion-seeds 3] [--quick]

Writes ``benchmarks/results/speedrun.json`` unless told otherwise (``--quick``: one seed, tiny subsets,
nothing written unless ``--json`` is given: a smoke test of the script).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/common.py, however this file is run
from common import argument_parser, format_table, machine_record, write_report  # noqa: E402

from coursekit.speedrun import FASHION_PATH, MNIST_PATH, TARGETS, ablation, where_time_goes  # noqa: E402


def _trim(recipe, quick: bool):
    return recipe.but(recipe.name, train_subset=2000, epochs=1) if quick else recipe


def _status(row: dict, dataset: str, every_seed_at_least: float | None = None) -> dict:
    accuracy, seconds = TARGETS[dataset]
    met = row["accuracy_mean"] >= accuracy and row["seconds_mean"] <= seconds
    if every_seed_at_least is not None:
        met = met and row["accuracy_min"] >= every_seed_at_least
    return dict(
        target_accuracy=accuracy, target_seconds=seconds, every_seed_at_least=every_seed_at_least, target_met=met
    )


def main(argv=None) -> dict:
    parser = argument_parser(__file__, __doc__)
    parser.add_argument("--mnist-seeds", type=int, default=5)
    parser.add_argument("--fashion-seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one seed, tiny subsets: check that the script runs")
    args = parser.parse_args(argv)
    quick = args.quick
    mnist_seeds = range(1 if quick else args.mnist_seeds)
    fashion_seeds = range(1 if quick else args.fashion_seeds)
    load_at_start = round(os.getloadavg()[0], 2)

    baseline, final = ablation([_trim(MNIST_PATH[0], quick), _trim(MNIST_PATH[-1], quick)], mnist_seeds)
    (fashion,) = ablation([_trim(FASHION_PATH[-1], quick)], fashion_seeds)
    phases = {
        "mnist": where_time_goes(MNIST_PATH[-1], steps=5 if quick else 50),
        "fashion_mnist": where_time_goes(FASHION_PATH[-1], steps=3 if quick else 20),
    }

    rows = [
        ("MNIST, " + baseline["recipe"], baseline["accuracy_mean"], baseline["accuracy_min"], baseline["seconds_mean"]),
        ("MNIST, speedrun", final["accuracy_mean"], final["accuracy_min"], final["seconds_mean"]),
        ("Fashion-MNIST, speedrun", fashion["accuracy_mean"], fashion["accuracy_min"], fashion["seconds_mean"]),
        ("  the same without flips", fashion["plain_accuracy_mean"], None, fashion["seconds_mean"]),
    ]
    table = format_table(
        [("recipe", "<42", "s"), ("mean acc", ">10", ".4f"), ("min acc", ">9", ".4f"), ("train s", ">9", ".1f")], rows
    )
    for name, times in phases.items():
        table += f"\n{name} ms per step: " + ", ".join(f"{k} {v:.2f}" for k, v in times.items())
    mnist_status = _status(final, "mnist", every_seed_at_least=0.989)
    fashion_status = _status(fashion, "fashion_mnist")
    table += (
        f"\nMNIST target (99.0% in <= 5 s, every seed >= 98.9%): {'met' if mnist_status['target_met'] else 'NOT met'}; "
        f"{baseline['seconds_mean'] / final['seconds_mean']:.1f}x less training time than notebook 09's recipe"
        f"\nFashion-MNIST target (94.0% in <= 300 s): {'met' if fashion_status['target_met'] else 'NOT met'}"
    )
    results = {
        "quick": quick,
        "mnist": dict(baseline=baseline, final=final, **mnist_status),
        "mnist_time_ratio": baseline["seconds_mean"] / final["seconds_mean"],
        "fashion_mnist": dict(final=fashion, **fashion_status),
        "where_time_goes_ms": phases,
        "recipes": {
            "mnist_baseline": vars(MNIST_PATH[0]),
            "mnist_final": vars(MNIST_PATH[-1]),
            "fashion_final": vars(FASHION_PATH[-1]),
        },
        "machine": machine_record(load_average_at_start=load_at_start),
    }
    if quick and args.json == parser.get_default("json"):
        print(table)
        print("--quick: nothing written (pass --json to keep the numbers)")
        return results
    write_report(args.json, results, table)
    return results


if __name__ == "__main__":
    main()
