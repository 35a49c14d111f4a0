"""``netprobe matrix``: which pod may reach which, on every port asked, from manifests.

The outputs are rendered by :mod:`netprobe.report.matrix`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from netprobe.analyzer import declared_ports, matrix
from netprobe.commands.common import add_manifest_arguments, load_manifests
from netprobe.errors import EXIT_OK, InputError
from netprobe.ports import parse_port_spec
from netprobe.report.matrix import WRITERS

DESCRIPTION = (
    "Compute which pod may reach which, on each port, from Kubernetes "
    "manifests (Namespaces, Pods, NetworkPolicies)."
)
EPILOG = "exit codes: 0 done, 2 bad input (a manifest or an argument)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_manifest_arguments(parser)
    parser.add_argument(
        "--ports",
        metavar="SPEC",
        help="comma-separated PORT[/PROTO], e.g. 80,81/UDP,5432 (protocol defaults to TCP); "
        "default: every container port the pods declare",
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=tuple(WRITERS),
        default="table",
        help="table (default): a truth table per port; json: every cell; summary: counts; "
        "classes: every cell as JSON Lines over pod classes, for large clusters "
        "(docs/matrix.md)",
    )


@dataclass(frozen=True, slots=True)
class MatrixOptions:
    paths: tuple[Path, ...]
    ports: str | None = None
    """``--ports``; None: every container port the pods declare."""
    output: str = "table"


def run(args: argparse.Namespace) -> int:
    return run_matrix(MatrixOptions(tuple(args.paths), args.ports, args.output))


def run_matrix(options: MatrixOptions, out: TextIO | None = None) -> int:
    """The command's work; the output goes to ``out`` (default: stdout)."""
    out = out or sys.stdout
    state = load_manifests(options.paths)
    if options.ports is not None:
        ports = parse_port_spec(options.ports)
    else:
        ports = declared_ports(state.pods)
    if not ports:
        raise InputError(
            "no pod declares a container port, so there is no port to check: "
            "pass --ports, e.g. --ports 80,53/UDP"
        )
    WRITERS[options.output](matrix(state, ports), state, out)
    return EXIT_OK
