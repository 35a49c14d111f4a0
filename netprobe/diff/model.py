"""What ``netprobe diff`` reports: groups of pods, the change between them and its cause.

Plain values, so the renderers and tests never need the computation that produced them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address

from netprobe.errors import Location
from netprobe.model import Connection, IPAddress, PodRef, PolicyRef, PolicyType, Port
from netprobe.selectors import Labels

OUTSIDE = IPv4Address("192.0.2.1")
"""Stands for addresses outside the pods and every ipBlock (TEST-NET-1, RFC 5737)."""


class ChangeKind(StrEnum):
    OPENED = "opened"
    CLOSED = "closed"


class CauseKind(StrEnum):
    RULE = "rule"
    """A rule of a changed policy admits the connection now (opened) or did before (closed)."""
    ISOLATED = "isolated"
    """A changed policy now isolates the pod, and nothing admits the connection."""
    LIFTED = "lifted"
    """No policy isolates the pod any more after the change."""
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Cause:
    kind: CauseKind
    direction: PolicyType
    policies: tuple[PolicyRef, ...]
    rule: int | None = None
    location: Location | None = None

    def describe(self, change: ChangeKind) -> str:
        word = "ingress" if self.direction is PolicyType.INGRESS else "egress"
        names = ", ".join(map(str, self.policies)) or "a changed policy"
        if self.kind is CauseKind.RULE:
            rule = f"{names} {word}[{self.rule}]"
            return f"by {rule}" if change is ChangeKind.OPENED else f"{rule} no longer admits it"
        if self.kind is CauseKind.ISOLATED:
            return f"{names} now isolates it for {word} (default deny)"
        if self.kind is CauseKind.LIFTED:
            return f"{names} no longer isolates it for {word}"
        return f"a change of {names} ({word})"


@dataclass(frozen=True, slots=True)
class PodGroup:
    """Pods of one namespace, described by the labels they share."""

    namespace: str
    labels: Labels
    pods: tuple[PodRef, ...]
    whole_namespace: bool

    def __str__(self) -> str:
        count = f"{len(self.pods)} pod{'s' if len(self.pods) != 1 else ''}"
        if self.whole_namespace:
            if len(self.pods) <= 2:
                return f"namespace {self.namespace} (all: {', '.join(p.name for p in self.pods)})"
            return f"namespace {self.namespace} (all {count})"
        if not self.labels:
            if len(self.pods) <= 2:
                return f"namespace {self.namespace} ({', '.join(p.name for p in self.pods)})"
            return f"namespace {self.namespace} ({count})"
        return f"namespace {self.namespace} ({self.labels}, {count})"


@dataclass(frozen=True, slots=True)
class PodSet:
    """One side of a change: pods grouped per namespace."""

    groups: tuple[PodGroup, ...]
    everything: bool = False
    """Every pod considered (the sources or destinations are "any pod")."""

    @property
    def count(self) -> int:
        return sum(len(group.pods) for group in self.groups)

    def __str__(self) -> str:
        if self.everything:
            return f"any pod ({self.count} pods)"
        shown = [str(group) for group in self.groups[:3]]
        rest = self.groups[3:]
        if rest:
            pods = sum(len(group.pods) for group in rest)
            shown.append(f"{len(rest)} more namespace group(s) ({pods} pods)")
        return "; ".join(shown)


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    sources: PodSet
    destinations: PodSet
    ports: tuple[Port, ...]
    cause: Cause
    pairs: int
    """Pod pairs (per port) this change covers."""
    example: Connection
    explanation: tuple[str, ...] = ()
    """The analyzer's reasons for the example connection after the change."""
    address: IPAddress | None = None
    """Set when one end is an address outside the pods: the destination (``destinations``
    is empty), or the source when ``from_address`` (``sources`` is empty)."""
    from_address: bool = False

    @property
    def port_text(self) -> str:
        return ",".join(map(str, self.ports))

    @property
    def source_text(self) -> str:
        return self._address_text() if self.from_address else str(self.sources)

    @property
    def destination_text(self) -> str:
        if self.address is None or self.from_address:
            return str(self.destinations)
        return self._address_text()

    def _address_text(self) -> str:
        if self.address == OUTSIDE:
            return f"address {self.address} (stands for any address outside the pods)"
        return f"address {self.address}"

    def __str__(self) -> str:
        return (
            f"{self.source_text} -> {self.destination_text} {self.port_text}: "
            f"{self.kind.upper()} {self.cause.describe(self.kind)}"
        )


@dataclass(frozen=True, slots=True)
class Diff:
    changes: tuple[Change, ...]
    ports: tuple[Port, ...]
    pods: int
    changed_policies: tuple[PolicyRef, ...]

    def of_kind(self, kind: ChangeKind) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.kind is kind)

    def connections(self, kind: ChangeKind) -> int:
        """Pod-pair-port connections of ``kind``."""
        return sum(change.pairs * len(change.ports) for change in self.of_kind(kind))
