"""Admission, in kube-apiserver's order for a write: defaulting, Pod Security (the
``pod-security.kubernetes.io/enforce`` label of the namespace), validation."""

from __future__ import annotations

import dataclasses

from emulator import defaulting, podsecurity, validation
from emulator.store import RESOURCES, ApiError, Obj, Resource, Store

ENFORCE = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"


class Admission:
    def __init__(self) -> None:
        self.store: Store | None = None

    def __call__(self, resource: Resource, obj: Obj, old: Obj | None) -> Obj:
        obj = defaulting.default(resource.kind, obj)
        if resource.plural == "pods":
            self._pod_security(obj, old)
            if old is None:  # pkg/registry/core/pod/strategy.go PrepareForCreate
                obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        causes = validation.validate(resource.kind, obj, old)
        if causes:
            name = obj["metadata"].get("name", "")
            raise ApiError(
                422,
                "Invalid",
                validation.status_message(resource.kind, name, causes),
                {
                    "name": name,
                    "group": resource.group,
                    "kind": resource.kind,
                    "causes": [dataclasses.asdict(c) for c in causes],
                },
            )
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
            return  # only creates and new ephemeral containers are checked
        violations = podsecurity.violations(level, pod)
        if violations:
            version = labels.get(ENFORCE_VERSION, "latest")
            name = pod["metadata"]["name"]
            raise ApiError(
                403,
                "Forbidden",
                podsecurity.forbidden_message(name, level, version, violations),
                {"name": name, "kind": "pods"},
            )
