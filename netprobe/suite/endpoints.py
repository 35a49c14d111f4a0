"""The short forms a suite uses to name endpoints and ports, parsed into unresolved specs.

``frontend/web``, ``frontend/*``, ``*/app=web``, ``*``, ``10.0.0.5``, ``10.0.0.0/24`` and
port lists such as ``5432``, ``http``, ``53/UDP,53/TCP`` become :class:`PodPattern`,
:class:`External` and :class:`PortSpec` values here. Which pods a pattern means depends on
the labels at a given step, so resolving them is :mod:`netprobe.suite.expand`'s job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address, ip_network

from netprobe.documents import Field
from netprobe.model import (
    Endpoint,
    IPAddress,
    IPNetwork,
    PodRef,
    Protocol,
    is_port_number,
    port_number,
)
from netprobe.selectors import Labels
from netprobe.suite.names import (
    label_key_error,
    label_value_error,
    namespace_error,
    parse_labels,
    pod_name_error,
    port_name_error,
)

_GLOB = set("*?[")


@dataclass(frozen=True, slots=True)
class PodPattern:
    """Pods of the suite chosen by namespace and name (each a name or a glob) and labels."""

    text: str
    namespace: str = "*"
    name: str = "*"
    labels: Labels = Labels()
    namespace_labels: Labels = Labels()

    @property
    def exact(self) -> PodRef | None:
        """The one pod this pattern names, when it names one pod without wildcards."""
        if self.labels or self.namespace_labels or _GLOB & set(self.namespace + self.name):
            return None
        return PodRef(self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class External:
    """An address outside the suite's pods; ``cidr`` when the suite wrote a CIDR."""

    text: str
    address: IPAddress
    cidr: IPNetwork | None = None


EndpointSpec = PodPattern | External


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A port number or a named port; ``protocol`` None means TCP for a number and the
    named port's own protocol for a name."""

    port: int | str
    protocol: Protocol | None = None


def representative(network: IPNetwork) -> IPAddress:
    """The address probed for a CIDR: its first host address (the network address + 1),
    or the address itself for a /32 (/128)."""
    if network.num_addresses == 1:
        return network.network_address
    return network.network_address + 1


def parse_endpoint(text: str, field: Field) -> EndpointSpec:
    """``ns/name``, ``ns/k=v,k2=v2``, globs (``ns/*``, ``*``), an IP or a CIDR."""
    text = Endpoint.bare(text)
    external = _parse_external(text, field)
    if external is not None:
        return external
    if text in ("*", "*/*"):
        return PodPattern(text)
    namespace, sep, rest = text.partition("/")
    if not sep or not namespace or not rest:
        field.fail(
            f"'{text}' is not an endpoint",
            hint="write a pod 'namespace/name', a selector 'namespace/key=value' or "
            "'namespace/*', '*' for every pod, or an IP address or CIDR",
        )
    if not _GLOB & set(namespace):
        _check(namespace_error(namespace), field)
    if "=" in rest:
        return PodPattern(text, namespace, labels=_parse_label_list(rest, field))
    if not _GLOB & set(rest):
        _check(pod_name_error(rest), field)
    return PodPattern(text, namespace, rest)


def parse_selector(field: Field) -> PodPattern:
    """The structured form: ``{namespace, name, labels, namespaceLabels}``."""
    field.check_keys(["namespace", "name", "labels", "namespaceLabels"])
    namespace = _glob_or_name(field.get("namespace"), namespace_error)
    name = _glob_or_name(field.get("name"), pod_name_error)
    labels = parse_labels(field.require("labels")) if field.get("labels") else Labels()
    ns_field = field.get("namespaceLabels")
    namespace_labels = parse_labels(ns_field) if ns_field else Labels()
    text = f"{namespace}/{name}"
    if labels:
        text += f" {labels}"
    if namespace_labels:
        text += f" (namespace {namespace_labels})"
    return PodPattern(text, namespace, name, labels, namespace_labels)


def parse_ports(text: str, field: Field) -> tuple[PortSpec, ...]:
    """A comma-separated list of ``PORT[/PROTOCOL]``; PORT a number or a port name."""
    specs = []
    for item in text.split(","):
        item = item.strip()
        port_text, sep, protocol_text = item.partition("/")
        protocol = parse_protocol(protocol_text, field) if sep else None
        specs.append(PortSpec(_parse_port(port_text.strip(), field), protocol))
    return tuple(specs)


def parse_port_field(field: Field) -> tuple[PortSpec, ...]:
    """``port:`` in the structured forms: a number, a string as in :func:`parse_ports`, or
    a list of those."""
    items = field.elements() if isinstance(field.value, list) else [field]
    specs: list[PortSpec] = []
    for item in items:
        if isinstance(item.value, int) and not isinstance(item.value, bool):
            specs.append(PortSpec(_parse_port(item.value, item)))
        else:
            specs.extend(parse_ports(item.as_str(), item))
    if not specs:
        field.fail("expected at least one port")
    return tuple(specs)


def parse_protocol(text: str, field: Field) -> Protocol:
    try:
        return Protocol.parse(text)
    except ValueError:
        field.fail(f"unknown protocol '{text.strip()}'", hint="use TCP, UDP or SCTP")


def _parse_port(value: int | str, field: Field) -> int | str:
    if isinstance(value, str):
        number = port_number(value)
        if number is None:
            return _port_name(value, field)
        value = number
    if not is_port_number(value):
        field.fail(f"port {value} is out of range (1-65535)")
    return value


def _port_name(value: str, field: Field) -> str:
    if not value:
        field.fail("a port is missing", hint="write a number such as 80 or a port name")
    if port_name_error(value):
        field.fail(
            f"'{value}' is neither a port number nor a valid port name "
            "(at most 15 lower-case letters, digits and '-', with at least one letter)"
        )
    return value


def _parse_external(text: str, field: Field) -> External | None:
    if "/" in text:
        head, _, tail = text.partition("/")
        if not tail.isdigit() or not (":" in head or head.replace(".", "").isdigit()):
            return None
        try:
            network = ip_network(text, strict=False)
        except ValueError:
            field.fail(f"'{text}' is not a valid CIDR")
        if network.prefixlen != int(tail) or str(network.network_address) != head:
            field.fail(
                f"'{text}' has host bits set",
                hint=f"the network is {network}",
            )
        return External(text, representative(network), network)
    if ":" in text or text.replace(".", "").isdigit():
        try:
            return External(text, ip_address(text))
        except ValueError:
            field.fail(f"'{text}' is not a valid IP address")
    return None


def _parse_label_list(text: str, field: Field) -> Labels:
    labels = {}
    for pair in text.split(","):
        key, sep, value = pair.strip().partition("=")
        if not sep:
            field.fail(f"'{pair.strip()}' in '{text}' is not a 'key=value' label")
        _check(label_key_error(key.strip()), field)
        _check(label_value_error(value.strip()), field)
        labels[key.strip()] = value.strip()
    return Labels(labels)


def _glob_or_name(field: Field | None, error: Callable[[str], str | None]) -> str:
    if field is None:
        return "*"
    text = field.as_str()
    if not _GLOB & set(text):
        _check(error(text), field)
    return text


def _check(error: str | None, field: Field) -> None:
    if error:
        field.fail(error)
