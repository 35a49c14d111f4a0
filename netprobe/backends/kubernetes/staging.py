"""Staging mode: probe from and to existing workloads instead of netprobe's probe pods.

A workload (namespace + label selector) is stood in for by one running, ready pod it
selects. Probes from it run in an ephemeral container with the probe image, added to that
pod: the container shares the pod's network namespace, so its traffic carries the real
pod's identity and is subject to exactly the NetworkPolicies that select that pod.
Destinations are the real pods' IPs and ports.

Ephemeral containers can never be changed or removed (they stay in the pod's spec until
the pod is deleted), so netprobe adds at most one per pod and probe image, with a
deterministic name, and reuses it in later runs while it is running. Netprobe never
deletes or relabels a workload's pod.

Suite YAML (parsed by :func:`netprobe.suite.workloads.parse_workloads`)::

    workloads:
      - name: web               # expectations say prod/web
        namespace: prod
        selector:               # a LabelSelector (matchLabels / matchExpressions)
          matchLabels: {app: web}
        ports:                  # optional: what the suite expects the pods to serve
          - {port: 8080, protocol: TCP, name: http}
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from netprobe.backends.kubernetes.api import KubeGateway, Obj
from netprobe.backends.kubernetes.bodies import ephemeral_container
from netprobe.backends.kubernetes.timing import poll_until
from netprobe.backends.kubernetes.waits import is_ready
from netprobe.clock import Clock
from netprobe.errors import BackendError
from netprobe.model import ContainerPort
from netprobe.suite.model import Workload


@dataclass(frozen=True, slots=True)
class StagedPod:
    """The real pod standing in for a workload, and the container to exec in."""

    workload: Workload
    pod: Obj
    container: str

    @property
    def name(self) -> str:
        return str(self.pod["metadata"]["name"])


def _being_deleted(pod: Obj) -> bool:
    # A graceful delete only marks the pod: kubernetes/kubernetes
    # staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go BeforeDelete sets
    # metadata.deletionTimestamp (now + grace) and deletionGracePeriodSeconds, and the pod
    # stays, phase Running and possibly still Ready, until the kubelet has stopped it. It is
    # about to go, with the ephemeral container netprobe would add to it.
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def choose_pod(gateway: KubeGateway, workload: Workload) -> Obj:
    """The first (by name) ready, non-hostNetwork pod the workload's selector matches that
    is not being deleted."""
    namespace = workload.ref.namespace
    if gateway.read_namespace(namespace) is None:
        raise BackendError(f"workload {workload.ref}: namespace {namespace} does not exist")
    pods = gateway.list_pods(namespace, selector_query(workload))
    ready = sorted(
        (
            p
            for p in pods
            if is_ready(p) and not p.get("spec", {}).get("hostNetwork") and not _being_deleted(p)
        ),
        key=lambda p: str(p["metadata"]["name"]),
    )
    if not ready:
        found = (
            ", ".join(
                sorted(
                    f"{p['metadata']['name']} (being deleted)"
                    if _being_deleted(p)
                    else str(p["metadata"]["name"])
                    for p in pods
                )
            )
            or "none"
        )
        raise BackendError(
            f"workload {workload.ref}: no ready pod matches {workload.selector} in "
            f"namespace {namespace} (matching pods: {found})"
        )
    return ready[0]


def selector_query(workload: Workload) -> str:
    """The selector in the API's ``labelSelector`` query syntax."""
    return "" if workload.selector.is_empty else str(workload.selector)


def check_ports(workload: Workload, pod: Obj, ports: Sequence[ContainerPort]) -> None:
    """The ports the suite declares must be ports the real pod declares."""
    have = {(p.port, p.protocol) for p in ports}
    missing = [str(p) for p in workload.ports if (p.port, p.protocol) not in have]
    if missing:
        name = pod["metadata"]["name"]
        raise BackendError(
            f"workload {workload.ref}: pod {name} does not declare port(s) "
            f"{', '.join(missing)} (it has: {', '.join(map(str, ports)) or 'none'})"
        )


def probe_container_name(pod: Obj, image: str, run_id: str) -> str:
    """The ephemeral container to probe from in ``pod``: one per image, shared by every
    run (it only runs ``pause``, and could never be removed anyway), so nightly runs do
    not pile containers up; a run-specific one only when the shared one has exited."""
    name = f"netprobe-{hashlib.sha256(image.encode()).hexdigest()[:10]}"
    state = _ephemeral_state(pod, name) or {}
    if _has_ephemeral(pod, name) and "terminated" in state:
        return f"{name}-{run_id}"[:63].rstrip("-.")
    return name


def _ephemeral_state(pod: Obj, name: str) -> Obj | None:
    for status in (pod.get("status") or {}).get("ephemeralContainerStatuses") or ():
        if status.get("name") == name:
            return dict(status.get("state") or {})
    return None


def _has_ephemeral(pod: Obj, name: str) -> bool:
    return any(c.get("name") == name for c in pod.get("spec", {}).get("ephemeralContainers") or ())


def stage(
    gateway: KubeGateway,
    workload: Workload,
    pod: Obj,
    container: str,
    image: str,
    timeout: float,
    clock: Clock,
) -> StagedPod:
    """Add the probe container to ``pod`` (unless it is there) and wait until it runs."""
    namespace, name = workload.ref.namespace, str(pod["metadata"]["name"])
    if not _has_ephemeral(pod, container):
        target = (pod.get("spec", {}).get("containers") or [{}])[0].get("name")
        gateway.add_ephemeral_container(
            namespace, name, ephemeral_container(container, image, target)
        )

    def running() -> Obj | None:
        current = gateway.read_pod(namespace, name)
        if current is None:
            raise BackendError(f"workload {workload.ref}: pod {namespace}/{name} disappeared")
        state = _ephemeral_state(current, container) or {}
        if "running" in state:
            return current
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in ("ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"):
            raise BackendError(
                f"workload {workload.ref}: ephemeral container {container} in {namespace}/"
                f"{name}: {waiting['reason']} for image {image}"
            )
        if "terminated" in state:
            code = state["terminated"].get("exitCode", "?")
            raise BackendError(
                f"workload {workload.ref}: ephemeral container {container} in "
                f"{namespace}/{name} exited with code {code} (it cannot be restarted)"
            )
        return None

    current = poll_until(running, timeout, clock)
    if current is None:
        raise BackendError(
            f"workload {workload.ref}: ephemeral container {container} in {namespace}/{name} "
            f"not running after {timeout:g}s"
        )
    return StagedPod(workload, current, container)
