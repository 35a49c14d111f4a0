"""``netprobe bundle``: suites and the fixtures they read as one self-contained file, or as
the ConfigMap that deploy/cronjob.yaml mounts at /suites.

Arguments become one :class:`BundleOptions`; :func:`bundle` loads and bundles the suites
(:mod:`netprobe.suite.bundling`), wraps the bundle in a ConfigMap when asked
(:mod:`netprobe.report.configmap`) and writes it. Exit codes: 0 written, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netprobe.commands.common import add_suite_arguments, warn
from netprobe.errors import EXIT_OK, InputError
from netprobe.report.configmap import DEFAULT_KEY, render_configmap
from netprobe.suite import SUITE_SUFFIX


@dataclass(frozen=True, slots=True)
class BundleOptions:
    paths: tuple[Path, ...]
    output: Path | None = None
    """The file to write; None for stdout."""
    configmap: str | None = None
    """Write a ConfigMap of this name holding the bundle, rather than the bundle itself."""
    namespace: str | None = None
    key: str = DEFAULT_KEY


DESCRIPTION = (
    "Write suites, and every fixture, folder of manifests and skip file they read, as one "
    "self-contained *.netprobe.yaml file: netprobe run and netprobe check load it (or a "
    "folder holding it) as the same suites, so it can travel where relative paths break, "
    "in a ConfigMap key for the in-cluster CronJob (deploy/cronjob.yaml) say. Every suite "
    "is loaded first: a suite with an error is reported, not bundled."
)
EPILOG = """\
examples:
  netprobe bundle suites/ -o all.netprobe.yaml
  netprobe check all.netprobe.yaml      # what netprobe check suites/ says
  netprobe bundle suites/ --configmap netprobe-suites -n netprobe-system | kubectl apply -f -

exit codes: 0 written, 2 bad input (a suite, a fixture, an argument, or a bundle too large
for a ConfigMap)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_suite_arguments(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default="-",
        help="where to write (default '-': stdout); name a bundle *.netprobe.yaml so that "
        "a folder search finds it",
    )
    parser.add_argument(
        "--configmap",
        metavar="NAME",
        help="write a ConfigMap manifest named NAME holding the bundle under --key "
        "(refused above the ConfigMap limit of 1 MiB)",
    )
    parser.add_argument(
        "-n", "--namespace", metavar="NS", help="the ConfigMap's namespace (with --configmap)"
    )
    parser.add_argument(
        "--key",
        help=f"the ConfigMap key, a file name ending in {SUITE_SUFFIX} "
        f"(with --configmap; default: {DEFAULT_KEY})",
    )


def run(args: Any) -> int:
    if args.configmap is None:
        flags = (("--namespace", args.namespace), ("--key", args.key))
        given = [flag for flag, value in flags if value is not None]
        if given:
            raise InputError(f"{' and '.join(given)} only go with --configmap NAME")
    options = BundleOptions(
        paths=tuple(args.paths),
        output=None if args.output == "-" else Path(args.output),
        configmap=args.configmap,
        namespace=args.namespace,
        key=args.key or DEFAULT_KEY,
    )
    return bundle(options)


def bundle(options: BundleOptions) -> int:
    from netprobe.suite.bundling import bundle_suites

    if options.output is not None:
        _not_among_sources(options.output, options.paths)
    made = bundle_suites(options.paths, warn)
    text = made.text
    if options.configmap is not None:
        text = render_configmap(options.configmap, options.namespace, options.key, text, warn)
    if options.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    if options.configmap is None and not options.output.name.endswith(SUITE_SUFFIX):
        warn(
            f"{options.output}: a folder search finds only *{SUITE_SUFFIX} files; this one "
            "loads when named itself"
        )
    _write(options.output, text)
    count = len(made.names)
    print(
        f"netprobe: bundled {count} suite{'' if count == 1 else 's'} into {options.output}",
        file=sys.stderr,
    )
    return EXIT_OK


def _not_among_sources(output: Path, paths: Sequence[Path]) -> None:
    """A bundle written over a suite, or where the same search would find it beside its
    sources, would be read with them: every expectation twice."""
    target = output.resolve()
    for path in paths:
        source = path.resolve()
        beside = source.is_dir() and target.is_relative_to(source)
        if target == source or (beside and target.name.endswith(SUITE_SUFFIX)):
            raise InputError(
                f"{output}: the bundle would be read with the suites it holds ({path}): "
                "write it outside them"
            )


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None
