"""Preflight and error paths: missing RBAC is reported before anything is created, and
every cluster-access problem ends in a BackendError (exit 3) naming what is missing."""

from __future__ import annotations

import pytest
from conftest import ns, pod
from fake_api import FakeApiServer

from netprobe.backends.kubernetes.api import AccessCheck
from netprobe.backends.kubernetes.cleanup import clean_cluster
from netprobe.backends.kubernetes.preflight import run_checks
from netprobe.clock import FakeClock
from netprobe.errors import EXIT_BACKEND, BackendError

NAMESPACES = (ns("x"), ns("y"))
PODS = (pod("x/a"), pod("y/b"))


def test_missing_rbac_is_listed_in_full_before_anything_is_created(
    api: FakeApiServer, make_backend
) -> None:
    api.deny |= {("create", "pods/exec", None), ("create", "networkpolicies", "y")}
    with pytest.raises(BackendError) as caught:
        make_backend().deploy(NAMESPACES, PODS, ())
    text = str(caught.value)
    assert caught.value.exit_code == EXIT_BACKEND
    assert "missing RBAC permissions on https://fake-apiserver" in text
    assert "create pods/exec in namespace x" in text and "create pods/exec in namespace y" in text
    assert "create networkpolicies.networking.k8s.io in namespace y" in text
    assert "deploy/rbac.yaml" in text
    assert not api.pods and not {"x", "y"} & set(api.namespaces) and not api.leases


def test_exec_needs_get_and_create_on_pods_exec() -> None:
    checks = run_checks(["x"], [], [], "netprobe-system")
    assert AccessCheck("get", "pods", subresource="exec", namespace="x") in checks
    assert AccessCheck("create", "pods", subresource="exec", namespace="x") in checks
    assert AccessCheck("create", "namespaces") in checks
    assert (
        AccessCheck("update", "leases", "coordination.k8s.io", namespace="netprobe-system")
        in checks
    )


def test_borrowed_namespaces_need_no_namespace_verbs() -> None:
    checks = run_checks([], ["x"], [], "locks")
    assert AccessCheck("create", "namespaces") not in checks
    assert AccessCheck("create", "pods", namespace="x") in checks


def test_staging_needs_the_ephemeralcontainers_subresource_and_never_pod_create() -> None:
    checks = run_checks([], [], ["prod"], "locks")
    assert (
        AccessCheck("patch", "pods", subresource="ephemeralcontainers", namespace="prod") in checks
    )
    assert AccessCheck("create", "pods", namespace="prod") not in checks
    assert AccessCheck("delete", "pods", namespace="prod") not in checks


def test_an_unreachable_api_server_is_exit_3(api: FakeApiServer, make_backend) -> None:
    api.unreachable = True
    with pytest.raises(BackendError, match="cannot reach the API server") as caught:
        make_backend().deploy(NAMESPACES, PODS, ())
    assert caught.value.exit_code == EXIT_BACKEND


def test_forbidden_reads_name_the_verb_and_resource(api: FakeApiServer, make_backend) -> None:
    api.deny.add(("get", "namespaces", None))
    with pytest.raises(
        BackendError, match=r'cannot get resource "namespaces" at the cluster scope'
    ):
        make_backend().deploy(NAMESPACES, PODS, ())


def test_a_cleanup_without_get_is_stopped_by_its_preflight(api: FakeApiServer) -> None:
    # Cleanup reads every leftover back (and checks its labels) before deleting it: without
    # `get` it would fail half way, after the deletions before it.
    api.deny.add(("get", "pods", None))
    with pytest.raises(BackendError, match="missing RBAC permissions") as caught:
        clean_cluster(api, "netprobe-system", 60.0, FakeClock())
    assert "get pods cluster-wide" in str(caught.value)
    assert caught.value.exit_code == EXIT_BACKEND


def test_a_staging_namespace_only_probed_to_needs_reads_only() -> None:
    from netprobe.backends.kubernetes.preflight import run_checks

    probed_to = {str(c) for c in run_checks([], [], ["kube-system"], "locks", ["kube-system"])}
    probed_from = {str(c) for c in run_checks([], [], ["kube-system"], "locks")}
    exec_and_stage = probed_from - probed_to
    assert {c.split(" in ")[0] for c in exec_and_stage} == {
        "patch pods/ephemeralcontainers",
        "get pods/exec",
        "create pods/exec",
    }
