"""No test and no notebook asserts on elapsed time: a busy laptop or CI machine must never fail.

Notebooks print how long they trained; speed is measured by the scripts in benchmarks/. This test
reads every code cell of the lecture and solutions notebooks and every test module, and fails on an
``assert`` that bounds a time from above (``seconds <= 60``, ``elapsed < limit``, ``60 > seconds``).
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIME_WORD = r"[\w.\[\]()-]*(?:seconds|elapsed|duration|perf_counter\(\)|time\(\)|monotonic\(\))[\w.\[\]]*"
BOUNDED = re.compile(rf"(?:{TIME_WORD}[^<>=,]*(?:<|<=)(?!\s*0\b)|(?:>|>=)\s*{TIME_WORD})")


def code_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return path.read_text(encoding="utf-8")


def wall_clock_asserts(text: str) -> list[str]:
    lines = (line.strip() for line in text.splitlines())
    # abs(a - b) < tol compares two records of the same time (a consistency check), not a limit
    return [line for line in lines if line.startswith("assert") and "abs(" not in line and BOUNDED.search(line)]


@pytest.mark.parametrize(
    "line",
    [
        "assert train_seconds <= cfg.max_train_seconds",
        "assert history.train_seconds < 60, history.train_seconds",
        "assert 60 > elapsed",
        "assert time.perf_counter() - start <= budget",
    ],
)
def test_the_rule_catches_wall_clock_limits(line):
    assert wall_clock_asserts(line) == [line]


@pytest.mark.parametrize(
    "line",
    [
        "assert len(history.seconds) == 5 and all(s > 0 for s in history.seconds)",
        "assert test_acc >= cfg.min_accuracy",
        "assert len(elapsed) == cfg.epochs and abs(elapsed[-1] - history.train_seconds) < 1e-6",
    ],
)
def test_the_rule_leaves_other_asserts_alone(line):
    assert wall_clock_asserts(line) == []


FILES = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb"), *ROOT.glob("tests/*.py")])


@pytest.mark.parametrize("path", [p for p in FILES if p.name != Path(__file__).name], ids=lambda p: p.name)
def test_no_wall_clock_assert(path):
    found = wall_clock_asserts(code_of(path))
    assert not found, f"{path.relative_to(ROOT)} asserts on elapsed time (print it instead): {found}"
