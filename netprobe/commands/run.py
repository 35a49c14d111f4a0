"""``netprobe run``: run suites on a live dataplane and compare expected, analyzer, observed.

Parse, build (suites, policies, a backend per suite), run, report, map to an exit code.
Everything else lives in :mod:`netprobe.runner` (probing, settling, comparison) and
:mod:`netprobe.report` (the same reports as ``check``, with observations).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from netprobe.backends.registry import BACKENDS, BackendOptions, create_backend
from netprobe.commands.common import warn
from netprobe.errors import EXIT_FAILED, EXIT_OK, InputError
from netprobe.model import NetworkPolicy
from netprobe.report import FORMATS, render, write_junit
from netprobe.results import SuiteResult, is_failure
from netprobe.runner import Progress, RunOptions, run_suite

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


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run suites on a live dataplane (local network namespaces, or a cluster)",
        description="Deploy each suite's pods on a backend, apply its policies, probe "
        "every expectation (retrying while enforcement settles) and compare what was "
        "observed with what the suite expects and what the analyzer says.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="SUITE_OR_DIR")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="local",
        help="local (default): network namespaces + nftables on this machine (root); "
        "kubernetes: the cluster of your kubeconfig",
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
        "--apply-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="local backend: policy changes reach each pod after a random delay up to S "
        "seconds (exercises retries)",
    )
    parser.add_argument(
        "--probe-timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds each probe waits (default: the suite's probe_timeout, 1)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list every expectation in the table"
    )
    _add_kubernetes_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """The ``run`` subcommand; returns the exit code."""
    from netprobe.suite.loader import load_suites

    if args.probe_timeout is not None and args.probe_timeout <= 0:
        raise InputError(f"--probe-timeout must be positive, got {args.probe_timeout:g}")
    suites = load_suites(args.paths, warn)
    policies = _load_policies(args.policies) if args.policies else None
    backend_options = BackendOptions(
        apply_delay=args.apply_delay,
        run_id=os.environ.get("NETPROBE_RUN_ID") or None,
        kubernetes=_kubernetes_options(args),
    )
    options = RunOptions(matrix=args.matrix, probe_timeout=args.probe_timeout, cni=_cni(args.cni))
    progress = ProgressLine(sys.stderr)
    results: list[SuiteResult] = []
    try:
        for suite in suites:
            backend = create_backend(args.backend, backend_options)
            results.append(
                run_suite(suite, backend, policies=policies, options=options, progress=progress)
            )
    finally:
        progress.clear()
    print(render(args.output, results, args.verbose))
    if args.junit is not None:
        write_junit(results, args.junit, strict=args.strict)
    if args.json is not None:
        _write_json(results, args.json)
    return exit_code(results, strict=args.strict)


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


def _add_kubernetes_options(parser: argparse.ArgumentParser) -> None:
    adder = _kubernetes_hook("add_kubernetes_options")
    if adder is not None:
        adder(parser)


def _kubernetes_options(args: argparse.Namespace) -> Any:
    if args.backend != "kubernetes":
        return None
    reader = _kubernetes_hook("kubernetes_options_from")
    return reader(args) if reader is not None else None


def _kubernetes_hook(name: str) -> Callable[..., Any] | None:
    """The kubernetes backend's option helpers; they never import the client library."""
    try:
        from netprobe.backends.kubernetes import options
    except ImportError:
        return None
    hook: Callable[..., Any] | None = getattr(options, name, None)
    return hook
