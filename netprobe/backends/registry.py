"""Backends by name, imported only when asked for.

``create_backend("local", ...)`` imports the local dataplane; ``create_backend("kubernetes",
...)`` is the only path that imports :mod:`netprobe.backends.kubernetes` (and through it the
``kubernetes`` client), so ``netprobe run --backend local``, the pytest plugin and the
static commands never load it.

A backend package plugs in with a factory: ``netprobe.backends.kubernetes.create_backend(
options)`` taking the :class:`KubeOptions` carried in :attr:`BackendOptions.kubernetes`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from netprobe.backends.base import Backend
from netprobe.errors import BackendError, InputError

BACKENDS: tuple[str, ...] = ("local", "kubernetes")


@dataclass(frozen=True, slots=True)
class BackendOptions:
    apply_delay: float = 0.0
    """local: policy changes take effect on each pod after a random delay up to this."""
    seed: int | None = None
    """local: seeds that randomness, for reproducible runs."""
    run_id: str | None = None
    """local: the six hex digits naming what the run creates (``NETPROBE_RUN_ID``);
    random when None."""
    kubernetes: Any = None
    """kubernetes: its ``KubeOptions`` (kept opaque here: typing it would import it)."""


def create_backend(name: str, options: BackendOptions | None = None) -> Backend:
    """A ready-to-deploy backend called ``name``.

    Raises:
        InputError: an unknown name, or an option that backend does not take.
        BackendError: the backend cannot run here (privileges, tools, client library).
    """
    options = options or BackendOptions()
    if options.apply_delay < 0:
        raise InputError(f"--apply-delay must be 0 or more, got {options.apply_delay:g}")
    if name == "local":
        return _local(options)
    if name == "kubernetes":
        if options.apply_delay:
            raise InputError(
                "--apply-delay only applies to the local backend (a cluster has its own delays)"
            )
        return _kubernetes(options)
    raise InputError(f"unknown backend '{name}' (choose from {', '.join(BACKENDS)})")


def _local(options: BackendOptions) -> Backend:
    from netprobe.backends.local import LocalBackend, LocalOptions
    from netprobe.backends.local.naming import RUN_ID_PATTERN

    if options.run_id is not None and not RUN_ID_PATTERN.match(options.run_id):
        raise InputError(
            f"NETPROBE_RUN_ID must be six lowercase hex digits, got {options.run_id!r}"
        )
    backend = LocalBackend(
        LocalOptions(apply_delay=options.apply_delay, seed=options.seed, run_id=options.run_id)
    )
    backend.preflight()
    return backend


def _kubernetes(options: BackendOptions) -> Backend:
    try:
        module = importlib.import_module("netprobe.backends.kubernetes")
    except ModuleNotFoundError as exc:
        if exc.name == "kubernetes" or (exc.name or "").startswith("kubernetes."):
            raise BackendError(
                "the kubernetes backend needs the kubernetes client: "
                "pip install 'netprobe[kubernetes]'"
            ) from exc
        raise BackendError(f"the kubernetes backend cannot be loaded: {exc}") from exc
    factory = getattr(module, "create_backend", None)
    if factory is None:
        raise BackendError("this build of netprobe has no kubernetes backend factory")
    backend: Backend = factory(options.kubernetes)
    return backend
