"""What every benchmark script shares: finding the checkout, its command line, and its report.

A script starts with::

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # this folder, however the script is run
    from common import ROOT, argument_parser, machine_record, format_table, write_report

Importing this module puts the project root on ``sys.path``, so ``import coursekit`` works from a
checkout whether or not the package is installed.

- `argument_parser(script, doc)`: an ``argparse`` parser described by the first line of the
  script's docstring, with ``--json`` defaulting to ``benchmarks/results/<script name>.json``;
- `machine_record(**extra)`: `coursekit.device.machine()` (CPU, threads, versions) plus `extra`;
- `format_table(columns, rows)`: fixed-width text table;
- `write_report(path, report, table)`: print the table, write the JSON atomically, say where;
- `best_ms(functions, repeat, number)`: the fastest call of each function, timed in alternating rounds.
- `matmul_peak_gflops()`: the machine's float32 matrix-multiply peak (BLAS matmul, oneDNN 1x1 conv);
- `training_images_per_second(model, loader, steps)`: images/s of SGD training steps.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout, installed or not

from coursekit.files import write_json  # noqa: E402


def argument_parser(script: str, doc: str | None) -> argparse.ArgumentParser:
    """A parser for benchmark `script` (its ``__file__``) described by the first line of `doc`.

    It has ``--json PATH``, where the report goes: ``benchmarks/results/<script stem>.json`` by default.
    """
    description = doc.strip().splitlines()[0] if doc and doc.strip() else None
    parser = argparse.ArgumentParser(prog=Path(script).name, description=description)
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS / f"{Path(script).stem}.json",
        help="where to write the results (default: %(default)s)",
    )
    return parser


def machine_record(**extra) -> dict:
    """The machine the numbers were measured on (`coursekit.device.machine()`), plus `extra` entries."""
    from coursekit.device import machine

    return dict(machine(), **extra)


def format_table(columns: list[tuple[str, str, str]], rows: list, rule: bool = False) -> str:
    """A fixed-width table: `columns` are (header, alignment+width such as "<26" or ">10", value format
    such as ".2f" or ",") and each row holds one value per column (None prints as "-"; a string is
    shown as it is, whatever the column's format)."""

    def cell(value, align, spec):
        text = "-" if value is None else value if isinstance(value, str) else format(value, spec)
        return format(text, align)

    header = "".join(format(h, align) for h, align, _ in columns)
    lines = [header] + (["-" * len(header)] if rule else [])
    lines += ["".join(cell(v, align, spec) for v, (_, align, spec) in zip(row, columns, strict=True)) for row in rows]
    return "\n".join(lines)


def shown(path: Path) -> str:
    """`path` relative to the project when it lies inside it (as the reports print it)."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def write_report(path: Path, report: dict, table: str | None = None) -> Path:
    """Print `table` (if any), write `report` as JSON to `path` atomically and print where it went."""
    if table:
        print(table)
    write_json(path, report)
    print(f"wrote {shown(path)}")
    return Path(path)


def best_ms(functions: dict, repeat: int, number: int) -> dict:
    """Fastest time of one call of each function, in milliseconds.

    The functions take turns: each round times ``number`` calls of every function, ``repeat``
    rounds in all. On a shared machine a burst of load then hits both sides alike instead of
    whichever happened to be measured during it.
    """
    for fn in functions.values():
        fn()  # warm-up: first-call allocations, thread pools
    best = {name: float("inf") for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            best[name] = min(best[name], timeit.timeit(fn, number=number) / number * 1e3)
    return best


def _best_seconds(fn, repeat: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_peak_gflops(n: int = 2048, repeat: int = 5) -> dict:
    """Best-of-`repeat` float32 GFLOP/s of two large matrix products, and their maximum as "peak".

    "matmul": an n x n ``torch.matmul`` (2 n^3 FLOPs, BLAS); "conv1x1": a 1x1 convolution of a
    (64, 512, 28, 28) channels-last batch to 512 channels (a GEMM done by oneDNN).
    """
    import torch
    import torch.nn.functional as F

    a, b = torch.randn(n, n), torch.randn(n, n)
    x = torch.randn(64, 512, 28, 28).contiguous(memory_format=torch.channels_last)
    w = torch.randn(512, 512, 1, 1)
    rates = {
        "matmul": 2 * n**3 / _best_seconds(lambda: torch.matmul(a, b), repeat) / 1e9,
        "conv1x1": 2 * 64 * 28 * 28 * 512 * 512 / _best_seconds(lambda: F.conv2d(x, w), repeat) / 1e9,
    }
    rates["peak"] = max(rates.values())
    return rates


def training_images_per_second(model, loader, steps: int, warmup: int = 2) -> float:
    """Images/s of SGD training steps on `loader`'s batches (best of two timed rounds)."""
    import torch
    import torch.nn.functional as F

    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = iter(loader)

    def step():
        nonlocal batches
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, y = next(batches)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return len(y)

    for _ in range(warmup):
        step()
    best = 0.0
    for _ in range(2):
        start, images = time.perf_counter(), 0
        for _ in range(steps):
            images += step()
        best = max(best, images / (time.perf_counter() - start))
    return best
