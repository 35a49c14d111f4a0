"""``netprobe explain``: the verdict on one connection and the reasons behind it.

FROM and TO are ``namespace/pod`` or an IP address; PORT is a number or a named port of
the destination pod, with an optional ``/PROTO``. The text output is meant to be acted
on: which policies isolate which side, which rule allowed the connection, or what each
rule admits instead.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from netprobe.analyzer import evaluate, resolve_endpoint
from netprobe.commands.common import add_manifest_arguments, load_manifests
from netprobe.errors import EXIT_OK, InputError
from netprobe.model import (
    ClusterState,
    Connection,
    Endpoint,
    Pod,
    Port,
    port_number,
)
from netprobe.report.explain import WRITERS

DESCRIPTION = "Judge one connection against the NetworkPolicies in the manifests and say why."
EPILOG = (
    "exit codes: 0 done (whatever the verdict), 2 bad input (a manifest, an "
    "unknown pod, a bad port)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_manifest_arguments(parser)
    parser.add_argument("source", metavar="FROM", help="namespace/pod or an IP address")
    parser.add_argument("destination", metavar="TO", help="namespace/pod or an IP address")
    parser.add_argument(
        "port",
        metavar="PORT[/PROTO]",
        help="a port number or a named port of TO, e.g. 5432, 53/UDP, http",
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=tuple(WRITERS),
        default="text",
        help="text (default): the verdict and its reasons; json: the same, for scripts",
    )


@dataclass(frozen=True, slots=True)
class ExplainOptions:
    paths: tuple[Path, ...]
    source: str
    destination: str
    port: str
    """A number or a named port of the destination, with an optional ``/PROTO``."""
    output: str = "text"


def run(args: argparse.Namespace) -> int:
    options = ExplainOptions(
        tuple(args.paths), args.source, args.destination, args.port, args.output
    )
    return explain(options)


def explain(options: ExplainOptions, out: TextIO | None = None) -> int:
    """The command's work; the output goes to ``out`` (default: stdout)."""
    out = out or sys.stdout
    state = load_manifests(options.paths)
    connection = build_connection(options.source, options.destination, options.port, state)
    WRITERS[options.output](connection, evaluate(connection, state), out)
    return EXIT_OK


def build_connection(source: str, destination: str, port: str, state: ClusterState) -> Connection:
    """The connection the arguments describe; a named port resolves on the destination pod.

    Raises:
        InputError: a malformed endpoint or port, an unknown pod, an unknown port name.
    """
    from_end = Endpoint.parse_host(source, "FROM")
    to_end = Endpoint.parse_host(destination, "TO")
    text, _, protocol_text = port.partition("/")
    protocol = Port.parse_protocol(protocol_text or "TCP", port)
    if port_number(text) is not None:
        return Connection(from_end, to_end, Port.parse_number(text, port), protocol)
    target = resolve_endpoint(to_end, state, "destination")
    if not isinstance(target, Pod):
        raise InputError(
            f"port {port!r} is a name, but {destination} is not a pod: "
            "only a pod's container ports have names; give a number"
        )
    number = target.named_port(text.strip(), protocol)
    if number is None:
        declared = ", ".join(map(str, target.ports)) or "none"
        raise InputError(
            f"port {port!r}: {target.ref} has no {protocol} port named {text.strip()!r} "
            f"(its ports: {declared})"
        )
    return Connection(from_end, to_end, number, protocol)
