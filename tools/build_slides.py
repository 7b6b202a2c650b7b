"""Offline reveal.js decks, one per lecture notebook, from the committed outputs: ``make slides``.

    python tools/build_slides.py notebooks/*.ipynb            # -> build/slides/
    python tools/build_slides.py --out DIR notebooks/02_2d_convolution.ipynb

Nothing is executed: a deck shows the outputs the notebook was committed with. Each deck is one HTML
file, ``<out>/<notebook stem>.slides.html``, that works opened from disk (``file://``) with no network:
reveal.js (its ``white`` theme and the speaker-notes plugin) and require.js come from npm, pinned in
package.json / package-lock.json and installed by ``npm ci`` into node_modules/ when missing; MathJax 2.7
comes from the pip package jupyter-server-mathjax. They are copied once into ``<out>/_assets/`` and the
decks point at them by relative paths, so the whole folder can be copied elsewhere (a USB stick) and opened.
``<out>/index.html`` links every deck in the folder.

What a deck contains, cell by cell (nbconvert's reveal template does the grouping):
- slideshow ``slide`` / ``subslide`` / ``fragment`` / ``-`` cells as reveal.js sections and fragments;
- ``notes`` cells as reveal.js speaker notes (``<aside class="notes">``: press S), never on the slide;
- ``skip`` cells not at all;
- an ipywidgets output (an explorer, a progress bar) as what it saved: an explorer shows its last
  picture and status line with a note that moving it needs a live kernel; a progress bar shows its
  final text. No widget JavaScript is loaded (it would come from a CDN) and the widget state is dropped;
- nbval's markers (``# NBVAL_IGNORE_OUTPUT`` ...) are test directives and are left out of the code shown.

Bad input fails before anything is written, with `SlidesError` (exit status 2) naming the file and,
for an unexecuted code cell, the cell. Every deck and the asset folder are written to a temporary name
and renamed into place, so a deck is complete or absent; after writing, each deck is scanned and one
that would load anything from off the machine is refused (`RemoteReference`).

- `expected_slide_count(notebook_path) -> int`: what ``Reveal.getTotalSlides()`` reports for the deck.
- `load_notebook(path) -> NotebookNode`: read, validate, check every code cell was executed.
- `convert(nb) -> str`: one deck's HTML (assets referenced under ``_assets/``).
- `remote_references(html) -> list[str]`: every script, style sheet, import or url() off the machine.
- `ensure_node_modules(root) -> Path`: node_modules/ from package-lock.json (``npm ci`` if needed).
- `build(notebooks, out_dir) -> list[Deck]`: the decks, the assets and the index, written atomically.
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import functools
import html
import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script (make slides): coursekit from this checkout
    sys.path.insert(0, str(ROOT))

from coursekit.files import atomic_path, partial_name, remove_stale_partials  # noqa: E402
from tools.mathjax import mathjax_dir  # noqa: E402

DEFAULT_OUT = ROOT / "build" / "slides"
ASSETS = "_assets"  # the folder under the output folder that the decks point into
REVEAL_THEME = "white"  # a theme whose fonts ship with reveal.js (several others @import Google Fonts)
# The MathJax 2.7 copy in jupyter-server-mathjax has one combined configuration (there is no
# TeX-AMS_CHTML-full in it) and only the STIX-Web fonts; the deck's configuration picks those.
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
NPM_PACKAGES = ("reveal.js", "requirejs")  # what package.json pins; checked against package-lock.json
# reveal.js files the decks use, relative to node_modules/reveal.js (the theme's fonts are a folder).
REVEAL_FILES = (
    "LICENSE",
    "dist/reveal.css",
    "dist/reveal.js",
    f"dist/theme/{REVEAL_THEME}.css",
    "dist/theme/fonts/source-sans-pro",
    "plugin/notes/notes.js",
)
EXIT_BAD_INPUT = 2

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Widget models that only show something: a tree of these (a progress bar) has nothing to move.
# Any other model (a slider, a dropdown, a text box, a button, a play control) makes an explorer.
DISPLAY_MODELS = {
    "BoxModel",
    "GridBoxModel",
    "HBoxModel",
    "VBoxModel",
    "HTMLModel",
    "HTMLMathModel",
    "LabelModel",
    "ImageModel",
    "OutputModel",
    "FloatProgressModel",
    "IntProgressModel",
    "LayoutModel",
    "ValidModel",
}
LIVE_NOTE = (
    "This explorer moves only with a live kernel: open the notebook in JupyterLab "
    "(<code>make lab</code>) or present it live with RISE. Shown here as it was saved."
)
NBVAL_MARKER = re.compile(r"^[ \t]*#[ \t]*NBVAL_[A-Z_]+[ \t]*\n?", re.MULTILINE)


class SlidesError(Exception):
    """A notebook or a deck that cannot be built; the message names the file (and the cell)."""


class NotebookNotFound(SlidesError, FileNotFoundError):
    """A path given to build that is not an existing file."""


class InvalidNotebook(SlidesError, ValueError):
    """A file that is not JSON, or JSON that is not a valid notebook."""


class UnexecutedCell(SlidesError, ValueError):
    """A code cell with source but no execution count: the notebook was not run before committing."""


class RemoteReference(SlidesError):
    """A deck that would load a script, style sheet or font from off the machine."""


class AssetError(SlidesError, RuntimeError):
    """npm is missing, ``npm ci`` failed, or an asset the decks need is not where it should be."""


# ----------------------------------------------------------------------------------------------
# Reading notebooks


def _cell_source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _read_json(path: Path):
    """The JSON in `path`; NotebookNotFound or InvalidNotebook (naming `path`) when there is none."""
    if not path.exists():
        raise NotebookNotFound(f"{path}: no such notebook")
    if not path.is_file():
        raise NotebookNotFound(f"{path}: is a folder, not a notebook file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InvalidNotebook(f"{path}: not a notebook (not UTF-8 text: {err.reason} at byte {err.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidNotebook(
            f"{path}: not a notebook (invalid JSON at line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None


def load_notebook(path: str | os.PathLike):
    """Read notebook `path` (nbformat 4) and check it can become a deck; return the NotebookNode.

    Raises NotebookNotFound (no such file), InvalidNotebook (not JSON, not a valid notebook, or no
    cell to show) and UnexecutedCell (a code cell with source and ``execution_count`` null, named by
    its 1-based number among all cells and its id), each naming `path`.
    """
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    path = Path(path)
    raw = _read_json(path)
    if not isinstance(raw, dict) or "cells" not in raw or "nbformat" not in raw:
        raise InvalidNotebook(f"{path}: not a notebook (JSON without 'cells' and 'nbformat')")
    if raw.get("nbformat") != 4:
        raise InvalidNotebook(f"{path}: nbformat {raw.get('nbformat')!r}; only version 4 notebooks are supported")
    try:
        nb = nbformat.from_dict(raw)
        nbformat.validate(nb)
        nb = rejoin_lines(nb)  # sources and texts stored as lists of lines become strings
    except nbformat.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "top level"
        raise InvalidNotebook(f"{path}: not a valid notebook ({where}: {err.message})") from None
    _check_executed(nb, path)
    types = _slide_types(nb)
    if all(t in ("notes", "skip") for t in types):
        raise InvalidNotebook(f"{path}: every cell is a 'notes' or 'skip' cell; there is no slide to show")
    first = next(i for i, t in enumerate(types) if t not in ("notes", "skip"))
    if "notes" in types[:first]:
        number = types.index("notes") + 1
        raise InvalidNotebook(
            f"{path}: cell {number} is speaker notes before the first slide; notes belong to the slide "
            f"above them, so make it the first slide's or move it below cell {first + 1}"
        )
    return nb


def _check_executed(nb, path: Path) -> None:
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code" and _cell_source(cell).strip() and cell.get("execution_count") is None:
            cell_id = f", id {cell.get('id')}" if cell.get("id") else ""
            raise UnexecutedCell(
                f"{path}: cell {number} of {len(nb.cells)} (a code cell{cell_id}) was never executed "
                f"(execution_count is null); run the notebook and commit it with its outputs "
                f"(make notebooks NB={path})"
            )


# ----------------------------------------------------------------------------------------------
# Counting slides


def _slide_types(nb) -> list[str]:
    """Each cell's slideshow slide_type, ``-`` when it has none (as nbconvert reads it)."""
    types = []
    for cell in nb.cells:
        slideshow = cell.get("metadata", {}).get("slideshow", {})
        types.append(slideshow.get("slide_type", "-") if isinstance(slideshow, dict) else "-")
    return types


def _counted(cell) -> bool:
    """Whether reveal.js counts the section this cell starts (``data-visibility`` hidden/uncounted is not)."""
    data = cell.get("metadata", {}).get("slideshow", {}).get("data", {})
    return not (isinstance(data, dict) and data.get("visibility") in ("hidden", "uncounted"))


def count_slides(nb) -> int:
    """How many slides ``Reveal.getTotalSlides()`` reports for notebook `nb`'s deck.

    nbconvert wraps every ``slide`` in an outer <section> and every ``subslide`` (and the slide's own
    first screen) in an inner one; reveal.js counts the sections that hold no other section, so a
    deck has one slide per cell that starts a subslide: the first shown cell (always a slide) and
    every later ``slide`` or ``subslide`` cell. ``fragment`` and ``-`` cells add to the screen they are
    on, and ``notes`` and ``skip`` cells are on no screen.
    """
    types = _slide_types(nb)
    shown = [i for i, t in enumerate(types) if t not in ("notes", "skip")]
    if not shown:
        return 0
    starts = [shown[0]] + [i for i in range(shown[0] + 1, len(types)) if types[i] in ("slide", "subslide")]
    return sum(_counted(nb.cells[i]) for i in starts)


def expected_slide_count(notebook_path: str | os.PathLike) -> int:
    """The number ``Reveal.getTotalSlides()`` reports for the deck built from `notebook_path`.

    The notebook is read and checked as the build reads it (so bad input raises the same SlidesError).
    """
    return count_slides(load_notebook(notebook_path))


class _DeckCounter(HTMLParser):
    """Counts a deck's leaf <section>s (reveal.js's slides) and its <aside class="notes">."""

    def __init__(self):
        super().__init__()
        self.open_sections: list[bool] = []  # per open <section>: does it contain another section?
        self.slides = 0
        self.notes = 0

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            if self.open_sections:
                self.open_sections[-1] = True
            self.open_sections.append(False)
        elif tag == "aside" and "notes" in (dict(attrs).get("class") or "").split():
            self.notes += 1

    def handle_endtag(self, tag):
        if tag == "section" and self.open_sections:
            if not self.open_sections.pop():
                self.slides += 1


def count_deck(deck_html: str) -> tuple[int, int]:
    """(slides, speaker notes) in a deck's HTML: its leaf sections and its ``<aside class="notes">``."""
    counter = _DeckCounter()
    counter.feed(deck_html)
    counter.close()
    return counter.slides, counter.notes


# ----------------------------------------------------------------------------------------------
# Widgets: what the saved state shows, without a widget manager


def _widget_models(nb) -> dict:
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {})
    models = state.get("state", {}) if isinstance(state, dict) else {}
    return models if isinstance(models, dict) else {}


def _model_tree(models: dict, model_id: str) -> list[dict]:
    """The models reachable from `model_id` (children, layouts, styles ...), depth first, each once."""
    seen, order, stack = set(), [], [model_id]
    while stack:
        current = stack.pop()
        if current in seen or current not in models:
            continue
        seen.add(current)
        model = models[current]
        order.append(model)
        refs = re.findall(r'"IPY_MODEL_([0-9a-f]+)"', json.dumps(model.get("state", {})))
        stack.extend(reversed(refs))
    return order


def _static_widget(view: dict, text: str, models: dict) -> dict:
    """The output that replaces one widget view: its saved picture and text, or its text alone."""
    tree = _model_tree(models, view.get("model_id", ""))
    interactive = not tree or any(
        m.get("model_name") not in DISPLAY_MODELS and not str(m.get("model_name", "")).endswith("StyleModel")
        for m in tree
    )
    if not interactive:  # a progress bar and the like: its final text says it all
        return {"output_type": "display_data", "metadata": {}, "data": {"text/plain": text}}
    parts = []
    for model in tree:
        name, state = model.get("model_name"), model.get("state", {})
        if name == "OutputModel":
            for out in state.get("outputs", []):
                data = out.get("data", {})
                if "image/png" in data:
                    png = "".join(data["image/png"]) if isinstance(data["image/png"], list) else data["image/png"]
                    parts.append(f'<img src="data:image/png;base64,{png.strip()}" alt="the explorer as saved">')
                elif "text/plain" in data or out.get("output_type") == "stream":
                    shown = data.get("text/plain", out.get("text", ""))
                    shown = "".join(shown) if isinstance(shown, list) else shown
                    parts.append(f"<pre>{html.escape(shown)}</pre>")
        elif name in ("HTMLModel", "HTMLMathModel") and state.get("value"):
            parts.append(f'<p class="coursekit-widget-status">{state["value"]}</p>')
    if not parts:
        parts.append(f"<pre>{html.escape(text)}</pre>")
    body = "\n".join(parts)
    note = f'<p class="coursekit-live-note">{LIVE_NOTE}</p>'
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {"text/html": f'<div class="coursekit-static-explorer">\n{body}\n{note}\n</div>'},
    }


def freeze_widgets(nb):
    """A copy of `nb` where every widget view is replaced by its saved static form; widget state dropped."""
    import nbformat

    models = _widget_models(nb)
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                text = data.get("text/plain", "")
                text = "".join(text) if isinstance(text, list) else str(text)
                output = nbformat.from_dict(_static_widget(data[WIDGET_VIEW], text, models))
            outputs.append(output)
        cell.outputs = outputs
    return nb


def _strip_nbval_markers(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = NBVAL_MARKER.sub("", _cell_source(cell))


def _title(nb, fallback: str) -> str:
    """The first Markdown heading of `nb` (its lecture title), else `fallback`."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#{1,6}\s+(.+?)\s*#*\s*$", _cell_source(cell), re.MULTILINE)
            if match:
                return re.sub(r"[*_`]", "", match.group(1))
    return fallback


# ----------------------------------------------------------------------------------------------
# Converting

# nbconvert's reveal template, made self-contained: no jQuery (only its scroll option uses it, and the
# decks leave it off), no mermaid module and no widget manager (both would come from a CDN), MathJax
# told to use the STIX-Web fonts that the local copy has, and a style for the explorers' note.
TEMPLATE_NAME = "coursekit_offline_slides.html.j2"
TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_jquery -%}{%- endblock html_head_js_jquery -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}
{{ super() }}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({
    "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
    MMLorHTML: {prefer: "HTML"}
});
</script>
{%- endblock html_head_js_mathjax -%}
{%- block footer_js -%}
{{ super() }}
<script>
// The template hands Reveal only to its require.js callback; the console and the browser tests want window.Reveal.
// A screen taller than the window (a long output on a small projector) scrolls instead of being cut off:
// what nbconvert's reveal_scroll does, without the jQuery it needs.
require(["{{ resources.reveal.url_prefix }}/dist/reveal.js"], function (Reveal) {
    window.Reveal = Reveal;
    function scrollTallSlides() {
        var limit = document.querySelector(".reveal").clientHeight * 0.95;
        var shown = ".reveal .slides section.present section, .reveal .slides > section.present:not(.stack)";
        document.querySelectorAll(shown).forEach(function (screen) {
            if (screen.scrollHeight > limit) {
                screen.classList.add("coursekit-scroll");
            }
        });
    }
    Reveal.on("slidechanged", scrollTallSlides);
    if (Reveal.isReady()) { scrollTallSlides(); } else { Reveal.on("ready", scrollTallSlides); }
});
</script>
{%- endblock footer_js -%}
{%- block html_head_css -%}
<style type="text/css">
.coursekit-static-explorer img { max-width: 100%; }
.reveal .slides section.coursekit-scroll { height: 95vh; overflow-y: auto; margin-top: 20px; }
.reveal .jp-OutputArea-output pre { word-break: normal; overflow-wrap: break-word; }  /* wrap between words */
.coursekit-live-note {
    font-size: 0.75em; font-style: italic; margin: 0.4em 0;
    padding: 0.2em 0.6em; border-left: 4px solid #2a76dd; background: #eef4fc;
}
</style>
{%- endblock html_head_css -%}
"""


@functools.lru_cache(maxsize=1)
def _exporter():
    """One SlidesExporter for every deck (its template is compiled once)."""
    from jinja2 import DictLoader
    from nbconvert import SlidesExporter

    return SlidesExporter(
        extra_loaders=[DictLoader({TEMPLATE_NAME: TEMPLATE})],
        template_file=TEMPLATE_NAME,
        reveal_url_prefix=f"{ASSETS}/reveal.js",
        reveal_theme=REVEAL_THEME,
        require_js_url=f"{ASSETS}/require.js",
        mathjax_url=f"{ASSETS}/mathjax/MathJax.js?config={MATHJAX_CONFIG}",
        # Not used by the template above; pointed at nothing remote all the same.
        jquery_url="",
        mermaid_js_url="",
        widget_renderer_url="",
        jupyter_widgets_base_url="",
    )


def convert(nb, title: str | None = None) -> str:
    """The HTML of the deck for NotebookNode `nb` (as `load_notebook` returns it); `nb` is not changed.

    `title` (default: the notebook's first heading) becomes the page title. The HTML references
    ``_assets/...`` relative to itself; `build` puts the assets there.
    """
    nb = freeze_widgets(nb)
    _strip_nbval_markers(nb)
    nb.metadata["title"] = title or _title(nb, "slides")
    body, _ = _exporter().from_notebook_node(nb)
    return body


REMOTE = r"""(?:https?:)?//"""
_REMOTE_PATTERNS = (
    ("<script src>", re.compile(r"""<script\b[^>]*?\bsrc\s*=\s*["']?\s*(""" + REMOTE + r"""[^"'\s>]*)""", re.I)),
    ("<link href>", re.compile(r"""<link\b[^>]*?\bhref\s*=\s*["']?\s*(""" + REMOTE + r"""[^"'\s>]*)""", re.I)),
    ("@import", re.compile(r"""@import\s+(?:url\(\s*)?["']?\s*(""" + REMOTE + r"""[^"')\s;]*)""", re.I)),
    ("url()", re.compile(r"""\burl\(\s*["']?\s*(""" + REMOTE + r"""[^"')\s]*)""", re.I)),
    ("ES import", re.compile(r"""\bimport\s+(?:[\w{}*,\s]+\s+from\s+)?["'](""" + REMOTE + r"""[^"']*)["']""")),
)


def remote_references(text: str) -> list[str]:
    """Every ``<script src>``, ``<link href>``, ``@import``, ``url()`` or ES ``import`` in `text` that
    points off the machine (``http://``, ``https://`` or protocol-relative ``//``), as "kind: URL",
    each URL once (``@import url(...)`` matches two patterns; the first kind found names it)."""
    found: dict[str, str] = {}
    for kind, pattern in _REMOTE_PATTERNS:
        for match in pattern.finditer(text):
            found.setdefault(match.group(1), kind)
    return [f"{kind}: {url}" for url, kind in found.items()]


# ----------------------------------------------------------------------------------------------
# Assets: node_modules (npm ci) and MathJax, copied under the output folder


def _locked_versions(root: Path) -> dict[str, str]:
    lock_path = root / "package-lock.json"
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
        return {name: lock["packages"][f"node_modules/{name}"]["version"] for name in NPM_PACKAGES}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AssetError(f"{lock_path}: cannot read the pinned versions of {', '.join(NPM_PACKAGES)} ({err})") from None


def _installed_versions(root: Path) -> dict[str, str | None]:
    versions = {}
    for name in NPM_PACKAGES:
        try:
            meta = json.loads((root / "node_modules" / name / "package.json").read_text(encoding="utf-8"))
            versions[name] = meta.get("version")
        except (OSError, ValueError):
            versions[name] = None
    return versions


@contextmanager
def _lock(path: Path):
    """An exclusive lock on file `path` (created if needed), held for the ``with`` body."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_node_modules(root: str | os.PathLike = ROOT) -> Path:
    """`root`/node_modules with the versions package-lock.json pins; runs ``npm ci`` when they are not there.

    Idempotent (nothing runs when the pinned versions are installed) and safe to call from two
    processes at once (a lock in `root`/build). Returns the node_modules path. Raises AssetError when
    npm is not on PATH, ``npm ci`` fails (with the end of its output), or it installed other versions.
    """
    root = Path(root)
    wanted = _locked_versions(root)
    if _installed_versions(root) == wanted:
        return root / "node_modules"
    with _lock(root / "build" / ".npm-ci.lock"):
        if _installed_versions(root) == wanted:  # another process installed them while we waited
            return root / "node_modules"
        npm = shutil.which("npm")
        if npm is None:
            raise AssetError(
                "npm is not on PATH: the decks need reveal.js from npm (install Node.js and npm, "
                "e.g. apt-get install npm, then run make slides again)"
            )
        print(f"installing {', '.join(f'{n}@{v}' for n, v in wanted.items())} with npm ci ...", flush=True)
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=root,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise AssetError(f"npm ci in {root} failed (exit status {result.returncode}):\n{tail}")
        installed = _installed_versions(root)
        if installed != wanted:
            raise AssetError(f"npm ci in {root} installed {installed}, but package-lock.json pins {wanted}")
    return root / "node_modules"


def _assets_stamp(node_modules: Path, mathjax: Path) -> str:
    """What the asset folder was made from: the package versions and this file's asset list."""
    versions = _installed_versions(node_modules.parent)
    mathjax_version = re.search(r'MathJax\.version\s*=\s*"([^"]+)"', (mathjax / "MathJax.js").read_text("utf-8"))
    return json.dumps(
        {
            "npm": versions,
            "mathjax": mathjax_version.group(1) if mathjax_version else "unknown",
            "reveal_files": REVEAL_FILES,
        },
        sort_keys=True,
    )


def _copy_assets(tmp: Path, node_modules: Path, mathjax: Path) -> None:
    """Copy the reveal.js files, require.js and MathJax into the new folder `tmp`; check them."""
    for name in REVEAL_FILES:
        source = node_modules / "reveal.js" / name
        if not source.exists():
            raise AssetError(f"{source}: missing from the installed reveal.js (delete node_modules and retry)")
        destination = tmp / "reveal.js" / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copy2(source, destination)
    require = node_modules / "requirejs" / "require.js"
    if not require.is_file():
        raise AssetError(f"{require}: missing from the installed requirejs (delete node_modules and retry)")
    shutil.copy2(require, tmp / "require.js")
    shutil.copytree(mathjax, tmp / "mathjax")
    for path in sorted(p for p in tmp.rglob("*") if p.is_file() and p.suffix in (".css", ".js")):
        found = remote_references(path.read_text("utf-8", "replace"))
        if found:
            raise AssetError(f"{path.relative_to(tmp)} would load from off the machine: {'; '.join(found)}")


def install_assets(out_dir: Path, node_modules: Path) -> Path:
    """Copy what the decks load into `out_dir`/_assets (atomically; skipped when already up to date).

    Layout: ``reveal.js/`` (the `REVEAL_FILES`), ``require.js``, ``mathjax/`` (jupyter-server-mathjax's
    static folder) and ``.stamp`` (what they were copied from). Raises AssetError when one is missing
    or a copied style sheet or script would load something from off the machine.
    """
    mathjax = mathjax_dir(AssetError, "the decks")
    stamp = _assets_stamp(node_modules, mathjax)
    target = out_dir / ASSETS
    if (target / ".stamp").is_file() and (target / ".stamp").read_text("utf-8") == stamp:
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out_dir)
    tmp = partial_name(target)
    try:
        _copy_assets(tmp, node_modules, mathjax)
        (tmp / ".stamp").write_text(stamp, encoding="utf-8")
        # Swap the complete new folder in: for a moment there is no _assets, never a half-copied one.
        old = partial_name(out_dir / f"{ASSETS}-old")
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# ----------------------------------------------------------------------------------------------
# Building


@dataclass
class Deck:
    """One deck written: where, its title, its slide and speaker-note counts."""

    path: Path
    title: str
    slides: int
    notes: int


def _write_deck(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_index(out_dir: Path) -> Path:
    """`out_dir`/index.html linking every ``*.slides.html`` in `out_dir` (by relative link, title shown)."""
    items = []
    for deck in sorted(out_dir.glob("*.slides.html")):
        match = re.search(r"<title>(.*?)</title>", deck.read_text("utf-8", "replace"), re.S)
        title = html.unescape(match.group(1)).strip() if match else deck.stem
        title = title.removesuffix(" slides")
        items.append(f'<li><a href="{html.escape(deck.name)}">{html.escape(title)}</a></li>')
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8"><title>CNNs, hands-on: slides</title>',
            "<style>body{font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.6}</style></head>",
            "<body>",
            "<h1>CNNs, hands-on: slides</h1>",
            "<p>Each deck opens in a browser from this folder, with no network. Arrow keys move; "
            "S opens the speaker notes. The explorers move only in JupyterLab (<code>make lab</code>).</p>",
            "<ul>",
            *items,
            "</ul>",
            "</body>",
            "</html>",
            "",
        ]
    )
    _write_deck(out_dir / "index.html", page)
    return out_dir / "index.html"


def build(notebooks, out_dir: str | os.PathLike = DEFAULT_OUT, root: str | os.PathLike = ROOT) -> list[Deck]:
    """Build one deck per notebook in `notebooks` into `out_dir`, plus the assets and index.html.

    Every notebook is read and checked first: a bad one raises SlidesError before anything is
    written. Then each deck is converted, scanned for off-machine references (RemoteReference) and
    renamed into place complete; a failure leaves the decks before it written and no partial file.
    `root` holds package.json (node_modules is installed there when missing). Returns the decks.
    """
    paths = [Path(p) for p in notebooks]
    if not paths:
        raise SlidesError("no notebooks given: name one or more .ipynb files")
    for path in paths:  # the cheap check first, so a typo costs nothing
        if not path.is_file():
            raise NotebookNotFound(f"{path}: no such notebook" if not path.exists() else f"{path}: is not a file")
    loaded = [(path, load_notebook(path)) for path in paths]
    out_dir = Path(out_dir)
    node_modules = ensure_node_modules(root)
    install_assets(out_dir, node_modules)
    remove_stale_partials(out_dir)
    decks = []
    for path, nb in loaded:
        title = _title(nb, path.stem)
        deck_html = convert(nb, title)
        found = remote_references(deck_html)
        if found:
            raise RemoteReference(f"{path}: its deck would load from off the machine: {'; '.join(found)}")
        slides, notes = count_deck(deck_html)
        target = out_dir / f"{path.stem}.slides.html"
        _write_deck(target, deck_html)
        decks.append(Deck(target, title, slides, notes))
        print(f"{target.name}: {slides} slides, {notes} speaker notes", flush=True)
    write_index(out_dir)
    return decks


def main(argv: list[str] | None = None) -> int:
    """The command line: build the decks; 0 on success, 2 (with the message on stderr) on bad input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", help="the .ipynb files to build decks from")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: build/slides)")
    args = parser.parse_args(argv)
    try:
        decks = build(args.notebooks, args.out)
    except SlidesError as err:
        print(f"make slides: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{len(decks)} deck(s) and index.html in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
