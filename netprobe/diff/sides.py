"""Why a flipped cell flipped: which rule of which changed policy admits (or admitted) it.

For one pod and one direction, a :class:`Side` lists the policies isolating the pod and,
per rule, the joint classes on the other end that the rule admits on a port. Cells are
then attributed to causes with bitset arithmetic, a few rules at a time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from netprobe.analyzer import (
    peer_matches,
    peer_namespace_matches,
    pod_addresses,
    rule_port_matches,
    selector_keys,
)
from netprobe.bitsets import bitset
from netprobe.diff.model import Cause, CauseKind, ChangeKind
from netprobe.model import (
    ClusterState,
    ContainerPort,
    NetworkPolicy,
    Peer,
    Pod,
    PolicyRef,
    PolicyType,
    Protocol,
    Rule,
)


@dataclass(frozen=True, slots=True)
class Side:
    isolating: tuple[NetworkPolicy, ...]
    rules: tuple[tuple[NetworkPolicy, int, Rule, int], ...]
    """(policy, rule index, rule, joint classes the rule admits)."""
    admitted: int


class Sides:
    """Memoized sides of one state's pods, over joint-class representatives."""

    def __init__(self, state: ClusterState, representatives: tuple[Pod, ...]) -> None:
        self.state = state
        self.reps = representatives
        self.universe = (1 << len(representatives)) - 1
        self._by_namespace: dict[str, list[NetworkPolicy]] = defaultdict(list)
        for policy in state.policies:
            self._by_namespace[policy.namespace].append(policy)
        self._reps_in: dict[str, list[int]] = defaultdict(list)
        for number, rep in enumerate(representatives):
            self._reps_in[rep.namespace].append(number)
        self._port_sets: dict[tuple[ContainerPort, ...], list[int]] = defaultdict(list)
        for number, rep in enumerate(representatives):
            self._port_sets[rep.ports].append(number)
        self._by_address = sorted(
            (ip.version, int(ip), number)
            for number, rep in enumerate(representatives)
            for ip in pod_addresses(rep)
        )
        self._peers: dict[tuple[int, str], int] = {}
        self._receivers: dict[tuple[int, int, Protocol], int] = {}
        self._sides: dict[tuple[int, PolicyType, int, Protocol], Side] = {}

    def side(self, number: int, direction: PolicyType, port: int, protocol: Protocol) -> Side:
        key = (number, direction, port, protocol)
        found = self._sides.get(key)
        if found is None:
            found = self._sides[key] = self._side(number, direction, port, protocol)
        return found

    def _side(self, number: int, direction: PolicyType, port: int, protocol: Protocol) -> Side:
        pod = self.reps[number]
        isolating = tuple(
            policy
            for policy in self._by_namespace.get(pod.namespace, ())
            if policy.isolates(direction) and policy.pod_selector.matches(pod.labels)
        )
        rules = []
        admitted = 0 if isolating else self.universe
        for policy in isolating:
            for index, rule in enumerate(policy.rules(direction)):
                if direction is PolicyType.INGRESS:
                    ports_ok = rule_port_matches(rule.ports, port, protocol, pod)
                    bits = self._peer_bits(rule, policy.namespace) if ports_ok else 0
                else:
                    bits = self._peer_bits(rule, policy.namespace) & self._receiver_bits(
                        rule, port, protocol
                    )
                rules.append((policy, index, rule, bits))
                admitted |= bits
        return Side(isolating, tuple(rules), admitted)

    def _peer_bits(self, rule: Rule, namespace: str) -> int:
        key = (id(rule), namespace)
        found = self._peers.get(key)
        if found is None:
            if not rule.peers:
                found = self.universe
            else:
                found = 0
                for peer in rule.peers:
                    found |= self._peer(peer, namespace)
            self._peers[key] = found
        return found

    def _peer(self, peer: Peer, namespace: str) -> int:
        """The representatives ``peer`` matches; an ipBlock only looks at the pods with an
        address in its CIDR, a selector entry into the namespaces it reaches."""
        reps, state = self.reps, self.state
        if peer.ip_block is not None:
            cidr = peer.ip_block.cidr
            low = bisect_left(self._by_address, (cidr.version, int(cidr.network_address)))
            high = bisect_right(
                self._by_address, (cidr.version, int(cidr.broadcast_address), len(reps))
            )
            return bitset(
                (
                    number
                    for _, _, number in self._by_address[low:high]
                    if peer_matches(peer, namespace, reps[number], state)
                ),
                len(reps),
            )
        # A selector entry sees a pod's namespace and the labels its podSelector names:
        # pods alike in those are judged once.
        keys = selector_keys(peer.pod_selector)
        judged: dict[tuple[str | None, ...], bool] = {}
        found = []
        for name, numbers in self._reps_in.items():
            if not peer_namespace_matches(peer, namespace, name, state):
                continue
            for number in numbers:
                labels = reps[number].labels
                seen = (name, *(labels.get(key) for key in keys))
                matches = judged.get(seen)
                if matches is None:
                    matches = judged[seen] = peer_matches(peer, namespace, reps[number], state)
                if matches:
                    found.append(number)
        return bitset(found, len(reps))

    def _receiver_bits(self, rule: Rule, port: int, protocol: Protocol) -> int:
        """Destinations on which ``rule``'s ports admit ``port`` (named ports resolve there,
        so pods declaring the same container ports are alike)."""
        key = (id(rule), port, protocol)
        found = self._receivers.get(key)
        if found is None:
            if not any(isinstance(entry.port, str) for entry in rule.ports):
                found = self.universe if rule_port_matches(rule.ports, port, protocol, None) else 0
            else:
                found = bitset(
                    (
                        number
                        for numbers in self._port_sets.values()
                        if rule_port_matches(rule.ports, port, protocol, self.reps[numbers[0]])
                        for number in numbers
                    ),
                    len(self.reps),
                )
            self._receivers[key] = found
        return found


def attribute(
    bits: int,
    kind: ChangeKind,
    before: Side,
    after: Side,
    direction: PolicyType,
    changed: frozenset[PolicyRef],
) -> Iterator[tuple[Cause, int]]:
    """Split the flipped cells ``bits`` that this side explains among their causes.

    Cells this side does not explain (the other end's side flipped) are not yielded.
    """
    if kind is ChangeKind.OPENED:
        remaining = bits & ~before.admitted & after.admitted
        if not after.isolating:
            yield _isolation(CauseKind.LIFTED, before.isolating, direction, changed), remaining
            return
        side = after
    else:
        remaining = bits & before.admitted & ~after.admitted
        if not before.isolating:
            yield _isolation(CauseKind.ISOLATED, after.isolating, direction, changed), remaining
            return
        side = before
    ordered = sorted(side.rules, key=lambda entry: entry[0].ref not in changed)
    for policy, index, rule, admitted in ordered:
        part = remaining & admitted
        if part:
            location = rule.location or policy.location
            yield Cause(CauseKind.RULE, direction, (policy.ref,), index, location), part
            remaining &= ~part
        if not remaining:
            return
    if remaining:
        refs = tuple(sorted(ref for ref in changed))
        yield Cause(CauseKind.OTHER, direction, refs), remaining


def _isolation(
    kind: CauseKind,
    policies: tuple[NetworkPolicy, ...],
    direction: PolicyType,
    changed: frozenset[PolicyRef],
) -> Cause:
    refs = tuple(p.ref for p in policies if p.ref in changed) or tuple(p.ref for p in policies)
    location = next((p.location for p in policies if p.ref in changed), None)
    return Cause(kind, direction, refs, None, location)
