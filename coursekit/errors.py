"""The exception types the whole package shares.

Every lookup by name -- a profile section, a self-check key, a dataset, a model layer -- fails the
same way when the name is unknown: with `UnknownName`, whose message lists the names that exist.
It subclasses `KeyError` (what a lookup raises) and `ValueError` (what a bad argument raises), so
``except KeyError`` and ``except ValueError`` both catch it.
"""

from __future__ import annotations

from collections.abc import Iterable


class UnknownName(KeyError, ValueError):
    """A name that is not one of the known ones: ``UnknownName("dataset", "mnsit", ["mnist", ...])``.

    The message reads ``unknown dataset 'mnsit'; choose one of: fashion_mnist, mnist``.
    """

    def __init__(self, what: str, name, known: Iterable):
        self.what, self.name, self.known = what, name, sorted(str(k) for k in known)
        super().__init__(f"unknown {what} {name!r}; choose one of: {', '.join(self.known)}")

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return self.args[0]
