"""Settling after a change: probe, re-probe what disagrees, confirm what agreed.

Enforcement is eventually consistent (docs/semantics.md, "What is undefined"), so a
result that differs from what is wanted right after a change is probed again, every
``interval`` seconds, until it agrees or ``timeout`` seconds have passed since the change
(upstream's e2e tests poll 1 s apart for 10 s). Every result that agreed is then probed
once more after ``interval``: one that changed back has *flapped*, and its later result
is the one that counts. Attempts, the time to settle and flapping are recorded, so a
report can say when a result only held after retries.

Time comes from an injected :class:`~netprobe.clock.Clock`, so tests never sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, retry_if_result, wait_fixed

from netprobe.clock import Clock
from netprobe.model import PodRef
from netprobe.probes import Probe, ProbeResult
from netprobe.results import Observation


@dataclass(frozen=True, slots=True)
class ProbeCheck:
    """One connection to probe and whether the network should let it through."""

    source: PodRef
    probe: Probe
    wanted: bool

    @property
    def key(self) -> tuple[PodRef, Probe]:
        return (self.source, self.probe)


@dataclass(frozen=True, slots=True)
class SettlePolicy:
    """How to settle; the timings come from the run's settings (``Settings.with_timings``)."""

    interval: float
    """Seconds between two probes of a result that does not agree yet."""
    timeout: float
    """Seconds after the change during which disagreeing results are probed again."""
    confirm: bool = True
    """Probe every agreeing result once more at the end, to catch flapping."""


Prober = Callable[[Sequence[ProbeCheck]], Mapping[tuple[PodRef, Probe], ProbeResult]]
"""Runs one round of probes for some checks (one exec per source pod)."""


@dataclass
class _Track:
    attempts: int = 0
    result: ProbeResult | None = None
    settled_after: float | None = None


def settle(
    checks: Sequence[ProbeCheck],
    prober: Prober,
    policy: SettlePolicy,
    *,
    clock: Clock,
    start: float | None = None,
    on_confirm: Callable[[], None] | None = None,
) -> dict[ProbeCheck, Observation]:
    """Probe ``checks`` until each agrees with what it wants or the budget runs out.

    Args:
        checks: what to probe; duplicates are probed once.
        prober: runs one round for the checks given.
        policy: interval, budget and confirmation.
        clock: what time it is, and how to wait between rounds.
        start: when the change happened (default: now); settle times count from it.
        on_confirm: told before the confirmation round (progress counts it apart).
    """
    unique = tuple(dict.fromkeys(checks))
    began = clock.monotonic() if start is None else start
    tracks = {check: _Track() for check in unique}

    def probe_disagreeing() -> tuple[ProbeCheck, ...]:
        """One round for the checks that do not agree yet; those that still do not."""
        pending = tuple(check for check in unique if tracks[check].settled_after is None)
        # A result that agrees was already true when its probe was sent: the settle time
        # counts to the round's start, not to the end of the probe (a denied probe takes
        # its whole timeout to be seen).
        sent = clock.monotonic()
        results = prober(pending)
        for check in pending:
            track = tracks[check]
            track.attempts += 1
            track.result = results[check.key]
            if _agrees(check, track.result):
                track.settled_after = round(max(0.0, sent - began), 3)
        return tuple(check for check in pending if tracks[check].settled_after is None)

    def out_of_budget(state: RetryCallState) -> bool:
        """Whether the next round, one interval from now, would start past the budget
        (on ``clock``: tenacity's own ``stop_*_delay`` read the system's time)."""
        return clock.monotonic() - began + policy.interval > policy.timeout

    if unique:
        Retrying(
            sleep=clock.sleep,
            wait=wait_fixed(policy.interval),
            stop=out_of_budget,
            retry=retry_if_result(bool),  # while some check disagrees
            retry_error_callback=lambda state: None,  # out of budget: observed as they are
        )(probe_disagreeing)

    flapped: dict[ProbeCheck, ProbeResult] = {}
    agreed = tuple(c for c in unique if tracks[c].settled_after is not None)
    if policy.confirm and agreed:
        clock.sleep(policy.interval)
        if on_confirm is not None:
            on_confirm()
        results = prober(agreed)
        flapped = {c: results[c.key] for c in agreed if not _agrees(c, results[c.key])}
    return {check: _observation(tracks[check], flapped.get(check)) for check in unique}


def _agrees(check: ProbeCheck, result: ProbeResult) -> bool:
    return result.outcome.reached is check.wanted


def _observation(track: _Track, changed: ProbeResult | None) -> Observation:
    assert track.result is not None
    final = changed or track.result
    return Observation(
        outcome=final.outcome,
        attempts=track.attempts,
        settled_after=track.settled_after,
        flapped=changed is not None,
        detail=final.detail,
    )
