"""tools/build_site.py: the offline course website (make site).

Most tests run the helpers on small notebooks made here, in memory, or on small folders of HTML,
CSS and JavaScript written into tmp_path. One module-scoped fixture builds a real two-lecture site
with Sphinx (00_welcome.ipynb and a made-up lecture with math, a picture and an explorer) into
tmp_path, a few seconds; the end-to-end tests, including the bad-input ones, share it.
"""

import copy
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import build_site as bsite

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "build_site.py"
NB00 = ROOT / "notebooks" / "00_welcome.ipynb"
NB02 = ROOT / "notebooks" / "02_2d_convolution.ipynb"

VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
PYTHON_METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}


def md(text, slide_type=None):
    cell = new_markdown_cell(text)
    if slide_type:
        cell.metadata["slideshow"] = {"slide_type": slide_type}
    return cell


def code(text, count=1, outputs=()):
    return new_code_cell(text, execution_count=count, outputs=list(outputs))


FIRST_CELL = """\
# 07 · Learning *filters*

A made-up lecture: the network learns the kernels
that earlier notebooks wrote by hand.

**After this notebook you can**
- train a one-layer CNN
  on MNIST;
- compare learned and hand-made filters.

**Prerequisites:** notebooks 03 and 06
(filters and pooling).
"""


def lecture_nb(first_cell=FIRST_CELL, *cells):
    return new_notebook(cells=[md(first_cell), *cells], metadata=copy.deepcopy(PYTHON_METADATA))


def write_nb(path: Path, nb) -> Path:
    nbformat.write(nb, str(path))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def partials(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.endswith(".partial")]


# ----------------------------------------------------------------------------------------------
# What the home page says about a lecture


def test_lecture_info_reads_title_summary_goals_and_prerequisites():
    lec = bsite.lecture_info(lecture_nb(), Path("notebooks/07_learning.ipynb"))
    assert (lec.stem, lec.number, lec.title) == ("07_learning", "07", "Learning *filters*")
    assert lec.summary == "A made-up lecture: the network learns the kernels that earlier notebooks wrote by hand."
    assert lec.goals == ["train a one-layer CNN on MNIST;", "compare learned and hand-made filters."]
    assert lec.prerequisites == "notebooks 03 and 06 (filters and pooling)."


def test_lecture_info_without_prerequisites_gives_none():
    first = FIRST_CELL.split("**Prerequisites:**")[0]
    assert bsite.lecture_info(lecture_nb(first), Path("07_x.ipynb")).prerequisites is None


def test_lecture_info_of_the_real_notebook_02():
    lec = bsite.lecture_info(bsite.read_notebook(NB02), NB02)
    assert (lec.stem, lec.number, lec.title) == ("02_2d_convolution", "02", "2-D convolution")
    assert lec.summary.startswith("An image is a grid, so the kernel becomes a grid too")
    assert lec.summary.endswith("it is **linear** and it is **shift-equivariant**.")
    assert len(lec.goals) == 5
    assert lec.goals[0].startswith("write down 2-D cross-correlation and convolution")
    assert lec.goals[-1] == "explore a convolution step by step with an interactive widget."
    assert lec.prerequisites == "notebook 01 (images as arrays, 1-D cross-correlation and convolution)."


@pytest.mark.parametrize(
    "first_cell, message",
    [
        ("Just some text.\n", r"cell 1 must start with a title like"),
        ("# 08 · Wrong number\n\nIntro.\n\n**After this notebook you can**\n- a\n", r"title's number 08"),
        ("# 07 · No goals\n\nIntro only.\n", r"no '\*\*After this notebook you can\*\*' line"),
        ("# 07 · No list\n\nIntro.\n\n**After this notebook you can**\n\nText.\n", r"is not followed by a list"),
        ("# 07 · No intro\n\n**After this notebook you can**\n- a\n", r"needs an introductory paragraph"),
    ],
)
def test_lecture_info_refuses_a_first_cell_without_title_or_goals_naming_the_file(first_cell, message):
    with pytest.raises(bsite.BadNotebook, match=message) as info:
        bsite.lecture_info(lecture_nb(first_cell), Path("07_bad.ipynb"))
    assert str(info.value).startswith("07_bad.ipynb: ")


def test_lecture_info_refuses_a_notebook_starting_with_code():
    nb = new_notebook(cells=[code("1"), md(FIRST_CELL)])
    with pytest.raises(bsite.BadNotebook, match=r"07_code\.ipynb: the first cell must be markdown"):
        bsite.lecture_info(nb, Path("07_code.ipynb"))


def test_render_index_lists_every_lecture_in_order_with_links_and_goals():
    lectures = [
        bsite.lecture_info(bsite.read_notebook(NB02), NB02),
        bsite.lecture_info(lecture_nb(), Path("07_learning.ipynb")),
        bsite.Lecture("11_last", "11", "The last one", "Ends the course.", ["finish"]),
    ]
    text = bsite.render_index("My course", lectures)
    assert text.startswith("# My course\n")
    rows = [text.index(f"  - [{lec.title}]({lec.stem}.ipynb)") for lec in lectures]
    assert rows == sorted(rows)
    for lec in lectures:
        assert f"* - {lec.number}\n  - [{lec.title}]({lec.stem}.ipynb)\n  - {lec.summary}\n" in text
        assert f"### {lec.number} · {lec.title}" in text
        assert all(f"- {goal}\n" in text for goal in lec.goals)
    assert "*Prerequisites:* notebook 01 (images as arrays" in text
    assert text.count("*Prerequisites:*") == 2  # the third lecture has none
    toctree = text[text.index("```{toctree}") :]
    assert toctree.split("\n\n", 1)[1].split("\n```")[0].splitlines() == ["02_2d_convolution", "07_learning", "11_last"]
    assert "make setup" in text and "make lab" in text


# ----------------------------------------------------------------------------------------------
# Reading and checking notebooks


def test_check_executed_names_the_file_and_the_cell():
    nb = lecture_nb(FIRST_CELL, code("a = 1"), md("text"), code("train(model)\nmore()", count=None))
    with pytest.raises(bsite.BadNotebook, match=r"^nb/07_half\.ipynb: cell 4 \(code: 'train\(model\)'\)") as info:
        bsite.check_executed(nb, Path("nb/07_half.ipynb"))
    assert "never executed" in str(info.value)


def test_check_executed_accepts_empty_code_cells_and_executed_ones():
    nb = lecture_nb(FIRST_CELL, code("", count=None), code("  \n\t", count=None), code("x = 1", count=3))
    assert bsite.check_executed(nb, Path("07_ok.ipynb")) is None


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"cells": [', r"not a notebook \(invalid JSON"),
        ('{"cells": [], "nbformat": 3}', "not an nbformat 4 notebook"),
    ],
)
def test_read_notebook_refuses_a_file_that_is_not_a_notebook_naming_it(tmp_path, content, message):
    path = tmp_path / "07_broken.ipynb"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(bsite.BadNotebook, match=message) as info:
        bsite.read_notebook(path)
    assert str(info.value).startswith(f"{path}: ")
    with pytest.raises(bsite.BadNotebook, match="no such notebook"):
        bsite.read_notebook(tmp_path / "missing.ipynb")


# ----------------------------------------------------------------------------------------------
# Widgets, presenter notes, the download link


def widget_notebook():
    """An explorer (cell 2), a finished and an unfinished progress bar (cell 3), all with saved state."""
    state = {
        "e0": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_e1", "IPY_MODEL_e2"]}},
        "e1": {"model_name": "IntSliderModel", "state": {"value": 2}},
        "e2": {"model_name": "OutputModel", "state": {}},
        "p0": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_p1", "IPY_MODEL_p2"]}},
        "p1": {"model_name": "FloatProgressModel", "state": {"value": 10}},
        "p2": {"model_name": "HTMLModel", "state": {"value": "10/10"}},
        "q0": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_q1"]}},
        "q1": {"model_name": "IntProgressModel", "state": {"value": 5}},
    }
    done = "training: 100%|##########| 10/10 [00:01<00:00, 9.9batch/s, loss=0.0556, val_acc=0.9816]"
    half = "training:  50%|#####     | 5/10 [00:01<00:01, 9.9batch/s, loss=0.3]"
    explorer = new_output(
        "execute_result", {VIEW: {"model_id": "e0", "version_major": 2}, "text/plain": "ConvExplorer(step=0)"}
    )
    bar_done = new_output("display_data", {VIEW: {"model_id": "p0", "version_major": 2}, "text/plain": done})
    bar_half = new_output("display_data", {VIEW: {"model_id": "q0", "version_major": 2}, "text/plain": half})
    printed = new_output("stream", name="stdout", text="epoch 1 done\n")
    cells = [code("ConvExplorer()", outputs=[explorer]), code("fit()", 2, [bar_done, printed, bar_half])]
    nb = lecture_nb(FIRST_CELL, *cells)
    nb.cells[1].metadata["widgets"] = {"stale": True}
    nb.metadata["widgets"] = {STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return nb, done, half


def test_strip_widgets_notes_explorers_keeps_finished_bars_and_drops_widget_state():
    nb, done, half = widget_notebook()
    before = copy.deepcopy(nb)
    staged, report = bsite.strip_widgets(nb)
    assert nb == before  # the caller's notebook is not changed
    assert VIEW not in json.dumps(staged) and STATE not in json.dumps(staged)
    assert "widgets" not in staged["metadata"] and "widgets" not in staged["cells"][1]["metadata"]

    [note] = staged["cells"][1]["outputs"]
    assert note["output_type"] == "display_data" and list(note["data"]) == ["text/html"]
    assert "Interactive explorer (<code>ConvExplorer</code>)" in note["data"]["text/html"]
    assert "needs a live Python kernel" in note["data"]["text/html"] and "make lab" in note["data"]["text/html"]

    outputs = staged["cells"][2]["outputs"]
    assert [o["data"] for o in (outputs[0], outputs[2])] == [{"text/plain": done}, {"text/plain": half}]
    assert "100%" in outputs[0]["data"]["text/plain"] and "loss=0.0556" in outputs[0]["data"]["text/plain"]
    assert outputs[1] == nb.cells[2].outputs[1]  # a plain output stays as it was

    assert report.explorers == [2]
    assert report.progress_bars == [done, half]
    assert report.unfinished == [f"cell 3: {half}"]


def test_without_saved_state_a_tqdm_text_is_a_bar_and_anything_else_an_explorer():
    nb, done, _ = widget_notebook()
    del nb.metadata["widgets"]
    staged, report = bsite.strip_widgets(nb)
    assert report.explorers == [2] and len(report.progress_bars) == 2
    assert staged["cells"][2]["outputs"][0]["data"] == {"text/plain": done}


def test_stage_notebook_strips_widgets_folds_notes_and_links_the_download():
    nb, _, _ = widget_notebook()
    nb.cells.append(md("Say the quiet part.", "notes"))
    before = copy.deepcopy(nb)
    staged, report = bsite.stage_notebook(nb, "07_learning")
    assert nb == before
    assert report.explorers == [2]
    text = json.dumps(staged)
    assert VIEW not in text and "widget-state" not in text
    assert 'href="07_learning.ipynb" download' in staged["cells"][0]["source"]
    assert staged["cells"][-1]["source"].startswith('<details class="course-notes">')


def test_fold_notes_folds_notes_without_headings_and_labels_those_with_one():
    nb = new_notebook(
        cells=[
            md("Plain notes, *emphasis*.", "notes"),
            md("## A heading\n\nNotes with a heading.", "notes"),
            md("Shown on the page.", "slide"),
            md("Shown too."),
            new_code_cell("x = 1", execution_count=1, metadata={"slideshow": {"slide_type": "notes"}}),
        ]
    )
    folded = bsite.fold_notes(nb)
    first, second, shown, plain, code_cell = (cell["source"] for cell in folded["cells"])
    assert first == (
        '<details class="course-notes">\n<summary>Notes for the presenter</summary>\n\n'
        "Plain notes, *emphasis*.\n\n</details>\n"
    )
    assert second == "**Notes for the presenter:**\n\n## A heading\n\nNotes with a heading.\n"
    assert (shown, plain, code_cell) == ("Shown on the page.", "Shown too.", "x = 1")


def test_add_download_note_goes_right_under_the_title():
    nb = lecture_nb("\n# 07 · Title\nIntro line.\n")
    bsite.add_download_note(nb, "07_title")
    lines = nb["cells"][0]["source"].splitlines()
    assert lines[:2] == ["", "# 07 · Title"]
    assert lines[3].startswith('<div class="course-download">')
    assert '<a href="07_title.ipynb" download>07_title.ipynb</a>' in lines[3]
    assert lines[4:] == ["", "Intro line."]
    assert len(nb["cells"]) == 1


# ----------------------------------------------------------------------------------------------
# Scanning a built site


def write_files(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_find_remote_refs_reports_every_remote_load_with_file_and_line(tmp_path):
    write_files(
        tmp_path,
        {
            "page.html": (
                "<html><head>\n"
                '<script src="https://cdn.example.org/a.js"></script>\n'
                '<link rel="stylesheet" href="//fonts.example.org/b.css">\n'
                "<style>@import url(http://x.example.org/c.css);</style>\n"
                "</head><body>\n"
                '<img srcset="small.png 1x, https://img.example.org/big.png 2x">\n'
                "<div style=\"background: url('//img.example.org/d.png')\"></div>\n"
                "</body></html>\n"
            ),
            "_static/theme.css": (
                '\n@import "https://fonts.example.org/e.css";\n.x { src: url(//f.example.org/f.woff2) }\n'
            ),
            "_static/app.js": (
                'var s = document.createElement("script");\ns.src = "https://cdn.example.org/g.js";\n'
                'fetch("//api.example.org/h");\n'
            ),
            "notes.txt": "https://not.scanned.example.org/\n",
        },
    )
    found = bsite.find_remote_refs(tmp_path)
    where = sorted((f.path, f.line) for f in found)
    assert where == [
        ("_static/app.js", 2),
        ("_static/app.js", 3),
        ("_static/theme.css", 2),
        ("_static/theme.css", 3),
        ("page.html", 2),
        ("page.html", 3),
        ("page.html", 4),
        ("page.html", 6),
        ("page.html", 7),
    ]
    text = "\n".join(str(f) for f in found)
    urls = ["https://cdn.example.org/a.js", "//fonts.example.org/b.css", "http://x.example.org/c.css"]
    urls += ["https://img.example.org/big.png", "//img.example.org/d.png", "https://fonts.example.org/e.css"]
    urls += ["//f.example.org/f.woff2", "https://cdn.example.org/g.js", "//api.example.org/h"]
    assert [url for url in urls if f"{url}'" not in text] == [], text
    assert "small.png" not in text and "not.scanned" not in text


def test_find_remote_refs_leaves_links_data_uris_and_relative_paths_alone(tmp_path):
    write_files(
        tmp_path,
        {
            "index.html": (
                '<a href="https://pytorch.org/docs">docs</a> <a href="//example.org/x">x</a>\n'
                '<img src="data:image/png;base64,iVBOR"> <img src="_images/a.png">\n'
                '<script src="_static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"></script>\n'
                '<link href="_static/course.css" rel="stylesheet">\n'
                "<style>.x { background: url(data:image/svg+xml;base64,PHN2Zz4=) } @import url(./a.css);</style>\n"
                "<p>See https://example.org for more.</p>\n"
            ),
            "_static/a.css": '@import "local.css";\n.y { background: url("../_images/b.png") }\n',
            "_static/b.js": 'var homepage = "https://example.org/";\nfetch("searchindex.js");\n',
        },
    )
    assert bsite.find_remote_refs(tmp_path) == []


def test_find_broken_links_reports_missing_files_by_page(tmp_path):
    write_files(
        tmp_path,
        {
            "index.html": (
                '<a href="lecture.html">ok</a> <a href="lecture.html#part-2">ok</a> <a href="#top">ok</a>\n'
                '<a href="gone.html">broken</a> <a href="https://example.org/x.html">remote</a>\n'
                '<a href="mailto:a@example.org">mail</a> <img src="_images/a%20b.png"> <a href="sub/">dir</a>\n'
                '<script src="_static/missing.js"></script> <a href="lecture.ipynb?x=1" download>nb</a>\n'
            ),
            "lecture.html": '<a href="index.html">up</a>\n',
            "lecture.ipynb": "{}",
            "_images/a b.png": "",
            "sub/page.html": '<a href="../index.html">ok</a> <a href="../../outside.html">outside</a>\n',
            "_static/template.html": '<a href="{{ pathto(master_doc) }}">a theme template</a>\n',
        },
    )
    found = sorted(str(f) for f in bsite.find_broken_links(tmp_path))
    assert found == [
        "index.html:2: link to a missing file 'gone.html'",
        "index.html:4: link to a missing file '_static/missing.js'",
        "sub/page.html:1: link to a missing file '../../outside.html'",
    ]


# ----------------------------------------------------------------------------------------------
# Publishing


def test_publish_replaces_the_old_folder(tmp_path):
    out = write_files(tmp_path / "site", {"index.html": "old", "old_only.html": "old"})
    new = write_files(tmp_path / "new", {"index.html": "new"})
    bsite.publish(new, out)
    assert snapshot(out) == {"index.html": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no new/, no old copy left


def test_publish_puts_the_old_site_back_when_the_rename_fails(tmp_path, monkeypatch):
    out = write_files(tmp_path / "site", {"index.html": "old", "_static/a.css": "x"})
    new = write_files(tmp_path / "new", {"index.html": "new"})
    before = snapshot(out)
    real_replace = os.replace
    failed = []

    def replace_failing_once(src, dst):
        if Path(src) == new and not failed:
            failed.append(src)
            raise OSError("rename failed")
        return real_replace(src, dst)

    monkeypatch.setattr(bsite.os, "replace", replace_failing_once)
    with pytest.raises(OSError, match="rename failed"):
        bsite.publish(new, out)
    assert failed
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "site"]  # the old one is back under its name


def test_publish_into_a_new_folder(tmp_path):
    new = write_files(tmp_path / "new", {"index.html": "new"})
    bsite.publish(new, tmp_path / "site")
    assert snapshot(tmp_path / "site") == {"index.html": b"new"} and not new.exists()


# ----------------------------------------------------------------------------------------------
# A real build: 00_welcome and a made-up lecture


def tiny_lecture():
    """Lecture 01: math in markdown, a picture output and an explorer with its saved state."""
    explorer = new_output("execute_result", {VIEW: {"model_id": "e0", "version_major": 2}, "text/plain": "Explorer()"})
    nb = lecture_nb(
        "# 01 · A tiny lecture\n\nSquares: $x^2$ grows fast.\n\n**After this notebook you can**\n- square $x$;\n",
        md("The area is $$x^2$$ here."),
        code("show()", outputs=[new_output("display_data", {"image/png": PNG, "text/plain": "<Figure>"})]),
        code("Explorer()", count=2, outputs=[explorer]),
    )
    nb.metadata["widgets"] = {STATE: {"state": {"e0": {"model_name": "VBoxModel", "state": {}}}, "version_major": 2}}
    return nb


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The site of 00_welcome and the tiny lecture, built by `build_site` into a fresh folder."""
    folder = tmp_path_factory.mktemp("site_build")
    tiny = write_nb(folder / "01_tiny.ipynb", tiny_lecture())
    readme = folder / "README.md"
    readme.write_text("# Test course\n\nA README.\n", encoding="utf-8")
    out = folder / "build" / "site"
    summary = bsite.build_site([NB00, tiny], out=out, readme=readme)
    return out, summary, tiny


def test_build_writes_the_index_and_one_page_per_lecture(built):
    out, summary, _ = built
    assert summary["out"] == out and summary["lectures"] == 2
    for page in ("index.html", "00_welcome.html", "01_tiny.html"):
        assert (out / page).is_file(), page
    assert summary["pages"] == len(bsite.site_pages(out)) >= 3
    assert summary["explorers"] == {"01_tiny": [4]} and summary["unfinished"] == []
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Test course" in index
    assert index.index('href="00_welcome.html"') < index.index('href="01_tiny.html"')
    assert "Welcome to" in index and "A tiny lecture" in index and "square" in index


def test_each_page_links_the_original_notebook_next_to_it(built):
    out, _, tiny = built
    assert (out / "01_tiny.ipynb").read_bytes() == tiny.read_bytes()  # the original, widget state and all
    assert (out / "00_welcome.ipynb").read_bytes() == NB00.read_bytes()
    for stem in ("00_welcome", "01_tiny"):
        assert f'href="{stem}.ipynb" download' in (out / f"{stem}.html").read_text(encoding="utf-8")


def test_the_page_has_local_math_the_picture_and_the_explorer_note(built):
    out, _, _ = built
    page = (out / "01_tiny.html").read_text(encoding="utf-8")
    assert (out / "_static" / "mathjax" / "MathJax.js").is_file()
    assert 'src="_static/mathjax/MathJax.js?config=' in page
    assert r"\(x^2\)" in page
    images = [name for name in page.split('src="_images/')[1:]]
    assert images and (out / "_images" / images[0].split('"')[0]).is_file()
    assert "needs a live Python kernel" in page
    assert "widget-view+json" not in page and "widget-state+json" not in page


def test_the_built_site_loads_nothing_remote_and_has_no_broken_links(built):
    out, _, _ = built
    assert bsite.find_remote_refs(out) == []
    assert bsite.find_broken_links(out) == []
    assert not partials(out.parent)


def test_a_bad_notebook_fails_and_leaves_the_site_as_it_was(built, tmp_path):
    out, _, tiny = built
    before = snapshot(out)
    nb = tiny_lecture()
    nb.cells[2].execution_count = None
    bad = write_nb(tmp_path / "01_tiny.ipynb", nb)
    with pytest.raises(bsite.BadNotebook, match=r"01_tiny\.ipynb: cell 3 \(code: 'show\(\)'\) was never executed"):
        bsite.build_site([NB00, bad], out=out, readme=tiny.parent / "README.md")
    assert snapshot(out) == before
    assert not partials(out.parent)


def test_a_remote_reference_fails_the_build_naming_the_file_and_keeps_the_site(built, tmp_path, monkeypatch):
    out, _, tiny = built
    before = snapshot(out)

    def fake_sphinx(src, html_dir, doctrees, title):  # a "built" site with a CDN script in it
        write_files(html_dir, {"index.html": '<script src="https://cdn.example.org/x.js"></script>'})

    monkeypatch.setattr(bsite, "run_sphinx", fake_sphinx)
    with pytest.raises(bsite.SiteError, match=r"index\.html:1: remote load 'https://cdn\.example\.org/x\.js'"):
        bsite.build_site([tiny], out=out, readme=tiny.parent / "README.md")
    assert snapshot(out) == before
    assert not partials(out.parent)


def test_main_exits_2_naming_the_file_and_the_cell(built, tmp_path, capsys):
    out, _, _ = built
    before = snapshot(out)
    nb = tiny_lecture()
    nb.cells[3].execution_count = None
    bad = write_nb(tmp_path / "01_tiny.ipynb", nb)
    assert bsite.main(["--out", str(out), str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: cell 4 (code: 'Explorer()') was never executed" in err
    assert f"{out} was left as it was" in err
    assert snapshot(out) == before
    fresh = tmp_path / "never_built"
    assert bsite.main(["--out", str(fresh), str(tmp_path / "missing.ipynb")]) == 2
    assert "missing.ipynb: no such notebook" in capsys.readouterr().err
    assert not fresh.exists()
