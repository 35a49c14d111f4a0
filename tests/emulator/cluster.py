"""An emulated cluster in one object: API server, node, certificates and a kubeconfig.

    with EmulatedCluster(tmp_path) as cluster:
        netprobe run suite.netprobe.yaml --backend kubernetes --kubeconfig cluster.kubeconfig

It starts as kubeadm leaves a cluster: namespaces ``default``, ``kube-system``,
``kube-public`` and ``kube-node-lease``; in ``kube-system`` the ``kube-dns`` Service
selecting ``k8s-app=kube-dns`` and two CoreDNS pods of a ReplicaSet with those labels and
the ports ``dns`` 53/UDP, ``dns-tcp`` 53/TCP and ``metrics`` 9153/TCP (kubeadm's
cmd/kubeadm/app/phases/addons/dns/manifests.go; the pods answer on them as any workload
of the node does, not as a DNS server).
Root and a private network namespace are needed (tests/private_host.py).
"""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import threading
from pathlib import Path
from types import TracebackType

import private_host

from emulator.access import User
from emulator.admission import Admission
from emulator.node import Node
from emulator.server import ApiServer, Faults
from emulator.store import RESOURCES, Store
from emulator.tls import make_certificates, write_kubeconfig
from netprobe.backends.local.naming import new_run_id

CONTEXT = "emulated"
SERVICE_ACCOUNT_FILES = Path("/var/run/secrets/kubernetes.io/serviceaccount")
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
KUBE_DNS_SERVICE = {
    "metadata": {
        "name": "kube-dns",
        "namespace": "kube-system",
        "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"},
    },
    "spec": {
        "selector": {"k8s-app": "kube-dns"},
        "clusterIP": "10.96.0.10",
        "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
        ],
    },
}


COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.12.1"
COREDNS_REPLICAS = ("coredns-674b8bbfcf-5xq2w", "coredns-674b8bbfcf-m9kzr")


def coredns_objects() -> list[tuple[str, dict[str, object]]]:
    labels = {"k8s-app": "kube-dns", "pod-template-hash": "674b8bbfcf"}
    replicaset = {
        "metadata": {"name": "coredns-674b8bbfcf", "namespace": "kube-system", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}},
        },
    }
    container = {
        "name": "coredns",
        "image": COREDNS_IMAGE,
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": [
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
        ],
    }
    owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "coredns-674b8bbfcf",
        "uid": "00000000-0000-0000-0000-00000000c0de",
        "controller": True,
    }
    pods = [
        {
            "metadata": {
                "name": name,
                "namespace": "kube-system",
                "labels": labels,
                "ownerReferences": [owner],
            },
            "spec": {"containers": [container], "priorityClassName": "system-cluster-critical"},
        }
        for name in COREDNS_REPLICAS
    ]
    return [("replicasets", replicaset), *(("pods", pod) for pod in pods)]


def _require_private_run() -> None:
    """The ServiceAccount files are written and removed only under the private tmpfs /run
    of tests/private_host.py (on this machine /var/run links to /run; elsewhere they are
    left alone rather than touch the host's /var/run)."""
    real = Path(os.path.realpath(SERVICE_ACCOUNT_FILES.parents[1]))
    if not (private_host.entered() and real.is_relative_to("/run")):
        raise RuntimeError(f"{real} is not inside the private /run: not touching it")


class EmulatedCluster:
    def __init__(self, folder: Path, *, slots: int = 64, sctp: bool | None = None) -> None:
        self.folder = folder
        self.admission = Admission()
        self.store = Store(self.admission)
        self.admission.store = self.store
        self.node = Node(self.store, new_run_id(), slots=slots, sctp=sctp)
        self.faults = Faults()
        self.requests: list[str] = []
        self.token = secrets.token_hex(16)
        self.users = {self.token: User("kubernetes-admin", groups=("kubeadm:cluster-admins",))}
        self._server: ApiServer | None = None
        self._thread: threading.Thread | None = None
        self.kubeconfig = folder / "kubeconfig"

    def add_user(self, user: User) -> Path:
        """A kubeconfig for ``user`` (a token of its own)."""
        token = secrets.token_hex(16)
        self.users[token] = user
        return write_kubeconfig(
            self.folder / f"kubeconfig-{user.name.replace(':', '-')}",
            self.server,
            self.folder / "ca.crt",
            token,
            CONTEXT,
        )

    def service_account(self, user: User) -> dict[str, str]:
        """What a pod running as ``user`` (a ServiceAccount) is given: its token, the CA
        and its namespace under /var/run/secrets/kubernetes.io/serviceaccount (in the
        private /run of tests/private_host.py) and the environment the kubelet sets; the
        client's in-cluster loader reads exactly these (kubernetes/config/incluster_config.py)."""
        _require_private_run()
        token = secrets.token_hex(16)
        self.users[token] = user
        folder = SERVICE_ACCOUNT_FILES
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "token").write_text(token)
        (folder / "ca.crt").write_bytes((self.folder / "ca.crt").read_bytes())
        (folder / "namespace").write_text(user.name.split(":")[2])
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return {"KUBERNETES_SERVICE_HOST": str(host), "KUBERNETES_SERVICE_PORT": str(port)}

    def forget_service_account(self) -> None:
        """Remove the in-cluster files, so later runs in this process use kubeconfigs."""
        if private_host.entered() and SERVICE_ACCOUNT_FILES.exists():
            _require_private_run()
            shutil.rmtree(SERVICE_ACCOUNT_FILES.parents[1])

    @property
    def server(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> EmulatedCluster:
        certs = make_certificates(self.folder)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(certs.cert, certs.key)
        for name in SYSTEM_NAMESPACES:
            self.store.create(RESOURCES["namespaces"], "", {"metadata": {"name": name}})
        self.store.create(RESOURCES["services"], "kube-system", KUBE_DNS_SERVICE)
        self.node.start()
        for plural, body in coredns_objects():
            self.store.create(RESOURCES[plural], "kube-system", body)
        try:
            self._server = ApiServer(
                self.store, self.node, self.users, tls, self.faults, self.requests
            )
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()
            write_kubeconfig(self.kubeconfig, self.server, certs.ca, self.token, CONTEXT)
        except BaseException:
            self.node.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.forget_service_account()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.node.close()

    @property
    def execs(self) -> list[tuple[str, bool]]:
        """(subprotocol, stdin) of every exec stream opened."""
        assert self._server is not None
        return self._server.execs

    def speak(self, *protocols: str) -> None:
        """The exec subprotocols the API server accepts, preferred first."""
        assert self._server is not None
        self._server.exec_protocols = protocols

    @property
    def errors(self) -> list[BaseException]:
        """Emulator bugs seen (a test of the emulator fails on any)."""
        return [*(self._server.errors if self._server else []), *self.node.errors]
