"""The static decks (build/slides/<stem>.slides.html, `make slides`), opened from file:// with no network.

For every notebook's deck: Reveal reports as many slides as tools/build_slides.py's
``expected_slide_count`` says, ArrowRight moves to the next slide, the notebook's $…$ math is typeset by
the local MathJax 2 (no TeX left in the text), and not one request leaves the machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_helpers import wait_or_fail

from tools import build_slides

REPO = Path(__file__).resolve().parent.parent
SLIDES_DIR = REPO / "build" / "slides"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
READY_TIMEOUT_MS = 60_000


# Math in a notebook's markdown: $…$ or $$…$$ outside code spans and fenced blocks.
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
_MATH = re.compile(r"\$[^$\n]+\$")


def notebook_has_math(path: Path) -> bool:
    """True if any markdown cell of the notebook at `path` holds $…$ (or $$…$$) math outside code."""
    import json

    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            text = _CODE_SPAN.sub("", _FENCE.sub("", "".join(cell["source"])))
            if _MATH.search(text):
                return True
    return False


STATE_JS = """() => ({Reveal: typeof window.Reveal, ready: !!(window.Reveal && Reveal.isReady && Reveal.isReady()),
  MathJax: window.MathJax ? (window.MathJax.version || 'loading') : 'missing'})"""

LOADED_JS = """() => window.Reveal && Reveal.isReady && Reveal.isReady()
  && window.MathJax && MathJax.Hub && MathJax.Hub.Register && MathJax.Hub.Queue"""

# When is the math typeset? MathJax posts "End" after its start-up typeset (a hook on a signal already posted
# runs at once), and a callback queued then runs after everything queued before it. A hook must return
# nothing: MathJax would wait for a returned callback before finishing "End", and that callback waits behind.
STARTUP_DONE_JS = """() => { window.__mathjaxDone = false;
  MathJax.Hub.Register.StartupHook("End", () => { MathJax.Hub.Queue(() => { window.__mathjaxDone = true; }); }); }"""
# nbconvert's deck re-renders the new slide's math on every "slidechanged" (MathJax.Hub.Rerender): its rendered
# frames are removed at once and come back a little later, after the queue has moved on (measured: a callback
# queued behind the re-render ran while that slide's TeX still had no frame). So after a slide change the test
# waits for its own listener (added after the deck's) to have run, and then for every TeX source to have its
# rendered frame again; math that never gets one fails the wait, naming it.
SLIDE_CHANGE_DONE_JS = """() => { window.__mathjaxDone = false;
  Reveal.addEventListener('slidechanged', () => { MathJax.Hub.Queue(() => { window.__mathjaxDone = true; }); }); }"""
MATHJAX_DONE_JS = """() => window.__mathjaxDone === true
  && [...document.querySelectorAll('.reveal script[type^="math/tex"]')]
       .every(s => document.getElementById(s.id + '-Frame'))"""


def wait_for_mathjax(page, what: str) -> None:
    """Wait until the flag that STARTUP_DONE_JS or SLIDE_CHANGE_DONE_JS armed is set and every TeX source in
    the deck has its rendered frame; fail saying `what` and which TeX is still untypeset."""
    wait_or_fail(
        lambda: page.wait_for_function(MATHJAX_DONE_JS, timeout=READY_TIMEOUT_MS),
        what,
        lambda: page.evaluate(STATE_JS) | {"untypeset": page.evaluate(MATH_JS)["untypeset"]},
    )


def wait_until_ready(page, deck_name: str) -> None:
    """Wait until Reveal is ready and MathJax has finished its start-up typeset; fail naming what is missing."""
    wait_or_fail(
        lambda: page.wait_for_function(LOADED_JS, timeout=READY_TIMEOUT_MS),
        f"{deck_name} to load with Reveal ready and MathJax loaded",
        lambda: page.evaluate(STATE_JS) | {"blocked requests": page.blocked},
    )
    page.evaluate(STARTUP_DONE_JS)
    wait_for_mathjax(page, f"{deck_name}: MathJax to finish its start-up typeset")


# What MathJax did: each TeX source (<script type="math/tex">) gets a rendered "<id>-Frame" element next to it.
MATH_JS = """() => {
  const sources = [...document.querySelectorAll('.reveal script[type^="math/tex"]')];
  const typeset = document.querySelectorAll('.reveal .MathJax_CHTML, .reveal .MathJax, .reveal mjx-container');
  const text = node => { const c = node.cloneNode(true);
    c.querySelectorAll('script, style, pre, code').forEach(x => x.remove()); return c.textContent; };
  return {
    sources: sources.length,
    untypeset: sources.filter(s => !document.getElementById(s.id + '-Frame')).map(s => s.textContent.slice(0, 60)),
    typeset: typeset.length,
    slidesText: text(document.querySelector('.reveal .slides')),
    markdownText: [...document.querySelectorAll('.reveal .jp-MarkdownOutput')].map(text).join('\\n'),
  };
}"""

FIRST_SLIDE_FRAGMENTS_JS = "() => document.querySelectorAll('.reveal .slides > section:first-of-type .fragment').length"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_deck(notebook: Path, offline_page):
    deck = SLIDES_DIR / f"{notebook.stem}.slides.html"
    assert deck.is_file(), f"expected the deck {deck} (built by `make slides`); it does not exist"
    page = offline_page
    page.goto(deck.as_uri())
    wait_until_ready(page, deck.name)

    expected_total = build_slides.expected_slide_count(notebook)
    total = page.evaluate("Reveal.getTotalSlides()")
    assert total == expected_total, f"{deck.name}: expected {expected_total} slides (expected_slide_count); saw {total}"

    # ArrowRight moves to slide (1, 0); should a reveal.js version step through the first slide's fragments
    # first, that takes one more press per fragment, so press until the slide changes, at most that often.
    start = page.evaluate("Reveal.getIndices()")
    assert (start["h"], start["v"]) == (0, 0), f"{deck.name}: expected to open on slide (0, 0); saw {start}"
    page.evaluate(SLIDE_CHANGE_DONE_JS)
    for _ in range(page.evaluate(FIRST_SLIDE_FRAGMENTS_JS) + 1):
        page.keyboard.press("ArrowRight")
        moved = page.evaluate("Reveal.getIndices()")
        if moved["h"] != 0:
            break
    assert (moved["h"], moved["v"]) == (1, 0), f"{deck.name}: expected ArrowRight to reach slide (1, 0); saw {moved}"

    wait_for_mathjax(page, f"{deck.name}: MathJax to re-render the math of slide (1, 0)")
    math = page.evaluate(MATH_JS)
    if notebook_has_math(notebook):
        assert math["sources"] > 0 and math["typeset"] > 0, (
            f"{deck.name}: the notebook has $…$ math; expected MathJax output in the deck, "
            f"saw {math['sources']} TeX sources and {math['typeset']} typeset elements"
        )
    assert math["untypeset"] == [], f"{deck.name}: expected all math typeset; these were not: {math['untypeset']}"
    assert "$$" not in math["slidesText"], f"{deck.name}: expected no raw '$$' in the slides' text; found one"
    raw = _MATH.findall(math["markdownText"])
    assert raw == [], f"{deck.name}: expected no raw $…$ TeX in the markdown text; found {raw[:5]}"

    assert page.blocked == [], f"{deck.name}: expected no request to leave the machine; saw {page.blocked}"


# The screens of 09's exercises: four questions with their check cells, taller than a 1280×720 window.
TALL_DECK, TALL_SLIDE = "09_lenet_mnist", "Exercises"
TALL_JS = """(title) => {
  const headings = [...document.querySelectorAll('.reveal .slides section h2')];
  const heading = headings.find(h => h.textContent.startsWith(title));
  const screen = heading && heading.closest('section');
  return screen && {cls: [...screen.classList], scroll: screen.scrollHeight, client: screen.clientHeight,
    overflow: getComputedStyle(screen).overflowY, indices: Reveal.getIndices(screen)};
}"""


def test_a_screen_taller_than_the_window_scrolls(offline_page):
    page = offline_page
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto((SLIDES_DIR / f"{TALL_DECK}.slides.html").as_uri())
    wait_until_ready(page, TALL_DECK)
    found = page.evaluate(TALL_JS, TALL_SLIDE)
    assert found, f"{TALL_DECK}: expected a screen headed '{TALL_SLIDE}'; found none"
    page.evaluate("(i) => Reveal.slide(i.h, i.v)", found["indices"])
    page.wait_for_timeout(300)  # the slidechanged handler runs after Reveal's transition starts
    shown = page.evaluate(TALL_JS, TALL_SLIDE)
    assert "coursekit-scroll" in shown["cls"] and shown["overflow"] == "auto", (
        f"{TALL_DECK}: expected the '{TALL_SLIDE}' screen to become scrollable; saw {shown}"
    )
    assert shown["scroll"] > shown["client"], (
        f"{TALL_DECK}: expected the '{TALL_SLIDE}' screen taller than its box (else nothing scrolls); saw {shown}"
    )
