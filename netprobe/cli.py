"""The ``netprobe`` command: parse arguments, build, run, map the outcome to an exit code.

Each subcommand lives in :mod:`netprobe.commands` as a module with ``register(subparsers)``
that adds its parser and sets ``func`` to a function of the parsed arguments returning the
exit code. Errors derived from :class:`NetprobeError` become one clear line on stderr and
their exit code; nothing a user can cause ends in a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from netprobe import __version__, interrupts
from netprobe.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, NetprobeError

COMMANDS: tuple[str, ...] = (
    # one name per module in netprobe/commands, in the order --help lists them
    "matrix",
    "explain",
    "check",
    "run",
    "cleanup",
    "lint",
    "diff",
    "generate",
)

EPILOG = """\
exit codes:
  0  every expectation held (or the command did what was asked)
  1  an expectation failed, or a gate found what it was told to fail on
  2  bad input: a manifest, suite or argument netprobe cannot accept
  3  the backend could not be used (privileges, kernel features, cluster access)
  130 interrupted (everything netprobe created is removed first)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netprobe",
        description="Prove what Kubernetes NetworkPolicies really allow: model them, "
        "check suites of expectations against the model, and probe a real dataplane.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"netprobe {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"netprobe.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        code: int = args.func(args)
    except NetprobeError as exc:
        print(f"netprobe: error: {exc}", file=sys.stderr)
        _print_notes(exc)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print("netprobe: interrupted", file=sys.stderr)
        _print_notes(exc)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    return code


def _print_notes(exc: BaseException) -> None:
    for note in getattr(exc, "__notes__", ()):
        print(f"netprobe: {note}", file=sys.stderr)


def run() -> None:
    """Console-script entry point: Ctrl-C and SIGTERM exit 130 from here on, whatever runs."""
    interrupts.install()
    try:
        code = main()
    except KeyboardInterrupt:  # after main() returned, before the handlers are gone
        code = EXIT_INTERRUPTED
    interrupts.ignore()
    sys.exit(code)


__all__ = ["EXIT_BAD_INPUT", "build_parser", "main", "run"]
