"""The course website (build/site/, `make site`), read from file:// with no network.

One crawl (module fixture) starts at index.html and follows every internal link to the site's HTML
pages; on each page it records the links that do not resolve to a file, the images that did not load,
and every request that tried to leave the machine. The tests then assert on what the crawl saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
SITE_DIR = REPO / "build" / "site"
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXTERNAL = re.compile(r"^(https?:|mailto:|#)", re.I)

# Links as written (href attribute) and as the browser resolves them; images once each has loaded or failed.
PAGE_JS = """async () => {
  const images = [...document.images];
  for (const img of images) { img.loading = 'eager'; try { await img.decode(); } catch (e) {} }
  return {
    title: document.title,
    links: [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href]),
    images: images.map(img => [img.getAttribute('src'), img.naturalWidth]),
  };
}"""


@dataclass
class Crawl:
    page: object = None  # the crawl's page (a screenshot of it is taken if a test fails)
    visited: dict[str, str] = field(default_factory=dict)  # site-relative path -> title
    broken_links: list[tuple[str, str]] = field(default_factory=list)  # (page, href)
    broken_images: list[tuple[str, str]] = field(default_factory=list)  # (page, src)
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (page, url)


def _local_target(url: str) -> Path | None:
    """The file a resolved file:// URL points to (fragment and query dropped), or None for another scheme."""
    parts = urlsplit(urldefrag(url).url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


@pytest.fixture(scope="module")
def crawl(new_offline_page) -> Crawl:
    index = SITE_DIR / "index.html"
    if not index.is_file():
        pytest.fail(f"expected the site's {index} (built by `make site`); it does not exist")
    page = new_offline_page()
    result = Crawl(page=page)
    queue = [index]
    while queue:
        path = queue.pop(0)
        name = path.relative_to(SITE_DIR).as_posix()
        if name in result.visited:
            continue
        seen_before = len(page.blocked)
        page.goto(path.as_uri(), wait_until="load")
        info = page.evaluate(PAGE_JS)
        result.visited[name] = info["title"]
        result.blocked += [(name, url) for url in page.blocked[seen_before:]]
        result.broken_images += [(name, src) for src, width in info["images"] if not width]
        for href, resolved in info["links"]:
            if EXTERNAL.match(href) or href.startswith("javascript:"):
                continue
            target = _local_target(resolved)
            if target is None or not target.is_file():
                result.broken_links.append((name, href))
            elif target.suffix == ".html" and target.is_relative_to(SITE_DIR):
                queue.append(target)
    yield result
    page.context.close()


def test_index_loads_and_reaches_every_lesson(crawl: Crawl):
    assert crawl.visited.get("index.html"), f"expected index.html to load with a title; saw {crawl.visited}"
    lessons = {f"{path.stem}.html" for path in NOTEBOOKS}
    missing = sorted(lessons - crawl.visited.keys())
    assert missing == [], f"expected every lesson page to be reachable by links from index.html; missing {missing}"


def test_internal_links_resolve(crawl: Crawl):
    assert crawl.broken_links == [], (
        f"expected every internal link of the {len(crawl.visited)} pages to point to an existing file; "
        f"these do not (page, href): {crawl.broken_links[:20]}"
    )


def test_images_load(crawl: Crawl):
    assert crawl.broken_images == [], (
        f"expected every <img> to load (naturalWidth > 0); these did not (page, src): {crawl.broken_images[:20]}"
    )


def test_no_external_requests(crawl: Crawl):
    assert crawl.blocked == [], (
        f"expected no request to leave the machine from the {len(crawl.visited)} pages; saw (page, url): "
        f"{crawl.blocked[:20]}"
    )
