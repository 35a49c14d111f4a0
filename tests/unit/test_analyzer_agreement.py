"""``matrix`` and ``evaluate`` must agree on every cell: random snapshots, seeded.

The generator draws from small vocabularies on purpose, so that selectors, ipBlocks
(IPv4 and IPv6, with except), named ports, endPort ranges and protocols collide often.
"""

from __future__ import annotations

import random
from ipaddress import ip_address, ip_network

import pytest

from netprobe.analyzer import evaluate, matrix
from netprobe.model import (
    NAMESPACE_NAME_LABEL,
    ClusterState,
    Connection,
    ContainerPort,
    IPBlock,
    Namespace,
    NetworkPolicy,
    Peer,
    Pod,
    PodRef,
    PolicyPort,
    PolicyRef,
    PolicyType,
    Port,
    Protocol,
    Rule,
)
from netprobe.selectors import Labels, LabelSelector, Operator, Requirement

NAMESPACES = ("a", "b", "c")
KEYS = ("app", "tier", "team")
VALUES = ("x", "y", "z")
PROTOCOLS = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)
QUERY = (Port(80), Port(81), Port(53, Protocol.UDP), Port(80, Protocol.SCTP))
NAMES = ("http", "dns", "alt")


def _labels(rng: random.Random) -> Labels:
    return Labels({k: rng.choice(VALUES) for k in KEYS if rng.random() < 0.6})


def _selector(rng: random.Random) -> LabelSelector:
    match = {k: rng.choice(VALUES) for k in KEYS if rng.random() < 0.25}
    expressions = []
    for _ in range(rng.choice((0, 0, 1, 2))):
        op = rng.choice(list(Operator))
        values = (
            frozenset(rng.sample(VALUES, rng.randint(1, 2)))
            if op in (Operator.IN, Operator.NOT_IN)
            else frozenset()
        )
        expressions.append(Requirement(rng.choice(KEYS), op, values))
    return LabelSelector(Labels(match), tuple(expressions))


def _ns_selector(rng: random.Random) -> LabelSelector:
    if rng.random() < 0.3:
        op = rng.choice((Operator.IN, Operator.NOT_IN))
        values = frozenset(rng.sample(NAMESPACES, 2))
        return LabelSelector(Labels(), (Requirement(NAMESPACE_NAME_LABEL, op, values),))
    return _selector(rng)


def _block(rng: random.Random) -> IPBlock:
    if rng.random() < 0.3:
        return IPBlock(ip_network("fd00::/120"), (ip_network("fd00::/126"),) * rng.randint(0, 1))
    cidr = ip_network(rng.choice(("10.0.0.0/24", "10.0.0.0/28", "10.0.0.16/28", "0.0.0.0/0")))
    excepts = (ip_network("10.0.0.0/30"),) if rng.random() < 0.5 and cidr.prefixlen < 30 else ()
    return IPBlock(cidr, excepts)


def _peer(rng: random.Random) -> Peer:
    kind = rng.randrange(4)
    if kind == 0:
        return Peer(ip_block=_block(rng))
    if kind == 1:
        return Peer(pod_selector=_selector(rng))
    if kind == 2:
        return Peer(namespace_selector=_ns_selector(rng))
    return Peer(pod_selector=_selector(rng), namespace_selector=_ns_selector(rng))


def _port(rng: random.Random) -> PolicyPort:
    protocol = rng.choice(PROTOCOLS)
    kind = rng.randrange(4)
    if kind == 0:
        return PolicyPort(protocol)
    if kind == 1:
        return PolicyPort(protocol, rng.choice(NAMES))
    start = rng.choice((53, 79, 80, 81))
    end = start + rng.randint(0, 2) if kind == 2 else None
    return PolicyPort(protocol, start, end)


def _rule(rng: random.Random) -> Rule:
    peers = tuple(_peer(rng) for _ in range(rng.choice((0, 1, 1, 2))))
    ports = tuple(_port(rng) for _ in range(rng.choice((0, 1, 2))))
    return Rule(peers, ports)


def random_state(seed: int) -> ClusterState:
    rng = random.Random(seed)
    namespaces = tuple(
        Namespace(n, Labels({NAMESPACE_NAME_LABEL: n, **_labels(rng)})) for n in NAMESPACES
    )
    pods = []
    for number in range(rng.randint(4, 12)):
        ip = rng.choice(
            (None, f"10.0.0.{rng.randrange(40)}", f"fd00::{rng.randrange(8):x}", "192.168.1.1")
        )
        ports = tuple(
            ContainerPort(rng.choice((53, 80, 81)), rng.choice(PROTOCOLS), rng.choice(NAMES))
            for _ in range(rng.randint(0, 2))
        )
        address = ip_address(ip) if ip else None
        dual = (
            (address, ip_address(f"fd00::{rng.randrange(8):x}"))
            if address and address.version == 4 and rng.random() < 0.3
            else ()
        )
        pods.append(
            Pod(
                PodRef(rng.choice(NAMESPACES), f"p{number}"),
                _labels(rng),
                ports,
                dual or ((address,) if address else ()),
            )
        )
    policies = []
    for number in range(rng.randint(0, 6)):
        types = rng.choice(
            ((PolicyType.INGRESS,), (PolicyType.EGRESS,), (PolicyType.INGRESS, PolicyType.EGRESS))
        )
        policies.append(
            NetworkPolicy(
                PolicyRef(rng.choice(NAMESPACES), f"np{number}"),
                _selector(rng),
                types,
                tuple(_rule(rng) for _ in range(rng.randint(0, 2))),
                tuple(_rule(rng) for _ in range(rng.randint(0, 2))),
            )
        )
    return ClusterState(namespaces, tuple(pods), tuple(policies))


@pytest.mark.parametrize("seed", range(300))
def test_matrix_agrees_with_evaluate_on_every_cell(seed: int) -> None:
    state = random_state(seed)
    result = matrix(state, QUERY)
    for q, query in enumerate(QUERY):
        port, protocol = query.number, query.protocol
        expected_count = 0
        for s, source in enumerate(state.pods):
            for d, destination in enumerate(state.pods):
                verdict = evaluate(Connection(source.ref, destination.ref, port, protocol), state)
                assert result.allowed(s, d, q) == verdict.allowed, (
                    f"seed {seed}: {source.ref} -> {destination.ref}:{port}/{protocol}: "
                    f"matrix says {result.allowed(s, d, q)}, evaluate says {verdict}: "
                    + "; ".join(map(str, verdict.reasons))
                )
                expected_count += verdict.allowed
            assert list(result.row(s, q)) == [
                result.allowed(s, d, q) for d in range(len(state.pods))
            ]
        assert result.allowed_count(q) == expected_count


def _shared_rules_state(seed: int) -> ClusterState:
    """``random_state`` plus a namespace without pods, a pod in a namespace no object
    declares, and every policy copied into another namespace with the *same* rule objects:
    the matrix resolves peers per rule and namespace once, and must not mix the copies up."""
    state = random_state(seed)
    rng = random.Random(seed)
    spare = Namespace("d", Labels({NAMESPACE_NAME_LABEL: "d", **_labels(rng)}))
    stray = Pod(PodRef("undeclared", "stray"), _labels(rng), (), (ip_address("10.0.0.7"),))
    copies = tuple(
        NetworkPolicy(
            PolicyRef(rng.choice((*NAMESPACES, "d", "undeclared")), f"copy-{policy.ref.name}"),
            policy.pod_selector,
            policy.policy_types,
            policy.ingress,
            policy.egress,
        )
        for policy in state.policies
    )
    return ClusterState(
        (*state.namespaces, spare), (*state.pods, stray), (*state.policies, *copies)
    )


@pytest.mark.parametrize("seed", range(100))
def test_matrix_agrees_with_evaluate_when_policies_share_rules(seed: int) -> None:
    state = _shared_rules_state(seed)
    result = matrix(state, QUERY)
    for q, query in enumerate(QUERY):
        for s, source in enumerate(state.pods):
            for d, destination in enumerate(state.pods):
                connection = Connection(source.ref, destination.ref, query.number, query.protocol)
                verdict = evaluate(connection, state)
                assert result.allowed(s, d, q) == verdict.allowed, (
                    f"seed {seed}: {connection}: matrix says {result.allowed(s, d, q)}; "
                    + "; ".join(map(str, verdict.reasons))
                )
