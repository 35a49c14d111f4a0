"""The reachability matrix, four ways: ``json`` (the stable contract scripts rely on,
streamed so that large matrices never sit in memory as text), ``classes`` (every cell as
JSON Lines over pod classes, for matrices too large for ``json``: :mod:`.matrix_classes`),
``summary`` (counts per port, computed over pod classes without expanding the matrix) and
``table`` (one truth table per port; pods that behave identically are grouped, and named by
their labels, once there are too many to show one by one: :mod:`.matrix_groups`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TextIO

from tabulate import tabulate

from netprobe.analyzer import Matrix
from netprobe.model import ClusterState
from netprobe.report.matrix_classes import write_classes
from netprobe.report.matrix_groups import pod_groups

ALLOWED, DENIED, ONLY_SELF = "✓", "✗", "∘"
PER_POD_LIMIT = 40
"""Up to this many pods the table shows one row and column per pod."""
GROUP_LIMIT = 40
"""At most this many groups of pods are shown; the rest are counted in a note."""


def write_json(result: Matrix, state: ClusterState, out: TextIO) -> None:
    """The contract: ``{"pods": [...], "results": [{"from", "to", "port", "protocol",
    "allowed"}, ...]}``, one result per ordered pod pair (self included) per port."""
    names = [json.dumps(str(ref)) for ref in result.pods]
    out.write('{"pods": [' + ", ".join(names) + '],\n "results": [')
    first = True
    ports = [(port.number, json.dumps(str(port.protocol))) for port in result.ports]
    for source, source_name in enumerate(names):
        rows = [list(result.row(source, q)) for q in range(len(ports))]
        lines = []
        for destination, destination_name in enumerate(names):
            for q, (number, protocol) in enumerate(ports):
                allowed = "true" if rows[q][destination] else "false"
                lines.append(
                    f'{{"from": {source_name}, "to": {destination_name}, "port": {number}, '
                    f'"protocol": {protocol}, "allowed": {allowed}}}'
                )
        if lines:
            out.write(("\n  " if first else ",\n  ") + ",\n  ".join(lines))
            first = False
    out.write("\n]}\n")


def write_summary(result: Matrix, state: ClusterState, out: TextIO) -> None:
    """``{"pods": N, "policies": P, "ports": {"80/TCP": {"allowed": A, "denied": D}}}``."""
    cells = result.cells_per_port
    ports = {}
    for q, port in enumerate(result.ports):
        allowed = result.allowed_count(q)
        ports[str(port)] = {"allowed": allowed, "denied": cells - allowed}
    summary = {"pods": len(result.pods), "policies": len(state.policies), "ports": ports}
    out.write(json.dumps(summary, indent=2) + "\n")


def write_table(result: Matrix, state: ClusterState, out: TextIO) -> None:
    """One truth table per port, sources as rows and destinations as columns."""
    if not result.pods:
        out.write("no pods in the manifests\n")
        return
    grouped = len(result.pods) > PER_POD_LIMIT
    if not grouped:
        groups = [[pod] for pod in range(len(result.pods))]
        cell = _pod_cell(result)
        labels = [str(result.pods[pod]) for pod in range(len(result.pods))]
    else:
        merged = pod_groups(result, state)
        groups = [list(group.pods) for group in merged]
        cell = _group_cell(result, [group.classes[0] for group in merged], groups)
        labels = [group.label for group in merged]
    shown = min(len(groups), GROUP_LIMIT)
    key = f"{ALLOWED} allowed   {DENIED} denied   rows: from   columns: to (numbered as the rows)"
    if any(len(g) > 1 for g in groups):
        key += f"\n{ONLY_SELF} denied between different pods of a group (each pod reaches itself)"
    policies = len(state.policies)
    out.write(f"{len(result.pods)} pods, {policies} {'policy' if policies == 1 else 'policies'}\n")
    if len(groups) < len(result.pods):
        out.write(
            f"{len(result.pods)} pods behave as {len(groups)} groups (same reachability on "
            "every port shown); each row and column is a group\n"
        )
    out.write(key + "\n")
    host = [str(pod.ref) for pod in state.pods if pod.host_network]
    if host:
        listed = ", ".join(host[:5]) + (f" and {len(host) - 5} more" if len(host) > 5 else "")
        out.write(
            f"undefined: hostNetwork pods ({listed}) are shown as ordinary pods; "
            "NetworkPolicy does not define what applies to them\n"
        )
    align = ("left", *("center",) * shown)
    for q, port in enumerate(result.ports):
        headers = [str(port), *(str(n + 1) for n in range(shown))]
        rows = [
            [f"{s + 1:>3} {labels[s]}", *(cell(s, d, q) for d in range(shown))]
            for s in range(shown)
        ]
        out.write("\n" + tabulate(rows, headers, tablefmt="simple", colalign=align) + "\n")
    if grouped:
        out.write("\ngroups:\n")
        for n, group in enumerate(groups[:shown]):
            members = ", ".join(str(result.pods[p]) for p in group[:8])
            more = f" and {len(group) - 8} more" if len(group) > 8 else ""
            out.write(f"{n + 1:>3}  {members}{more}\n")
    if shown < len(groups):
        left = sum(len(g) for g in groups[shown:])
        out.write(
            f"\n{len(groups) - shown} more groups ({left} pods) are left out of the tables; "
            "use -o classes (or -o json, one line per cell) for every cell, -o summary for "
            "counts, or fewer -f files\n"
        )


def _pod_cell(result: Matrix) -> Callable[[int, int, int], str]:
    def cell(source: int, destination: int, q: int) -> str:
        return ALLOWED if result.allowed(source, destination, q) else DENIED

    return cell


def _group_cell(
    result: Matrix, classes: list[int], groups: list[list[int]]
) -> Callable[[int, int, int], str]:
    """Cells between groups, each group standing for its pods by one of its classes."""

    def cell(source: int, destination: int, q: int) -> str:
        allowed = result.class_allowed(classes[source], classes[destination], q)
        if allowed:
            return ALLOWED
        if source == destination and len(groups[source]) > 1:
            return ONLY_SELF
        return ALLOWED if source == destination else DENIED

    return cell


WRITERS: dict[str, Callable[[Matrix, ClusterState, TextIO], None]] = {
    "table": write_table,
    "json": write_json,
    "summary": write_summary,
    "classes": write_classes,
}
"""``-o`` name -> writer, the default first."""
