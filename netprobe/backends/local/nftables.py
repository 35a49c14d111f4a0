"""NetworkPolicies compiled to one nftables ruleset per pod, for the local dataplane.

This is a second, independent implementation of docs/semantics.md: it must not import
:mod:`netprobe.analyzer`. When the analyzer and the enforced rules disagree, that is a real
finding about one of them, which is the point of having both.

Each pod gets ``table inet netprobe`` in its own network namespace: chain ``input`` is the
pod's ingress policy, chain ``output`` its egress policy. A chain drops by default only when
the pod is isolated for that direction; established/related traffic, loopback (a pod
reaching itself), the node's addresses and IPv6 neighbour discovery are always accepted.
Every rule of every policy that applies becomes ``accept`` statements: peers resolved to
sets of IPs (selectors against the current labels), ``ipBlock`` as a CIDR minus a set of
``except`` CIDRs, ports as per-protocol sets of numbers and ``endPort`` ranges. A named
port is resolved on the receiving pod: on the pod itself for ingress, per destination pod
for egress (``ip daddr . tcp dport`` pairs), so it never matches a non-pod address.

:func:`compile_ruleset` is pure and deterministic (sorted elements), and its text replaces
the table atomically: one ``nft -f`` transaction creates, deletes and redefines it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, collapse_addresses

from netprobe.model import (
    ClusterState,
    IPAddress,
    IPNetwork,
    NetworkPolicy,
    Peer,
    Pod,
    PodRef,
    PolicyType,
    Protocol,
    Rule,
)
from netprobe.selectors import LabelSelector

TABLE = "netprobe"

_ND_TYPES = "nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert"
_UNSAFE = re.compile(r"[^A-Za-z0-9_./:,\[\] -]")


@dataclass(frozen=True, slots=True)
class _Direction:
    """What differs between compiling ingress and egress."""

    type: PolicyType
    chain: str
    addr: str
    """``saddr`` (the peer sends, ingress) or ``daddr`` (the peer receives, egress)."""
    interface: str


_DIRECTIONS = (
    _Direction(PolicyType.INGRESS, "input", "saddr", "iif"),
    _Direction(PolicyType.EGRESS, "output", "daddr", "oif"),
)


def isolating_policies(pod: Pod, state: ClusterState, direction: PolicyType) -> list[NetworkPolicy]:
    """The policies that select ``pod`` and isolate it for ``direction``, sorted by ref."""
    return sorted(
        (
            policy
            for policy in state.policies
            if policy.namespace == pod.namespace
            and policy.isolates(direction)
            and policy.pod_selector.matches(pod.labels)
        ),
        key=lambda policy: policy.ref,
    )


def compile_rulesets(state: ClusterState, node_addresses: Sequence[IPAddress]) -> dict[PodRef, str]:
    """:func:`compile_ruleset` for every pod of ``state``, resolving each selector once."""
    resolver = _Resolver(state)
    return {pod.ref: compile_ruleset(pod, state, node_addresses, resolver) for pod in state.pods}


def compile_ruleset(
    pod: Pod,
    state: ClusterState,
    node_addresses: Sequence[IPAddress],
    resolver: _Resolver | None = None,
) -> str:
    """The nft transaction that (re)defines ``pod``'s ``table inet netprobe``."""
    resolver = resolver or _Resolver(state)
    lines = [f"table inet {TABLE} {{}}", f"delete table inet {TABLE}", f"table inet {TABLE} {{"]
    for index, direction in enumerate(_DIRECTIONS):
        if index:
            lines.append("")
        policies = isolating_policies(pod, state, direction.type)
        lines += _chain(pod, direction, policies, resolver, node_addresses)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _chain(
    pod: Pod,
    direction: _Direction,
    policies: Sequence[NetworkPolicy],
    resolver: _Resolver,
    node_addresses: Sequence[IPAddress],
) -> list[str]:
    hook = f"type filter hook {direction.chain} priority filter"
    if not policies:
        return [f"\tchain {direction.chain} {{", f"\t\t{hook}; policy accept;", "\t}"]
    body = [
        "ct state established,related accept",
        f'{direction.interface} "lo" accept',
        f"icmpv6 type {{ {_ND_TYPES} }} accept",
    ]
    body += [
        f"{_family(ip)} {direction.addr} {ip} accept" for ip in sorted(node_addresses, key=_ip_key)
    ]
    for policy in policies:
        for number, rule in enumerate(policy.rules(direction.type)):
            comment = _comment(f"{policy.ref} {direction.type.value.lower()}[{number}]")
            for statement in _rule(pod, policy, rule, direction, resolver):
                body.append(f'{statement} accept comment "{comment}"'.lstrip())
    header = _comment(", ".join(str(policy.ref) for policy in policies))
    return [
        f"\tchain {direction.chain} {{",
        f"\t\t{hook}; policy drop;",
        f"\t\t# isolated for {direction.type.value} by {header}",
        *(f"\t\t{line}" for line in body),
        "\t}",
    ]


def _rule(
    pod: Pod, policy: NetworkPolicy, rule: Rule, direction: _Direction, resolver: _Resolver
) -> list[str]:
    """The match expressions (each followed by ``accept``) that one rule allows."""
    peers = _peer_matches(policy, rule, direction, resolver)
    numbered: list[tuple[Protocol, int | None, int | None]] = []
    named: list[tuple[Protocol, str]] = []
    for entry in rule.ports:
        if isinstance(entry.port, str):
            if direction.type is PolicyType.INGRESS:
                number = pod.named_port(entry.port, entry.protocol)
                if number is not None:
                    numbered.append((entry.protocol, number, number))
            else:
                named.append((entry.protocol, entry.port))
        elif entry.port is None:
            numbered.append((entry.protocol, None, None))
        else:
            numbered.append((entry.protocol, entry.port, entry.end_port or entry.port))
    ports = _port_matches(numbered) if rule.ports else [""]
    statements = [
        " ".join(part for part in (peer, port) if part) for peer in peers for port in ports
    ]
    if named:
        statements += _named_egress(policy, rule, named, resolver)
    return statements


def _peer_matches(
    policy: NetworkPolicy, rule: Rule, direction: _Direction, resolver: _Resolver
) -> list[str]:
    if not rule.peers:
        return [""]
    matches: list[str] = []
    selected: set[IPAddress] = set()
    for peer in rule.peers:
        if peer.ip_block is None:
            selected.update(pod.ip for pod in resolver.pods(policy, peer) if pod.ip is not None)
    matches += _ip_sets(direction.addr, selected)
    for peer in rule.peers:
        block = peer.ip_block
        if block is None:
            continue
        family = _family(block.cidr)
        text = f"{family} {direction.addr} {block.cidr}"
        excepts = [net for net in block.except_ if net.version == block.cidr.version]
        if excepts:
            text += f" {family} {direction.addr} != {{ {', '.join(_collapse(excepts))} }}"
        matches.append(text)
    return matches


def _port_matches(numbered: Sequence[tuple[Protocol, int | None, int | None]]) -> list[str]:
    whole: set[Protocol] = {protocol for protocol, start, _ in numbered if start is None}
    ranges: dict[Protocol, list[tuple[int, int]]] = defaultdict(list)
    for protocol, start, end in numbered:
        if start is not None and end is not None and protocol not in whole:
            ranges[protocol].append((start, end))
    matches = [f"meta l4proto {protocol.value.lower()}" for protocol in sorted(whole)]
    for protocol in sorted(ranges):
        elements = ", ".join(_port_text(a, b) for a, b in _merge(ranges[protocol]))
        matches.append(f"{protocol.value.lower()} dport {{ {elements} }}")
    return matches


def _named_egress(
    policy: NetworkPolicy, rule: Rule, named: Sequence[tuple[Protocol, str]], resolver: _Resolver
) -> list[str]:
    """Egress to named ports: (destination pod IP, that pod's port number) pairs."""
    destinations = resolver.destinations(policy, rule)
    pairs: dict[tuple[str, Protocol], set[tuple[IPAddress, int]]] = defaultdict(set)
    for protocol, name in named:
        for pod in destinations:
            number = pod.named_port(name, protocol)
            if number is not None and pod.ip is not None:
                pairs[(_family(pod.ip), protocol)].add((pod.ip, number))
    statements = []
    for (family, protocol), elements in sorted(pairs.items()):
        proto = protocol.value.lower()
        text = ", ".join(f"{ip} . {port}" for ip, port in sorted(elements, key=_pair_key))
        statements.append(f"{family} daddr . {proto} dport {{ {text} }}")
    return statements


class _Resolver:
    """Selectors resolved against one snapshot (namespace matches cached per selector)."""

    def __init__(self, state: ClusterState) -> None:
        self._state = state
        self._cache: dict[tuple[str, LabelSelector | None, LabelSelector | None], list[Pod]] = {}
        self._namespace_labels = {
            pod.namespace: state.namespace_labels(pod.namespace) for pod in state.pods
        }

    def pods(self, policy: NetworkPolicy, peer: Peer) -> list[Pod]:
        """The pods a selector peer of ``policy`` matches (docs/semantics.md rules 9-11)."""
        key = (policy.namespace, peer.pod_selector, peer.namespace_selector)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._match(policy.namespace, peer)
        return found

    def _match(self, policy_namespace: str, peer: Peer) -> list[Pod]:
        if peer.namespace_selector is None:
            namespaces = {policy_namespace}
        else:
            selector = peer.namespace_selector
            namespaces = {
                ns for ns, labels in self._namespace_labels.items() if selector.matches(labels)
            }
        pod_selector = peer.pod_selector
        return [
            pod
            for pod in self._state.pods
            if pod.namespace in namespaces
            and (pod_selector is None or pod_selector.matches(pod.labels))
        ]

    def destinations(self, policy: NetworkPolicy, rule: Rule) -> list[Pod]:
        """Every pod some peer of ``rule`` matches, ipBlocks included (by pod IP)."""
        if not rule.peers:
            return list(self._state.pods)
        found: dict[object, Pod] = {}
        for peer in rule.peers:
            if peer.ip_block is None:
                found.update((pod.ref, pod) for pod in self.pods(policy, peer))
            else:
                block = peer.ip_block
                found.update(
                    (pod.ref, pod)
                    for pod in self._state.pods
                    if pod.ip is not None and block.contains(pod.ip)
                )
        return list(found.values())


def _ip_sets(addr: str, addresses: Iterable[IPAddress]) -> list[str]:
    by_family: dict[str, list[IPAddress]] = defaultdict(list)
    for ip in addresses:
        by_family[_family(ip)].append(ip)
    return [
        f"{family} {addr} {{ {', '.join(str(ip) for ip in sorted(ips, key=_ip_key))} }}"
        for family, ips in sorted(by_family.items())
    ]


def _collapse(networks: Sequence[IPNetwork]) -> list[str]:
    """Networks of one family with overlaps merged (nft rejects overlapping elements)."""
    v4 = [net for net in networks if isinstance(net, IPv4Network)]
    v6 = [net for net in networks if isinstance(net, IPv6Network)]
    return [str(net) for net in (*collapse_addresses(v4), *collapse_addresses(v6))]


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or adjacent port ranges merged (nft rejects overlapping set elements)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _port_text(start: int, end: int) -> str:
    return str(start) if start == end else f"{start}-{end}"


def _family(address: IPAddress | IPNetwork) -> str:
    return "ip" if address.version == 4 else "ip6"


def _ip_key(ip: IPAddress) -> tuple[int, int]:
    return (ip.version, int(ip))


def _pair_key(pair: tuple[IPAddress, int]) -> tuple[int, int, int]:
    return (pair[0].version, int(pair[0]), pair[1])


def _comment(text: str) -> str:
    """Text safe inside an nft quoted comment (names come from user manifests)."""
    return _UNSAFE.sub("?", text)[:120]
