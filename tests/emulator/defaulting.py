"""What kube-apiserver 1.34 writes into an object on top of what the client sent: scheme
defaulting, the registry strategy's ``PrepareForCreate``/``PrepareForUpdate``, the
mutating admission plugins a kubeadm (kind) cluster runs on pods, and the metadata every
stored object gets.

- ``default(kind, obj)``: a create, everything but metadata (a new dict).
- ``scheme_defaults(kind, obj)``: only ``SetObjectDefaults_*`` (what every decode applies,
  an update included).
- ``prepare_for_update(kind, new, old)``: what an update keeps from the stored object.
- ``stamp(obj, resource_version, now)``: uid, creationTimestamp, resourceVersion, generation.

Upstream, per rule: ``pkg/apis/core/v1/defaults.go`` and ``zz_generated.defaults.go``
(``SetDefaults_Pod``, ``SetDefaults_PodSpec``, ``SetDefaults_Container``, ``SetDefaults_Probe``,
``SetDefaults_HTTPGetAction``, ``SetDefaults_Volume``, ``SetDefaults_Namespace``,
``SetDefaults_NamespaceStatus``, the ``+default="TCP"`` of ``ContainerPort.Protocol``);
``pkg/apis/networking/v1/defaults.go`` (``SetDefaults_NetworkPolicy``,
``SetDefaults_NetworkPolicyPort``); ``pkg/registry/core/pod/strategy.go``,
``pkg/registry/core/namespace/strategy.go``, ``pkg/registry/networking/networkpolicy/
strategy.go``, ``pkg/registry/coordination/lease/strategy.go``; ``plugin/pkg/admission/
priority``, ``defaulttolerationseconds`` and ``serviceaccount`` (``admission.go`` each);
``staging/src/k8s.io/apiserver/pkg/registry/rest/create.go`` (``BeforeCreate``,
``FillObjectMetaSystemFields``). Not emulated: the service-account token volume (the
ServiceAccount plugin adds ``kube-api-access-<random>`` unless automountServiceAccountToken
is false; netprobe sets it false), managedFields, pod-level resource defaulting.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
GENERATION_KINDS = frozenset({"Pod", "NetworkPolicy"})
"""Kinds whose ``PrepareForCreate`` sets ``metadata.generation = 1`` (and whose updates
bump it when the spec changes); Namespace and Lease strategies never touch it."""
DEFAULT_TOLERATION_SECONDS = 300
"""``--default-not-ready-toleration-seconds`` / ``--default-unreachable-toleration-seconds``."""
SYSTEM_PRIORITIES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}
"""The PriorityClasses kube-apiserver creates itself (``scheduling.SystemPriorityClasses``)."""
VOLUME_DEFAULT_MODE = 0o644
"""``SecretVolumeSourceDefaultMode`` and friends (420)."""


def image_tag(image: str) -> str:
    """The tag ``parsers.ParseImageName`` finds: "latest" when there is neither a tag nor
    a digest, "" for a digest alone."""
    name, at, _digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "" if at else "latest"


def _container(ctr: Obj) -> None:
    """``SetDefaults_Container`` and what zz_generated.defaults.go runs inside it; the
    ``resources: {}`` is how the empty struct serializes."""
    if not ctr.get("imagePullPolicy"):
        ctr["imagePullPolicy"] = (
            "Always" if image_tag(ctr.get("image") or "") == "latest" else "IfNotPresent"
        )
    ctr.setdefault("terminationMessagePath", "/dev/termination-log")
    ctr.setdefault("terminationMessagePolicy", "File")
    ctr.setdefault("resources", {})
    for port in ctr.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = ctr.get(key)
        if probe is None:
            continue
        for field_, value in (
            ("timeoutSeconds", 1),
            ("periodSeconds", 10),
            ("successThreshold", 1),
            ("failureThreshold", 3),
        ):
            if not probe.get(field_):
                probe[field_] = value
        _http_get(probe.get("httpGet"))
    for hook in ("postStart", "preStop"):
        _http_get(((ctr.get("lifecycle") or {}).get(hook) or {}).get("httpGet"))
    for var in ctr.get("env") or []:
        ref = (var.get("valueFrom") or {}).get("fieldRef")
        if ref is not None:
            ref.setdefault("apiVersion", "v1")


def _http_get(action: Obj | None) -> None:
    """``SetDefaults_HTTPGetAction``."""
    if action is not None:
        action.setdefault("path", "/")
        action.setdefault("scheme", "HTTP")


def _requests_from_limits(ctr: Obj) -> None:
    """``SetDefaults_Pod``: a limit without a request makes the request."""
    resources = ctr.get("resources") or {}
    limits = resources.get("limits")
    if limits:
        requests = resources.setdefault("requests", {})
        for key, value in limits.items():
            requests.setdefault(key, value)


def _volume(volume: Obj) -> None:
    """``SetDefaults_Volume`` and the default modes of the generated defaulters."""
    sources = [k for k in volume if k != "name"]
    if not sources:
        volume["emptyDir"] = {}
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        if volume.get(key) is not None:
            volume[key].setdefault("defaultMode", VOLUME_DEFAULT_MODE)
    if volume.get("hostPath") is not None:
        volume["hostPath"].setdefault("type", "")


def _pod_scheme(pod: Obj) -> None:
    spec = pod.setdefault("spec", {})
    for key in ("containers", "initContainers"):
        for ctr in spec.get(key) or []:
            _requests_from_limits(ctr)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork"):
        for key in ("containers", "initContainers"):
            for ctr in spec.get(key) or []:
                for port in ctr.get("ports") or []:
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    spec.setdefault("schedulerName", "default-scheduler")
    for volume in spec.get("volumes") or []:
        _volume(volume)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for ctr in spec.get(key) or []:
            _container(ctr)


def _qos_class(spec: Mapping[str, Any]) -> str:
    """``qos.GetPodQOS``, for cpu and memory given as identical strings when equal."""
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    any_set = False
    guaranteed = True
    for ctr in containers:
        resources = ctr.get("resources") or {}
        requests = {
            k: v for k, v in (resources.get("requests") or {}).items() if k in ("cpu", "memory")
        }
        limits = {
            k: v for k, v in (resources.get("limits") or {}).items() if k in ("cpu", "memory")
        }
        any_set = any_set or bool(requests) or bool(limits)
        if set(limits) != {"cpu", "memory"} or requests != limits:
            guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _pod_admission(pod: Obj) -> None:
    """The pod mutations of kubeadm's admission chain: Priority (no global default class:
    priority 0, PreemptLowerPriority), DefaultTolerationSeconds, ServiceAccount (the
    ``default`` account; ``serviceAccount`` is the deprecated copy v1 conversion writes)."""
    spec = pod["spec"]
    name = spec.get("priorityClassName") or ""
    if name in SYSTEM_PRIORITIES:
        spec.setdefault("priority", SYSTEM_PRIORITIES[name])
    elif not name:
        spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        tolerated = any(
            t.get("key") in (key, None, "") and t.get("effect") in ("NoExecute", None, "")
            for t in tolerations
        )
        if not tolerated:
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
                }
            )
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = "default"
    spec["serviceAccount"] = spec["serviceAccountName"]


def _network_policy_scheme(policy: Obj) -> None:
    spec = policy.setdefault("spec", {})
    spec.setdefault("podSelector", {})
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for port in rule.get("ports") or []:
                if port.get("protocol") is None:
                    port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _namespace_scheme(namespace: Obj) -> None:
    meta = namespace.setdefault("metadata", {})
    if meta.get("name"):
        meta["labels"] = {**(meta.get("labels") or {}), NAMESPACE_NAME_LABEL: meta["name"]}
    status = namespace.setdefault("status", {})
    status.setdefault("phase", "Active")


def scheme_defaults(kind: str, obj: Mapping[str, Any]) -> Obj:
    """``SetObjectDefaults_<kind>``: what decoding any request body applies (a new dict)."""
    out: Obj = copy.deepcopy(dict(obj))
    if kind == "Pod":
        _pod_scheme(out)
    elif kind == "NetworkPolicy":
        _network_policy_scheme(out)
    elif kind == "Namespace":
        _namespace_scheme(out)
    elif kind == "Lease":
        out.setdefault("spec", {})
    else:
        raise ValueError(f"no defaulting rules for kind {kind!r}")
    return out


def default(kind: str, obj: Mapping[str, Any]) -> Obj:
    """The object a create stores, but for ``stamp``'s metadata: scheme defaults, the
    strategy's ``PrepareForCreate`` and, for pods, the mutating admission plugins."""
    out = scheme_defaults(kind, obj)
    if kind == "Pod":
        _pod_admission(out)
        out["status"] = {"phase": "Pending", "qosClass": _qos_class(out["spec"])}
    elif kind == "Namespace":
        finalizers = out.setdefault("spec", {}).setdefault("finalizers", [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        out["status"] = {"phase": "Active"}
    elif kind == "NetworkPolicy":
        out.pop("status", None)
    return out


def prepare_for_update(kind: str, new: Mapping[str, Any], old: Mapping[str, Any]) -> Obj:
    """The object an update stores, before validation and a new resourceVersion: scheme
    defaults, ``rest.BeforeUpdate`` (generation, uid, creationTimestamp and deletion
    fields kept from ``old``) and the strategy's ``PrepareForUpdate`` (status kept; a pod
    or policy whose spec changed gets generation + 1; a namespace keeps its finalizers)."""
    out = scheme_defaults(kind, new)
    meta = out.setdefault("metadata", {})
    old_meta = old.get("metadata") or {}
    for key in ("creationTimestamp", "deletionTimestamp"):
        if old_meta.get(key):
            meta[key] = old_meta[key]
    if not meta.get("uid") and old_meta.get("uid"):
        meta["uid"] = old_meta["uid"]
    if (
        old_meta.get("deletionGracePeriodSeconds") is not None
        and meta.get("deletionGracePeriodSeconds") is None
    ):
        meta["deletionGracePeriodSeconds"] = old_meta["deletionGracePeriodSeconds"]
    if "generation" in old_meta:
        meta["generation"] = old_meta["generation"]
    else:
        meta.pop("generation", None)
    if kind in ("Pod", "Namespace") and "status" in old:
        out["status"] = copy.deepcopy(old["status"])
    if kind == "Namespace":
        out.setdefault("spec", {})["finalizers"] = list(
            (old.get("spec") or {}).get("finalizers") or []
        )
    if kind in GENERATION_KINDS and out.get("spec") != old.get("spec"):
        meta["generation"] = (old_meta.get("generation") or 0) + 1
    return out


def rfc3339(now: datetime) -> str:
    """``metav1.Time`` on the wire: UTC, whole seconds, a ``Z``."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp(
    obj: Mapping[str, Any], resource_version: str, now: datetime, uid: str | None = None
) -> Obj:
    """``rest.BeforeCreate`` and the storage layer's metadata on a new object (a new dict):
    no deletion fields, a uid (random unless given), creationTimestamp, resourceVersion,
    and ``generation: 1`` for Pod and NetworkPolicy (the kind is read from ``obj``)."""
    out: Obj = copy.deepcopy(dict(obj))
    meta = out.setdefault("metadata", {})
    meta.pop("deletionTimestamp", None)
    meta.pop("deletionGracePeriodSeconds", None)
    meta.pop("selfLink", None)
    meta["uid"] = uid or str(uuid.uuid4())
    meta["creationTimestamp"] = rfc3339(now)
    meta["resourceVersion"] = resource_version
    if out.get("kind") in GENERATION_KINDS:
        meta["generation"] = 1
    return out
