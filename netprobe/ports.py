"""Port specs as people type them on the command line: ``80,81/UDP,5432``.

Shared by every command that takes ports; each item is a :class:`~netprobe.model.Port`
(:meth:`Port.parse <netprobe.model.Port.parse>`: the protocol defaults to TCP and is
case-insensitive). Bad input raises :class:`InputError` saying which item is wrong.
"""

from __future__ import annotations

from netprobe.errors import InputError
from netprobe.model import Port


def parse_port_spec(text: str) -> tuple[Port, ...]:
    """Comma-separated ``PORT[/PROTO]`` items, duplicates dropped, order kept.

    Raises:
        InputError: an empty spec or a bad item.
    """
    items = [item for item in text.split(",") if item.strip()]
    if not items:
        raise InputError(f"port spec {text!r} is empty: give e.g. 80,81/UDP,5432")
    return tuple(dict.fromkeys(Port.parse(item) for item in items))
