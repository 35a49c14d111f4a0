"""A scripted dataplane for tests: a first-class :class:`Backend`, not a chain of mocks.

It keeps the cluster state the runner asks for (each action's own ``apply``), and answers
the probe scripts of :mod:`netprobe.probes` by reading their ``np`` lines and printing
markers exactly as the script would, so the whole path (script, exec, markers, parsing) is
exercised without a network. What a probe finds comes from the analyzer on the state in
force, or from a given truth function. It can misbehave on purpose:

- **lag**: a change takes effect only after ``lag_rounds`` execs of a source pod, or
  ``lag_seconds`` on the injected clock (eventual consistency);
- **flap**: scripted outcomes for one connection, consumed one per probe, before the
  truth takes over;
- **broken pods**: execs in those pods fail without markers (a lost transport);
- **down servers**: servers reported as not serving (:meth:`outages`), as a node without
  SCTP leaves the kubernetes backend's SCTP servers.

It must not sleep or touch the network: tests drive time through a
:class:`~netprobe.clock.FakeClock`, shared with the runner.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, ip_address

from netprobe.analyzer import evaluate
from netprobe.backends.base import Backend, Capabilities, ExecResult, Outages
from netprobe.clock import Clock, FakeClock
from netprobe.errors import BackendError
from netprobe.model import (
    ClusterState,
    Connection,
    IPAddress,
    Namespace,
    Pod,
    PodRef,
    Port,
    Protocol,
)
from netprobe.probes import DONE_MARKER, MARKER, Outcome, Probe
from netprobe.suite.model import (
    Action,
    ApplyPolicy,
    DeletePolicy,
    SetNamespaceLabels,
    SetPodLabels,
)

POD_CIDR = IPv4Network("10.40.0.0/16")
"""Where the fake places pods that come without an IP."""

Truth = Callable[[PodRef, Probe, ClusterState], Outcome]
"""What the dataplane does with a probe from a source pod, given the state in force."""

_PROBE_LINE = re.compile(r"^np (\d+) (tcp|udp|sctp) (\S+) (\d+) &$", re.MULTILINE)
_ERR = {
    Outcome.CONNECTED: "Connection to {ip} {port} port [{proto}/*] succeeded!",
    Outcome.REFUSED: "nc: connect to {ip} port {port} ({proto}) failed: Connection refused",
    Outcome.TIMEOUT: "nc: connect to {ip} port {port} ({proto}) timed out: "
    "Operation now in progress",
}


_NO_SCTP = "no SCTP prober: nc cannot speak SCTP"


def analyzer_truth(source: PodRef, probe: Probe, state: ClusterState) -> Outcome:
    """The analyzer's answer: allowed to a port the pod serves is CONNECTED, allowed to a
    port it does not serve is REFUSED, denied is TIMEOUT."""
    target = state.pod_at(probe.target)
    destination = target.ref if target else probe.target
    verdict = evaluate(Connection(source, destination, probe.port, probe.protocol), state)
    if not verdict.allowed:
        return Outcome.TIMEOUT
    if target is not None and not any(
        p.port == probe.port and p.protocol is probe.protocol for p in target.ports
    ):
        return Outcome.REFUSED
    return Outcome.CONNECTED


@dataclass
class _Change:
    state: ClusterState
    at: float
    execs: dict[PodRef, int]
    """How many execs each pod had run when the change was made."""


TCP_AND_UDP = Capabilities(frozenset({Protocol.TCP, Protocol.UDP}))


@dataclass
class FakeBackend(Backend):
    """See the module docstring. Every keyword is a knob a test turns."""

    name: str = "fake"
    capabilities: Capabilities = TCP_AND_UDP
    truth: Truth = analyzer_truth
    lag_rounds: int = 0
    lag_seconds: float = 0.0
    clock: Clock = field(default_factory=FakeClock)
    flaps: Mapping[tuple[PodRef, IPAddress, int, Protocol], Sequence[Outcome]] = field(
        default_factory=dict
    )
    broken_pods: frozenset[PodRef] = frozenset()
    down: Mapping[tuple[PodRef, Port], str] = field(default_factory=dict)
    """(pod, port) -> why its server is down, reported by :meth:`outages`."""
    fail_deploy: str | None = None
    """Raise BackendError with this message from deploy."""
    pod_cidr: IPv4Network = POD_CIDR
    calls: list[str] = field(default_factory=list)
    """Every call made, in order (``deploy``, ``apply_policy x/p``, ``exec x/a 6``...)."""
    torn_down: int = 0

    def __post_init__(self) -> None:
        self._state = ClusterState()
        self._history: list[_Change] = []
        self._execs: dict[PodRef, int] = defaultdict(int)
        self._flaps = {key: deque(seq) for key, seq in self.flaps.items()}
        self._lock = threading.Lock()

    # -- the Backend protocol -------------------------------------------------------
    def deploy(
        self, namespaces: Sequence[Namespace], pods: Sequence[Pod], externals: Sequence[IPAddress]
    ) -> ClusterState:
        self.calls.append("deploy")
        if self.fail_deploy is not None:
            raise BackendError(self.fail_deploy)
        hosts = self.pod_cidr.hosts()
        placed = tuple(replace(pod, ips=(next(hosts),)) for pod in pods)
        self._change(ClusterState(tuple(namespaces), placed, ()))
        return self._state

    def perform(self, action: Action) -> None:
        self.calls.append(_call(action))
        self._change(action.apply(self._state))

    def snapshot(self) -> ClusterState:
        return self._state

    def outages(self) -> Outages:
        return Outages(self.down)

    def exec(self, pod: PodRef, argv: Sequence[str], timeout: float) -> ExecResult:
        probes = _read_script(argv)
        with self._lock:
            self.calls.append(f"exec {pod} {len(probes)}")
            state = self._in_force(pod)
            self._execs[pod] += 1
            if pod in self.broken_pods:
                return ExecResult(None, "", "error dialing backend: EOF", timed_out=True)
            outcomes = [self._outcome(pod, probe, state) for probe in probes]
        lines = [
            _marker(i, probe, outcome)
            for i, (probe, outcome) in enumerate(zip(probes, outcomes, strict=True))
        ]
        return ExecResult(0, "\n".join([*lines, DONE_MARKER, ""]), "")

    def teardown(self) -> None:
        self.calls.append("teardown")
        self.torn_down += 1

    # -- the dataplane ----------------------------------------------------------------
    def _change(self, state: ClusterState) -> None:
        with self._lock:
            self._state = state
            self._history.append(_Change(state, self.clock.monotonic(), dict(self._execs)))

    def _in_force(self, pod: PodRef) -> ClusterState:
        """The newest state that has had time (rounds and seconds) to reach ``pod``."""
        now = self.clock.monotonic()
        for change in reversed(self._history):
            rounds = self._execs[pod] - change.execs.get(pod, 0)
            if rounds >= self.lag_rounds and now - change.at >= self.lag_seconds:
                return change.state
        return self._history[0].state if self._history else self._state

    def _outcome(self, pod: PodRef, probe: Probe, state: ClusterState) -> Outcome:
        scripted = self._flaps.get((pod, probe.target, probe.port, probe.protocol))
        if scripted:
            return scripted.popleft()
        return self.truth(pod, probe, state)


def _call(action: Action) -> str:
    """How :attr:`FakeBackend.calls` records ``action``: ``apply_policy x/p``, ..."""
    match action:
        case ApplyPolicy(policy):
            return f"apply_policy {policy.ref}"
        case DeletePolicy(ref):
            return f"delete_policy {ref}"
        case SetPodLabels(pod):
            return f"set_pod_labels {pod}"
        case SetNamespaceLabels(namespace):
            return f"set_namespace_labels {namespace}"


def _read_script(argv: Sequence[str]) -> list[Probe]:
    if len(argv) != 3 or tuple(argv[:2]) != ("sh", "-c"):
        raise BackendError(f"fake backend only runs probe scripts, got {list(argv)[:2]}")
    return [
        Probe(ip_address(ip), int(port), Protocol(proto.upper()))
        for _, proto, ip, port in _PROBE_LINE.findall(argv[2])
    ]


def _marker(index: int, probe: Probe, outcome: Outcome) -> str:
    proto = probe.protocol.lower()
    if probe.protocol is Protocol.SCTP:  # as the real script: nc cannot speak SCTP
        return f"{MARKER} {index} rc=2 reply=0 t0=1.00 t1=1.00 err={_NO_SCTP}"
    if outcome is Outcome.ERROR:
        return f"{MARKER} {index} rc=2 reply=0 t0=1.00 t1=1.00 err=nc: getaddrinfo: bad luck"
    if probe.protocol is Protocol.UDP:
        reply = 5 if outcome is Outcome.CONNECTED else 0
        t1 = "101.00" if outcome is Outcome.TIMEOUT else "1.00"
        return f"{MARKER} {index} rc=0 reply={reply} t0=1.00 t1={t1} err="
    rc = 0 if outcome is Outcome.CONNECTED else 1
    err = _ERR[outcome].format(ip=probe.target, port=probe.port, proto=proto)
    return f"{MARKER} {index} rc={rc} reply=0 t0=1.00 t1=1.00 err={err}"


def table_truth(
    allowed: Iterable[tuple[PodRef, IPAddress, int, Protocol]],
) -> Truth:
    """A truth that connects exactly the given (source, target, port, protocol) tuples
    and times out on everything else."""
    allow = frozenset(allowed)

    def truth(source: PodRef, probe: Probe, state: ClusterState) -> Outcome:
        key = (source, probe.target, probe.port, probe.protocol)
        return Outcome.CONNECTED if key in allow else Outcome.TIMEOUT

    return truth
