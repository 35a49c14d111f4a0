"""What a lint check reports: a finding with a rule id, a severity, a place and a fix hint.

Kept apart from the checks so reporters and the command depend on this small module only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from netprobe.errors import Location
from netprobe.model import PolicyRef

if TYPE_CHECKING:
    from netprobe.lint.subject import LintInput


class Severity(StrEnum):
    """How sure a check is that something is wrong, lowest first."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One mistake found in the manifests."""

    rule_id: str
    severity: Severity
    location: Location | None
    message: str
    hint: str
    policy: PolicyRef | None = None

    def sort_key(self) -> tuple[str, int, str, str]:
        location = self.location
        file = location.file if location else ""
        line = location.line if location and location.line is not None else 0
        return (file, line, self.rule_id, self.message)


@dataclass(frozen=True, slots=True)
class Check:
    """A lint rule: its id, a short name, its usual severity, and the function that runs it."""

    rule_id: str
    name: str
    severity: Severity
    summary: str
    run: Callable[[LintInput, Check], Iterable[Finding]]

    def finding(
        self,
        location: Location | None,
        message: str,
        hint: str,
        *,
        policy: PolicyRef | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule (at its usual severity unless ``severity`` says)."""
        return Finding(self.rule_id, severity or self.severity, location, message, hint, policy)
