"""What every subcommand shares: the suite paths, the ``-f`` manifest option and how loader
warnings reach the user."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netprobe.model import ClusterState

MANIFESTS_HELP = (
    "a manifest file or directory (YAML or JSON), or - for standard input; repeat for several"
)


def warn(message: str) -> None:
    """A loader warning (``file:line: ...``), one line on stderr, apart from the output."""
    print(f"netprobe: warning: {message}", file=sys.stderr)


def add_suite_arguments(parser: argparse.ArgumentParser) -> None:
    """``SUITE_OR_DIR...`` (one or more) into ``args.paths``, as the suite loader reads them."""
    parser.add_argument(
        "paths",
        metavar="SUITE_OR_DIR",
        nargs="+",
        type=Path,
        help="suite files (or bundles), or directories searched for *.netprobe.yaml, "
        "sub-folders included",
    )


def add_manifest_arguments(
    parser: argparse.ArgumentParser, help: str = MANIFESTS_HELP, required: bool = True
) -> None:
    """``-f/--filename PATH`` (repeatable) into ``args.paths``."""
    parser.add_argument(
        "-f",
        "--filename",
        dest="paths",
        metavar="PATH",
        type=Path,
        action="append",
        required=required,
        default=None if required else [],
        help=help,
    )


def load_manifests(paths: Sequence[Path]) -> ClusterState:
    """The snapshot the manifests describe; loader warnings go to stderr.

    What the load made lives as long as the command: it is frozen out of the cyclic
    garbage collector's reach, which would otherwise walk millions of objects of a large
    cluster again and again while the command works."""
    from netprobe.manifests import load_state

    state = load_state(paths, warn)
    gc.freeze()
    return state
