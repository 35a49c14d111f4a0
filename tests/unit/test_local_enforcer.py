"""Putting rulesets into effect: at once, or after per-pod random delays (fake timers)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from netprobe.backends.local.enforcer import Enforcer
from netprobe.errors import BackendError


class FakeTimers:
    """Records scheduled actions; the test fires them in the order it wants."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[float, Callable[[], None], list[bool]]] = []

    def __call__(self, delay: float, action: Callable[[], None]) -> FakeTimer:
        cancelled = [False]
        self.scheduled.append((delay, action, cancelled))
        return FakeTimer(cancelled)

    def fire(self, index: int) -> None:
        _, action, cancelled = self.scheduled[index]
        if not cancelled[0]:
            action()


class FakeTimer:
    def __init__(self, cancelled: list[bool]) -> None:
        self._cancelled = cancelled

    def cancel(self) -> None:
        self._cancelled[0] = True


def recorder() -> tuple[list[tuple[str, str]], Callable[[str, str], None]]:
    loaded: list[tuple[str, str]] = []
    return loaded, lambda netns, text: loaded.append((netns, text))


def test_without_delay_only_changed_rulesets_are_loaded_before_update_returns() -> None:
    loaded, apply = recorder()
    enforcer = Enforcer(apply)
    enforcer.assume({"a": "open", "b": "open"})
    assert enforcer.update({"a": "open", "b": "deny"}) == ["b"]
    assert loaded == [("b", "deny")]
    assert enforcer.pending() == 0


def test_with_delay_each_pod_changes_later_within_the_bound() -> None:
    loaded, apply = recorder()
    timers = FakeTimers()
    enforcer = Enforcer(apply, apply_delay=2.0, rng=random.Random(7), schedule=timers)
    enforcer.update({"a": "deny", "b": "deny"})
    assert loaded == []
    assert enforcer.pending() == 2
    assert all(0 <= delay <= 2.0 for delay, _, _ in timers.scheduled)
    timers.fire(1)
    timers.fire(0)
    assert sorted(loaded) == [("a", "deny"), ("b", "deny")]
    assert enforcer.pending() == 0


def test_the_same_seed_gives_the_same_delays() -> None:
    def delays(seed: int) -> list[float]:
        timers = FakeTimers()
        Enforcer(lambda n, t: None, 5.0, random.Random(seed), timers).update({"a": "1", "b": "2"})
        return [delay for delay, _, _ in timers.scheduled]

    assert delays(3) == delays(3)
    assert delays(3) != delays(4)


def test_a_late_timer_never_rolls_a_pod_back_to_an_older_ruleset() -> None:
    loaded, apply = recorder()
    timers = FakeTimers()
    enforcer = Enforcer(apply, apply_delay=1.0, schedule=timers)
    enforcer.update({"a": "v1"})
    enforcer.update({"a": "v2"})
    timers.fire(1)
    timers.fire(0)
    assert loaded == [("a", "v2")]
    assert enforcer.pending() == 0


def test_close_cancels_pending_changes_and_refuses_new_ones() -> None:
    loaded, apply = recorder()
    timers = FakeTimers()
    enforcer = Enforcer(apply, apply_delay=1.0, schedule=timers)
    enforcer.update({"a": "deny"})
    enforcer.close()
    timers.fire(0)
    assert loaded == []
    with pytest.raises(BackendError, match="torn down"):
        enforcer.update({"a": "open"})


def test_an_error_on_a_timer_surfaces_on_the_next_call() -> None:
    def failing(netns: str, text: str) -> None:
        raise BackendError(f"nft failed in {netns}")

    timers = FakeTimers()
    enforcer = Enforcer(failing, apply_delay=1.0, schedule=timers)
    enforcer.update({"a": "deny"})
    timers.fire(0)
    with pytest.raises(BackendError, match="nft failed in a"):
        enforcer.raise_errors()
