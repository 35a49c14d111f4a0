"""What kube-apiserver 1.34 rejects with 422 Invalid for the kinds netprobe writes
(Namespace, Pod, NetworkPolicy, Lease), and the message it says it with.

``validate`` returns the causes in upstream's order; ``status_message`` is the 422's
``message``. Both take the object after defaulting (``defaulting.default`` on create,
``defaulting.prepare_for_update`` on update), as the API server validates it. The rules live
in one module per kind: ``metadata`` (apimachinery objectmeta.go), ``podvalidation``
(pkg/apis/core/validation), ``policyvalidation`` (pkg/apis/networking/validation), and the
Namespace and Lease rules below. Pure: no IO, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.fielderrors import (
    Cause,
    forbidden,
    invalid,
    invalid_status,
    not_supported,
    status_message,
)
from emulator.metadata import (
    name_is_dns_label,
    name_is_dns_subdomain,
    validate_finalizer_name,
    validate_object_meta,
    validate_object_meta_update,
)
from emulator.podupdate import validate_ephemeral_containers_update, validate_pod_update
from emulator.podvalidation import validate_pod_create
from emulator.policyvalidation import validate_network_policy, validate_network_policy_update

__all__ = ["Cause", "invalid_status", "status_message", "validate"]

Obj = Mapping[str, Any]

STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
"""``helper.IsStandardFinalizerName``."""
LEASE_STRATEGIES = ("OldestEmulationVersion",)


def _namespace(namespace: Obj) -> list[Cause]:
    """``ValidateNamespace`` (pkg/apis/core/validation): a DNS-1123 label name, and spec
    finalizers that are qualified names, standard or domain-prefixed."""
    causes = validate_object_meta(namespace.get("metadata") or {}, False, name_is_dns_label)
    for finalizer in (namespace.get("spec") or {}).get("finalizers") or []:
        causes += validate_finalizer_name(finalizer, "spec.finalizers")
        if "/" not in finalizer and finalizer not in STANDARD_FINALIZERS:
            detail = "name is neither a standard finalizer name nor is it fully qualified"
            causes.append(invalid("spec.finalizers", finalizer, detail))
    return causes


def _lease_spec(spec: Obj) -> list[Cause]:
    """``ValidateLeaseSpec`` (pkg/apis/coordination/validation): holderIdentity is free
    text; only the numbers and the coordinated-leader-election fields are checked."""
    causes: list[Cause] = []
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and duration <= 0:
        causes.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if transitions is not None and transitions < 0:
        detail = "must be greater than or equal to 0"
        causes.append(invalid("spec.leaseTransitions", transitions, detail))
    strategy = spec.get("strategy")
    if strategy is not None and "/" not in strategy and strategy not in LEASE_STRATEGIES:
        causes.append(not_supported("spec.strategy.strategy", strategy, LEASE_STRATEGIES))
    if spec.get("preferredHolder") and not strategy:
        detail = "may only be specified if `strategy` is defined"
        causes.append(forbidden("spec.preferredHolder", detail))
    return causes


def _lease(lease: Obj) -> list[Cause]:
    """``ValidateLease``: a DNS-subdomain name, then the spec."""
    causes = validate_object_meta(lease.get("metadata") or {}, True, name_is_dns_subdomain)
    return causes + _lease_spec(lease.get("spec") or {})


def _lease_update(new: Obj, old: Obj) -> list[Cause]:
    """A Lease update without resourceVersion is refused by the generic store before any
    validation (``leaseStrategy.AllowUnconditionalUpdate`` is false: staging/src/k8s.io/
    apiserver/pkg/registry/generic/registry/store.go ``Update``), with the stored value of
    an absent version, the integer 0; otherwise ``ValidateLeaseUpdate``."""
    meta = new.get("metadata") or {}
    if not meta.get("resourceVersion"):
        return [invalid("metadata.resourceVersion", 0, "must be specified for an update")]
    causes = validate_object_meta_update(
        meta, old.get("metadata") or {}, resource_version_required=True
    )
    return causes + _lease_spec(new.get("spec") or {})


def validate(
    kind: str, obj: Obj, old: Obj | None = None, *, subresource: str | None = None
) -> list[Cause]:
    """The causes of the 422 kube-apiserver would answer to a create (``old`` None) or an
    update (``old``: the stored object) of ``obj``; empty when it would accept it.
    ``subresource="ephemeralcontainers"`` validates that subresource's update."""
    if kind == "Pod":
        if old is None:
            return validate_pod_create(obj)
        if subresource == "ephemeralcontainers":
            return validate_ephemeral_containers_update(obj, old)
        return validate_pod_update(obj, old)
    if kind == "NetworkPolicy":
        return (
            validate_network_policy(obj)
            if old is None
            else validate_network_policy_update(obj, old)
        )
    if kind == "Namespace":
        if old is None:
            return _namespace(obj)
        meta_old = old.get("metadata") or {}
        return validate_object_meta_update(
            obj.get("metadata") or {}, meta_old, resource_version_required=False
        )
    if kind == "Lease":
        return _lease(obj) if old is None else _lease_update(obj, old)
    raise ValueError(f"no validation rules for kind {kind!r}")
