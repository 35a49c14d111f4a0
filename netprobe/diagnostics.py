"""What a live backend saw when a run failed: the evidence a person needs to find out why
without re-running (the policies as the cluster holds them, the pods involved, recent
events, the CNI), bounded in size.

The runner asks the backend for it once, after the last round, and only when some result
failed or the dataplane disagreed with the analyzer (:class:`Involved` names what those
results touch). A backend fills in what it can; whatever it could not gather is a note,
never an error. :func:`bounded` is the one place that caps counts and bytes, so a report
stays readable whatever the cluster holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from netprobe.model import PodRef, PolicyRef

MAX_PODS = 20
MAX_POLICIES = 20
MAX_EVENTS = 50
MAX_NOTES = 20
MAX_TEXT = 512
"""Characters of one event message or note; longer ones are cut, ending in "..."."""
MAX_BYTES = 64 * 1024
"""Of the items' compact JSON, all kinds together."""

UNKNOWN_CNI = "unknown"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Involved:
    """What the failing results touch: their pods, the policies their verdicts name."""

    pods: tuple[PodRef, ...] = ()
    policies: tuple[PolicyRef, ...] = ()

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(sorted({ref.namespace for ref in (*self.pods, *self.policies)}))


@dataclass(frozen=True, slots=True)
class PodStatus:
    ref: PodRef
    """The suite's pod (a staging workload: the workload it stands for)."""
    name: str
    """The pod's name in the cluster."""
    phase: str
    ips: tuple[str, ...] = ()
    node: str | None = None
    ready: bool | None = None
    restarts: tuple[tuple[str, int], ...] = ()
    """(container, restart count), in the pod's order."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "pod": str(self.ref),
            "name": self.name,
            "phase": self.phase,
            "ips": list(self.ips),
            "node": self.node,
            "ready": self.ready,
            "restarts": dict(self.restarts),
        }


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    ref: PolicyRef
    spec: Mapping[str, Any]
    """The spec as the API server returns it: defaulted, empty lists dropped."""
    netprobe: bool
    """Whether netprobe created it (others are enforced too, but not in the analyzer's
    snapshot)."""

    def as_dict(self) -> dict[str, Any]:
        return {"policy": str(self.ref), "netprobe": self.netprobe, "spec": dict(self.spec)}


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    """Normal or Warning."""
    reason: str
    object: str
    """``Pod a/web`` and the like."""
    message: str
    count: int
    last: str | None
    """When it last happened, as the API server wrote it (RFC 3339)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "reason": self.reason,
            "object": self.object,
            "message": self.message,
            "count": self.count,
            "last": self.last,
        }


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """Made by :func:`bounded`; every tuple is within its cap."""

    cni: str
    pods: tuple[PodStatus, ...] = ()
    policies: tuple[StoredPolicy, ...] = ()
    events: tuple[Event, ...] = ()
    """Oldest first: the last ones that fit."""
    notes: tuple[str, ...] = ()
    """What could not be gathered, and why."""
    truncated: Mapping[str, int] = field(default_factory=dict)
    """Per kind (pods, policies, events, notes): how many more there were than are here."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "cni": self.cni,
            "pods": [pod.as_dict() for pod in self.pods],
            "policies": [policy.as_dict() for policy in self.policies],
            "events": [event.as_dict() for event in self.events],
            "notes": list(self.notes),
            "truncated": {kind: self.truncated.get(kind, 0) for kind in _KINDS},
        }


_KINDS = ("pods", "policies", "events", "notes")


def bounded(
    cni: str | None,
    pods: Sequence[PodStatus] = (),
    policies: Sequence[StoredPolicy] = (),
    events: Sequence[Event] = (),
    notes: Sequence[str] = (),
    unread: Mapping[str, int] | None = None,
) -> Diagnostics:
    """Diagnostics within the caps: at most :data:`MAX_PODS` pods, :data:`MAX_POLICIES`
    policies (both the first ones: most relevant first), the :data:`MAX_EVENTS` newest
    events (``events`` is oldest first), :data:`MAX_NOTES` notes, and :data:`MAX_BYTES` of
    compact JSON for all of them, filled in that order (an item that does not fit is left
    out; smaller ones after it may still fit). What is left out is counted, together with
    ``unread``: per kind, how many the backend did not even read (beyond the caps)."""
    budget = _Budget(MAX_BYTES)
    kept_pods = budget.fit(pods[:MAX_PODS], PodStatus.as_dict)
    kept_policies = budget.fit(policies[:MAX_POLICIES], StoredPolicy.as_dict)
    newest = [_cut_event(event) for event in reversed(events[-MAX_EVENTS:])]
    kept_events = budget.fit(newest, Event.as_dict)[::-1]
    kept_notes = budget.fit([_cut(note) for note in notes[:MAX_NOTES]], str)
    left_out = {
        "pods": len(pods) - len(kept_pods),
        "policies": len(policies) - len(kept_policies),
        "events": len(events) - len(kept_events),
        "notes": len(notes) - len(kept_notes),
    }
    for kind, count in (unread or {}).items():
        left_out[kind] += count
    return Diagnostics(
        cni=cni or UNKNOWN_CNI,
        pods=tuple(kept_pods),
        policies=tuple(kept_policies),
        events=tuple(kept_events),
        notes=tuple(kept_notes),
        truncated={kind: count for kind, count in left_out.items() if count},
    )


class _Budget:
    """Bytes of compact JSON left."""

    def __init__(self, size: int) -> None:
        self.left = size

    def fit(self, items: Sequence[T], value: Callable[[T], object]) -> list[T]:
        kept = []
        for item in items:
            size = len(json.dumps(value(item), separators=(",", ":")).encode())
            if size <= self.left:
                self.left -= size
                kept.append(item)
        return kept


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _cut_event(event: Event) -> Event:
    return replace(event, message=_cut(event.message))
