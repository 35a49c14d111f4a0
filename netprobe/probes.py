"""Probes: what one source pod tries to reach, and how an attempt turned out.

The probe engine (building the shell script a backend execs in the source pod, and parsing
the markers it prints) is shared by every backend, so that a local run and a cluster run
judge connections the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from netprobe.model import IPAddress, Protocol


class Outcome(StrEnum):
    CONNECTED = "connected"
    """The connection was made (TCP handshake, or a UDP reply came back)."""
    REFUSED = "refused"
    """The packet reached the destination and nothing listened: the network allowed it."""
    TIMEOUT = "timeout"
    """No answer within the timeout: dropped."""
    ERROR = "error"
    """The probe itself failed; says nothing about the network."""

    @property
    def reached(self) -> bool | None:
        """Whether the network let the connection through; None for ERROR."""
        if self is Outcome.ERROR:
            return None
        return self is not Outcome.TIMEOUT


@dataclass(frozen=True, slots=True)
class Probe:
    """One connection attempt from a source pod: only addresses and numbers, never text
    from a user file, so a command line built from it cannot be injected into."""

    target: IPAddress
    port: int
    protocol: Protocol
