"""Time as an injected value, so waits and Lease expiry are tested without sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def wall(self) -> float:
        """Seconds since the epoch (for Lease times, which other processes read)."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


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
