"""Staging mode: probes from existing workloads through an ephemeral container, to the
real pods' IPs; the workloads' pods are never created, relabelled or deleted."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import expect, ns, pod, suite
from fake_api import FakeApiServer

from netprobe.backends.kubernetes.bodies import DEFAULT_IMAGE, policy_manifest
from netprobe.backends.kubernetes.staging import probe_container_name
from netprobe.clock import FakeClock
from netprobe.documents import parse_yaml_documents
from netprobe.errors import BackendError, LocatedError
from netprobe.model import (
    ContainerPort,
    NetworkPolicy,
    Peer,
    PodRef,
    PolicyRef,
    PolicyType,
    Protocol,
    Rule,
)
from netprobe.results import Status
from netprobe.run.runner import run_suite
from netprobe.selectors import Labels, LabelSelector
from netprobe.suite.model import Workload
from netprobe.suite.workloads import parse_workloads

PROBE = probe_container_name({}, DEFAULT_IMAGE, "run1")
WEB = Workload(PodRef("prod", "web"), LabelSelector(Labels({"app": "web"})))
DB = Workload(PodRef("prod", "db"), LabelSelector(Labels({"app": "db"})), (ContainerPort(5432),))
BATCH = Workload(PodRef("prod", "batch"), LabelSelector(Labels({"app": "batch"})))
DB_FROM_WEB = NetworkPolicy(
    PolicyRef("prod", "db-from-web"),
    LabelSelector(Labels({"app": "db"})),
    (PolicyType.INGRESS,),
    ingress=(Rule(peers=(Peer(pod_selector=LabelSelector(Labels({"app": "web"}))),)),),
)


@pytest.fixture
def staging(api: FakeApiServer) -> FakeApiServer:
    api.add_workload_pod(
        "prod", "web-7d9c-b", {"app": "web"}, [{"containerPort": 8080, "name": "http"}]
    )
    api.add_workload_pod(
        "prod", "web-7d9c-a", {"app": "web"}, [{"containerPort": 8080, "name": "http"}]
    )
    api.add_workload_pod(
        "prod", "db-0", {"app": "db"}, [{"containerPort": 5432, "protocol": "TCP"}]
    )
    api.add_workload_pod("prod", "batch-x", {"app": "batch"})
    body = policy_manifest(DB_FROM_WEB, "someone")
    body["metadata"]["labels"] = {"owner": "platform"}  # deployed by GitOps, not netprobe
    api.create_policy("prod", body)
    for pod_name, ref in (("web-7d9c-a", WEB.ref), ("db-0", DB.ref), ("batch-x", BATCH.ref)):
        api.stand_ins[("prod", pod_name, PROBE)] = ref
    return api


def staging_suite():  # type: ignore[no-untyped-def]
    pods = (
        pod("prod/web", ((8080, Protocol.TCP),), app="web"),
        pod("prod/db", ((5432, Protocol.TCP),), app="db"),
        pod("prod/batch", (), app="batch"),
    )
    return suite(
        (ns("prod"),),
        pods,
        (DB_FROM_WEB,),
        [
            (
                (),
                (
                    expect("prod/web", "prod/db", 5432),
                    expect("prod/batch", "prod/db", 5432, allowed=False),
                    expect("prod/db", "prod/web", 8080),
                ),
            )
        ],
    )


def test_a_staging_suite_probes_from_the_real_pods(
    staging: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api = staging
    before = {k: v["metadata"]["labels"] for k, v in api.pods.items()}
    backend = make_backend()
    backend.use_workloads((WEB, DB, BATCH), sources={WEB.ref, BATCH.ref, DB.ref})
    result = run_suite(staging_suite(), backend, clock=clock)
    assert [r.status for r in result.results] == [Status.PASS] * 3, [
        (r.expectation.id, r.observation) for r in result.results
    ]
    # probes ran in the ephemeral container of the first ready pod of each workload
    assert {(e[1], e[2]) for e in api.execs} == {
        ("web-7d9c-a", PROBE),
        ("db-0", PROBE),
        ("batch-x", PROBE),
    }
    # nothing of the workloads was deleted or relabelled; the GitOps policy stays
    assert {k: v["metadata"]["labels"] for k, v in api.pods.items()} == before
    assert ("prod", "db-from-web") in api.policies
    assert "prod" in api.namespaces
    eph = api.pods[("prod", "web-7d9c-a")]["spec"]["ephemeralContainers"]
    assert [c["name"] for c in eph] == [PROBE]
    assert eph[0]["securityContext"]["runAsNonRoot"] is True


def test_destination_only_workloads_get_no_ephemeral_container(
    staging: FakeApiServer, make_backend
) -> None:
    backend = make_backend()
    backend.use_workloads((WEB, DB), sources={WEB.ref})
    state = backend.deploy((ns("prod"),), (pod("prod/web"), pod("prod/db")), ())
    assert "ephemeralContainers" not in staging.pods[("prod", "db-0")]["spec"]
    db = state.pod(DB.ref)
    assert db is not None and str(db.ip) == staging.pods[("prod", "db-0")]["status"]["podIP"]
    assert db.labels == Labels({"app": "db"})


def test_later_runs_reuse_the_running_probe_container(staging: FakeApiServer, make_backend) -> None:
    for run_id in ("night1", "night2"):
        backend = make_backend(run_id=run_id)
        backend.use_workloads((WEB,))
        backend.deploy((ns("prod"),), (pod("prod/web"),), ())
        backend.exec(WEB.ref, ["sh", "-c", "echo NETPROBE_DONE"], 5.0)
        backend.teardown()
    names = [c["name"] for c in staging.pods[("prod", "web-7d9c-a")]["spec"]["ephemeralContainers"]]
    assert names == [PROBE]
    assert {e[2] for e in staging.execs} == {PROBE}


def test_a_probe_container_that_exited_is_replaced_by_a_run_specific_one(
    staging: FakeApiServer, make_backend
) -> None:
    pod_obj = staging.pods[("prod", "web-7d9c-a")]
    pod_obj["spec"]["ephemeralContainers"] = [{"name": PROBE, "image": DEFAULT_IMAGE}]
    pod_obj["status"]["ephemeralContainerStatuses"] = [
        {"name": PROBE, "state": {"terminated": {"exitCode": 137}}}
    ]
    staging.terminated_ephemeral = {PROBE}
    backend = make_backend(run_id="night3")
    backend.use_workloads((WEB,))
    backend.deploy((ns("prod"),), (pod("prod/web"),), ())
    names = [c["name"] for c in pod_obj["spec"]["ephemeralContainers"]]
    assert names == [PROBE, f"{PROBE}-night3"]


@pytest.mark.parametrize(
    ("workload", "message"),
    [
        (
            Workload(PodRef("prod", "api"), LabelSelector(Labels({"app": "api"}))),
            r"workload prod/api: no ready pod matches app=api in namespace prod "
            r"\(matching pods: none\)",
        ),
        (
            Workload(PodRef("gone", "api"), LabelSelector(Labels({"app": "api"}))),
            "workload gone/api: namespace gone does not exist",
        ),
        (
            Workload(
                PodRef("prod", "db"), LabelSelector(Labels({"app": "db"})), (ContainerPort(6379),)
            ),
            r"pod db-0 does not declare port\(s\) 6379/TCP \(it has: 5432/TCP\)",
        ),
    ],
)
def test_workloads_that_cannot_be_used_are_named(
    staging: FakeApiServer, make_backend, workload: Workload, message: str
) -> None:
    backend = make_backend()
    backend.use_workloads((workload,))
    with pytest.raises(BackendError, match=message):
        backend.deploy((), (), ())


def test_an_ephemeral_container_that_cannot_pull_is_reported(
    staging: FakeApiServer, make_backend
) -> None:
    staging.bad_images.add("bad:1")
    backend = make_backend(image="bad:1")
    backend.use_workloads((WEB,))
    with pytest.raises(
        BackendError, match=r"ephemeral container netprobe-\w+ .*ImagePullBackOff for image bad:1"
    ):
        backend.deploy((), (), ())


def test_staging_needs_the_ephemeralcontainers_permission_up_front(
    staging: FakeApiServer, make_backend
) -> None:
    staging.deny.add(("patch", "pods/ephemeralcontainers", "prod"))
    backend = make_backend()
    backend.use_workloads((WEB,))
    with pytest.raises(BackendError, match="patch pods/ephemeralcontainers in namespace prod"):
        backend.deploy((), (), ())


def test_relabelling_a_workload_is_refused(staging: FakeApiServer, make_backend) -> None:
    backend = make_backend()
    backend.use_workloads((WEB,))
    backend.deploy((), (), ())
    with pytest.raises(BackendError, match="not created by netprobe"):
        backend.set_pod_labels(WEB.ref, Labels({"app": "x"}))


WORKLOADS_YAML = """\
workloads:
  - name: web
    namespace: prod
    selector:
      matchLabels: {app: web}
  - name: db
    namespace: prod
    selector:
      matchExpressions: [{key: app, operator: In, values: [db, postgres]}]
    ports:
      - {port: 5432, name: pg}
      - {port: 53, protocol: UDP}
"""


def test_parse_workloads() -> None:
    (doc,) = parse_yaml_documents(WORKLOADS_YAML, "staging.yaml")
    web, db = parse_workloads(doc.require("workloads"))
    assert web.ref == PodRef("prod", "web") and web.selector.match_labels == Labels({"app": "web"})
    assert str(db.selector) == "app in (db,postgres)"
    assert db.ports == (ContainerPort(5432, Protocol.TCP, "pg"), ContainerPort(53, Protocol.UDP))
    assert web.location is not None and web.location.line == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {name: web, namespace: prod}", r"staging.yaml:1 \[0\]: 'selector' is required"),
        ("- {name: web, namespace: prod, selector: {}}", "an empty selector would pick any pod"),
        ("- {name: Web, namespace: prod, selector: {matchLabels: {a: b}}}", r"\[0\].name: 'Web'"),
        (
            "- {name: w, namespace: p, selector: {matchLabels: {a: b}}, port: 1}",
            "unknown field 'port'",
        ),
        (
            "- {name: w, namespace: p, selector: {matchLabels: {a: b}}, ports: [{port: 0}]}",
            "out of range",
        ),
        (
            "- {name: w, namespace: p, selector: {matchLabels: {a: b}}, "
            "ports: [{port: 1, protocol: tcp}]}",
            "unknown protocol 'tcp'",
        ),
        (
            "- {name: w, namespace: p, selector: {matchLabels: {a: b}}}\n"
            "- {name: w, namespace: p, selector: {matchLabels: {a: c}}}",
            "workload p/w is declared twice",
        ),
    ],
)
def test_parse_workloads_errors_are_located(text: str, message: str) -> None:
    (doc,) = parse_yaml_documents(text, "staging.yaml")
    with pytest.raises(LocatedError, match=message):
        parse_workloads(doc)


def test_the_runner_hands_a_suites_workloads_to_the_backend(
    staging: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    workload_suite = replace(staging_suite(), pods=(), workloads=(WEB, DB, BATCH))
    result = run_suite(workload_suite, make_backend(), clock=clock)
    assert [r.status for r in result.results] == [Status.PASS] * 3
    # the analyzer judged the real pods: their labels and ports come from the cluster
    assert {(e[1], e[2]) for e in staging.execs} == {
        ("web-7d9c-a", PROBE),
        ("db-0", PROBE),
        ("batch-x", PROBE),
    }


def test_a_backend_without_workloads_deploys_their_stand_in_pods(clock: FakeClock) -> None:
    from netprobe.backends.fake import FakeBackend

    workload_suite = replace(staging_suite(), pods=(), workloads=(WEB, DB, BATCH))
    backend = FakeBackend(clock=clock)
    result = run_suite(workload_suite, backend, clock=clock)
    assert {p.ref for p in backend.snapshot().pods} == {WEB.ref, DB.ref, BATCH.ref}
    assert backend.snapshot().pod(WEB.ref).labels == WEB.standin().labels  # type: ignore[union-attr]
    assert all(not r.failed for r in result.results)


def test_a_pod_being_deleted_is_never_chosen(staging: FakeApiServer, make_backend) -> None:
    # web-7d9c-a comes first by name, but a rollout is deleting it: still Running and Ready
    # during its grace period, with only metadata.deletionTimestamp set.
    staging.pods[("prod", "web-7d9c-a")]["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:00Z"
    backend = make_backend()
    backend.use_workloads((WEB,))
    backend.deploy((), (), ())
    assert backend.snapshot().pod(WEB.ref) is not None
    assert backend._chosen[WEB.ref] == "web-7d9c-b"
    assert not staging.pods[("prod", "web-7d9c-a")]["spec"].get("ephemeralContainers")


def test_a_workload_whose_only_pod_is_being_deleted_is_named(
    staging: FakeApiServer, make_backend
) -> None:
    staging.pods[("prod", "batch-x")]["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:00Z"
    backend = make_backend()
    backend.use_workloads((BATCH,))
    with pytest.raises(BackendError, match=r"no ready pod .*batch-x \(being deleted\)"):
        backend.deploy((), (), ())
