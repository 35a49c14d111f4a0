"""netprobe's error tree.

Every error a user can cause or meet derives from :class:`NetprobeError` and carries an
exit code, so front ends map failures to exit codes in one place::

    NetprobeError                exit 2 unless a subclass says otherwise
    ├── InputError               bad manifest, suite or command-line input (exit 2)
    │   └── LocatedError         ... pointing at file:line and a field path
    └── BackendError             a dataplane or cluster could not be used (exit 3)

Exceptions from third-party libraries are wrapped with ``raise ... from exc`` at the one
module that talks to that library; they never escape to a front end.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BACKEND = 3
EXIT_INTERRUPTED = 130


class NetprobeError(Exception):
    """Base of every error netprobe raises on purpose."""

    exit_code = EXIT_BAD_INPUT


class InputError(NetprobeError):
    """Input (a file, a flag, an argument) that netprobe cannot accept."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value came from: a file, the line in it, and the field path inside it."""

    file: str
    line: int | None = None
    path: str = ""
    document: int | None = None
    """Index of the YAML document in a multi-document file, when there are several."""

    def __str__(self) -> str:
        text = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.document is not None:
            text += f" (document {self.document + 1})"
        if self.path:
            text += f" {self.path}"
        return text

    def child(self, key: str | int, line: int | None = None) -> Location:
        """The location of a field below this one."""
        part = f"[{key}]" if isinstance(key, int) else (f".{key}" if self.path else key)
        return Location(
            self.file, self.line if line is None else line, self.path + part, self.document
        )


class LocatedError(InputError):
    """An input error that names file, line and field, e.g.
    ``suites/shop.yaml:14 expect[3].to: no pod 'databse/db' in this suite``."""

    def __init__(self, location: Location, message: str, hint: str | None = None) -> None:
        self.location = location
        self.message = message
        self.hint = hint
        text = f"{location}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class BackendError(NetprobeError):
    """A backend could not do its job: missing privileges, kernel features, cluster access."""

    exit_code = EXIT_BACKEND
    fatal = False
    """Trying again cannot help (the credentials were rejected): a probe that meets it
    stops the run rather than becoming an ERROR to retry."""
