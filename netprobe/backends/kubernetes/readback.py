"""API objects read back from the cluster -> netprobe's model, for ``snapshot()``.

The analyzer must judge the cluster as it really is: pod IPs (all of them, dual-stack
included), labels and container ports come from what the API server returns, never from
what netprobe asked for. They are read by the same parser as manifests, so a pod means the
same thing whether it came from a file or from a cluster.
"""

from __future__ import annotations

from dataclasses import replace

from netprobe.backends.kubernetes.api import Obj
from netprobe.documents import Field
from netprobe.errors import BackendError, LocatedError, Location
from netprobe.manifests import parse_namespace, parse_network_policy, parse_pod
from netprobe.manifests.labels import parse_label_selector, parse_labels
from netprobe.model import ContainerPort, Namespace, NetworkPolicy, Pod, PodRef
from netprobe.selectors import LabelSelector


def _field(obj: Obj, kind: str, api_version: str = "v1") -> Field:
    # list items come back without apiVersion and kind
    meta = obj.get("metadata") or {}
    name = "/".join(filter(None, (meta.get("namespace"), meta.get("name", "?"))))
    document = {**obj, "apiVersion": api_version, "kind": kind}
    return Field(document, Location(f"cluster {kind} {name}"))


def namespace_from_api(obj: Obj) -> Namespace:
    try:
        return replace(parse_namespace(_field(obj, "Namespace")), location=None)
    except LocatedError as exc:
        raise BackendError(
            f"the API server returned a namespace netprobe cannot read: {exc}"
        ) from exc


def pod_from_api(obj: Obj, ref: PodRef | None = None) -> Pod:
    """The model of an API pod; ``ref`` renames it (a staging workload stands for the real
    pod chosen to represent it)."""
    try:
        pod = parse_pod(_field(obj, "Pod"))
    except LocatedError as exc:
        raise BackendError(f"the API server returned a pod netprobe cannot read: {exc}") from exc
    return replace(pod, ref=ref or pod.ref, location=None)


def container_ports(obj: Obj) -> tuple[ContainerPort, ...]:
    return pod_from_api(obj).ports


def pod_selector(kind: str, obj: Obj) -> LabelSelector | None:
    """The pods ``obj`` selects: a Service's or ReplicationController's ``spec.selector``
    (a plain map; absent or empty selects no pod, a Service's endpoints are then managed by
    hand), an apps/v1 controller's ``spec.selector`` (a label selector). None when it selects
    no pod."""
    spec = _field(obj, kind).get("spec")
    selector = spec.get("selector") if spec is not None else None
    if selector is None:
        return None
    try:
        if kind in ("Service", "ReplicationController"):
            labels = parse_labels(selector)
            return LabelSelector(match_labels=labels) if labels else None
        return parse_label_selector(selector)
    except LocatedError as exc:
        raise BackendError(f"the API server returned a {kind} netprobe cannot read: {exc}") from exc


def policy_from_api(obj: Obj) -> NetworkPolicy:
    """The model of a NetworkPolicy body, as stored by the API server or as netprobe would
    submit it. The parser applies the defaulting the API server applies on write
    (docs/semantics.md rules 3 and 14: kubernetes/kubernetes
    pkg/apis/networking/v1/defaults.go SetDefaults_NetworkPolicy, policyTypes from the
    presence of egress rules; SetDefaults_NetworkPolicyPort, protocol TCP, called for every
    port of every ingress and egress rule by SetObjectDefaults_NetworkPolicy in
    zz_generated.defaults.go; endPort is left alone), and the empty lists the server drops
    (omitempty) mean the same as absent ones, so a stored policy and the manifest that
    created it give equal models."""
    try:
        policy = parse_network_policy(_field(obj, "NetworkPolicy", "networking.k8s.io/v1"))
    except LocatedError as exc:
        raise BackendError(
            f"the API server returned a NetworkPolicy netprobe cannot read: {exc}"
        ) from exc
    return replace(policy, location=None, manifest=None)
