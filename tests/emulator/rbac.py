"""The rules a ServiceAccount gets from RBAC manifests (Roles, ClusterRoles and their
bindings), as the RBAC authorizer evaluates them (k8s.io/kubernetes
plugin/pkg/auth/authorizer/rbac/rbac.go: a ClusterRoleBinding grants its role everywhere,
a RoleBinding only in its own namespace, and only namespaced resources there), so the
emulated API server can hold netprobe to exactly what deploy/ grants."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from emulator.access import Rule, User


def service_account_user(namespace: str, name: str, manifests: Iterable[Path]) -> User:
    documents = [d for path in manifests for d in yaml.safe_load_all(path.read_text()) if d]
    roles = {
        (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d.get("rules") or []
        for d in documents
        if d["kind"] in ("Role", "ClusterRole")
    }
    rules: list[Rule] = []
    for binding in documents:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(_is(subject, namespace, name) for subject in binding.get("subjects") or ()):
            continue
        ref = binding["roleRef"]
        where = binding["metadata"].get("namespace", "")
        role_namespace = where if ref["kind"] == "Role" else ""
        scope = None if binding["kind"] == "ClusterRoleBinding" else frozenset({where})
        for granted in roles.get((ref["kind"], role_namespace, ref["name"]), []):
            rules.append(_rule(granted, scope))
    return User(f"system:serviceaccount:{namespace}:{name}", tuple(rules),
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                 "system:authenticated"))  # fmt: skip


def _is(subject: Mapping[str, Any], namespace: str, name: str) -> bool:
    return (
        subject.get("kind") == "ServiceAccount"
        and subject.get("name") == name
        and subject.get("namespace") == namespace
    )


def _rule(granted: Mapping[str, Any], scope: frozenset[str] | None) -> Rule:
    if granted.get("resourceNames") or granted.get("nonResourceURLs"):
        raise ValueError(f"not emulated: {granted}")
    return Rule(
        frozenset(granted.get("verbs") or ()),
        frozenset(granted.get("resources") or ()),
        frozenset(granted.get("apiGroups") or ()),
        scope,
    )
