"""The instructor's solutions notebooks cover every exercise, and check each one for real.

Convention (see the docstring of coursekit.checks): ``solutions/NN_solutions.ipynb`` holds the
solutions of lecture notebook ``notebooks/NN_*.ipynb``. Each solution computes its answer by
code, the way a student would, then::

    result = check("topic.key", answer)
    print(result)
    assert result

nbval executes these notebooks in ``make test``; this file checks, without executing anything,
that

(a) every key of ``coursekit.checks.exercises()`` is checked in some solutions notebook;
(b) every key checked there is registered;
(c) lecture and solutions notebooks pair up by their number prefix, both ways;
(d) every ``check(...)`` call in a solutions code cell passes a literal key and has its result
    asserted in the same cell (``assert check(...)``, or ``result = check(...)`` then
    ``assert result``);
(e) no solution reads the expected answer out of the checks package (``_REGISTRY``,
    ``_expected``, ``_EXPECTED``) instead of computing it.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from coursekit import checks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = ROOT / "solutions"
PREFIX = re.compile(r"^(\d\d)_")


def _prefix(path: Path) -> str | None:
    match = PREFIX.match(path.name)
    return match.group(1) if match else None


def _lecture_notebooks() -> dict[str, Path]:
    return {_prefix(p): p for p in sorted(NOTEBOOKS.glob("*.ipynb")) if _prefix(p)}


def _solution_notebooks() -> list[Path]:
    return sorted(SOLUTIONS.glob("*.ipynb")) if SOLUTIONS.is_dir() else []


def _code_cells(path: Path) -> list[tuple[int, str]]:
    """(cell index, source) of every code cell; fails the test naming the file if it is not JSON."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        pytest.fail(f"{path.relative_to(ROOT)} is not a readable notebook: {error}")
    cells = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append((index, "".join(source) if isinstance(source, list) else source))
    return cells


def _parse(path: Path, index: int, source: str) -> ast.Module:
    """The cell as Python; IPython magics and shell escapes (%..., !...) are blanked first."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError as error:
        pytest.fail(f"{path.relative_to(ROOT)} cell {index} is not valid Python: {error}")


def _is_check(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "check") or (
        isinstance(func, ast.Attribute) and func.attr == "check"
    )


def _key_of(call: ast.Call) -> str | None:
    arg = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "key"), None)
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _asserted(tree: ast.Module, call: ast.Call) -> bool:
    """Whether the cell asserts ``call``'s result: inside an ``assert``, or assigned to a name
    that an ``assert`` of the same cell reads."""
    asserts = [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    if any(call in ast.walk(a.test) for a in asserts):
        return True
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is call:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        if isinstance(node, ast.NamedExpr) and node.value is call:
            names.add(node.target.id)
    read = {n.id for a in asserts for n in ast.walk(a.test) if isinstance(n, ast.Name)}
    return bool(names & read)


def _scan() -> tuple[dict[str, list[str]], list[str], list[str]]:
    """(key -> places it is checked, problems with (d), problems with (e)) over all solutions."""
    checked: dict[str, list[str]] = defaultdict(list)
    unasserted, peeking = [], []
    for path in _solution_notebooks():
        for index, source in _code_cells(path):
            place = f"{path.relative_to(ROOT)} cell {index}"
            tree = _parse(path, index, source)
            for call in filter(_is_check, ast.walk(tree)):
                key = _key_of(call)
                if key is None:
                    unasserted.append(
                        f"{place}: check(...) needs a literal key string, got "
                        f"{ast.unparse(call.args[0]) if call.args else 'no argument'}"
                    )
                    continue
                checked[key].append(place)
                if not _asserted(tree, call):
                    unasserted.append(f"{place}: the result of check({key!r}, ...) is not asserted")
            for node in ast.walk(tree):
                name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
                if name in ("_REGISTRY", "_expected", "_EXPECTED"):
                    peeking.append(f"{place}: uses {name!r} -- compute the answer instead of reading the expected one")
    return checked, unasserted, peeking


def test_the_solutions_folder_exists():
    assert SOLUTIONS.is_dir() and _solution_notebooks(), (
        f"no solutions notebooks in {SOLUTIONS.relative_to(ROOT)}/ "
        "(expected NN_solutions.ipynb, one per lecture notebook)"
    )


def test_lecture_and_solutions_notebooks_pair_up():  # (c)
    lectures = _lecture_notebooks()
    solutions = {_prefix(p): p for p in _solution_notebooks() if _prefix(p)}
    badly_named = [p.name for p in _solution_notebooks() if p.name != f"{_prefix(p)}_solutions.ipynb"]
    missing = [f"{lectures[n].name} -> solutions/{n}_solutions.ipynb" for n in sorted(set(lectures) - set(solutions))]
    orphans = [solutions[n].name for n in sorted(set(solutions) - set(lectures))]
    assert not badly_named, f"solutions notebooks must be named NN_solutions.ipynb: {badly_named}"
    assert not missing, f"lecture notebooks without a solutions notebook: {missing}"
    assert not orphans, f"solutions notebooks without a lecture notebook of the same number: {orphans}"


def test_every_exercise_is_checked_in_some_solutions_notebook():  # (a)
    checked, _, _ = _scan()
    unsolved = [key for key in checks.exercises() if key not in checked]
    assert not unsolved, f"{len(unsolved)} exercise(s) have no solution in solutions/*.ipynb: {unsolved}"


def test_every_checked_key_is_registered():  # (b)
    checked, _, _ = _scan()
    known = set(checks.exercises())
    unknown = {key: places for key, places in checked.items() if key not in known}
    assert not unknown, f"solutions check keys that no topic module registers: {unknown}"


def test_every_check_is_asserted():  # (d)
    _, unasserted, _ = _scan()
    assert not unasserted, "\n".join(unasserted)


def test_solutions_compute_their_answers():  # (e)
    _, _, peeking = _scan()
    assert not peeking, "\n".join(peeking)


# ----------------------------------------------------------------------------------------------
# The scanner itself must be able to fail


def _tree(source: str) -> tuple[ast.Module, ast.Call]:
    tree = ast.parse(source)
    return tree, next(filter(_is_check, ast.walk(tree)))


@pytest.mark.parametrize(
    "source, asserted",
    [
        ("result = check('a.b', 3)\nprint(result)\nassert result", True),
        ("assert check('a.b', 3)", True),
        ("assert (r := check('a.b', 3)), r", True),
        ("assert bool(checks.check('a.b', 3))", True),
        ("result = check('a.b', 3)\nprint(result)", False),
        ("check('a.b', 3)\nassert True", False),
        ("result = check('a.b', 3)\nother = 1\nassert other", False),
    ],
)
def test_assert_detection(source, asserted):
    tree, call = _tree(source)
    assert _asserted(tree, call) is asserted
    assert _key_of(call) == "a.b"


def test_peeking_is_detected(tmp_path, monkeypatch):
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "source": [
                    "from coursekit import checks\n",
                    "answer = checks._REGISTRY['a.b'].expected()\n",
                    "result = checks.check('a.b', answer)\n",
                    "print(result)",
                ],
            }
        ]
    }
    (tmp_path / "00_solutions.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "SOLUTIONS", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    checked, unasserted, peeking = _scan()
    assert dict(checked) == {"a.b": ["00_solutions.ipynb cell 0"]}
    assert unasserted == ["00_solutions.ipynb cell 0: the result of check('a.b', ...) is not asserted"]
    assert peeking == [
        "00_solutions.ipynb cell 0: uses '_REGISTRY' -- compute the answer instead of reading the expected one"
    ]


def test_key_detection_and_magics():
    assert _key_of(_tree("check(key, 3)")[1]) is None
    assert _key_of(_tree("check(key='x.y', answer=3)")[1]) == "x.y"
    tree = _parse(ROOT / "x.ipynb", 0, "%time answer = 1\n!ls\nassert check('x.y', answer)")
    assert [_key_of(c) for c in filter(_is_check, ast.walk(tree))] == ["x.y"]
