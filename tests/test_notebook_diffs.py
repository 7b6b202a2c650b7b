"""Notebook changes are reviewed cell by cell: .gitattributes routes *.ipynb to nbdime's git drivers,
`make setup` configures them for the clone, and nbdime's diff names the changed cell's text.

The first tests only read files; the nbdiff test runs nbdime on two tiny notebooks (offline, about a
second); the last one builds a throwaway git repository in tmp_path, runs the Makefile's own
`git-drivers` recipe there and checks that `git diff` shows the edited markdown line, not JSON.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin/, where nbdime's commands are installed
MAKEFILE = (ROOT / "Makefile").read_text()
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # nbdime colours its output even into a pipe when git runs it


def attributes(path: Path) -> dict[str, dict[str, str]]:
    """pattern -> {attribute: value} of a .gitattributes file (comments and blank lines skipped)."""
    found = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            pattern, *attrs = line.split()
            found[pattern] = dict(a.split("=", 1) if "=" in a else (a, "set") for a in attrs)
    return found


def recipe(target: str) -> str:
    """The prerequisites line and recipe of a Makefile target."""
    match = re.search(rf"^{re.escape(target)}:(.*?)(?=^\S|\Z)", MAKEFILE, re.M | re.S)
    assert match, f"the Makefile has no '{target}' target"
    return match.group(1)


def test_gitattributes_route_notebooks_to_nbdime():
    attrs = attributes(ROOT / ".gitattributes")
    assert attrs.get("*.ipynb") == {"diff": "jupyternotebook", "merge": "jupyternotebook"}


def test_setup_configures_the_drivers_for_this_clone_only():
    assert "git-drivers" in recipe("setup").splitlines()[0]
    body = recipe("git-drivers")
    assert "git config diff.jupyternotebook.command" in body and "git-nbdiffdriver' diff" in body
    assert "git config merge.jupyternotebook.driver" in body and "git-nbmergedriver' merge %O %A %B %L %P" in body
    assert "--global" not in body and "--system" not in body
    assert "$(NBDIME_BIN)/" in body, "use the venv's absolute path: a bare command fails outside an activated venv"


def test_make_test_lints_first():
    assert recipe("test").splitlines()[0].split()[0] == "lint"
    lint = recipe("lint")
    assert "ruff check $(LINT_PATHS)" in lint and "ruff format --check $(LINT_PATHS)" in lint
    paths = re.search(r"^LINT_PATHS\s*:?=(.*)$", MAKEFILE, re.M).group(1).split()

    # Every top-level file or folder of the project holding Python or notebooks is linted, and nothing else.
    def holds_code(entry: Path) -> bool:
        if entry.is_file():
            return entry.suffix in (".py", ".ipynb")
        return any(entry.rglob("*.py")) or any(entry.rglob("*.ipynb"))

    local = {"build", "node_modules", "data"}  # made by make, npm and the data preparation, never committed
    with_code = {e.name for e in ROOT.iterdir() if not e.name.startswith(".") and e.name not in local and holds_code(e)}
    assert "tools" in with_code and "browser_tests" in with_code
    assert set(paths) == with_code


def tiny_notebook(markdown: str) -> dict:
    cells = [
        {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": markdown},
        {
            "cell_type": "code",
            "id": "sum",
            "execution_count": 1,
            "metadata": {},
            "outputs": [{"name": "stdout", "output_type": "stream", "text": "3\n"}],
            "source": "print(1 + 2)",
        },
    ]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}


def write(path: Path, markdown: str) -> Path:
    path.write_text(json.dumps(tiny_notebook(markdown), indent=1) + "\n", encoding="utf-8")
    return path


BEFORE = "## Stride\n\nA stride of 2 keeps every second row."
AFTER = "## Stride\n\nA stride of 2 keeps every other row and column."


def test_nbdiff_names_the_changed_cell_text(tmp_path):
    nbdiff = BIN / "nbdiff"
    if not nbdiff.exists():
        pytest.skip("nbdime is not installed in this environment (pip install -e '.[dev]')")
    a, b = write(tmp_path / "a.ipynb", BEFORE), write(tmp_path / "b.ipynb", AFTER)
    run = subprocess.run(
        [str(nbdiff), "--no-color", str(a), str(b)], capture_output=True, text=True, timeout=120, check=True
    )
    out = ANSI.sub("", run.stdout)
    assert "modified /cells/0/source" in out
    assert "-A stride of 2 keeps every second row." in out
    assert "+A stride of 2 keeps every other row and column." in out
    assert "/cells/1" not in out  # the unchanged code cell and its output are not mentioned


def test_git_diff_shows_the_cell_edit_after_make_setup(tmp_path):
    """End to end in a throwaway repository: the Makefile's recipe, then `git diff` of one edit."""
    if not (shutil.which("git") and shutil.which("make") and (BIN / "git-nbdiffdriver").exists()):
        pytest.skip("needs git, make and nbdime")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]
    git += ["-c", "core.hooksPath=/dev/null", "-c", "color.ui=never"]  # whatever the user's global config says

    def sh(*cmd):
        return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True).stdout

    sh("git", "init", "-q")
    shutil.copy(ROOT / ".gitattributes", tmp_path / ".gitattributes")
    write(tmp_path / "lesson.ipynb", BEFORE)
    sh(*git, "add", ".")
    sh(*git, "commit", "-q", "-m", "a lesson")
    write(tmp_path / "lesson.ipynb", AFTER)
    raw = sh(*git, "diff", "--no-ext-diff")
    assert '"source": "## Stride' in raw  # without the driver: a line of JSON

    venv = BIN.parent
    stamp = venv / ".coursekit-installed"  # -o: never re-install from here
    sh("make", "-f", str(ROOT / "Makefile"), "-o", str(stamp), "git-drivers", f"VENV={venv}")
    sh("make", "-f", str(ROOT / "Makefile"), "-o", str(stamp), "git-drivers", f"VENV={venv}")  # idempotent
    assert sh("git", "config", "--get-all", "diff.jupyternotebook.command").count("\n") == 1
    shown = ANSI.sub("", sh(*git, "diff"))
    assert "modified /cells/0/source" in shown
    assert "+A stride of 2 keeps every other row and column." in shown
    assert '"source"' not in shown
