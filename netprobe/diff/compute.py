"""``diff``: what a policy change opens and closes, grouped into rows a person can read.

Flipped cells come from two analyzer matrices (:mod:`.cells`), causes from the rules of
the changed policies (:mod:`.sides`); rows are then merged while they share a cause, the
same peers and the same ports, and finally described per namespace (:mod:`.groups`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from netprobe.analyzer import evaluate, matrix
from netprobe.bitsets import bit_indices
from netprobe.diff.addresses import flips as address_flips
from netprobe.diff.addresses import representatives
from netprobe.diff.cells import affected, changed_policies, flips, joint_classes
from netprobe.diff.groups import Describer
from netprobe.diff.model import Cause, Change, ChangeKind, Diff, PodSet
from netprobe.diff.sides import Sides, attribute
from netprobe.errors import InputError
from netprobe.model import ClusterState, Connection, IPAddress, PolicyRef, PolicyType, Port

# (kind, cause, role of the anchor: "dst" for ingress causes, "src" for egress, anchor class)
_Key = tuple[ChangeKind, Cause, str, int]


def diff(before: ClusterState, after: ClusterState, ports: Sequence[Port]) -> Diff:
    """The connections between the pods of ``before`` (and ``after``: the same pods and
    namespaces) that the change of policies opens or closes on ``ports``.

    Raises:
        InputError: the two states do not hold the same pods.
    """
    if tuple(p.ref for p in before.pods) != tuple(p.ref for p in after.pods):
        raise InputError("diff needs the same pods before and after the change")
    ports = tuple(dict.fromkeys(ports))
    changed = changed_policies(before, after)
    if not changed or not before.pods:
        return Diff((), ports, len(before.pods), changed)
    m_before, m_after = matrix(before, ports), matrix(after, ports)
    joint = joint_classes(m_before, m_after)
    reps = tuple(after.pods[group[0]] for group in joint.members)
    refs = frozenset(changed)
    old = {p.ref: p for p in before.policies}
    new = {p.ref: p for p in after.policies}
    versions = [v for ref in changed for v in (old.get(ref), new.get(ref)) if v is not None]
    ingress, egress = affected(after, versions, joint)
    cells = _Cells(Sides(before, reps), Sides(after, reps), refs)
    for q in range(len(ports)):
        found = flips(m_before, m_after, joint, q, ingress, egress)
        for dst, (was, now) in found.columns.items():
            for kind, bits in ((ChangeKind.OPENED, now), (ChangeKind.CLOSED, was)):
                explained = cells.attribute(kind, PolicyType.INGRESS, dst, bits, q, ports)
                for src in bit_indices(bits & ~explained):
                    cells.attribute(kind, PolicyType.EGRESS, src, 1 << dst, q, ports)
        for src, (was, now) in found.rows.items():
            for kind, bits in ((ChangeKind.OPENED, now), (ChangeKind.CLOSED, was)):
                cells.attribute(kind, PolicyType.EGRESS, src, bits, q, ports)
    describer = Describer(after, joint, versions)
    changes = [
        _change(after, describer, ports, kind, cause, role, anchors, peers, port_set)
        for (kind, cause, role, anchors, peers, port_set) in _merge(cells.found)
    ]
    outside = representatives(versions)
    if outside and egress:
        towards = address_flips(cells.before, cells.after, egress, outside, ports, refs)
        changes += _address_changes(after, describer, ports, towards)
    outside = representatives(versions, PolicyType.INGRESS)
    if outside and ingress:
        inwards = address_flips(
            cells.before, cells.after, ingress, outside, ports, refs, PolicyType.INGRESS
        )
        changes += _address_changes(after, describer, ports, inwards, incoming=True)
    changes.sort(key=lambda c: (c.cause.policies, c.kind, c.destination_text, str(c.sources)))
    return Diff(tuple(changes), ports, len(after.pods), changed)


class _Cells:
    """Flipped cells by (kind, cause, anchor) and port, the peers as a bitset."""

    def __init__(self, before: Sides, after: Sides, changed: frozenset[PolicyRef]) -> None:
        self.before = before
        self.after = after
        self.changed = changed
        self.found: dict[_Key, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def attribute(
        self,
        kind: ChangeKind,
        direction: PolicyType,
        anchor: int,
        bits: int,
        q: int,
        ports: tuple[Port, ...],
    ) -> int:
        """Record the cells of ``bits`` that ``anchor``'s side explains; return those."""
        port = ports[q]
        before = self.before.side(anchor, direction, port.number, port.protocol)
        after = self.after.side(anchor, direction, port.number, port.protocol)
        role = "dst" if direction is PolicyType.INGRESS else "src"
        explained = 0
        for cause, part in attribute(bits, kind, before, after, direction, self.changed):
            if part:
                self.found[kind, cause, role, anchor][q] |= part
                explained |= part
        return explained


def _merge(
    cells: dict[_Key, dict[int, int]],
) -> list[tuple[ChangeKind, Cause, str, tuple[int, ...], int, tuple[int, ...]]]:
    """Rows: anchors sharing kind, cause, peers and ports are merged into one."""
    by_ports: dict[tuple[ChangeKind, Cause, str, int, int], list[int]] = defaultdict(list)
    for (kind, cause, role, anchor), per_port in cells.items():
        for port, peers in per_port.items():
            by_ports[kind, cause, role, anchor, peers].append(port)
    by_peers: dict[tuple[ChangeKind, Cause, str, int, tuple[int, ...]], list[int]] = defaultdict(
        list
    )
    for (kind, cause, role, anchor, peers), port_list in by_ports.items():
        by_peers[kind, cause, role, peers, tuple(sorted(port_list))].append(anchor)
    return [
        (kind, cause, role, tuple(anchors), peers, port_set)
        for (kind, cause, role, peers, port_set), anchors in by_peers.items()
    ]


def _change(
    after: ClusterState,
    describer: Describer,
    ports: tuple[Port, ...],
    kind: ChangeKind,
    cause: Cause,
    role: str,
    anchors: tuple[int, ...],
    peers: int,
    port_set: tuple[int, ...],
) -> Change:
    anchor_bits = 0
    for anchor in anchors:
        anchor_bits |= 1 << anchor
    src_bits, dst_bits = (peers, anchor_bits) if role == "dst" else (anchor_bits, peers)
    sources, destinations = describer.describe(src_bits), describer.describe(dst_bits)
    pairs = describer.count(src_bits) * describer.count(dst_bits) - describer.count(
        src_bits & dst_bits
    )
    src_pod, dst_pod = describer.example(src_bits, dst_bits)
    port = ports[port_set[0]]
    example = Connection(src_pod, dst_pod, port.number, port.protocol)
    explanation = tuple(str(reason) for reason in evaluate(example, after).reasons)
    return Change(
        kind,
        sources,
        destinations,
        tuple(ports[q] for q in port_set),
        cause,
        pairs,
        example,
        explanation,
    )


def _address_changes(
    after: ClusterState,
    describer: Describer,
    ports: tuple[Port, ...],
    found: dict[tuple[ChangeKind, Cause, IPAddress], dict[int, int]],
    incoming: bool = False,
) -> list[Change]:
    """Rows towards addresses (or from them, ``incoming``): pods sharing kind, cause,
    address and ports merged."""
    by_sources: dict[tuple[ChangeKind, Cause, IPAddress, int], list[int]] = defaultdict(list)
    for (kind, cause, address), per_port in found.items():
        for q, sources in per_port.items():
            by_sources[kind, cause, address, sources].append(q)
    changes = []
    for (kind, cause, address, sources), port_list in by_sources.items():
        pod = describer.pods_of(sources)[0].ref
        port = ports[min(port_list)]
        if incoming:
            example = Connection(address, pod, port.number, port.protocol)
        else:
            example = Connection(pod, address, port.number, port.protocol)
        explanation = tuple(str(reason) for reason in evaluate(example, after).reasons)
        pods = describer.describe(sources)
        changes.append(
            Change(
                kind,
                PodSet(()) if incoming else pods,
                pods if incoming else PodSet(()),
                tuple(ports[q] for q in sorted(port_list)),
                cause,
                describer.count(sources),
                example,
                explanation,
                address,
                from_address=incoming,
            )
        )
    return changes
