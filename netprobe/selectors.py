"""Kubernetes label selectors: an immutable label set and the selector that matches it.

``matchLabels`` and ``matchExpressions`` are ANDed; ``NotIn`` is also true when the key is
absent; the empty selector matches everything (docs/semantics.md rule 13). Parsing from
YAML and its validation live in :mod:`netprobe.manifests`; this module only models and
matches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Labels(Mapping[str, str]):
    """An immutable, hashable set of labels."""

    __slots__ = ("_hash", "_items")

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, str] = dict(sorted((items or {}).items()))
        self._hash = hash(tuple(self._items.items()))

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._items == other._items
        return isinstance(other, Mapping) and self._items == dict(other)

    def __repr__(self) -> str:
        return f"Labels({self._items!r})"

    def __str__(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self._items.items()) or "<no labels>"

    def with_changes(self, changes: Mapping[str, str | None]) -> Labels:
        """A copy with ``changes`` applied; a None value removes the label."""
        merged = dict(self._items)
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return Labels(merged)


class Operator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``matchExpressions`` entry."""

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator is Operator.IN:
            return present and labels[self.key] in self.values
        if self.operator is Operator.NOT_IN:
            return not present or labels[self.key] not in self.values
        if self.operator is Operator.EXISTS:
            return present
        return not present

    def __str__(self) -> str:
        if self.operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
            return f"{'' if self.operator is Operator.EXISTS else '!'}{self.key}"
        op = "in" if self.operator is Operator.IN else "notin"
        return f"{self.key} {op} ({','.join(sorted(self.values))})"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """``matchLabels`` plus ``matchExpressions``; the empty selector matches everything."""

    match_labels: Labels = Labels()
    match_expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels.items():
            if labels.get(key) != value:
                return False
        return all(requirement.matches(labels) for requirement in self.match_expressions)

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def __str__(self) -> str:
        """kubectl's selector syntax, e.g. ``app=db,tier in (a,b)``; ``{}`` when empty."""
        parts = [f"{k}={v}" for k, v in self.match_labels.items()]
        parts += [str(requirement) for requirement in self.match_expressions]
        return ",".join(parts) if parts else "{}"
