"""Shared set-up of the browser tests: Debian's chromium driven by Playwright, a throw-away JupyterLab.

What goes in: the built decks (build/slides/, `make slides`), the built site (build/site/, `make site`),
the committed notebooks (copied, never opened in place) and the project's environment (``sys.prefix``:
its ``jupyter``, its ``python3`` kernel and its JupyterLab extensions).

What comes out: nothing but screenshots of failing tests, in build/browser-failures/<test-name>.png (the
folder is emptied at the start of a run and its path is printed at the end when a test failed).

Fixtures:

* ``browser`` (session): headless /usr/bin/chromium; never a downloaded browser.
* ``offline_page`` (function): a fresh page that may load only ``file://`` (and ``data:``/``blob:``)
  URLs; every other request is aborted and listed in ``offline_page.blocked``.
* ``new_offline_page`` (session): a function making such pages, for module-scoped fixtures.
* ``lab_page`` (function): a fresh page that may talk to that JupyterLab and load local URLs only.
* ``lab`` (session): ``jupyter lab`` started the way ``make lab`` starts it, on a free port with a random
  token, serving a temporary copy of notebooks/, with every Jupyter config/data/runtime/settings folder
  in a temporary directory (nothing under ~ is read or written). Stopped, kernels and all, at the end.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
SLIDES_DIR = REPO / "build" / "slides"
SITE_DIR = REPO / "build" / "site"
FAILURES_DIR = REPO / "build" / "browser-failures"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-background-networking", "--disable-gpu"]
VIEWPORT = {"width": 1400, "height": 1000}
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
LAB_START_TIMEOUT = 180  # seconds; a busy 2-core machine starts JupyterLab in ~5 s, so this is only a ceiling

# JupyterLab user settings for the test server: no calls home for news or updates (there is no internet),
# every cell in the DOM (no windowing, so the n-th .jp-Cell is the n-th cell), and no autosave.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


# ----------------------------------------------------------------------------------------------
# Pages that may not leave the machine


def open_guarded_page(browser: Browser, allowed_prefixes: tuple[str, ...] = ()) -> Page:
    """A new page (in its own context) that loads only local URLs and those starting with `allowed_prefixes`.

    Every other request is aborted (the machine is offline; a request out would hang or fail) and its
    URL appended to the list ``page.blocked``, which the tests assert is empty.
    """
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.blocked = []

    def route(route):
        url = route.request.url
        if url.startswith(LOCAL_SCHEMES) or url.startswith(allowed_prefixes):
            route.continue_()
        else:
            page.blocked.append(url)
            route.abort()

    page.route("**/*", route)
    return page


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, for the whole session."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the browser tests use Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def new_offline_page(browser):
    """A function returning a new page like ``offline_page``, for fixtures wider than one test (close its context)."""
    return lambda: open_guarded_page(browser)


@pytest.fixture
def offline_page(browser):
    """A page that may load only file:// URLs; ``offline_page.blocked`` lists what it tried to fetch."""
    page = open_guarded_page(browser)
    yield page
    page.context.close()


# ----------------------------------------------------------------------------------------------
# Screenshots of failures


def pytest_sessionstart(session):
    # Old screenshots would look like failures of this run.
    if FAILURES_DIR.is_dir():
        for old in FAILURES_DIR.glob("*.png"):
            old.unlink()


def _open_pages(item) -> list[Page]:
    """The pages a test used: fixtures that are a Page, or have a ``page`` attribute that is one."""
    pages = []
    for value in getattr(item, "funcargs", {}).values():
        page = value if isinstance(value, Page) else getattr(value, "page", None)
        if isinstance(page, Page) and not page.is_closed():
            pages.append(page)
    return pages


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\[\]-]+", "_", name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed or call.when == "teardown":
        return
    for number, page in enumerate(_open_pages(item)):
        suffix = f"-{number}" if number else ""
        path = FAILURES_DIR / f"{_safe_name(item.name)}{suffix}.png"
        try:
            FAILURES_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=True)
        except Exception as error:  # noqa: BLE001 -- a missing screenshot must not hide the failure itself
            report.sections.append(("browser screenshot", f"could not save {path}: {error}"))
        else:
            report.sections.append(("browser screenshot", str(path)))
            item.config.stash.setdefault(_SCREENSHOTS, []).append(path)


_SCREENSHOTS = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    shots = config.stash.get(_SCREENSHOTS, [])
    if shots:
        terminalreporter.section("browser failure screenshots")
        terminalreporter.write_line(f"{len(shots)} screenshot(s) of failing tests in {FAILURES_DIR}/")
        for path in shots:
            terminalreporter.write_line(f"  {path}")


# ----------------------------------------------------------------------------------------------
# JupyterLab, as `make lab` starts it, in a sandbox


@dataclass
class LabServer:
    """A running test JupyterLab: its base URL, token, the folder it serves (a copy) and its log."""

    url: str
    token: str
    notebook_dir: Path
    log: Path
    process: subprocess.Popen
    env: dict = field(repr=False)

    def api(self, method: str, path: str):
        """Call the server's REST API (``/api/...``); returns the decoded JSON (None for an empty body)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def page_url(self, path: str) -> str:
        """A front-end URL (``/lab/tree/x.ipynb``...) with the token, so the page is logged in."""
        joiner = "&" if "?" in path else "?"
        return f"{self.url}{path}{joiner}token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def shutdown_kernels(self) -> None:
        """Shut down every kernel the server runs (kernels live in their own sessions: stopping the
        server alone could leave them behind)."""
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sandbox_env(root: Path) -> dict:
    """The environment for the test server: Jupyter's config, data, runtime, settings and workspace folders
    (and IPython's and matplotlib's) inside `root`; Jupyter's data path starts with this environment's
    share/jupyter, so its ``python3`` kernelspec and its lab extensions (jupyterlab-rise, widgets) are found."""
    folders = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "IPYTHONDIR": "ipython",
        "MPLCONFIGDIR": "matplotlib",
    }
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTER", "IPYTHON"))}
    for variable, name in folders.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        env[variable] = str(root / name)
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    for name, settings in LAB_SETTINGS.items():
        path = root / "lab-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings), encoding="utf-8")
    return env


def _wait_until_up(server: LabServer) -> None:
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"jupyter lab exited with code {server.process.returncode}; its log:\n{server.log_tail()}")
        try:
            server.api("GET", "/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    pytest.fail(
        f"jupyter lab did not answer on {server.url} within {LAB_START_TIMEOUT} s; its log:\n{server.log_tail()}"
    )


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A JupyterLab serving a temporary copy of notebooks/ (see the module docstring); yields a `LabServer`."""
    jupyter = Path(sys.prefix) / "bin" / "jupyter"
    if not jupyter.exists():
        pytest.fail(f"{jupyter} not found: run the browser tests with the project's environment (make browser-test)")
    root = tmp_path_factory.mktemp("lab")
    notebook_dir = root / "notebooks"
    shutil.copytree(NOTEBOOKS, notebook_dir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = _sandbox_env(root)
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        str(jupyter),
        "lab",
        f"--notebook-dir={notebook_dir}",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--no-browser",
        *(["--allow-root"] if os.geteuid() == 0 else []),
        f"--IdentityProvider.token={token}",
    ]
    log = root / "jupyter-lab.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = LabServer(f"http://127.0.0.1:{port}", token, notebook_dir, log, process, env)
    try:
        _wait_until_up(server)
        yield server
    finally:
        try:
            if process.poll() is None:
                server.shutdown_kernels()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # the server is going away anyway
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def lab_page(browser, lab):
    """A page that may talk to the test JupyterLab only (anything else is aborted and listed in ``.blocked``)."""
    page = open_guarded_page(browser, allowed_prefixes=(lab.url + "/", lab.url.replace("http", "ws", 1) + "/"))
    yield page
    page.context.close()
