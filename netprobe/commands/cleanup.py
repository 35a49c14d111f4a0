"""``netprobe cleanup``: remove what interrupted runs left behind.

Each backend registers a cleaner in :data:`CLEANERS`: a function of the options that
removes (or, on a dry run, only lists) that backend's leftovers, and returns one line per
item. Nothing that netprobe did not create is touched: locally, only what a run's record
proves it created; in a cluster, only objects carrying the run's ownership labels.
"""

from __future__ import annotations

import argparse
import sys
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
    from netprobe.backends.local.cleanup import clean, unproven_note

    found = clean(dry_run=options.dry_run, include_live=options.include_live)
    if found.unproven:
        print(f"netprobe: {unproven_note(found.unproven)}", file=sys.stderr)
    return [str(item) for item in found.leftovers]


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
        description="Remove the namespaces, processes and rules that interrupted netprobe "
        "runs left behind. Locally, only namespaces a run's record in /run/netprobe proves it "
        "created (by the kernel's identity of the namespace, not its name: a namespace merely "
        "named like netprobe's is never touched, and is named on stderr); in a cluster, only "
        "objects labelled with a run's id. Runs whose netprobe process is still alive are "
        "left alone unless --all is given.",
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
