"""The Part I explorers, live in JupyterLab: run a notebook's set-up and explorer cells, move a slider with
the keyboard, and read what the explorer then shows.

Each case names a notebook, the slider to move (by its label) and what the explorer must show before and
after one ArrowRight: the slider's readout and the explorer's message line. The expected messages are
computed here from the lesson's numbers (coursekit.examples, coursekit.filters), not taken from the widget.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_helpers import wait_or_fail

from coursekit import examples, filters

CELL_TIMEOUT_MS = 240_000  # a cold `import torch` on a busy 2-core machine can take a minute or more
MINUS, TIMES, ARROW = "\u2212", "\u00d7", "\u2192"


def _number(value) -> str:
    """An integer as the explorers print it (a real minus sign)."""
    return str(int(value)).replace("-", MINUS)


def _conv_message(step: int) -> str:
    """What the convolution explorer says at `step`: the default 5×5 image, vertical Sobel, no padding, stride 1."""
    image, kernel = examples.SOBEL_DEMO_IMAGE, filters.SOBEL_VERTICAL
    width = image.shape[1] - 3 + 1
    row, col = divmod(step, width)
    value = (image[row : row + 3, col : col + 3] * kernel).sum()
    return f"output[{row}, {col}] = <terms> = {_number(value)}"


def _size_message(n: int, f: int, p: int, s: int) -> str:
    size = (n + 2 * p - f) // s + 1
    return f"= {size}, so the output is {size}{TIMES}{size}."


def _pool_message(size: int, stride: int) -> str:
    height, width = examples.POOL_DEMO_4X4.shape
    out_h, out_w = (height - size) // stride + 1, (width - size) // stride + 1
    shapes = f"{height}{TIMES}{width} {ARROW} {out_h}{TIMES}{out_w}"
    return f"max pooling, {size}{TIMES}{size} windows, stride {stride}: {shapes}"


@dataclass(frozen=True)
class Case:
    notebook: str
    explorer_call: str  # the explorer cell is the one creating the explorer with this call
    slider: str  # the slider's label
    before: tuple[str, str]  # (readout, message) as displayed
    after: tuple[str, str]


CASES = [
    Case("02_2d_convolution.ipynb", "conv_explorer()", "step", ("0", _conv_message(0)), ("1", _conv_message(1))),
    Case(
        "04_padding_and_stride.ipynb",
        "padding_stride_explorer()",
        "stride s",
        ("1", _size_message(5, 3, 0, 1)),
        ("2", _size_message(5, 3, 0, 2)),
    ),
    Case("06_pooling.ipynb", "pool_explorer()", "window size", ("2", _pool_message(2, 2)), ("3", _pool_message(3, 2))),
]


def _message_matches(shown: str, expected: str) -> bool:
    """`expected` is either the whole message, a message with one ``<terms>`` wildcard, or a tail ("= ...")."""
    if "<terms>" in expected:
        head, tail = expected.split("<terms>")
        return shown.startswith(head) and shown.endswith(tail)
    return shown == expected or (expected.startswith("= ") and shown.endswith(expected))


def _cell_indices(path: Path, explorer_call: str) -> tuple[int, int]:
    """(set-up cell, explorer cell) of a notebook: the set-up cell imports coursekit.widgets, the explorer
    cell calls `explorer_call`. Fails naming the notebook when either is missing, or when the explorer
    cell's stored prompt is [2] (the number a fresh run gives it, so a finished run could not be told apart)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(cell["source"]) if cell["cell_type"] == "code" else "" for cell in cells]
    setup = [i for i, s in enumerate(sources) if "from coursekit.widgets import" in s]
    explorer = [i for i, s in enumerate(sources) if f"= {explorer_call}" in s]
    if len(setup) != 1 or len(explorer) != 1:
        pytest.fail(
            f"{path.name}: expected one set-up cell importing coursekit.widgets and one cell calling "
            f"{explorer_call}; found set-up cells {setup}, explorer cells {explorer}"
        )
    if cells[explorer[0]].get("execution_count") == 2:
        pytest.fail(f"{path.name}: expected the explorer cell's stored prompt not to be [2]; it is")
    return setup[0], explorer[0]


def _kernel_argv0(kernel_id: str) -> str | None:
    """argv[0] of the process running kernel `kernel_id` (found by its connection file), or None."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(f"kernel-{kernel_id}.json".encode() in arg for arg in argv):
            return argv[0].decode()
    return None


def _wait_for(condition, timeout_s: float = 60.0) -> bool:
    """Poll `condition()` until it is true or `timeout_s` passes; returns its last value (the caller asserts)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _errors_in(notebook) -> str:
    """The text of every error output in the notebook panel (for a failure message)."""
    errors = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    return "\n".join(errors.all_inner_texts())[-2000:] or "(no error output)"


@pytest.mark.parametrize("case", CASES, ids=[case.notebook.split("_")[0] for case in CASES])
def test_explorer_follows_arrow_key(case: Case, lab, lab_page):
    """Run the set-up and explorer cells in the venv's python3 kernel, focus the slider, press ArrowRight:
    the readout goes up by one and the message line shows the numbers for the new value."""
    setup, explorer = _cell_indices(lab.notebook_dir / case.notebook, case.explorer_call)
    page = lab_page
    page.goto(lab.page_url(f"/lab/tree/{case.notebook}?reset"))
    notebook = page.locator(".jp-NotebookPanel:visible")
    wait_or_fail(
        lambda: page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=CELL_TIMEOUT_MS),
        f"{case.notebook} open with an idle 'Python 3 (ipykernel)' kernel",
        lambda: page.locator("#jp-main-statusbar").inner_text(),
    )
    cells = notebook.locator(".jp-Notebook .jp-Cell")

    for index in (setup, explorer):
        cells.nth(index).locator(".jp-InputPrompt").click()
        page.keyboard.press("Control+Enter")  # run the selected cell, stay on it

    # A fresh kernel numbers the two runs 1 and 2: "[2]" on the explorer cell means both ran, in order
    # (the stored outputs of the copy carry other numbers).
    prompt = cells.nth(explorer).locator(".jp-InputArea-prompt")
    wait_or_fail(
        lambda: prompt.filter(has_text="[2]").wait_for(timeout=CELL_TIMEOUT_MS),
        f"{case.notebook}: the explorer cell (#{explorer}) to run as [2] after the set-up cell (#{setup})",
        lambda: f"its prompt {prompt.inner_text()!r}; error outputs:\n{_errors_in(notebook)}",
    )

    session = next(s for s in lab.api("GET", "/api/sessions") if s["path"].endswith(case.notebook))
    argv0, venv_bin = _kernel_argv0(session["kernel"]["id"]), Path(sys.prefix) / "bin"
    from_venv = argv0 is not None and Path(argv0).parent == venv_bin and Path(argv0).name.startswith("python")
    assert session["kernel"]["name"] == "python3" and from_venv, (
        f"expected kernel python3 run by a python in {venv_bin}; "
        f"saw kernel {session['kernel']['name']!r} run by {argv0!r}"
    )

    output = cells.nth(explorer).locator(".jp-OutputArea")
    slider = output.locator(".widget-slider").filter(has=page.locator(".widget-label", has_text=case.slider))
    readout, message = slider.locator(".widget-readout"), output.locator(".widget-html-content")
    wait_or_fail(
        lambda: slider.wait_for(timeout=CELL_TIMEOUT_MS),
        f"{case.notebook}: a live slider labelled {case.slider!r} in the explorer cell's output",
        lambda: repr(output.inner_text()[:500]),
    )

    def shown() -> tuple[str, str]:
        return readout.inner_text().strip(), message.inner_text().strip()

    seen = shown()
    assert seen[0] == case.before[0] and _message_matches(seen[1], case.before[1]), (
        f"{case.notebook}: before the key press expected {case.slider!r} = {case.before[0]} and message "
        f"{case.before[1]!r}; saw {seen[0]!r} and {seen[1]!r}"
    )

    slider.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    # The kernel recomputes and sends the new message; give it time, then compare.
    _wait_for(lambda: shown()[0] == case.after[0] and _message_matches(shown()[1], case.after[1]))
    seen = shown()
    assert seen[0] == case.after[0] and _message_matches(seen[1], case.after[1]), (
        f"{case.notebook}: after ArrowRight on {case.slider!r} expected readout {case.after[0]} and message "
        f"{case.after[1]!r}; saw {seen[0]!r} and {seen[1]!r}"
    )
    assert page.blocked == [], f"expected no request to leave the machine; JupyterLab asked for {page.blocked}"
    lab.api("DELETE", f"/api/sessions/{session['id']}")  # frees the kernel's memory for the next case
