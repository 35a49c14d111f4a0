"""The local dataplane: pods as network namespaces, NetworkPolicies as nftables rules.

:class:`LocalBackend` implements :class:`netprobe.backends.base.Backend` on this machine
(root needed): the topology of :mod:`topology`, servers for its pods from :mod:`servers`, and
rulesets from :mod:`nftables` recompiled for every pod whenever an action changes the state
(policies or labels, by the action's own ``apply``) and put into effect by :mod:`enforcer`
(optionally after a random delay). It is a context manager; leaving it (also on errors)
tears everything down.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType, TracebackType

from netprobe.backends.base import Backend, Capabilities, ExecResult
from netprobe.backends.local import ownership, preflight, servers, topology
from netprobe.backends.local.enforcer import Enforcer
from netprobe.backends.local.naming import Names, new_run_id
from netprobe.backends.local.netns import Commands, in_netns
from netprobe.backends.local.nftables import compile_rulesets
from netprobe.backends.local.options import LocalOptions
from netprobe.errors import BackendError
from netprobe.interrupts import shielded, surely
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    IPAddress,
    Namespace,
    Pod,
    PodRef,
    Protocol,
)
from netprobe.suite.model import Action, SetNamespaceLabels, SetPodLabels

EXTERNAL_PORT = 7
"""External hosts serve on this port; an nft redirect sends every TCP/UDP port to it, so an
external host answers on whatever port a suite probes."""

SCTP_REASON = (
    "the local backend does not probe SCTP: netcat-openbsd, the probe engine's client, "
    "has no SCTP mode"
)

_EXTERNAL_NAT = f"""\
table inet netprobe_external {{
\tchain prerouting {{
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tmeta l4proto {{ tcp, udp }} redirect to :{EXTERNAL_PORT}
\t}}
}}
"""


class LocalBackend(Backend):
    """Pods as network namespaces on this machine, policies enforced by nftables."""

    name = "local"
    capabilities = Capabilities(
        protocols=frozenset({Protocol.TCP, Protocol.UDP}),
        unsupported=MappingProxyType({Protocol.SCTP: SCTP_REASON}),
    )

    def __init__(self, options: LocalOptions | None = None, commands: Commands | None = None):
        self.options = options or LocalOptions()
        self.names = Names(self.options.run_id or new_run_id())
        self._commands = commands or Commands()
        self._lock = threading.RLock()
        self._enforcer = Enforcer(
            self._load_ruleset, self.options.apply_delay, random.Random(self.options.seed)
        )
        self._state = ClusterState()
        self._topology: topology.Topology | None = None
        self._pod_netns: dict[PodRef, str] = {}
        self._servers: list[servers.Server] = []
        self._started = False
        self._claim: ownership.Claim | None = None
        self._kernel_checked = False
        self._torn_down = False

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.teardown()

    @property
    def run_id(self) -> str:
        return self.names.run_id

    def preflight(self) -> None:
        """BackendError naming what is missing (privileges, tools, kernel features) and how
        to get it. The kernel is tried once per backend, under a claim of the run id."""
        preflight.check_host()
        if self._kernel_checked:
            return
        claim: ownership.Claim | None = None
        left: list[str] = []
        try:
            with shielded():  # an interrupt waits until the claim is in hand
                claim = ownership.Claim(self.run_id, self.names.state_dir)
            preflight.check_kernel(self.names, self._commands, claim)
        finally:
            if claim is not None:
                left = surely(claim.release)
        if left:
            raise _left_behind(left)
        self._kernel_checked = True

    def deploy(
        self, namespaces: Sequence[Namespace], pods: Sequence[Pod], externals: Sequence[IPAddress]
    ) -> ClusterState:
        with self._lock:
            if self._started:
                raise BackendError("this local backend has already deployed; use a new one")
            self._started = True
        self.preflight()
        try:
            return self._deploy(namespaces, pods, externals)
        except BaseException:
            self.teardown()
            raise

    def _deploy(
        self, namespaces: Sequence[Namespace], pods: Sequence[Pod], externals: Sequence[IPAddress]
    ) -> ClusterState:
        plan = topology.plan(self.names, pods, externals, self.options.pod_cidrs)
        with shielded():  # an interrupt waits until teardown can see the claim
            self._claim = claim = ownership.Claim(self.run_id, self.names.state_dir)
        self._topology = plan
        claim.create(plan.namespaces)
        no_dad = topology.no_dad_files(plan)
        if no_dad:
            _run_parallel([_call(self._set_files, netns, no_dad, "0") for netns in plan.namespaces])
        _run_parallel(
            [
                _call(
                    self._commands.ip_batch,
                    batch,
                    None,
                    "creating veth pairs (the kernel needs veth support)",
                )
                for batch in topology.link_batches(plan)
            ]
        )
        self._servers = servers.start(_server_specs(plan, pods))
        jobs: list[Callable[[], None]] = [self._configure_node]
        jobs += [
            _call(
                self._commands.ip_batch,
                topology.pod_commands(plan, slot),
                slot.netns,
                f"configuring the network of pod {slot.ref}",
            )
            for slot in plan.pods
        ]
        jobs += [_call(self._configure_external, ext) for ext in plan.externals]
        _run_parallel(jobs)
        placed = tuple(
            dataclasses.replace(pod, ips=(slot.ip,))
            for pod, slot in zip(pods, plan.pods, strict=True)
        )
        self._pod_netns = {slot.ref: slot.netns for slot in plan.pods}
        with self._lock:
            self._state = ClusterState(tuple(_with_name_label(ns) for ns in namespaces), placed, ())
            rulesets = self._rulesets()
        self._enforcer.assume(rulesets)
        servers.wait_ready(self._servers, self.options.ready_timeout)
        return self._state

    def _configure_node(self) -> None:
        assert self._topology is not None
        node = self.names.node
        self._commands.ip_batch(
            topology.node_commands(self._topology),
            node,
            "setting up the node namespace (the kernel needs bridge support)",
        )
        self._commands.bridge_batch(
            topology.fdb_commands(self._topology), node, "adding the pods to the bridge"
        )
        self._set_files(node, topology.forwarding_files(self._topology), "1")
        no_redirects = topology.no_redirect_files(self._topology)
        if no_redirects:
            self._set_files(node, no_redirects, "0")

    def _set_files(self, netns: str, files: Sequence[str], value: str) -> None:
        """Write ``value`` to /proc/sys files as seen from inside ``netns``."""
        what = f"setting {', '.join(files)} to {value} in {netns}"
        self._commands.run(in_netns(netns, ["tee", *files]), stdin=f"{value}\n", what=what)

    def _configure_external(self, ext: topology.ExternalSlot) -> None:
        assert self._topology is not None
        self._commands.ip_batch(topology.external_commands(self._topology, ext), ext.netns)
        self._commands.nft(
            ext.netns,
            _EXTERNAL_NAT,
            what=f"setting up external host {ext.ip} (needs nf_tables, nf_nat)",
        )

    def perform(self, action: Action) -> None:
        with self._lock:
            match action:
                case SetPodLabels(pod) if self._state.pod(pod) is None:
                    raise BackendError(f"no pod {pod} is deployed on the local backend")
                case SetNamespaceLabels(name) if self._state.namespace(name) is None:
                    raise BackendError(f"no namespace {name} is deployed on the local backend")
            self._change(action.apply(self._state))

    def snapshot(self) -> ClusterState:
        with self._lock:
            return self._state

    def pending_changes(self) -> int:
        """How many pods still wait for a delayed ruleset change (0 once all took effect)."""
        self._enforcer.raise_errors()
        return self._enforcer.pending()

    def nc_origin(self, pod: PodRef) -> str:
        return f"this host's nc (pod {pod}; install Debian's netcat-openbsd)"

    def exec(self, pod: PodRef, argv: Sequence[str], timeout: float) -> ExecResult:
        netns = self._pod_netns.get(pod)
        if netns is None:
            raise BackendError(f"no pod {pod} is deployed on the local backend")
        return self._commands.exec(in_netns(netns, argv), timeout)

    def teardown(self) -> None:
        """Remove everything of this run. A teardown cut short (a second Ctrl-C while
        ``deploy`` cleans up after the first) is done again in full by the next call."""
        with self._lock:
            self._torn_down = True
        self._enforcer.close()
        servers.stop(self._servers)
        if self._claim is not None:
            left = self._claim.release()
            self._claim = None
            if left:
                raise _left_behind(left)

    def _change(self, state: ClusterState) -> None:
        if self._torn_down:
            raise BackendError("the local backend was torn down")
        self._state = state
        self._enforcer.update(self._rulesets())

    def _rulesets(self) -> dict[str, str]:
        assert self._topology is not None
        compiled = compile_rulesets(self._state, self._topology.gateways)
        return {self._pod_netns[ref]: text for ref, text in compiled.items()}

    def _load_ruleset(self, netns: str, ruleset: str) -> None:
        what = f"loading the nftables rules of {netns} (needs nf_tables, nf_conntrack)"
        self._commands.nft(netns, ruleset, what=what)


def _server_specs(plan: topology.Topology, pods: Sequence[Pod]) -> list[servers.ServerSpec]:
    specs = []
    for pod, slot in zip(pods, plan.pods, strict=True):
        tcp = tuple(sorted({p.port for p in pod.ports if p.protocol is Protocol.TCP}))
        udp = tuple(sorted({p.port for p in pod.ports if p.protocol is Protocol.UDP}))
        if tcp or udp:
            specs.append(servers.ServerSpec(slot.netns, str(pod.ref), tcp, udp))
    specs += [
        servers.ServerSpec(ext.netns, str(ext.ip), (EXTERNAL_PORT,), (EXTERNAL_PORT,))
        for ext in plan.externals
    ]
    return specs


def _with_name_label(namespace: Namespace) -> Namespace:
    labels = namespace.labels.with_changes({NAMESPACE_NAME_LABEL: namespace.name})
    return dataclasses.replace(namespace, labels=labels)


def _call(function: Callable[..., None], *args: object) -> Callable[[], None]:
    return lambda: function(*args)


def _run_parallel(jobs: Sequence[Callable[[], None]]) -> None:
    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def _left_behind(left: Sequence[str]) -> BackendError:
    return BackendError(
        f"could not remove {', '.join(left)}; `netprobe cleanup` (as root) removes what is "
        "netprobe's once the cause is gone"
    )
