"""deploy/*.yaml: valid for Kubernetes (offline schemas, kubernetes-validate); RBAC that
grants exactly what netprobe does (every HTTP request the real gateway sends, and what the
preflight asks), with no wildcard and none of the escalation paths; every write it grants
cluster-wide confined by a ValidatingAdmissionPolicy, whose CEL expressions are evaluated
here (cel-python, :mod:`admission`) on what netprobe really sends in a run and on what it
must never do; and the
CronJob's ConfigMap (the example, and the one its comment says to make) holds suites that
`netprobe run /suites` finds in the mounted folder."""

from __future__ import annotations

import copy
import shlex
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from admission import (
    SERVICE_ACCOUNT,
    AdmittingApi,
    Decision,
    Request,
    admit,
    load_policies,
    namespace_object,
)
from canned_http import Http, Response
from configmap_volume import configmap_volume
from conftest import allow_from, deny_all_ingress, expect, ns, pod, suite
from fake_api import FakeApiServer
from kubernetes import client

from netprobe.backends.kubernetes.api import AccessCheck, KubeGateway
from netprobe.backends.kubernetes.backend import KubernetesBackend
from netprobe.backends.kubernetes.bodies import (
    DEFAULT_IMAGE,
    MANAGED_BY_KEY,
    ephemeral_container,
    namespace_manifest,
    pod_manifest,
    policy_manifest,
)
from netprobe.backends.kubernetes.cleanup import clean_cluster
from netprobe.backends.kubernetes.diagnose import events_access
from netprobe.backends.kubernetes.gateway import ClientGateway
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.backends.kubernetes.preflight import cleanup_checks, run_checks
from netprobe.backends.kubernetes.staging import probe_container_name
from netprobe.cli import main
from netprobe.clock import FakeClock
from netprobe.errors import EXIT_BACKEND, BackendError
from netprobe.model import PodRef, PolicyRef, Protocol
from netprobe.run.runner import run_suite
from netprobe.selectors import Labels, LabelSelector
from netprobe.suite import SUITE_SUFFIX
from netprobe.suite.loader import load_suites
from netprobe.suite.model import (
    ApplyPolicy,
    DeletePolicy,
    SetNamespaceLabels,
    SetPodLabels,
    Workload,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S_VERSION = "1.33.0"
"""A Kubernetes version the schemas ship for; CronJob, Lease, RBAC and
ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA in 1.30) are GA there."""
LOCKS = "netprobe-system"
SUITE_NS = "np-suite"
"""A namespace a run creates: only cluster-wide grants reach it."""
STAGED_NS = "shop"
"""The example staging namespace of rbac-staging.yaml."""
SUBJECT = {"kind": "ServiceAccount", "name": "netprobe", "namespace": LOCKS}

Grant = tuple[str, str, str]
"""(verb, API group, resource[/subresource]) as RBAC rules and access checks name them."""


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return found


DOCUMENTS = documents()
POLICIES = load_policies(doc for _, doc in DOCUMENTS)


def test_there_is_something_to_validate() -> None:
    kinds = {doc["kind"] for _, doc in DOCUMENTS}
    assert {
        "ClusterRole",
        "Role",
        "ServiceAccount",
        "CronJob",
        "ClusterRoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    } <= kinds
    assert (DEPLOY / "Dockerfile").is_file()
    assert len(POLICIES) == 5


@pytest.mark.parametrize(("name", "doc"), DOCUMENTS, ids=[name for name, _ in DOCUMENTS])
def test_manifest_is_valid_for_kubernetes(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_an_invalid_manifest_is_caught() -> None:
    bad = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "x"},
        "spec": {"schedule": 5},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


# -- the RBAC, as the authorizer reads it ------------------------------------------------


def _docs(kind: str, files: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    for name, doc in DOCUMENTS:
        if doc["kind"] == kind and (files is None or name.split(":")[0] in files):
            yield doc


def _rules(role_ref: dict[str, Any], namespace: str | None) -> list[dict[str, Any]]:
    kind, name = role_ref["kind"], role_ref["name"]
    for doc in _docs(kind):
        if doc["metadata"]["name"] == name and (
            kind == "ClusterRole" or doc["metadata"].get("namespace") == namespace
        ):
            return list(doc["rules"])
    raise AssertionError(f"{kind} {name} is bound but not defined")


def _expand(rules: Iterable[dict[str, Any]]) -> set[Grant]:
    return {
        (verb, group, resource)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def grants(namespace: str | None = None, files: Iterable[str] | None = None) -> set[Grant]:
    """What netprobe's ServiceAccount may do cluster-wide (None), or in ``namespace``:
    what ClusterRoleBindings grant it, plus RoleBindings in that namespace (a RoleBinding
    to a ClusterRole grants its rules in the binding's namespace only)."""
    out: set[Grant] = set()
    for binding in _docs("ClusterRoleBinding", files):
        if SUBJECT in binding["subjects"]:
            out |= _expand(_rules(binding["roleRef"], None))
    for binding in _docs("RoleBinding", files):
        bound_in = binding["metadata"]["namespace"]
        if SUBJECT in binding["subjects"] and namespace == bound_in:
            out |= _expand(_rules(binding["roleRef"], bound_in))
    return out


def needed(checks: Iterable[AccessCheck]) -> set[Grant]:
    return {
        (c.verb, c.group, f"{c.resource}/{c.subresource}" if c.subresource else c.resource)
        for c in checks
    }


def test_no_role_has_a_wildcard_or_an_escalation_path() -> None:
    # The escalation paths of kubernetes/website
    # content/en/docs/concepts/security/rbac-good-practices.md: reading Secrets, creating
    # PersistentVolumes, nodes/proxy, escalate, bind, impersonate, CSR approval, token
    # requests, admission webhooks (and policies).
    forbidden_resources = {
        "secrets",
        "configmaps",
        "serviceaccounts",
        "serviceaccounts/token",
        "persistentvolumes",
        "persistentvolumeclaims",
        "nodes",
        "nodes/proxy",
        "certificatesigningrequests",
        "certificatesigningrequests/approval",
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
        "roles",
        "rolebindings",
        "clusterroles",
        "clusterrolebindings",
        "pods/attach",
        "pods/portforward",
        "pods/proxy",
        "deployments",
        "daemonsets",
        "statefulsets",
        "replicasets",
        "jobs",
        "cronjobs",
    }
    for kind in ("ClusterRole", "Role"):
        for doc in _docs(kind):
            name = f"{kind} {doc['metadata']['name']}"
            for rule in doc["rules"]:
                assert "nonResourceURLs" not in rule and "resourceNames" not in rule, name
                for field in ("verbs", "resources", "apiGroups"):
                    assert not any("*" in item for item in rule[field]), (name, field)
                assert not {"escalate", "bind", "impersonate", "watch"} & set(rule["verbs"])
                writes = {"create", "update", "patch", "delete", "deletecollection"}
                granted = set(rule["resources"]) & forbidden_resources
                if granted:  # only ever read, and then only the selector objects
                    assert not writes & set(rule["verbs"]), (name, granted)
                    assert granted <= {"daemonsets", "statefulsets", "replicasets"}, name
                    assert rule["verbs"] == ["list"], name


def test_staging_is_granted_per_namespace_only() -> None:
    assert not list(_docs("ClusterRoleBinding", ["rbac-staging.yaml"]))
    assert ("patch", "", "pods/ephemeralcontainers") not in grants(None)
    assert ("patch", "", "pods/ephemeralcontainers") in grants(STAGED_NS)
    assert ("patch", "", "pods/ephemeralcontainers") not in grants("kube-system")
    assert not grants(None, ["rbac-staging.yaml"])


# -- every request the gateway sends is granted ---------------------------------------


def request_info(method: str, url: str) -> tuple[Grant, str | None]:
    """The authorizer's view of one request, as kube-apiserver's RequestInfoFactory derives
    it (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go): the verb from
    the HTTP method (GET on a collection is list), /namespaces/{ns}/ sets the namespace,
    and /api/v1/namespaces/{name} has the namespace {name} itself."""
    parts = urlsplit(url).path.strip("/").split("/")
    if parts[0] == "api":
        group, rest = "", parts[2:]
    else:
        group, rest = parts[1], parts[3:]
    namespace = None
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    if len(rest) > 2:
        resource = f"{resource}/{rest[2]}"
    verb = {"POST": "create", "GET": "get", "PUT": "update", "PATCH": "patch"}.get(method, "delete")
    if not name and verb == "get":
        verb = "list"
    return (verb, group, resource), namespace


POD = pod_manifest(pod(f"{SUITE_NS}/p"), "r", DEFAULT_IMAGE)
POLICY = policy_manifest(deny_all_ingress(SUITE_NS, "x"), "r")
LEASE = {"metadata": {"name": "l", "namespace": LOCKS}, "spec": {"holderIdentity": "r"}}
CALLS: dict[str, Callable[[ClientGateway], object]] = {
    "review_access": lambda g: g.review_access([AccessCheck("get", "pods")]),
    "read_namespace": lambda g: g.read_namespace(SUITE_NS),
    "list_namespaces": lambda g: g.list_namespaces("a=b"),
    "create_namespace": lambda g: g.create_namespace({"metadata": {"name": SUITE_NS}}),
    "patch_namespace_labels": lambda g: g.patch_namespace_labels(SUITE_NS, {"a": "b"}),
    "delete_namespace": lambda g: g.delete_namespace(SUITE_NS),
    "read_pod": lambda g: g.read_pod(SUITE_NS, "p"),
    "list_pods": lambda g: (g.list_pods(SUITE_NS, "a=b"), g.list_pods(None, "a=b")),
    "list_pod_selectors": lambda g: g.list_pod_selectors(SUITE_NS),
    "list_events": lambda g: (g.list_events(SUITE_NS), g.list_events(STAGED_NS)),
    "create_pod": lambda g: g.create_pod(SUITE_NS, POD),
    "patch_pod_labels": lambda g: g.patch_pod_labels(SUITE_NS, "p", {"a": None}),
    "delete_pod": lambda g: g.delete_pod(SUITE_NS, "p"),
    "add_ephemeral_container": lambda g: g.add_ephemeral_container(
        STAGED_NS, "web-1", {"name": "netprobe-x"}
    ),
    "read_policy": lambda g: g.read_policy(SUITE_NS, "x"),
    "list_policies": lambda g: (g.list_policies(SUITE_NS, ""), g.list_policies(None, "a")),
    "create_policy": lambda g: g.create_policy(SUITE_NS, POLICY),
    "replace_policy": lambda g: g.replace_policy(SUITE_NS, "x", POLICY),
    "delete_policy": lambda g: g.delete_policy(SUITE_NS, "x"),
    "read_lease": lambda g: g.read_lease(LOCKS, "l"),
    "list_leases": lambda g: g.list_leases(LOCKS, "a=b"),
    "create_lease": lambda g: g.create_lease(LOCKS, LEASE),
    "replace_lease": lambda g: g.replace_lease(LOCKS, "l", LEASE),
    "delete_lease": lambda g: g.delete_lease(LOCKS, "x"),
}
EXEC = [(("get", "", "pods/exec"), SUITE_NS), (("create", "", "pods/exec"), SUITE_NS)]
"""Exec goes over a WebSocket, not the pool: the client's handshake is a GET on
pods/exec (so `get`), and Kubernetes >= 1.35 also authorizes `create` on the upgrade
(kubernetes/kubernetes#134577)."""
BUILT_IN = {("create", "authorization.k8s.io", "selfsubjectaccessreviews")}
"""Allowed to every authenticated user by the built-in system:basic-user ClusterRole."""


def gateway_requests() -> dict[str, list[tuple[Grant, str | None]]]:
    """Every method of the real gateway -> the requests it sends (recorded at the HTTP
    pool of the real client)."""
    configuration = client.Configuration()
    configuration.host = "https://apiserver.test:6443"
    gateway = ClientGateway(configuration, "test", 5.0, 1)
    http = Http(default=Response(200, {"items": [], "status": {"allowed": True}}))
    gateway._rest.rest_client.pool_manager = http
    out = {}
    try:
        for method, call in CALLS.items():
            http.requests.clear()
            call(gateway)
            out[method] = [request_info(r["method"], r["url"]) for r in http.requests]
    finally:
        gateway.close()
    return {**out, "exec": EXEC}


REQUESTS = gateway_requests()


def test_every_gateway_method_is_replayed() -> None:
    methods = {name for name in vars(KubeGateway) if not name.startswith("_")}
    assert set(REQUESTS) == methods - {"server", "close"}
    assert all(REQUESTS.values())
    assert {grant for grant, _ in REQUESTS["list_pod_selectors"]} == {
        ("list", "", "services"),
        ("list", "", "replicationcontrollers"),
        ("list", "apps", "replicasets"),
        ("list", "apps", "statefulsets"),
        ("list", "apps", "daemonsets"),
    }
    assert (("patch", "", "pods/ephemeralcontainers"), STAGED_NS) in REQUESTS[
        "add_ephemeral_container"
    ]


@pytest.mark.parametrize("method", sorted(REQUESTS))
def test_every_request_the_gateway_sends_is_granted_where_it_is_sent(method: str) -> None:
    for grant, namespace in REQUESTS[method]:
        if grant in BUILT_IN:
            continue
        allowed = grants(None) | (grants(namespace) if namespace else set())
        assert grant in allowed, f"{method}: {grant} in {namespace or 'the cluster'}"


def test_every_grant_is_used_by_some_request() -> None:
    sent = {grant for requests in REQUESTS.values() for grant, _ in requests}
    for namespace in (None, LOCKS, STAGED_NS):
        assert grants(namespace) <= sent, grants(namespace) - sent


# -- the preflight asks for exactly what is granted, and for everything used -------------


def test_the_runner_roles_grant_exactly_what_a_run_and_cleanup_check() -> None:
    run = run_checks(["a"], ["b"], [], LOCKS)
    checks = [*run, *cleanup_checks(LOCKS)]
    cluster = needed(c for c in checks if c.namespace != LOCKS)
    cluster |= needed([events_access("a")])  # diagnostics of a failed run, not checked
    locks = needed(c for c in checks if c.namespace == LOCKS)
    assert cluster == grants(None, ["rbac.yaml"])
    assert locks == grants(LOCKS, ["rbac.yaml"]) - grants(None, ["rbac.yaml"])
    assert {("get", "", "pods/exec"), ("create", "", "pods/exec")} <= cluster


def test_the_staging_role_grants_what_staging_checks_and_never_pod_writes() -> None:
    have = grants(STAGED_NS, ["rbac-staging.yaml"])
    staged = needed(run_checks([], [], [STAGED_NS], "x")) - needed(run_checks([], [], [], "x"))
    assert staged <= have
    assert not {("create", "", "pods"), ("delete", "", "pods"), ("patch", "", "pods")} & have


class Recording:
    """A gateway that records each call (method, namespace) and what its preflight asked."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.calls: list[tuple[str, str | None]] = []
        self.checked: list[AccessCheck] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name in ("server", "close") or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if name == "review_access":
                self.checked += list(args[0])
            else:
                namespace = args[0] if _namespace_first(name) else None
                self.calls.append((name, namespace))
            return attr(*args, **kwargs)

        return call


def _namespace_first(method: str) -> bool:
    return not method.endswith(("_namespace", "_namespaces", "_namespace_labels"))


def uncovered(recording: Recording) -> list[str]:
    """The requests ``recording`` made that no access check it reviewed covers."""
    missing = []
    for method, namespace in recording.calls:
        requests = REQUESTS[method]
        if method in ("list_pods", "list_policies"):  # the namespaced call, or all
            requests = [r for r in requests if (r[1] is None) == (namespace is None)]
        for grant, _ in requests:
            if not any(
                needed([c]) == {grant} and c.namespace in (None, namespace)
                for c in recording.checked
            ):
                missing.append(f"{method}: {grant} in {namespace or 'the cluster'}")
    return sorted(set(missing))


WEB = Workload(PodRef(STAGED_NS, "web"), LabelSelector(Labels({"app": "web"})))


def every_kind_of_run(api: FakeApiServer) -> object:
    """A suite that does everything a run can: a namespace it creates (``a``), one lent to
    it (``b``, labelled netprobe.io/borrowable=true by an administrator), a staging
    workload (``shop/web``), and steps applying, replacing and deleting policies and
    relabelling a pod and a namespace."""
    api.add_workload_pod("b", "someones-app", {"app": "theirs"})
    api.namespaces["b"]["metadata"]["labels"]["netprobe.io/borrowable"] = "true"
    api.add_workload_pod(STAGED_NS, "web-1", {"app": "web"}, [{"containerPort": 8080}])
    api.stand_ins[(STAGED_NS, "web-1", probe_container_name({}, DEFAULT_IMAGE, "run1"))] = WEB.ref
    return suite(
        (ns("a"), ns("b", **{"netprobe.io/borrowable": "true"})),
        (
            pod("a/client", app="client"),
            pod("b/server", app="server"),
            pod(f"{STAGED_NS}/web", ((8080, Protocol.TCP),), app="web"),
        ),
        (deny_all_ingress("b", "b-closed"),),
        [
            (
                (),
                (
                    expect("a/client", "b/server", allowed=False),
                    expect("b/server", "a/client"),
                ),
            ),
            (
                (
                    DeletePolicy(PolicyRef("b", "b-closed")),
                    ApplyPolicy(deny_all_ingress("a", "a-closed")),
                    ApplyPolicy(allow_from("a", "a-closed", {"app": "client"}, {"app": "none"})),
                    SetPodLabels(PodRef("a", "client"), Labels({"app": "client", "v": "2"})),
                    SetNamespaceLabels("a", Labels({"team": "x"})),
                ),
                (
                    expect("a/client", "b/server"),
                    expect(f"{STAGED_NS}/web", "a/client", allowed=False),
                ),
            ),
        ],
    )


def run_everything(gateway: object, api: FakeApiServer, clock: FakeClock) -> None:
    test_suite = every_kind_of_run(api)
    # Leases short enough to be renewed while the probe pods start
    options = KubeOptions(run_id="run1", use_existing_namespaces=True, lease_seconds=3)
    backend = KubernetesBackend(gateway, options, clock=clock)  # type: ignore[arg-type]
    backend.use_workloads((WEB,), sources={WEB.ref})
    result = run_suite(test_suite, backend, clock=clock)  # type: ignore[arg-type]
    assert [r.status.name for r in result.results] == ["PASS"] * 4, result.results


def test_every_call_a_run_makes_is_checked_by_its_preflight(
    api: FakeApiServer, clock: FakeClock
) -> None:
    recording = Recording(api)
    run_everything(recording, api, clock)
    assert {m for m, _ in recording.calls} >= set(REQUESTS) - {
        "list_leases",  # cleanup's
        "list_events",  # the diagnostics of a failed run: optional, not in the preflight
        "review_access",
    }
    assert uncovered(recording) == []


def test_every_call_a_cleanup_makes_is_checked_by_its_preflight(
    api: FakeApiServer, clock: FakeClock
) -> None:
    # leftovers of an interrupted run: a namespace, a pod and a policy in a borrowed one
    api.create_namespace(namespace_manifest(ns("left"), "dead", 1))
    api.add_workload_pod("b", "someones-app", {"app": "theirs"})
    api.create_pod("b", pod_manifest(pod("b/p"), "dead", DEFAULT_IMAGE))
    api.create_policy("b", policy_manifest(deny_all_ingress("b"), "dead"))
    recording = Recording(api)
    report = clean_cluster(recording, LOCKS, 60.0, clock)  # type: ignore[arg-type]
    assert report.found.namespaces == ("left",) and report.found.pods == (PodRef("b", "p"),)
    assert {m for m, _ in recording.calls} >= {"read_pod", "delete_pod", "delete_policy"}
    assert uncovered(recording) == []


# -- confinement: the ValidatingAdmissionPolicies ------------------------------------


OPERATIONS = {"create": "CREATE", "update": "UPDATE", "patch": "UPDATE", "delete": "DELETE"}


def _policy_docs() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _docs("ValidatingAdmissionPolicy")}


def test_every_write_granted_cluster_wide_is_confined_by_a_policy() -> None:
    by_name = _policy_docs()
    for verb, group, resource in sorted(grants(None)):
        if verb in ("get", "list") and resource != "pods/exec":
            continue
        operation = "CONNECT" if resource == "pods/exec" else OPERATIONS[verb]
        main, _, sub = resource.partition("/")
        probe = Request(operation, main, group, subresource=sub)
        matching = [p for p in POLICIES if p.matches(probe)]
        assert matching, f"{verb} {resource} is granted cluster-wide and confined by nothing"
        for policy in matching:
            spec = by_name[policy.name]["spec"]
            assert spec["failurePolicy"] == "Fail"
            assert [c["expression"] for c in spec["matchConditions"]] == [
                f"request.userInfo.username == '{SERVICE_ACCOUNT}'"
            ]
            assert all(v.get("reason") == "Forbidden" for v in spec["validations"])


def test_no_cluster_wide_exec_without_the_exec_policy() -> None:
    assert ("create", "", "pods/exec") in grants(None)
    exec_policy = [p for p in POLICIES if p.matches(Request("CONNECT", "pods", "", "exec"))]
    assert [p.name for p in exec_policy] == ["netprobe-exec"]
    (binding,) = [
        d
        for d in _docs("ValidatingAdmissionPolicyBinding")
        if d["spec"]["policyName"] == "netprobe-exec"
    ]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert "matchResources" not in binding["spec"]  # every request the policy matches


OWN = namespace_object(namespace_manifest(ns("np-a"), "run1", 1))
LENT = {"metadata": {"name": "lent", "labels": {"netprobe.io/borrowable": "true"}}}
KUBE_SYSTEM = {
    "metadata": {"name": "kube-system", "labels": {"kubernetes.io/metadata.name": "kube-system"}}
}
PROBE_POD = pod_manifest(pod("np-a/p", ((80, Protocol.TCP), (53, Protocol.UDP))), "run1", "img")
FOREIGN_POD = {"metadata": {"name": "coredns", "labels": {"k8s-app": "kube-dns"}}}
STAGING_CONTAINER = ephemeral_container(
    probe_container_name({}, DEFAULT_IMAGE, "r"), DEFAULT_IMAGE, "app"
)


def _with(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``obj`` with ``value`` at ``path`` (dots; a number indexes a list)."""
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return out


def _exec(namespace: dict[str, Any], container: str) -> Request:
    options = {"kind": "PodExecOptions", "container": container, "command": ["sh"]}
    name = namespace["metadata"]["name"]
    return Request("CONNECT", "pods", "", "exec", name, "x", options, None, namespace)


def _pod(operation: str, namespace: dict[str, Any], new: Any = None, old: Any = None) -> Request:
    name = namespace["metadata"]["name"]
    return Request(operation, "pods", "", "", name, "p", new, old, namespace)


def _staged(container: dict[str, Any]) -> Request:
    old = {"metadata": {"name": "web-1"}, "spec": {"containers": [{"name": "app"}]}}
    new = _with(old, "spec.ephemeralContainers", [container])
    shop = {"metadata": {"name": STAGED_NS}}
    return Request("UPDATE", "pods", "", "ephemeralcontainers", STAGED_NS, "web-1", new, old, shop)


ALLOWED = {
    "namespace create, labelled": Request(
        "CREATE", "namespaces", name="np-a", object=namespace_manifest(ns("np-a"), "r", 1)
    ),
    "namespace relabel, label kept": Request(
        "UPDATE",
        "namespaces",
        name="np-a",
        object=_with(OWN, "metadata.labels.team", "x"),
        old_object=OWN,
    ),
    "namespace delete, netprobe's": Request("DELETE", "namespaces", name="np-a", old_object=OWN),
    "pod create in a netprobe namespace": _pod("CREATE", OWN, PROBE_POD),
    "pod create in a lent namespace": _pod("CREATE", LENT, PROBE_POD),
    "pod relabel": _pod("UPDATE", OWN, _with(PROBE_POD, "metadata.labels.app", "y"), PROBE_POD),
    "pod delete in a lent namespace": _pod("DELETE", LENT, old=PROBE_POD),
    "policy create in a netprobe namespace": Request(
        "CREATE",
        "networkpolicies",
        "networking.k8s.io",
        "",
        "np-a",
        "x",
        policy_manifest(deny_all_ingress("np-a"), "r"),
        None,
        OWN,
    ),
    "exec in a netprobe namespace": _exec(OWN, "probe"),
    "exec into probe in a lent namespace": _exec(LENT, "probe"),
    "exec into a staging container": _exec({"metadata": {"name": "shop"}}, "netprobe-0a1b2c"),
    "staging container added": _staged(STAGING_CONTAINER),
    "someone else deleting kube-system's pods": Request(
        "DELETE",
        "pods",
        namespace="kube-system",
        old_object=FOREIGN_POD,
        namespace_object=KUBE_SYSTEM,
        username="system:serviceaccount:kube-system:replicaset-controller",
    ),
}

DENIED = {
    "pod create in kube-system": (
        _pod("CREATE", KUBE_SYSTEM, _with(PROBE_POD, "metadata.namespace", "kube-system")),
        "netprobe-pods-and-policies",
    ),
    "delete of a pod netprobe did not create, in a lent namespace": (
        _pod("DELETE", LENT, old=FOREIGN_POD),
        "netprobe-pods-and-policies",
    ),
    "relabel removing netprobe's label from its pod": (
        _pod("UPDATE", OWN, _with(PROBE_POD, "metadata.labels", {}), PROBE_POD),
        "netprobe-pods-and-policies",
    ),
    "policy create in kube-system": (
        Request(
            "CREATE",
            "networkpolicies",
            "networking.k8s.io",
            "",
            "kube-system",
            "x",
            policy_manifest(deny_all_ingress("kube-system"), "r"),
            None,
            KUBE_SYSTEM,
        ),
        "netprobe-pods-and-policies",
    ),
    "exec in kube-system": (_exec(KUBE_SYSTEM, "coredns"), "netprobe-exec"),
    "exec into probe of a namespace not lent": (_exec(KUBE_SYSTEM, "probe"), "netprobe-exec"),
    "exec into another container of a lent namespace": (_exec(LENT, "app"), "netprobe-exec"),
    "delete of kube-system (no label)": (
        Request("DELETE", "namespaces", name="kube-system", old_object=KUBE_SYSTEM),
        "netprobe-namespaces",
    ),
    "namespace create without the label": (
        Request("CREATE", "namespaces", name="x", object={"metadata": {"name": "x"}}),
        "netprobe-namespaces",
    ),
    "label added to a namespace not netprobe's": (
        Request(
            "UPDATE",
            "namespaces",
            name="kube-system",
            object=_with(
                KUBE_SYSTEM,
                "metadata.labels",
                {"kubernetes.io/metadata.name": "kube-system", MANAGED_BY_KEY: "netprobe"},
            ),
            old_object=KUBE_SYSTEM,
        ),
        "netprobe-namespaces",
    ),
    "lending a namespace to itself": (
        Request(
            "UPDATE",
            "namespaces",
            name="kube-system",
            object=_with(KUBE_SYSTEM, "metadata.labels", {"netprobe.io/borrowable": "true"}),
            old_object=KUBE_SYSTEM,
        ),
        "netprobe-namespaces",
    ),
    "label removed from its namespace": (
        Request(
            "UPDATE",
            "namespaces",
            name="np-a",
            object=_with(OWN, "metadata.labels", {"kubernetes.io/metadata.name": "np-a"}),
            old_object=OWN,
        ),
        "netprobe-namespaces",
    ),
    "privileged pod in its own namespace": (
        _pod("CREATE", OWN, _with(PROBE_POD, "spec.containers.0.securityContext.privileged", True)),
        "netprobe-unprivileged-pods",
    ),
    "pod on the node's network": (
        _pod("CREATE", OWN, _with(PROBE_POD, "spec.hostNetwork", True)),
        "netprobe-unprivileged-pods",
    ),
    "pod mounting a Secret": (
        _pod("CREATE", OWN, _with(PROBE_POD, "spec.volumes", [{"name": "s", "secret": {}}])),
        "netprobe-unprivileged-pods",
    ),
    "pod with a service account token": (
        _pod("CREATE", OWN, _with(PROBE_POD, "spec.automountServiceAccountToken", True)),
        "netprobe-unprivileged-pods",
    ),
    "container reading a Secret into its environment": (
        _pod(
            "CREATE",
            OWN,
            _with(
                PROBE_POD,
                "spec.containers.0.env",
                [{"name": "T", "valueFrom": {"secretKeyRef": {}}}],
            ),
        ),
        "netprobe-unprivileged-pods",
    ),
    "container adding a capability": (
        _pod(
            "CREATE",
            OWN,
            _with(PROBE_POD, "spec.containers.0.securityContext.capabilities.add", ["NET_ADMIN"]),
        ),
        "netprobe-unprivileged-pods",
    ),
    "staging container with another name": (
        _staged(_with(STAGING_CONTAINER, "name", "debugger")),
        "netprobe-ephemeral-containers",
    ),
    "staging container running as root": (
        _staged(_with(STAGING_CONTAINER, "securityContext.runAsNonRoot", False)),
        "netprobe-ephemeral-containers",
    ),
    "staging container mounting the pod's volume": (
        _staged(_with(STAGING_CONTAINER, "volumeMounts", [{"name": "token", "mountPath": "/t"}])),
        "netprobe-ephemeral-containers",
    ),
}


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_the_policies_admit_what_netprobe_does(case: str) -> None:
    assert admit(POLICIES, ALLOWED[case]) == Decision(True)


@pytest.mark.parametrize("case", sorted(DENIED))
def test_the_policies_deny_what_netprobe_must_never_do(case: str) -> None:
    request, policy = DENIED[case]
    decision = admit(POLICIES, request)
    assert decision.error == ""  # denied by a rule, not by an expression that broke
    assert not decision.allowed and decision.policy == policy, decision
    assert decision.message.startswith(f"ValidatingAdmissionPolicy '{policy}' with binding")


def test_a_whole_run_of_every_kind_is_admitted(api: FakeApiServer, clock: FakeClock) -> None:
    admitting = AdmittingApi(api, POLICIES)
    run_everything(admitting, api, clock)
    assert admitting.denied == []
    judged = {(r.operation, r.resource, r.subresource) for r in admitting.admitted}
    assert judged >= {
        ("CREATE", "namespaces", ""),
        ("UPDATE", "namespaces", ""),
        ("DELETE", "namespaces", ""),
        ("CREATE", "pods", ""),
        ("UPDATE", "pods", ""),
        ("DELETE", "pods", ""),  # its pod in the lent namespace, at teardown
        ("UPDATE", "pods", "ephemeralcontainers"),
        ("CREATE", "networkpolicies", ""),
        ("DELETE", "networkpolicies", ""),
        ("CONNECT", "pods", "exec"),
    }
    assert {r.namespace for r in admitting.admitted if r.operation == "CONNECT"} == {
        "a",
        "b",
        STAGED_NS,
    }


def test_a_namespace_not_lent_stops_the_run_with_the_policys_message(
    api: FakeApiServer, clock: FakeClock
) -> None:
    test_suite = every_kind_of_run(api)
    del api.namespaces["b"]["metadata"]["labels"]["netprobe.io/borrowable"]
    admitting = AdmittingApi(api, POLICIES)
    backend = KubernetesBackend(
        admitting,  # type: ignore[arg-type]
        KubeOptions(run_id="run1", use_existing_namespaces=True),
        clock=clock,
    )
    backend.use_workloads((WEB,), sources={WEB.ref})
    with pytest.raises(BackendError) as caught:
        run_suite(test_suite, backend, clock=clock)
    assert caught.value.exit_code == EXIT_BACKEND
    assert "netprobe-pods-and-policies" in str(caught.value)
    assert "labelled netprobe.io/borrowable=true" in str(caught.value)
    assert ("b", "server") not in api.pods and ("b", "someones-app") in api.pods
    assert "a" not in api.namespaces  # torn down


def test_cleanup_is_admitted(api: FakeApiServer, clock: FakeClock) -> None:
    api.create_namespace(namespace_manifest(ns("left"), "dead", 1))
    api.add_workload_pod("b", "someones-app", {"app": "theirs"})
    api.namespaces["b"]["metadata"]["labels"]["netprobe.io/borrowable"] = "true"
    api.create_pod("b", pod_manifest(pod("b/p"), "dead", DEFAULT_IMAGE))
    admitting = AdmittingApi(api, POLICIES)
    report = clean_cluster(admitting, LOCKS, 60.0, clock)  # type: ignore[arg-type]
    assert admitting.denied == [] and report.outcome is not None
    assert not report.outcome.remaining
    assert ("b", "someones-app") in api.pods


def _expressions(doc: dict[str, Any]) -> Sequence[str]:
    spec = doc["spec"]
    return [
        *(c["expression"] for c in spec.get("matchConditions") or ()),
        *(v["expression"] for v in spec.get("variables") or ()),
        *(v["expression"] for v in spec["validations"]),
    ]


def test_the_policies_use_standard_cel_only() -> None:
    # cel-python runs standard CEL; what it compiled above is also what kube-apiserver
    # compiles without its Kubernetes libraries. Null comparisons are avoided on purpose
    # (cel-python has no heterogeneous equality): the operation says which object exists.
    for doc in _policy_docs().values():
        for expression in _expressions(doc):
            assert "!= null" not in expression and "== null" not in expression, expression
            assert "authorizer" not in expression and "params" not in expression
        for validation in doc["spec"]["validations"]:
            assert "\n" not in validation["message"]  # kube-apiserver rejects line breaks


def test_the_cronjob_runs_as_the_runner_service_account_without_privileges() -> None:
    (cron,) = [doc for _, doc in DOCUMENTS if doc["kind"] == "CronJob"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "netprobe"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert "--junit" in container["args"][0] and "-o json" in container["args"][0]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"


def cronjob_pod() -> tuple[dict[str, Any], dict[str, Any]]:
    (cron,) = [doc for _, doc in DOCUMENTS if doc["kind"] == "CronJob"]
    return cron, cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def suites_configmap() -> tuple[str, str, str]:
    """The ConfigMap the CronJob mounts as its suites: name, namespace, mount path."""
    cron, pod = cronjob_pod()
    (container,) = pod["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/suites"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    return volume["configMap"]["name"], cron["metadata"]["namespace"], mount["mountPath"]


def test_the_cronjob_runs_the_suites_of_the_folder_its_configmap_is_mounted_at() -> None:
    _, pod = cronjob_pod()
    (container,) = pod["containers"]
    _, _, mount = suites_configmap()
    assert f"netprobe run {mount} --backend kubernetes" in container["args"][0]


def test_netprobe_run_finds_the_suite_of_the_example_configmap_in_its_mount(
    tmp_path: Path,
) -> None:
    name, namespace, _ = suites_configmap()
    (configmap,) = [
        doc
        for _, doc in DOCUMENTS
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == name
    ]
    assert configmap["metadata"]["namespace"] == namespace
    assert all(key.endswith(SUITE_SUFFIX) for key in configmap["data"])
    volume = configmap_volume(tmp_path / "suites", configmap["data"])
    suites = load_suites([volume], print)  # what `netprobe run /suites` loads
    assert [suite.path.name for suite in suites] == list(configmap["data"])


def test_the_command_the_cronjob_documents_writes_the_configmap_it_mounts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name, namespace, _ = suites_configmap()
    documented = f"netprobe bundle suites/ --configmap {name} -n {namespace} | kubectl apply -f -"
    assert documented in (DEPLOY / "cronjob.yaml").read_text()
    monkeypatch.chdir(DEPLOY.parent)
    assert main(shlex.split(documented.partition("|")[0])[1:]) == 0
    manifest = yaml.safe_load(capsys.readouterr().out)
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
    assert manifest["metadata"] == {"name": name, "namespace": namespace}
    volume = configmap_volume(tmp_path / "suites", manifest["data"])
    bundled = load_suites([volume], print)
    assert [s.name for s in bundled] == [s.name for s in load_suites([Path("suites")], print)]
