"""Connections between pods and addresses outside the pods that a change opens or closes.

The matrices only hold pods, so addresses are judged apart: a few representative
addresses — inside and in the ``except`` of each ipBlock of a changed policy, and one
documentation address standing for "the outside world" when a changed policy isolates
the direction — from each source class whose egress the change touches (towards the
address), and to each destination class whose ingress it touches (from the address).
Only the pod's side decides such a connection (docs/semantics.md rule 7).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from ipaddress import IPv4Address, IPv6Address

from netprobe.analyzer import rule_peer_matches, rule_port_matches
from netprobe.bitsets import bit_indices
from netprobe.diff.model import OUTSIDE, Cause, CauseKind, ChangeKind
from netprobe.diff.sides import Side, Sides
from netprobe.model import IPAddress, NetworkPolicy, Pod, PolicyRef, PolicyType, Port, Protocol

_Key = tuple[ChangeKind, Cause, IPAddress]


def representatives(
    policies: Iterable[NetworkPolicy], direction: PolicyType = PolicyType.EGRESS
) -> tuple[IPAddress, ...]:
    """Addresses worth judging for a change of ``policies`` in ``direction``, in a stable
    order."""
    found: dict[IPAddress, None] = {}
    for policy in policies:
        if policy.isolates(direction):
            found.setdefault(OUTSIDE, None)
        for rule in policy.rules(direction):
            for peer in rule.peers:
                block = peer.ip_block
                if block is None:
                    continue
                for start in (
                    block.cidr.network_address,
                    *(e.network_address for e in block.except_),
                ):
                    address = _next(start)
                    if address is not None:
                        found.setdefault(address, None)
    return tuple(found)


def _next(address: IPAddress) -> IPAddress | None:
    try:
        value = int(address) + 1
        return IPv4Address(value) if address.version == 4 else IPv6Address(value)
    except ValueError:
        return None


def flips(
    before: Sides,
    after: Sides,
    sources: int,
    addresses: Sequence[IPAddress],
    ports: Sequence[Port],
    changed: frozenset[PolicyRef],
    direction: PolicyType = PolicyType.EGRESS,
) -> dict[_Key, dict[int, int]]:
    """(kind, cause, address) -> port index -> the pod classes (``sources``: the sources
    for egress, the destinations for ingress) whose verdict flipped."""
    found: dict[_Key, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    pods = {ip for pod in after.state.pods for ip in pod.ips}
    for address in addresses:
        if address in pods:
            continue
        for q, query in enumerate(ports):
            port, protocol = query.number, query.protocol
            for source in bit_indices(sources):
                was = before.side(source, direction, port, protocol)
                now = after.side(source, direction, port, protocol)
                # a named port resolves on the receiving pod: the anchor, for ingress
                receiving = after.reps[source] if direction is PolicyType.INGRESS else None
                old = list(_admitting(before, was, address, port, protocol, receiving))
                new = list(_admitting(after, now, address, port, protocol, receiving))
                allowed_before = not was.isolating or bool(old)
                allowed_after = not now.isolating or bool(new)
                if allowed_before == allowed_after:
                    continue
                kind = ChangeKind.OPENED if allowed_after else ChangeKind.CLOSED
                cause = _cause(kind, was, now, old, new, changed, direction)
                found[kind, cause, address][q] |= 1 << source
    return found


def _admitting(
    sides: Sides,
    side: Side,
    address: IPAddress,
    port: int,
    protocol: Protocol,
    receiving: Pod | None,
) -> Iterator[tuple[NetworkPolicy, int]]:
    for policy, index, rule, _ in side.rules:
        if rule_peer_matches(rule, policy.namespace, address, sides.state) and rule_port_matches(
            rule.ports,
            port,
            protocol,
            receiving,
        ):
            yield policy, index


def _cause(
    kind: ChangeKind,
    before: Side,
    after: Side,
    old: list[tuple[NetworkPolicy, int]],
    new: list[tuple[NetworkPolicy, int]],
    changed: frozenset[PolicyRef],
    direction: PolicyType,
) -> Cause:
    if kind is ChangeKind.OPENED and not after.isolating:
        refs = tuple(p.ref for p in before.isolating if p.ref in changed)
        return Cause(CauseKind.LIFTED, direction, refs or tuple(p.ref for p in before.isolating))
    if kind is ChangeKind.CLOSED and not before.isolating:
        refs = tuple(p.ref for p in after.isolating if p.ref in changed)
        where = next((p.location for p in after.isolating if p.ref in changed), None)
        return Cause(
            CauseKind.ISOLATED,
            direction,
            refs or tuple(p.ref for p in after.isolating),
            None,
            where,
        )
    admitting = new if kind is ChangeKind.OPENED else old
    admitting.sort(key=lambda entry: entry[0].ref not in changed)
    if admitting:
        policy, index = admitting[0]
        rule = policy.rules(direction)[index]
        return Cause(
            CauseKind.RULE, direction, (policy.ref,), index, rule.location or policy.location
        )
    return Cause(CauseKind.OTHER, direction, tuple(sorted(changed)))
