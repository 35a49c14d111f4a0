"""What every subcommand shares: how loader warnings reach the user."""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    """A loader warning (``file:line: ...``), one line on stderr, apart from the output."""
    print(f"netprobe: warning: {message}", file=sys.stderr)
