"""The seam between netprobe and a dataplane.

A backend creates a suite's namespaces and probe pods (with servers listening on every
declared port), performs a suite's actions (:data:`~netprobe.suite.model.Action`: apply and
delete policies, change labels; each action's ``apply`` says what it does to the state),
reports what it runs as a :class:`ClusterState` snapshot (and, as :class:`Outages`, which
of its servers a node could not run), and executes a command in a pod under a deadline.
Everything else (probe scripts, retries, comparison, reports) is shared and lives above
this seam.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from typing import Protocol as TypingProtocol

from netprobe.diagnostics import Diagnostics, Involved
from netprobe.errors import BackendError
from netprobe.model import ClusterState, Host, IPAddress, Namespace, Pod, PodRef, Port, Protocol
from netprobe.suite.model import Action

if TYPE_CHECKING:
    from netprobe.suite.model import Workload


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What a command run in a pod produced. ``exit_code`` is None when it is unknown
    (the deadline passed, or the transport lost it): callers read markers in stdout."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can probe; the runner skips the rest, with these reasons."""

    protocols: frozenset[Protocol]
    """The protocols this backend can probe."""
    unsupported: Mapping[Protocol, str] = field(default_factory=dict)
    """Why each protocol outside :attr:`protocols` is not probed (for skip messages)."""
    externals: str | None = None
    """Why addresses outside the pods cannot be probed; None: they can."""
    workloads: bool = False
    """Whether suite pods may be existing workloads (staging mode, see ``use_workloads``)."""

    def why_not(self, protocol: Protocol, backend: str) -> str | None:
        """Why ``protocol`` is not probed on ``backend``; None when it is."""
        if protocol in self.protocols:
            return None
        if protocol in self.unsupported:
            return self.unsupported[protocol]
        supported = ", ".join(sorted(self.protocols)) or "nothing"
        return f"the {backend} backend cannot probe {protocol} (it probes {supported})"


@dataclass(frozen=True, slots=True)
class Outages:
    """Servers of the deployed pods that are not serving, found at run time (the kubernetes
    backend's SCTP servers on a node without SCTP): the runner skips the expectations that
    probe them, with these reasons, and probes everything else."""

    down: Mapping[tuple[PodRef, Port], str] = field(default_factory=dict)
    """(pod, port) -> why the pod's server on that port is not serving."""

    def why_not(self, destination: Host, port: Port) -> str | None:
        """Why ``destination`` does not serve ``port``; None when nothing is known against it."""
        if not isinstance(destination, PodRef):
            return None
        return self.down.get((destination, port))


NO_OUTAGES = Outages()
"""Every server serves."""


class Backend(TypingProtocol):
    """Backends subclass this protocol explicitly, so they inherit the defaults below."""

    name: str
    capabilities: Capabilities

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

    def outages(self) -> Outages:
        """The servers that are down as of the last :meth:`deploy` or :meth:`snapshot`
        (the runner asks after each snapshot). Default: none, every server serves."""
        return NO_OUTAGES

    def exec(self, pod: PodRef, argv: Sequence[str], timeout: float) -> ExecResult:
        """Run ``argv`` in ``pod``'s network namespace; never take longer than ``timeout``."""
        ...

    def nc_origin(self, pod: PodRef) -> str:
        """Where the ``nc`` that probes from ``pod`` comes from, and how to change it: the
        subject of the one error a run stops with when that ``nc`` lacks a needed flag."""
        return f"the {self.name} backend's probe environment (pod {pod})"

    def diagnose(self, involved: Involved, cni: str | None) -> Diagnostics | None:
        """What this backend can tell about ``involved`` after a run where some result
        failed or disagreed (called once, after the last round, before ``teardown``);
        ``cni``: the run's ``--cni``. Never raises for what it cannot gather: that is a
        note. None: this backend has nothing to tell."""
        return None

    def use_workloads(
        self, workloads: Sequence[Workload], sources: Collection[PodRef] | None = None
    ) -> None:
        """Staging mode: these suite pods are existing workloads (call before ``deploy``).
        Called only when :attr:`Capabilities.workloads` is true."""
        raise BackendError(f"the {self.name} backend cannot use existing workloads")

    def teardown(self) -> None:
        """Remove everything this backend created. Safe to call twice, and after a failed
        or interrupted deploy."""
        ...
