"""Results of checking a suite: per expectation, what the suite expects, what the
analyzer says, and (in a live run) what was observed.

Three-way classification (the heart of netprobe's reports):

- POLICY:    expected != analyzer — the policies do not say what the team meant.
- DATAPLANE: observed != analyzer — enforcement differs from NetworkPolicy semantics.
- BOTH, PASS, SKIPPED as named.

An expectation *fails* when what happened differs from what was expected: the observation
in a live run, the analyzer's verdict in a static check (:func:`is_failure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from netprobe.diagnostics import Diagnostics
from netprobe.model import Verdict
from netprobe.probes import Outcome
from netprobe.suite.model import Expectation


class Status(StrEnum):
    PASS = "pass"
    POLICY = "policy"
    DATAPLANE = "dataplane"
    BOTH = "policy+dataplane"
    SKIPPED = "skipped"
    ERROR = "error"
    """The probe could not be run: nothing is known about the connection."""


@dataclass(frozen=True, slots=True)
class Observation:
    outcome: Outcome
    attempts: int = 1
    settled_after: float | None = None
    """Seconds from the change until the result matched the expectation, if it did."""
    flapped: bool = False
    """The result changed back after it had once matched."""
    detail: str = ""

    @property
    def allowed(self) -> bool | None:
        return self.outcome.reached


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    expectation: Expectation
    step: str
    verdict: Verdict
    observation: Observation | None = None
    skip: str | None = None
    """Why the expectation was not checked (the suite's skip, or the backend's)."""
    changed: bool = False
    """The step's change (its actions; for the first step, the suite's policies) moved
    the analyzer's answer for this pair: its settle time is enforcement latency."""

    @property
    def policy_mismatch(self) -> bool:
        return self.verdict.allowed != self.expectation.allowed

    @property
    def dataplane_mismatch(self) -> bool:
        observed = self.observation.allowed if self.observation else None
        return observed is not None and observed != self.verdict.allowed

    @property
    def status(self) -> Status:
        if self.skip is not None:
            return Status.SKIPPED
        if self.observation is not None and self.observation.allowed is None:
            return Status.ERROR
        if self.policy_mismatch and self.dataplane_mismatch:
            return Status.BOTH
        if self.policy_mismatch:
            # In a live run where the observation matched the analyzer, the dataplane did
            # what the policies say and the policies are what is wrong.
            return Status.POLICY
        if self.dataplane_mismatch:
            return Status.DATAPLANE
        return Status.PASS

    @property
    def failed(self) -> bool:
        """:func:`is_failure` without ``strict``."""
        return is_failure(self)


@dataclass(frozen=True, slots=True)
class SuiteResult:
    name: str
    path: Path
    results: tuple[ExpectationResult, ...]
    backend: str | None = None
    """None for a static check."""
    duration: float = 0.0
    cni: str | None = None
    """The CNI a live run was told it ran on (``--cni``), if any."""
    diagnostics: Diagnostics | None = None
    """What the backend saw when some result failed or the dataplane disagreed; None when
    none did, or the backend gives none."""

    @property
    def failed(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if is_failure(r))


def is_failure(result: ExpectationResult, strict: bool = False) -> bool:
    """Whether ``result`` fails a check or a run: what happened (the observation in a live
    run, the analyzer's verdict in a static check) differs from what the suite expected, or
    could not be known; with ``strict``, also where the dataplane disagreed with the
    analyzer. A skipped result never fails. Every report and exit code decides here."""
    if result.skip is not None:
        return False
    if strict and result.dataplane_mismatch:
        return True
    if result.observation is None:
        return result.policy_mismatch
    observed = result.observation.allowed
    return observed is None or observed != result.expectation.allowed


def is_held(result: ExpectationResult) -> bool:
    """Checked, and what happened is what the suite expected."""
    return result.skip is None and not is_failure(result)
