"""Dataplanes that run probe pods: the local one (network namespaces and nftables) and
Kubernetes. Only :mod:`netprobe.backends.kubernetes` imports the ``kubernetes`` client."""
