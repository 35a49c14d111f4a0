"""The local dataplane: probe pods as Linux network namespaces on one bridge, external hosts
as namespaces of their own, NetworkPolicies enforced by nftables rules compiled from them
(independently of the analyzer). Needs root, iproute2, nftables and netcat-openbsd."""

from netprobe.backends.local.backend import LocalBackend, LocalOptions

__all__ = ["LocalBackend", "LocalOptions"]
