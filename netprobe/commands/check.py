"""``netprobe check``: the static gate. Every expectation of the suites judged by the
analyzer against the suites' policies (or ``--policies PATH``), with no cluster.

Arguments become one :class:`CheckOptions`; :func:`build_suites` wires the loaders;
:func:`check` returns the exit code: 0 all hold, 1 any violated, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netprobe.commands.common import add_suite_arguments, warn
from netprobe.errors import EXIT_FAILED, EXIT_OK
from netprobe.report.results import FORMATS, render, write_junit
from netprobe.results import is_failure
from netprobe.suite.model import Suite


@dataclass(frozen=True, slots=True)
class CheckOptions:
    paths: tuple[Path, ...]
    policies: tuple[Path, ...] = ()
    output: str = "table"
    junit: Path | None = None
    verbose: bool = False


DESCRIPTION = (
    "Judge every expectation of the suites with netprobe's model of "
    "NetworkPolicy: the regression gate for a policy change. Directories are searched "
    "for *.netprobe.yaml files."
)
EPILOG = (
    "exit codes: 0 every expectation holds, 1 an expectation is violated, "
    "2 bad input (a suite, a manifest or an argument)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_suite_arguments(parser)
    parser.add_argument(
        "--policies",
        metavar="PATH",
        type=Path,
        action="append",
        default=[],
        help="check these policies (a manifest file or directory; repeatable) instead of "
        "each suite's own, e.g. a proposed change",
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="table",
        help="table (default): a summary and each violation with its reasons; json: every "
        "result (docs/suites.md); markdown: a pull-request comment",
    )
    parser.add_argument(
        "--junit", metavar="FILE", type=Path, help="also write JUnit XML (one testcase each)"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="table: list every expectation"
    )


def run(args: Any) -> int:
    options = CheckOptions(
        paths=tuple(args.paths),
        policies=tuple(args.policies),
        output=args.output,
        junit=args.junit,
        verbose=args.verbose,
    )
    return check(options)


def check(options: CheckOptions) -> int:
    from netprobe.judge import judge_suite

    suites = build_suites(options.paths, options.policies)
    results = [judge_suite(suite) for suite in suites]
    sys.stdout.write(render(options.output, results, verbose=options.verbose))
    if options.junit is not None:
        write_junit(results, options.junit)
    failed = any(is_failure(result) for suite in results for result in suite.results)
    return EXIT_FAILED if failed else EXIT_OK


def build_suites(paths: Sequence[Path], policies: Sequence[Path] = ()) -> tuple[Suite, ...]:
    """The suites under ``paths``, with the policies under ``policies`` when given."""
    from netprobe.manifests import load_paths
    from netprobe.suite.loader import load_suites, replace_policies

    suites = load_suites(paths, warn)
    if not policies:
        return suites
    proposed = load_paths(policies, warn).policies
    return tuple(replace_policies(suite, proposed) for suite in suites)
