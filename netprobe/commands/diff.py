"""``netprobe diff``: which connections a policy change opens and which it closes.

Arguments become one :class:`DiffOptions`; :func:`build_states` wires the loaders into the
two snapshots (same namespaces and pods, policies before and after); :func:`run_diff`
renders the diff and returns the exit code: 1 when ``--fail-on`` finds what it names,
0 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netprobe.commands.common import add_manifest_arguments, warn
from netprobe.diff import ChangeKind, diff
from netprobe.diff.inputs import before_and_after, ports_to_compare
from netprobe.errors import EXIT_FAILED, EXIT_OK
from netprobe.ports import parse_port_spec
from netprobe.report.diff import FORMATS, render
from netprobe.suite import SUITE_SUFFIX

FAIL_ON = ("opened", "closed", "any")


@dataclass(frozen=True, slots=True)
class DiffOptions:
    before: tuple[Path, ...]
    after: tuple[Path, ...]
    paths: tuple[Path, ...] = ()
    ports: str | None = None
    fail_on: str | None = None
    output: str = "table"


DESCRIPTION = (
    "Compare the NetworkPolicies of --before and --after over the pods of "
    "the manifests (or suites) given, on every port asked, and list what the change "
    "opens and closes, grouped by namespace and labels, each with the rule that "
    "causes it. Policies in -f files apply on both sides unless --before/--after "
    "define a policy of the same namespace and name."
)
EPILOG = (
    "exit codes: 0 done (or nothing --fail-on names), 1 the change opens or "
    "closes what --fail-on names, 2 bad input (a manifest, a suite or an argument)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for name, text in (("before", "the policies before the change"), ("after", "after it")):
        parser.add_argument(
            f"--{name}",
            metavar="PATH",
            type=Path,
            action="append",
            required=True,
            help=f"{text}: a manifest file or directory (repeatable)",
        )
    add_manifest_arguments(
        parser,
        help="manifests with the Namespaces and Pods (and unchanged policies), or "
        f"suites (*{SUITE_SUFFIX}) whose pods to use; repeatable",
        required=False,
    )
    parser.add_argument(
        "--ports",
        metavar="SPEC",
        help="comma-separated PORT[/PROTO], e.g. 80,53/UDP; default: every container port "
        "of the pods and every port number the policies name",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when the change opens (opened), closes (closed) or changes (any) a connection",
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="table",
        help="table (default): grouped by cause; json: every change (README); "
        "markdown: a pull-request comment",
    )


def run(args: Any) -> int:
    options = DiffOptions(
        before=tuple(args.before),
        after=tuple(args.after),
        paths=tuple(args.paths),
        ports=args.ports,
        fail_on=args.fail_on,
        output=args.output,
    )
    return run_diff(options)


def run_diff(options: DiffOptions) -> int:
    before, after = before_and_after(options.before, options.after, options.paths, warn)
    if options.ports is not None:
        ports = parse_port_spec(options.ports)
    else:
        ports = ports_to_compare(before, after)
    result = diff(before, after, ports)
    sys.stdout.write(render(options.output, result))
    kinds = {
        "opened": (ChangeKind.OPENED,),
        "closed": (ChangeKind.CLOSED,),
        "any": (ChangeKind.OPENED, ChangeKind.CLOSED),
    }.get(options.fail_on or "", ())
    return EXIT_FAILED if any(result.of_kind(kind) for kind in kinds) else EXIT_OK
