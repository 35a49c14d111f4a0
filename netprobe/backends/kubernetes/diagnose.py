"""Diagnostics of a failed run, read from the API server (:mod:`netprobe.diagnostics`).

Read only, after the last round and before teardown: the involved pods as they are now,
every NetworkPolicy in their namespaces as stored (netprobe's and others', defaulted by
the API server), the Events of the run's namespaces, and the CNI. A call that fails is a
note; one that cannot reach the API server (or whose credentials it rejects) ends the
gathering, so a dead server costs one request timeout, not one per object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from netprobe.backends.kubernetes.api import (
    AccessCheck,
    ForbiddenError,
    KubeGateway,
    Obj,
    UnauthorizedError,
    UnreachableError,
)
from netprobe.backends.kubernetes.bodies import is_managed
from netprobe.backends.kubernetes.readback import pod_from_api
from netprobe.diagnostics import (
    MAX_PODS,
    Diagnostics,
    Event,
    Involved,
    PodStatus,
    StoredPolicy,
    bounded,
)
from netprobe.errors import BackendError
from netprobe.model import PodRef, PolicyRef

T = TypeVar("T")

# The label each CNI's agent DaemonSet puts on its pods: calico-node in
# projectcalico/calico manifests/calico.yaml, cilium in cilium/cilium
# install/kubernetes/cilium/templates/cilium-agent/daemonset.yaml, kindnet in
# kubernetes-sigs/kind pkg/build/nodeimage/const_cni.go.
CNI_AGENTS = {"calico-node": "calico", "cilium": "cilium", "kindnet": "kindnet"}
CNI_SELECTOR = f"k8s-app in ({','.join(CNI_AGENTS)})"


def events_access(namespace: str) -> AccessCheck:
    """What reading a namespace's events needs (not asked before a run: without it the
    diagnostics say so)."""
    return AccessCheck("list", "events", namespace=namespace)


def gather(
    gateway: KubeGateway,
    involved: Involved,
    names: Mapping[PodRef, tuple[str, str]],
    namespaces: Sequence[str],
    cni: str | None,
) -> Diagnostics:
    """Diagnostics of ``involved``; ``names``: each suite pod's (namespace, name) in the
    cluster; ``namespaces``: the run's, whose events are read; ``cni``: ``--cni``."""
    calls = _Calls()
    pods = []
    for ref in involved.pods[:MAX_PODS]:
        if ref not in names:
            calls.notes.append(f"pod {ref}: not one of this run's pods")
            continue
        namespace, name = names[ref]
        obj = calls.run(partial(gateway.read_pod, namespace, name))
        if obj is None:
            if calls.ok:
                calls.notes.append(f"pod {namespace}/{name} ({ref}) no longer exists")
            continue
        status = calls.run(partial(pod_status, ref, obj))
        if status is not None:
            pods.append(status)
    policies = _policies(gateway, involved, calls)
    events: list[Obj] = []
    for namespace in sorted({*namespaces, *involved.namespaces}):
        found = calls.run(
            partial(gateway.list_events, namespace),
            hint=f"(needs: {events_access(namespace)}; deploy/rbac.yaml grants it)",
        )
        events += found or []
    events.sort(key=_when)
    if cni is None:
        cni = calls.run(partial(_detect_cni, gateway))
    unread = {"pods": max(0, len(involved.pods) - MAX_PODS)}
    return bounded(cni, pods, policies, [event_from_api(e) for e in events], calls.notes, unread)


def pod_status(ref: PodRef, obj: Obj) -> PodStatus:
    """Phase, IPs, node, readiness and restarts of a pod (k8s.io/api core/v1 types.go
    PodStatus ``phase``, ``podIP``/``podIPs``, ``conditions``, ``initContainerStatuses``,
    ``containerStatuses``, ``ephemeralContainerStatuses`` with ``restartCount``; PodSpec
    ``nodeName``)."""
    status = obj.get("status") or {}
    containers = [
        *(status.get("initContainerStatuses") or ()),
        *(status.get("containerStatuses") or ()),
        *(status.get("ephemeralContainerStatuses") or ()),
    ]
    ready = [c.get("status") for c in status.get("conditions") or () if c.get("type") == "Ready"]
    return PodStatus(
        ref=ref,
        name=str(obj.get("metadata", {}).get("name", ref.name)),
        phase=str(status.get("phase") or "Unknown"),
        ips=tuple(str(ip) for ip in pod_from_api(obj).ips),
        node=(obj.get("spec") or {}).get("nodeName"),
        ready=ready[0] == "True" if ready else None,
        restarts=tuple((str(c.get("name")), int(c.get("restartCount") or 0)) for c in containers),
    )


def event_from_api(obj: Obj) -> Event:
    """A core/v1 Event (k8s.io/api core/v1 types.go ``Event``: ``involvedObject``,
    ``reason``, ``message``, ``type``, ``count``, ``lastTimestamp``, ``eventTime``,
    ``series``). Events recorded through events.k8s.io/v1 (the scheduler's, say) read back
    with ``count`` and ``lastTimestamp`` empty (kubernetes/kubernetes
    pkg/apis/events/v1/conversion.go copies them from ``deprecatedCount`` and
    ``deprecatedLastTimestamp``) and carry ``eventTime`` and ``series`` instead."""
    series = obj.get("series") or {}
    about = obj.get("involvedObject") or {}
    where = f"{about['namespace']}/" if about.get("namespace") else ""
    return Event(
        type=str(obj.get("type") or ""),
        reason=str(obj.get("reason") or ""),
        object=f"{about.get('kind', '')} {where}{about.get('name', '')}".strip(),
        message=" ".join(str(obj.get("message") or "").split()),
        count=int(series.get("count") or obj.get("count") or 1),
        last=_last_time(obj),
    )


def _last_time(obj: Obj) -> str | None:
    series = obj.get("series") or {}
    found = (
        series.get("lastObservedTime")
        or obj.get("lastTimestamp")
        or obj.get("eventTime")
        or (obj.get("metadata") or {}).get("creationTimestamp")
    )
    return str(found) if found else None


def _when(obj: Obj) -> datetime:
    text = _last_time(obj)
    try:
        when = datetime.fromisoformat(text) if text else None
    except ValueError:
        when = None
    if when is None:
        return datetime.min.replace(tzinfo=UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _policies(gateway: KubeGateway, involved: Involved, calls: _Calls) -> list[StoredPolicy]:
    """Every policy of the involved namespaces; those the verdicts named first."""
    stored: dict[PolicyRef, StoredPolicy] = {}
    listed = set()
    for namespace in involved.namespaces:
        for obj in calls.run(partial(gateway.list_policies, namespace, "")) or ():
            ref = PolicyRef(namespace, str((obj.get("metadata") or {}).get("name")))
            stored[ref] = StoredPolicy(ref, obj.get("spec") or {}, is_managed(obj))
        if calls.ok:
            listed.add(namespace)
    calls.notes += [
        f"NetworkPolicy {ref} (named by a failing verdict) is no longer in the cluster"
        for ref in involved.policies
        if ref not in stored and ref.namespace in listed
    ]
    named = [stored[ref] for ref in involved.policies if ref in stored]
    return named + [p for ref, p in sorted(stored.items()) if ref not in involved.policies]


def _detect_cni(gateway: KubeGateway) -> str | None:
    found = {
        (obj.get("metadata", {}).get("labels") or {}).get("k8s-app")
        for obj in gateway.list_pods(None, CNI_SELECTOR)
    }
    return "+".join(sorted(CNI_AGENTS[k] for k in found if k in CNI_AGENTS)) or None


class _Calls:
    """Runs the reads, turning their failures into notes."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.stopped = False
        self.ok = True
        """Whether the last read succeeded."""

    def run(self, read: Callable[[], T], hint: str = "") -> T | None:
        self.ok = False
        if self.stopped:
            return None
        try:
            value = read()
        except (UnreachableError, UnauthorizedError) as exc:
            self.notes.append(f"{exc}; nothing more was gathered")
            self.stopped = True
        except ForbiddenError as exc:
            self.notes.append(f"{exc} {hint}".strip())
        except BackendError as exc:
            self.notes.append(str(exc))
        else:
            self.ok = True
            return value
        return None
