"""A diff as a text listing (the default), JSON (a contract, documented in the README) or a
Markdown table for a pull-request comment."""

from __future__ import annotations

import json
from typing import Any

from netprobe.diff import Cause, Change, ChangeKind, Diff, PodSet
from netprobe.model import Port

FORMATS = ("table", "json", "markdown")
ROWS_PER_CAUSE = 20
"""Rows shown under one cause in the table and Markdown outputs."""


def render(output: str, result: Diff) -> str:
    return {"table": render_text, "json": render_json, "markdown": render_markdown}[output](result)


def _headline(result: Diff) -> str:
    ports = ",".join(map(str, result.ports))
    changed = ", ".join(map(str, result.changed_policies)) or "none"
    opened = result.connections(ChangeKind.OPENED)
    closed = result.connections(ChangeKind.CLOSED)
    count = len(result.changed_policies)
    return (
        f"{count} {'policy' if count == 1 else 'policies'} changed ({changed}); "
        f"{result.pods} pods, ports {ports}: {opened} connection(s) opened, {closed} closed"
    )


def _by_cause(result: Diff) -> dict[tuple[ChangeKind, Cause], list[Change]]:
    grouped: dict[tuple[ChangeKind, Cause], list[Change]] = {}
    for change in result.changes:
        grouped.setdefault((change.kind, change.cause), []).append(change)
    return grouped


def render_text(result: Diff) -> str:
    """Changes under one heading per cause; at most ``ROWS_PER_CAUSE`` rows each."""
    lines = [_headline(result)]
    if not result.changes:
        lines.append("no connection opened or closed")
    for (kind, cause), changes in _by_cause(result).items():
        total = sum(change.pairs * len(change.ports) for change in changes)
        at = f" ({cause.location})" if cause.location else ""
        lines += ["", f"{kind.upper()} {cause.describe(kind)}{at}: {total} connection(s)"]
        for change in changes[:ROWS_PER_CAUSE]:
            lines.append(
                f"  {change.source_text} -> {change.destination_text} {change.port_text}"
                f"  [{change.pairs} pod pair(s); e.g. {change.example}]"
            )
        if len(changes) > ROWS_PER_CAUSE:
            lines.append(f"  ... and {len(changes) - ROWS_PER_CAUSE} more rows (-o json: all)")
    return "\n".join(lines) + "\n"


def render_markdown(result: Diff) -> str:
    lines = [f"**netprobe diff**: {_headline(result)}", ""]
    if not result.changes:
        return "\n".join(lines) + "No connection opened or closed.\n"
    lines += ["| change | from | to | ports | cause | pairs |", "|---|---|---|---|---|---|"]
    shown = 0
    for changes in _by_cause(result).values():
        for change in changes[:ROWS_PER_CAUSE]:
            shown += 1
            lines.append(_markdown_row(change))
    if shown < len(result.changes):
        lines += ["", f"{len(result.changes) - shown} more rows: see `netprobe diff -o json`."]
    return "\n".join(lines) + "\n"


def _markdown_row(change: Change) -> str:
    cells = [
        f"**{change.kind.upper()}**",
        change.source_text,
        change.destination_text,
        change.port_text,
        change.cause.describe(change.kind),
        str(change.pairs),
    ]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _port(port: Port) -> dict[str, Any]:
    return {"port": port.number, "protocol": str(port.protocol)}


def _pod_set(pods: PodSet) -> dict[str, Any]:
    return {
        "any": pods.everything,
        "count": pods.count,
        "groups": [
            {
                "namespace": group.namespace,
                "labels": dict(group.labels),
                "whole_namespace": group.whole_namespace,
                "pods": [pod.name for pod in group.pods],
            }
            for group in pods.groups
        ],
    }


def _change(change: Change) -> dict[str, Any]:
    cause = change.cause
    return {
        "change": str(change.kind),
        "text": str(change),
        "from": {"address": str(change.address)}
        if change.from_address
        else _pod_set(change.sources),
        "to": _pod_set(change.destinations)
        if change.address is None or change.from_address
        else {"address": str(change.address)},
        "ports": [_port(port) for port in change.ports],
        "pairs": change.pairs,
        "cause": {
            "kind": str(cause.kind),
            "direction": str(cause.direction),
            "policies": [str(ref) for ref in cause.policies],
            "rule": cause.rule,
            "location": str(cause.location) if cause.location else None,
            "text": cause.describe(change.kind),
        },
        "example": {
            "from": str(change.example.source),
            "to": str(change.example.destination),
            "port": change.example.port,
            "protocol": str(change.example.protocol),
            "reasons": list(change.explanation),
        },
    }


def render_json(result: Diff) -> str:
    document = {
        "changed_policies": [str(ref) for ref in result.changed_policies],
        "pods": result.pods,
        "ports": [_port(port) for port in result.ports],
        "summary": {
            "opened": result.connections(ChangeKind.OPENED),
            "closed": result.connections(ChangeKind.CLOSED),
        },
        "changes": [_change(change) for change in result.changes],
    }
    return json.dumps(document, indent=2) + "\n"
