"""Admission, in kube-apiserver's order for a write: defaulting (the strategy's
PrepareForCreate/PrepareForUpdate and the mutating plugins: :mod:`defaulting`), Pod
Security on namespaces labelled ``pod-security.kubernetes.io/enforce`` (:mod:`podsecurity`),
validation (:mod:`validation`, a 422 with its causes)."""

from __future__ import annotations

from datetime import UTC, datetime

from emulator import defaulting, podsecurity, validation
from emulator.store import RESOURCES, ApiError, Obj, Resource, Store

ENFORCE = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
RULED = frozenset({"Namespace", "Pod", "NetworkPolicy", "Lease"})
"""Kinds :mod:`defaulting` and :mod:`validation` know; others are stored as sent."""


class Admission:
    def __init__(self) -> None:
        self.store: Store | None = None

    def __call__(self, resource: Resource, obj: Obj, old: Obj | None, subresource: str) -> Obj:
        kind = resource.kind
        if kind not in RULED:
            return obj if old is not None else defaulting.stamp(obj, "0", datetime.now(UTC))
        if old is None:
            obj = defaulting.stamp(defaulting.default(kind, obj), "0", datetime.now(UTC))
        else:
            obj = defaulting.prepare_for_update(kind, obj, old)
        if kind == "Pod":
            self._pod_security(obj, old)
        causes = validation.validate(kind, obj, old, subresource=subresource or None)
        if causes:
            body = validation.invalid_status(kind, obj["metadata"].get("name", ""), causes)
            raise ApiError(422, "Invalid", body["message"], body.get("details"))
        return obj

    def _pod_security(self, pod: Obj, old: Obj | None) -> None:
        assert self.store is not None
        namespace = self.store.find(RESOURCES["namespaces"], "", pod["metadata"]["namespace"])
        labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
        level = labels.get(ENFORCE)
        if level in (None, "privileged"):
            return
        if old is not None and old["spec"].get("ephemeralContainers") == pod["spec"].get(
            "ephemeralContainers"
        ):
            return  # an update is checked when it adds ephemeral containers
        version = labels.get(ENFORCE_VERSION, "latest")
        violations = podsecurity.violations(level, pod, version)
        if violations:
            name = pod["metadata"]["name"]
            raise ApiError(
                403,
                "Forbidden",
                podsecurity.forbidden_message(name, level, version, violations),
                {"name": name, "kind": "pods"},
            )
