"""Putting compiled rulesets into effect, at once or after a random per-pod delay.

With ``apply_delay`` 0 a change is applied to every affected pod before :meth:`update`
returns (the pods in parallel). Otherwise each pod's new ruleset takes effect after its
own random delay in ``[0, apply_delay]`` on a background timer, as policies do on a real
cluster, and :meth:`update` returns at once. A pod never goes back to an older ruleset: a
timer that fires after a newer one has been applied does nothing. Errors raised on a timer
are kept and raised by the next :meth:`raise_errors`.
"""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from netprobe.errors import BackendError

ApplyFunction = Callable[[str, str], None]
"""``apply(netns, ruleset)``: load one ruleset into one namespace."""


class Timer(Protocol):
    def cancel(self) -> None: ...


Scheduler = Callable[[float, Callable[[], None]], Timer]


def thread_timer(delay: float, action: Callable[[], None]) -> Timer:
    timer = threading.Timer(delay, action)
    timer.daemon = True
    timer.start()
    return timer


class Enforcer:
    def __init__(
        self,
        apply: ApplyFunction,
        apply_delay: float = 0.0,
        rng: random.Random | None = None,
        schedule: Scheduler = thread_timer,
        workers: int = 4,
    ) -> None:
        self._apply = apply
        self._delay = apply_delay
        self._rng = rng or random.Random()
        self._schedule = schedule
        self._workers = workers
        self._lock = threading.Lock()
        self._desired: dict[str, str] = {}
        self._generation: dict[str, int] = {}
        self._applied_generation: dict[str, int] = {}
        self._pod_locks: dict[str, threading.Lock] = {}
        self._timers: list[Timer] = []
        self._errors: list[BackendError] = []
        self._closed = False

    def assume(self, rulesets: Mapping[str, str]) -> None:
        """Record rulesets as in effect without loading them (a fresh namespace, with no
        table, already behaves like an unisolated pod's ruleset)."""
        with self._lock:
            for netns, text in rulesets.items():
                self._desired[netns] = text
                self._pod_locks.setdefault(netns, threading.Lock())

    def update(self, rulesets: Mapping[str, str]) -> list[str]:
        """Put the rulesets that changed into effect; the namespaces that changed."""
        self.raise_errors()
        jobs: list[tuple[str, int, str]] = []
        with self._lock:
            if self._closed:
                raise BackendError("the local dataplane was torn down")
            for netns, text in sorted(rulesets.items()):
                if self._desired.get(netns) == text:
                    continue
                self._desired[netns] = text
                generation = self._generation.get(netns, 0) + 1
                self._generation[netns] = generation
                self._pod_locks.setdefault(netns, threading.Lock())
                jobs.append((netns, generation, text))
            if self._delay > 0:
                for job in jobs:
                    wait = self._rng.uniform(0.0, self._delay)
                    self._timers.append(self._schedule(wait, functools.partial(self._fire, *job)))
        if self._delay <= 0 and jobs:
            if len(jobs) == 1:
                self._fire(*jobs[0])
            else:
                with ThreadPoolExecutor(min(self._workers, len(jobs))) as pool:
                    list(pool.map(lambda job: self._fire(*job), jobs))
            self.raise_errors()
        return [netns for netns, _, _ in jobs]

    def pending(self) -> int:
        """How many scheduled changes have not been applied yet."""
        with self._lock:
            return sum(
                1
                for netns, generation in self._generation.items()
                if self._applied_generation.get(netns, 0) < generation
            )

    def raise_errors(self) -> None:
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Cancel every pending timer; later updates fail."""
        with self._lock:
            self._closed = True
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()

    def _fire(self, netns: str, generation: int, text: str) -> None:
        with self._pod_locks[netns]:
            with self._lock:
                if self._closed or generation <= self._applied_generation.get(netns, 0):
                    return
                self._applied_generation[netns] = generation
            try:
                self._apply(netns, text)
            except BackendError as exc:
                with self._lock:
                    self._errors.append(exc)
