"""The seam between netprobe and a dataplane.

A backend creates a suite's namespaces and probe pods (with servers listening on every
declared port), performs a suite's actions (:data:`~netprobe.suite.model.Action`: apply and
delete policies, change labels; each action's ``apply`` says what it does to the state),
reports what it runs as a :class:`ClusterState` snapshot, and executes a command in a pod
under a deadline. Everything else (probe scripts, retries, comparison, reports) is shared
and lives above this seam.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol as TypingProtocol

from netprobe.model import ClusterState, IPAddress, Namespace, Pod, PodRef, Protocol
from netprobe.suite.model import Action


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What a command run in a pod produced. ``exit_code`` is None when it is unknown
    (the deadline passed, or the transport lost it): callers read markers in stdout."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False


class Backend(TypingProtocol):
    name: str
    protocols: frozenset[Protocol]
    """The protocols this backend can probe; others are skipped with a reason."""

    def deploy(
        self, namespaces: Sequence[Namespace], pods: Sequence[Pod], externals: Sequence[IPAddress]
    ) -> ClusterState:
        """Create namespaces, probe pods with servers on their ports, and (where the backend
        can) hosts for the external addresses; wait until all serve; return the snapshot,
        with pod IPs."""
        ...

    def perform(self, action: Action) -> None:
        """Make ``action`` happen in the dataplane: the runner applies a suite's policies
        with :class:`~netprobe.suite.model.ApplyPolicy`, then each step's actions."""
        ...

    def snapshot(self) -> ClusterState:
        """What the backend runs now: namespaces, pods with IPs, the policies applied."""
        ...

    def exec(self, pod: PodRef, argv: Sequence[str], timeout: float) -> ExecResult:
        """Run ``argv`` in ``pod``'s network namespace; never take longer than ``timeout``."""
        ...

    def teardown(self) -> None:
        """Remove everything this backend created. Safe to call twice, and after a failed
        or interrupted deploy."""
        ...
