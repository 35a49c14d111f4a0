"""Benchmark of the analyzer's full matrix on seeded synthetic clusters.

Builds clusters of 500 to 5,000 pods (one policy per five pods: 1,000 at 5,000 pods) with
mixed selectors, matchExpressions, namespace selectors, ipBlocks with except, named ports
and endPort ranges, and prints the time of the full matrix on 4 ports, cells per second,
the allowed counts of ``-o summary`` and peak memory. It prints figures; it never asserts.

    python bench/analyzer.py [--sizes 500,1000,2000,3000,4000,5000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from ipaddress import IPv4Address, ip_network

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

PORTS = (Port(80), Port(443), Port(8080), Port(53, Protocol.UDP))
TIERS = ("web", "api", "db", "cache", "worker")
TEAMS = ("red", "blue", "green", "gold", "teal", "plum")
ENVS = ("prod", "staging", "dev")
BOTH = (PolicyType.INGRESS, PolicyType.EGRESS)


def synthetic_cluster(pods: int, seed: int) -> ClusterState:
    """``pods`` pods in ``pods // 100`` namespaces and ``pods // 5`` policies."""
    rng = random.Random(seed)
    names = [f"ns{n:03d}" for n in range(max(1, pods // 100))]
    namespaces = tuple(
        Namespace(
            name,
            Labels(
                {
                    NAMESPACE_NAME_LABEL: name,
                    "team": rng.choice(TEAMS),
                    "env": rng.choice(ENVS),
                }
            ),
        )
        for name in names
    )
    pod_values = []
    for number in range(pods):
        namespace = names[number % len(names)]
        tier = rng.choice(TIERS)
        labels = {
            "app": f"app{rng.randrange(12)}",
            "tier": tier,
            "version": rng.choice(("v1", "v2")),
            "pod-template-hash": f"{rng.getrandbits(32):08x}",
        }
        if rng.random() < 0.3:
            labels["canary"] = "true"
        ports = [ContainerPort(8080, Protocol.TCP, "http"), ContainerPort(9090, name="metrics")]
        if tier == "web":
            ports.append(ContainerPort(rng.choice((80, 443)), Protocol.TCP, "https"))
        if rng.random() < 0.05:
            ports.append(ContainerPort(53, Protocol.UDP, "dns"))
        ip = IPv4Address(int(IPv4Address("10.0.0.0")) + number * 3 + 1)
        pod_values.append(
            Pod(PodRef(namespace, f"pod{number}"), Labels(labels), tuple(ports), (ip,))
        )
    policies = tuple(_policy(rng, number, names) for number in range(pods // 5))
    return ClusterState(namespaces, tuple(pod_values), policies)


def _pod_selector(rng: random.Random) -> LabelSelector:
    kind = rng.randrange(5)
    if kind == 0:
        return LabelSelector()
    if kind == 1:
        return LabelSelector(Labels({"app": f"app{rng.randrange(12)}"}))
    if kind == 2:
        values = frozenset(rng.sample(TIERS, 2))
        return LabelSelector(Labels(), (Requirement("tier", Operator.IN, values),))
    if kind == 3:
        return LabelSelector(
            Labels({"tier": rng.choice(TIERS)}),
            (Requirement("canary", Operator.DOES_NOT_EXIST),),
        )
    return LabelSelector(Labels(), (Requirement("version", Operator.NOT_IN, frozenset({"v1"})),))


def _namespace_selector(rng: random.Random, names: list[str]) -> LabelSelector:
    kind = rng.randrange(4)
    if kind == 0:
        return LabelSelector()
    if kind == 1:
        return LabelSelector(Labels({"team": rng.choice(TEAMS)}))
    if kind == 2:
        chosen = frozenset(rng.sample(names, min(3, len(names))))
        return LabelSelector(Labels(), (Requirement(NAMESPACE_NAME_LABEL, Operator.IN, chosen),))
    return LabelSelector(Labels(), (Requirement("env", Operator.NOT_IN, frozenset({"dev"})),))


def _peer(rng: random.Random, names: list[str]) -> Peer:
    kind = rng.randrange(4)
    if kind == 0:
        second = rng.randrange(20)
        return Peer(
            ip_block=IPBlock(
                ip_network(f"10.0.{second * 4}.0/22"),
                (ip_network(f"10.0.{second * 4 + 1}.0/24"),),
            )
        )
    if kind == 1:
        return Peer(pod_selector=_pod_selector(rng))
    if kind == 2:
        return Peer(namespace_selector=_namespace_selector(rng, names))
    return Peer(pod_selector=_pod_selector(rng), namespace_selector=_namespace_selector(rng, names))


def _ports(rng: random.Random) -> tuple[PolicyPort, ...]:
    kind = rng.randrange(5)
    if kind == 0:
        return ()
    if kind == 1:
        return (PolicyPort(Protocol.TCP, "http"),)
    if kind == 2:
        return (PolicyPort(Protocol.TCP, 80, 443),)
    if kind == 3:
        return (PolicyPort(Protocol.UDP, 53), PolicyPort(Protocol.TCP, 53))
    return (
        PolicyPort(Protocol.TCP, rng.choice((80, 443, 8080))),
        PolicyPort(Protocol.TCP, "https"),
    )


def _policy(rng: random.Random, number: int, names: list[str]) -> NetworkPolicy:
    namespace = rng.choice(names)
    ref = PolicyRef(namespace, f"np{number}")
    if rng.random() < 0.1:  # default deny, both directions
        return NetworkPolicy(ref, LabelSelector(), BOTH)

    def rules() -> tuple[Rule, ...]:
        return tuple(
            Rule(tuple(_peer(rng, names) for _ in range(rng.randint(1, 3))), _ports(rng))
            for _ in range(rng.randint(1, 2))
        )

    types = rng.choice(((PolicyType.INGRESS,), (PolicyType.EGRESS,), BOTH))
    return NetworkPolicy(
        ref,
        _pod_selector(rng),
        types,
        rules() if PolicyType.INGRESS in types else (),
        rules() if PolicyType.EGRESS in types else (),
    )


def _random_connection(rng: random.Random, state: ClusterState) -> Connection:
    source, destination = rng.choice(state.pods).ref, rng.choice(state.pods).ref
    port = rng.choice(PORTS)
    return Connection(source, destination, port.number, port.protocol)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000,3000,4000,5000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the memory run")
    args = parser.parse_args(argv)
    print(
        f"analyzer matrix benchmark (seed {args.seed}, {len(PORTS)} ports, "
        f"Python {sys.version.split()[0]})"
    )
    print(
        f"{'pods':>6} {'policies':>8} {'classes':>7} {'build s':>8} {'matrix s':>8}"
        f" {'count s':>7} {'cells':>12} {'cells/s':>12}"
    )
    last = None
    for size in (int(text) for text in args.sizes.split(",")):
        started = time.perf_counter()
        state = synthetic_cluster(size, args.seed)
        built = time.perf_counter()
        result = matrix(state, PORTS)
        computed = time.perf_counter()
        allowed = [result.allowed_count(q) for q in range(len(PORTS))]
        counted = time.perf_counter()
        cells = size * size * len(PORTS)
        elapsed = counted - built
        print(
            f"{size:>6} {len(state.policies):>8} {len(result.classes):>7} {built - started:>8.2f}"
            f" {computed - built:>8.2f} {counted - computed:>7.2f} {cells:>12,}"
            f" {cells / elapsed:>12,.0f}"
        )
        last = (state, allowed)
    if last is not None:
        state, allowed = last
        total = len(state.pods) ** 2
        shares = ", ".join(
            f"{port}: {count / total:.0%}" for port, count in zip(PORTS, allowed, strict=True)
        )
        print(f"allowed share at {len(state.pods)} pods: {shares}")
        rng = random.Random(args.seed)
        connections = [_random_connection(rng, state) for _ in range(1000)]
        started = time.perf_counter()
        for connection in connections:
            evaluate(connection, state)
        took = time.perf_counter() - started
        print(
            f"evaluate() with reasons at {len(state.pods)} pods: {1000 / took:,.0f} connections/s"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the whole run (interpreter included): {peak:,.0f} MiB")
        if not args.no_tracemalloc:
            tracemalloc.start()
            matrix(state, PORTS)
            _, traced = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"peak memory allocated by matrix() at {len(state.pods)} pods"
                f" (tracemalloc): {traced / 2**20:,.1f} MiB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
