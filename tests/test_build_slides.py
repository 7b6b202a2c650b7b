"""tools/build_slides.py: offline reveal.js decks from the committed notebooks (make slides).

Most tests convert small notebooks made here, in memory. The build tests write real decks into
tmp_path; they need node_modules/, which they get through the build's own `ensure_node_modules`
(``npm ci`` from package-lock.json when it is missing, as `make slides` does).
"""

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import build_slides as bs

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "build_slides.py"
NB02 = ROOT / "notebooks" / "02_2d_convolution.ipynb"


def md(text, slide_type=None):
    cell = new_markdown_cell(text)
    if slide_type:
        cell.metadata["slideshow"] = {"slide_type": slide_type}
    return cell


def code(text, slide_type=None, count=1, outputs=()):
    cell = new_code_cell(text, execution_count=count, outputs=list(outputs))
    if slide_type:
        cell.metadata["slideshow"] = {"slide_type": slide_type}
    return cell


def small_notebook():
    """Five screens: the first slide, a subslide, a second slide and its subslide, a third slide."""
    return new_notebook(
        cells=[
            md("# A tiny lecture\n\nFirst screen, with $a^2 + b^2 = c^2$.", "slide"),
            md("SPEAKER-NOTE-ONE: say this, do not show it.", "notes"),
            code(
                "x = 1\nx", "fragment", outputs=[new_output("execute_result", {"text/plain": "1"}, execution_count=1)]
            ),
            md("Same screen, no slide_type."),
            md("Second screen.", "subslide"),
            code("SKIPPED_CELL_SOURCE = 2", "skip"),
            md("## Next slide\n\n$$\\sum_i i$$", "slide"),
            md("Fragment one.", "fragment"),
            md("Fragment two.", "fragment"),
            md("Below.", "subslide"),
            md("SPEAKER-NOTE-TWO", "notes"),
            md("## Last slide", "slide"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def write_nb(path: Path, nb) -> Path:
    nbformat.write(nb, str(path))
    return path


# ----------------------------------------------------------------------------------------------
# Counting slides and notes


def test_expected_slide_count_counts_the_first_shown_cell_and_every_slide_or_subslide(tmp_path):
    path = write_nb(tmp_path / "tiny.ipynb", small_notebook())
    assert bs.expected_slide_count(path) == 5
    slides, notes = bs.count_deck(bs.convert(bs.load_notebook(path)))
    assert (slides, notes) == (5, 2)


def test_expected_slide_count_leading_skip_cells_and_a_first_cell_without_slide_type(tmp_path):
    nb = small_notebook()
    nb.cells.insert(0, code("import os", "skip"))
    nb.cells[1].metadata.pop("slideshow")  # the first shown cell starts the deck whatever its type
    path = write_nb(tmp_path / "lead.ipynb", nb)
    assert bs.expected_slide_count(path) == 5
    assert bs.count_deck(bs.convert(bs.load_notebook(path)))[0] == 5


def test_uncounted_slides_are_not_counted(tmp_path):
    nb = small_notebook()
    nb.cells[-1].metadata["slideshow"]["data"] = {"visibility": "uncounted"}
    assert bs.expected_slide_count(write_nb(tmp_path / "u.ipynb", nb)) == 4


def test_notes_go_to_aside_and_skip_cells_nowhere():
    deck = bs.convert(small_notebook())
    asides = re.findall(r'<aside class="notes">(.*?)</aside>', deck, re.S)
    assert len(asides) == 2
    assert "SPEAKER-NOTE-ONE" in asides[0] and "SPEAKER-NOTE-TWO" in asides[1]
    outside = re.sub(r'<aside class="notes">.*?</aside>', "", deck, flags=re.S)
    assert "SPEAKER-NOTE" not in outside
    assert "SKIPPED_CELL_SOURCE" not in deck


def test_nbval_markers_are_not_shown_and_the_notebook_is_not_changed():
    nb = small_notebook()
    nb.cells[2].source = "# NBVAL_IGNORE_OUTPUT\nx = 1\nx"
    deck = bs.convert(nb)
    assert "NBVAL" not in deck and "x</span>" in deck
    assert nb.cells[2].source.startswith("# NBVAL_IGNORE_OUTPUT")


# ----------------------------------------------------------------------------------------------
# Bad input


def test_missing_notebook_exits_2_naming_it_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), str(tmp_path / "missing.ipynb")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "missing.ipynb: no such notebook" in result.stderr
    assert not out.exists()
    with pytest.raises(bs.NotebookNotFound, match="missing.ipynb"):
        bs.build([tmp_path / "missing.ipynb"], out)
    with pytest.raises(bs.NotebookNotFound, match="folder"):
        bs.load_notebook(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"cells": [', r"invalid JSON at line 1, column 12"),
        ("# a markdown file\n", r"invalid JSON at line 1, column 1"),
        ("[1, 2]", r"JSON without 'cells'"),
        ('{"cells": [], "nbformat": 3, "nbformat_minor": 0, "metadata": {}}', r"nbformat 3"),
        ('{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "not a valid"),
    ],
)
def test_a_file_that_is_not_a_notebook_is_refused_naming_it(tmp_path, content, message):
    path = tmp_path / "bad.ipynb"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(bs.InvalidNotebook, match=message) as info:
        bs.load_notebook(path)
    assert str(path) in str(info.value)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "image.ipynb"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(bs.InvalidNotebook, match=r"image\.ipynb: not a notebook \(not UTF-8"):
        bs.load_notebook(path)


def test_unexecuted_code_cell_is_refused_naming_file_and_cell(tmp_path):
    nb = small_notebook()
    nb.cells[2].execution_count = None
    nb.cells[2].outputs = []
    path = write_nb(tmp_path / "half_run.ipynb", nb)
    with pytest.raises(bs.UnexecutedCell, match=r"half_run\.ipynb: cell 3 of 12 \(a code cell, id ") as info:
        bs.expected_slide_count(path)
    assert nb.cells[2].id in str(info.value)
    out = tmp_path / "out"
    assert bs.main(["--out", str(out), str(path)]) == 2
    assert not out.exists()


def test_an_empty_unexecuted_code_cell_is_fine(tmp_path):
    nb = small_notebook()
    nb.cells.append(code("  \n", count=None))
    assert bs.expected_slide_count(write_nb(tmp_path / "empty_cell.ipynb", nb)) == 5


def test_notes_before_the_first_slide_and_a_deck_with_no_slide_are_refused(tmp_path):
    nb = small_notebook()
    nb.cells.insert(0, md("orphan notes", "notes"))
    with pytest.raises(bs.InvalidNotebook, match=r"early\.ipynb: cell 1 is speaker notes before the first slide"):
        bs.load_notebook(write_nb(tmp_path / "early.ipynb", nb))
    hidden = new_notebook(cells=[md("n", "notes"), code("1", "skip")])
    with pytest.raises(bs.InvalidNotebook, match=r"hidden\.ipynb: every cell is a 'notes' or 'skip' cell"):
        bs.load_notebook(write_nb(tmp_path / "hidden.ipynb", hidden))


# ----------------------------------------------------------------------------------------------
# Widgets


def widget_notebook():
    """An explorer (a slider and an Output holding a picture) and a progress bar, with their saved state."""
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    state = {
        "e0": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_e1", "IPY_MODEL_e2", "IPY_MODEL_e3"]}},
        "e1": {"model_name": "IntSliderModel", "state": {"value": 2, "style": "IPY_MODEL_e4"}},
        "e2": {"model_name": "HTMLModel", "state": {"value": "EXPLORER-STATUS 3×3"}},
        "e3": {
            "model_name": "OutputModel",
            "state": {"outputs": [{"output_type": "display_data", "data": {"image/png": png}, "metadata": {}}]},
        },
        "e4": {"model_name": "SliderStyleModel", "state": {}},
        "p0": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_p1", "IPY_MODEL_p2"]}},
        "p1": {"model_name": "FloatProgressModel", "state": {"value": 10, "style": "IPY_MODEL_p3"}},
        "p2": {"model_name": "HTMLModel", "state": {"value": "10/10"}},
        "p3": {"model_name": "ProgressStyleModel", "state": {}},
    }
    view = "application/vnd.jupyter.widget-view+json"
    explorer = new_output(
        "execute_result",
        {view: {"model_id": "e0", "version_major": 2}, "text/plain": "Explorer(p=2)"},
        execution_count=2,
    )
    progress = new_output(
        "display_data", {view: {"model_id": "p0", "version_major": 2}, "text/plain": "training: 100%|##| 10/10"}
    )
    nb = small_notebook()
    nb.cells.insert(3, code("explorer", "subslide", count=2, outputs=[explorer]))
    nb.cells.insert(4, code("fit()", count=3, outputs=[progress]))
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {"state": state, "version_major": 2, "version_minor": 0}
    }
    return nb, png


def test_explorer_shows_its_saved_picture_and_status_with_a_live_kernel_note():
    nb, png = widget_notebook()
    deck = bs.convert(nb)
    assert f"data:image/png;base64,{png}" in deck
    assert "EXPLORER-STATUS 3×3" in deck
    assert deck.count('<p class="coursekit-live-note">') == 1  # the explorer's; the progress bar has none
    assert "make lab" in deck and "RISE" in deck
    assert "training: 100%|##| 10/10" in deck
    assert "widget-view+json" not in deck and "widget-state+json" not in deck
    assert "html-manager" not in deck and "embed-amd" not in deck
    assert "widgets" in nb.metadata  # the caller's notebook keeps its state


def test_a_widget_without_saved_state_gets_its_text_and_the_note():
    nb, _ = widget_notebook()
    del nb.metadata["widgets"]
    deck = bs.convert(nb)
    assert "Explorer(p=2)" in deck
    assert deck.count('<p class="coursekit-live-note">') == 2  # without state, neither can be told apart


# ----------------------------------------------------------------------------------------------
# Remote references


def test_remote_references_finds_what_would_leave_the_machine():
    text = """
    <script src="https://cdn.example.org/x.js"></script>
    <script type="text/javascript" src='//cdn.example.org/y.js'></script>
    <link rel="stylesheet" href="http://fonts.example.org/a.css">
    <style>@import url(https://fonts.example.org/b.css); @import "//x.example.org/c.css";
      .f { background: url( 'https://img.example.org/d.png' ) }</style>
    <script type="module">import mermaid from 'https://cdn.example.org/m.mjs';</script>
    """
    found = bs.remote_references(text)
    assert len(found) == 7, found
    assert "<script src>: https://cdn.example.org/x.js" in found
    assert "@import: //x.example.org/c.css" in found


def test_remote_references_leaves_links_data_and_relative_paths_alone():
    text = """
    <a href="https://pytorch.org/docs">docs</a> <img src="data:image/png;base64,iVBOR">
    <script src="_assets/require.js"></script> <link href="_assets/reveal.js/dist/reveal.css">
    <style>.x { background: url(data:image/svg+xml;base64,PHN2Zz4=) } @import url(./fonts/a.css);</style>
    """
    assert bs.remote_references(text) == []


def test_a_deck_that_would_load_from_a_cdn_is_refused(tmp_path, monkeypatch):
    nb = small_notebook()
    nb.cells.append(md('<script src="https://cdn.example.org/evil.js"></script>'))
    path = write_nb(tmp_path / "cdn.ipynb", nb)
    monkeypatch.setattr(bs, "install_assets", lambda out_dir, node_modules: None)
    monkeypatch.setattr(bs, "ensure_node_modules", lambda root: root / "node_modules")
    out = tmp_path / "out"
    with pytest.raises(bs.RemoteReference, match=r"cdn\.ipynb: .*https://cdn\.example\.org/evil\.js"):
        bs.build([path], out)
    assert not list(out.glob("*.html")) and not list(out.glob(".*"))


# ----------------------------------------------------------------------------------------------
# node_modules


def fake_root(tmp_path, installed: str | None):
    """A project root pinning reveal.js 4.6.1 and requirejs 2.3.8, with `installed` reveal.js (None: absent)."""
    root = tmp_path / "root"
    packages = {"node_modules/reveal.js": {"version": "4.6.1"}, "node_modules/requirejs": {"version": "2.3.8"}}
    root.mkdir()
    (root / "package-lock.json").write_text(json.dumps({"packages": packages}))
    if installed:
        for name, version in (("reveal.js", installed), ("requirejs", "2.3.8")):
            (root / "node_modules" / name).mkdir(parents=True)
            (root / "node_modules" / name / "package.json").write_text(json.dumps({"version": version}))
    return root


def test_ensure_node_modules_runs_nothing_when_the_pinned_versions_are_there(tmp_path, monkeypatch):
    root = fake_root(tmp_path, installed="4.6.1")
    monkeypatch.setattr(bs.subprocess, "run", lambda *a, **k: pytest.fail("npm ci ran although nothing was missing"))
    assert bs.ensure_node_modules(root) == root / "node_modules"


def test_ensure_node_modules_without_npm_says_so(tmp_path, monkeypatch):
    root = fake_root(tmp_path, installed=None)
    monkeypatch.setattr(bs.shutil, "which", lambda name: None)
    with pytest.raises(bs.AssetError, match="npm is not on PATH"):
        bs.ensure_node_modules(root)


def test_ensure_node_modules_reports_a_failed_npm_ci(tmp_path, monkeypatch):
    root = fake_root(tmp_path, installed="4.0.2")  # another version than the pinned one: reinstall
    calls = []

    def failing_npm(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, stdout="", stderr="npm error code E404\nnpm error 404 Not Found")

    monkeypatch.setattr(bs.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(bs.subprocess, "run", failing_npm)
    with pytest.raises(bs.AssetError, match=r"npm ci in .* failed \(exit status 1\):\nnpm error code E404"):
        bs.ensure_node_modules(root)
    assert calls and calls[0][:2] == ["/usr/bin/npm", "ci"]


def test_ensure_node_modules_without_a_lock_file_names_it(tmp_path):
    with pytest.raises(bs.AssetError, match=r"package-lock\.json: cannot read the pinned versions"):
        bs.ensure_node_modules(tmp_path)


# ----------------------------------------------------------------------------------------------
# Building real decks


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Decks for notebook 02 and the small notebook, built by `build` into a fresh folder."""
    folder = tmp_path_factory.mktemp("slides")
    tiny = write_nb(folder / "tiny.ipynb", small_notebook())
    out = folder / "out"
    decks = bs.build([NB02, tiny], out)
    return out, decks


def test_build_writes_one_deck_per_notebook_and_an_index(built):
    out, decks = built
    assert [d.path.name for d in decks] == ["02_2d_convolution.slides.html", "tiny.slides.html"]
    index = (out / "index.html").read_text()
    assert 'href="02_2d_convolution.slides.html"' in index and 'href="tiny.slides.html"' in index
    assert "02 · 2-D convolution" in index
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]


def test_built_deck_counts_match_the_notebook(built):
    _, decks = built
    nb = json.loads(NB02.read_text())
    notes_cells = sum(c["metadata"].get("slideshow", {}).get("slide_type") == "notes" for c in nb["cells"])
    deck = decks[0]
    assert deck.slides == bs.expected_slide_count(NB02)
    assert deck.notes == notes_cells > 0
    html_text = deck.path.read_text()
    assert html_text.count('<aside class="notes">') == notes_cells


def test_every_reference_in_a_deck_is_a_relative_file_that_exists(built):
    out, decks = built
    for deck in decks:
        parser = _References()
        parser.feed(deck.path.read_text())
        assert len(parser.urls) >= 4  # require.js, MathJax, reveal.css and the theme
        for url in parser.urls:
            assert not re.match(r"^[a-z]+:|^/", url), f"{deck.path.name}: {url} is not relative"
            assert (out / url.split("?")[0]).is_file(), f"{deck.path.name}: {url} is not in {out}"
        source = deck.path.read_text()
        for module in ("dist/reveal.js", "plugin/notes/notes.js"):  # loaded by require.js, not by a tag
            assert f"_assets/reveal.js/{module}" in source and (out / "_assets/reveal.js" / module).is_file()


def test_nothing_in_the_output_folder_points_off_the_machine(built):
    out, _ = built
    scanned = 0
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".css", ".js"):
            assert bs.remote_references(path.read_text("utf-8", "replace")) == [], path
            scanned += 1
    assert scanned > 50  # the decks, the index and MathJax's and reveal.js's files


def test_deck_02_shows_the_explorer_as_saved_with_the_note(built):
    _, decks = built
    text = decks[0].path.read_text()
    assert text.count('<p class="coursekit-live-note">') == 1
    assert "widget-view+json" not in text and "widget-state+json" not in text
    assert "MathJax.js?config=" in text and "STIX-Web" in text


def test_a_failure_in_a_later_deck_keeps_the_earlier_ones_and_the_old_file(built, tmp_path, monkeypatch):
    out, _ = built
    first, second = out / "02_2d_convolution.slides.html", out / "tiny.slides.html"
    before = first.read_bytes(), second.read_bytes()
    other = write_nb(tmp_path / "tiny.ipynb", small_notebook())
    real_convert = bs.convert

    def convert_then_fail(nb, title=None):
        if title == "A tiny lecture":
            raise OSError("disk full")
        return real_convert(nb, title)

    monkeypatch.setattr(bs, "convert", convert_then_fail)
    with pytest.raises(OSError, match="disk full"):
        bs.build([NB02, other], out)
    assert (first.read_bytes(), second.read_bytes()) == before  # rewritten identical, and untouched
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]


def test_main_prints_one_line_per_deck(built, capsys):
    out, decks = built
    assert bs.main(["--out", str(out), str(NB02)]) == 0
    line = f"02_2d_convolution.slides.html: {decks[0].slides} slides, {decks[0].notes} speaker notes"
    assert line in capsys.readouterr().out.splitlines()
