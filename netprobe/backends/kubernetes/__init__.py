"""The Kubernetes backend: netprobe's probe pods in a real cluster, through the official
client.

Importing this package does not import the ``kubernetes`` client library (``netprobe run``
reads :mod:`.options` for its flags whatever the backend); only :func:`create_backend` and
:func:`cleanup_report` load :mod:`.gateway`, the one module that does. The registry reaches
this backend through :mod:`.plugin`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from netprobe.backends.kubernetes import clientversion
from netprobe.backends.kubernetes.backend import KubernetesBackend
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.errors import BackendError
from netprobe.suite.model import Workload

log = logging.getLogger("netprobe")

if TYPE_CHECKING:
    from netprobe.backends.kubernetes.cleanup import CleanupReport
    from netprobe.backends.kubernetes.gateway import ClientGateway


def connect(options: KubeOptions) -> ClientGateway:
    """A gateway to the cluster ``options`` name (kubeconfig, context or in-cluster)."""
    clientversion.check()
    try:
        from netprobe.backends.kubernetes.gateway import connect as _connect
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in ("kubernetes", "urllib3"):
            raise BackendError(
                "the kubernetes backend needs the kubernetes client: "
                "pip install 'netprobe[kubernetes]'"
            ) from exc
        raise
    return _connect(options)


def create_backend(
    options: KubeOptions | None = None, workloads: Sequence[Workload] = ()
) -> KubernetesBackend:
    """A backend on the cluster ``options`` name, its gateway connected."""
    options = options or KubeOptions()
    return KubernetesBackend(connect(options), options, workloads=workloads)


def cleanup_report(
    options: KubeOptions, *, include_live: bool = False, dry_run: bool = False
) -> CleanupReport:
    """Remove leftovers of earlier runs, by label (``netprobe cleanup``)."""
    from netprobe.backends.kubernetes.cleanup import clean_cluster
    from netprobe.clock import SYSTEM_CLOCK

    gateway = connect(options)
    try:
        return clean_cluster(
            gateway,
            options.lock_namespace,
            options.cleanup_timeout,
            SYSTEM_CLOCK,
            include_live=include_live,
            dry_run=dry_run,
        )
    finally:
        gateway.close()


def cleanup_leftovers(
    options: KubeOptions, *, include_live: bool = False, dry_run: bool = False
) -> list[str]:
    """``netprobe cleanup --backend kubernetes``: one line per leftover removed (or, on a
    dry run, found). Live runs are skipped with a warning; BackendError (exit 3) when
    something could not be removed before ``cleanup_timeout``."""
    report = cleanup_report(options, include_live=include_live, dry_run=dry_run)
    for run_id, renewed in report.live.items():
        log.warning(
            "skipped the objects of run %s: it is still running (its Lease was renewed %s); "
            "--all removes them too",
            run_id,
            renewed,
        )
    outcome = report.outcome
    if outcome is not None and (outcome.remaining or outcome.errors):
        raise BackendError(
            f"cleanup did not finish within {options.cleanup_timeout:g}s; still present: {outcome}"
        )
    return report.items()


__all__ = [
    "KubeOptions",
    "KubernetesBackend",
    "cleanup_leftovers",
    "cleanup_report",
    "connect",
    "create_backend",
]
