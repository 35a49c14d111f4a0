"""Every lint check, in rule-id order, and the function that runs them."""

from __future__ import annotations

from collections.abc import Iterable

from netprobe.errors import InputError
from netprobe.lint import dns, ipblocks, isolation, peers, ports
from netprobe.lint.findings import Check, Finding
from netprobe.lint.subject import LintInput

CHECKS: tuple[Check, ...] = tuple(
    sorted(
        (*peers.CHECKS, *dns.CHECKS, *isolation.CHECKS, *ipblocks.CHECKS, *ports.CHECKS),
        key=lambda check: check.rule_id,
    )
)


def check_ids() -> tuple[str, ...]:
    return tuple(check.rule_id for check in CHECKS)


def lint(subject: LintInput, disabled: Iterable[str] = ()) -> tuple[Finding, ...]:
    """Run every check not in ``disabled``; findings sorted by file, line and rule id.

    Raises:
        InputError: when ``disabled`` names a rule id that does not exist.
    """
    disabled = {rule_id.upper() for rule_id in disabled}
    unknown = disabled - set(check_ids())
    if unknown:
        raise InputError(
            f"unknown lint rule(s) {', '.join(sorted(unknown))}; known: {', '.join(check_ids())}"
        )
    findings = [
        finding
        for check in CHECKS
        if check.rule_id not in disabled
        for finding in check.run(subject, check)
    ]
    return tuple(sorted(findings, key=Finding.sort_key))
