"""The Kubernetes backend as the registry sees it (see :mod:`netprobe.backends.registry`).

Importing this module does not import the ``kubernetes`` client: creating a backend or
cleaning up does."""

from __future__ import annotations

from dataclasses import replace

from netprobe.backends import kubernetes
from netprobe.backends.base import Backend
from netprobe.backends.kubernetes.options import KubeOptions
from netprobe.backends.registry import BackendPlugin, Cleanup


def create(options: KubeOptions, run_id: str | None, index: int) -> Backend:
    """The ``index``-th backend of a run (one per suite). Each has its own run id, the
    first the one fixed by NETPROBE_RUN_ID (so it names a single-suite run), later ones
    ``<id>-2``, ``<id>-3``...: a suite's objects may still be terminating when the next
    suite starts."""
    base = run_id or options.run_id
    return kubernetes.create_backend(
        replace(options, run_id=base if index == 0 else f"{base}-{index + 1}")
    )


def clean(options: KubeOptions, cleanup: Cleanup) -> list[str]:
    return kubernetes.cleanup_leftovers(
        options, include_live=cleanup.include_live, dry_run=cleanup.dry_run
    )


PLUGIN = BackendPlugin(create=create, clean=clean)
