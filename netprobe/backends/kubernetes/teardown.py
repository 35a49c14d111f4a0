"""Deleting netprobe's objects and waiting until they are gone, under a deadline.

Shared by a run's teardown and by ``netprobe cleanup``. Every object is read back and its
labels checked just before it is deleted: an object without netprobe's managed-by label
(or, for a run's teardown, without that run's id) is never deleted, whatever the caller
asked. Namespaces are deleted with background propagation, so the API server removes
their pods and policies itself; there are no finalizers to get stuck. A namespace that is
already Terminating (deleted by an earlier teardown or cleanup that ran out of time, or by
someone else) answers a delete with 409: it is already going, and is waited for.
"""

from __future__ import annotations

from dataclasses import dataclass

from netprobe.backends.kubernetes.api import ConflictError, KubeApiError, KubeGateway, Obj
from netprobe.backends.kubernetes.bodies import RUN_ID_KEY, is_managed, labels_of
from netprobe.backends.kubernetes.timing import poll_until
from netprobe.clock import Clock
from netprobe.model import PodRef, PolicyRef


@dataclass(frozen=True, slots=True)
class Leftovers:
    namespaces: tuple[str, ...] = ()
    pods: tuple[PodRef, ...] = ()
    """Pods in namespaces that are not deleted themselves."""
    policies: tuple[PolicyRef, ...] = ()
    """Policies in namespaces that are not deleted themselves."""
    run_id: str | None = None
    """Only objects of this run; None: any run's (``netprobe cleanup``)."""

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.pods or self.policies)

    def __str__(self) -> str:
        parts = [f"namespace {n}" for n in self.namespaces]
        parts += [f"pod {p}" for p in self.pods]
        parts += [f"NetworkPolicy {p}" for p in self.policies]
        return ", ".join(parts) or "nothing"


def owned(obj: Obj | None, run_id: str | None) -> bool:
    """Whether ``obj`` may be deleted: netprobe's, from a run, and from ``run_id`` if set."""
    if obj is None or not is_managed(obj):
        return False
    found = labels_of(obj).get(RUN_ID_KEY)
    return found is not None and (run_id is None or found == run_id)


@dataclass(frozen=True, slots=True)
class CleanupOutcome:
    remaining: Leftovers
    """What is still there at the deadline (empty when everything went)."""
    errors: tuple[str, ...] = ()
    """Deletions the API server refused."""

    def __str__(self) -> str:
        text = str(self.remaining)
        return f"{text} ({'; '.join(self.errors)})" if self.errors else text


def _read(gateway: KubeGateway, item: str | PodRef | PolicyRef) -> Obj | None:
    if isinstance(item, PodRef):
        return gateway.read_pod(item.namespace, item.name)
    if isinstance(item, PolicyRef):
        return gateway.read_policy(item.namespace, item.name)
    return gateway.read_namespace(item)


def _delete(gateway: KubeGateway, item: str | PodRef | PolicyRef) -> None:
    if isinstance(item, PodRef):
        gateway.delete_pod(item.namespace, item.name)
    elif isinstance(item, PolicyRef):
        gateway.delete_policy(item.namespace, item.name)
    else:
        gateway.delete_namespace(item)


def is_terminating(namespace: Obj | None) -> bool:
    """Whether a namespace is already being deleted (or gone)."""
    if namespace is None:
        return True
    meta = namespace.get("metadata") or {}
    phase = (namespace.get("status") or {}).get("phase")
    return bool(meta.get("deletionTimestamp")) or phase == "Terminating"


def _already_going(gateway: KubeGateway, item: str | PodRef | PolicyRef) -> bool:
    """Whether a 409 answering the delete of ``item`` means it is already being deleted.
    kube-apiserver answers a delete of a namespace whose deletionTimestamp is set, while its
    spec.finalizers is not empty, with a Conflict ("The system is ensuring all content is
    removed from this namespace...": kubernetes/kubernetes
    pkg/registry/core/namespace/storage/storage.go, REST.Delete). That namespace goes
    anyway: wait for it like any other. The namespace is read again rather than the message
    matched, which servers may word differently."""
    if not isinstance(item, str):
        return False
    try:
        return is_terminating(gateway.read_namespace(item))
    except KubeApiError:
        return False


def _what(item: str | PodRef | PolicyRef) -> str:
    kind = "pod" if isinstance(item, PodRef) else "NetworkPolicy"
    return f"{'namespace' if isinstance(item, str) else kind} {item}"


def delete_and_wait(
    gateway: KubeGateway, leftovers: Leftovers, timeout: float, clock: Clock
) -> CleanupOutcome:
    """Delete ``leftovers`` (each only if :func:`owned`) and wait for them to be gone."""
    run_id = leftovers.run_id
    errors: list[str] = []
    items: list[str | PodRef | PolicyRef] = [
        *leftovers.namespaces,
        *leftovers.pods,
        *leftovers.policies,
    ]
    deleting: list[str | PodRef | PolicyRef] = []
    for item in items:
        try:
            if not owned(_read(gateway, item), run_id):
                continue
            _delete(gateway, item)
        except ConflictError as exc:
            if not _already_going(gateway, item):
                errors.append(f"{_what(item)}: {exc}")
        except KubeApiError as exc:
            errors.append(f"{_what(item)}: {exc}")
        deleting.append(item)

    def gone() -> bool | None:
        deleting[:] = [item for item in deleting if _read(gateway, item) is not None]
        return True if not deleting else None

    poll_until(gone, timeout, clock)
    remaining = Leftovers(
        tuple(i for i in deleting if isinstance(i, str)),
        tuple(i for i in deleting if isinstance(i, PodRef)),
        tuple(i for i in deleting if isinstance(i, PolicyRef)),
        run_id,
    )
    return CleanupOutcome(remaining, tuple(errors))
