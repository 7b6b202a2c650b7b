"""Build the course website: ``python tools/build_site.py`` (what ``make site`` runs) -> build/site/index.html.

The site shows the lecture notebooks (notebooks/NN_*.ipynb) with their COMMITTED outputs; no kernel
is ever started. It is made to be opened from disk (file://) with no network: nothing on any page
loads from http(s)://, math is typeset by a local MathJax 2.7, and the explorers (ipywidgets) are
replaced by a note, because they need a live kernel.

Steps, all in a work folder next to the target (``build/.site-work.<pid>x<hex>.partial``):

1. read every notebook, refuse one with a code cell that was never executed (naming file and cell),
   and read its title, summary, learning goals and prerequisites from its first cell;
2. stage a Sphinx project: ``site/conf.py`` and ``site/_static``, a generated ``index.md`` (course
   map and goals, so it never goes stale), and a copy of each notebook with widget views replaced
   (progress bars keep their text/plain fallback, explorers get a note), presenter notes folded into
   ``<details>`` and a download link at the top; the original notebooks go to ``_originals/`` and are
   published next to their pages;
3. run ``sphinx-build -W`` (a warning is an error), add MathJax from jupyter-server-mathjax;
4. scan every HTML/CSS/JS file for remote references and every page for broken local links;
5. only then swap the new folder in for build/site/ (rename). Any failure leaves build/site/ as it was.

Exit status: 0 built, 2 bad input (a notebook that cannot be published), 1 the build itself failed.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # coursekit, when this file is run as a script from anywhere

from coursekit.files import partial_name, remove_stale_partials  # noqa: E402
from tools.mathjax import mathjax_dir as local_mathjax  # noqa: E402

SITE_CONFIG = ROOT / "site"  # conf.py and _static/, copied into the staging folder
DEFAULT_OUT = ROOT / "build" / "site"
DEFAULT_README = ROOT / "README.md"
LECTURE_GLOB = "[0-9][0-9]_*.ipynb"

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PROGRESS_MODELS = {"FloatProgressModel", "IntProgressModel"}
# tqdm's text form: "training: 100%|##########| 2580/2580 [00:28<00:00, 112.55batch/s, loss=0.0556]"
TQDM_TEXT = re.compile(r"(?P<percent>\d+)%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)")

TITLE_LINE = re.compile(r"^#\s+(?P<number>\d{1,3})\s*[·:.\-–—]\s*(?P<title>\S.*?)\s*$")
GOALS_LINE = re.compile(r"^\*\*After this notebook you can:?\*\*:?\s*$", re.IGNORECASE)
PREREQ_LINE = re.compile(r"^\*\*Prerequisites:?\*\*:?\s*", re.IGNORECASE)
LIST_ITEM = re.compile(r"^[-*+]\s+")

NOTES_SUMMARY = "Notes for the presenter"


class SiteError(Exception):
    """The build failed (Sphinx, a remote reference, a broken link); the message says where."""

    exit_code = 1


class BadNotebook(SiteError):
    """A notebook cannot be published as it is; the message names the file (and the cell)."""

    exit_code = 2


@dataclass
class Lecture:
    """What the home page says about one notebook, read from its first markdown cell."""

    stem: str  # "02_2d_convolution"
    number: str  # "02"
    title: str  # "2-D convolution" (MyST markdown)
    summary: str  # the first paragraph under the title, on one line
    goals: list[str]  # the "After this notebook you can" items, each on one line
    prerequisites: str | None = None


@dataclass
class WidgetReport:
    """What `strip_widgets` did to one notebook."""

    explorers: list[int] = field(default_factory=list)  # 1-based cell numbers, one per explorer replaced
    progress_bars: list[str] = field(default_factory=list)  # the text of each progress bar kept
    unfinished: list[str] = field(default_factory=list)  # "cell N: <bar>" for a bar short of 100 %


# ---------------------------------------------------------------------------------------------
# Reading and checking notebooks
# ---------------------------------------------------------------------------------------------


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def read_notebook(path: Path) -> dict:
    """The notebook at `path` as a dict (nbformat 4 JSON); BadNotebook naming the file if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise BadNotebook(f"{path}: no such notebook")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadNotebook(f"{path}: not a notebook (invalid JSON: {err})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list) or nb.get("nbformat") != 4:
        raise BadNotebook(f"{path}: not an nbformat 4 notebook (no 'cells' list or nbformat != 4)")
    return nb


def check_executed(nb: dict, path: Path) -> None:
    """Raise BadNotebook naming `path` and the first code cell that has source but was never run.

    A code cell whose source is only whitespace may stay unexecuted. Cells are numbered from 1, as
    JupyterLab's cell counter would.
    """
    for number, cell in enumerate(nb["cells"], start=1):
        src = _source(cell)
        if cell.get("cell_type") == "code" and src.strip() and cell.get("execution_count") is None:
            first_line = src.strip().splitlines()[0][:60]
            raise BadNotebook(
                f"{path}: cell {number} (code: {first_line!r}) was never executed (execution_count is null); "
                f"the site shows committed outputs only - execute the notebook (make notebooks NB={path}) "
                f"and commit it with its outputs"
            )


def _paragraph(lines: list[str], start: int) -> tuple[str, int]:
    """The paragraph starting at lines[start], joined with spaces, and the index after it."""
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    return " ".join(line.strip() for line in lines[start:end]), end


def lecture_info(nb: dict, path: Path) -> Lecture:
    """Title, summary, goals and prerequisites of the notebook `nb` read from `path`.

    The first cell must be markdown starting with ``# NN · Title``, then an introductory paragraph,
    then a line ``**After this notebook you can**`` followed by a list; an optional paragraph
    starting ``**Prerequisites:**`` is read too. BadNotebook names the file and what is missing.
    """
    path = Path(path)
    cells = nb["cells"]
    if not cells or cells[0].get("cell_type") != "markdown":
        raise BadNotebook(f"{path}: the first cell must be markdown with the title '# NN · Title'")
    lines = _source(cells[0]).splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    match = TITLE_LINE.match(lines[first]) if first is not None else None
    if not match:
        seen = lines[first] if first is not None else "(an empty cell)"
        raise BadNotebook(f"{path}: cell 1 must start with a title like '# 02 · 2-D convolution', found {seen!r}")
    number = match.group("number")
    if not path.stem.startswith(number):
        raise BadNotebook(f"{path}: the title's number {number} does not match the file name {path.name}")

    body = first + 1
    while body < len(lines) and not lines[body].strip():
        body += 1
    summary, _ = _paragraph(lines, body) if body < len(lines) else ("", body)
    if not summary or GOALS_LINE.match(lines[body].strip()):
        raise BadNotebook(f"{path}: cell 1 needs an introductory paragraph under the title")

    goals_at = next((i for i, line in enumerate(lines) if GOALS_LINE.match(line.strip())), None)
    if goals_at is None:
        raise BadNotebook(f"{path}: cell 1 has no '**After this notebook you can**' line followed by the goals list")
    goals: list[str] = []
    for line in lines[goals_at + 1 :]:
        if LIST_ITEM.match(line):
            goals.append(LIST_ITEM.sub("", line).strip())
        elif goals and line[:1].isspace() and line.strip():
            goals[-1] += " " + line.strip()  # an item continued on the next line
        elif goals or line.strip():
            break
    if not goals:
        raise BadNotebook(f"{path}: the '**After this notebook you can**' line in cell 1 is not followed by a list")

    prerequisites = None
    prereq_at = next((i for i, line in enumerate(lines) if PREREQ_LINE.match(line.strip())), None)
    if prereq_at is not None:
        text, _ = _paragraph(lines, prereq_at)
        prerequisites = PREREQ_LINE.sub("", text).strip() or None
    return Lecture(path.stem, number, match.group("title"), summary, goals, prerequisites)


# ---------------------------------------------------------------------------------------------
# The staged copy of a notebook
# ---------------------------------------------------------------------------------------------


def _widget_model_names(state: dict, model_id: str, depth: int = 0) -> set[str]:
    """The model names of widget `model_id` and of all its children in the saved widget `state`."""
    model = state.get(model_id)
    if not isinstance(model, dict) or depth > 20:
        return set()
    names = {model.get("model_name", "")}
    for child in model.get("state", {}).get("children", []) or []:
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            names |= _widget_model_names(state, child[len("IPY_MODEL_") :], depth + 1)
    return names


def is_progress_bar(output: dict, widget_state: dict) -> bool:
    """Whether a widget-view `output` is a (tqdm) progress bar rather than an interactive explorer.

    Decided by the saved widget state (a progress model among the view's widgets) when the notebook
    has it, else by the text/plain fallback looking like tqdm's ``NN%|####| n/total``.
    """
    data = output.get("data", {})
    model_id = (data.get(WIDGET_VIEW) or {}).get("model_id", "")
    names = _widget_model_names(widget_state, model_id)
    if names:
        return bool(names & PROGRESS_MODELS)
    return bool(TQDM_TEXT.search(_text(data.get("text/plain", ""))))


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def widget_note(widget_text: str) -> str:
    """The HTML shown where an explorer was; `widget_text` is its text/plain, e.g. "ConvExplorer(...)"."""
    name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", widget_text.strip())
    label = f"Interactive explorer (<code>{html.escape(name.group(0))}</code>)" if name else "Interactive explorer"
    return (
        f'<div class="course-widget-note"><strong>{label}.</strong> It needs a live Python kernel, so it '
        "cannot move on this static page. Download the notebook (link at the top of the page) and run it in "
        "JupyterLab: <code>make lab</code> in the course folder.</div>"
    )


def strip_widgets(nb: dict) -> tuple[dict, WidgetReport]:
    """A copy of `nb` without ipywidgets: no widget state, no widget-view outputs.

    A progress bar keeps its text/plain form (the finished bar, with its final loss and accuracy);
    any other widget view (an explorer) becomes an HTML note that it needs a live kernel. The report
    lists what was done, including bars that stopped short of 100 %. `nb` itself is not changed.
    """
    nb = copy.deepcopy(nb)
    state = nb.get("metadata", {}).pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    report = WidgetReport()
    for number, cell in enumerate(nb["cells"], start=1):
        cell.get("metadata", {}).pop("widgets", None)
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                outputs.append(output)
                continue
            text = _text(data.get("text/plain", ""))
            if is_progress_bar(output, state):
                output = {**output, "data": {"text/plain": text}}
                report.progress_bars.append(text)
                found = TQDM_TEXT.search(text)
                if not found or found.group("n") != found.group("total"):
                    report.unfinished.append(f"cell {number}: {text}")
            else:
                output = {"output_type": "display_data", "metadata": {}, "data": {"text/html": widget_note(text)}}
                report.explorers.append(number)
            outputs.append(output)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return nb, report


def fold_notes(nb: dict) -> dict:
    """`nb` (changed in place and returned) with each speaker-notes cell folded into a ``<details>``.

    Notes are the markdown cells with slideshow slide_type "notes". A notes cell with a heading in
    it cannot sit inside ``<details>`` (the heading would start a page section), so it only gets a
    bold label instead.
    """
    for cell in nb["cells"]:
        slide_type = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
        if cell.get("cell_type") != "markdown" or slide_type != "notes":
            continue
        text = _source(cell).strip()
        if re.search(r"^#{1,6}\s", text, re.MULTILINE):
            cell["source"] = f"**{NOTES_SUMMARY}:**\n\n{text}\n"
        else:
            cell["source"] = (
                f'<details class="course-notes">\n<summary>{NOTES_SUMMARY}</summary>\n\n{text}\n\n</details>\n'
            )
    return nb


def add_download_note(nb: dict, stem: str) -> dict:
    """`nb` (changed in place and returned) with a link to ``<stem>.ipynb`` right under its title."""
    cell = nb["cells"][0]
    lines = _source(cell).splitlines()
    title_at = next(i for i, line in enumerate(lines) if line.strip())
    note = (
        f'<div class="course-download">Run this lecture yourself: download '
        f'<a href="{html.escape(stem)}.ipynb" download>{html.escape(stem)}.ipynb</a> '
        "(with its outputs) and open it in JupyterLab, or run <code>make lab</code> in the course folder.</div>"
    )
    cell["source"] = "\n".join([*lines[: title_at + 1], "", note, "", *lines[title_at + 1 :]]) + "\n"
    return nb


def stage_notebook(nb: dict, stem: str) -> tuple[dict, WidgetReport]:
    """The copy of `nb` that Sphinx renders: widgets stripped, notes folded, a download link added."""
    staged, report = strip_widgets(nb)
    fold_notes(staged)
    add_download_note(staged, stem)
    return staged, report


# ---------------------------------------------------------------------------------------------
# The home page
# ---------------------------------------------------------------------------------------------


def course_title(readme: Path) -> str:
    """The course title: the first ``# `` heading of `readme`; SiteError naming the file if none."""
    try:
        text = Path(readme).read_text(encoding="utf-8")
    except OSError as err:
        raise SiteError(f"{readme}: cannot read the course title from it ({err.strerror})") from None
    for line in text.splitlines():
        if line.startswith("# ") and line[2:].strip():
            return line[2:].strip()
    raise SiteError(f"{readme}: no '# Title' line to take the course title from")


def render_index(title: str, lectures: list[Lecture]) -> str:
    """The MyST markdown of the home page: title, course map, learning goals, how to run, toctree."""
    rows = []
    for lec in lectures:
        rows += [f"* - {lec.number}", f"  - [{lec.title}]({lec.stem}.ipynb)", f"  - {lec.summary}"]
    goals = []
    for lec in lectures:
        goals += ["", f"### {lec.number} · {lec.title}", "", "After this notebook you can", ""]
        goals += [f"- {goal}" for goal in lec.goals]
        if lec.prerequisites:
            goals += ["", f"*Prerequisites:* {lec.prerequisites}"]
    toctree = [lec.stem for lec in lectures]
    return "\n".join(
        [
            f"# {title}",
            "",
            "These pages are the course's lecture notebooks as they were last run: every number, table and",
            "figure below is a saved output of the code above it, and nothing here needs a network connection.",
            "Read them here; run, change and break them in JupyterLab. The interactive explorers only move",
            "when a Python kernel is behind them, so on these pages they are marked with a note.",
            "",
            "## Course map",
            "",
            "```{list-table}",
            ":header-rows: 1",
            ":widths: 6 30 64",
            ":class: course-map",
            "",
            "* - #",
            "  - Lecture",
            "  - What it is about",
            *rows,
            "```",
            "",
            "## Learning goals",
            *goals,
            "",
            "## Run the course on your machine",
            "",
            "You need Python 3.10 or newer (with `venv`) and `make`. In the course folder:",
            "",
            "```bash",
            "make setup   # a virtual environment in .venv, the course package and the datasets",
            "make lab     # the same set-up if needed, then JupyterLab on notebooks/",
            "```",
            "",
            "Every lecture page links its notebook at the top; the copy you download carries the outputs",
            "you see here, so you can compare your run with it.",
            "",
            "```{toctree}",
            ":hidden:",
            ":maxdepth: 1",
            ":caption: Lectures",
            "",
            *toctree,
            "```",
            "",
        ]
    )


# ---------------------------------------------------------------------------------------------
# Checking the built site
# ---------------------------------------------------------------------------------------------

REMOTE = r"(?:https?:)?//"
CSS_REMOTE = re.compile(
    rf"url\(\s*['\"]?(?P<u1>{REMOTE}[^'\")\s]*)|@import\s+(?:url\(\s*)?['\"]?(?P<u2>{REMOTE}[^'\")\s;]*)",
    re.IGNORECASE,
)
# JavaScript that builds a remote load: a tag in a string, a src/href assignment, fetch or import.
JS_REMOTE = re.compile(
    rf"(?:<script[^>]*\ssrc|<link[^>]*\shref|\.src\s*=|\.href\s*=|fetch\(|import\(|\bfrom)\s*=?\s*"
    rf"['\"`](?P<u1>{REMOTE}[^'\"`\s]*)",
    re.IGNORECASE,
)
# Elements whose attribute makes the browser fetch something.
LOADING_ATTRS = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "audio": ("src",),
    "video": ("src", "poster"),
    "source": ("src", "srcset"),
    "track": ("src",),
    "input": ("src",),
    "object": ("data",),
    "link": ("href",),
}


@dataclass(frozen=True)
class Finding:
    """One problem in a built file: `path` (relative to the site), `line`, what was found."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


class _PageScanner(HTMLParser):
    """Collects a page's remote loads, its local references, and its inline CSS/JS."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.remote: list[tuple[int, str]] = []
        self.local: list[tuple[int, str]] = []
        self.inline: list[tuple[int, str, str]] = []  # (line, "css" | "js", text)
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        attrs = {name: value or "" for name, value in attrs}
        for name in LOADING_ATTRS.get(tag, ()):
            for url in _urls(attrs.get(name, ""), srcset=name == "srcset"):
                (self.remote if _is_remote(url) else self.local).append((line, url))
        if tag == "a" and "href" in attrs:
            self.local.append((line, attrs["href"]))
        if attrs.get("style"):
            self.inline.append((line, "css", attrs["style"]))
        self._in = tag if tag in ("style", "script") else None

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in:
            self.inline.append((self.getpos()[0], "css" if self._in == "style" else "js", data))


def _urls(value: str, srcset: bool) -> list[str]:
    value = value.strip()
    if not value:
        return []
    return [part.strip().split()[0] for part in value.split(",") if part.strip()] if srcset else [value]


def _is_remote(url: str) -> bool:
    return re.match(REMOTE, url.strip(), re.IGNORECASE) is not None


def _text_findings(text: str, kind: str, path: str, first_line: int = 1) -> list[Finding]:
    """The remote references in CSS (`kind` "css") or JavaScript ("js") `text` from file `path`."""
    patterns = [CSS_REMOTE] if kind == "css" else [CSS_REMOTE, JS_REMOTE]
    found = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            url = match.group("u1") or match.groupdict().get("u2")
            line = first_line + text.count("\n", 0, match.start())
            found.append(Finding(path, line, f"remote reference {url!r}"))
    return found


def find_remote_refs(site: Path) -> list[Finding]:
    """Every reference under `site` that would make a browser load something from another machine.

    HTML: the loading attributes of script/img/link/iframe/... elements, and inline styles and
    scripts; CSS: ``url(...)`` and ``@import``; JavaScript: ``url(...)``/``@import`` in strings and
    tags, src/href assignments, fetch() and import() of ``http(s)://`` or ``//`` addresses.
    Links a reader may click (``<a href>``) are not loads and are not reported.
    """
    site = Path(site)
    findings: list[Finding] = []
    for path in sorted(site.rglob("*")):
        suffix = path.suffix.lower()
        if not path.is_file() or suffix not in (".html", ".htm", ".css", ".js", ".mjs"):
            continue
        rel = path.relative_to(site).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        if suffix in (".css",):
            findings += _text_findings(text, "css", rel)
        elif suffix in (".js", ".mjs"):
            findings += _text_findings(text, "js", rel)
        else:
            page = _PageScanner()
            page.feed(text)
            findings += [Finding(rel, line, f"remote load {url!r}") for line, url in page.remote]
            for line, kind, body in page.inline:
                findings += _text_findings(body, kind, rel, line)
    return findings


def site_pages(site: Path) -> list[Path]:
    """The HTML pages of the built `site`: every .html file outside ``_static/``, sorted."""
    site = Path(site)
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def find_broken_links(site: Path) -> list[Finding]:
    """Every local link or load on an HTML page under `site` whose file does not exist.

    Covers ``<a href>`` and the loading attributes; addresses with a scheme (http:, mailto:,
    data:, javascript:) and pure ``#fragment`` links are skipped; ``?query`` and ``#fragment``
    are removed before the file is looked up. HTML files under ``_static/`` are theme assets (the
    themes ship Jinja template sources there), not pages, and are not checked.
    """
    site = Path(site).resolve()
    findings: list[Finding] = []
    for page_path in site_pages(site):
        page = _PageScanner()
        page.feed(page_path.read_text(encoding="utf-8", errors="replace"))
        for line, url in page.local:
            parts = urlsplit(url.strip())
            if parts.scheme or parts.netloc or not parts.path:
                continue
            target = (page_path.parent / unquote(parts.path)).resolve()
            if not target.exists() or (target != site and site not in target.parents):
                rel = page_path.relative_to(site).as_posix()
                findings.append(Finding(rel, line, f"link to a missing file {url!r}"))
    return findings


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


def mathjax_dir() -> Path:
    """The local MathJax 2.7 folder (jupyter-server-mathjax); SiteError if it is not installed."""
    return local_mathjax(SiteError, "the site")


def lecture_notebooks(folder: Path = ROOT / "notebooks") -> list[Path]:
    """The lecture notebooks NN_*.ipynb in `folder`, in order."""
    return sorted(Path(folder).glob(LECTURE_GLOB))


def stage(notebooks: list[Path], src: Path, readme: Path) -> tuple[str, dict[str, WidgetReport]]:
    """Write the Sphinx project for `notebooks` into the new folder `src`; return title and reports.

    Every notebook is read and checked before anything is written, so bad input fails first.
    """
    import nbformat

    if not notebooks:
        raise BadNotebook("no lecture notebooks given (expected notebooks/NN_*.ipynb)")
    read = [(Path(path), read_notebook(path)) for path in notebooks]
    for path, nb in read:
        check_executed(nb, path)
    lectures = [lecture_info(nb, path) for path, nb in read]
    stems = [lec.stem for lec in lectures]
    if len(set(stems)) != len(stems):
        raise BadNotebook(f"two notebooks share a name: {sorted(s for s in stems if stems.count(s) > 1)}")
    title = course_title(readme)

    shutil.copytree(SITE_CONFIG, src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (src / "_originals").mkdir()
    (src / "index.md").write_text(render_index(title, lectures), encoding="utf-8")
    reports = {}
    for (path, nb), lec in zip(read, lectures, strict=True):
        staged, reports[lec.stem] = stage_notebook(nb, lec.stem)
        nbformat.write(nbformat.from_dict(staged), str(src / f"{lec.stem}.ipynb"))
        shutil.copy2(path, src / "_originals" / f"{lec.stem}.ipynb")
    return title, reports


def run_sphinx(src: Path, html_dir: Path, doctrees: Path, title: str) -> None:
    """``sphinx-build -W`` of `src` into `html_dir`; SiteError with Sphinx's messages if it fails."""
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-j", "1", "-E"]
    cmd += ["-d", str(doctrees), "-D", f"project={title}", "-D", f"html_title={title}", str(src), str(html_dir)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        messages = (done.stderr.strip() or done.stdout.strip() or "(no output)").splitlines()
        raise SiteError("sphinx-build failed (warnings count as errors):\n  " + "\n  ".join(messages[-40:]))


def publish(new: Path, out: Path) -> None:
    """Put the folder `new` at `out` by renames: the old `out` (if any) only goes once `new` is in place."""
    old = None
    if out.exists():
        old = partial_name(out)
        os.replace(out, old)
    try:
        os.replace(new, out)
    except OSError:
        if old is not None:
            os.replace(old, out)  # put the previous site back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_site(notebooks: list[Path], out: Path = DEFAULT_OUT, readme: Path = DEFAULT_README) -> dict:
    """Build the site of `notebooks` into `out` (replaced only on success); return a summary dict.

    The summary has "pages" (HTML files), "lectures", "explorers" (notes put in), "progress_bars",
    "unfinished" (bars short of 100 %, as "file: cell N: text") and "seconds".
    """
    start = time.monotonic()
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out.parent)
    work = partial_name(out.parent / "site-work")
    work.mkdir()
    try:
        src, html_dir = work / "src", work / "html"
        title, reports = stage([Path(p) for p in notebooks], src, Path(readme))
        run_sphinx(src, html_dir, work / "doctrees", title)
        shutil.copytree(mathjax_dir(), html_dir / "_static" / "mathjax")
        problems = find_remote_refs(html_dir) + find_broken_links(html_dir)
        if problems:
            shown = "\n  ".join(str(p) for p in problems[:30])
            more = f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""
            raise SiteError(f"the built site is not self-contained ({len(problems)} problems):\n  {shown}{more}")
        pages = len(site_pages(html_dir))
        publish(html_dir, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "out": out,
        "pages": pages,
        "lectures": len(reports),
        "explorers": {stem: r.explorers for stem, r in reports.items() if r.explorers},
        "progress_bars": sum(len(r.progress_bars) for r in reports.values()),
        "unfinished": [f"{stem}: {bar}" for stem, r in reports.items() for bar in r.unfinished],
        "seconds": time.monotonic() - start,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the course website from the committed notebook outputs.")
    parser.add_argument("notebooks", nargs="*", type=Path, help="lecture notebooks (default: notebooks/NN_*.ipynb)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: build/site)")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or lecture_notebooks()
    try:
        summary = build_site(notebooks, args.out)
    except SiteError as err:
        print(f"build_site: error: {err}", file=sys.stderr)
        print(f"build_site: {args.out} was left as it was", file=sys.stderr)
        return err.exit_code
    for line in summary["unfinished"]:
        print(f"build_site: warning: a saved progress bar stops short of 100 %: {line}", file=sys.stderr)
    explorers = sum(len(cells) for cells in summary["explorers"].values())
    print(
        f"build_site: {summary['out']}/index.html: {summary['lectures']} lectures, {summary['pages']} pages, "
        f"{explorers} explorers noted, {summary['progress_bars']} progress bars "
        f"({len(summary['unfinished'])} unfinished), {summary['seconds']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
