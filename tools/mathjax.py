"""Where the decks and the site get their math renderer: the MathJax 2.7 copy in the pip package
jupyter-server-mathjax (its ``static/`` folder), so formulas typeset with no network."""

from __future__ import annotations

from pathlib import Path


def mathjax_dir(error: type[Exception] = RuntimeError, needed_by: str = "the build") -> Path:
    """The folder holding ``MathJax.js``; raises `error` naming the problem when it is not installed."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise error(
            f"jupyter-server-mathjax is not installed; {needed_by} takes MathJax from it (make setup installs it)"
        ) from None
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (static / "MathJax.js").is_file():
        raise error(f"{static}: MathJax.js is missing from the jupyter-server-mathjax package")
    return static
