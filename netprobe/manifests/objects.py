"""``v1`` Namespace and Pod documents -> :class:`netprobe.model.Namespace` and
:class:`netprobe.model.Pod`.

Only what NetworkPolicy semantics depend on is read: labels, container ports (for named
ports), pod IPs and ``hostNetwork``. The rest of a pod spec is tolerated unread, so that
``kubectl get pods -o yaml`` output loads as it is.
"""

from __future__ import annotations

from ipaddress import ip_address

from netprobe.documents import Field
from netprobe.manifests.metadata import check_identity, parse_metadata
from netprobe.manifests.names import PORT_NAME_RULE, fixed_port_name, port_name_problem, try_hint
from netprobe.manifests.notes import Warn, drop_warning, warn_at
from netprobe.manifests.policies import parse_protocol
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ContainerPort,
    IPAddress,
    Namespace,
    Pod,
    PodRef,
    Protocol,
    is_port_number,
)

API_VERSION = "v1"
CONTAINER_PORT_KEYS = ("containerPort", "protocol", "name", "hostPort", "hostIP")
GONE_PHASES = ("Succeeded", "Failed")
"""The phases of a pod that has no network any more."""


def parse_namespace(field: Field, *, warn: Warn = drop_warning) -> Namespace:
    """One Namespace document; its labels always include ``kubernetes.io/metadata.name``."""
    check_identity(field, API_VERSION, "Namespace")
    meta = parse_metadata(field, "Namespace", namespaced=False)
    declared = meta.labels.get(NAMESPACE_NAME_LABEL)
    if declared is not None and declared != meta.name:
        warn_at(
            warn,
            field.location,
            f"namespace '{meta.name}' declares label {NAMESPACE_NAME_LABEL}={declared}; "
            f"the API server sets it to '{meta.name}', and so does netprobe",
        )
    labels = meta.labels.with_changes({NAMESPACE_NAME_LABEL: meta.name})
    return Namespace(meta.name, labels, location=field.location)


def parse_pod(field: Field, *, warn: Warn = drop_warning) -> Pod:
    """One Pod document: labels, container ports, ``status.podIP(s)``, ``hostNetwork``."""
    check_identity(field, API_VERSION, "Pod")
    meta = parse_metadata(field, "Pod", namespaced=True)
    spec = field.get("spec") or Field({}, field.location.child("spec"))
    host_network = spec.get("hostNetwork")
    return Pod(
        ref=PodRef(meta.namespace, meta.name),
        labels=meta.labels,
        ports=_parse_container_ports(spec),
        ips=_parse_pod_ips(field.get("status")),
        host_network=host_network.as_bool() if host_network else False,
        location=field.location,
    )


def pod_phase(field: Field) -> str | None:
    """``status.phase`` of a Pod document, if it says."""
    status = field.get("status")
    phase = status.get("phase") if status is not None else None
    return phase.as_str() if phase is not None else None


def _parse_container_ports(spec: Field) -> tuple[ContainerPort, ...]:
    ports: list[ContainerPort] = []
    containers = spec.get("containers")
    for container in containers.elements() if containers else ():
        ports.extend(_parse_ports_of(container))
    # Sidecars (init containers with restartPolicy: Always) keep running beside the app
    # containers, so their ports are named ports of the pod too.
    init_containers = spec.get("initContainers")
    for container in init_containers.elements() if init_containers else ():
        restart = container.get("restartPolicy")
        if restart is not None and restart.as_str() == "Always":
            ports.extend(_parse_ports_of(container))
    return tuple(ports)


def _parse_ports_of(container: Field) -> list[ContainerPort]:
    ports_field = container.get("ports")
    result = []
    for item in ports_field.elements() if ports_field else ():
        item.check_keys(CONTAINER_PORT_KEYS)
        number_field = item.require("containerPort")
        number = number_field.as_int()
        if not is_port_number(number):
            number_field.fail(
                f"containerPort {number} is out of range", hint="use a number from 1 to 65535"
            )
        protocol_field = item.get("protocol")
        protocol = parse_protocol(protocol_field) if protocol_field else Protocol.TCP
        name_field = item.get("name")
        name = name_field.as_str() if name_field else None
        if name_field is not None and name is not None:
            problem = port_name_problem(name)
            if problem:
                name_field.fail(
                    f"port name '{name}' {problem}",
                    hint=try_hint(fixed_port_name(name), PORT_NAME_RULE),
                )
        result.append(ContainerPort(number, protocol, name))
    return result


def _parse_pod_ips(status: Field | None) -> tuple[IPAddress, ...]:
    if status is None:
        return ()
    ips: list[IPAddress] = []
    primary = status.get("podIP")
    pod_ips = status.get("podIPs")
    fields = [primary] if primary is not None else []
    fields += [item.require("ip") for item in pod_ips.elements()] if pod_ips else []
    for field in fields:
        address = _parse_ip(field)
        if address is not None and address not in ips:
            ips.append(address)
    return tuple(ips)


def _parse_ip(field: Field) -> IPAddress | None:
    text = field.as_str()
    if not text:
        return None
    try:
        return ip_address(text)
    except ValueError:
        field.fail(f"'{text}' is not an IPv4 or IPv6 address")
