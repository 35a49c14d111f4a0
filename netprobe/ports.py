"""Port specs as people type them on the command line: ``80,81/UDP,5432``.

Shared by every command that takes ports; the protocol defaults to TCP and is
case-insensitive. Bad input raises :class:`InputError` saying which item is wrong.
"""

from __future__ import annotations

from netprobe.errors import InputError
from netprobe.model import Protocol

_PROTOCOLS = ", ".join(protocol.value for protocol in Protocol)


def parse_port(text: str) -> tuple[int, Protocol]:
    """One ``PORT[/PROTO]`` item, e.g. ``53/UDP``.

    Raises:
        InputError: not a number in 1-65535, or not TCP, UDP or SCTP.
    """
    number, _, protocol = text.strip().partition("/")
    return parse_port_number(number, text), parse_protocol(protocol or "TCP", text)


def parse_port_number(number: str, item: str) -> int:
    """A port number in 1-65535; ``item`` is what the user typed, for the message."""
    number = number.strip()
    if not (number.isascii() and number.isdigit()) or not 1 <= int(number) <= 65535:
        raise InputError(f"port {item!r}: expected a number from 1 to 65535, like 80 or 53/UDP")
    return int(number)


def parse_protocol(protocol: str, item: str) -> Protocol:
    """TCP, UDP or SCTP in any case; ``item`` is what the user typed, for the message."""
    try:
        return Protocol(protocol.strip().upper())
    except ValueError:
        raise InputError(f"port {item!r}: protocol must be one of {_PROTOCOLS}") from None


def parse_port_spec(text: str) -> tuple[tuple[int, Protocol], ...]:
    """Comma-separated ``PORT[/PROTO]`` items, duplicates dropped, order kept.

    Raises:
        InputError: an empty spec or a bad item.
    """
    items = [item for item in text.split(",") if item.strip()]
    if not items:
        raise InputError(f"port spec {text!r} is empty: give e.g. 80,81/UDP,5432")
    return tuple(dict.fromkeys(parse_port(item) for item in items))
