"""``netprobe generate``: write a suite that pins today's behaviour of the policies in the
manifests, for a nightly run against staging.

Arguments become one :class:`GenerateOptions`; :func:`generate` loads, selects and writes
the suite to stdout. Exit codes: 0 written, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netprobe.commands.common import add_manifest_arguments, warn
from netprobe.errors import EXIT_OK, InputError
from netprobe.ports import parse_port_spec


@dataclass(frozen=True, slots=True)
class GenerateOptions:
    paths: tuple[Path, ...]
    ports: str | None = None
    name: str = "generated"


DESCRIPTION = (
    "Read Namespaces, Pods and NetworkPolicies and print a suite (YAML, "
    "with comments) that pins what they allow today: for every rule, connections it "
    "admits and near misses that must stay denied; for every default deny, a denied "
    "connection. Not the whole matrix: a few expectations per rule."
)
EPILOG = "exit codes: 0 suite written, 2 bad input (a manifest or an argument)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_manifest_arguments(
        parser,
        help="a manifest file or directory (YAML or JSON), or a suite (*.netprobe.yaml) "
        "whose pods and policies to use; repeat for several",
    )
    parser.add_argument(
        "--ports",
        metavar="SPEC",
        help="comma-separated PORT[/PROTO] to choose from, e.g. 80,53/UDP; default: every "
        "container port of the pods and every port number the policies name",
    )
    parser.add_argument("--name", default="generated", help="the suite's name")


def run(args: Any) -> int:
    options = GenerateOptions(paths=tuple(args.paths), ports=args.ports, name=args.name)
    sys.stdout.write(generate(options))
    return EXIT_OK


def generate(options: GenerateOptions) -> str:
    """The suite's text for the manifests under ``options.paths``."""
    from netprobe.diff.inputs import ports_to_compare
    from netprobe.generate import render_suite, select
    from netprobe.suite.sources import load_objects

    state = load_objects(options.paths, warn).to_state(warn)
    if not state.pods:
        raise InputError(
            "no pods in the manifests: generate needs the Pod manifests (kubectl get pods "
            "-A -o yaml) or a suite's pods to choose connections between"
        )
    if not state.policies:
        raise InputError("no NetworkPolicy in the manifests: there is no behaviour to pin")
    ports = parse_port_spec(options.ports) if options.ports else ports_to_compare(state, state)
    selection = select(state, ports)
    if not selection.pins:
        raise InputError(f"nothing to pin: {'; '.join(selection.notes)}")
    return render_suite(state, selection, options.name, [str(p) for p in options.paths])
