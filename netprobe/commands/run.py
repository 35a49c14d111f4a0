"""``netprobe run``: run suites on a live dataplane and compare expected, analyzer, observed.

Parse (:func:`request_from`), build and run (:func:`execute`: suites, policies, a backend
per suite from an injectable factory, one clock), report, map to an exit code.
Everything else lives in :mod:`netprobe.run` (probing, settling, comparison) and
:mod:`netprobe.report` (the same reports as ``check``, with observations).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from netprobe.backends.base import Backend
from netprobe.backends.registry import PLUGINS, create_backend, fixed_run_id
from netprobe.clock import SYSTEM_CLOCK, Clock
from netprobe.commands.backend_options import add_backend_options, backend_options
from netprobe.commands.common import add_suite_arguments, warn
from netprobe.errors import EXIT_FAILED, EXIT_OK, InputError
from netprobe.model import NetworkPolicy
from netprobe.report.results import FORMATS, render, write_junit
from netprobe.results import SuiteResult, is_failure
from netprobe.run import Progress, RunOptions, run_suite
from netprobe.suite.model import Settings

EPILOG = """\
each expectation is classified three ways (expected vs analyzer vs observed):
  pass              all three agree
  policy            expected != analyzer: the policies do not say what the suite means
  dataplane         observed != analyzer: enforcement differs from NetworkPolicy semantics
  policy+dataplane  both
  error / skipped   the probe could not run / was not run (the reason is shown)

exit codes:
  0  every expectation held (observed == expected)
  1  an observed result differed from the expectation (or could not be probed);
     with --strict, also any dataplane disagreement with the analyzer
  2  bad input: a suite, a policy file or an argument
  3  the backend could not be used (privileges, tools, cluster access)
  130 interrupted (after everything the run created is removed)
"""


DESCRIPTION = (
    "Deploy each suite's pods on a backend, apply its policies, probe "
    "every expectation (retrying while enforcement settles) and compare what was "
    "observed with what the suite expects and what the analyzer says."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_suite_arguments(parser)
    parser.add_argument(
        "--backend",
        choices=[plugin.name for plugin in PLUGINS],
        default=PLUGINS[0].name,
        help="; ".join(f"{plugin.name}: {plugin.summary}" for plugin in PLUGINS)
        + f" (default: {PLUGINS[0].name})",
    )
    parser.add_argument(
        "--policies",
        metavar="PATH",
        type=Path,
        action="append",
        help="test these NetworkPolicies (file or directory) instead of the suites' own; "
        "repeat for several",
    )
    parser.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="table",
        help="table (default): summary, then what failed; json: every result; markdown: a "
        "pull-request comment",
    )
    parser.add_argument("--junit", metavar="FILE", type=Path, help="also write JUnit XML here")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the JSON report here")
    parser.add_argument(
        "--cni",
        metavar="NAME",
        default=os.environ.get("NETPROBE_CNI") or None,
        help="the cluster's CNI (calico, cilium, ...; default $NETPROBE_CNI): suite skips "
        "declared for it apply, and are reported with their reason",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also fail (exit 1) when the dataplane disagrees with the analyzer",
    )
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="also probe every pod pair on every declared port and report where the "
        "dataplane differs from the analyzer (the conformance view)",
    )
    parser.add_argument(
        "--probe-timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds each probe waits (default: the suite's probe_timeout, "
        f"{Settings().probe_timeout:g})",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list every expectation in the table"
    )
    add_backend_options(parser, "run")


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What ``netprobe run`` was asked to do, checked."""

    paths: tuple[Path, ...]
    backend: str = "local"
    backend_options: object = None
    """The backend's options (None: its defaults)."""
    run_id: str | None = None
    """Fixed by NETPROBE_RUN_ID; None: each backend makes its own."""
    policies: tuple[Path, ...] = ()
    run: RunOptions = field(default_factory=RunOptions)
    output: str = "table"
    junit: Path | None = None
    json: Path | None = None
    strict: bool = False
    verbose: bool = False


def run(args: argparse.Namespace) -> int:
    """The ``run`` subcommand; returns the exit code."""
    return execute(request_from(args))


def request_from(args: argparse.Namespace) -> RunRequest:
    """The request the parsed arguments make; InputError for a value netprobe refuses."""
    if args.probe_timeout is not None and args.probe_timeout <= 0:
        raise InputError(f"--probe-timeout must be positive, got {args.probe_timeout:g}")
    return RunRequest(
        paths=tuple(args.paths),
        backend=args.backend,
        backend_options=backend_options(args, args.backend, "run"),
        run_id=fixed_run_id(),
        policies=tuple(args.policies or ()),
        run=RunOptions(matrix=args.matrix, probe_timeout=args.probe_timeout, cni=_cni(args.cni)),
        output=args.output,
        junit=args.junit,
        json=args.json,
        strict=args.strict,
        verbose=args.verbose,
    )


def execute(
    request: RunRequest,
    *,
    create: Callable[..., Backend] = create_backend,
    clock: Clock = SYSTEM_CLOCK,
) -> int:
    """Run the suites (a backend each, from ``create``), report, and return the exit code."""
    from netprobe.suite.loader import load_suites

    suites = load_suites(request.paths, warn)
    policies = _load_policies(request.policies) if request.policies else None
    progress = ProgressLine(sys.stderr)
    results: list[SuiteResult] = []
    try:
        for index, suite in enumerate(suites):
            backend = create(
                request.backend, request.backend_options, run_id=request.run_id, index=index
            )
            results.append(
                run_suite(
                    suite,
                    backend,
                    policies=policies,
                    options=request.run,
                    clock=clock,
                    progress=progress,
                )
            )
    finally:
        progress.clear()
    print(render(request.output, results, request.verbose))
    if request.junit is not None:
        write_junit(results, request.junit, strict=request.strict)
    if request.json is not None:
        _write_json(results, request.json)
    return exit_code(results, strict=request.strict)


def exit_code(results: Sequence[SuiteResult], *, strict: bool = False) -> int:
    """1 when an observation differs from its expectation (or, strict, from the analyzer)."""
    failed = any(is_failure(result, strict) for suite in results for result in suite.results)
    return EXIT_FAILED if failed else EXIT_OK


class ProgressLine:
    """``[suite] step 2/3  probes 45/81  retries 3`` rewritten in place, only on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        if self.enabled:
            self.stream.write(f"\r{progress}\x1b[K")
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _cni(name: str | None) -> str | None:
    if name is None or not name.strip():
        return None
    cleaned = name.strip().lower()
    if not cleaned.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"--cni '{name}' is not a CNI name (e.g. calico, cilium, kindnet)")
    return cleaned


def _write_json(results: Sequence[SuiteResult], path: Path) -> None:
    try:
        path.write_text(render("json", results), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the JSON report: {exc.strerror}") from exc


def _load_policies(paths: Sequence[Path]) -> tuple[NetworkPolicy, ...]:
    from netprobe.manifests.loader import load_paths

    return load_paths(paths, warn).policies
