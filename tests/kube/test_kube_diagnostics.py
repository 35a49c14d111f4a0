"""Diagnostics of a failed run on the Kubernetes backend, against the in-memory API server:
what the cluster held (policies as stored, pods, events, CNI), bounded, and never a reason
for the run itself to fail."""

from __future__ import annotations

from pathlib import Path

from conftest import deny_all_ingress, expect, ns, pod, suite
from fake_api import FakeApiServer

from netprobe.backends.kubernetes.bodies import PROBE_CONTAINER
from netprobe.backends.kubernetes.diagnose import gather
from netprobe.clock import FakeClock
from netprobe.diagnostics import MAX_EVENTS, MAX_PODS, Diagnostics, Involved, StoredPolicy
from netprobe.model import PodRef, PolicyRef
from netprobe.report.results import render, to_document
from netprobe.results import Status, SuiteResult
from netprobe.run.runner import RunOptions, run_suite

A, B = PodRef("x", "a"), PodRef("x", "b")
PODS = (pod("x/a", app="a"), pod("x/b", app="b"))


def event(name: str, reason: str, message: str, **fields: object) -> dict[str, object]:
    """A core/v1 Event about pod x/b, shaped as the API server returns it."""
    return {
        "metadata": {"name": name, "namespace": "x"},
        "involvedObject": {"kind": "Pod", "namespace": "x", "name": "b"},
        "reason": reason,
        "message": message,
        "type": "Normal",
        **fields,
    }


def run(make_backend, clock: FakeClock, the_suite, cni: str | None = None, **backend_options):  # type: ignore[no-untyped-def]
    options = RunOptions(settle_timeout=2.0, settle_interval=1.0, cni=cni)
    return run_suite(the_suite, make_backend(**backend_options), options=options, clock=clock)


def test_a_failing_expectation_carries_the_cluster_as_it_held_it(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.restarts[B] = 3
    api.events["x"] = [
        event(
            "b.2",
            "Pulled",
            "Container image already present",
            count=4,
            lastTimestamp="2027-01-15T08:00:05Z",
        ),
        # recorded through events.k8s.io/v1: no count or lastTimestamp, a series instead
        event(
            "b.1",
            "Scheduled",
            "Successfully assigned x/b to fake-node",
            eventTime="2027-01-15T08:00:01.000000Z",
            series={"count": 2, "lastObservedTime": "2027-01-15T08:00:02.500000Z"},
            lastTimestamp=None,
        ),
    ]
    the_suite = suite((ns("x"),), PODS, (deny_all_ingress("x"),), [((), (expect("x/a", "x/b"),))])

    result = run(make_backend, clock, the_suite, cni="calico")

    assert [r.status for r in result.results] == [Status.POLICY]
    found = result.diagnostics
    assert found is not None
    assert found.cni == "calico"
    assert found.policies == (
        StoredPolicy(
            PolicyRef("x", "deny-all"), {"podSelector": {}, "policyTypes": ["Ingress"]}, True
        ),
    )
    assert [(p.ref, p.name, p.phase, p.ips, p.node, p.ready) for p in found.pods] == [
        (A, "a", "Running", ("10.244.0.10",), "fake-node", True),
        (B, "b", "Running", ("10.244.0.11",), "fake-node", True),
    ]
    # the probe container and one server container per port, each with its restart count
    assert [dict(p.restarts) for p in found.pods] == [
        {PROBE_CONTAINER: 0, "cont-80-tcp": 0},
        {PROBE_CONTAINER: 3, "cont-80-tcp": 3},
    ]
    assert [(e.reason, e.count, e.last, e.object) for e in found.events] == [
        ("Scheduled", 2, "2027-01-15T08:00:02.500000Z", "Pod x/b"),
        ("Pulled", 4, "2027-01-15T08:00:05Z", "Pod x/b"),
    ]
    assert found.notes == () and not found.truncated
    assert ("list", "pods", "") not in api.calls  # --cni named it: nothing detected


def test_a_policy_netprobe_did_not_create_shows_as_the_api_server_stores_it(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    # Someone else's policy in a borrowed namespace: enforced, unknown to the analyzer.
    api.add_workload_pod("x", "someones-app", {"app": "prod"})
    submitted = {
        "podSelector": {"matchLabels": {"app": "b"}},
        "ingress": [{"ports": [{"port": 9}]}],
    }
    api.create_policy("x", {"metadata": {"name": "theirs"}, "spec": submitted})
    the_suite = suite((ns("x"),), PODS, (), [((), (expect("x/a", "x/b"),))])

    result = run(make_backend, clock, the_suite, use_existing_namespaces=True)

    assert [r.status for r in result.results] == [Status.DATAPLANE]
    found = result.diagnostics
    assert found is not None
    (theirs,) = found.policies
    assert theirs.ref == PolicyRef("x", "theirs") and not theirs.netprobe
    # kube-apiserver's defaulting: policyTypes and the port's protocol filled in
    assert theirs.spec == {
        "podSelector": {"matchLabels": {"app": "b"}},
        "ingress": [{"ports": [{"port": 9, "protocol": "TCP"}]}],
        "policyTypes": ["Ingress"],
    }
    assert found.cni == "unknown"
    document = to_document([result])["suites"][0]["diagnostics"]
    assert document["policies"][0]["spec"]["policyTypes"] == ["Ingress"]
    assert "policy x/theirs (not netprobe's) as stored: " in render("table", [result])


def test_the_cni_is_detected_from_its_agents_pods_when_not_named(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.add_workload_pod("kube-system", "calico-node-x7k", {"k8s-app": "calico-node"})
    api.add_workload_pod("kube-system", "coredns-1", {"k8s-app": "kube-dns"})
    the_suite = suite((ns("x"),), PODS, (deny_all_ingress("x"),), [((), (expect("x/a", "x/b"),))])

    found = run(make_backend, clock, the_suite).diagnostics

    assert found is not None and found.cni == "calico"
    assert ("list", "pods", "") in api.calls  # one list across namespaces, by label


def test_nothing_is_gathered_when_every_result_held(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    the_suite = suite(
        (ns("x"),), PODS, (deny_all_ingress("x"),), [((), (expect("x/a", "x/b", allowed=False),))]
    )

    result = run(make_backend, clock, the_suite)

    assert [r.status for r in result.results] == [Status.PASS]
    assert result.diagnostics is None
    assert not [call for call in api.calls if call[1] == "events"]
    assert to_document([result])["suites"][0]["diagnostics"] is None
    assert "why (" not in render("table", [result])


def test_many_events_are_cut_to_the_newest_with_a_count(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.events["x"] = [
        event(
            f"e{i}",
            "BackOff",
            f"restart {i}",
            lastTimestamp=f"2027-01-15T08:{i // 60:02}:{i % 60:02}Z",
        )
        for i in reversed(range(MAX_EVENTS + 12))  # the API server lists by name, not time
    ]
    the_suite = suite((ns("x"),), PODS, (deny_all_ingress("x"),), [((), (expect("x/a", "x/b"),))])

    found = run(make_backend, clock, the_suite).diagnostics

    assert found is not None
    assert len(found.events) == MAX_EVENTS
    assert found.events[0].message == "restart 12" and found.events[-1].message == "restart 61"
    assert found.truncated == {"events": 12}
    assert "truncated: 12 events more" in render("table", [_with(found)])


def test_gathering_errors_are_notes_and_the_run_reports_as_usual(
    api: FakeApiServer, clock: FakeClock, make_backend
) -> None:
    api.deny.add(("list", "events", None))
    the_suite = suite((ns("x"),), PODS, (deny_all_ingress("x"),), [((), (expect("x/a", "x/b"),))])

    result = run(make_backend, clock, the_suite, cni="cilium")

    assert [r.status for r in result.results] == [Status.POLICY]
    found = result.diagnostics
    assert found is not None and len(found.pods) == 2 and len(found.policies) == 1
    (note,) = found.notes
    assert "forbidden" in note and "needs: list events in namespace x" in note
    assert "deploy/rbac.yaml" in note


def test_an_unreachable_api_server_ends_the_gathering_at_the_first_call(
    api: FakeApiServer,
) -> None:
    api.unreachable = True
    involved = Involved((A, B), (PolicyRef("x", "deny-all"),))

    found = gather(api, involved, {A: ("x", "a"), B: ("x", "b")}, ["x"], None)

    assert len(api.calls) == 1
    (note,) = found.notes
    assert "cannot reach the API server" in note and "nothing more was gathered" in note
    assert found.pods == () and found.cni == "unknown"


def test_a_pod_gone_and_a_policy_deleted_are_said_so(api: FakeApiServer) -> None:
    api.create_namespace({"metadata": {"name": "x"}})
    involved = Involved((A,), (PolicyRef("x", "gone"),))

    found = gather(api, involved, {A: ("x", "a")}, ["x"], "kindnet")

    assert found.notes == (
        "pod x/a (x/a) no longer exists",
        "NetworkPolicy x/gone (named by a failing verdict) is no longer in the cluster",
    )


def _with(found: Diagnostics) -> SuiteResult:
    return SuiteResult("s", Path("s.yaml"), (), backend="kubernetes", diagnostics=found)


def test_many_involved_pods_are_read_up_to_the_bound_and_the_rest_counted(
    api: FakeApiServer,
) -> None:
    refs = [PodRef("x", f"p{i:02}") for i in range(MAX_PODS + 5)]
    for ref in refs:
        api.add_workload_pod("x", ref.name, {"app": ref.name})

    found = gather(
        api, Involved(tuple(refs)), {r: (r.namespace, r.name) for r in refs}, ["x"], "calico"
    )

    assert [p.ref for p in found.pods] == refs[:MAX_PODS]
    assert found.truncated == {"pods": 5}
    assert api.calls.count(("get", "pods", "x")) == MAX_PODS
