"""Time as an injected value: one clock for the runner, the backends and the fakes.

Everything that waits, measures or stamps takes a :class:`Clock` (the system's by default),
so settling, polling and Lease expiry are tested on a :class:`FakeClock` without sleeping
and without patching :mod:`time`. Deadlines of real I/O (a socket read, a pipe select)
stay on the system's monotonic time: they bound blocking calls no fake clock can shorten.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds that never go back: deadlines and durations."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch (for Lease times, which other processes read)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class FakeClock:
    """A clock whose time moves only when someone sleeps on it (for tests). Monotonic and
    wall time are both :attr:`now`; :attr:`slept` lists every sleep, in order."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds
