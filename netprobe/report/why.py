"""The table report's short block of a failed live run's diagnostics: a few lines per
suite, pointing at the JSON report for the rest (:mod:`netprobe.diagnostics`)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from netprobe.diagnostics import Event, PodStatus, StoredPolicy
from netprobe.results import SuiteResult

SHOWN = 5
"""Pods, policies, (newest) events and notes listed per suite, at most."""
SPEC_CHARS = 160


def why_block(suite: SuiteResult) -> list[str]:
    """The block's lines for ``suite``; none when it has no diagnostics."""
    found = suite.diagnostics
    if found is None:
        return []
    lines = [f"why ({suite.name}, as the cluster holds it now; CNI {found.cni}):"]
    lines += [f"  pod {_pod(pod)}" for pod in found.pods[:SHOWN]]
    lines += [f"  policy {_policy(policy)}" for policy in found.policies[:SHOWN]]
    lines += [f"  event {_event(event)}" for event in found.events[-SHOWN:]]
    lines += [f"  note: {note}" for note in found.notes[:SHOWN]]
    hidden = {
        "pods": len(found.pods) - SHOWN,
        "policies": len(found.policies) - SHOWN,
        "events": len(found.events) - SHOWN,
        "notes": len(found.notes) - SHOWN,
    }
    if any(count > 0 for count in hidden.values()):
        lines.append(f"  not shown here: {_counts(hidden)} (-o json has them)")
    if found.truncated:
        lines.append(f"  truncated: {_counts(found.truncated)} more (bounds: docs/kubernetes.md)")
    return lines


def _pod(pod: PodStatus) -> str:
    name = str(pod.ref) if pod.name == pod.ref.name else f"{pod.ref} ({pod.name})"
    where = f"{','.join(pod.ips) or 'no IP'} on {pod.node or 'no node'}"
    ready = {True: ", ready", False: ", not ready", None: ""}[pod.ready]
    restarts = dict(pod.restarts)
    if any(restarts.values()):
        counts = ", ".join(f"{container} {count}" for container, count in pod.restarts)
    else:
        counts = "0"
    return f"{name}: {pod.phase} {where}{ready}, restarts {counts}"


def _policy(policy: StoredPolicy) -> str:
    spec = json.dumps(policy.spec, separators=(",", ":"), sort_keys=True)
    if len(spec) > SPEC_CHARS:
        spec = spec[: SPEC_CHARS - 3] + "..."
    owner = "netprobe's" if policy.netprobe else "not netprobe's"
    return f"{policy.ref} ({owner}) as stored: {spec}"


def _event(event: Event) -> str:
    count = f" (x{event.count})" if event.count > 1 else ""
    return f"{event.last or '?'} {event.type} {event.reason} {event.object}: {event.message}{count}"


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in counts.items() if count > 0)
