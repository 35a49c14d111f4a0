"""The warning channel of the manifest loader.

Loading never prints: things worth a warning (a skipped kind, masked host bits, an implicit
namespace) go to a ``Warn`` callable the caller passes in, one line each, starting with the
``file:line`` they concern. Front ends decide where the lines go.
"""

from __future__ import annotations

from collections.abc import Callable

from netprobe.errors import Location

Warn = Callable[[str], None]
"""Receives one-line warnings, each starting with ``file:line``."""


def drop_warning(message: str) -> None:
    """A ``Warn`` that discards the warning (the default of the single-object parsers)."""


def warn_at(warn: Warn, location: Location | None, message: str) -> None:
    """Send ``message`` to ``warn``, prefixed with ``location`` when it is known."""
    warn(f"{location}: {message}" if location is not None else message)
