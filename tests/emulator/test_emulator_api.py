"""The emulator behaves like kube-apiserver where netprobe relies on it, checked through
the real ``kubernetes`` client over HTTPS (each behaviour cites where upstream does it)."""

from __future__ import annotations

import gc
import json
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from emulator.access import User, rule
from emulator.cluster import EmulatedCluster
from emulator.server import Fault
from emulator.store import RESOURCES
from netprobe.backends.kubernetes.bodies import pod_manifest
from netprobe.model import ContainerPort, Pod, PodRef, Protocol
from netprobe.selectors import Labels

pytestmark = pytest.mark.root
NAMESPACES = RESOURCES["namespaces"]


_OPEN: list[client.ApiClient] = []


@pytest.fixture(autouse=True)
def _close_clients(cluster: EmulatedCluster) -> Iterator[None]:
    """Close the clients, and delete the namespaces the test made (their pods hold the
    node's sandboxes, which the whole-run tests sharing this cluster need)."""
    namespaces = cluster.store.objects(NAMESPACES)
    before = {ns["metadata"]["name"] for ns in namespaces}
    yield
    while _OPEN:
        _OPEN.pop().close()
    for ns in cluster.store.objects(NAMESPACES):
        name = ns["metadata"]["name"]
        if name not in before and not ns["metadata"].get("deletionTimestamp"):
            cluster.store.delete(NAMESPACES, "", name)


def api(kubeconfig: Path) -> client.ApiClient:
    _OPEN.append(config.new_client_from_config(str(kubeconfig)))
    return _OPEN[-1]


def core(kubeconfig: Path) -> client.CoreV1Api:
    return client.CoreV1Api(api(kubeconfig))


def eventually(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def namespace(v1: client.CoreV1Api, name: str, **labels: str) -> None:
    v1.create_namespace({"metadata": {"name": name, "labels": labels}})


def probe_pod(name: str, namespace: str, *ports: tuple[int, Protocol]) -> dict[str, Any]:
    """netprobe's pod body, without its ownership labels: these pods are a user's, which
    the whole-run tests sharing this cluster must find none of netprobe's among."""
    pod = Pod(
        PodRef(namespace, name),
        Labels({"app": name}),
        tuple(ContainerPort(p, proto) for p, proto in ports),
    )
    body = pod_manifest(pod, "0123456789ab", "registry.k8s.io/e2e-test-images/agnhost:2.66.1")
    body["metadata"]["labels"] = {"app": name}
    return body


def running(v1: client.CoreV1Api, ns: str, name: str) -> client.V1Pod | None:
    pod = v1.read_namespaced_pod(name, ns)
    ready = [c.status for c in pod.status.conditions or () if c.type == "Ready"]
    return pod if pod.status.phase == "Running" and ready == ["True"] else None


def status_of(exc: ApiException) -> dict[str, Any]:
    return json.loads(exc.body)


def test_namespaces_get_their_name_label_and_terminate_with_409_on_second_delete(
    kubeconfig: Path,
) -> None:
    v1 = core(kubeconfig)
    namespace(v1, "term")
    # pkg/registry/core/namespace/strategy.go PrepareForCreate (NamespaceDefaultLabelName)
    assert v1.read_namespace("term").metadata.labels == {"kubernetes.io/metadata.name": "term"}
    v1.create_namespaced_pod("term", probe_pod("web", "term", (80, Protocol.TCP)))
    eventually(lambda: running(v1, "term", "web"))
    v1.delete_namespace("term")
    going = v1.read_namespace("term")
    assert going.status.phase == "Terminating" and going.metadata.deletion_timestamp
    with pytest.raises(ApiException) as again:
        v1.delete_namespace("term")
    assert again.value.status == 409
    assert "is ensuring all content is removed" in status_of(again.value)["message"]
    with pytest.raises(ApiException) as inside:
        v1.create_namespaced_pod("term", probe_pod("late", "term"))
    assert inside.value.status == 403
    assert "because it is being terminated" in status_of(inside.value)["message"]

    def gone() -> bool:
        try:
            v1.read_namespace("term")
        except ApiException as exc:
            return exc.status == 404
        return False

    assert eventually(gone)


def test_pods_are_pending_then_running_with_their_ips(kubeconfig: Path) -> None:
    v1 = core(kubeconfig)
    namespace(v1, "life")
    created = v1.create_namespaced_pod("life", probe_pod("web", "life", (80, Protocol.TCP)))
    assert created.status is None or created.status.phase in (None, "Pending")
    assert created.status is None or not created.status.pod_ip
    pod = eventually(lambda: running(v1, "life", "web"))
    assert pod is not None
    assert pod.spec.node_name and pod.status.pod_ip.startswith("10.244.")
    assert [ip.ip for ip in getattr(pod.status, "pod_ips", None) or pod.status.pod_i_ps] == [
        pod.status.pod_ip
    ]
    assert all(c.ready and c.state.running for c in pod.status.container_statuses)


def test_graceful_pod_deletion_marks_then_removes_and_grace_zero_removes_at_once(
    kubeconfig: Path,
) -> None:
    v1 = core(kubeconfig)
    namespace(v1, "grace")
    for name in ("slow", "fast"):
        body = probe_pod(name, "grace")
        body["spec"]["terminationGracePeriodSeconds"] = 30
        v1.create_namespaced_pod("grace", body)
        eventually(lambda n=name: running(v1, "grace", n))
    v1.delete_namespaced_pod("slow", "grace")
    marked = v1.read_namespaced_pod("slow", "grace")
    assert (
        marked.metadata.deletion_timestamp and marked.metadata.deletion_grace_period_seconds == 30
    )
    v1.delete_namespaced_pod("fast", "grace", grace_period_seconds=0)
    with pytest.raises(ApiException) as fast:
        v1.read_namespaced_pod("fast", "grace")
    assert fast.value.status == 404


def test_creates_conflict_and_stale_lease_updates_conflict(kubeconfig: Path) -> None:
    v1 = core(kubeconfig)
    leases = client.CoordinationV1Api(api(kubeconfig))
    namespace(v1, "leases")
    body = {
        "metadata": {"name": "lock"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 60},
    }
    first = leases.create_namespaced_lease("leases", body)
    with pytest.raises(ApiException) as twice:
        leases.create_namespaced_lease("leases", body)
    assert twice.value.status == 409 and status_of(twice.value)["reason"] == "AlreadyExists"
    first.spec.holder_identity = "b"
    leases.replace_namespaced_lease("lock", "leases", first)  # moves resourceVersion on
    first.spec.holder_identity = "c"
    with pytest.raises(ApiException) as stale:
        leases.replace_namespaced_lease("lock", "leases", first)
    assert stale.value.status == 409
    assert status_of(stale.value)["reason"] == "Conflict"
    assert "the object has been modified" in status_of(stale.value)["message"]


@pytest.mark.parametrize("code", [410, 500])
def test_injected_statuses_reach_the_client(cluster: EmulatedCluster, code: int) -> None:
    cluster.faults.add(Fault(lambda method, path: path == "/api/v1/namespaces/default", code))
    with pytest.raises(ApiException) as failed:
        core(cluster.kubeconfig).read_namespace("default")
    assert failed.value.status == code
    core(cluster.kubeconfig).read_namespace("default")  # once only


def test_429_with_retry_after_is_retried_by_urllib3_up_to_three_times(
    cluster: EmulatedCluster,
) -> None:
    """urllib3 2.x util/retry.py: the client's PoolManager has ``Retry.DEFAULT`` (total 3),
    which honours Retry-After on 413, 429 and 503 (RETRY_AFTER_STATUS_CODES); so a short
    burst never reaches netprobe, a longer one arrives as the fourth 429."""

    def default(method: str, path: str) -> bool:
        return path == "/api/v1/namespaces/default"

    cluster.faults.add(Fault(default, 429, retry_after=0, times=3))
    core(cluster.kubeconfig).read_namespace("default")
    cluster.faults.add(Fault(default, 429, retry_after=0, times=4))
    with pytest.raises(ApiException) as failed:
        core(cluster.kubeconfig).read_namespace("default")
    assert failed.value.status == 429 and failed.value.headers["Retry-After"] == "0"


def test_an_unknown_token_is_401(cluster: EmulatedCluster, tmp_path: Path) -> None:
    kubeconfig = cluster.add_user(User("gone"))
    cluster.users.clear()
    with pytest.raises(ApiException) as refused:
        core(kubeconfig).list_namespace()
    assert refused.value.status == 401


def test_access_reviews_and_requests_follow_the_same_rules(cluster: EmulatedCluster) -> None:
    reader = cluster.add_user(User("reader", rules=(rule("get,list", "pods", ["default"]),)))
    authz = client.AuthorizationV1Api(api(reader))

    def allowed(verb: str, namespace: str) -> bool:
        review = authz.create_self_subject_access_review(
            {
                "spec": {
                    "resourceAttributes": {"verb": verb, "resource": "pods", "namespace": namespace}
                }
            }
        )
        return bool(review.status.allowed)

    assert allowed("list", "default") and not allowed("create", "default")
    assert not allowed("list", "kube-system")
    core(reader).list_namespaced_pod("default")
    with pytest.raises(ApiException) as denied:
        core(reader).list_namespaced_pod("kube-system")
    assert denied.value.status == 403
    assert 'User "reader" cannot list resource "pods"' in status_of(denied.value)["message"]


# websocket-client leaves the socket of a refused handshake to the garbage collector
LEAKS_REFUSED_SOCKET = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _exec(v1: client.CoreV1Api, ns: str, pod: str, container: str, script: str) -> Any:
    return stream(
        v1.connect_get_namespaced_pod_exec,
        pod,
        ns,
        command=["sh", "-c", script],
        container=container,
        stdin=False,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
    )


def test_exec_runs_in_the_pod_and_reports_the_exit_status(kubeconfig: Path) -> None:
    v1 = core(kubeconfig)
    namespace(v1, "exec")
    v1.create_namespaced_pod("exec", probe_pod("web", "exec", (80, Protocol.TCP)))
    pod = eventually(lambda: running(v1, "exec", "web"))
    session = _exec(v1, "exec", "web", "probe", "ip -o -4 addr show eth0; echo oops >&2; exit 3")
    session.run_forever(timeout=10)
    session.close()
    session.sock.shutdown()  # close() skips the socket after the server's close frame
    assert pod.status.pod_ip in session.read_stdout()
    assert session.read_stderr() == "oops\n"
    assert session.returncode == 3  # parsed by the client from the error channel


@LEAKS_REFUSED_SOCKET
def test_exec_needs_get_and_create_on_pods_exec(cluster: EmulatedCluster) -> None:
    v1 = core(cluster.kubeconfig)
    namespace(v1, "rbac")
    v1.create_namespaced_pod("rbac", probe_pod("web", "rbac"))
    eventually(lambda: running(v1, "rbac", "web"))
    only_get = cluster.add_user(User("getter", rules=(rule("get", "pods,pods/exec"),)))
    with pytest.raises(ApiException) as refused:
        _exec(core(only_get), "rbac", "web", "probe", "true")
    assert refused.value.status == 403 or "403" in str(refused.value)
    gc.collect()  # the leaked socket goes here, under this test's filter


@LEAKS_REFUSED_SOCKET
def test_exec_into_a_container_that_is_not_running_is_400(cluster: EmulatedCluster) -> None:
    v1 = core(cluster.kubeconfig)
    namespace(v1, "notrunning")
    body = probe_pod("web", "notrunning")
    body["spec"]["containers"][0]["image"] = "registry.example/missing:1"
    v1.create_namespaced_pod("notrunning", body)
    eventually(lambda: v1.read_namespaced_pod("web", "notrunning").spec.node_name)
    with pytest.raises(ApiException) as refused:
        _exec(v1, "notrunning", "web", "probe", "true")
    assert "400" in str(refused.value) or refused.value.status == 400
    gc.collect()


def test_exec_speaks_v5_and_closes_stdin_on_channel_255(cluster: EmulatedCluster) -> None:
    v1 = core(cluster.kubeconfig)
    namespace(v1, "v5")
    v1.create_namespaced_pod("v5", probe_pod("web", "v5"))
    eventually(lambda: running(v1, "v5", "web"))
    url = (
        cluster.server.replace("https", "wss") + "/api/v1/namespaces/v5/pods/web/exec"
        "?command=cat&container=probe&stdin=true&stdout=true&stderr=true"
    )
    conn = websocket.create_connection(
        url,
        header=[f"Authorization: Bearer {cluster.token}"],
        subprotocols=["v5.channel.k8s.io", "v4.channel.k8s.io"],
        sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(cluster.folder / "ca.crt")},
    )
    assert conn.subprotocol == "v5.channel.k8s.io"
    conn.send_binary(b"\x00hello\n")
    conn.send_binary(b"\xff\x00")  # close stdin: cat sees EOF and exits
    frames = []
    while True:
        opcode, data = conn.recv_data(control_frame=False)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        frames.append(data)
    conn.shutdown()
    assert frames[0] == b"\x01hello\n"
    assert json.loads(frames[-1][1:]) == {"metadata": {}, "status": "Success"}


def test_network_policies_are_stored_defaulted(kubeconfig: Path) -> None:
    v1 = core(kubeconfig)
    net = client.NetworkingV1Api(api(kubeconfig))
    namespace(v1, "defaults")
    body = {"metadata": {"name": "dns"},
            "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}}  # fmt: skip
    net.create_namespaced_network_policy("defaults", body)
    stored = net.read_namespaced_network_policy("dns", "defaults")
    # pkg/apis/networking/v1/defaults.go: policyTypes from the rules, ports TCP
    assert stored.spec.policy_types == ["Ingress", "Egress"]
    assert stored.spec.egress[0].ports[0].protocol == "TCP"


def test_an_invalid_name_is_422_with_the_field_named(kubeconfig: Path) -> None:
    v1 = core(kubeconfig)
    namespace(v1, "invalid")
    with pytest.raises(ApiException) as refused:
        v1.create_namespaced_pod("invalid", probe_pod("Not_A_Name", "invalid"))
    status = status_of(refused.value)
    assert refused.value.status == 422 and status["reason"] == "Invalid"
    assert status["message"].startswith('Pod "Not_A_Name" is invalid: metadata.name: Invalid')
    assert "metadata.name" in {c["field"] for c in status["details"]["causes"]}


def test_pod_security_refuses_privileged_pods_and_admits_netprobes(kubeconfig: Path) -> None:
    v1 = core(kubeconfig)
    namespace(v1, "restricted", **{"pod-security.kubernetes.io/enforce": "restricted"})
    v1.create_namespaced_pod("restricted", probe_pod("web", "restricted", (80, Protocol.TCP)))
    privileged = probe_pod("root", "restricted")
    privileged["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    with pytest.raises(ApiException) as refused:
        v1.create_namespaced_pod("restricted", privileged)
    assert refused.value.status == 403
    assert (
        'violates PodSecurity "restricted:latest": privileged'
        in status_of(refused.value)["message"]
    )
