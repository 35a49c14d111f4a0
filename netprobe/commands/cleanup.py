"""``netprobe cleanup``: remove what interrupted runs left behind.

Each backend's plugin cleans its own leftovers (see :mod:`netprobe.backends.registry`).
Nothing that netprobe did not create is touched: locally, only what is in the directories
of netprobe's runs; in a cluster, only objects carrying a run's ownership labels.
"""

from __future__ import annotations

import argparse

from netprobe.backends.registry import PLUGINS, Cleanup, clean
from netprobe.commands.backend_options import add_backend_options, backend_options

DESCRIPTION = (
    "Remove what interrupted netprobe runs left behind. Locally: the "
    "network namespaces (with their interfaces and rules) in the directories of runs "
    "whose netprobe process is gone, /run/netprobe/<runid>/; nothing outside them is "
    "looked at, so a namespace of yours is never touched, whatever its name. In a "
    "cluster: the objects labelled with a run's id. Runs whose netprobe process is "
    "still alive are left alone unless --all is given."
)
EPILOG = ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend", choices=[plugin.name for plugin in PLUGINS], default=PLUGINS[0].name
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed")
    parser.add_argument(
        "--all", action="store_true", help="also remove runs whose netprobe process still runs"
    )
    add_backend_options(parser, "cleanup")


def run(args: argparse.Namespace) -> int:
    cleanup = Cleanup(dry_run=args.dry_run, include_live=args.all)
    lines = clean(args.backend, backend_options(args, args.backend, "cleanup"), cleanup)
    verb = "would remove" if cleanup.dry_run else "removed"
    for line in lines:
        print(f"{verb} {line}")
    if not lines:
        print(f"nothing to clean up ({args.backend} backend)")
    return 0
