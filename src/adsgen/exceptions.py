"""User-facing errors. The CLI prints `str(error)` on one line and exits 2; anything else is a bug.

Messages say what is wrong, where (file, key path) and how to fix it (allowed values,
closest match). A value from the user is quoted through `shown`, which cuts it to a few dozen
characters, so a 1 MB string or an alias-expanded list cannot make a 39 MB error line;
SpecError also cuts its whole message and key path, as the last line of defence.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable
from decimal import Decimal

__all__ = [
    "AdsgenError", "ConflictError", "DatabaseError", "Interrupted", "SpecError",
    "UnknownNameError", "shorten", "shown",
]

SHOWN_LENGTH = 80
"""Most characters of a user's value quoted in an error."""
MESSAGE_LENGTH = 500
"""Most characters of an error message, and of a key path, after the file name."""

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4
_SHORT.maxlevel = 2
_SHORT.fillvalue = "…"


def shorten(text: str, limit: int = MESSAGE_LENGTH) -> str:
    """`text` cut to `limit` characters, the cut marked with '…'."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: object, *, quote: bool = True) -> str:
    """A user's value as quoted in an error: its repr (numbers and, without `quote`, text as
    written), cut to SHOWN_LENGTH characters however long or deeply nested it is."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 10_000:
        return f"an integer of {value.bit_length():,} bits"  # str() would refuse it
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str) and not quote:
        text = value
    else:
        text = _SHORT.repr(value)
    if len(text) <= SHOWN_LENGTH:
        return text
    half = SHOWN_LENGTH // 2 - 1
    return f"{text[:half]}…{text[-half:]}"


class AdsgenError(Exception):
    """A problem with the user's input or environment; exit code 2, no traceback."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C after part of the work was kept on purpose: `str()` says what ("interrupted;
    the files in … are complete, nothing was loaded"). The CLI prints it, exit 130, instead
    of "interrupted; nothing was written"."""


class SpecError(AdsgenError):
    """A template, profile or option failed validation: `where` is the file and key path."""

    def __init__(self, message: str, *, where: str = "") -> None:
        file, _, path = where.partition(": ")
        self.where = f"{file}: {shorten(path)}" if path else file
        message = shorten(message)
        super().__init__(f"{self.where}: {message}" if where else message)


class ConflictError(AdsgenError):
    """The request contradicts what the data holds (deleting an entity that has delivered);
    the API answers 409."""


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
        super().__init__(f"unknown {kind} {shown(name)}{hint} Known {kind}s: {listing}")

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])
