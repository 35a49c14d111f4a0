"""Pods and namespaces read back from the API mean what the same manifests mean."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from netprobe.backends.kubernetes.readback import namespace_from_api, pod_from_api
from netprobe.errors import BackendError
from netprobe.model import ContainerPort, PodRef, Protocol

API_POD = {  # as a list call returns it: no apiVersion, no kind, server-set fields
    "metadata": {"name": "a", "namespace": "x", "labels": {"pod": "a"}, "uid": "1"},
    "spec": {
        "containers": [
            {"name": "c", "ports": [{"containerPort": 53, "protocol": "UDP", "name": "dns"}]}
        ]
    },
    "status": {
        "phase": "Running",
        "podIP": "10.0.0.5",
        "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}],
    },
}


def test_a_dual_stack_pod_keeps_every_address_and_its_named_ports() -> None:
    pod = pod_from_api(API_POD)
    assert pod.ref == PodRef("x", "a")
    assert pod.ip == ip_address("10.0.0.5")
    assert pod.ips == (ip_address("10.0.0.5"), ip_address("fd00::5"))
    assert pod.ports == (ContainerPort(53, Protocol.UDP, "dns"),)


def test_a_staging_workload_renames_the_real_pod() -> None:
    assert pod_from_api(API_POD, PodRef("prod", "web")).ref == PodRef("prod", "web")


def test_namespaces_always_carry_their_name_label() -> None:
    namespace = namespace_from_api({"metadata": {"name": "x", "labels": {"team": "a"}}})
    assert dict(namespace.labels) == {"team": "a", "kubernetes.io/metadata.name": "x"}


def test_an_unreadable_api_object_is_a_backend_error() -> None:
    broken = {**API_POD, "status": {"podIP": "not-an-ip"}}
    with pytest.raises(BackendError, match="the API server returned a pod netprobe cannot read"):
        pod_from_api(broken)
