"""Ask the API server, before creating anything, whether netprobe may do all it will do.

A run that fails half way on a 403 leaves objects behind and wastes minutes; one
SelfSubjectAccessReview per verb reports every missing permission at once, up front.
``pods/exec`` needs both ``get`` and ``create``: the client execs over a WebSocket GET, and
Kubernetes 1.35 added a ``create`` check on WebSocket upgrades (kubernetes#134577).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from netprobe.backends.kubernetes.api import AccessCheck, KubeGateway
from netprobe.errors import BackendError

NETWORKING = "networking.k8s.io"
COORDINATION = "coordination.k8s.io"
APPS = "apps"


def _namespaced(
    namespace: str, *, staging: bool = False, probing: bool = True
) -> list[AccessCheck]:
    if staging:
        checks = [
            AccessCheck("get", "pods", namespace=namespace),
            AccessCheck("list", "pods", namespace=namespace),
        ]
        if probing:  # only probed to, its workloads' IPs are all a run needs there
            checks += [
                AccessCheck(
                    "patch", "pods", subresource="ephemeralcontainers", namespace=namespace
                ),
                AccessCheck("get", "pods", subresource="exec", namespace=namespace),
                AccessCheck("create", "pods", subresource="exec", namespace=namespace),
            ]
        return [
            *checks,
            AccessCheck("get", "networkpolicies", NETWORKING, namespace=namespace),
            AccessCheck("list", "networkpolicies", NETWORKING, namespace=namespace),
        ]
    return [
        AccessCheck(verb, "pods", namespace=namespace)
        for verb in ("get", "list", "create", "patch", "delete")
    ] + [
        AccessCheck("get", "pods", subresource="exec", namespace=namespace),
        AccessCheck("create", "pods", subresource="exec", namespace=namespace),
        *(
            AccessCheck(verb, "networkpolicies", NETWORKING, namespace=namespace)
            for verb in ("get", "list", "create", "update", "delete")
        ),
    ]


def run_checks(
    created: Iterable[str],
    borrowed: Iterable[str],
    staged: Iterable[str],
    lock_namespace: str,
    destinations_only: Iterable[str] = (),
) -> tuple[AccessCheck, ...]:
    """The permissions a run needs: namespaces it creates, namespaces it borrows (with
    ``--use-existing-namespaces``), namespaces of staging workloads (those of
    ``destinations_only``, whose workloads are never probed from, are only read), and its
    Leases."""
    # list: teardown also finds this run's namespaces by label (a lost create answer).
    checks: list[AccessCheck] = [
        AccessCheck("get", "namespaces"),
        AccessCheck("list", "namespaces"),
    ]
    created = sorted(set(created))
    if created:
        checks += [AccessCheck(v, "namespaces") for v in ("create", "patch", "delete")]
    for namespace in sorted({*created, *borrowed}):
        checks += _namespaced(namespace)
    for namespace in sorted(set(borrowed)):
        # what could select netprobe's pods there (see backend._refuse_selected)
        checks.append(AccessCheck("list", "services", namespace=namespace))
        checks.append(AccessCheck("list", "replicationcontrollers", namespace=namespace))
        checks += [
            AccessCheck("list", resource, APPS, namespace=namespace)
            for resource in ("replicasets", "statefulsets", "daemonsets")
        ]
    quiet = set(destinations_only)
    for namespace in sorted(set(staged)):
        checks += _namespaced(namespace, staging=True, probing=namespace not in quiet)
    checks += [
        AccessCheck(verb, "leases", COORDINATION, namespace=lock_namespace)
        for verb in ("get", "list", "create", "update", "delete")
    ]
    return tuple(dict.fromkeys(checks))


def cleanup_checks(lock_namespace: str) -> tuple[AccessCheck, ...]:
    """The permissions ``netprobe cleanup`` needs: leftovers are found by listing, and each
    is read back (its labels checked) before it is deleted (:mod:`.teardown`)."""
    return (
        AccessCheck("get", "namespaces"),
        AccessCheck("list", "namespaces"),
        AccessCheck("delete", "namespaces"),
        AccessCheck("get", "pods"),
        AccessCheck("list", "pods"),
        AccessCheck("delete", "pods"),
        AccessCheck("get", "networkpolicies", NETWORKING),
        AccessCheck("list", "networkpolicies", NETWORKING),
        AccessCheck("delete", "networkpolicies", NETWORKING),
        AccessCheck("list", "leases", COORDINATION, namespace=lock_namespace),
        AccessCheck("delete", "leases", COORDINATION, namespace=lock_namespace),
    )


def require_access(gateway: KubeGateway, checks: Sequence[AccessCheck]) -> None:
    """BackendError listing every denied permission, and where the RBAC for it is."""
    denied = [d for d in gateway.review_access(checks) if not d.allowed]
    if not denied:
        return
    lines = [f"  {d.check}{f' ({d.reason})' if d.reason else ''}" for d in denied]
    raise BackendError(
        f"missing RBAC permissions on {gateway.server}:\n"
        + "\n".join(lines)
        + "\ngrant them to the identity netprobe runs as (deploy/rbac.yaml has the "
        "least-privilege roles; docs/kubernetes.md lists what each is for)"
    )
