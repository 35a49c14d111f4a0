"""The backends netprobe has: one list, read by ``netprobe run``, ``netprobe cleanup`` and
the pytest plugin.

Each :class:`Plugin` names its options (a frozen dataclass whose fields are declared with
:mod:`netprobe.backends.options`) and the module that implements it. The options are read
for every backend (they are flags of ``netprobe run`` and ``netprobe cleanup``) and load
nothing platform-specific; the implementation is imported only when that backend is
created or cleaned: only then does the local backend load its Linux-only modules, or the
Kubernetes backend the ``kubernetes`` client. That module's ``PLUGIN`` is a
:class:`BackendPlugin`: how to create a backend from the options, and how to clean up
what interrupted runs left behind.

A new backend is a package under ``netprobe/backends/`` with an options module and a
``plugin`` module, and one line in :data:`PLUGINS`.
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
    options: str
    """``module:Class`` of its options."""
    module: str
    """The module whose ``PLUGIN`` implements it."""

    def options_type(self) -> type[Any]:
        module, _, name = self.options.partition(":")
        options: type[Any] = getattr(importlib.import_module(module), name)
        return options

    def load(self) -> BackendPlugin[Any]:
        """The backend's ``PLUGIN``; BackendError when this machine cannot run it."""
        try:
            module = importlib.import_module(self.module)
        except ImportError as exc:
            if (exc.name or "").startswith("netprobe"):
                raise
            raise BackendError(f"the {self.name} backend cannot run here: {exc}") from exc
        plugin: BackendPlugin[Any] = module.PLUGIN
        return plugin


PLUGINS: tuple[Plugin, ...] = (
    Plugin(
        "local",
        "network namespaces + nftables on this machine (root)",
        options="netprobe.backends.local.options:LocalOptions",
        module="netprobe.backends.local.plugin",
    ),
    Plugin(
        "kubernetes",
        "the cluster of your kubeconfig",
        options="netprobe.backends.kubernetes.options:KubeOptions",
        module="netprobe.backends.kubernetes.plugin",
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
    found = plugin(name)
    kind = found.options_type()
    chosen = kind() if options is None else options
    if not isinstance(chosen, kind):
        raise TypeError(f"the {name} backend takes {kind.__name__}, got {chosen!r}")
    return found.load().create(chosen, run_id, index)


def clean(name: str, options: object | None = None, cleanup: Cleanup = Cleanup()) -> list[str]:
    """What ``netprobe cleanup --backend name`` removed (or would remove), one line each."""
    found = plugin(name)
    return found.load().clean(found.options_type()() if options is None else options, cleanup)
