"""Lint findings as text for people and as JSON for scripts (the JSON shape is a contract,
documented in docs/lint.md)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from netprobe.lint.findings import Finding, Severity


def render_text(findings: Sequence[Finding]) -> str:
    """``file:line path: NP001 warning: message`` then an indented hint, and a summary."""
    lines = []
    for finding in findings:
        where = str(finding.location) if finding.location else str(finding.policy or "")
        lines.append(f"{where}: {finding.rule_id} {finding.severity}: {finding.message}")
        lines.append(f"    hint: {finding.hint}")
    lines.append(_summary(findings))
    return "\n".join(lines) + "\n"


def _summary(findings: Sequence[Finding]) -> str:
    if not findings:
        return "no findings"
    counts = Counter(finding.severity for finding in findings)
    parts = [
        f"{counts[severity]} {severity}{'s' if counts[severity] != 1 else ''}"
        for severity in reversed(Severity)
        if counts[severity]
    ]
    return f"{len(findings)} finding{'s' if len(findings) != 1 else ''}: {', '.join(parts)}"


def to_json(finding: Finding) -> dict[str, Any]:
    location = finding.location
    return {
        "rule": finding.rule_id,
        "severity": str(finding.severity),
        "file": location.file if location else None,
        "line": location.line if location else None,
        "field": location.path if location and location.path else None,
        "policy": str(finding.policy) if finding.policy else None,
        "message": finding.message,
        "hint": finding.hint,
    }


def render_json(findings: Sequence[Finding]) -> str:
    counts = Counter(str(finding.severity) for finding in findings)
    document = {
        "findings": [to_json(finding) for finding in findings],
        "summary": {str(severity): counts.get(str(severity), 0) for severity in Severity},
    }
    return json.dumps(document, indent=2) + "\n"
