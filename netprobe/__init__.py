"""netprobe: prove what a cluster's NetworkPolicies really allow.

The names below load on first use, so that starting the ``netprobe`` command (which
imports this package before anything else) costs almost nothing: its signal handling is
in place before the real work is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_HOMES = {
    "BackendError": "netprobe.errors",
    "InputError": "netprobe.errors",
    "LocatedError": "netprobe.errors",
    "NetprobeError": "netprobe.errors",
    "ClusterState": "netprobe.model",
    "Connection": "netprobe.model",
    "Namespace": "netprobe.model",
    "NetworkPolicy": "netprobe.model",
    "Pod": "netprobe.model",
    "PodRef": "netprobe.model",
    "PolicyRef": "netprobe.model",
    "PolicyType": "netprobe.model",
    "Protocol": "netprobe.model",
    "Verdict": "netprobe.model",
}

if TYPE_CHECKING:
    from netprobe.errors import BackendError, InputError, LocatedError, NetprobeError
    from netprobe.model import (
        ClusterState,
        Connection,
        Namespace,
        NetworkPolicy,
        Pod,
        PodRef,
        PolicyRef,
        PolicyType,
        Protocol,
        Verdict,
    )


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'netprobe' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


__all__ = [
    "BackendError",
    "ClusterState",
    "Connection",
    "InputError",
    "LocatedError",
    "Namespace",
    "NetprobeError",
    "NetworkPolicy",
    "Pod",
    "PodRef",
    "PolicyRef",
    "PolicyType",
    "Protocol",
    "Verdict",
    "__version__",
]
