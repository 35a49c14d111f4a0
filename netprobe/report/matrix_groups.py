"""The groups of pods the matrix table shows once a cluster has too many pods to show one by
one: pod classes merged when they behave alike on every port shown, each named by what the
policies see of it (``prod/app=web,tier=api (12 pods)``), never by one of its pods.

Merging takes Python steps linear in classes x ports, so that it applies at any size.
Rows are compared by their hashes, checked for equality on a match, and never kept (the
matrix may compute them on demand). Columns (which sources reach a class) are compared
only for classes whose rows matched another's: their bits are read out of one row per row
group, a batch of rows at a time, by slicing the batch's bytes a byte column at a time.
The matrix is never transposed; what grows faster than classes is copying rows as bytes
(classes² x ports / 8 bytes, in C), and only when some rows matched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from netprobe.analyzer import Matrix, relevant_keys
from netprobe.model import ClusterState, Pod

BATCH = 1024
"""Rows read at once while comparing columns (memory: ``BATCH`` x classes / 8 bytes)."""
NAMESPACES_SHOWN = 3
"""A group spanning more namespaces than this says how many instead of naming them."""

_BIT = tuple(bytes(value >> bit & 1 for value in range(256)) for bit in range(8))
"""``bytes.translate`` tables keeping one bit of every byte."""


@dataclass(frozen=True, slots=True)
class TableGroup:
    """Pods that reach, and are reached by, the same pods on every port shown."""

    classes: tuple[int, ...]
    """The matrix's classes merged into the group (any one stands for all)."""
    pods: tuple[int, ...]
    """Pod indices, in state order."""
    label: str
    """What the policies see of the group, and its size."""


def pod_groups(result: Matrix, state: ClusterState) -> list[TableGroup]:
    """The groups of ``result``'s pods, largest first, then by label."""
    merged = merged_classes(result)
    members = [tuple(sorted(p for c in classes for p in result.classes[c])) for classes in merged]
    labels = group_labels([[state.pods[p] for p in pods] for pods in members], state)
    groups = [
        TableGroup(tuple(classes), pods, label)
        for classes, pods, label in zip(merged, members, labels, strict=True)
    ]
    return sorted(groups, key=lambda group: (-len(group.pods), group.label))


def merged_classes(result: Matrix) -> list[list[int]]:
    """``result``'s classes, merged when their rows and columns are equal on every port;
    groups in the order of their first class."""
    by_rows = _equal_rows(result)
    candidates = [c for group in by_rows if len(group) > 1 for c in group]
    if not candidates:
        return by_rows
    row_group = {c: number for number, group in enumerate(by_rows) for c in group}
    sources = [group[0] for group in by_rows]
    labels = _split_by_columns(result, sources, candidates, [row_group[c] for c in candidates])
    merged: dict[int, list[int]] = defaultdict(list)
    for c, label in zip(candidates, labels, strict=True):
        merged[label].append(c)
    groups = [group for group in by_rows if len(group) == 1]
    groups += merged.values()
    return sorted(groups, key=lambda group: group[0])


def _equal_rows(result: Matrix) -> list[list[int]]:
    """Classes grouped by their rows on every port."""
    ports = range(len(result.ports))
    buckets: dict[tuple[int, ...], list[list[int]]] = defaultdict(list)
    groups: list[list[int]] = []
    for c in range(len(result.classes)):
        rows = [result.class_row(c, q) for q in ports]
        # An int's hash is its value modulo 2**61 - 1, so distinct bitsets collide easily
        # ({0} and {61}): a matching hash is only a candidate.
        bucket = buckets[tuple(hash(row) for row in rows)]
        for group in bucket:
            if all(result.class_row(group[0], q) == rows[q] for q in ports):
                group.append(c)
                break
        else:
            bucket.append([c])
            groups.append(bucket[-1])
    return groups


def _split_by_columns(
    result: Matrix, sources: Sequence[int], candidates: Sequence[int], labels: list[int]
) -> list[int]:
    """``labels`` (one per candidate class) refined so that two candidates keep one label
    only when each of ``sources`` reaches both or neither, on every port."""
    size = (len(result.classes) + 7) // 8
    columns = sorted({c >> 3 for c in candidates})
    for q in range(len(result.ports)):
        for start in range(0, len(sources), BATCH):
            rows = b"".join(
                result.class_row(s, q).to_bytes(size, "little")
                for s in sources[start : start + BATCH]
            )
            by_column = {column: rows[column::size] for column in columns}
            fresh: dict[tuple[int, bytes], int] = {}
            labels = [
                fresh.setdefault((label, by_column[c >> 3].translate(_BIT[c & 7])), len(fresh))
                for label, c in zip(labels, candidates, strict=True)
            ]
    return labels


def group_labels(groups: Sequence[Sequence[Pod]], state: ClusterState) -> list[str]:
    """A label per group of pods: its namespace and the labels some policy's pod selector
    looks at that all its pods share (``prod/app=web``); where two groups would read the
    same, the keys one of them lacks (``prod/app=web,!canary``), then a number (``#2``)."""
    keys = relevant_keys(state.policies)
    wheres = [_namespaces(pods) for pods in groups]
    parts = [_shared_labels(pods, keys) for pods in groups]
    texts = [_joined(where, labels) for where, labels in zip(wheres, parts, strict=True)]
    for numbers in _collisions(texts):
        seen = {key for n in numbers for pod in groups[n] for key in pod.labels if key in keys}
        for n in numbers:
            had = {key for pod in groups[n] for key in pod.labels}
            parts[n] += [f"!{key}" for key in sorted(seen - had)]
            texts[n] = _joined(wheres[n], parts[n])
    for numbers in _collisions(texts):
        for count, n in enumerate(numbers, start=1):
            texts[n] += f" #{count}"
    return [
        f"{text} ({len(pods)} {'pod' if len(pods) == 1 else 'pods'})"
        for text, pods in zip(texts, groups, strict=True)
    ]


def _collisions(texts: Sequence[str]) -> list[list[int]]:
    """The indices of each text that appears more than once."""
    found: dict[str, list[int]] = defaultdict(list)
    for number, text in enumerate(texts):
        found[text].append(number)
    return [numbers for numbers in found.values() if len(numbers) > 1]


def _namespaces(pods: Sequence[Pod]) -> str:
    names = sorted({pod.namespace for pod in pods})
    if len(names) == 1:
        return names[0]
    if len(names) <= NAMESPACES_SHOWN:
        return "{" + ",".join(names) + "}"
    return f"{len(names)} namespaces"


def _shared_labels(pods: Sequence[Pod], keys: frozenset[str]) -> list[str]:
    shared = {key: value for key, value in pods[0].labels.items() if key in keys}
    for pod in pods[1:]:
        shared = {key: value for key, value in shared.items() if pod.labels.get(key) == value}
    return [f"{key}={value}" for key, value in sorted(shared.items())]


def _joined(where: str, labels: list[str]) -> str:
    return f"{where}/{','.join(labels)}" if labels else where
