"""The seam between netprobe and a dataplane.

A backend creates a suite's namespaces and probe pods (with servers listening on every
declared port), applies and removes policies, changes labels, reports what it runs as a
:class:`ClusterState` snapshot, and executes a command in a pod under a deadline. Everything
else (probe scripts, retries, comparison, reports) is shared and lives above this seam.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol as TypingProtocol

from netprobe.model import (
    ClusterState,
    IPAddress,
    Namespace,
    NetworkPolicy,
    Pod,
    PodRef,
    PolicyRef,
    Protocol,
)
from netprobe.selectors import Labels


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

    def apply_policy(self, policy: NetworkPolicy) -> None:
        """Create ``policy``, or replace the one with the same namespace and name."""
        ...

    def delete_policy(self, ref: PolicyRef) -> None: ...

    def set_pod_labels(self, pod: PodRef, labels: Labels) -> None: ...

    def set_namespace_labels(self, namespace: str, labels: Labels) -> None: ...

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
