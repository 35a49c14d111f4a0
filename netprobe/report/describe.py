"""What every report says about results, in words shared by all formats.

Counting (held, violated, skipped, per status) and the sentences describing one result live
here once, so a table, a Markdown comment and a JUnit failure never disagree. Static checks
have no observations: everything about observed outcomes is left out for them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from netprobe.results import (
    ExpectationResult,
    Observation,
    Status,
    SuiteResult,
    is_failure,
    is_held,
)


@dataclass(frozen=True, slots=True)
class Counts:
    expectations: int
    held: int
    violated: int
    """Observed (live) or judged (static) differently from what the suite expects."""
    skipped: int
    errors: int
    """Live only: the probe failed, nothing is known about the connection."""
    by_status: dict[Status, int]

    @classmethod
    def of(cls, results: Sequence[ExpectationResult]) -> Counts:
        statuses = Counter(result.status for result in results)
        errors = statuses[Status.ERROR]
        violated = sum(1 for result in results if is_failure(result)) - errors
        skipped = statuses[Status.SKIPPED]
        return cls(
            expectations=len(results),
            held=sum(1 for result in results if is_held(result)),
            violated=violated,
            skipped=skipped,
            errors=errors,
            by_status={status: statuses[status] for status in Status},
        )

    @property
    def failed(self) -> int:
        return self.violated + self.errors

    @classmethod
    def total(cls, suites: Sequence[SuiteResult]) -> Counts:
        return cls.of([result for suite in suites for result in suite.results])


def is_live(suites: Sequence[SuiteResult]) -> bool:
    """Whether these results come from a backend (and carry observations)."""
    return any(suite.backend is not None for suite in suites) or any(
        result.observation is not None for suite in suites for result in suite.results
    )


def word(allowed: bool | None) -> str:
    return {True: "allow", False: "deny", None: "unknown"}[allowed]


def title(suites: Sequence[SuiteResult]) -> str:
    """``netprobe check: 2 of 40 expectations violated`` or the live equivalent."""
    command = "netprobe check"
    backends = sorted({suite.backend for suite in suites if suite.backend})
    if backends or is_live(suites):
        command = f"netprobe run ({', '.join(backends) or 'live'})"
    counts = Counts.total(suites)
    errors = f", {counts.errors} could not be probed" if counts.errors else ""
    if counts.failed:
        return (
            f"{command}: {counts.violated} of {counts.expectations} expectations violated{errors}"
        )
    skipped = f" ({counts.skipped} skipped)" if counts.skipped else ""
    return f"{command}: all {counts.held} expectations hold{skipped}"


def headline(result: ExpectationResult, suite: SuiteResult) -> str:
    """``three-tier [step lockdown]: deny frontend/web -> database/db:5432/TCP``."""
    step = f" [step {result.step}]" if result.step else ""
    return f"{suite.name}{step}: {result.expectation.id}"


def verdict_sentence(result: ExpectationResult) -> str:
    """What went wrong (or right) in one sentence."""
    expected = word(result.expectation.allowed)
    analyzer = "allow" if result.verdict.allowed else "deny"
    if result.skip is not None:
        return f"skipped: {result.skip}"
    sentence = f"the suite expects {expected}; the policies {analyzer} it"
    if result.verdict.undefined:
        sentence += f" (undefined: {result.verdict.undefined})"
    if result.observation is not None:
        sentence += f"; observed {observation_text(result.observation)}"
    return sentence


def observation_text(observation: Observation) -> str:
    """``connected after 3 attempts, settled after 2.1s`` and the like."""
    text = observation.outcome.value
    details = []
    if observation.attempts != 1:
        details.append(f"{observation.attempts} attempts")
    if observation.settled_after is not None:
        details.append(f"settled after {observation.settled_after:.1f}s")
    if observation.flapped:
        details.append("flapped")
    if observation.detail:
        details.append(observation.detail)
    return f"{text} ({', '.join(details)})" if details else text


def reasons(result: ExpectationResult) -> list[str]:
    return [str(reason) for reason in result.verdict.reasons]


def needs_attention(result: ExpectationResult) -> bool:
    """Listed in detail: a violation, an error, or (live) an analyzer/dataplane mismatch."""
    return is_failure(result) or result.status not in (Status.PASS, Status.SKIPPED)


def settled_late(result: ExpectationResult) -> bool:
    """Held, but only after retries (or it flapped): worth a line in a live report."""
    observation = result.observation
    return (
        observation is not None
        and not is_failure(result)
        and (observation.attempts > 1 or observation.flapped)
    )
