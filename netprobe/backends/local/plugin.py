"""The local backend as the registry sees it (see :mod:`netprobe.backends.registry`)."""

from __future__ import annotations

from dataclasses import replace

from netprobe.backends.base import Backend
from netprobe.backends.local.backend import LocalBackend
from netprobe.backends.local.cleanup import clean
from netprobe.backends.local.naming import RUN_ID_PATTERN
from netprobe.backends.local.options import LocalOptions
from netprobe.backends.registry import BackendPlugin, Cleanup
from netprobe.errors import InputError


def create(options: LocalOptions, run_id: str | None, index: int) -> Backend:
    """Suites run one after another, so each may reuse a fixed run id (``index`` unused)."""
    if run_id is not None:
        if not RUN_ID_PATTERN.match(run_id):
            raise InputError(f"NETPROBE_RUN_ID must be six lowercase hex digits, got {run_id!r}")
        options = replace(options, run_id=run_id)
    backend = LocalBackend(options)
    backend.preflight()
    return backend


def _clean(options: LocalOptions, cleanup: Cleanup) -> list[str]:
    found = clean(dry_run=cleanup.dry_run, include_live=cleanup.include_live)
    return [line for item in found for line in item.lines()]


PLUGIN = BackendPlugin(create=create, clean=_clean)
