"""The local dataplane's address plan and the ``ip`` commands that build it.

One "node" namespace holds a bridge with the gateway address and forwards; every pod is a
namespace on that bridge (veth ``eth0``, addresses as host routes), routed through the
gateway even to other pods (see :func:`pod_commands`); every external
address a suite targets is its own "external host" namespace, joined to the node by a veth
and a host route. The node has no link to the host, so nothing leaves netprobe's
namespaces. In the host's own namespace only namespaces are added (and veth pairs created
directly inside them): nothing is configured there.

Pods get an address from every pod CIDR whose family some address needs: the first CIDR's
address is the pod IP netprobe reports; a second family is added only so pods can reach
external hosts of that family. This module is pure: it plans and writes command lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network

from netprobe.backends.local.naming import IFNAME_MAX, POD_IFNAME, PREFIX, RUN_ID_LENGTH, Names
from netprobe.errors import BackendError
from netprobe.model import IPAddress, IPNetwork, Pod, PodRef

DEFAULT_POD_CIDRS: tuple[IPNetwork, ...] = (
    IPv4Network("10.244.0.0/16"),
    IPv6Network("fd00:10:244::/64"),
)
"""Like kind's pod subnet; the IPv6 one is used only to reach IPv6 external hosts."""


MAX_PODS = 1023
"""Pods on the node's bridge: the kernel numbers a bridge's ports with 10 bits, port 0
unused (net/bridge/br_private.h BR_PORT_BITS; a 1,024th port is refused with EXFULL,
'Exchange full', seen here)."""
MAX_EXTERNALS = 10 ** (IFNAME_MAX - len(PREFIX) - RUN_ID_LENGTH - len("-x"))
"""External hosts a run can name: ``np-<runid>-x<index>`` fits 15 characters."""

NODE_IFINDEX = 1000
_BRIDGE, _POD, _EXTERNAL, _EXTERNAL_NODE_SIDE = range(4)


def mac_address(kind: int, index: int) -> str:
    """The fixed MAC of interface ``index`` of a ``kind`` (locally administered, unicast)."""
    return f"02:6e:70:{kind:02x}:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"


BRIDGE_MAC = mac_address(_BRIDGE, 1)
"""Fixed, so the gateway's MAC does not change as ports join (a bridge takes its lowest
port's MAC otherwise, and pods would keep sending to a stale one)."""


@dataclass(frozen=True, slots=True)
class PodSlot:
    ref: PodRef
    index: int
    netns: str
    veth: str
    """The node-side end of the pod's veth pair."""
    addresses: tuple[IPAddress, ...]
    """The first is the pod IP; others (another family) only reach external hosts."""

    @property
    def ip(self) -> IPAddress:
        return self.addresses[0]

    @property
    def mac(self) -> str:
        """The MAC of the pod's ``eth0``."""
        return mac_address(_POD, self.index)


@dataclass(frozen=True, slots=True)
class ExternalSlot:
    ip: IPAddress
    index: int
    netns: str
    veth: str

    @property
    def mac(self) -> str:
        """The MAC of the external host's ``eth0``."""
        return mac_address(_EXTERNAL, self.index)

    @property
    def node_mac(self) -> str:
        """The MAC of the node-side end, the external host's gateway."""
        return mac_address(_EXTERNAL_NODE_SIDE, self.index)


@dataclass(frozen=True, slots=True)
class Topology:
    names: Names
    networks: tuple[IPNetwork, ...]
    """The pod CIDRs in use, the primary first; one per family."""
    gateways: tuple[IPAddress, ...]
    """The node's address in each network (same order)."""
    pods: tuple[PodSlot, ...]
    externals: tuple[ExternalSlot, ...]

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every network namespace of the run, the node first."""
        return (
            self.names.node,
            *(pod.netns for pod in self.pods),
            *(ext.netns for ext in self.externals),
        )

    def gateway_for(self, address: IPAddress) -> IPAddress:
        return next(gw for gw in self.gateways if gw.version == address.version)


def parse_cidrs(texts: Sequence[str]) -> tuple[IPNetwork, ...]:
    """Pod CIDRs from text: at most one per family, each with room for pods."""
    networks: list[IPNetwork] = []
    for text in texts:
        try:
            network = ip_network(text, strict=True)
        except ValueError as exc:
            raise BackendError(f"pod CIDR {text!r} is not a network address: {exc}") from exc
        if any(n.version == network.version for n in networks):
            raise BackendError(f"two IPv{network.version} pod CIDRs given: use one per family")
        if network.num_addresses < 8:
            raise BackendError(f"pod CIDR {network} is too small (needs at least a /29 or /125)")
        networks.append(network)
    if not networks:
        raise BackendError("no pod CIDR given")
    return tuple(networks)


def plan(
    names: Names,
    pods: Sequence[Pod],
    externals: Sequence[IPAddress],
    cidrs: Sequence[IPNetwork] = DEFAULT_POD_CIDRS,
) -> Topology:
    """Assign namespaces, interfaces and addresses to the pods and external hosts."""
    limits = (
        (len(pods), MAX_PODS, "pods", "the node's bridge takes 1,023 ports"),
        (len(externals), MAX_EXTERNALS, "external addresses", "interface names are short"),
    )
    for count, most, what, why in limits:
        if count > most:
            raise BackendError(
                f"the local backend runs at most {most:,} {what} per suite ({why}) and this "
                f"suite has {count:,}: split the suite, or run it with --backend kubernetes"
            )
    primary = cidrs[0]
    families = {primary.version} | {ip.version for ip in externals}
    networks = tuple(n for n in cidrs if n.version in families)
    missing = sorted(families - {n.version for n in networks})
    if missing:
        raise BackendError(
            f"an external address is IPv{missing[0]} but no IPv{missing[0]} pod CIDR is configured"
        )
    gateways = tuple(network.network_address + 1 for network in networks)
    for ext in externals:
        if ext in gateways:
            raise BackendError(
                f"external address {ext} is the node's gateway: use another pod CIDR"
            )
    taken = set(externals)
    columns = [_hosts(network, len(pods), taken) for network in networks]
    pod_slots = tuple(
        PodSlot(
            pod.ref,
            index,
            names.pod(index),
            names.pod_veth(index),
            tuple(column[index] for column in columns),
        )
        for index, pod in enumerate(pods)
    )
    ext_slots = tuple(
        ExternalSlot(ip, index, names.external(index), names.external_veth(index))
        for index, ip in enumerate(externals)
    )
    return Topology(names, networks, gateways, pod_slots, ext_slots)


def _hosts(network: IPNetwork, count: int, taken: set[IPAddress]) -> list[IPAddress]:
    """``count`` addresses of ``network`` after the gateway, skipping ``taken`` ones."""
    found: list[IPAddress] = []
    last = network.broadcast_address if network.version == 4 else None
    candidate = network.network_address + 2
    while len(found) < count:
        if candidate not in network or candidate == last:
            raise BackendError(f"pod CIDR {network} has no room for {count} pods")
        if candidate not in taken:
            found.append(candidate)
        candidate += 1
    return found


def link_commands(topology: Topology) -> list[str]:
    """``ip -batch`` lines run in the host namespace that create the veth pairs with both
    ends already inside the node and pod/external namespaces."""
    node = topology.names.node
    lines = []
    ends = [(pod.veth, "", pod.netns, pod.mac) for pod in topology.pods]
    ends += [
        (ext.veth, f" address {ext.node_mac}", ext.netns, ext.mac) for ext in topology.externals
    ]
    for number, (veth, node_side, netns, mac) in enumerate(ends):
        # The kernel defers carrier changes of an interface whose ifindex equals its peer's
        # by up to a second (link_watch.c, linkwatch_urgent_event), dropping the first
        # packets after deploy. Node-side indexes from NODE_IFINDEX on never equal the
        # peer's (2, in a namespace holding only lo).
        lines.append(
            f"link add name {veth}{node_side} netns {node} index {NODE_IFINDEX + number} "
            f"type veth peer name {POD_IFNAME} address {mac} netns {netns}"
        )
    return lines


LINKS_PER_BATCH = 64
"""veth pairs created by one ``ip -batch``: iproute2 (6.1) keeps open the namespace file of
every ``netns PATH`` it reads, two a pair, so 500 pods in one batch needed 1,000 open files,
past the common ``ulimit -n`` of 1,024 ("Invalid "netns" value")."""


def link_batches(topology: Topology) -> list[list[str]]:
    """:func:`link_commands` in batches of at most :data:`LINKS_PER_BATCH` lines, each for
    one ``ip -batch`` process (they may run side by side)."""
    lines = link_commands(topology)
    return [
        lines[start : start + LINKS_PER_BATCH] for start in range(0, len(lines), LINKS_PER_BATCH)
    ]


def node_commands(topology: Topology) -> list[str]:
    """``ip -batch`` lines for the node namespace: bridge, gateway, ports, host routes."""
    bridge = topology.names.bridge
    lines = [
        "link set lo up",
        f"link add name {bridge} address {BRIDGE_MAC} type bridge mcast_snooping 0",
    ]
    for network, gateway in zip(topology.networks, topology.gateways, strict=True):
        lines.append(f"addr add {gateway}/{network.prefixlen} dev {bridge}{_nodad(gateway)}")
    lines.append(f"link set {bridge} up")
    for pod in topology.pods:
        lines += [f"link set {pod.veth} master {bridge} up", f"link set {pod.veth} {_NO_FLOOD}"]
    lines += [
        _neighbour(address, pod.mac, bridge) for pod in topology.pods for address in pod.addresses
    ]
    for ext in topology.externals:
        gateway = topology.gateway_for(ext.ip)
        lines += [
            f"link set {ext.veth} up",
            f"addr add {gateway}/{gateway.max_prefixlen} dev {ext.veth}{_nodad(gateway)}",
            f"route add {ext.ip}/{ext.ip.max_prefixlen} dev {ext.veth}",
            _neighbour(ext.ip, ext.mac, ext.veth),
        ]
    return lines


_NO_FLOOD = "type bridge_slave flood off mcast_flood off bcast_flood off"
"""A bridge port that takes only frames for its own pod: every pod's link-local IPv6
multicast (router solicitations, MLD reports; about six a pod) went to every other port,
1,023 x 1,022 copies at 1,023 pods, which overran the kernel's per-CPU backlog
(``net.core.netdev_max_backlog``, 1,000) and dropped probes' packets with them; so did the
first frame to a pod the bridge had not heard from yet. Nothing needs flooding: every frame
goes between a pod and the node, to a MAC the bridge knows from :func:`fdb_commands`."""


def fdb_commands(topology: Topology) -> list[str]:
    """``bridge -batch`` lines for the node namespace: each pod's MAC, on its own port,
    in the bridge's forwarding database for good (so frames to it are never flooded)."""
    return [f"fdb replace {pod.mac} dev {pod.veth} master static" for pod in topology.pods]


def pod_commands(topology: Topology, pod: PodSlot) -> list[str]:
    """``ip -batch`` lines for one pod namespace.

    A pod's addresses are host routes (/32, /128) and everything, other pods included, goes
    through the node's gateway, as with Calico: a pod has one neighbour, never its peers.
    The kernel's neighbour table is shared by every namespace on the host and holds
    ``gc_thresh3`` (1024) learned entries, which pods resolving each other on a flat /16
    exhaust at about 30 pods, and a pod and the node resolving each other (two entries a
    pod) at about 510; packets to unresolved neighbours are then dropped. So nothing is
    resolved: the pod's gateway and, on the node, every pod are permanent entries (see
    :func:`node_commands`), which that limit does not count (``net/core/neighbour.c``
    ``neigh_alloc``: ``exempt_from_gc`` skips it; ``neigh_add`` sets it for
    ``NUD_PERMANENT``, Linux 5.0 and later)."""
    lines = ["link set lo up"]
    for address in pod.addresses:
        lines.append(
            f"addr add {address}/{address.max_prefixlen} dev {POD_IFNAME}{_nodad(address)}"
        )
    lines.append(f"link set {POD_IFNAME} up")
    for gateway in topology.gateways:
        lines.append(_neighbour(gateway, BRIDGE_MAC, POD_IFNAME))
        lines.append(f"route add {gateway}/{gateway.max_prefixlen} dev {POD_IFNAME}")
        lines.append(f"route add default via {gateway} dev {POD_IFNAME}")
    for ext in topology.externals:
        # An external address inside the pod CIDR would otherwise be looked for on the bridge.
        if any(ext.ip in network for network in topology.networks):
            gateway = topology.gateway_for(ext.ip)
            lines.append(f"route add {ext.ip}/{ext.ip.max_prefixlen} via {gateway}")
    return lines


def external_commands(topology: Topology, ext: ExternalSlot) -> list[str]:
    """``ip -batch`` lines for one external host namespace."""
    gateway = topology.gateway_for(ext.ip)
    return [
        "link set lo up",
        f"addr add {ext.ip}/{ext.ip.max_prefixlen} dev {POD_IFNAME}{_nodad(ext.ip)}",
        f"link set {POD_IFNAME} up",
        _neighbour(gateway, ext.node_mac, POD_IFNAME),
        f"route add {gateway}/{gateway.max_prefixlen} dev {POD_IFNAME}",
        f"route add default via {gateway} dev {POD_IFNAME}",
    ]


def forwarding_files(topology: Topology) -> list[str]:
    """The /proc/sys files to set to 1 inside the node namespace."""
    files = []
    if any(n.version == 4 for n in topology.networks):
        files.append("/proc/sys/net/ipv4/ip_forward")
    if any(n.version == 6 for n in topology.networks):
        files.append("/proc/sys/net/ipv6/conf/all/forwarding")
    return files


def no_redirect_files(topology: Topology) -> list[str]:
    """The /proc/sys files to set to 0 inside the node namespace once the bridge exists: the
    node forwards pod-to-pod traffic back out of the bridge it came in on, and must not
    tell pods (ICMP redirects) to bypass it."""
    if not any(n.version == 4 for n in topology.networks):
        return []
    return [
        f"/proc/sys/net/ipv4/conf/{conf}/send_redirects" for conf in ("all", topology.names.bridge)
    ]


def no_dad_files(topology: Topology) -> list[str]:
    """The /proc/sys files to set to 0 in every namespace, before its interfaces exist, when
    IPv6 is in use: duplicate address detection keeps link-local addresses tentative for a
    second, and first packets forwarded in that second are lost."""
    if not any(n.version == 6 for n in topology.networks):
        return []
    return [f"/proc/sys/net/ipv6/conf/{conf}/accept_dad" for conf in ("all", "default")]


def _neighbour(address: IPAddress, mac: str, device: str) -> str:
    """A permanent neighbour entry: never resolved, never counted (see :func:`pod_commands`)."""
    return f"neigh replace {address} lladdr {mac} dev {device} nud permanent"


def _nodad(address: IPAddress) -> str:
    # Duplicate address detection would hold IPv6 addresses back for a second or more.
    return " nodad" if address.version == 6 else ""
