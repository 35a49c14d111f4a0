"""What to probe in one step: the step's expectations, and in matrix mode every pod pair
on every port the destination declares, each judged by the analyzer on the state in force.

The state is the suite's model after the step's actions, with the pod IPs the backend
assigned (ipBlocks are judged against real addresses). Expectations the backend cannot
probe (a protocol it does not speak, a suite or backend skip, a destination whose server
on that port is down: :class:`~netprobe.backends.base.Outages`) are skipped with the reason.
Matrix cells are expectations whose wanted answer is the analyzer's: a failed cell is a
place where the dataplane disagrees with the spec (the conformance view).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from netprobe.analyzer import evaluate
from netprobe.backends.base import NO_OUTAGES, Capabilities, Outages
from netprobe.errors import Location
from netprobe.model import (
    ClusterState,
    Connection,
    Host,
    IPAddress,
    PodRef,
    Port,
    Verdict,
)
from netprobe.probes import Probe
from netprobe.run.settle import ProbeCheck
from netprobe.suite.model import Expectation, Step

MATRIX_TAG = "matrix"


@dataclass(frozen=True, slots=True)
class Planned:
    """One expectation of a step, its verdict, and what the run does with it: probe it
    with a check, or skip it for a reason (one field, so never both and never neither)."""

    expectation: Expectation
    verdict: Verdict
    decision: ProbeCheck | str
    """The check that probes the expectation, or why it is not probed."""

    @property
    def check(self) -> ProbeCheck | None:
        """The check that probes the expectation; None when it is skipped."""
        return self.decision if isinstance(self.decision, ProbeCheck) else None

    @property
    def skip(self) -> str | None:
        """Why the expectation is not probed; None when it is."""
        return self.decision if isinstance(self.decision, str) else None


def with_addresses(
    model: ClusterState, snapshot: ClusterState, real: Collection[PodRef] = ()
) -> ClusterState:
    """``model`` with each pod's addresses taken from the backend's ``snapshot``; the
    ``real`` pods (existing workloads in staging mode) are taken from it whole, since their
    labels and ports are the cluster's, not the suite's."""
    pods = tuple(
        (found if pod.ref in real else replace(pod, ips=found.ips))
        if (found := snapshot.pod(pod.ref)) is not None
        else pod
        for pod in model.pods
    )
    return model.replace(pods=pods)


def plan_step(
    step: Step,
    state: ClusterState,
    *,
    backend: str,
    capabilities: Capabilities,
    matrix: bool = False,
    location: Location | None = None,
    also: tuple[str, ...] = (),
    outages: Outages = NO_OUTAGES,
) -> tuple[Planned, ...]:
    """The planned checks of ``step`` on ``state`` (see the module docstring).

    What ``capabilities`` rule out is skipped with their reasons, and so is every probe to
    a server in ``outages``; ``also`` are other names the dataplane goes by (its CNI):
    skips for them apply too."""
    can = _Backend(backend, capabilities, also, outages)
    planned = [_plan(e, state, can) for e in step.expectations]
    if matrix:
        covered = {(p.expectation.source, p.check.probe) for p in planned if p.check}
        named = {_key(p.expectation) for p in planned}
        declared = _declared_skips(planned, can)
        where = location or Location("<matrix>")
        for expectation in matrix_expectations(state, where.child(f"matrix[{step.name}]")):
            cell = _plan(expectation, state, can)
            if _key(expectation) in named or (
                cell.check is not None and (cell.check.source, cell.check.probe) in covered
            ):
                continue
            reason = declared.get((expectation.source, expectation.destination))
            if reason is not None and cell.check is not None:
                cell = replace(cell, decision=f"{reason} (skipped for this pair)")
            planned.append(cell)
    return tuple(planned)


def _key(expectation: Expectation) -> tuple[PodRef, Host, Port]:
    return (
        expectation.source,
        expectation.destination,
        Port(expectation.port, expectation.protocol),
    )


def _declared_skips(planned: list[Planned], can: _Backend) -> dict[tuple[PodRef, Host], str]:
    """The suite's own skips of this step by pod pair: matrix cells of a pair the suite
    skips here (a CNI's known limitation, say) are skipped with the same reason."""
    declared: dict[tuple[PodRef, Host], str] = {}
    for p in planned:
        reason = p.expectation.skip_reason(can.name, *can.also)
        if reason is not None:
            declared.setdefault((p.expectation.source, p.expectation.destination), reason)
    return declared


def matrix_expectations(state: ClusterState, location: Location) -> tuple[Expectation, ...]:
    """Every pod pair on every port the destination declares, expecting what the
    analyzer says (pods without an IP are left out: they cannot be probed)."""
    placed = [pod for pod in state.pods if pod.ip is not None]
    cells: list[Expectation] = []
    for destination in placed:
        for port in destination.ports:
            for source in placed:
                connection = Connection(source.ref, destination.ref, port.port, port.protocol)
                verdict = evaluate(connection, state)
                cells.append(
                    Expectation(
                        source=source.ref,
                        destination=destination.ref,
                        port=port.port,
                        protocol=port.protocol,
                        allowed=verdict.allowed,
                        location=location,
                        port_name=port.name,
                        tags=(MATRIX_TAG,),
                    )
                )
    cells.sort(key=lambda e: (e.source, str(e.destination), e.port, e.protocol))
    return tuple(cells)


@dataclass(frozen=True, slots=True)
class _Backend:
    name: str
    capabilities: Capabilities
    also: tuple[str, ...] = ()
    outages: Outages = NO_OUTAGES


def _plan(expectation: Expectation, state: ClusterState, can: _Backend) -> Planned:
    connection = Connection(
        expectation.source, expectation.destination, expectation.port, expectation.protocol
    )
    verdict = evaluate(connection, state)
    # The outage first: it says what is wrong with this pod, the capability only what the
    # backend cannot do anywhere.
    skip = (
        expectation.skip_reason(can.name, *can.also)
        or can.outages.why_not(
            expectation.destination, Port(expectation.port, expectation.protocol)
        )
        or can.capabilities.why_not(expectation.protocol, can.name)
    )
    externals = can.capabilities.externals
    if skip is None and externals and not isinstance(expectation.destination, PodRef):
        skip = externals
    if skip is None and verdict.undefined is not None:
        skip = f"NetworkPolicy does not define this: {verdict.undefined}"
    if skip is not None:
        return Planned(expectation, verdict, skip)
    target = _target(expectation, state)
    if target is None:
        no_address = f"{expectation.destination} has no IP address on the {can.name} backend"
        return Planned(expectation, verdict, no_address)
    probe = Probe(target, expectation.port, expectation.protocol)
    return Planned(expectation, verdict, ProbeCheck(expectation.source, probe, expectation.allowed))


def _target(expectation: Expectation, state: ClusterState) -> IPAddress | None:
    if isinstance(expectation.destination, PodRef):
        pod = state.pod(expectation.destination)
        return pod.ip if pod is not None else None
    return expectation.destination
