"""The Kubernetes backend's settings; the fields made with ``option``/``switch`` are the
flags of ``netprobe run`` and ``netprobe cleanup`` (see :mod:`netprobe.backends.options`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from netprobe.backends.kubernetes.bodies import DEFAULT_IMAGE
from netprobe.backends.options import existing_file, option, positive_seconds, switch


def new_run_id() -> str:
    """Short, unique, and valid as a label value and in object names."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True, slots=True)
class KubeOptions:
    kubeconfig: Path | None = option(
        None,
        "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)",
        parse=existing_file,
        metavar="FILE",
    )
    """None: ``$KUBECONFIG``, then ``~/.kube/config``, then the in-cluster config."""
    context: str | None = option(None, "kubeconfig context to use", metavar="NAME")
    image: str = option(
        DEFAULT_IMAGE,
        f"probe and server image (default: {DEFAULT_IMAGE})",
        metavar="IMAGE",
        commands=("run",),
    )
    use_existing_namespaces: bool = switch(
        "run in suite namespaces that exist and are not netprobe's: create only netprobe's "
        "pods and policies there, and remove only those"
    )
    """Allow suite namespaces that exist and are not netprobe's (only pods and policies are
    created there, and only those are removed)."""
    ready_timeout: float = option(
        180.0,
        "how long probe pods may take to become ready (default: 180)",
        parse=positive_seconds,
        metavar="SECONDS",
        commands=("run",),
    )
    cleanup_timeout: float = option(
        120.0,
        "how long to wait for netprobe's objects to be gone (default: 120)",
        parse=positive_seconds,
        metavar="SECONDS",
    )
    request_timeout: float = option(
        30.0,
        "how long the API server may take to answer one request (default: 30)",
        parse=positive_seconds,
        metavar="SECONDS",
    )
    """Seconds for each REST call (read timeout; connecting, TLS included, gets at most 10)."""
    exec_workers: int = 16
    """Execs in flight at once (the runner's own concurrency is the real limit)."""
    lock_namespace: str = option(
        "netprobe-system",
        "namespace of the Leases that keep concurrent runs apart (default: netprobe-system)",
        metavar="NAMESPACE",
    )
    lease_seconds: int = 120
    run_id: str = field(default_factory=new_run_id)
