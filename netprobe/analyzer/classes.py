"""Pods that no policy can tell apart, grouped into classes, and bitsets over the classes.

The matrix is quadratic in pods, so it is computed over *classes* of pods instead: two pods
fall in the same class when they share a namespace, the values of every label key some
selector looks at (other values collapse into one), the set of ipBlocks their IP falls in,
the numbers of the named ports some policy uses (restricted to the queried ports), and
hostNetwork. Every selector, ipBlock and named port then evaluates to a set of classes,
held as a Python int used as a bitset (bit ``c`` = class ``c``): AND/OR of a few thousand
bits is one C loop.

This module only groups and indexes; what is allowed is decided in :mod:`.matrix`.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple, TypeVar

from netprobe.analyzer.peers import pod_addresses
from netprobe.bitsets import bitset
from netprobe.model import (
    ClusterState,
    IPBlock,
    IPNetwork,
    NetworkPolicy,
    Pod,
    PolicyPort,
    Port,
    Protocol,
)
from netprobe.selectors import LabelSelector, Operator

_OTHER = "\0other"
"""Stands for every label value no selector names (they all match alike)."""

NamedSignature = tuple[tuple[str, Protocol, int], ...]

K = TypeVar("K")


class _ClassKey(NamedTuple):
    namespace: str
    labels: tuple[tuple[str, str], ...]
    blocks: frozenset[int]
    named: NamedSignature
    host_network: bool


def _bitsets(members_of: dict[K, list[int]], size: int) -> defaultdict[K, int]:
    return defaultdict(int, {key: bitset(members, size) for key, members in members_of.items()})


class ClassIndex:
    """The classes of a snapshot's pods and memoized selector -> class-bitset lookups."""

    __slots__ = (
        "_block_bits",
        "_ns_key_bits",
        "_ns_kv_bits",
        "_ns_selected",
        "_pod_key_bits",
        "_pod_kv_bits",
        "_pod_selected",
        "class_of",
        "members",
        "named_bits",
        "named_signatures",
        "namespace_bits",
        "representatives",
        "universe",
    )

    def __init__(self, state: ClusterState, ports: Iterable[Port]) -> None:
        pods = state.pods
        relevant = _relevant_label_values(state)
        blocks = _ip_blocks(state)
        named = _named_ports(state)
        query = set(ports)
        block_sets = _ip_block_membership(pods, blocks)
        grouped: dict[_ClassKey, list[int]] = defaultdict(list)
        for index, pod in enumerate(pods):
            key = _ClassKey(
                pod.namespace,
                _project(pod, relevant),
                block_sets[index],
                _named_signature(pod, named, query),
                pod.host_network,
            )
            grouped[key].append(index)
        # Each namespace's classes are numbered together, so that what a namespace's
        # policies select is a short run of bits (see ``reachability``).
        keys = sorted(grouped, key=lambda key: key.namespace)
        members = [grouped[key] for key in keys]
        class_of = [0] * len(pods)
        for number, group in enumerate(members):
            for index in group:
                class_of[index] = number
        self.class_of = tuple(class_of)
        self.members = tuple(tuple(group) for group in members)
        self.representatives = tuple(pods[group[0]] for group in members)
        self.universe = (1 << len(members)) - 1
        in_namespace: dict[str, list[int]] = defaultdict(list)
        pod_kv: dict[tuple[str, str], list[int]] = defaultdict(list)
        pod_key: dict[str, list[int]] = defaultdict(list)
        in_block: dict[IPBlock, list[int]] = defaultdict(list)
        named_as: dict[tuple[str, Protocol, int], list[int]] = defaultdict(list)
        for number, key in enumerate(keys):
            in_namespace[key.namespace].append(number)
            for label_key, value in key.labels:
                pod_kv[label_key, value].append(number)
                pod_key[label_key].append(number)
            for block_id in key.blocks:
                in_block[blocks[block_id]].append(number)
            for entry in key.named:
                named_as[entry].append(number)
        self.namespace_bits: dict[str, int] = _bitsets(in_namespace, len(members))
        self._pod_kv_bits: dict[tuple[str, str], int] = _bitsets(pod_kv, len(members))
        self._pod_key_bits: dict[str, int] = _bitsets(pod_key, len(members))
        self._block_bits: dict[IPBlock, int] = _bitsets(in_block, len(members))
        self.named_bits: dict[tuple[str, Protocol, int], int] = _bitsets(named_as, len(members))
        self._ns_kv_bits: dict[tuple[str, str], int] = defaultdict(int)
        self._ns_key_bits: dict[str, int] = defaultdict(int)
        self.named_signatures = tuple(key.named for key in keys)
        for namespace, bits in self.namespace_bits.items():
            for label_key, value in state.namespace_labels(namespace).items():
                self._ns_kv_bits[label_key, value] |= bits
                self._ns_key_bits[label_key] |= bits
        self._pod_selected: dict[LabelSelector, int] = {}
        self._ns_selected: dict[LabelSelector, int] = {}

    @property
    def count(self) -> int:
        return len(self.members)

    def pods_matching(self, selector: LabelSelector) -> int:
        """Classes whose pod labels match ``selector`` (in any namespace)."""
        found = self._pod_selected.get(selector)
        if found is None:
            found = self._pod_selected[selector] = self._select(
                selector, self._pod_kv_bits, self._pod_key_bits
            )
        return found

    def namespaces_matching(self, selector: LabelSelector) -> int:
        """Classes whose namespace's labels match ``selector``."""
        found = self._ns_selected.get(selector)
        if found is None:
            found = self._ns_selected[selector] = self._select(
                selector, self._ns_kv_bits, self._ns_key_bits
            )
        return found

    def in_block(self, block: IPBlock) -> int:
        """Classes whose pods' IP lies in ``block`` (never a pod without an IP)."""
        return self._block_bits.get(block, 0)

    def _select(
        self,
        selector: LabelSelector,
        kv_bits: dict[tuple[str, str], int],
        key_bits: dict[str, int],
    ) -> int:
        return select(selector, kv_bits, key_bits, self.universe)


def select(
    selector: LabelSelector,
    kv_bits: dict[tuple[str, str], int],
    key_bits: dict[str, int],
    universe: int,
) -> int:
    """The members of ``universe`` whose labels match ``selector``, given the members having
    each label key/value (``kv_bits``) and each key (``key_bits``)."""
    bits = universe
    for key, value in selector.match_labels.items():
        bits &= kv_bits.get((key, value), 0)
    for requirement in selector.match_expressions:
        key = requirement.key
        if requirement.operator in (Operator.IN, Operator.NOT_IN):
            having = 0
            for value in requirement.values:
                having |= kv_bits.get((key, value), 0)
            bits = bits & having if requirement.operator is Operator.IN else bits & ~having
        elif requirement.operator is Operator.EXISTS:
            bits &= key_bits.get(key, 0)
        else:
            bits &= ~key_bits.get(key, 0)
    return bits


def pod_selectors(policies: Iterable[NetworkPolicy]) -> Iterable[LabelSelector]:
    """Every selector over pod labels in ``policies``."""
    for policy in policies:
        yield policy.pod_selector
        for rule in (*policy.ingress, *policy.egress):
            for peer in rule.peers:
                if peer.pod_selector is not None:
                    yield peer.pod_selector


def selector_keys(selector: LabelSelector | None) -> tuple[str, ...]:
    """The label keys ``selector`` looks at, in its order."""
    if selector is None:
        return ()
    keys = dict.fromkeys(selector.match_labels)
    keys.update(dict.fromkeys(requirement.key for requirement in selector.match_expressions))
    return tuple(keys)


def relevant_keys(policies: Iterable[NetworkPolicy]) -> frozenset[str]:
    """The pod label keys some selector of ``policies`` looks at."""
    return frozenset(key for selector in pod_selectors(policies) for key in selector_keys(selector))


def _relevant_label_values(state: ClusterState) -> dict[str, set[str]]:
    relevant: dict[str, set[str]] = defaultdict(set)
    for selector in pod_selectors(state.policies):
        for key, value in selector.match_labels.items():
            relevant[key].add(value)
        for requirement in selector.match_expressions:
            relevant[requirement.key].update(requirement.values)
    return relevant


def _project(pod: Pod, relevant: dict[str, set[str]]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (key, value if value in relevant[key] else _OTHER)
        for key, value in pod.labels.items()
        if key in relevant
    )


def _ip_blocks(state: ClusterState) -> list[IPBlock]:
    seen: dict[IPBlock, None] = {}
    for policy in state.policies:
        for rule in (*policy.ingress, *policy.egress):
            for peer in rule.peers:
                if peer.ip_block is not None:
                    seen.setdefault(peer.ip_block, None)
    return list(seen)


def _ip_block_membership(pods: Sequence[Pod], blocks: Sequence[IPBlock]) -> list[frozenset[int]]:
    """For each pod, the indices of the ipBlocks one of its addresses falls in (found by
    bisection over the sorted addresses)."""
    found: list[set[int]] = [set() for _ in pods]
    located = sorted(
        ((address.version, int(address)), index)
        for index, pod in enumerate(pods)
        for address in pod_addresses(pod)
    )
    positions = [position for position, _ in located]

    def span(network: IPNetwork) -> tuple[int, int]:
        low = (network.version, int(network.network_address))
        high = (network.version, int(network.broadcast_address))
        return bisect.bisect_left(positions, low), bisect.bisect_right(positions, high)

    for block_id, block in enumerate(blocks):
        low, high = span(block.cidr)
        excluded: set[int] = set()
        for network in block.except_:
            ex_low, ex_high = span(network)
            excluded.update(range(ex_low, ex_high))
        for position in range(low, high):
            if position not in excluded:
                found[located[position][1]].add(block_id)
    return [frozenset(ids) for ids in found]


def _named_ports(state: ClusterState) -> set[tuple[str, Protocol]]:
    names: set[tuple[str, Protocol]] = set()
    for policy in state.policies:
        for rule in (*policy.ingress, *policy.egress):
            names.update(_port_names(rule.ports))
    return names


def _port_names(entries: Sequence[PolicyPort]) -> Iterable[tuple[str, Protocol]]:
    for entry in entries:
        if isinstance(entry.port, str):
            yield entry.port, entry.protocol


def _named_signature(
    pod: Pod, named: set[tuple[str, Protocol]], query: set[Port]
) -> NamedSignature:
    """The named ports of ``pod`` that some policy uses and that resolve to a queried port."""
    if not named or not pod.ports:
        return ()
    signature = []
    for name, protocol in sorted(named):
        number = pod.named_port(name, protocol)
        if number is not None and Port(number, protocol) in query:
            signature.append((name, protocol, number))
    return tuple(signature)
