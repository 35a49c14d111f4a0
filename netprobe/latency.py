"""Enforcement latency: how long the pairs a change affected took to show the new answer.

Teams comparing CNIs ask "how long after I apply a policy is it enforced?". A live run
records, per probed expectation, ``Observation.settled_after`` (seconds from the change to
the first probe that agreed) and whether the step's change moved the analyzer's answer for
that pair (``ExpectationResult.changed``). This module summarises those pairs: p50, p95
and max of the settle times, and how many never settled within the settle window.

The figures are upper bounds at the probes' resolution: a pair is known to have settled
only when a probe saw it, so a denied pair cannot settle faster than one probe timeout.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netprobe.results import ExpectationResult


@dataclass(frozen=True, slots=True)
class LatencySummary:
    changed: int
    """Probed pairs whose analyzer answer changed with their step (policy or label)."""
    settled: int
    """Of those, the pairs that came to agree with the new answer within the window."""
    p50: float | None = None
    p95: float | None = None
    max: float | None = None
    """Seconds; None when nothing settled."""

    @property
    def unsettled(self) -> int:
        return self.changed - self.settled

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "changed": self.changed,
            "settled": self.settled,
            "unsettled": self.unsettled,
            "p50": self.p50,
            "p95": self.p95,
            "max": self.max,
        }

    def __str__(self) -> str:
        if not self.changed:
            return "enforcement latency: no probed pair changed"
        text = f"enforcement latency ({self.changed} changed pairs):"
        if self.settled:
            text += f" p50 {self.p50:.1f}s  p95 {self.p95:.1f}s  max {self.max:.1f}s"
        if self.unsettled:
            text += f"  ({self.unsettled} never settled)"
        return text


def latency_summary(results: Iterable[ExpectationResult]) -> LatencySummary:
    """The latency of every changed pair among ``results`` that was probed (skipped and
    static results, and pairs whose expectation disagrees with the analyzer, are left out:
    their settle time measures something else)."""
    changed = [
        r
        for r in results
        if r.changed
        and r.skip is None
        and r.observation is not None
        and r.expectation.allowed == r.verdict.allowed
    ]
    times = sorted(
        r.observation.settled_after
        for r in changed
        if r.observation is not None and r.observation.settled_after is not None
    )
    if not times:
        return LatencySummary(len(changed), 0)
    return LatencySummary(
        changed=len(changed),
        settled=len(times),
        p50=percentile(times, 50),
        p95=percentile(times, 95),
        max=times[-1],
    )


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``ordered`` (sorted, not empty)."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
