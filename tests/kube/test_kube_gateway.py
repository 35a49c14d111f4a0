"""The gateway's REST side on the real client, with the HTTP pool answering canned JSON;
error translation; and loading the cluster configuration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from canned_http import Http, Response
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from netprobe.backends.kubernetes.api import (
    AccessCheck,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    UnauthorizedError,
    UnreachableError,
)
from netprobe.backends.kubernetes.gateway import ClientGateway, load_configuration, translate
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.errors import EXIT_BACKEND, BackendError

SERVER = "https://apiserver.test:6443 (test)"


@pytest.fixture
def http() -> Http:
    return Http()


@pytest.fixture
def gateway(http: Http, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClientGateway]:
    configuration = client.Configuration()
    configuration.host = "https://apiserver.test:6443"
    gw = ClientGateway(configuration, SERVER, 20.0, 2)
    monkeypatch.setattr(gw._rest.rest_client, "pool_manager", http)
    yield gw
    gw.close()


def test_reads_decode_json_and_404_is_none(gateway: ClientGateway, http: Http) -> None:
    http.answers += [
        Response(200, {"metadata": {"name": "x", "labels": {"a": "b"}}}),
        Response(404, {"kind": "Status", "message": 'namespaces "y" not found', "code": 404}),
    ]
    assert gateway.read_namespace("x") == {"metadata": {"name": "x", "labels": {"a": "b"}}}
    assert gateway.read_namespace("y") is None
    for request in http.requests:
        assert request["timeout"] is not None  # _request_timeout on every call


def test_lists_pass_the_label_selector_and_all_namespaces_when_none(
    gateway: ClientGateway, http: Http
) -> None:
    http.answers += [Response(200, {"items": [{"metadata": {"name": "p"}}]})] * 2
    assert gateway.list_pods("x", "app.kubernetes.io/managed-by=netprobe") == [
        {"metadata": {"name": "p"}}
    ]
    gateway.list_pods(None, "a=b")
    assert (
        "/api/v1/namespaces/x/pods?labelSelector=app.kubernetes.io/managed-by%3Dnetprobe"
        in http.requests[0]["url"]
    )
    assert http.requests[1]["url"].endswith("/api/v1/pods?labelSelector=a%3Db")


def test_label_patches_are_merge_patches_with_nulls_for_removals(
    gateway: ClientGateway, http: Http
) -> None:
    http.answers.append(Response(200, {}))
    gateway.patch_pod_labels("x", "a", {"app": "z", "old": None})
    request = http.requests[0]
    assert request["method"] == "PATCH"
    assert request["headers"]["Content-Type"] == "application/merge-patch+json"
    assert json.loads(request["body"]) == {"metadata": {"labels": {"app": "z", "old": None}}}


def test_ephemeral_containers_are_a_strategic_merge_patch_on_the_subresource(
    gateway: ClientGateway, http: Http
) -> None:
    http.answers.append(Response(200, {}))
    gateway.add_ephemeral_container("prod", "web-1", {"name": "netprobe-r", "image": "i"})
    request = http.requests[0]
    assert request["url"].endswith("/api/v1/namespaces/prod/pods/web-1/ephemeralcontainers")
    assert request["headers"]["Content-Type"] == "application/strategic-merge-patch+json"
    assert json.loads(request["body"]) == {
        "spec": {"ephemeralContainers": [{"name": "netprobe-r", "image": "i"}]}
    }


def test_ephemeral_containers_missing_on_an_old_cluster(gateway: ClientGateway, http: Http) -> None:
    http.answers += [
        Response(404, {"message": "the server could not find the requested resource"}),
        Response(200, {"metadata": {"name": "web-1"}}),
    ]
    with pytest.raises(BackendError, match="ephemeral containers are not available"):
        gateway.add_ephemeral_container("prod", "web-1", {"name": "n", "image": "i"})


def test_namespaces_are_deleted_in_the_background(gateway: ClientGateway, http: Http) -> None:
    http.answers += [Response(200, {}), Response(404, {"message": "gone"})]
    assert gateway.delete_namespace("x") is True
    assert gateway.delete_namespace("x") is False
    assert "propagationPolicy=Background" in http.requests[0]["url"]


def test_access_reviews(gateway: ClientGateway, http: Http) -> None:
    http.answers += [
        Response(201, {"status": {"allowed": True}}),
        Response(201, {"status": {"allowed": False, "reason": "no rule"}}),
    ]
    checks = [
        AccessCheck("get", "pods", subresource="exec", namespace="x"),
        AccessCheck("create", "namespaces"),
    ]
    allowed, denied = gateway.review_access(checks)
    assert allowed.allowed and not denied.allowed and denied.reason == "no rule"
    body = json.loads(http.requests[0]["body"])
    assert body["spec"]["resourceAttributes"] == {
        "verb": "get",
        "resource": "pods",
        "group": "",
        "subresource": "exec",
        "namespace": "x",
    }


def test_an_unreachable_server_is_named(gateway: ClientGateway, http: Http) -> None:
    http.answers.append(urllib3.exceptions.MaxRetryError(None, "/api", "Connection refused"))  # type: ignore[arg-type]
    with pytest.raises(
        UnreachableError,
        match=r"read namespace x: cannot reach the API server at https://apiserver.test:6443",
    ) as caught:
        gateway.read_namespace("x")
    assert caught.value.exit_code == EXIT_BACKEND


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (
            401,
            {"message": "Unauthorized"},
            UnauthorizedError,
            "credentials (401): they are missing, wrong or expired",
        ),
        (
            403,
            {"message": 'pods is forbidden: User "u" cannot create resource "pods"'},
            ForbiddenError,
            'forbidden: pods is forbidden: User "u" cannot create resource "pods"',
        ),
        (404, {"message": "not there"}, NotFoundError, "not found: not there"),
        (409, {"message": "already exists"}, ConflictError, "conflict: already exists"),
        (
            422,
            {"message": "spec.ports: Invalid"},
            InvalidError,
            "rejected as invalid: spec.ports: Invalid",
        ),
        (0, None, UnreachableError, "cannot reach the API server"),
    ],
)
def test_translate_api_exceptions(status: int, body: Any, error: type, text: str) -> None:
    exc = ApiException(status=status, reason="R")
    exc.body = json.dumps(body) if body else None
    translated = translate(exc, "create pod x/a", SERVER)
    assert isinstance(translated, error) and text in str(translated)
    assert str(translated).startswith("create pod x/a: ")
    assert translated.exit_code == EXIT_BACKEND


def test_translate_client_side_rejections() -> None:
    assert isinstance(translate(ValueError("extra fields"), "create", SERVER), InvalidError)


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: kind
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: me
  user: {token: abc}
contexts:
- name: kind-netprobe
  context: {cluster: kind, user: me}
current-context: kind-netprobe
"""


@pytest.fixture
def no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return tmp_path


def test_kubeconfig_and_context_are_loaded(no_ambient_config: Path) -> None:
    path = no_ambient_config / "config"
    path.write_text(KUBECONFIG)
    configuration, server = load_configuration(
        KubeOptions(kubeconfig=path, context="kind-netprobe")
    )
    assert configuration.host == "https://127.0.0.1:6443"
    assert "context kind-netprobe" in server and str(path) in server


def test_kubeconfig_from_the_environment(
    no_ambient_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = no_ambient_config / "env-config"
    path.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(path))
    _, server = load_configuration(KubeOptions())
    assert str(path) in server


def test_an_unknown_context_is_exit_3(no_ambient_config: Path) -> None:
    path = no_ambient_config / "config"
    path.write_text(KUBECONFIG)
    with pytest.raises(BackendError, match=rf"kubeconfig {path}, context nope: ") as caught:
        load_configuration(KubeOptions(kubeconfig=path, context="nope"))
    assert caught.value.exit_code == EXIT_BACKEND


def test_no_configuration_at_all_says_what_to_provide(no_ambient_config: Path) -> None:
    with pytest.raises(BackendError, match="pass --kubeconfig, set KUBECONFIG"):
        load_configuration(KubeOptions())


def test_in_cluster_without_a_service_account_is_exit_3(
    no_ambient_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(BackendError, match="cannot load the cluster configuration"):
        load_configuration(KubeOptions())


def test_pod_selectors_are_the_services_and_controllers_of_a_namespace(
    gateway: ClientGateway, http: Http
) -> None:
    service = {"metadata": {"name": "kube-dns"}, "spec": {"selector": {"k8s-app": "kube-dns"}}}
    replicas = {
        "metadata": {"name": "coredns-5d78c9869d"},
        "spec": {"selector": {"matchLabels": {"k8s-app": "kube-dns"}}},
    }
    http.answers += [
        Response(200, {"items": [service]}),
        Response(200, {"items": []}),
        Response(200, {"items": [replicas]}),
        Response(200, {"items": []}),
        Response(200, {"items": []}),
    ]
    found = gateway.list_pod_selectors("kube-system")
    assert [(kind, obj["metadata"]["name"]) for kind, obj in found] == [
        ("Service", "kube-dns"),
        ("ReplicaSet", "coredns-5d78c9869d"),
    ]
    assert found[0][1]["spec"]["selector"] == {"k8s-app": "kube-dns"}
    assert [request["url"].split("6443")[1] for request in http.requests] == [
        "/api/v1/namespaces/kube-system/services",
        "/api/v1/namespaces/kube-system/replicationcontrollers",
        "/apis/apps/v1/namespaces/kube-system/replicasets",
        "/apis/apps/v1/namespaces/kube-system/statefulsets",
        "/apis/apps/v1/namespaces/kube-system/daemonsets",
    ]


def test_events_are_listed_per_namespace_and_403_is_forbidden(
    gateway: ClientGateway, http: Http
) -> None:
    scheduled = {"metadata": {"name": "b.1"}, "reason": "Scheduled", "series": {"count": 2}}
    http.answers += [
        Response(200, {"kind": "EventList", "items": [scheduled]}),
        Response(403, {"kind": "Status", "message": 'events is forbidden: User "x"', "code": 403}),
    ]
    assert gateway.list_events("x") == [scheduled]
    with pytest.raises(ForbiddenError, match="list events in y: forbidden"):
        gateway.list_events("y")
    assert [r["url"].split("6443")[1] for r in http.requests] == [
        "/api/v1/namespaces/x/events",
        "/api/v1/namespaces/y/events",
    ]
