"""The ``namespaces:`` and ``pods:`` sections of a suite: the probe pods it needs.

Pods are written ``namespace/name: {labels: {...}, ports: [80, 53/UDP, http=8080]}``; a
namespace a pod uses but the suite does not declare exists with only its name label, as in
Kubernetes.
"""

from __future__ import annotations

from netprobe.documents import Field
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ContainerPort,
    Namespace,
    Pod,
    PodRef,
    Protocol,
    is_port_number,
    port_number,
)
from netprobe.selectors import Labels
from netprobe.suite.endpoints import parse_protocol
from netprobe.suite.names import namespace_error, parse_labels, pod_name_error, port_name_error

_PORT_HINT = "write 80, '53/UDP', 'http=8080', 'dns=53/UDP' or {name: http, port: 8080}"


def parse_namespaces(field: Field | None) -> tuple[Namespace, ...]:
    """``namespaces: {NAME: {labels: {...}}}`` (a null value: no extra labels)."""
    if field is None:
        return ()
    namespaces = []
    for name, entry in field.items():
        error = namespace_error(name)
        if error:
            entry.fail(error)
        labels: dict[str, str] = {}
        if entry.value is not None:
            entry.check_keys(["labels"])
            labels_field = entry.get("labels")
            labels = dict(parse_labels(labels_field)) if labels_field else {}
        declared_name = labels.get(NAMESPACE_NAME_LABEL, name)
        if declared_name != name:
            entry.fail(
                f"label {NAMESPACE_NAME_LABEL}={declared_name} contradicts the namespace "
                f"name '{name}'",
                hint="the control plane sets this label to the namespace's name; drop it",
            )
        labels[NAMESPACE_NAME_LABEL] = name
        namespaces.append(Namespace(name, Labels(labels), entry.location))
    return tuple(namespaces)


def parse_pods(field: Field) -> tuple[Pod, ...]:
    """``pods: {NAMESPACE/NAME: {labels: {...}, ports: [...]}}``."""
    if not field.as_map():
        field.fail("a suite needs at least one pod", hint="e.g. pods: {demo/client: {}}")
    pods = []
    for key, entry in field.items():
        ref = _pod_ref(key, entry)
        labels = Labels()
        ports: tuple[ContainerPort, ...] = ()
        if entry.value is not None:
            entry.check_keys(["labels", "ports"])
            labels_field = entry.get("labels")
            labels = parse_labels(labels_field) if labels_field else Labels()
            ports_field = entry.get("ports")
            ports = parse_container_ports(ports_field) if ports_field else ()
        pods.append(Pod(ref, labels, ports, location=entry.location))
    return tuple(pods)


def parse_container_ports(field: Field) -> tuple[ContainerPort, ...]:
    """A pod's ports; numbers and names must be unique per protocol, as the API requires."""
    ports: list[ContainerPort] = []
    for item in field.elements():
        port = _container_port(item)
        for other in ports:
            if (other.port, other.protocol) == (port.port, port.protocol):
                item.fail(f"port {port.port}/{port.protocol} is declared twice")
            if port.name and other.name == port.name:
                item.fail(f"port name '{port.name}' is used twice")
        ports.append(port)
    return tuple(ports)


def implicit_namespaces(
    declared: tuple[Namespace, ...], pods: tuple[Pod, ...]
) -> tuple[Namespace, ...]:
    """``declared`` plus a namespace with only its name label for each other one the pods
    use."""
    known = {namespace.name for namespace in declared}
    extra = sorted({pod.namespace for pod in pods} - known)
    return (*declared, *(Namespace(n, Labels({NAMESPACE_NAME_LABEL: n})) for n in extra))


def _pod_ref(key: str, entry: Field) -> PodRef:
    namespace, sep, name = key.partition("/")
    if not sep:
        entry.fail(f"'{key}' is not 'namespace/name'", hint=f"e.g. default/{key}")
    for error in (namespace_error(namespace), pod_name_error(name)):
        if error:
            entry.fail(error)
    return PodRef(namespace, name)


def _container_port(item: Field) -> ContainerPort:
    if isinstance(item.value, dict):
        item.check_keys(["name", "port", "protocol"])
        name_field = item.get("name")
        protocol_field = item.get("protocol")
        return _checked(
            item,
            item.require("port").as_int(),
            parse_protocol(protocol_field.as_str(), protocol_field)
            if protocol_field
            else Protocol.TCP,
            name_field.as_str() if name_field else None,
        )
    if isinstance(item.value, int) and not isinstance(item.value, bool):
        return _checked(item, item.value, Protocol.TCP, None)
    if not isinstance(item.value, str):
        item.fail(f"expected a port, got {type(item.value).__name__}", hint=_PORT_HINT)
    name, sep, rest = item.value.rpartition("=")
    number, slash, protocol_text = rest.partition("/")
    found = port_number(number)
    if found is None:
        item.fail(f"'{item.value}' is not a port", hint=_PORT_HINT)
    protocol = parse_protocol(protocol_text, item) if slash else Protocol.TCP
    return _checked(item, found, protocol, name.strip() if sep else None)


def _checked(item: Field, port: int, protocol: Protocol, name: str | None) -> ContainerPort:
    if not is_port_number(port):
        item.fail(f"port {port} is out of range (1-65535)")
    error = port_name_error(name) if name is not None else None
    if error:
        item.fail(error)
    return ContainerPort(port, protocol, name)
