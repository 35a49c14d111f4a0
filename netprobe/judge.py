"""The static judgement: every expectation of a suite judged by the analyzer, no cluster.

This is what ``netprobe check`` and the pytest plugin (without a backend) run. Each step's
expectations are judged against the state after that step's actions, exactly as a backend
would be asked to enforce them; pods have no IPs here, so ipBlocks never match pods.
"""

from __future__ import annotations

from netprobe.analyzer import evaluate
from netprobe.clock import SYSTEM_CLOCK, Clock
from netprobe.model import ClusterState, Connection
from netprobe.results import ExpectationResult, SuiteResult
from netprobe.suite.model import STATIC_CHECK, Expectation, Step, Suite, step_states


def judge_expectation(
    expectation: Expectation, step: Step, state: ClusterState
) -> ExpectationResult:
    """The analyzer's verdict on one expectation in ``state``."""
    connection = Connection(
        expectation.source, expectation.destination, expectation.port, expectation.protocol
    )
    return ExpectationResult(
        expectation=expectation,
        step=step.name,
        verdict=evaluate(connection, state),
        skip=expectation.skip_reason(STATIC_CHECK),
    )


def judge_suite(suite: Suite, clock: Clock = SYSTEM_CLOCK) -> SuiteResult:
    """Every expectation of ``suite`` judged by the analyzer, in order."""
    started = clock.monotonic()
    results = tuple(
        judge_expectation(expectation, step, state)
        for step, state in step_states(suite)
        for expectation in step.expectations
    )
    return SuiteResult(suite.name, suite.path, results, duration=clock.monotonic() - started)
