"""The backends netprobe has: one list, read by ``netprobe run``, ``netprobe cleanup`` and
the pytest plugin.

Each :class:`Plugin` names the module that implements it, imported only when the backend
is used: ``netprobe run --backend local`` never imports the Kubernetes backend, and only
creating or cleaning with the Kubernetes backend loads the ``kubernetes`` client. That
module's ``PLUGIN`` is a :class:`BackendPlugin`: its options (a frozen dataclass whose
fields are declared with :mod:`netprobe.backends.options`), how to create a backend from
them, and how to clean up what interrupted runs left behind.

A new backend is a package under ``netprobe/backends/`` with a ``plugin`` module, and one
line in :data:`PLUGINS`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from netprobe.backends.base import Backend
from netprobe.errors import BackendError, InputError

OptionsT = TypeVar("OptionsT")

RUN_ID_VARIABLE = "NETPROBE_RUN_ID"


@dataclass(frozen=True, slots=True)
class Cleanup:
    dry_run: bool = False
    """List what would be removed; remove nothing."""
    include_live: bool = False
    """Also remove what runs whose netprobe process still runs have made."""


@dataclass(frozen=True, slots=True)
class BackendPlugin(Generic[OptionsT]):
    """What a backend module offers (its ``PLUGIN``)."""

    options: type[OptionsT]
    """Its options; fields declared with ``option``/``switch`` are flags."""
    create: Callable[[OptionsT, str | None, int], Backend]
    """A ready-to-deploy backend, from the options, the run id the user fixed (None: a
    fresh one) and which backend of this run it is (0 for the first: one per suite)."""
    clean: Callable[[OptionsT, Cleanup], list[str]]
    """Remove (or on a dry run, list) what interrupted runs left; one line per item."""


@dataclass(frozen=True, slots=True)
class Plugin:
    name: str
    summary: str
    """One line for ``--help``."""
    module: str
    """The module whose ``PLUGIN`` implements it."""

    def load(self) -> BackendPlugin[Any]:
        """The backend's ``PLUGIN``; BackendError when a library it needs is missing."""
        try:
            module = importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "").split(".")[0]
            if missing != "netprobe":
                raise BackendError(
                    f"the {self.name} backend needs the Python package '{missing}': "
                    f"pip install 'netprobe[{self.name}]'"
                ) from exc
            raise
        plugin: BackendPlugin[Any] = module.PLUGIN
        return plugin


PLUGINS: tuple[Plugin, ...] = (
    Plugin(
        "local",
        "network namespaces + nftables on this machine (root)",
        "netprobe.backends.local.plugin",
    ),
    Plugin(
        "kubernetes",
        "the cluster of your kubeconfig",
        "netprobe.backends.kubernetes.plugin",
    ),
)
NAMES: tuple[str, ...] = tuple(plugin.name for plugin in PLUGINS)


def plugin(name: str) -> Plugin:
    """The backend called ``name``; InputError for a name netprobe does not have."""
    for candidate in PLUGINS:
        if candidate.name == name:
            return candidate
    raise InputError(f"unknown backend '{name}' (choose from {', '.join(NAMES)})")


def fixed_run_id() -> str | None:
    """The run id the user fixed with ``NETPROBE_RUN_ID`` (each backend checks its format)."""
    return os.environ.get(RUN_ID_VARIABLE) or None


def create_backend(
    name: str, options: object | None = None, *, run_id: str | None = None, index: int = 0
) -> Backend:
    """A ready-to-deploy backend called ``name``, with its ``options`` (defaults if None).

    Raises:
        InputError: an unknown name, or a run id that backend does not take.
        BackendError: the backend cannot run here (privileges, tools, client library).
    """
    loaded = plugin(name).load()
    chosen = loaded.options() if options is None else options
    if not isinstance(chosen, loaded.options):
        raise TypeError(f"the {name} backend takes {loaded.options.__name__}, got {chosen!r}")
    return loaded.create(chosen, run_id, index)


def clean(name: str, options: object | None = None, cleanup: Cleanup = Cleanup()) -> list[str]:
    """What ``netprobe cleanup --backend name`` removed (or would remove), one line each."""
    loaded = plugin(name).load()
    return loaded.clean(loaded.options() if options is None else options, cleanup)
