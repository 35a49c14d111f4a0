"""API objects read back from the cluster -> netprobe's model, for ``snapshot()``.

The analyzer must judge the cluster as it really is: pod IPs and labels (ownership labels
included) come from what the API server returns, never from what netprobe asked for.
"""

from __future__ import annotations

from ipaddress import ip_address

from netprobe.backends.kubernetes.api import Obj
from netprobe.errors import BackendError
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ContainerPort,
    IPAddress,
    Namespace,
    Pod,
    PodRef,
    Protocol,
)
from netprobe.selectors import Labels


def namespace_from_api(obj: Obj) -> Namespace:
    meta = obj["metadata"]
    labels = {**(meta.get("labels") or {}), NAMESPACE_NAME_LABEL: meta["name"]}
    return Namespace(meta["name"], Labels(labels))


def container_ports(obj: Obj) -> tuple[ContainerPort, ...]:
    ports = []
    for container in obj.get("spec", {}).get("containers") or ():
        for port in container.get("ports") or ():
            ports.append(
                ContainerPort(
                    int(port["containerPort"]),
                    Protocol(port.get("protocol") or "TCP"),
                    port.get("name"),
                )
            )
    return tuple(ports)


def pod_ip(obj: Obj) -> IPAddress | None:
    text = (obj.get("status") or {}).get("podIP")
    if not text:
        return None
    try:
        return ip_address(text)
    except ValueError as exc:
        raise BackendError(f"pod {_name(obj)} has an invalid podIP {text!r}") from exc


def pod_from_api(obj: Obj, ref: PodRef | None = None) -> Pod:
    """The model of an API pod; ``ref`` renames it (a staging workload stands for the real
    pod chosen to represent it)."""
    meta = obj["metadata"]
    return Pod(
        ref=ref or PodRef(meta["namespace"], meta["name"]),
        labels=Labels(meta.get("labels") or {}),
        ports=container_ports(obj),
        ip=pod_ip(obj),
        host_network=bool(obj.get("spec", {}).get("hostNetwork")),
    )


def _name(obj: Obj) -> str:
    meta = obj.get("metadata", {})
    return f"{meta.get('namespace', '?')}/{meta.get('name', '?')}"
