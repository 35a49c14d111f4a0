"""Choosing the expectations that pin today's behaviour, without the whole N² matrix.

For every rule of every policy: for each of its peer entries (and each of its port
entries) one connection the rule admits and the policies allow as a whole, then near
misses that must stay denied — the same pods on a port the rule does not admit, and a
pod just outside the rule's peers (same namespace first, most labels in common). For a
policy with no rules in a direction (a default deny), one denied connection across its
boundary. Verdicts come from the analyzer's matrix (pods without IPs, as a static check
sees them); candidates prefer pods already chosen, so the suite stays small.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address

from netprobe.analyzer import Matrix, evaluate, matrix, rule_port_matches
from netprobe.bitsets import bitset, lowest
from netprobe.model import (
    ClusterState,
    Connection,
    IPAddress,
    IPBlock,
    NetworkPolicy,
    Peer,
    Pod,
    PolicyPort,
    PolicyType,
    Port,
    Rule,
)

CANDIDATES = 200
"""At most this many peer pods are tried per rule, nearest first."""


@dataclass(slots=True)
class Pin:
    """One expectation and why it is in the suite."""

    source: Pod
    destination: Pod | IPAddress
    port: Port
    allowed: bool
    why: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[object, ...]:
        destination = (
            self.destination.ref if isinstance(self.destination, Pod) else self.destination
        )
        return (self.source.ref, destination, self.port)


@dataclass(frozen=True, slots=True)
class Selection:
    pins: tuple[Pin, ...]
    notes: tuple[str, ...]
    """Rules that could not be pinned, and why."""


def static_view(state: ClusterState) -> ClusterState:
    """The state as a static check sees it: pods without addresses."""
    pods = tuple(replace(pod, ips=()) for pod in state.pods)
    return state.replace(pods=pods)


class _Chooser:
    def __init__(self, state: ClusterState, ports: tuple[Port, ...]) -> None:
        self.state = state
        self.ports = ports
        self.matrix: Matrix = matrix(state, ports)
        self.index = {pod.ref: number for number, pod in enumerate(state.pods)}
        self.port_number = {port: q for q, port in enumerate(self.matrix.ports)}
        # Pods of one class are alike to every policy: one stands for each class.
        self.classes = self.matrix.index
        self.usable_bits = 0
        for number, pod in enumerate(self.classes.representatives):
            if not pod.host_network:
                self.usable_bits |= 1 << number
        self.number = {pod.ref: n for n, pod in enumerate(self.classes.representatives)}
        self.pins: dict[tuple[object, ...], Pin] = {}
        self.used_bits = 0
        """The classes whose representative a pin uses already."""
        self.notes: list[str] = []
        self._label_members: defaultdict[tuple[str, str], list[int]] | None = None
        self._label_bits: dict[tuple[str, str], int] = {}

    # -- verdicts --------------------------------------------------------------------
    def allowed(self, source: Pod, destination: Pod | IPAddress, port: Port) -> bool:
        if isinstance(destination, Pod):
            q = self.port_number[port]
            return self.matrix.allowed(self.index[source.ref], self.index[destination.ref], q)
        connection = Connection(source.ref, destination, port.number, port.protocol)
        return evaluate(connection, self.state).allowed

    def pin(self, pin: Pin) -> None:
        found = self.pins.setdefault(pin.key, pin)
        if found is not pin:
            found.why.extend(pin.why)
        for end in (pin.source, pin.destination):
            if isinstance(end, Pod):
                self.used_bits |= self.bit(end)

    def bit(self, pod: Pod) -> int:
        """The bit of the class ``pod`` represents (0 for a pod that represents none)."""
        number = self.number.get(pod.ref)
        return 0 if number is None else 1 << number

    # -- candidates ------------------------------------------------------------------
    def peer_bits(self, peer: Peer, namespace: str) -> int:
        """Classes a ``from``/``to`` entry of a policy in ``namespace`` selects."""
        index = self.classes
        if peer.ip_block is not None:
            return index.in_block(peer.ip_block)
        if peer.namespace_selector is None:
            bits = index.namespace_bits.get(namespace, 0)
        else:
            bits = index.namespaces_matching(peer.namespace_selector)
        if peer.pod_selector is not None:
            bits &= index.pods_matching(peer.pod_selector)
        return bits

    def rule_bits(self, rule: Rule, namespace: str) -> int:
        if not rule.peers:
            return self.classes.universe
        bits = 0
        for peer in rule.peers:
            bits |= self.peer_bits(peer, namespace)
        return bits

    def nearest(self, bits: int, anchor: Pod | None = None) -> list[Pod]:
        """Representatives of the usable classes in ``bits``: those chosen already first,
        then (with an anchor) same namespace and most labels in common, then state order;
        at most CANDIDATES."""
        bits &= self.usable_bits
        tiers = [bits]
        if anchor is not None:
            same = bits & self.classes.namespace_bits.get(anchor.namespace, 0)
            tiers = [
                level
                for part in (same, bits & ~same)
                for level in reversed(self._by_shared_labels(part, anchor))
            ]
        chosen: list[int] = []
        for tier in tiers:
            for part in (tier & self.used_bits, tier & ~self.used_bits):
                chosen += lowest(part, CANDIDATES - len(chosen))
        reps = self.classes.representatives
        return [reps[number] for number in chosen]

    def _by_shared_labels(self, bits: int, anchor: Pod) -> list[int]:
        """``bits`` split by how many labels its classes' representatives share with
        ``anchor`` (key and value): item ``n`` holds those sharing ``n``."""
        levels = [bits]
        for item in anchor.labels.items():
            having = self.label_bits(item)
            levels = [
                (level & ~having) | (levels[n - 1] & having if n else 0)
                for n, level in enumerate(levels)
            ] + [levels[-1] & having]
        return levels

    def label_bits(self, item: tuple[str, str]) -> int:
        """The classes whose representative carries the label ``item`` (key, value)."""
        if self._label_members is None:
            self._label_members = defaultdict(list)
            for number, pod in enumerate(self.classes.representatives):
                for label in pod.labels.items():
                    self._label_members[label].append(number)
        found = self._label_bits.get(item)
        if found is None:
            members = self._label_members.get(item, ())
            found = self._label_bits[item] = bitset(members, self.classes.count)
        return found

    def selected(self, policy: NetworkPolicy) -> list[Pod]:
        index = self.classes
        bits = index.pods_matching(policy.pod_selector) & index.namespace_bits.get(
            policy.namespace, 0
        )
        return self.nearest(bits)


def select(state: ClusterState, ports: tuple[Port, ...]) -> Selection:
    """The pins for every policy of ``state`` on ``ports`` (see the module docstring)."""
    chooser = _Chooser(static_view(state), ports)
    for policy in chooser.state.policies:
        for direction in policy.policy_types:
            _pin_policy(chooser, policy, direction)
    return Selection(tuple(chooser.pins.values()), tuple(chooser.notes))


def _label(policy: NetworkPolicy, direction: PolicyType, index: int | None = None) -> str:
    word = "ingress" if direction is PolicyType.INGRESS else "egress"
    return f"{policy.ref} {word}" + (f"[{index}]" if index is not None else "")


def _ends(direction: PolicyType, own: Pod, peer: Pod | IPAddress) -> tuple[Pod, Pod | IPAddress]:
    """(source, destination) of a connection between a selected pod and its peer."""
    if direction is PolicyType.INGRESS:
        assert isinstance(peer, Pod)
        return peer, own
    return own, peer


def _pin_policy(chooser: _Chooser, policy: NetworkPolicy, direction: PolicyType) -> None:
    own = chooser.selected(policy)
    if not own:
        chooser.notes.append(f"{_label(policy, direction)}: selects no pod; nothing to pin")
        return
    rules = policy.rules(direction)
    if not rules:
        _pin_default_deny(chooser, policy, direction, own)
    for index, rule in enumerate(rules):
        _pin_rule(chooser, policy, direction, index, rule, own)


def _pin_default_deny(
    chooser: _Chooser, policy: NetworkPolicy, direction: PolicyType, own: list[Pod]
) -> None:
    label = _label(policy, direction)
    for pod in own[:5]:
        for peer in chooser.nearest(chooser.usable_bits & ~chooser.bit(pod)):
            source, destination = _ends(direction, pod, peer)
            for port in chooser.ports:
                if not chooser.allowed(source, destination, port):
                    why = f"{label} isolates {pod.ref} (default deny): stays denied"
                    chooser.pin(Pin(source, destination, port, False, [why]))
                    return
    chooser.notes.append(f"{label}: every connection across it is allowed by other rules")


def _pin_rule(
    chooser: _Chooser,
    policy: NetworkPolicy,
    direction: PolicyType,
    index: int,
    rule: Rule,
    own: list[Pod],
) -> None:
    label = _label(policy, direction, index)
    entries: list[Peer | None] = list(rule.peers) or [None]
    pinned: Pin | None = None
    for number, peer in enumerate(entries):
        what = f"from/to[{number}]" if peer is not None else "any peer"
        if peer is not None and peer.ip_block is not None and direction is PolicyType.INGRESS:
            chooser.notes.append(
                f"{label} {what}: ipBlock sources are not pods, and probes start in pods"
            )
            continue
        found = _allowed_through(chooser, policy, direction, rule, own, peer)
        if found is None:
            chooser.notes.append(f"{label} {what}: no connection it admits is allowed as a whole")
            continue
        found.why.append(f"{label} admits it ({what})")
        chooser.pin(found)
        pinned = pinned or found
    for number, entry in enumerate(rule.ports):
        if pinned is not None and _admits((entry,), pinned.port, _receiver(pinned)):
            continue
        found = _allowed_through(chooser, policy, direction, replace(rule, ports=(entry,)), own)
        if found is not None:
            found.why.append(f"{label} admits it (ports[{number}] {entry})")
            chooser.pin(found)
    if pinned is not None:
        _near_misses(chooser, policy, direction, label, rule, pinned)


def _receiver(pin: Pin) -> Pod | None:
    return pin.destination if isinstance(pin.destination, Pod) else None


def _allowed_through(
    chooser: _Chooser,
    policy: NetworkPolicy,
    direction: PolicyType,
    rule: Rule,
    own: list[Pod],
    peer: Peer | None = None,
) -> Pin | None:
    """A connection ``rule`` (restricted to ``peer``) admits that is allowed as a whole."""
    others = list(_peers(chooser, policy, direction, rule, peer))
    admitted: dict[int, list[Port]] = {}  # id() of the receiving pod (or None) -> ports
    for pod in own[:5]:
        for other in others:
            if other is pod:
                continue
            source, destination = _ends(direction, pod, other)
            receiver = destination if isinstance(destination, Pod) else None
            ports = admitted.get(id(receiver))
            if ports is None:
                ports = admitted[id(receiver)] = [
                    port for port in chooser.ports if _admits(rule.ports, port, receiver)
                ]
            for port in ports:
                if chooser.allowed(source, destination, port):
                    return Pin(source, destination, port, True)
    return None


def _peers(
    chooser: _Chooser,
    policy: NetworkPolicy,
    direction: PolicyType,
    rule: Rule,
    peer: Peer | None,
) -> Iterator[Pod | IPAddress]:
    """The peers ``rule`` (restricted to ``peer``) admits: pods nearest first, or for an
    egress ipBlock, addresses inside it."""
    if peer is not None and peer.ip_block is not None:
        if direction is PolicyType.EGRESS:
            yield from _addresses_in(peer.ip_block)
        return
    if peer is None:
        bits = chooser.rule_bits(rule, policy.namespace)
    else:
        bits = chooser.peer_bits(peer, policy.namespace)
    yield from chooser.nearest(bits)


def _addresses_in(block: IPBlock) -> Iterator[IPAddress]:
    """An address or two inside ``block`` and outside its excepts (first hosts first)."""
    starts = [block.cidr.network_address, *(e.broadcast_address for e in block.except_)]
    for start in starts:
        address = _plus(start, 1)
        if address is not None and block.contains(address):
            yield address


def _plus(address: IPAddress, offset: int) -> IPAddress | None:
    try:
        value = int(address) + offset
        return IPv4Address(value) if address.version == 4 else IPv6Address(value)
    except ValueError:
        return None


def _near_misses(
    chooser: _Chooser,
    policy: NetworkPolicy,
    direction: PolicyType,
    label: str,
    rule: Rule,
    pinned: Pin,
) -> None:
    own = pinned.destination if direction is PolicyType.INGRESS else pinned.source
    other = pinned.source if direction is PolicyType.INGRESS else pinned.destination
    assert isinstance(own, Pod)
    receiver = _receiver(pinned)
    if rule.ports:
        for port in chooser.ports:
            if _admits(rule.ports, port, receiver):
                continue
            if not chooser.allowed(pinned.source, pinned.destination, port):
                why = f"near miss of {label}: {port} is not among its ports"
                chooser.pin(Pin(pinned.source, pinned.destination, port, False, [why]))
                break
    if rule.peers and isinstance(other, Pod):
        outside = chooser.classes.universe & ~chooser.rule_bits(rule, policy.namespace)
        outside &= ~chooser.bit(own) & ~chooser.bit(other)
        for pod in chooser.nearest(outside, anchor=other):
            source, destination = _ends(direction, own, pod)
            if not chooser.allowed(source, destination, pinned.port):
                why = f"near miss of {label}: {pod.ref} is outside its peers"
                chooser.pin(Pin(source, destination, pinned.port, False, [why]))
                break
    elif rule.peers:
        _near_miss_address(chooser, direction, label, rule, own, pinned)


def _near_miss_address(
    chooser: _Chooser, direction: PolicyType, label: str, rule: Rule, own: Pod, pinned: Pin
) -> None:
    blocks = [peer.ip_block for peer in rule.peers if peer.ip_block is not None]
    if direction is not PolicyType.EGRESS:
        return
    for block in blocks:
        tries = [_plus(e.network_address, 1) for e in block.except_]
        tries.append(_plus(block.cidr.broadcast_address, 1))
        for address in tries:
            if address is None or any(b.contains(address) for b in blocks):
                continue
            if not chooser.allowed(own, address, pinned.port):
                why = f"near miss of {label}: {address} is outside its ipBlocks"
                chooser.pin(Pin(own, address, pinned.port, False, [why]))
                return


def _admits(entries: Sequence[PolicyPort], port: Port, receiver: Pod | None) -> bool:
    return rule_port_matches(entries, port.number, port.protocol, receiver)
