"""The Kubernetes backend's settings, and the command-line options that fill them.

``netprobe run`` and ``netprobe cleanup`` both call :func:`add_kubernetes_options` and
:func:`kubernetes_options_from`, so the two commands spell every option the same way.
"""

from __future__ import annotations

import argparse
import math
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from netprobe.backends.kubernetes.manifests import DEFAULT_IMAGE
from netprobe.errors import InputError


def new_run_id() -> str:
    """Short, unique, and valid as a label value and in object names."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True, slots=True)
class KubeOptions:
    kubeconfig: Path | None = None
    """None: ``$KUBECONFIG``, then ``~/.kube/config``, then the in-cluster config."""
    context: str | None = None
    image: str = DEFAULT_IMAGE
    use_existing_namespaces: bool = False
    """Allow suite namespaces that exist and are not netprobe's (only pods and policies are
    created there, and only those are removed)."""
    ready_timeout: float = 180.0
    cleanup_timeout: float = 120.0
    request_timeout: float = 30.0
    """Seconds for each REST call (read timeout; connecting, TLS included, gets at most 10)."""
    exec_workers: int = 16
    """Execs in flight at once (the runner's own concurrency is the real limit)."""
    lock_namespace: str = "netprobe-system"
    lease_seconds: int = 120
    run_id: str = field(default_factory=new_run_id)


def add_kubernetes_options(parser: argparse.ArgumentParser, *, cleanup: bool = False) -> None:
    """The ``--backend kubernetes`` options; with ``cleanup``, only those cleanup uses."""
    group = parser.add_argument_group("kubernetes backend")
    group.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)",
    )
    group.add_argument("--context", default=None, help="kubeconfig context to use")
    if not cleanup:
        group.add_argument(
            "--image", default=None, help=f"probe and server image (default: {DEFAULT_IMAGE})"
        )
        group.add_argument(
            "--use-existing-namespaces",
            action="store_true",
            help="run in suite namespaces that exist and are not netprobe's: create only "
            "netprobe's pods and policies there, and remove only those",
        )
        group.add_argument(
            "--ready-timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="how long probe pods may take to become ready (default: 180)",
        )
    group.add_argument(
        "--cleanup-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for netprobe's objects to be gone (default: 120)",
    )
    group.add_argument(
        "--request-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long the API server may take to answer one request (default: 30)",
    )
    group.add_argument(
        "--lock-namespace",
        default=None,
        help="namespace of the Leases that keep concurrent runs apart (default: netprobe-system)",
    )


def kubernetes_options_from(args: argparse.Namespace) -> KubeOptions:
    """The options given on the command line (absent ones keep their defaults)."""
    defaults = KubeOptions()
    kubeconfig = getattr(args, "kubeconfig", None)
    if kubeconfig is not None and not Path(kubeconfig).is_file():
        raise InputError(f"--kubeconfig {kubeconfig}: no such file")
    for flag in ("ready_timeout", "cleanup_timeout", "request_timeout"):
        value = getattr(args, flag, None)
        if value is not None and not 0 < value < math.inf:  # nan compares false too
            raise InputError(
                f"--{flag.replace('_', '-')} must be a positive number of seconds, got {value:g}"
            )
    return KubeOptions(
        kubeconfig=kubeconfig,
        context=getattr(args, "context", None),
        image=getattr(args, "image", None) or defaults.image,
        use_existing_namespaces=bool(getattr(args, "use_existing_namespaces", False)),
        ready_timeout=getattr(args, "ready_timeout", None) or defaults.ready_timeout,
        cleanup_timeout=getattr(args, "cleanup_timeout", None) or defaults.cleanup_timeout,
        request_timeout=getattr(args, "request_timeout", None) or defaults.request_timeout,
        lock_namespace=getattr(args, "lock_namespace", None) or defaults.lock_namespace,
        run_id=os.environ.get("NETPROBE_RUN_ID") or defaults.run_id,
    )
