"""The domain model: namespaces, pods, NetworkPolicies and a snapshot of a cluster.

Every object is an immutable value. Parsing (with the API server's validation) lives in
:mod:`netprobe.manifests`; semantics live in :mod:`netprobe.analyzer`. This module holds no
behaviour beyond small lookups that every layer needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

from netprobe.errors import InputError, Location
from netprobe.selectors import Labels, LabelSelector

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""The label the control plane sets on every namespace (immutable, equal to its name)."""


class Protocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"

    @classmethod
    def parse(cls, text: str) -> Protocol:
        """TCP, UDP or SCTP in any case, spaces around it ignored; ValueError otherwise."""
        return cls(text.strip().upper())


_PROTOCOLS = ", ".join(protocol.value for protocol in Protocol)


def is_port_number(number: int) -> bool:
    """Whether ``number`` may number a port: 1 to 65535, for every protocol."""
    return 1 <= number <= 65535


def port_number(text: str) -> int | None:
    """The number ``text`` writes in ASCII digits (spaces around them allowed), whether
    :func:`is_port_number` or not; None for anything else, such as a port name. Only ASCII:
    '²' is a digit to ``str.isdigit()`` but not a number to ``int()``."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


@dataclass(frozen=True, slots=True, order=True)
class Port:
    """A port number and its protocol, written ``8080/TCP`` (ordered as the pair
    ``(number, protocol)``)."""

    number: int
    protocol: Protocol = Protocol.TCP

    def __post_init__(self) -> None:
        if type(self.number) is not int or not is_port_number(self.number):
            raise ValueError(f"a port number is an int in 1-65535, got {self.number!r}")
        if not isinstance(self.protocol, Protocol):
            raise TypeError(f"a port's protocol is a Protocol, got {self.protocol!r}")

    def __str__(self) -> str:
        return f"{self.number}/{self.protocol}"

    @classmethod
    def parse(cls, text: str) -> Port:
        """``PORT[/PROTOCOL]`` as people type it: ``80``, ``53/udp``, ``5432/TCP``; the
        protocol defaults to TCP and is case-insensitive.

        Raises:
            InputError: not a number in 1-65535, or not TCP, UDP or SCTP.
        """
        number, _, protocol = text.strip().partition("/")
        return cls(cls.parse_number(number, text), cls.parse_protocol(protocol or "TCP", text))

    @staticmethod
    def parse_number(number: str, item: str) -> int:
        """A port number in 1-65535; ``item`` is what the user typed, for the message.

        Raises:
            InputError: anything else.
        """
        found = port_number(number)
        if found is None or not is_port_number(found):
            raise InputError(f"port {item!r}: expected a number from 1 to 65535, like 80 or 53/UDP")
        return found

    @staticmethod
    def parse_protocol(protocol: str, item: str) -> Protocol:
        """:meth:`Protocol.parse`; ``item`` is what the user typed, for the message.

        Raises:
            InputError: not TCP, UDP or SCTP.
        """
        try:
            return Protocol.parse(protocol)
        except ValueError:
            raise InputError(f"port {item!r}: protocol must be one of {_PROTOCOLS}") from None


class PolicyType(StrEnum):
    """A direction of traffic as NetworkPolicy names it."""

    INGRESS = "Ingress"
    EGRESS = "Egress"


@dataclass(frozen=True, slots=True, order=True)
class NamespacedName:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> Any:
        """``ns/name`` -> ref; ValueError when the text is not of that form."""
        namespace, sep, name = text.partition("/")
        if not sep or not namespace or not name or "/" in name:
            raise ValueError(f"expected 'namespace/name', got {text!r}")
        return cls(namespace, name)


@dataclass(frozen=True, slots=True, order=True)
class PodRef(NamespacedName):
    """Identity of a pod: its namespace and name."""


@dataclass(frozen=True, slots=True, order=True)
class PolicyRef(NamespacedName):
    """Identity of a NetworkPolicy: its namespace and name."""


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Labels
    """Always includes ``kubernetes.io/metadata.name``."""
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ContainerPort:
    """One ``spec.containers[*].ports[*]`` entry."""

    port: int
    protocol: Protocol = Protocol.TCP
    name: str | None = None

    def __str__(self) -> str:
        text = f"{self.port}/{self.protocol}"
        return f"{self.name}={text}" if self.name else text


@dataclass(frozen=True, slots=True)
class Pod:
    ref: PodRef
    labels: Labels
    ports: tuple[ContainerPort, ...] = ()
    ip: IPAddress | None = None
    """``status.podIP``; None in static manifests, where ipBlocks cannot match the pod."""
    host_network: bool = False
    """hostNetwork pods are outside NetworkPolicy's defined behaviour."""
    location: Location | None = field(default=None, compare=False)
    ips: tuple[IPAddress, ...] = ()
    """Every address of the pod (``status.podIPs``, dual-stack), ``ip`` first; may be empty
    even when ``ip`` is set (pods built by hand)."""

    @property
    def namespace(self) -> str:
        return self.ref.namespace

    @property
    def name(self) -> str:
        return self.ref.name

    def named_port(self, name: str, protocol: Protocol) -> int | None:
        """The number of this pod's container port ``name`` with ``protocol``, if any."""
        for port in self.ports:
            if port.name == name and port.protocol is protocol:
                return port.port
        return None


@dataclass(frozen=True, slots=True)
class IPBlock:
    cidr: IPNetwork
    except_: tuple[IPNetwork, ...] = ()
    declared: str | None = field(default=None, compare=False)
    """``cidr`` as the manifest wrote it (``10.0.0.5/24`` keeps its host bits), if known."""
    declared_except: tuple[str, ...] = field(default=(), compare=False)
    """``except`` entries as the manifest wrote them, in order, if known."""

    def contains(self, ip: IPAddress) -> bool:
        if ip.version != self.cidr.version or ip not in self.cidr:
            return False
        return not any(ip in excluded for excluded in self.except_)

    def __str__(self) -> str:
        if not self.except_:
            return str(self.cidr)
        return f"{self.cidr} except {', '.join(map(str, self.except_))}"


@dataclass(frozen=True, slots=True)
class Peer:
    """One ``from``/``to`` entry. Either ``ip_block`` alone, or one or both selectors:
    ``pod_selector`` alone means the policy's own namespace; both together are ANDed."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PolicyPort:
    """One ``ports`` entry: ``port`` is a number, a container-port name, or None (all)."""

    protocol: Protocol = Protocol.TCP
    port: int | str | None = None
    end_port: int | None = None
    location: Location | None = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.port is None:
            return f"any/{self.protocol}"
        if self.end_port is not None:
            return f"{self.port}-{self.end_port}/{self.protocol}"
        return f"{self.port}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One ingress or egress rule. Empty ``peers`` matches every peer; empty ``ports``
    matches every port and protocol."""

    peers: tuple[Peer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    ref: PolicyRef
    pod_selector: LabelSelector
    policy_types: tuple[PolicyType, ...]
    """The effective policy types (defaulted as NETWORKPOLICY.md rule 3 says)."""
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    location: Location | None = field(default=None, compare=False)
    manifest: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)
    """The manifest as read (plain dicts), for backends that submit it to an API server."""

    @property
    def namespace(self) -> str:
        return self.ref.namespace

    def rules(self, direction: PolicyType) -> tuple[Rule, ...]:
        return self.ingress if direction is PolicyType.INGRESS else self.egress

    def isolates(self, direction: PolicyType) -> bool:
        """Whether the pods this policy selects are isolated for ``direction``."""
        return direction in self.policy_types


@dataclass(frozen=True)
class ClusterState:
    """A snapshot of what NetworkPolicy semantics depend on. The analyzer is a pure
    function of this value."""

    namespaces: tuple[Namespace, ...] = ()
    pods: tuple[Pod, ...] = ()
    policies: tuple[NetworkPolicy, ...] = ()

    @cached_property
    def _namespaces(self) -> dict[str, Namespace]:
        return {namespace.name: namespace for namespace in self.namespaces}

    @cached_property
    def _pods(self) -> dict[PodRef, Pod]:
        return {pod.ref: pod for pod in self.pods}

    @cached_property
    def _pods_by_ip(self) -> dict[IPAddress, Pod]:
        by_ip = {ip: pod for pod in self.pods for ip in pod.ips}
        by_ip.update((pod.ip, pod) for pod in self.pods if pod.ip is not None)
        return by_ip

    @cached_property
    def _policies_by_namespace(self) -> dict[str, tuple[NetworkPolicy, ...]]:
        grouped: dict[str, list[NetworkPolicy]] = {}
        for policy in self.policies:
            grouped.setdefault(policy.namespace, []).append(policy)
        return {name: tuple(policies) for name, policies in grouped.items()}

    def policies_in(self, namespace: str) -> tuple[NetworkPolicy, ...]:
        """The policies of one namespace, in snapshot order."""
        return self._policies_by_namespace.get(namespace, ())

    def namespace(self, name: str) -> Namespace | None:
        return self._namespaces.get(name)

    def pod(self, ref: PodRef) -> Pod | None:
        return self._pods.get(ref)

    def pod_at(self, ip: IPAddress) -> Pod | None:
        """The pod whose IP is ``ip``, if any."""
        return self._pods_by_ip.get(ip)

    def namespace_labels(self, name: str) -> Labels:
        """A namespace's labels; a namespace not in the snapshot has only its name label."""
        found = self._namespaces.get(name)
        return found.labels if found else Labels({NAMESPACE_NAME_LABEL: name})

    def replace(self, **changes: Any) -> ClusterState:
        """A copy with some fields replaced (the lookups are rebuilt)."""
        return dataclasses.replace(self, **changes)


Endpoint = PodRef | IPAddress
"""One end of a connection: a pod, or an address that is not a pod's."""


def parse_endpoint(text: str) -> Endpoint:
    """``ns/name`` or an IP address; ValueError otherwise."""
    try:
        return ip_address(text)
    except ValueError:
        return PodRef.parse(text)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Connection:
    source: Endpoint
    destination: Endpoint
    port: int
    protocol: Protocol = Protocol.TCP

    def __str__(self) -> str:
        # [2001:db8::1]:443, as suites write it: the port would otherwise read as part of it
        to = self.destination
        destination = f"[{to}]" if isinstance(to, IPv6Address) else str(to)
        return f"{self.source} -> {destination}:{self.port}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class Reason:
    """One step of a verdict's explanation, optionally naming the policy and rule."""

    text: str
    policy: PolicyRef | None = None
    direction: PolicyType | None = None
    rule: int | None = None
    """Index of the rule within the policy's ``ingress`` or ``egress`` list."""

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reasons: tuple[Reason, ...] = ()
    undefined: str | None = None
    """Set when NetworkPolicy does not define the outcome (hostNetwork, ...): says why."""

    def __str__(self) -> str:
        return "ALLOWED" if self.allowed else "DENIED"
