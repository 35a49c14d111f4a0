"""The local dataplane: probe pods as Linux network namespaces on one bridge, external hosts
as namespaces of their own, NetworkPolicies enforced by nftables rules compiled from them
(independently of the analyzer). Needs root, iproute2, nftables and netcat-openbsd.

:class:`LocalBackend` is imported when first asked for: reading the options (for the
flags of ``netprobe run``) loads nothing Linux-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netprobe.backends.local.options import LocalOptions

if TYPE_CHECKING:
    from netprobe.backends.local.backend import LocalBackend


def __getattr__(name: str) -> Any:
    if name == "LocalBackend":
        from netprobe.backends.local.backend import LocalBackend

        return LocalBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["LocalBackend", "LocalOptions"]
