"""The objects netprobe sends: what a cluster (and a CNI) reads back from them."""

from __future__ import annotations

import dataclasses
from ipaddress import ip_network

import pytest
from conftest import ns, pod
from fake_api import policy_from_api

from netprobe.backends.kubernetes.bodies import (
    CREATED_KEY,
    MANAGED_BY_KEY,
    RUN_ID_KEY,
    is_managed,
    namespace_manifest,
    pod_manifest,
    policy_manifest,
    run_id_of,
)
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    IPBlock,
    NetworkPolicy,
    Peer,
    PolicyPort,
    PolicyRef,
    PolicyType,
    Protocol,
    Rule,
)
from netprobe.selectors import Labels, LabelSelector, Operator, Requirement

SELECTOR = LabelSelector(
    Labels({"app": "db"}),
    (Requirement("tier", Operator.IN, frozenset({"b", "a"})), Requirement("x", Operator.EXISTS)),
)
POLICIES = [
    NetworkPolicy(PolicyRef("x", "deny"), LabelSelector(), (PolicyType.INGRESS, PolicyType.EGRESS)),
    NetworkPolicy(
        PolicyRef("x", "rich"),
        SELECTOR,
        (PolicyType.INGRESS, PolicyType.EGRESS),
        ingress=(
            Rule(
                peers=(
                    Peer(pod_selector=SELECTOR, namespace_selector=LabelSelector()),
                    Peer(namespace_selector=LabelSelector(Labels({"team": "a"}))),
                ),
                ports=(PolicyPort(Protocol.TCP, 80, 90), PolicyPort(Protocol.UDP, "dns")),
            ),
            Rule(),
        ),
        egress=(
            Rule(
                peers=(
                    Peer(ip_block=IPBlock(ip_network("10.0.0.0/8"), (ip_network("10.1.0.0/16"),))),
                ),
                ports=(PolicyPort(Protocol.SCTP),),
            ),
        ),
    ),
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.ref.name)
def test_policies_built_from_the_model_mean_the_same_once_read_back(policy: NetworkPolicy) -> None:
    body = policy_manifest(policy, "r1")
    assert policy_from_api(body) == policy
    assert body["metadata"]["labels"] == {MANAGED_BY_KEY: "netprobe", RUN_ID_KEY: "r1"}
    assert is_managed(body) and run_id_of(body) == "r1"


def test_the_manifest_as_written_wins_over_the_model() -> None:
    spec = {"podSelector": {"matchLabels": {"a": "b"}}}  # policyTypes defaulted by the server
    policy = dataclasses.replace(
        POLICIES[0],
        manifest={"metadata": {"name": "deny", "annotations": {"k": "v"}}, "spec": spec},
    )
    body = policy_manifest(policy, "r1")
    assert body["spec"] == spec and body["spec"] is not spec
    assert body["metadata"]["annotations"] == {"k": "v"}


def test_namespace_manifest_keeps_suite_labels_and_adds_ownership() -> None:
    body = namespace_manifest(ns("x", team="a"), "r1", 1700000000)
    assert body["metadata"]["labels"] == {
        "team": "a",
        MANAGED_BY_KEY: "netprobe",
        RUN_ID_KEY: "r1",
        CREATED_KEY: "1700000000",
    }
    assert NAMESPACE_NAME_LABEL not in body["metadata"]["labels"]  # the server sets it


@pytest.mark.parametrize(
    ("ports", "containers", "sysctl"),
    [
        ((), ["probe"], False),
        (((8080, Protocol.TCP),), ["probe", "cont-8080-tcp"], False),
        (
            ((80, Protocol.TCP), (80, Protocol.UDP), (80, Protocol.TCP)),
            ["probe", "cont-80-tcp", "cont-80-udp"],
            True,
        ),
        (((132, Protocol.SCTP),), ["probe", "cont-132-sctp"], True),
    ],
)
def test_pod_containers(ports, containers, sysctl) -> None:  # type: ignore[no-untyped-def]
    body = pod_manifest(pod("x/a", ports, app="a"), "r1", "img")
    spec = body["spec"]
    assert [c["name"] for c in spec["containers"]] == containers
    assert ("sysctls" in spec["securityContext"]) is sysctl
    assert body["metadata"]["labels"] == {"app": "a", MANAGED_BY_KEY: "netprobe", RUN_ID_KEY: "r1"}


def test_sctp_uses_porter_and_tcp_has_a_readiness_probe() -> None:
    spec = pod_manifest(pod("x/a", ((132, Protocol.SCTP), (81, Protocol.TCP))), "r1", "img")["spec"]
    sctp, tcp = spec["containers"][1:]
    assert sctp["command"] == ["/agnhost", "porter"]
    assert sctp["env"] == [{"name": "SERVE_SCTP_PORT_132", "value": "foo"}]
    assert sctp["ports"] == [{"containerPort": 132, "protocol": "SCTP"}]
    assert tcp["readinessProbe"]["tcpSocket"] == {"port": 81}
    assert tcp["command"] == ["/agnhost", "serve-hostname", "--tcp", "--http=false", "--port", "81"]
    # A server that exits with an error reports its log's tail in its status (why porter's
    # SCTP listen failed), readable without pods/log.
    assert sctp["terminationMessagePolicy"] == tcp["terminationMessagePolicy"]
    assert sctp["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert "terminationMessagePolicy" not in spec["containers"][0]  # the probe only sleeps


def test_a_probe_pod_passes_the_api_schema() -> None:
    # Field names and types only: the schema has no enums (terminationMessagePolicy's two
    # values are checked by the API server's validation.go, cited in bodies.py).
    import kubernetes_validate

    ports = ((80, Protocol.TCP), (53, Protocol.UDP), (9000, Protocol.SCTP))
    body = pod_manifest(pod("x/a", ports, app="a"), "r1", "img")
    kubernetes_validate.validate(body, "1.33.0", strict=True)


def test_named_ports_are_declared_for_named_port_policies() -> None:
    from netprobe.model import ContainerPort, Pod, PodRef

    named = Pod(PodRef("x", "a"), Labels(), (ContainerPort(5432, Protocol.TCP, "pg"),))
    container = pod_manifest(named, "r1", "img")["spec"]["containers"][1]
    assert container["ports"] == [{"containerPort": 5432, "protocol": "TCP", "name": "pg"}]
