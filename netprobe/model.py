"""The domain model: namespaces, pods, NetworkPolicies and a snapshot of a cluster.

Every object is an immutable value. Parsing (with the API server's validation) lives in
:mod:`netprobe.manifests`; semantics live in :mod:`netprobe.analyzer`. This module holds no
behaviour beyond small lookups that every layer needs, and the one home of the text forms
every layer reads and writes: a :class:`Port` (``8080/TCP``) and an :class:`Endpoint`
(``prod/db:5432/TCP``, ``[2001:db8::1]:443/TCP``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
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
    ips: tuple[IPAddress, ...] = ()
    """Every address of the pod, the primary (``status.podIP``) first, then the rest of
    ``status.podIPs`` (dual-stack); empty in static manifests, where ipBlocks cannot match
    the pod."""
    host_network: bool = False
    """hostNetwork pods are outside NetworkPolicy's defined behaviour."""
    location: Location | None = field(default=None, compare=False)

    @property
    def ip(self) -> IPAddress | None:
        """The primary address (the first of :attr:`ips`), the one probes go to; None
        while the pod has none."""
        return self.ips[0] if self.ips else None

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
    """The effective policy types (defaulted as docs/semantics.md rule 3 says)."""
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


Host = PodRef | IPAddress
"""One end of a connection, without its port: a pod, or an address that is not a pod's."""


class EndpointSyntaxError(ValueError):
    """Text that is not ``HOST[:PORT]``; ``hint`` says how to write it, when there is more
    to say than the message."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a connection goes: a host and a port, written ``prod/db:5432/TCP``, and
    ``[2001:db8::1]:443/TCP`` for an IPv6 address (the port would otherwise read as part of
    it), as suites write it. The rules for that text live here: :meth:`join` and
    :meth:`split` (brackets), :meth:`bare` and :meth:`parse_host` (a host alone)."""

    host: Host
    port: Port

    def __str__(self) -> str:
        return self.join(self.host, str(self.port))

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``HOST:PORT[/PROTOCOL]``, the host a pod ``ns/name`` or an IP address (IPv6 in
        brackets), the port as :meth:`Port.parse` reads it.

        Raises:
            InputError: not of that form.
        """
        try:
            host, port = cls.split(text.strip())
        except EndpointSyntaxError as exc:
            raise InputError(f"{exc} ({exc.hint})" if exc.hint else str(exc)) from None
        if port is None:
            raise InputError(
                f"{text!r} names no port: write e.g. prod/db:5432 or [2001:db8::1]:443"
            )
        return cls(cls.parse_host(host), Port.parse(port))

    @staticmethod
    def join(host: object, port: str) -> str:
        """``host:port``, ``host`` in brackets when it is an IPv6 address (pod names and
        IPv4 addresses have no colon)."""
        text = str(host)
        return f"[{text}]:{port}" if ":" in text else f"{text}:{port}"

    @staticmethod
    def split(text: str) -> tuple[str, str | None]:
        """``HOST:PORT`` -> (HOST, PORT); ``HOST`` alone -> (HOST, None). An IPv6 host goes in
        brackets: ``[2001:db8::1]:80`` (``[2001:db8::1]`` and ``[2001:db8::1]:`` name no port,
        the latter as an empty one).

        Raises:
            EndpointSyntaxError: a bracket left open or followed by something else than ':',
                an IPv6 address without brackets, a ':' with no port after it.
        """
        if text.startswith("["):
            end = text.find("]")
            rest = text[end + 1 :] if end > 0 else "?"
            if end < 0 or (rest and not rest.startswith(":")):
                raise EndpointSyntaxError(f"'{text}' is not of the form '[IPv6]:PORT'")
            return text[1:end], rest[1:] if rest else None
        if text.count(":") > 1:
            raise EndpointSyntaxError(
                f"cannot tell the address from the port in '{text}'",
                "write IPv6 addresses in brackets, e.g. [2001:db8::1]:80",
            )
        host, sep, port = text.partition(":")
        if sep and not port.strip():
            raise EndpointSyntaxError(f"'{text}' ends with ':' but names no port")
        return host, port if sep else None

    @staticmethod
    def bare(text: str) -> str:
        """A host as written, spaces and the brackets of an IPv6 address (``[2001:db8::1]``)
        taken off."""
        text = text.strip()
        return text[1:-1] if text.startswith("[") and text.endswith("]") else text

    @classmethod
    def parse_host(cls, text: str, role: str = "host") -> Host:
        """A pod ``ns/name`` or one IP address (IPv6 also in brackets); ``role`` names what
        the user typed (FROM, TO), for the message.

        Raises:
            InputError: a CIDR, or neither a pod nor an address.
        """
        bare = cls.bare(text)
        if "/" in bare and _is_network(bare):
            raise InputError(
                f"{role} {text!r} is a CIDR: give one address of it, e.g. the one to probe"
            )
        try:
            return ip_address(bare)
        except ValueError:
            pass
        try:
            return PodRef.parse(bare)  # type: ignore[no-any-return]
        except ValueError:
            raise InputError(
                f"{role} {text!r}: expected namespace/pod (e.g. prod/db) or an IP address"
            ) from None


def _is_network(text: str) -> bool:
    try:
        ip_network(text, strict=False)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Connection:
    source: Host
    destination: Host
    port: int
    protocol: Protocol = Protocol.TCP

    @property
    def target(self) -> Endpoint:
        """The destination and the port."""
        return Endpoint(self.destination, Port(self.port, self.protocol))

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


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
    """Why NetworkPolicy does not define this connection's outcome (a hostNetwork end,
    neither end a pod), or None. It qualifies ``allowed``, which stays the answer reported
    and judged (computed as if the ends were ordinary pods); it is not a third answer."""

    def __str__(self) -> str:
        return "ALLOWED" if self.allowed else "DENIED"
