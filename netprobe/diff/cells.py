"""The pod pairs whose verdict a policy change flips, found from two matrices.

Only pods a changed policy selects can see their verdicts change: the destinations it
isolates for ingress and the sources it isolates for egress (before or after the change).
So the two matrices are compared on those pods' columns and rows only, over *joint
classes* (pods in the same class before and in the same class after), never pod by pod.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netprobe.analyzer import Matrix, bit_indices
from netprobe.model import ClusterState, NetworkPolicy, PolicyRef, PolicyType


@dataclass(frozen=True, slots=True)
class JointClasses:
    members: tuple[tuple[int, ...], ...]
    """Joint class -> the indices of its pods (state order)."""
    before: tuple[int, ...]
    """Joint class -> its class in the before matrix."""
    after: tuple[int, ...]
    before_masks: tuple[int, ...]
    """Before-class -> the joint classes inside it, as a bitset."""
    after_masks: tuple[int, ...]
    of_pod: tuple[int, ...]

    @property
    def universe(self) -> int:
        return (1 << len(self.members)) - 1


def joint_classes(before: Matrix, after: Matrix) -> JointClasses:
    keys: dict[tuple[int, int], int] = {}
    members: list[list[int]] = []
    of_pod: list[int] = []
    for pod, key in enumerate(zip(before.class_of, after.class_of, strict=True)):
        found = keys.get(key)
        if found is None:
            found = keys[key] = len(members)
            members.append([])
        members[found].append(pod)
        of_pod.append(found)
    before_masks = [0] * len(before.classes)
    after_masks = [0] * len(after.classes)
    for number, (b, a) in enumerate(keys):
        before_masks[b] |= 1 << number
        after_masks[a] |= 1 << number
    return JointClasses(
        tuple(tuple(group) for group in members),
        tuple(b for b, _ in keys),
        tuple(a for _, a in keys),
        tuple(before_masks),
        tuple(after_masks),
        tuple(of_pod),
    )


def changed_policies(before: ClusterState, after: ClusterState) -> tuple[PolicyRef, ...]:
    """Policies added, removed or edited (locations and formatting do not count)."""
    old = {policy.ref: policy for policy in before.policies}
    new = {policy.ref: policy for policy in after.policies}
    return tuple(sorted(ref for ref in old.keys() | new.keys() if old.get(ref) != new.get(ref)))


def affected(
    state: ClusterState, versions: Iterable[NetworkPolicy], joint: JointClasses
) -> tuple[int, int]:
    """Joint classes (ingress destinations, egress sources) that ``versions`` select."""
    by_namespace: dict[str, list[int]] = {}
    for number, group in enumerate(joint.members):
        by_namespace.setdefault(state.pods[group[0]].namespace, []).append(number)
    ingress = egress = 0
    for policy in versions:
        for number in by_namespace.get(policy.namespace, ()):
            if policy.pod_selector.matches(state.pods[joint.members[number][0]].labels):
                if policy.isolates(PolicyType.INGRESS):
                    ingress |= 1 << number
                if policy.isolates(PolicyType.EGRESS):
                    egress |= 1 << number
    return ingress, egress


class _Converter:
    """Turns bitsets over one matrix's classes into bitsets over joint classes (memoized)."""

    def __init__(self, masks: tuple[int, ...]) -> None:
        self._masks = masks
        self._seen: dict[int, int] = {}

    def __call__(self, bits: int) -> int:
        found = self._seen.get(bits)
        if found is None:
            found = 0
            masks = self._masks
            for cls in bit_indices(bits):
                found |= masks[cls]
            self._seen[bits] = found
        return found


@dataclass(frozen=True, slots=True)
class Flips:
    """Changed cells of one port: per destination (columns) and per source (rows)."""

    columns: dict[int, tuple[int, int]]
    """Affected destination -> (sources allowed before, sources allowed after), changed only."""
    rows: dict[int, tuple[int, int]]
    """Affected source -> (destinations before, after), outside the affected columns."""


def flips(
    before: Matrix, after: Matrix, joint: JointClasses, port: int, ingress: int, egress: int
) -> Flips:
    """The cells of ``port`` whose verdict differs, as bitsets over joint classes."""
    columns: dict[int, tuple[int, int]] = {}
    rows_b = [before.class_row(cls, port) for cls in range(len(before.classes))]
    rows_a = [after.class_row(cls, port) for cls in range(len(after.classes))]
    for dst in bit_indices(ingress):
        col_b = _column(rows_b, joint.before[dst], joint.before_masks)
        col_a = _column(rows_a, joint.after[dst], joint.after_masks)
        changed = (col_b ^ col_a) & _not_self(joint, dst)
        if changed:
            columns[dst] = (col_b & changed, col_a & changed)
    rows: dict[int, tuple[int, int]] = {}
    to_joint_b, to_joint_a = _Converter(joint.before_masks), _Converter(joint.after_masks)
    for src in bit_indices(egress):
        row_b = to_joint_b(rows_b[joint.before[src]])
        row_a = to_joint_a(rows_a[joint.after[src]])
        changed = (row_b ^ row_a) & ~ingress & _not_self(joint, src)
        if changed:
            rows[src] = (row_b & changed, row_a & changed)
    return Flips(columns, rows)


def _column(rows: list[int], cls: int, masks: tuple[int, ...]) -> int:
    found = 0
    for source, row in enumerate(rows):
        if row >> cls & 1:
            found |= masks[source]
    return found


def _not_self(joint: JointClasses, number: int) -> int:
    """All joint classes, minus ``number`` itself when its only pair with itself is self."""
    if len(joint.members[number]) == 1:
        return joint.universe & ~(1 << number)
    return joint.universe
