"""The seam between the Kubernetes backend and the API server: plain-dict operations.

:class:`KubeGateway` is what the backend needs from a cluster, stated in dicts as they go
over the wire, so that the one module importing ``kubernetes``
(:mod:`netprobe.backends.kubernetes.gateway`) stays thin and a test fake can behave like
an API server without imitating the client library. Errors cross this seam only as the
:class:`KubeApiError` tree below, already translated into netprobe's :class:`BackendError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from netprobe.backends.base import ExecResult
from netprobe.errors import BackendError

Obj = dict[str, Any]
"""An API object as JSON: ``{"apiVersion": ..., "kind": ..., "metadata": ..., ...}``."""


class KubeApiError(BackendError):
    """The API server refused a request, or could not be reached."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class NotFoundError(KubeApiError):
    """404: the object (or the resource kind) does not exist."""


class ConflictError(KubeApiError):
    """409: the object already exists, or changed since it was read (resourceVersion)."""


class ForbiddenError(KubeApiError):
    """403: RBAC (or an admission controller such as Pod Security) refused the request."""

    fatal = True


class UnauthorizedError(KubeApiError):
    """401: the credentials are missing, wrong or expired."""

    fatal = True


class UnreachableError(KubeApiError):
    """No HTTP answer at all: DNS, TCP, TLS, a proxy, or a timeout."""


class InvalidError(KubeApiError):
    """400/422: the API server rejected the object as invalid."""


@dataclass(frozen=True, slots=True)
class AccessCheck:
    """One verb on one resource that netprobe needs, as a SelfSubjectAccessReview asks it."""

    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespace: str | None = None
    """None asks for the whole cluster."""

    def __str__(self) -> str:
        kind = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        if self.group:
            kind = f"{kind}.{self.group}"
        where = f"in namespace {self.namespace}" if self.namespace else "cluster-wide"
        return f"{self.verb} {kind} {where}"


@dataclass(frozen=True, slots=True)
class AccessDecision:
    check: AccessCheck
    allowed: bool
    reason: str = ""


class KubeGateway(Protocol):
    """Everything the Kubernetes backend asks of a cluster.

    Reads return None for an object that does not exist; deletes return False when there
    was nothing to delete. Every other failure raises a :class:`KubeApiError`. A
    ``namespace`` of None in a ``list_*`` call means all namespaces.
    """

    @property
    def server(self) -> str:
        """The API server's address and the kubeconfig context, for messages."""
        ...

    def review_access(self, checks: Sequence[AccessCheck]) -> tuple[AccessDecision, ...]: ...

    def read_namespace(self, name: str) -> Obj | None: ...
    def list_namespaces(self, label_selector: str) -> list[Obj]: ...
    def create_namespace(self, body: Obj) -> Obj: ...
    def patch_namespace_labels(self, name: str, labels: Mapping[str, str | None]) -> Obj: ...
    def delete_namespace(self, name: str) -> bool: ...

    def read_pod(self, namespace: str, name: str) -> Obj | None: ...
    def list_pods(self, namespace: str | None, label_selector: str) -> list[Obj]: ...
    def create_pod(self, namespace: str, body: Obj) -> Obj: ...
    def patch_pod_labels(
        self, namespace: str, name: str, labels: Mapping[str, str | None]
    ) -> Obj: ...
    def delete_pod(self, namespace: str, name: str) -> bool: ...
    def add_ephemeral_container(self, namespace: str, name: str, container: Obj) -> Obj: ...

    def list_pod_selectors(self, namespace: str) -> list[tuple[str, Obj]]:
        """The objects of ``namespace`` that select pods by label, as (kind, object):
        Services, ReplicaSets, StatefulSets and DaemonSets (which adopt matching pods)."""
        ...

    def read_policy(self, namespace: str, name: str) -> Obj | None: ...
    def list_policies(self, namespace: str | None, label_selector: str) -> list[Obj]: ...
    def create_policy(self, namespace: str, body: Obj) -> Obj: ...
    def replace_policy(self, namespace: str, name: str, body: Obj) -> Obj: ...
    def delete_policy(self, namespace: str, name: str) -> bool: ...

    def list_events(self, namespace: str) -> list[Obj]:
        """The core/v1 Events of ``namespace`` (for diagnostics; in no particular order)."""
        ...

    def read_lease(self, namespace: str, name: str) -> Obj | None: ...
    def list_leases(self, namespace: str, label_selector: str) -> list[Obj]: ...
    def create_lease(self, namespace: str, body: Obj) -> Obj: ...
    def replace_lease(self, namespace: str, name: str, body: Obj) -> Obj:
        """Replace; ``body.metadata.resourceVersion`` makes it fail with ConflictError when
        someone else changed the Lease since it was read."""
        ...

    def delete_lease(self, namespace: str, name: str) -> bool: ...

    def exec(
        self, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
    ) -> ExecResult:
        """Run ``argv`` (no TTY; a command too long for the request URL travels on stdin,
        see :mod:`.execinput`) and return within ``timeout`` seconds whatever happens: a
        call still running then is abandoned and reported as timed out, a stream that
        breaks off is a result with no exit code (stderr says why); a call the API server
        refused, or that could not reach it, raises a KubeApiError."""
        ...

    def close(self) -> None: ...
