"""Small helpers the browser tests share (conftest.py holds the fixtures; this module is imported by name)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError


def wait_or_fail(wait: Callable[[], object], expected: str, seen: Callable[[], object]) -> None:
    """Run `wait()` (a Playwright wait); if it times out, fail saying what was `expected` and what is `seen()`."""
    try:
        wait()
        return
    except PlaywrightTimeoutError:
        pass  # fail below, outside the handler, so the report shows this message rather than the timeout's
    try:
        observed = seen()
    except Exception as error:  # noqa: BLE001 -- the page may be unusable; say so instead
        observed = f"(could not read the page: {error})"
    pytest.fail(f"expected {expected}; saw {observed}")
