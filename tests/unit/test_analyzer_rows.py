"""The factored rows (netprobe/analyzer/rows.py) against the plain meaning of a row.

Clusters here have hundreds of classes, so that what ``from`` entries admit spans many
64-bit words, and the same matrix is computed with every entry treated as wide, as
narrow, and split at the default; each must give the cells ``evaluate`` gives.
"""

from __future__ import annotations

import random
import sys
from ipaddress import IPv4Address, ip_network

import pytest

from netprobe.analyzer import evaluate, matrix, reachability
from netprobe.analyzer.rows import Weights
from netprobe.bitsets import as_words, from_pieces, pieces
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

PORTS = (Port(80), Port(8080), Port(53, Protocol.UDP))
BOTH = (PolicyType.INGRESS, PolicyType.EGRESS)


def _selector(rng: random.Random) -> LabelSelector:
    kind = rng.randrange(4)
    if kind == 0:
        return LabelSelector()
    if kind == 1:
        return LabelSelector(Labels({"app": f"a{rng.randrange(6)}"}))
    if kind == 2:
        return LabelSelector(
            Labels(), (Requirement("tier", Operator.IN, frozenset({"web", "db"})),)
        )
    return LabelSelector(Labels(), (Requirement("canary", Operator.DOES_NOT_EXIST),))


def _peer(rng: random.Random) -> Peer:
    kind = rng.randrange(4)
    if kind == 0:
        return Peer(ip_block=IPBlock(ip_network("10.0.0.0/23"), (ip_network("10.0.1.0/25"),)))
    team = LabelSelector(Labels({"team": rng.choice(("red", "blue"))}))
    if kind == 1:
        return Peer(pod_selector=_selector(rng))
    if kind == 2:
        return Peer(namespace_selector=team)
    return Peer(pod_selector=_selector(rng), namespace_selector=rng.choice((team, LabelSelector())))


def _ports(rng: random.Random) -> tuple[PolicyPort, ...]:
    return rng.choice(
        (
            (),
            (PolicyPort(Protocol.TCP, "http"),),
            (PolicyPort(Protocol.TCP, 80, 8080),),
            (PolicyPort(Protocol.UDP, 53),),
        )
    )


def wide_state(seed: int) -> ClusterState:
    """About 400 pods in 12 namespaces, most of them a class of their own."""
    rng = random.Random(seed)
    names = [f"n{number}" for number in range(12)]
    namespaces = tuple(
        Namespace(name, Labels({NAMESPACE_NAME_LABEL: name, "team": rng.choice(("red", "blue"))}))
        for name in names
    )
    pods = []
    for number in range(400):
        labels = {"app": f"a{rng.randrange(6)}", "tier": rng.choice(("web", "db", "job"))}
        if rng.random() < 0.3:
            labels["canary"] = "true"
        port = ContainerPort(rng.choice((80, 8080)), Protocol.TCP, "http")
        address = IPv4Address(int(IPv4Address("10.0.0.0")) + number)
        pods.append(
            Pod(PodRef(names[number % 12], f"p{number}"), Labels(labels), (port,), (address,))
        )
    policies = []
    for number in range(60):
        rules = tuple(
            Rule(tuple(_peer(rng) for _ in range(rng.randint(1, 2))), _ports(rng))
            for _ in range(rng.randint(1, 2))
        )
        types = rng.choice(((PolicyType.INGRESS,), (PolicyType.EGRESS,), BOTH))
        policies.append(
            NetworkPolicy(
                PolicyRef(rng.choice(names), f"np{number}"),
                _selector(rng),
                types,
                rules if PolicyType.INGRESS in types else (),
                rules if PolicyType.EGRESS in types else (),
            )
        )
    return ClusterState(namespaces, tuple(pods), tuple(policies))


@pytest.mark.parametrize("seed", range(4))
def test_wide_and_narrow_entries_give_the_same_rows(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = wide_state(seed)
    results = []
    for words in (0, 1, reachability.WIDE_WORDS, 10**9):
        monkeypatch.setattr(reachability, "WIDE_WORDS", words)
        results.append(matrix(state, PORTS))
    first = results[0]
    assert len(first.classes) > 256
    for q in range(len(PORTS)):
        rows = [first.class_row(c, q) for c in range(len(first.classes))]
        for other in results[1:]:
            assert [other.class_row(c, q) for c in range(len(other.classes))] == rows
            assert other.allowed_count(q) == first.allowed_count(q)


@pytest.mark.parametrize("seed", range(4))
def test_factored_rows_agree_with_evaluate(seed: int) -> None:
    state = wide_state(seed)
    result = matrix(state, PORTS)
    rng = random.Random(seed)
    pods = state.pods
    for _ in range(1500):
        s, d, q = rng.randrange(len(pods)), rng.randrange(len(pods)), rng.randrange(len(PORTS))
        port = PORTS[q]
        verdict = evaluate(Connection(pods[s].ref, pods[d].ref, port.number, port.protocol), state)
        assert result.allowed(s, d, q) == verdict.allowed, (s, d, port)
    q = 0
    expected = sum(result.allowed(s, d, q) for s in range(len(pods)) for d in range(len(pods)))
    assert result.allowed_count(q) == expected


def test_pieces_are_the_words_that_are_not_zero() -> None:
    bits = 1 << 3 | 1 << 64 * 5 + 7 | 1 << 64 * 5 + 63 | 1 << 64 * 9
    assert pieces(bits) == ((0, 8), (5, 1 << 7 | 1 << 63), (9, 1))
    assert pieces(0) == ()
    assert from_pieces(pieces(bits), 10) == bits
    assert int.from_bytes(as_words(bits, 10).cast("B"), sys.byteorder) == bits
    assert as_words(bits, 10)[5] == 1 << 7 | 1 << 63


def test_weights_count_pods_of_any_class_sizes() -> None:
    sizes = [1, 2, 3, 7, 1, 12, 1000]
    weights = Weights(sizes)
    for bits in range(1 << len(sizes)):
        expected = sum(size for number, size in enumerate(sizes) if bits >> number & 1)
        assert weights.of(bits) == expected
