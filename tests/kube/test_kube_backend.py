"""The Kubernetes backend against an in-memory API server: deploy, ownership, changes,
snapshot, teardown."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from conftest import allow_from, deny_all_ingress, ns, pod
from fake_api import FakeApiServer

from netprobe.backends.kubernetes.bodies import (
    DEFAULT_IMAGE,
    MANAGED_BY_KEY,
    PROBE_CONTAINER,
    RUN_ID_KEY,
)
from netprobe.clock import FakeClock
from netprobe.errors import EXIT_BACKEND, BackendError
from netprobe.model import NAMESPACE_NAME_LABEL, PodRef, PolicyRef, Protocol
from netprobe.selectors import Labels
from netprobe.suite.model import SetPodLabels

NAMESPACES = (ns("x", team="a"), ns("y"))
PODS = (
    pod("x/a", app="a"),
    pod("x/b", ((80, Protocol.TCP), (53, Protocol.UDP)), app="b"),
    pod("y/c", app="c"),
)


def deployed(make_backend, **options):  # type: ignore[no-untyped-def]
    backend = make_backend(**options)
    state = backend.deploy(NAMESPACES, PODS, ())
    return backend, state


def test_deploy_creates_labelled_namespaces_and_pods_and_reads_ips_back(
    api: FakeApiServer, make_backend
) -> None:
    _, state = deployed(make_backend)
    assert set(api.namespaces) >= {"x", "y"}
    for name in ("x", "y"):
        labels = api.namespaces[name]["metadata"]["labels"]
        assert labels[MANAGED_BY_KEY] == "netprobe" and labels[RUN_ID_KEY] == "run1"
    assert api.namespaces["x"]["metadata"]["labels"]["team"] == "a"
    for obj in api.pods.values():
        assert obj["metadata"]["labels"][RUN_ID_KEY] == "run1"
    ips = {p.ref: p.ip for p in state.pods}
    assert set(ips) == {PodRef("x", "a"), PodRef("x", "b"), PodRef("y", "c")}
    assert all(
        ip is not None and ip in {ip_address(o["status"]["podIP"]) for o in api.pods.values()}
        for ip in ips.values()
    )
    x = state.namespace("x")
    assert x is not None and x.labels[NAMESPACE_NAME_LABEL] == "x"
    b = state.pod(PodRef("x", "b"))
    assert b is not None and {(p.port, p.protocol) for p in b.ports} == {
        (80, Protocol.TCP),
        (53, Protocol.UDP),
    }


def test_probe_pods_run_one_unprivileged_server_per_port(api: FakeApiServer, make_backend) -> None:
    deployed(make_backend)
    spec = api.pods[("x", "b")]["spec"]
    assert spec["terminationGracePeriodSeconds"] == 0
    names = [c["name"] for c in spec["containers"]]
    assert names == [PROBE_CONTAINER, "cont-80-tcp", "cont-53-udp"]
    udp = spec["containers"][2]
    assert udp["command"][1:3] == ["serve-hostname", "--udp"] and udp["image"] == DEFAULT_IMAGE
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_image_is_configurable(api: FakeApiServer, make_backend) -> None:
    deployed(make_backend, image="mirror.example/agnhost:2.52")
    assert {c["image"] for o in api.pods.values() for c in o["spec"]["containers"]} == {
        "mirror.example/agnhost:2.52"
    }


def test_a_foreign_namespace_stops_the_run_before_anything_is_created(
    api: FakeApiServer, make_backend
) -> None:
    api.add_workload_pod("x", "someones-app", {"app": "prod"})
    with pytest.raises(
        BackendError, match="namespace x already exists and was not created by netprobe"
    ) as caught:
        make_backend().deploy(NAMESPACES, PODS, ())
    assert caught.value.exit_code == EXIT_BACKEND
    assert "--use-existing-namespaces" in str(caught.value)
    assert set(api.pods) == {("x", "someones-app")}
    assert "y" not in api.namespaces


def test_use_existing_namespaces_creates_only_netprobes_pods_and_removes_only_those(
    api: FakeApiServer, make_backend
) -> None:
    api.add_workload_pod("x", "someones-app", {"app": "prod"})
    api.policies[("x", "theirs")] = {
        "metadata": {"name": "theirs", "namespace": "x", "resourceVersion": "1"},
        "spec": {"podSelector": {}},
    }
    backend, _ = deployed(make_backend, use_existing_namespaces=True)
    assert "managed-by" not in str(api.namespaces["x"]["metadata"]["labels"])
    backend.apply_policy(deny_all_ingress("x"))
    backend.teardown()
    assert "x" in api.namespaces and "y" not in api.namespaces
    assert set(api.pods) == {("x", "someones-app")}
    assert set(api.policies) == {("x", "theirs")}


def test_borrowing_a_namespace_warns_when_its_labels_differ_from_the_suite(
    api: FakeApiServer, make_backend, caplog: pytest.LogCaptureFixture
) -> None:
    api.add_workload_pod("x", "someones-app", {"app": "prod"})
    deployed(make_backend, use_existing_namespaces=True)
    assert "namespace x is used as it is" in caplog.text and "team=a" in caplog.text


def test_a_leftover_netprobe_namespace_points_at_cleanup(api: FakeApiServer, make_backend) -> None:
    make_backend(run_id="old").deploy(NAMESPACES, PODS, ())  # never torn down: "crashed"
    with pytest.raises(BackendError, match=r"created by netprobe run old.*netprobe cleanup"):
        make_backend(run_id="new", lock_namespace="other-locks").deploy(NAMESPACES, PODS, ())


def test_policies_are_created_replaced_and_deleted_with_ownership_labels(
    api: FakeApiServer, make_backend
) -> None:
    backend, _ = deployed(make_backend)
    backend.apply_policy(deny_all_ingress("x"))
    first = api.policies[("x", "deny-all")]
    assert first["metadata"]["labels"][MANAGED_BY_KEY] == "netprobe"
    assert first["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    replacement = allow_from("x", "deny-all", {"app": "b"}, {"app": "a"})
    backend.apply_policy(replacement)
    second = api.policies[("x", "deny-all")]
    assert second["spec"]["podSelector"] == {"matchLabels": {"app": "b"}}
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert backend.snapshot().policies == (replacement,)
    backend.delete_policy(PolicyRef("x", "deny-all"))
    assert ("x", "deny-all") not in api.policies
    assert backend.snapshot().policies == ()


def test_a_policy_netprobe_did_not_create_is_never_replaced(
    api: FakeApiServer, make_backend
) -> None:
    backend, _ = deployed(make_backend)
    api.policies[("x", "deny-all")] = {
        "metadata": {"name": "deny-all", "namespace": "x", "resourceVersion": "1"},
        "spec": {"podSelector": {"matchLabels": {"app": "a"}}},
    }
    with pytest.raises(BackendError, match="never replaces what it did not create"):
        backend.apply_policy(deny_all_ingress("x"))
    with pytest.raises(BackendError, match="was not applied by this run"):
        backend.delete_policy(PolicyRef("x", "deny-all"))
    assert api.policies[("x", "deny-all")]["spec"]["podSelector"] == {"matchLabels": {"app": "a"}}


def _foreign_policy(spec: dict[str, object]) -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "dns", "namespace": "x", "labels": {"owner": "team-a"}},
        "spec": spec,
    }


AS_WRITTEN = {
    "podSelector": {"matchLabels": {"app": "a"}},
    "ingress": [{"from": [], "ports": [{"port": 80}]}],
    "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 8000, "endPort": 8080}]}],
}


def test_a_policy_already_in_force_is_the_same_after_the_api_servers_defaulting(
    api: FakeApiServer, make_backend, caplog: pytest.LogCaptureFixture
) -> None:
    import dataclasses

    from netprobe.backends.kubernetes.readback import policy_from_api

    backend, _ = deployed(make_backend)
    api.create_policy("x", _foreign_policy(AS_WRITTEN))  # someone else's, stored defaulted
    stored = api.policies[("x", "dns")]["spec"]
    assert stored["policyTypes"] == ["Ingress", "Egress"]
    assert stored["ingress"] == [{"ports": [{"port": 80, "protocol": "TCP"}]}]
    assert stored["egress"][0]["ports"][1] == {"port": 8000, "endPort": 8080, "protocol": "TCP"}
    manifest = _foreign_policy(AS_WRITTEN)
    policy = dataclasses.replace(policy_from_api(manifest), manifest=manifest)
    with caplog.at_level("INFO"):
        backend.apply_policy(policy)  # not "another spec"
    assert "already in force as written" in caplog.text
    assert ("update", "networkpolicies", "x") not in api.calls  # left as it is
    assert api.policies[("x", "dns")]["spec"] == stored
    assert backend.snapshot().policies == (policy,)


def test_a_policy_in_force_that_defaulting_does_not_explain_is_another_spec(
    api: FakeApiServer, make_backend
) -> None:
    import dataclasses

    from netprobe.backends.kubernetes.readback import policy_from_api

    backend, _ = deployed(make_backend)
    api.create_policy("x", _foreign_policy({**AS_WRITTEN, "policyTypes": ["Ingress"]}))
    manifest = _foreign_policy(AS_WRITTEN)
    policy = dataclasses.replace(policy_from_api(manifest), manifest=manifest)
    with pytest.raises(BackendError, match="already exists with another spec"):
        backend.apply_policy(policy)


def test_a_manifest_as_written_is_what_gets_submitted(api: FakeApiServer, make_backend) -> None:
    import dataclasses

    backend, _ = deployed(make_backend)
    manifest = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "deny-all",
            "namespace": "x",
            "labels": {"owner": "team-a"},
            "uid": "should-not-be-sent",
            "resourceVersion": "99",
        },
        "spec": {"podSelector": {}, "ingress": []},
    }
    policy = dataclasses.replace(deny_all_ingress("x"), manifest=manifest)
    backend.apply_policy(policy)
    sent = api.submitted_policies[("x", "deny-all")]
    assert sent["spec"] == {"podSelector": {}, "ingress": []}
    assert sent["metadata"]["labels"]["owner"] == "team-a"
    assert "uid" not in sent["metadata"]
    # what the API server stores is defaulted, its empty lists dropped
    assert api.policies[("x", "deny-all")]["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress"],
    }


def test_relabelling_keeps_ownership_labels(api: FakeApiServer, make_backend) -> None:
    backend, _ = deployed(make_backend)
    backend.set_pod_labels(PodRef("x", "a"), Labels({"app": "z", "new": "1"}))
    labels = api.pods[("x", "a")]["metadata"]["labels"]
    assert labels == {"app": "z", "new": "1", MANAGED_BY_KEY: "netprobe", RUN_ID_KEY: "run1"}
    backend.set_namespace_labels("x", Labels({"env": "prod", NAMESPACE_NAME_LABEL: "x"}))
    ns_labels = api.namespaces["x"]["metadata"]["labels"]
    assert ns_labels["env"] == "prod" and "team" not in ns_labels
    assert ns_labels[NAMESPACE_NAME_LABEL] == "x" and ns_labels[RUN_ID_KEY] == "run1"
    state = backend.snapshot()
    assert state.pod(PodRef("x", "a")).labels["app"] == "z"  # type: ignore[union-attr]
    assert state.namespace("x").labels["env"] == "prod"  # type: ignore[union-attr]


def test_pods_and_namespaces_netprobe_did_not_create_are_never_relabelled(
    api: FakeApiServer, make_backend
) -> None:
    api.add_workload_pod("x", "theirs", {"app": "prod"})
    backend, _ = deployed(make_backend, use_existing_namespaces=True)
    with pytest.raises(BackendError, match="will not relabel"):
        backend.set_pod_labels(PodRef("x", "theirs"), Labels({"app": "z"}))
    with pytest.raises(BackendError, match="will not relabel"):
        backend.set_namespace_labels("x", Labels({"env": "z"}))
    assert api.pods[("x", "theirs")]["metadata"]["labels"] == {"app": "prod"}


def test_exec_goes_to_the_probe_container_of_the_pod(api: FakeApiServer, make_backend) -> None:
    backend, _ = deployed(make_backend)
    backend.exec(PodRef("x", "a"), ["sh", "-c", "echo NETPROBE_DONE"], 6.0)
    assert api.execs[-1][:3] == ("x", "a", PROBE_CONTAINER)
    assert api.execs[-1][4] == 6.0
    with pytest.raises(BackendError, match="no probe pod"):
        backend.exec(PodRef("x", "nope"), ["true"], 1.0)


def test_teardown_deletes_everything_waits_until_gone_and_is_idempotent(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.terminate_after = 3
    backend, _ = deployed(make_backend)
    backend.apply_policy(deny_all_ingress("x"))
    backend.teardown()
    assert "x" not in api.namespaces and "y" not in api.namespaces
    assert not api.pods and not api.policies
    assert not [k for k in api.leases]  # Leases released
    assert clock.slept  # it polled (on the fake clock) until the namespaces were gone
    assert api.closed == 1
    calls = len(api.calls)
    backend.teardown()
    assert len(api.calls) == calls


def test_teardown_after_a_failed_deploy_removes_what_was_created(
    api: FakeApiServer, make_backend
) -> None:
    api.bad_images.add("broken:1")
    backend = make_backend(image="broken:1")
    with pytest.raises(BackendError, match="ImagePullBackOff"):
        backend.deploy(NAMESPACES, PODS, ())
    backend.teardown()
    assert not {"x", "y"} & set(api.namespaces) and not api.pods


def test_teardown_finds_objects_by_run_label_even_when_a_create_answer_was_lost(
    api: FakeApiServer, make_backend
) -> None:
    backend, _ = deployed(make_backend)
    api.create_namespace(
        {"metadata": {"name": "lost", "labels": {MANAGED_BY_KEY: "netprobe", RUN_ID_KEY: "run1"}}}
    )
    api.create_namespace(
        {"metadata": {"name": "other", "labels": {MANAGED_BY_KEY: "netprobe", RUN_ID_KEY: "run2"}}}
    )
    backend.teardown()
    assert "lost" not in api.namespaces and "other" in api.namespaces


def test_teardown_reports_what_is_left_at_its_deadline(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.stuck_namespaces.add("y")
    backend, _ = deployed(make_backend, cleanup_timeout=30.0)
    start = clock.now
    with pytest.raises(
        BackendError, match=r"within 30s; still present: namespace y.*netprobe cleanup"
    ):
        backend.teardown()
    assert 30.0 <= clock.now - start <= 33.0
    assert not api.leases  # Leases are released even then


KUBE_DNS = {"metadata": {"name": "kube-dns"}, "spec": {"selector": {"k8s-app": "kube-dns"}}}


@pytest.mark.parametrize(
    ("kind", "obj", "words"),
    [
        (
            "Service",
            KUBE_DNS,
            r"Service x/kube-dns \(selector k8s-app=kube-dns\).*send its traffic",
        ),
        (
            "ReplicaSet",
            {
                "metadata": {"name": "coredns-1"},
                "spec": {
                    "selector": {
                        "matchExpressions": [
                            {"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}
                        ]
                    }
                },
            },
            "ReplicaSet x/coredns-1 .*adopt",
        ),
        (
            "ReplicationController",
            {"metadata": {"name": "legacy-dns"}, "spec": {"selector": {"k8s-app": "kube-dns"}}},
            "ReplicationController x/legacy-dns .*adopt",
        ),
    ],
)
def test_a_pod_someone_elses_object_selects_is_never_created(
    api: FakeApiServer, make_backend, kind: str, obj: dict[str, object], words: str
) -> None:
    """make e2e borrowed kube-system for the DNS suite's `coredns` pod labelled
    k8s-app=kube-dns: kubeadm's kube-dns Service then sent the cluster's DNS queries to it."""
    api.add_workload_pod("x", "someones-app", {"app": "prod"})
    api.selectors["x"] = [(kind, obj)]
    backend = make_backend(use_existing_namespaces=True)
    pods = (pod("x/coredns", ((53, Protocol.UDP),), **{"k8s-app": "kube-dns"}),)
    with pytest.raises(BackendError, match=words):
        backend.deploy((ns("x"),), pods, ())
    backend.teardown()
    assert set(api.pods) == {("x", "someones-app")}  # nothing was created
    assert not [call for call in api.calls if call[0] == "create" and call[1] == "pods"]


def test_a_probe_pod_is_never_relabelled_into_someone_elses_selector(
    api: FakeApiServer, make_backend
) -> None:
    api.add_workload_pod("x", "someones-app", {"app": "prod"})
    kube_dns = {"metadata": {"name": "kube-dns"}, "spec": {"selector": {"k8s-app": "kube-dns"}}}
    api.selectors["x"] = [("Service", kube_dns)]
    backend = make_backend(use_existing_namespaces=True)
    backend.deploy((ns("x"),), (pod("x/probe", app="probe"),), ())
    with pytest.raises(BackendError, match=r"Service x/kube-dns .*send its traffic to"):
        backend.perform(SetPodLabels(PodRef.parse("x/probe"), Labels({"k8s-app": "kube-dns"})))
    backend.teardown()
    assert not [call for call in api.calls if call[0] == "patch" and call[1] == "pods"]


@pytest.mark.parametrize(
    "selecting",
    [
        ("Service", {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}}}),
        ("Service", {"metadata": {"name": "external"}, "spec": {"type": "ExternalName"}}),
        ("Service", {"metadata": {"name": "manual"}, "spec": {"selector": {}}}),
    ],
    ids=["other labels", "no selector", "empty selector"],
)
def test_objects_that_select_other_pods_or_none_do_not_stop_a_run(
    api: FakeApiServer, make_backend, selecting: tuple[str, dict[str, object]]
) -> None:
    api.add_workload_pod("x", "someones-app", {"app": "prod"})
    api.selectors["x"] = [selecting]
    backend = make_backend(use_existing_namespaces=True)
    backend.deploy((ns("x"),), (pod("x/coredns", **{"k8s-app": "kube-dns"}),), ())
    backend.teardown()


def test_teardown_waits_for_a_namespace_someone_else_started_deleting(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    from netprobe.backends.kubernetes.teardown import Leftovers, delete_and_wait

    api.terminate_after = 4
    deployed(make_backend)
    api.delete_namespace("x")  # kubectl delete ns x, mid-run: a second delete answers 409
    outcome = delete_and_wait(api, Leftovers(("x", "y"), run_id="run1"), 30.0, clock)
    assert outcome.errors == () and not outcome.remaining
    assert "x" not in api.namespaces and "y" not in api.namespaces
