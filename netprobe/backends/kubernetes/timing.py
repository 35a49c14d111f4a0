"""Polling the API server with backoff, on an injected :class:`~netprobe.clock.Clock`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from netprobe.clock import Clock

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Polling intervals: ``first``, growing by ``factor`` up to ``maximum``."""

    first: float = 0.5
    factor: float = 1.5
    maximum: float = 2.0

    def intervals(self) -> Iterator[float]:
        interval = self.first
        while True:
            yield interval
            interval = min(self.maximum, interval * self.factor)


def poll_until(
    check: Callable[[], T | None],
    timeout: float,
    clock: Clock,
    backoff: Backoff = Backoff(),
) -> T | None:
    """Call ``check`` until it returns a value, with backoff; None when ``timeout`` passes.
    ``check`` is always called at least once, and once more at the deadline."""
    deadline = clock.monotonic() + timeout
    for interval in backoff.intervals():
        found = check()
        if found is not None:
            return found
        left = deadline - clock.monotonic()
        if left <= 0:
            return None
        clock.sleep(min(interval, left))
    raise AssertionError("unreachable")  # pragma: no cover
