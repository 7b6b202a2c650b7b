"""What every lecture notebook must have, as tests: the rules of COURSE_STYLE.md and ../shared/tools/nb_audit.py.

A new or renumbered notebook that lacks one of them fails here, with the cell to fix, before a
reviewer has to notice. Pure JSON reading: nothing is executed, the whole file runs in well under
a second.

The rules, per ``notebooks/NN_name.ipynb``:

- the name is ``NN_name.ipynb`` and the numbers run 00, 01, 02, ... without a gap;
- the first cell is a markdown title ``# NN · Title`` with the file's number;
- the first cell lists at least three learning goals under ``**After this notebook you can**``;
- an ``## Exercises`` section whose code cells (at least three) each call ``check(``;
- a ``## References`` section after the exercises, with at least one entry;
- every cell has ``metadata.slideshow.slide_type``, every slide has a speaker-notes cell, and no
  screen (a slide or subslide with its fragments) shows more than 40 lines of source and text output;
- every code cell was executed (what nbval compares), and every ``# NBVAL_IGNORE_OUTPUT`` cell is
  checked by an ``assert`` or ``check(`` in it or in the next code cell;
- ``solutions/NN_solutions.ipynb`` exists.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAME = re.compile(r"^(\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}
MAX_SCREEN = 40  # nb_audit.MAX_SCREEN
GOALS = "**After this notebook you can**"
IGNORE_OUTPUT = re.compile(r"^\s*#\s*NBVAL_IGNORE_OUTPUT\s*$", re.M)
CHECKED = re.compile(r"\bassert\b|check\w*\(")

sys.path.insert(0, str(ROOT))
try:
    from conftest import unexecuted_cells  # the nbval guard's own definition of "executed"
finally:
    sys.path.remove(str(ROOT))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def kind(cell: dict) -> str:
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")


def section(cells: list[dict], heading: str) -> tuple[int, int] | None:
    """(index of the markdown cell that starts with `heading`, index where the next ``## `` section starts)."""
    starts = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and text(c).startswith(heading)]
    if not starts:
        return None
    start = starts[0]
    end = next(
        (
            i
            for i in range(start + 1, len(cells))
            if cells[i]["cell_type"] == "markdown" and text(cells[i]).startswith("## ")
        ),
        len(cells),
    )
    return start, end


def screens(cells: list[dict]) -> list[tuple[int, int]]:
    """(index of the cell a screen starts at, lines it shows), counted the way nb_audit counts them."""
    found, start, lines = [], 0, 0
    for i, cell in enumerate(cells):
        if kind(cell) in ("slide", "subslide") and lines:
            found.append((start, lines))
            start, lines = i, 0
        if kind(cell) in ("skip", "notes"):
            continue
        lines += len(text(cell).splitlines())
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                lines += len("".join(output.get("text", "")).splitlines())
            elif "data" in output and "image/png" not in output["data"]:
                lines += len("".join(output["data"].get("text/plain", "")).splitlines())
    return [*found, (start, lines)]


notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)


def test_there_are_lecture_notebooks():
    assert NOTEBOOKS, "no notebooks/*.ipynb found"


def test_notebooks_are_numbered_from_00_without_gaps():
    badly_named = [p.name for p in NOTEBOOKS if not NAME.match(p.name)]
    assert not badly_named, f"name lecture notebooks NN_lower_case_name.ipynb: {badly_named}"
    numbers = [int(NAME.match(p.name).group(1)) for p in NOTEBOOKS]
    assert numbers == list(range(len(numbers))), (
        f"notebook numbers must run 00, 01, ... with no gap or repeat; found {[f'{n:02d}' for n in numbers]} "
        "(renumber with git mv, see CONTRIBUTING.md)"
    )


@notebook
def test_title_cell_names_the_number(path):
    cells = load(path)["cells"]
    number = path.name[:2]
    first = text(cells[0]).splitlines()[0] if cells and text(cells[0]) else ""
    assert cells and cells[0]["cell_type"] == "markdown", f"{path.name}: the first cell must be a markdown title"
    assert re.match(rf"^# {number} · \S", first), (
        f"{path.name}: the first line must be '# {number} · Title', got {first!r}"
    )


@notebook
def test_learning_goals_open_the_notebook(path):
    title = text(load(path)["cells"][0])
    assert GOALS in title, f"{path.name}: the title cell needs a goals list introduced by {GOALS}"
    after = title.split(GOALS, 1)[1].lstrip("\n")
    block = after.split("\n\n", 1)[0]  # the list runs to the first blank line
    goals = [line for line in block.splitlines() if line.startswith(("- ", "* "))]
    assert len(goals) >= 3, f"{path.name}: list at least three learning goals under {GOALS}, found {len(goals)}"


@notebook
def test_exercises_call_check(path):
    cells = load(path)["cells"]
    found = section(cells, "## Exercises")
    assert found, f"{path.name}: no '## Exercises' section"
    code = [(i, text(c)) for i, c in enumerate(cells[found[0] : found[1]], found[0]) if c["cell_type"] == "code"]
    assert len(code) >= 3, f"{path.name}: the exercises section has {len(code)} code cells; give 3 to 6 exercises"
    unchecked = [i for i, source in code if "check(" not in source]
    assert not unchecked, f"{path.name}: exercise code cells {unchecked} do not call check(...)"


@notebook
def test_references_close_the_notebook(path):
    cells = load(path)["cells"]
    references, exercises = section(cells, "## References"), section(cells, "## Exercises")
    assert references, f"{path.name}: no '## References' section"
    assert exercises is None or references[0] > exercises[0], f"{path.name}: References must come after Exercises"
    entries = re.findall(r"^[-*] \S", text(cells[references[0]]), re.M)
    assert entries, f"{path.name}: the References cell lists no sources"


@notebook
def test_every_cell_has_slide_metadata(path):
    cells = load(path)["cells"]
    missing = [i for i, c in enumerate(cells) if "slide_type" not in c.get("metadata", {}).get("slideshow", {})]
    assert not missing, f"{path.name}: cells {missing} have no metadata.slideshow.slide_type"
    unknown = {i: kind(c) for i, c in enumerate(cells) if kind(c) not in SLIDE_TYPES}
    assert not unknown, f"{path.name}: unknown slide types {unknown}; use one of {sorted(SLIDE_TYPES)}"


@notebook
def test_every_slide_has_speaker_notes(path):
    kinds = [kind(c) for c in load(path)["cells"]]
    slides = [i for i, k in enumerate(kinds) if k == "slide"]
    ends = [*slides[1:], len(kinds)]
    silent = [s for s, e in zip(slides, ends, strict=True) if "notes" not in kinds[s:e]]
    assert not silent, f"{path.name}: slides starting at cells {silent} have no notes cell (2-5 lines for the speaker)"


@notebook
def test_no_screen_is_longer_than_40_lines(path):
    long = [(start, lines) for start, lines in screens(load(path)["cells"]) if lines > MAX_SCREEN]
    assert not long, f"{path.name}: (first cell, lines) of screens over {MAX_SCREEN} lines: {long}; split or skip"


def title_only_slides(cells: list[dict]) -> list[int]:
    """Cells that open a slide showing nothing but a one-line heading (skip and notes cells are not shown)."""
    found = []
    for i, c in enumerate(cells):
        if kind(c) != "slide":
            continue
        shown = [i]
        for later in cells[i + 1 :]:
            if kind(later) in ("slide", "subslide"):
                break
            if kind(later) not in ("skip", "notes"):
                shown.append(later)
        if len(shown) == 1 and c["cell_type"] == "markdown" and len(text(c).strip().splitlines()) <= 1:
            found.append(i)
    return found


@notebook
def test_no_slide_is_a_title_alone(path):
    empty = title_only_slides(load(path)["cells"])
    assert not empty, (
        f"{path.name}: slides starting at cells {empty} show only a heading; give them content, or mark the "
        "heading (and its notes) skip when the section is only set-up code"
    )


@notebook
def test_every_code_cell_was_executed(path):
    unrun = unexecuted_cells(load(path))
    assert not unrun, f"{path.name}: code cells {unrun} (counting code cells only) were never executed; make notebooks"


@notebook
def test_excused_cells_are_checked_by_the_next_cell(path):
    cells = [c for c in load(path)["cells"] if c["cell_type"] == "code"]
    code = [text(c) for c in cells]
    excused = [
        IGNORE_OUTPUT.search(s) or "nbval-ignore-output" in c.get("metadata", {}).get("tags", [])
        for c, s in zip(cells, code, strict=True)
    ]
    unchecked = [
        i
        for i, source in enumerate(code)
        if excused[i] and not CHECKED.search(source + "\n" + (code[i + 1] if i + 1 < len(code) else ""))
    ]
    assert not unchecked, f"{path.name}: NBVAL_IGNORE_OUTPUT code cells {unchecked} are followed by no assert or check("


@notebook
def test_each_lecture_has_a_solutions_notebook(path):
    solutions = ROOT / "solutions" / f"{path.name[:2]}_solutions.ipynb"
    assert solutions.is_file(), f"{path.name}: add {solutions.relative_to(ROOT)} (see CONTRIBUTING.md)"


# --- the rules themselves: a minimal good notebook passes all of them, each defect fails its own rule


def cell(cell_type: str, source: str, slide_type: str = "-", **extra) -> dict:
    made = {"cell_type": cell_type, "metadata": {"slideshow": {"slide_type": slide_type}}, "source": source}
    if cell_type == "code":
        made.update(execution_count=1, outputs=[])
    made.update(extra)
    return made


def good_notebook() -> dict:
    title = "# 00 · A lesson\n\n" + GOALS + "\n- one thing;\n- another,\n  over two lines;\n- a third.\n"
    cells = [
        cell("markdown", title, "slide"),
        cell("markdown", "What to say.", "notes"),
        cell("code", "# NBVAL_IGNORE_OUTPUT\nh = train()", "fragment"),
        cell("code", "assert h.acc > 0.9", "fragment"),
        cell("markdown", "## Exercises\n\n1. Compute it.", "slide"),
        cell("markdown", "Ten minutes.", "notes"),
        *[cell("code", f'answer = None\ncheck("topic.q{n}", answer)', "fragment") for n in range(3)],
        cell("markdown", "## References\n\n- A. Author (2024). *A paper.*", "slide"),
        cell("markdown", "Mention the paper.", "notes"),
    ]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def break_title(nb):
    nb["cells"][0]["source"] = nb["cells"][0]["source"].replace("# 00 ·", "# 0 -")


def break_goals(nb):
    nb["cells"][0]["source"] = nb["cells"][0]["source"].split(GOALS)[0]


def break_exercises(nb):
    nb["cells"][6]["source"] = "answer = 3"


def break_references(nb):
    nb["cells"][-2]["source"] = "## Further reading"


def break_slide_metadata(nb):
    nb["cells"][3]["metadata"] = {}


def break_notes(nb):
    del nb["cells"][1]


def break_screen(nb):
    nb["cells"][2]["source"] += "\n" + "\n".join(["x = 1"] * MAX_SCREEN)


def break_title_only_slide(nb):
    nb["cells"][4:4] = [cell("markdown", "## Set-up", "slide"), cell("markdown", "Imports.", "notes")]


def break_execution(nb):
    nb["cells"][3]["execution_count"] = None


def break_excused(nb):
    nb["cells"][3]["source"] = "print(h.acc)"


RULES = {
    break_title: test_title_cell_names_the_number,
    break_goals: test_learning_goals_open_the_notebook,
    break_exercises: test_exercises_call_check,
    break_references: test_references_close_the_notebook,
    break_slide_metadata: test_every_cell_has_slide_metadata,
    break_notes: test_every_slide_has_speaker_notes,
    break_screen: test_no_screen_is_longer_than_40_lines,
    break_title_only_slide: test_no_slide_is_a_title_alone,
    break_execution: test_every_code_cell_was_executed,
    break_excused: test_excused_cells_are_checked_by_the_next_cell,
}


def test_a_good_notebook_passes_every_rule(tmp_path):
    path = tmp_path / "00_lesson.ipynb"  # solutions/00_solutions.ipynb exists in the project
    path.write_text(json.dumps(good_notebook()), encoding="utf-8")
    for rule in {*RULES.values(), test_each_lecture_has_a_solutions_notebook}:
        rule(path)


@pytest.mark.parametrize("defect", list(RULES), ids=lambda f: f.__name__)
def test_each_defect_fails_its_rule(tmp_path, defect):
    nb = good_notebook()
    defect(nb)
    path = tmp_path / "00_lesson.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(AssertionError, match="00_lesson.ipynb"):
        RULES[defect](path)


def test_a_lecture_without_solutions_fails(tmp_path):
    path = tmp_path / "99_lesson.ipynb"
    path.write_text(json.dumps(good_notebook()), encoding="utf-8")
    with pytest.raises(AssertionError, match="solutions/99_solutions.ipynb"):
        test_each_lecture_has_a_solutions_notebook(path)
