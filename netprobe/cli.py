"""The ``netprobe`` command: parse arguments, build, run, map the outcome to an exit code.

Each subcommand is a module of :mod:`netprobe.commands` of one shape: ``DESCRIPTION``,
``EPILOG``, ``add_arguments(parser)`` and ``run(args) -> exit code``. Only the module of
the command being run is imported (``netprobe explain`` never loads a backend); the
one-line help of each lives in :data:`COMMANDS`, so ``netprobe --help`` imports none.
Errors derived from :class:`NetprobeError` become one clear line on stderr and their exit
code; nothing a user can cause ends in a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import textwrap
from collections.abc import Callable, Sequence

from netprobe import __version__, interrupts
from netprobe.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, NetprobeError

COMMANDS: dict[str, str] = {
    # one per module in netprobe/commands, in the order --help lists them
    "matrix": "the reachability matrix of every pod pair, from manifests",
    "explain": "why one connection is allowed or denied, from manifests",
    "check": "check suites of expectations against the policies, with no cluster",
    "run": "run suites on a live dataplane (local network namespaces, or a cluster)",
    "bundle": "pack suites and their fixtures into one file, or a ConfigMap, to run anywhere",
    "cleanup": "remove what an interrupted run left behind",
    "lint": "find the classic NetworkPolicy mistakes in manifests",
    "diff": "which connections a policy change opens and closes",
    "generate": "write a suite that pins today's behaviour of the policies",
}

EPILOG = """\
exit codes:
  0  every expectation held (or the command did what was asked)
  1  an expectation failed, or a gate found what it was told to fail on
  2  bad input: a manifest, suite or argument netprobe cannot accept
  3  the backend could not be used (privileges, kernel features, cluster access)
  130 interrupted (everything netprobe created is removed first)
"""


class HelpFormatter(argparse.HelpFormatter):
    """Wraps each paragraph of a description or epilog, but keeps the lines of one whose
    lines are indented (a table of exit codes, say) as written; never breaks a word at a
    hyphen (an image reference stays one piece to copy)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = re.split(r"\n\s*\n", text.strip("\n"))
        return "\n\n".join(
            "\n".join(indent + line for line in paragraph.splitlines())
            if re.search(r"^\s", paragraph, re.MULTILINE)
            else textwrap.fill(
                paragraph,
                width,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
            for paragraph in paragraphs
        )


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with ``only``, of that one command (the others are
    listed but not imported)."""
    parser = argparse.ArgumentParser(
        prog="netprobe",
        description="Prove what Kubernetes NetworkPolicies really allow: model them, "
        "check suites of expectations against the model, and probe a real dataplane.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"netprobe {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, summary in COMMANDS.items():
        if only is not None and name != only:
            subparsers.add_parser(name, help=summary)
            continue
        module = importlib.import_module(f"netprobe.commands.{name}")
        command = subparsers.add_parser(
            name,
            help=summary,
            description=module.DESCRIPTION,
            epilog=module.EPILOG,
            formatter_class=HelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(func=module.run)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (its first word that is not an option), if it is one."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv

    def command() -> int:
        args = build_parser(only=chosen_command(words) or "").parse_args(words)
        code: int = args.func(args)
        return code

    return guarded(command)


def guarded(command: Callable[[], int]) -> int:
    """``command``'s exit code; a NetprobeError is one line on stderr and its exit code,
    an interrupt 130, a closed pipe 0 (its reader has seen enough)."""
    try:
        return command()
    except NetprobeError as exc:
        print(f"netprobe: error: {exc}", file=sys.stderr)
        _print_notes(exc)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except RuntimeError as exc:
        # Python 3.11 wraps what a class body's __set_name__ raises, so an interrupt
        # arriving while an import defines a class comes as a RuntimeError.
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return _interrupted(exc.__cause__)
        raise
    except BrokenPipeError:
        return 0


def _interrupted(exc: KeyboardInterrupt) -> int:
    print("netprobe: interrupted", file=sys.stderr)
    _print_notes(exc)
    return EXIT_INTERRUPTED


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


__all__ = ["EXIT_BAD_INPUT", "build_parser", "guarded", "main", "run"]
