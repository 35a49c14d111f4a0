"""Pure builders of the API objects netprobe creates: Namespaces, probe Pods,
NetworkPolicies, Leases, the staging ephemeral container; and the ownership labels on each.

Nothing here talks to a cluster: the backend sends what these functions return. Every
object carries ``app.kubernetes.io/managed-by=netprobe`` and ``netprobe.io/run-id``, which
is how netprobe later recognises (and only ever deletes) what it created.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from netprobe.backends.kubernetes.api import Obj
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ContainerPort,
    IPBlock,
    Namespace,
    NetworkPolicy,
    Peer,
    Pod,
    PolicyPort,
    Protocol,
    Rule,
)
from netprobe.selectors import LabelSelector

DEFAULT_IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.66.1"
"""The upstream netpol e2e image: ``/bin/sh``, OpenBSD ``nc``, ``serve-hostname``, ``porter``.

Pinned for its ``nc``, which must have every flag of the probe script (``-W`` for UDP; see
:data:`netprobe.probes.NC_FLAGS` for the builds checked). agnhost installs Alpine's
netcat-openbsd on the Alpine of ``test/images/agnhost/BASEIMAGE`` (``kubernetes/kubernetes
test/images/agnhost/Dockerfile``: ``apk --update add bind-tools curl netcat-openbsd ...``):

- 2.52 is the first build on Alpine 3.16 (kubernetes/kubernetes PR #124382 moved BASEIMAGE
  from alpine:3.12 to 3.16; PR #124560 moved the e2e tests to it): netcat-openbsd 1.130,
  no ``-W``, so every UDP probe failed with a usage error.
- 2.53 and later are on Alpine 3.19 or newer (PR #127057, "Bump alpine to 3.19 for
  agnhost"; a later BASEIMAGE says alpine:3.21): netcat-openbsd 1.226 or later, with ``-W``.
- 2.66.1 is the newest found: the agnhost of the release-1.36 e2e tests
  (kubernetes/kubernetes PR #141537, ``test/utils/image/manifest.go``); 2.66.0 added socat
  (PR #139789). The upstream netpol e2e tests, which use ``serve-hostname``, ``porter`` and
  ``pause`` as netprobe does, run on it (inferred from that PR; not checked in its source).

Not run against a pulled image here (no registry access): the probe script checks ``nc -h``
for the flags it needs, so a different image fails with one clear error, not N ERRORs.
"""

MANAGED_BY_KEY = "app.kubernetes.io/managed-by"
MANAGED_BY = "netprobe"
RUN_ID_KEY = "netprobe.io/run-id"
CREATED_KEY = "netprobe.io/created"
ROLE_KEY = "netprobe.io/role"
OWNERSHIP_KEYS = frozenset({MANAGED_BY_KEY, RUN_ID_KEY, CREATED_KEY})
MANAGED_SELECTOR = f"{MANAGED_BY_KEY}={MANAGED_BY}"

PROBE_CONTAINER = "probe"
"""The container netprobe execs into in its own pods (it only sleeps)."""
NOBODY = 65534


def ownership_labels(run_id: str) -> dict[str, str]:
    return {MANAGED_BY_KEY: MANAGED_BY, RUN_ID_KEY: run_id}


def run_selector(run_id: str) -> str:
    return f"{MANAGED_SELECTOR},{RUN_ID_KEY}={run_id}"


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def is_managed(obj: Obj) -> bool:
    """Whether netprobe created ``obj`` (in any run)."""
    return labels_of(obj).get(MANAGED_BY_KEY) == MANAGED_BY


def run_id_of(obj: Obj) -> str | None:
    labels = labels_of(obj)
    return labels.get(RUN_ID_KEY) if labels.get(MANAGED_BY_KEY) == MANAGED_BY else None


def namespace_manifest(namespace: Namespace, run_id: str, created: int) -> Obj:
    labels = {k: v for k, v in namespace.labels.items() if k != NAMESPACE_NAME_LABEL}
    labels.update(ownership_labels(run_id))
    labels[CREATED_KEY] = str(created)
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace.name, "labels": labels},
    }


def container_name(port: ContainerPort) -> str:
    return f"cont-{port.port}-{port.protocol.lower()}"


def _server_command(port: ContainerPort) -> tuple[list[str], list[Obj]]:
    if port.protocol is Protocol.SCTP:
        # serve-hostname has no SCTP; upstream e2e moved SCTP to porter (kubernetes#97897).
        return ["/agnhost", "porter"], [{"name": f"SERVE_SCTP_PORT_{port.port}", "value": "foo"}]
    flag = "--tcp" if port.protocol is Protocol.TCP else "--udp"
    return ["/agnhost", "serve-hostname", flag, "--http=false", "--port", str(port.port)], []


def _restricted_container_context() -> Obj:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _server_container(port: ContainerPort, image: str) -> Obj:
    command, env = _server_command(port)
    spec_port: Obj = {"containerPort": port.port, "protocol": str(port.protocol)}
    if port.name:
        spec_port["name"] = port.name
    container: Obj = {
        "name": container_name(port),
        "image": image,
        "command": command,
        "ports": [spec_port],
        "securityContext": _restricted_container_context(),
        # A server that exits with an error leaves its log's tail in the status (porter's
        # "Failed to listen SCTP", say: see .servers), readable without pods/log. One of
        # the two values pkg/apis/core/validation/validation.go accepts ("File", the
        # default, or this one); no Pod Security level restricts it.
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if env:
        container["env"] = env
    # Kubelet probes always pass NetworkPolicy (traffic from the node is allowed).
    if port.protocol is Protocol.TCP:
        container["readinessProbe"] = {"tcpSocket": {"port": port.port}, "periodSeconds": 2}
    return container


def pod_manifest(pod: Pod, run_id: str, image: str) -> Obj:
    """A probe pod: a ``probe`` container to exec into, and one server per declared port."""
    labels = {**pod.labels, **ownership_labels(run_id)}
    containers = [
        {
            "name": PROBE_CONTAINER,
            "image": image,
            "command": ["/agnhost", "pause"],
            "securityContext": _restricted_container_context(),
        }
    ]
    unique = {(p.port, p.protocol): p for p in pod.ports}
    containers += [_server_container(p, image) for p in unique.values()]
    security: Obj = {
        "runAsNonRoot": True,
        "runAsUser": NOBODY,
        "runAsGroup": NOBODY,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if any(p.port < 1024 for p in pod.ports):
        # A "safe" sysctl (allowed by the baseline and restricted Pod Security levels):
        # lets the non-root servers bind ports below 1024 without any capability.
        security["sysctls"] = [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": labels},
        "spec": {
            "containers": containers,
            # serve-hostname sleeps 60 s after SIGTERM; 0 makes namespace deletion fast.
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "restartPolicy": "Always",
            "securityContext": security,
        },
    }


def ephemeral_container(name: str, image: str, target: str | None) -> Obj:
    """The staging probe container added to an existing pod (it shares the pod's network
    namespace, so its traffic carries that pod's identity)."""
    container: Obj = {
        "name": name,
        "image": image,
        "command": ["/agnhost", "pause"],
        "securityContext": {
            **_restricted_container_context(),
            "runAsUser": NOBODY,
            "runAsGroup": NOBODY,
        },
    }
    if target:
        container["targetContainerName"] = target
    return container


# -- NetworkPolicy ---------------------------------------------------------------------


def selector_manifest(selector: LabelSelector) -> Obj:
    out: Obj = {}
    if selector.match_labels:
        out["matchLabels"] = dict(selector.match_labels)
    if selector.match_expressions:
        out["matchExpressions"] = [
            {"key": r.key, "operator": str(r.operator), **({"values": sorted(r.values)})}
            if r.values
            else {"key": r.key, "operator": str(r.operator)}
            for r in selector.match_expressions
        ]
    return out


def _ip_block(block: IPBlock) -> Obj:
    out: Obj = {"cidr": str(block.cidr)}
    if block.except_:
        out["except"] = [str(net) for net in block.except_]
    return out


def _peer(peer: Peer) -> Obj:
    if peer.ip_block is not None:
        return {"ipBlock": _ip_block(peer.ip_block)}
    out: Obj = {}
    if peer.pod_selector is not None:
        out["podSelector"] = selector_manifest(peer.pod_selector)
    if peer.namespace_selector is not None:
        out["namespaceSelector"] = selector_manifest(peer.namespace_selector)
    return out


def _port(port: PolicyPort) -> Obj:
    out: Obj = {"protocol": str(port.protocol)}
    if port.port is not None:
        out["port"] = port.port
    if port.end_port is not None:
        out["endPort"] = port.end_port
    return out


def _rule(rule: Rule, peers_key: str) -> Obj:
    out: Obj = {}
    if rule.peers:
        out[peers_key] = [_peer(p) for p in rule.peers]
    if rule.ports:
        out["ports"] = [_port(p) for p in rule.ports]
    return out


def policy_spec(policy: NetworkPolicy) -> Obj:
    """The spec built from the model (used when the policy has no manifest as read)."""
    spec: Obj = {
        "podSelector": selector_manifest(policy.pod_selector),
        "policyTypes": [str(t) for t in policy.policy_types],
    }
    if policy.ingress:
        spec["ingress"] = [_rule(r, "from") for r in policy.ingress]
    if policy.egress:
        spec["egress"] = [_rule(r, "to") for r in policy.egress]
    return spec


def policy_manifest(policy: NetworkPolicy, run_id: str) -> Obj:
    """The NetworkPolicy to submit: the suite's manifest as written when there is one (the
    API server, not netprobe's parser, then decides what it means), else one built from the
    model; metadata reduced to name, namespace, labels and annotations, plus ownership."""
    source: Mapping[str, Any] = policy.manifest or {}
    metadata = source.get("metadata") or {}
    labels = {**(metadata.get("labels") or {}), **ownership_labels(run_id)}
    out_meta: Obj = {"name": policy.ref.name, "namespace": policy.ref.namespace, "labels": labels}
    if metadata.get("annotations"):
        out_meta["annotations"] = dict(metadata["annotations"])
    spec = copy.deepcopy(dict(source["spec"])) if source.get("spec") else policy_spec(policy)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": out_meta,
        "spec": spec,
    }
