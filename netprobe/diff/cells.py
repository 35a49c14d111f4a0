"""The pod pairs whose verdict a policy change flips, found from two matrices.

Only pods a changed policy selects can see their verdicts change: the destinations it
isolates for ingress and the sources it isolates for egress (before or after the change).
So the two matrices are compared on those pods' columns and rows only, over *joint
classes* (pods in the same class before and in the same class after), never pod by pod.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netprobe.analyzer import Matrix
from netprobe.bitsets import Columns, Gather, bit_indices
from netprobe.model import ClusterState, NetworkPolicy, PolicyRef, PolicyType


@dataclass(frozen=True, slots=True)
class JointClasses:
    members: tuple[tuple[int, ...], ...]
    """Joint class -> the indices of its pods (state order)."""
    before: tuple[int, ...]
    """Joint class -> its class in the before matrix."""
    after: tuple[int, ...]
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
    return JointClasses(
        tuple(tuple(group) for group in members),
        tuple(b for b, _ in keys),
        tuple(a for _, a in keys),
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
    rows_b = [before.class_row(cls, port) for cls in range(len(before.classes))]
    rows_a = [after.class_row(cls, port) for cls in range(len(after.classes))]
    to_joint_b = Gather(joint.before, len(before.classes))
    to_joint_a = Gather(joint.after, len(after.classes))
    columns: dict[int, tuple[int, int]] = {}
    destinations = bit_indices(ingress)
    if destinations:
        cols_b = _columns(rows_b, [joint.before[dst] for dst in destinations], to_joint_b)
        cols_a = _columns(rows_a, [joint.after[dst] for dst in destinations], to_joint_a)
        for dst, col_b, col_a in zip(destinations, cols_b, cols_a, strict=True):
            changed = (col_b ^ col_a) & _not_self(joint, dst)
            if changed:
                columns[dst] = (col_b & changed, col_a & changed)
    rows: dict[int, tuple[int, int]] = {}
    joint_rows_b: dict[int, int] = {}
    joint_rows_a: dict[int, int] = {}
    for src in bit_indices(egress):
        cls_b, cls_a = joint.before[src], joint.after[src]
        row_b = joint_rows_b.get(cls_b)
        if row_b is None:
            row_b = joint_rows_b[cls_b] = to_joint_b(rows_b[cls_b])
        row_a = joint_rows_a.get(cls_a)
        if row_a is None:
            row_a = joint_rows_a[cls_a] = to_joint_a(rows_a[cls_a])
        changed = (row_b ^ row_a) & ~ingress & _not_self(joint, src)
        if changed:
            rows[src] = (row_b & changed, row_a & changed)
    return Flips(columns, rows)


def _columns(rows: list[int], classes: list[int], to_joint: Gather) -> list[int]:
    """The sources (joint classes) of each destination class in ``classes``."""
    by_class = Columns(rows, len(rows), classes)
    return [to_joint.chars(by_class.chars(cls)) for cls in classes]


def _not_self(joint: JointClasses, number: int) -> int:
    """All joint classes, minus ``number`` itself when its only pair with itself is self."""
    if len(joint.members[number]) == 1:
        return joint.universe & ~(1 << number)
    return joint.universe
