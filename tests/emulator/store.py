"""The emulated API server's storage and registry rules: what kube-apiserver does with an
object between admission and etcd, for the resources netprobe uses.

Every write stamps ``resourceVersion`` (one counter for the whole store, as etcd's
revision), ``uid`` and ``creationTimestamp``; creates of an existing name answer 409
AlreadyExists; a PUT carrying a stale ``resourceVersion`` answers 409 Conflict; namespaces
go through Terminating (their content deleted first, then the namespace; a second DELETE
answers 409, a create inside answers 403); pods with a node go through graceful deletion
(``deletionTimestamp``; gone once the node has stopped them) unless the grace period is 0.
Status messages are kube-apiserver's own (k8s.io/apimachinery pkg/api/errors/errors.go
``NewNotFound``, ``NewAlreadyExists``, ``NewConflict``, ``NewForbidden``).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emulator import labelquery

Obj = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    returns_deleted: bool = False
    """DELETE answers with the object, not a Status (the registry's ReturnDeletedObject:
    pkg/registry/core/pod/storage/storage.go; namespaces: namespace/storage/storage.go)."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How error messages name it: ``pods``, ``leases.coordination.k8s.io``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES = {
    r.plural: r
    for r in (
        Resource("", "v1", "namespaces", "Namespace", namespaced=False, returns_deleted=True),
        Resource("", "v1", "pods", "Pod", returns_deleted=True),
        Resource("", "v1", "services", "Service"),
        Resource("", "v1", "events", "Event"),
        Resource("", "v1", "replicationcontrollers", "ReplicationController"),
        Resource("apps", "v1", "replicasets", "ReplicaSet"),
        Resource("apps", "v1", "statefulsets", "StatefulSet"),
        Resource("apps", "v1", "daemonsets", "DaemonSet"),
        Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy"),
        Resource("coordination.k8s.io", "v1", "leases", "Lease"),
    )
}


class ApiError(Exception):
    """An answer other than success, as a ``metav1.Status``."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Obj | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def status(self) -> Obj:
        out: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            out["details"] = self.details
        return out


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{resource.qualified} "{name}" not found',
        {"name": name, "group": resource.group, "kind": resource.plural},
    )


def forbidden(resource: Resource, name: str, why: str, causes: list[Obj] | None = None) -> ApiError:
    what = f'{resource.qualified} "{name}"' if name else resource.qualified
    details: Obj = {"name": name, "group": resource.group, "kind": resource.plural}
    if causes:
        details["causes"] = causes
    return ApiError(403, "Forbidden", f"{what} is forbidden: {why}", details)


def conflict(resource: Resource, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {resource.qualified} "{name}": {why}',
        {"name": name, "group": resource.group, "kind": resource.plural},
    )


STALE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
# pkg/registry/core/namespace/storage/storage.go (Delete, a namespace already terminating)
NAMESPACE_GOING = (
    "The system is ensuring all content is removed from this namespace.  Upon completion, "
    "this namespace will automatically be purged by the system."
)


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Admit = Callable[[Resource, Obj, Obj | None, str], Obj]
"""Admission of a write (resource, object, the stored one or None, subresource): the
object to store, stamped with uid and creationTimestamp on create; or ApiError."""
Watcher = Callable[[Resource, Obj | None, Obj | None], None]
"""Told of every change: (resource, before, after); None for created / removed."""


class Store:
    def __init__(self, admit: Admit) -> None:
        self._admit = admit
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str, str], Obj] = {}
        self._revision = 0
        self._watchers: list[Watcher] = []

    def watch(self, watcher: Watcher) -> None:
        self._watchers.append(watcher)

    # -- reads -----------------------------------------------------------------------
    def get(self, resource: Resource, namespace: str, name: str) -> Obj:
        with self._lock:
            obj = self._objects.get((resource.plural, namespace, name))
            if obj is None:
                raise not_found(resource, name)
            return copy.deepcopy(obj)

    def find(self, resource: Resource, namespace: str, name: str) -> Obj | None:
        try:
            return self.get(resource, namespace, name)
        except ApiError:
            return None

    def list(self, resource: Resource, namespace: str | None, selector: str = "") -> Obj:
        try:
            matches = labelquery.parse(selector)
        except labelquery.SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc
        with self._lock:
            items = [
                copy.deepcopy(obj)
                for (plural, ns, _), obj in sorted(self._objects.items())
                if plural == resource.plural
                and (namespace is None or ns == namespace)
                and matches(obj["metadata"].get("labels") or {})
            ]
            revision = str(self._revision)
        for item in items:  # list items carry neither apiVersion nor kind
            item.pop("apiVersion", None)
            item.pop("kind", None)
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": revision},
            "items": items,
        }

    def objects(self, resource: Resource) -> list[Obj]:
        with self._lock:
            return [
                copy.deepcopy(obj)
                for (plural, _, _), obj in sorted(self._objects.items())
                if plural == resource.plural
            ]

    # -- writes ----------------------------------------------------------------------
    def create(self, resource: Resource, namespace: str, body: Obj) -> Obj:
        body = copy.deepcopy(body)
        meta = body.setdefault("metadata", {})
        if resource.namespaced:
            if meta.get("namespace", namespace) != namespace:
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request",
                )
            meta["namespace"] = namespace
        body["apiVersion"], body["kind"] = resource.api_version, resource.kind
        name = str(meta.get("name") or "")
        with self._events() as changes:
            if resource.namespaced:
                self._require_live_namespace(resource, namespace, name)
            key = (resource.plural, namespace if resource.namespaced else "", name)
            stored = self._admit(resource, body, None, "")
            if key in self._objects:
                raise ApiError(
                    409,
                    "AlreadyExists",
                    f'{resource.qualified} "{name}" already exists',
                    {"name": name, "group": resource.group, "kind": resource.plural},
                )
            self._put(key, stored, changes, resource, None)
            return copy.deepcopy(stored)

    def replace(
        self, resource: Resource, namespace: str, name: str, body: Obj, subresource: str = ""
    ) -> Obj:
        body = copy.deepcopy(body)
        with self._events() as changes:
            key = self._key(resource, namespace, name)
            old = self._objects.get(key)
            if old is None:
                raise not_found(resource, name)
            sent = (body.get("metadata") or {}).get("resourceVersion")
            if sent and sent != old["metadata"]["resourceVersion"]:
                raise conflict(resource, name, STALE)
            body["apiVersion"], body["kind"] = resource.api_version, resource.kind
            meta = body.setdefault("metadata", {})
            for kept in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp"):
                if kept in old["metadata"]:
                    meta[kept] = old["metadata"][kept]
            if "status" in old and resource.plural in ("pods", "namespaces"):
                body["status"] = old["status"]  # status is its own subresource
            stored = self._admit(resource, body, copy.deepcopy(old), subresource)
            self._put(key, stored, changes, resource, old)
            return copy.deepcopy(stored)

    def patch(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        patch: Obj,
        kind: str,
        subresource: str = "",
    ) -> Obj:
        """``kind``: "merge" (RFC 7386) or "strategic" (lists merged by ``name`` where
        the Kubernetes types say ``patchMergeKey: name``; only what netprobe sends)."""
        with self._lock:
            current = self.get(resource, namespace, name)
            merged = merge_patch(current, patch) if kind == "merge" else strategic(current, patch)
            merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self.replace(resource, namespace, name, merged, subresource)

    def update_status(
        self, resource: Resource, namespace: str, name: str, change: Callable[[Obj], None]
    ) -> Obj | None:
        """What a controller or the kubelet writes (no admission); None if gone."""
        with self._events() as changes:
            key = self._key(resource, namespace, name)
            old = self._objects.get(key)
            if old is None:
                return None
            new = copy.deepcopy(old)
            change(new)
            self._put(key, new, changes, resource, old)
            return copy.deepcopy(new)

    def delete(
        self, resource: Resource, namespace: str, name: str, grace: int | None = None
    ) -> Obj:
        with self._events() as changes:
            key = self._key(resource, namespace, name)
            old = self._objects.get(key)
            if old is None:
                raise not_found(resource, name)
            meta = old["metadata"]
            if resource.plural == "namespaces":
                if meta.get("deletionTimestamp"):
                    raise conflict(resource, name, NAMESPACE_GOING)
                new = copy.deepcopy(old)
                new["metadata"]["deletionTimestamp"] = now_text()
                new.setdefault("status", {})["phase"] = "Terminating"
                self._put(key, new, changes, resource, old)
                return copy.deepcopy(new)
            if resource.plural == "pods":
                period = grace
                if period is None:
                    period = int(old["spec"].get("terminationGracePeriodSeconds", 30))
                # pkg/registry/core/pod/strategy.go CheckGracefulDelete: an unscheduled
                # or finished pod goes at once; grace 0 means at once (rest/delete.go).
                finished = (old.get("status") or {}).get("phase") in ("Succeeded", "Failed")
                if old["spec"].get("nodeName") and period > 0 and not finished:
                    if meta.get("deletionTimestamp"):
                        return copy.deepcopy(old)
                    new = copy.deepcopy(old)
                    new["metadata"]["deletionTimestamp"] = now_text()
                    new["metadata"]["deletionGracePeriodSeconds"] = period
                    self._put(key, new, changes, resource, old)
                    return copy.deepcopy(new)
            self._remove(key, changes, resource)
            if resource.returns_deleted:
                return copy.deepcopy(old)
            return {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {
                    "name": name,
                    "group": resource.group,
                    "kind": resource.plural,
                    "uid": meta.get("uid"),
                },
            }

    def remove(self, resource: Resource, namespace: str, name: str) -> None:
        """Gone for good (a pod the node has stopped, a namespace emptied)."""
        with self._events() as changes:
            key = self._key(resource, namespace, name)
            if key in self._objects:
                self._remove(key, changes, resource)

    # -- plumbing --------------------------------------------------------------------
    def _key(self, resource: Resource, namespace: str, name: str) -> tuple[str, str, str]:
        return (resource.plural, namespace if resource.namespaced else "", name)

    def _require_live_namespace(self, resource: Resource, namespace: str, name: str) -> None:
        ns = self._objects.get(("namespaces", "", namespace))
        if ns is None:
            raise not_found(RESOURCES["namespaces"], namespace)
        if ns["metadata"].get("deletionTimestamp"):
            # plugin/pkg/admission/namespace/lifecycle/admission.go
            raise forbidden(
                resource,
                name,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
                [
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            )

    def _put(
        self,
        key: tuple[str, str, str],
        obj: Obj,
        changes: list[tuple[Resource, Obj | None, Obj | None]],
        resource: Resource,
        old: Obj | None,
    ) -> None:
        self._revision += 1
        obj["metadata"]["resourceVersion"] = str(self._revision)
        self._objects[key] = obj
        changes.append((resource, copy.deepcopy(old), copy.deepcopy(obj)))

    def _remove(
        self,
        key: tuple[str, str, str],
        changes: list[tuple[Resource, Obj | None, Obj | None]],
        resource: Resource,
    ) -> None:
        self._revision += 1
        old = self._objects.pop(key)
        changes.append((resource, old, None))

    def _events(self) -> _Changes:
        return _Changes(self)


class _Changes:
    """Holds the store's lock for one write; tells the watchers afterwards, unlocked."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._changes: list[tuple[Resource, Obj | None, Obj | None]] = []

    def __enter__(self) -> list[tuple[Resource, Obj | None, Obj | None]]:
        self._store._lock.acquire()
        return self._changes

    def __exit__(self, *exc: object) -> None:
        self._store._lock.release()
        for change in self._changes:
            for watcher in self._store._watchers:
                watcher(*change)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


_MERGE_BY_NAME = {"containers", "ephemeralContainers", "initContainers", "env", "volumes"}


def strategic(target: Any, patch: Any, key: str = "") -> Any:
    """Strategic merge patch for what netprobe sends: maps merge, lists named in
    :data:`_MERGE_BY_NAME` merge by ``name`` (k8s.io/api core/v1 types.go
    ``patchMergeKey:"name"``), other lists are replaced."""
    if isinstance(patch, list) and key in _MERGE_BY_NAME and isinstance(target, list):
        out = copy.deepcopy(target)
        names = {item.get("name"): index for index, item in enumerate(out)}
        for item in patch:
            if item.get("name") in names:
                out[names[item["name"]]] = strategic(out[names[item["name"]]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        out[name] = None if value is None else strategic(out.get(name), value, name)
        if value is None:
            out.pop(name)
    return out


def dump(obj: Obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
