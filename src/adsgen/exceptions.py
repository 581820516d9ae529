"""User-facing errors. The CLI prints `str(error)` on one line and exits 2; anything else is a bug.

Messages say what is wrong, where (file, key path) and how to fix it (allowed values,
closest match).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["AdsgenError", "DatabaseError", "SpecError", "UnknownNameError"]


class AdsgenError(Exception):
    """A problem with the user's input or environment; exit code 2, no traceback."""


class SpecError(AdsgenError):
    """A template, profile or option failed validation: `where` is the file and key path."""

    def __init__(self, message: str, *, where: str = "") -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class DatabaseError(AdsgenError):
    """The database cannot be reached, created or written."""


class UnknownNameError(AdsgenError, KeyError):
    """A name given as text (profile, template, sink, …) is not known."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.kind, self.name = kind, name
        self.known = sorted(known)
        close = difflib.get_close_matches(name, self.known, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "."
        listing = ", ".join(self.known) if self.known else "(none)"
        super().__init__(f"unknown {kind} {name!r}{hint} Known {kind}s: {listing}")

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])
