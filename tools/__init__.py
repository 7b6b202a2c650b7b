"""The course's build scripts, run from the project root: ``python tools/build_slides.py`` (make slides),
``python tools/build_site.py`` (make site). A package only so that the tests can import them."""
