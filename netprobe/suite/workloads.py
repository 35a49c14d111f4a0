"""Staging suites: existing workloads named by expectations instead of probe pods.

A ``workloads:`` entry (namespace, name, label selector, ports) names pods that already run
in the cluster; the Kubernetes backend probes from and to them
(:mod:`netprobe.backends.kubernetes.staging`). For
expanding expectations and for the static check each workload is represented by a
stand-in pod (:meth:`Workload.standin`, part of the suite's initial state).
"""

from __future__ import annotations

from netprobe.documents import Field
from netprobe.manifests.labels import parse_label_selector
from netprobe.manifests.names import dns_label_problem
from netprobe.model import ContainerPort, PodRef, Protocol, is_port_number
from netprobe.suite.model import Workload


def parse_workloads(field: Field) -> tuple[Workload, ...]:
    """The ``workloads:`` section of a suite; located errors for anything wrong."""
    workloads: list[Workload] = []
    seen: set[PodRef] = set()
    for item in field.elements():
        item.check_keys(("name", "namespace", "selector", "ports"))
        name = _dns_label(item.require("name"))
        namespace = _dns_label(item.require("namespace"))
        selector_field = item.require("selector")
        selector = parse_label_selector(selector_field)
        if selector.is_empty:
            selector_field.fail(
                "an empty selector would pick any pod of the namespace",
                hint="name the workload's labels, e.g. matchLabels: {app: web}",
            )
        ports_field = item.get("ports")
        ports = tuple(_port(p) for p in ports_field.elements()) if ports_field else ()
        ref = PodRef(namespace, name)
        if ref in seen:
            item.fail(f"workload {ref} is declared twice")
        seen.add(ref)
        workloads.append(Workload(ref, selector, ports, item.location))
    return tuple(workloads)


def _dns_label(field: Field) -> str:
    text = field.as_str()
    problem = dns_label_problem(text)
    if problem:
        field.fail(f"'{text}' {problem}")
    return text


def _port(field: Field) -> ContainerPort:
    field.check_keys(("port", "protocol", "name"))
    port_field = field.require("port")
    number = port_field.as_int()
    if not is_port_number(number):
        port_field.fail(f"port {number} is out of range 1-65535")
    protocol_field = field.get("protocol")
    text = protocol_field.as_str() if protocol_field else "TCP"
    if text not in Protocol.__members__:
        (protocol_field or field).fail(f"unknown protocol '{text}'", hint="TCP, UDP or SCTP")
    name = field.get("name")
    return ContainerPort(number, Protocol(text), name.as_str() if name else None)
