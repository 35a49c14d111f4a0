"""The suite model: probe pods, policies under test, steps and concrete expectations.

Selectors, wildcards, compact and matrix forms are all expanded by the loader, per step,
into :class:`Expectation` values that name one source pod, one destination and one
numeric port: everything after loading works on concrete pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from netprobe.errors import Location
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    ContainerPort,
    Endpoint,
    Host,
    IPAddress,
    IPNetwork,
    Namespace,
    NetworkPolicy,
    Pod,
    PodRef,
    PolicyRef,
    Protocol,
)
from netprobe.selectors import Labels, LabelSelector, Operator

STATIC_CHECK = "static"
"""The name a skip's ``backends`` use for the static check (``netprobe check``), e.g. for
what it cannot judge without pod IPs: an ipBlock meant to match pods."""


@dataclass(frozen=True, slots=True)
class Skip:
    """A reason not to check some expectations, limited to some backends and tags.

    Empty ``backends`` means every backend (and the static check); empty ``tags`` means
    every expectation the skip is attached to."""

    reason: str
    backends: tuple[str, ...] = ()
    """Backend or CNI names (``local``, ``kubernetes``, ``cilium``, ...; ``static`` for the
    static check), lower case."""
    tags: tuple[str, ...] = ()

    def applies_to(self, names: tuple[str, ...]) -> bool:
        """Whether this skip holds where the backend is known by ``names`` (empty: a
        static check, where only skips without ``backends`` hold)."""
        if not self.backends:
            return True
        return any(name.lower() in self.backends for name in names)


@dataclass(frozen=True, slots=True)
class Expectation:
    """One connection and whether the suite says it must be allowed."""

    source: PodRef
    destination: Host
    port: int
    protocol: Protocol
    allowed: bool
    location: Location
    port_name: str | None = None
    """Set when the suite named the port; ``port`` is then the destination's number."""
    tags: tuple[str, ...] = ()
    skips: tuple[Skip, ...] = ()
    """The skip rules that hold for this expectation (its entry's and the suite's, as
    declared): why it is not checked (a CNI's known limitation, ...), where; see
    :meth:`skip_reason`."""
    cidr: IPNetwork | None = None
    """Set when the suite named a CIDR: ``destination`` is then its representative
    address (the first host address, see docs/suites.md)."""

    def skip_reason(self, *names: str) -> str | None:
        """Why this expectation is skipped where the backend is known by ``names`` (its
        name, its CNI, ...); with no names, for a static check. None when it is checked.
        The first rule for every backend wins, then the first of those that name one."""
        unconditional = (skip for skip in self.skips if not skip.backends)
        limited = (skip for skip in self.skips if skip.backends and skip.applies_to(names))
        return next((skip.reason for skip in (*unconditional, *limited)), None)

    @property
    def id(self) -> str:
        """A stable, readable identifier: ``ALLOW x/a -> y/b:80/TCP``."""
        verb = "allow" if self.allowed else "deny"
        port = f"{self.port_name}({self.port})" if self.port_name else str(self.port)
        destination = Endpoint.join(self.destination, f"{port}/{self.protocol}")
        return f"{verb} {self.source} -> {destination}"


@dataclass(frozen=True, slots=True)
class ApplyPolicy:
    """Create the policy, or replace the one of the same namespace and name."""

    policy: NetworkPolicy

    def apply(self, state: ClusterState) -> ClusterState:
        kept = tuple(p for p in state.policies if p.ref != self.policy.ref)
        return state.replace(policies=(*kept, self.policy))


@dataclass(frozen=True, slots=True)
class DeletePolicy:
    ref: PolicyRef

    def apply(self, state: ClusterState) -> ClusterState:
        return state.replace(policies=tuple(p for p in state.policies if p.ref != self.ref))


@dataclass(frozen=True, slots=True)
class SetPodLabels:
    """Replace a pod's labels with ``labels``."""

    pod: PodRef
    labels: Labels

    def apply(self, state: ClusterState) -> ClusterState:
        pods = tuple(
            replace(pod, labels=self.labels) if pod.ref == self.pod else pod for pod in state.pods
        )
        return state.replace(pods=pods)


@dataclass(frozen=True, slots=True)
class SetNamespaceLabels:
    """Replace a namespace's labels with ``labels`` (its name label is kept)."""

    namespace: str
    labels: Labels

    def apply(self, state: ClusterState) -> ClusterState:
        labels = self.labels.with_changes({NAMESPACE_NAME_LABEL: self.namespace})
        namespaces = tuple(
            replace(ns, labels=labels) if ns.name == self.namespace else ns
            for ns in state.namespaces
        )
        return state.replace(namespaces=namespaces)


Action = ApplyPolicy | DeletePolicy | SetPodLabels | SetNamespaceLabels
"""A change a step makes. ``action.apply(state)`` is the state after it: the one definition
of what an action does, shared by the loader, the static check, the runner and the
backends that keep their own state (local, fake)."""


def apply_actions(state: ClusterState, actions: Iterable[Action]) -> ClusterState:
    """``state`` after ``actions``, in order."""
    for action in actions:
        state = action.apply(state)
    return state


@dataclass(frozen=True, slots=True)
class Step:
    """Actions to perform, then expectations to check. The first step of a suite has no
    actions: its state is the suite's pods and policies."""

    name: str
    actions: tuple[Action, ...]
    expectations: tuple[Expectation, ...]
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Settings:
    probe_timeout: float = 1.0
    """Seconds one probe waits (``nc -w``)."""
    settle_interval: float = 1.0
    """Seconds between probes of a result that does not match its expectation yet."""
    settle_timeout: float = 10.0
    """Seconds a result may take to match after a change, before it counts as observed."""
    tags: tuple[str, ...] = ()
    skips: tuple[Skip, ...] = ()
    """The suite's skip rules, as declared; the loader has already copied the ones that
    apply onto each expectation (``Expectation.skips``)."""

    def with_timings(
        self,
        *,
        probe_timeout: float | None = None,
        settle_interval: float | None = None,
        settle_timeout: float | None = None,
    ) -> Settings:
        """These settings with each timing given in place of their own (None keeps it):
        the one merge, of a suite's ``settings:`` over the defaults above and of a run's
        options over the suite's."""
        return replace(
            self,
            probe_timeout=self.probe_timeout if probe_timeout is None else probe_timeout,
            settle_interval=self.settle_interval if settle_interval is None else settle_interval,
            settle_timeout=self.settle_timeout if settle_timeout is None else settle_timeout,
        )


@dataclass(frozen=True, slots=True)
class Workload:
    """An existing workload a staging suite probes from and to instead of a probe pod.

    Expectations name it as ``namespace/name``; a backend that supports staging stands it
    in with one running pod matched by ``selector`` (its IP, ports and labels)."""

    ref: PodRef
    selector: LabelSelector
    ports: tuple[ContainerPort, ...] = ()
    """Ports the suite declares for it (checked against the real pod's when it runs)."""
    location: Location | None = field(default=None, compare=False)

    def standin(self) -> Pod:
        """The pod that represents this workload for expanding expectations and for the
        static check: the labels its selector requires (``matchLabels`` and single-value
        ``In``) and the ports the suite declares; the live backend uses the real pod."""
        labels = dict(self.selector.match_labels)
        for requirement in self.selector.match_expressions:
            if requirement.operator is Operator.IN and len(requirement.values) == 1:
                (labels[requirement.key],) = requirement.values
        return Pod(self.ref, Labels(labels), self.ports, location=self.location)


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    path: Path
    namespaces: tuple[Namespace, ...]
    pods: tuple[Pod, ...]
    """Probe pods, without IPs: a backend assigns those when it deploys them."""
    policies: tuple[NetworkPolicy, ...]
    steps: tuple[Step, ...]
    settings: Settings = Settings()
    description: str = ""
    workloads: tuple[Workload, ...] = ()
    """Staging mode: existing workloads standing in for probe pods (Kubernetes backend)."""

    @property
    def expectations(self) -> tuple[Expectation, ...]:
        return tuple(e for step in self.steps for e in step.expectations)

    @property
    def externals(self) -> tuple[IPAddress, ...]:
        """Addresses outside the pods that some expectation targets, sorted."""
        found = {e.destination for e in self.expectations if not isinstance(e.destination, PodRef)}
        return tuple(sorted(found, key=lambda ip: (ip.version, ip)))

    def initial_state(self) -> ClusterState:
        """What the first step starts from: the suite's namespaces, pods and policies, and
        the workloads of a staging suite as stand-in pods (see :meth:`Workload.standin`)."""
        pods = (*self.pods, *(workload.standin() for workload in self.workloads))
        return ClusterState(self.namespaces, pods, self.policies)


def step_states(suite: Suite) -> Iterator[tuple[Step, ClusterState]]:
    """Each step of ``suite`` with the state its expectations are checked in: the suite's
    initial state after the actions of that step and of every step before it."""
    state = suite.initial_state()
    for step in suite.steps:
        state = apply_actions(state, step.actions)
        yield step, state
