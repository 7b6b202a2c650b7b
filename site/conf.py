"""Sphinx configuration of the course website (built by tools/build_site.py, never by hand).

tools/build_site.py copies this file and site/_static/ into a staging folder next to the generated
index.md and the lecture notebooks, then runs ``sphinx-build -W`` there. Everything the pages load
is local: the theme's own assets, MathJax 2.7 from jupyter-server-mathjax (copied into
``_static/mathjax/`` after the build), no widget manager. The course title and the MathJax
configuration name come from the build script (``-D project=...``), so nothing here goes stale.
"""

project = "CNNs, hands-on"  # replaced by the build script with the README's title
author = "the course authors"
copyright = "the course authors; MIT licence"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_originals", "_build", ".doctrees", "**.ipynb_checkpoints"]

# --- notebooks: the committed outputs, never a kernel ---------------------------------------
nb_execution_mode = "off"
# myst-nb would otherwise load require.js and @jupyter-widgets/html-manager from CDNs on any page
# with widget state. The staged notebooks carry none, and this keeps it that way.
nb_ipywidgets_js = {}
nb_merge_streams = True
myst_enable_extensions = ["dollarmath"]
myst_dmath_double_inline = True  # the lectures write $$...$$ inside paragraphs
# myst-parser would rewrite a MathJax 3/4 configuration (and Sphinx would then emit it); this site uses MathJax 2.
myst_update_mathjax = False
myst_heading_anchors = 3

# --- math: MathJax 2.7 from the pip package jupyter-server-mathjax, copied to _static/mathjax ----
# That copy ships the HTML-CSS output with the STIX-Web fonts only (no CommonHTML, no TeX fonts),
# so the configuration is TeX-AMS-MML_HTMLorMML-full and the web font is STIX-Web.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    "tex2jax": {
        # Sphinx writes \( \) and \[ \] around every formula; nothing else on a page is math.
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": False,
        "processEnvironments": False,
    },
    "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web", "imageFont": None},
    "showMathMenu": True,
    "messageStyle": "none",
}

# --- pages -------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["course.css"]
# The original notebooks, copied next to their pages for the download link at the top of each page.
html_extra_path = ["_originals"]
# No _sources/ copies: the theme's download button would offer the staged notebook (widgets
# stripped), not the one a student should run; each page links the real .ipynb instead.
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": True,
    "use_repository_button": False,
    "use_issues_button": False,
    "use_source_button": False,
    "use_edit_page_button": False,
    "show_prev_next": True,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": [],
    "launch_buttons": {},
}
