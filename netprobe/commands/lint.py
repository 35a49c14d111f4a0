"""``netprobe lint``: the NetworkPolicy mistakes people really make, found in manifests.

Arguments become one :class:`LintOptions`; :func:`build_input` wires the manifest loader;
:func:`run_lint` returns the exit code: 1 when a finding is at or above ``--fail-on``,
0 otherwise, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from netprobe.commands.common import add_manifest_arguments, warn
from netprobe.errors import EXIT_FAILED, EXIT_OK, InputError
from netprobe.lint import LintInput, Severity, lint
from netprobe.model import IPNetwork
from netprobe.report.lint import render_json, render_text


@dataclass(frozen=True, slots=True)
class LintOptions:
    paths: tuple[Path, ...]
    fail_on: Severity = Severity.WARNING
    output: str = "text"
    pod_cidrs: tuple[IPNetwork, ...] = ()
    disabled: tuple[str, ...] = ()


DESCRIPTION = (
    "Check NetworkPolicies (with the Namespaces and Pods given) for the "
    "mistakes people really make: ORed selectors meant as AND, egress deny without "
    "DNS, selectors that select nothing, ipBlocks over pod IPs, and more. Rule ids "
    "are documented in docs/lint.md."
)
EPILOG = (
    "exit codes: 0 no finding at or above --fail-on, 1 such findings, "
    "2 bad input (a manifest or an argument)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_manifest_arguments(parser)
    parser.add_argument(
        "--fail-on",
        choices=[str(severity) for severity in Severity],
        default=str(Severity.WARNING),
        help="exit 1 when a finding is at least this severe (default: warning)",
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=("text", "json"),
        default="text",
        help="text (default): one finding per line with its hint; json: every finding",
    )
    parser.add_argument(
        "--pod-cidr",
        metavar="CIDR",
        action="append",
        default=[],
        help="the cluster's pod CIDR (repeatable), so NP008 flags ipBlocks overlapping it",
    )
    parser.add_argument(
        "--disable",
        metavar="IDS",
        action="append",
        default=[],
        help="comma-separated rule ids to skip, e.g. NP004,NP005",
    )


def run(args: Any) -> int:
    options = LintOptions(
        paths=tuple(args.paths),
        fail_on=Severity(args.fail_on),
        output=args.output,
        pod_cidrs=tuple(parse_cidr(text) for text in args.pod_cidr),
        disabled=tuple(
            item.strip() for text in args.disable for item in text.split(",") if item.strip()
        ),
    )
    return run_lint(options)


def parse_cidr(text: str) -> IPNetwork:
    try:
        return ip_network(text.strip(), strict=False)
    except ValueError:
        raise InputError(f"--pod-cidr {text!r}: expected a CIDR like 10.244.0.0/16") from None


def build_input(paths: Sequence[Path], pod_cidrs: Sequence[IPNetwork] = ()) -> LintInput:
    """The objects under ``paths``; loader warnings go to stderr."""
    from netprobe.manifests import load_paths

    objects = load_paths(paths, _warn)
    return LintInput(objects.namespaces, objects.pods, objects.policies, tuple(pod_cidrs))


def run_lint(options: LintOptions) -> int:
    findings = lint(build_input(options.paths, options.pod_cidrs), options.disabled)
    render = render_json if options.output == "json" else render_text
    sys.stdout.write(render(findings))
    failing = [f for f in findings if f.severity.rank >= options.fail_on.rank]
    return EXIT_FAILED if failing else EXIT_OK


def _warn(message: str) -> None:
    # lint reports masked host bits itself (NP009), with the rule id and a hint
    if "host bits" not in message:
        warn(message)
