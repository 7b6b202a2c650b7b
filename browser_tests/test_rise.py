"""RISE in JupyterLab: the notebook toolbar's "Render as Reveal Slideshow" button (command RISE:preview)
opens the slideshow (an iframe on /rise/<notebook>); ArrowRight moves it on, one slide at a time.

jupyterlab-rise does not expose its Reveal object to the page, so the slide index is read from what
Reveal itself maintains in the DOM: the ``present`` class on the current top-level <section> (horizontal
index) and on the current nested one (vertical index), as Reveal.getIndices() reads them.
"""

from __future__ import annotations

import pytest
from browser_helpers import wait_or_fail

NOTEBOOK = "03_filters.ipynb"  # not one of the explorer tests' notebooks: RISE saves the notebook it shows
LOAD_TIMEOUT_MS = 120_000
MAX_PRESSES_PER_SLIDE = 30  # fragments are revealed one press at a time before the slide changes

INDICES_JS = """() => {
  const top = [...document.querySelectorAll('.reveal .slides > section')];
  const h = top.findIndex(s => s.classList.contains('present'));
  const nested = h < 0 ? [] : [...top[h].querySelectorAll(':scope > section')];
  return {h, v: Math.max(0, nested.findIndex(s => s.classList.contains('present'))), total: top.length};
}"""


def _press_until_next_slide(page, frame, before: dict) -> dict:
    """Press ArrowRight until the horizontal index changes (fragments take a press each); the new indices."""
    for _ in range(MAX_PRESSES_PER_SLIDE):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(150)  # Reveal's slide transition; the indices are read after it
        now = frame.evaluate(INDICES_JS)
        if now["h"] != before["h"]:
            return now
    pytest.fail(f"expected the slide to change within {MAX_PRESSES_PER_SLIDE} ArrowRight presses; stuck at {before}")


def test_rise_slideshow_advances_two_slides(lab, lab_page):
    page = lab_page
    page.goto(lab.page_url(f"/lab/tree/{NOTEBOOK}?reset"))
    wait_or_fail(
        lambda: page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=LOAD_TIMEOUT_MS),
        f"{NOTEBOOK} open with an idle 'Python 3 (ipykernel)' kernel",
        lambda: page.locator("#jp-main-statusbar").inner_text(),
    )
    page.locator(".jp-NotebookPanel:visible .jp-Toolbar [data-command='RISE:preview']").click()

    iframe = page.locator(f"iframe[src*='/rise/{NOTEBOOK}']")
    wait_or_fail(
        lambda: iframe.wait_for(timeout=LOAD_TIMEOUT_MS),
        f"the RISE:preview button to open an iframe on /rise/{NOTEBOOK}",
        lambda: [frame.url for frame in page.frames],
    )
    slides = page.frame_locator(f"iframe[src*='/rise/{NOTEBOOK}']")
    wait_or_fail(
        lambda: slides.locator(".reveal.ready .slides > section.present").wait_for(timeout=LOAD_TIMEOUT_MS),
        "a ready Reveal slideshow with a present slide in the iframe",
        lambda: slides.locator("body").inner_text()[:300],
    )
    frame = next(f for f in page.frames if f"/rise/{NOTEBOOK}" in f.url)

    start = frame.evaluate(INDICES_JS)
    assert start["h"] == 0 and start["total"] >= 3, (
        f"expected the slideshow to open on slide 0 of at least 3 top-level slides; saw {start}"
    )
    slides.locator(".reveal .slides").click()  # keyboard focus into the slideshow
    first = _press_until_next_slide(page, frame, start)
    second = _press_until_next_slide(page, frame, first)
    assert (first["h"], first["v"]) == (start["h"] + 1, 0) and (second["h"], second["v"]) == (start["h"] + 2, 0), (
        f"expected ArrowRight to move from slide {start['h']} to {start['h'] + 1}, then {start['h'] + 2} "
        f"(vertical index 0); saw {start} -> {first} -> {second}"
    )
