"""``netprobe cleanup``: remove what interrupted runs left behind.

Each backend registers a cleaner in :data:`CLEANERS`: a function of the options that
removes (or, on a dry run, only lists) that backend's leftovers, and returns one line per
item. Nothing that netprobe did not create is touched: locally, only what is in the
directories of netprobe's runs; in a cluster, only objects carrying a run's ownership labels.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CleanupOptions:
    dry_run: bool = False
    """List what would be removed; remove nothing."""
    include_live: bool = False
    """Also remove runs whose netprobe process is still running."""
    kubernetes: Any = None
    """kubernetes: its ``KubeOptions`` (kubeconfig, context, ...); opaque here."""


Cleaner = Callable[[CleanupOptions], list[str]]


def _local(options: CleanupOptions) -> list[str]:
    from netprobe.backends.local.cleanup import clean

    found = clean(dry_run=options.dry_run, include_live=options.include_live)
    return [line for item in found for line in item.lines()]


def _kubernetes(options: CleanupOptions) -> list[str]:
    from netprobe.backends.kubernetes import KubeOptions, cleanup_leftovers

    return cleanup_leftovers(
        options.kubernetes or KubeOptions(),
        include_live=options.include_live,
        dry_run=options.dry_run,
    )


CLEANERS: dict[str, Cleaner] = {"local": _local, "kubernetes": _kubernetes}
"""Backend name -> cleaner; ``--backend`` offers these names."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cleanup",
        help="remove what an interrupted run left behind",
        description="Remove what interrupted netprobe runs left behind. Locally: the "
        "network namespaces (with their interfaces and rules) in the directories of runs "
        "whose netprobe process is gone, /run/netprobe/<runid>/; nothing outside them is "
        "looked at, so a namespace of yours is never touched, whatever its name. In a "
        "cluster: the objects labelled with a run's id. Runs whose netprobe process is "
        "still alive are left alone unless --all is given.",
    )
    parser.add_argument("--backend", choices=sorted(CLEANERS), default="local")
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed")
    parser.add_argument(
        "--all", action="store_true", help="also remove runs whose netprobe process still runs"
    )
    from netprobe.backends.kubernetes.options import add_kubernetes_options

    add_kubernetes_options(parser, cleanup=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kubernetes = None
    if args.backend == "kubernetes":
        from netprobe.backends.kubernetes.options import kubernetes_options_from

        kubernetes = kubernetes_options_from(args)
    options = CleanupOptions(dry_run=args.dry_run, include_live=args.all, kubernetes=kubernetes)
    lines = CLEANERS[args.backend](options)
    verb = "would remove" if options.dry_run else "removed"
    for line in lines:
        print(f"{verb} {line}")
    if not lines:
        print(f"nothing to clean up ({args.backend} backend)")
    return 0
