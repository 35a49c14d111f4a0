"""Which planned checks a step's change affected: the pairs whose analyzer answer differs
from the one before the step's actions (for the first step: before any policy). Their
settle times are the run's enforcement latency (:mod:`netprobe.latency`)."""

from __future__ import annotations

from netprobe.analyzer import evaluate
from netprobe.model import ClusterState, Connection
from netprobe.run.plan import Planned


def changed_by_step(planned: Planned, before: ClusterState) -> bool:
    """Whether ``planned`` is probed and its verdict differs from the one in ``before``
    (the state before the step's actions, with the same pod addresses)."""
    if planned.check is None:
        return False
    expectation = planned.expectation
    connection = Connection(
        expectation.source, expectation.destination, expectation.port, expectation.protocol
    )
    return evaluate(connection, before).allowed != planned.verdict.allowed
