"""Fixtures for the Kubernetes backend tests: an in-memory API server and suite builders."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from exec_server import ExecServer, Request
from fake_api import FakeApiServer

from netprobe.backends.kubernetes.backend import KubernetesBackend
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.clock import FakeClock
from netprobe.errors import Location
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ContainerPort,
    Namespace,
    NetworkPolicy,
    Pod,
    PodRef,
    PolicyRef,
    PolicyType,
    Protocol,
    Rule,
)
from netprobe.selectors import Labels, LabelSelector
from netprobe.suite.model import Action, Expectation, Step, Suite


def ns(name: str, **labels: str) -> Namespace:
    return Namespace(name, Labels({**labels, NAMESPACE_NAME_LABEL: name}))


def pod(
    ref: str, ports: Sequence[tuple[int, Protocol]] = ((80, Protocol.TCP),), **labels: str
) -> Pod:
    return Pod(
        PodRef.parse(ref),
        Labels(labels),
        tuple(ContainerPort(port, protocol) for port, protocol in ports),
    )


def deny_all_ingress(namespace: str, name: str = "deny-all") -> NetworkPolicy:
    return NetworkPolicy(PolicyRef(namespace, name), LabelSelector(), (PolicyType.INGRESS,))


def allow_from(
    namespace: str, name: str, target: dict[str, str], source: dict[str, str]
) -> NetworkPolicy:
    from netprobe.model import Peer

    return NetworkPolicy(
        PolicyRef(namespace, name),
        LabelSelector(Labels(target)),
        (PolicyType.INGRESS,),
        ingress=(Rule(peers=(Peer(pod_selector=LabelSelector(Labels(source))),)),),
    )


def expect(source: str, destination: str, port: int = 80, allowed: bool = True) -> Expectation:
    return Expectation(
        PodRef.parse(source),
        PodRef.parse(destination),
        port,
        Protocol.TCP,
        allowed,
        Location("suite.yaml", 1),
    )


def suite(
    namespaces: Sequence[Namespace],
    pods: Sequence[Pod],
    policies: Sequence[NetworkPolicy] = (),
    steps: Sequence[tuple[Sequence[Action], Sequence[Expectation]]] = (((), ()),),
) -> Suite:
    built = tuple(
        Step(f"step {i}", tuple(actions), tuple(expectations))
        for i, (actions, expectations) in enumerate(steps, start=1)
    )
    return Suite("test", Path("suite.yaml"), tuple(namespaces), tuple(pods), tuple(policies), built)


@pytest.fixture
def api() -> FakeApiServer:
    return FakeApiServer()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_backend(api: FakeApiServer, clock: FakeClock):  # type: ignore[no-untyped-def]
    def make(**options: object) -> KubernetesBackend:
        opts = KubeOptions(**{"run_id": "run1", **options})  # type: ignore[arg-type]
        return KubernetesBackend(api, opts, clock=clock)

    return make


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ExecServer]]:
    """Start exec endpoints (``serve(behave, **options)``) on 127.0.0.1, with no proxy in
    the client's way; at the end each is closed, and must have raised nothing."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    servers: list[ExecServer] = []

    def start(behave: Callable[[socket.socket, Request], None], **kw: Any) -> ExecServer:
        server = ExecServer(behave, **kw)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
        assert not server.errors, server.errors


TINY_SUITE = """\
name: tiny
pods:
  a/p: {labels: {app: p}, ports: [80]}
expect:
  - allow: a/p -> a/p:80
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with no kubeconfig and no in-cluster environment, holding tiny.netprobe.yaml
    (one pod reaching itself)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    (tmp_path / "tiny.netprobe.yaml").write_text(TINY_SUITE)
    return tmp_path
