"""What kube-apiserver 1.34 adds to what netprobe sends (emulator.defaulting), rule by rule:
pkg/apis/core/v1/defaults.go, pkg/apis/networking/v1/defaults.go, the registry strategies
and kubeadm's mutating admission plugins."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest

from emulator import defaulting
from emulator.netprobe_bodies import probe_pod


def pod(**spec: object) -> dict:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"}}
    body["spec"] = {"containers": [{"name": "c", "image": "busybox:1.36"}], **spec}
    return body


def policy(spec: dict) -> dict:
    meta = {"name": "np", "namespace": "n"}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": spec,
    }


def test_a_namespace_gets_its_name_label_the_kubernetes_finalizer_and_phase_active() -> None:
    sent = {"kind": "Namespace", "metadata": {"name": "prod", "labels": {"team": "a"}}}
    stored = defaulting.default("Namespace", sent)
    assert stored["metadata"]["labels"] == {"team": "a", "kubernetes.io/metadata.name": "prod"}
    assert stored["spec"] == {"finalizers": ["kubernetes"]}
    assert stored["status"] == {"phase": "Active"}


def test_the_namespace_name_label_cannot_be_set_to_something_else() -> None:
    sent = {
        "kind": "Namespace",
        "metadata": {"name": "prod", "labels": {"kubernetes.io/metadata.name": "x"}},
    }
    assert (
        defaulting.default("Namespace", sent)["metadata"]["labels"]["kubernetes.io/metadata.name"]
        == "prod"
    )


def test_default_returns_a_new_dict_and_leaves_the_body_alone() -> None:
    sent = probe_pod()
    before = copy.deepcopy(sent)
    stored = defaulting.default("Pod", sent)
    assert sent == before
    assert stored is not sent


def test_a_minimal_pod_gets_every_spec_default_of_v1() -> None:
    spec = defaulting.default("Pod", pod())["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["securityContext"] == {}
    assert spec["enableServiceLinks"] is True
    assert spec["priority"] == 0
    assert spec["preemptionPolicy"] == "PreemptLowerPriority"
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    assert spec["tolerations"] == [
        {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
    ]
    container = spec["containers"][0]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["resources"] == {}


def test_values_the_client_sent_are_kept_even_when_falsy() -> None:
    spec = defaulting.default(
        "Pod", pod(terminationGracePeriodSeconds=0, enableServiceLinks=False, restartPolicy="Never")
    )["spec"]
    assert spec["terminationGracePeriodSeconds"] == 0
    assert spec["enableServiceLinks"] is False
    assert spec["restartPolicy"] == "Never"


@pytest.mark.parametrize(
    ("image", "policy_"),
    [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("busybox:1.36", "IfNotPresent"),
        ("registry.k8s.io/e2e-test-images/agnhost:2.66.1", "IfNotPresent"),
        ("localhost:5000/busybox", "Always"),
        ("localhost:5000/busybox:1", "IfNotPresent"),
        ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
        ("busybox:latest@sha256:" + "a" * 64, "Always"),
    ],
)
def test_image_pull_policy_is_always_for_latest_or_no_tag(image: str, policy_: str) -> None:
    body = pod()
    body["spec"]["containers"][0]["image"] = image
    assert defaulting.default("Pod", body)["spec"]["containers"][0]["imagePullPolicy"] == policy_


def test_container_ports_default_to_tcp_and_probes_get_their_thresholds() -> None:
    stored = defaulting.default("Pod", probe_pod())
    ports = [p for c in stored["spec"]["containers"] for p in c.get("ports", [])]
    assert {(p["containerPort"], p["protocol"]) for p in ports} == {
        (80, "TCP"),
        (53, "UDP"),
        (9000, "SCTP"),
        (443, "TCP"),
    }
    probe = stored["spec"]["containers"][1]["readinessProbe"]
    assert probe == {
        "tcpSocket": {"port": 80},
        "periodSeconds": 2,
        "timeoutSeconds": 1,
        "successThreshold": 1,
        "failureThreshold": 3,
    }


def test_a_new_pod_is_pending_with_its_qos_class() -> None:
    assert defaulting.default("Pod", pod())["status"] == {
        "phase": "Pending",
        "qosClass": "BestEffort",
    }
    body = pod()
    body["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    stored = defaulting.default("Pod", body)
    assert stored["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}
    assert stored["status"]["qosClass"] == "Guaranteed"
    body["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "100m"}}
    assert defaulting.default("Pod", body)["status"]["qosClass"] == "Burstable"


def test_an_existing_toleration_of_the_taint_is_left_alone() -> None:
    mine = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}
    tolerations = defaulting.default("Pod", pod(tolerations=[mine]))["spec"]["tolerations"]
    assert tolerations[0] == mine
    assert [t["key"] for t in tolerations] == [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ]


def test_host_network_copies_container_ports_to_host_ports() -> None:
    body = pod(hostNetwork=True)
    body["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
    assert defaulting.default("Pod", body)["spec"]["containers"][0]["ports"][0]["hostPort"] == 8080


@pytest.mark.parametrize(
    ("spec", "types"),
    [
        ({"podSelector": {}}, ["Ingress"]),
        ({"podSelector": {}, "ingress": [{}]}, ["Ingress"]),
        ({"podSelector": {}, "egress": [{}]}, ["Ingress", "Egress"]),
        ({"podSelector": {}, "egress": []}, ["Ingress"]),
        ({"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]}, ["Egress"]),
        ({"podSelector": {}, "policyTypes": []}, ["Ingress"]),
    ],
)
def test_policy_types_default_to_ingress_plus_egress_when_egress_rules_exist(
    spec: dict, types: list[str]
) -> None:
    assert defaulting.default("NetworkPolicy", policy(spec))["spec"]["policyTypes"] == types


def test_policy_ports_default_to_tcp_in_both_directions() -> None:
    rule = {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}, {}]}
    stored = defaulting.default(
        "NetworkPolicy", policy({"podSelector": {}, "ingress": [rule], "egress": [rule]})
    )
    for direction in ("ingress", "egress"):
        assert [p["protocol"] for p in stored["spec"][direction][0]["ports"]] == [
            "TCP",
            "UDP",
            "TCP",
        ]


def test_a_lease_gets_nothing_but_an_empty_spec() -> None:
    sent = {
        "kind": "Lease",
        "metadata": {"name": "l", "namespace": "n"},
        "spec": {"holderIdentity": "me"},
    }
    assert defaulting.default("Lease", sent) == sent
    assert defaulting.default("Lease", {"kind": "Lease", "metadata": {}})["spec"] == {}


@pytest.mark.parametrize(
    ("kind", "generation"), [("Pod", 1), ("NetworkPolicy", 1), ("Namespace", None), ("Lease", None)]
)
def test_stamp_sets_uid_time_version_and_generation_where_the_strategy_does(
    kind: str, generation: int | None
) -> None:
    sent = {"kind": kind, "metadata": {"name": "x", "deletionTimestamp": "2020-01-01T00:00:00Z"}}
    now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone(timedelta(hours=2)))
    meta = defaulting.stamp(sent, "42", now, uid="u-1")["metadata"]
    assert meta["uid"] == "u-1"
    assert meta["creationTimestamp"] == "2026-01-02T01:04:05Z"
    assert meta["resourceVersion"] == "42"
    assert meta.get("generation") == generation
    assert "deletionTimestamp" not in meta


def test_stamp_gives_each_object_its_own_uid() -> None:
    now = datetime.now(UTC)
    uids = {
        defaulting.stamp({"kind": "Pod", "metadata": {}}, "1", now)["metadata"]["uid"]
        for _ in range(3)
    }
    assert len(uids) == 3


def test_an_update_keeps_server_fields_and_bumps_generation_on_a_spec_change() -> None:
    old = defaulting.stamp(
        defaulting.default("NetworkPolicy", policy({"podSelector": {}})), "5", datetime.now(UTC)
    )
    same = defaulting.prepare_for_update("NetworkPolicy", policy({"podSelector": {}}), old)
    assert same["metadata"]["generation"] == 1
    assert same["metadata"]["uid"] == old["metadata"]["uid"]
    assert same["metadata"]["creationTimestamp"] == old["metadata"]["creationTimestamp"]
    changed = defaulting.prepare_for_update(
        "NetworkPolicy", policy({"podSelector": {"matchLabels": {"a": "b"}}}), old
    )
    assert changed["metadata"]["generation"] == 2


def test_an_update_cannot_change_pod_status_or_namespace_finalizers() -> None:
    old = defaulting.default("Pod", pod())
    old["status"]["phase"] = "Running"
    sent = pod()
    sent["status"] = {"phase": "Failed"}
    assert defaulting.prepare_for_update("Pod", sent, old)["status"]["phase"] == "Running"
    namespace = defaulting.default("Namespace", {"kind": "Namespace", "metadata": {"name": "a"}})
    update = {"kind": "Namespace", "metadata": {"name": "a"}, "spec": {"finalizers": []}}
    assert defaulting.prepare_for_update("Namespace", update, namespace)["spec"]["finalizers"] == [
        "kubernetes"
    ]
