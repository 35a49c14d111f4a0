"""Benchmark of the analyzer's full matrix on seeded synthetic clusters.

Builds clusters of 500 to 5,000 pods (one policy per five pods: 1,000 at 5,000 pods) with
mixed selectors, matchExpressions, namespace selectors, ipBlocks with except, named ports
and endPort ranges, and prints the time of the full matrix on 4 ports, cells per second,
the allowed counts of ``-o summary`` and peak memory. It prints figures; it never asserts.

It starts with a growth table (5,000 / 20,000 / 50,000 / 150,000 pods by default, issue 14's
ports; the 150,000-pod cluster has the issue's 3,000 namespaces): the matrix in-process and
`netprobe matrix -f cluster.yaml -o summary` end to end, each in its own process with its
peak RSS, beside the issue's targets, and how each grows against pods.

    python bench/analyzer.py [--sizes 500,1000,2000,3000,4000,5000]
        [--growth 5000,20000,50000,150000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from ipaddress import IPv4Address, ip_network
from pathlib import Path
from typing import Any

import yaml

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


NAMESPACES = {150000: 3000}
"""Namespaces of the issue's 150,000-pod cluster; other sizes have one per 100 pods."""


def namespace_count(pods: int) -> int:
    return max(1, NAMESPACES.get(pods, pods // 100))


def synthetic_cluster(pods: int, seed: int, policies: int | None = None) -> ClusterState:
    """``pods`` pods in :func:`namespace_count` namespaces and ``policies`` policies
    (default ``pods // 5``); the pods do not depend on ``policies``."""
    rng = random.Random(seed)
    names = [f"ns{n:03d}" for n in range(namespace_count(pods))]
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
    count = pods // 5 if policies is None else policies
    policy_values = tuple(_policy(rng, number, names) for number in range(count))
    return ClusterState(namespaces, tuple(pod_values), policy_values)


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


def _selector_manifest(selector: LabelSelector) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if selector.match_labels:
        body["matchLabels"] = dict(selector.match_labels)
    if selector.match_expressions:
        body["matchExpressions"] = [
            {"key": r.key, "operator": str(r.operator)}
            | ({"values": sorted(r.values)} if r.values else {})
            for r in selector.match_expressions
        ]
    return body


def _peer_manifest(peer: Peer) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if peer.ip_block is not None:
        block = peer.ip_block
        body["ipBlock"] = {"cidr": str(block.cidr), "except": [str(n) for n in block.except_]}
    if peer.pod_selector is not None:
        body["podSelector"] = _selector_manifest(peer.pod_selector)
    if peer.namespace_selector is not None:
        body["namespaceSelector"] = _selector_manifest(peer.namespace_selector)
    return body


def _rule_manifest(rule: Rule, side: str) -> dict[str, Any]:
    ports = [
        {"protocol": str(entry.protocol), "port": entry.port}
        | ({"endPort": entry.end_port} if entry.end_port is not None else {})
        for entry in rule.ports
    ]
    return {side: [_peer_manifest(peer) for peer in rule.peers], "ports": ports}


def manifests(state: ClusterState) -> list[dict[str, Any]]:
    """``state`` as the Kubernetes objects ``netprobe matrix -f`` reads."""
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace.name, "labels": dict(namespace.labels)},
        }
        for namespace in state.namespaces
    ]
    for pod in state.pods:
        ports = [
            {"name": port.name, "containerPort": port.port, "protocol": str(port.protocol)}
            for port in pod.ports
        ]
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod.name,
                    "namespace": pod.namespace,
                    "labels": dict(pod.labels),
                },
                "spec": {"containers": [{"name": "main", "image": "app:1", "ports": ports}]},
                "status": {"podIP": str(pod.ips[0])},
            }
        )
    for policy in state.policies:
        spec: dict[str, Any] = {
            "podSelector": _selector_manifest(policy.pod_selector),
            "policyTypes": [str(kind) for kind in policy.policy_types],
        }
        if policy.ingress:
            spec["ingress"] = [_rule_manifest(rule, "from") for rule in policy.ingress]
        if policy.egress:
            spec["egress"] = [_rule_manifest(rule, "to") for rule in policy.egress]
        objects.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": policy.ref.name, "namespace": policy.namespace},
                "spec": spec,
            }
        )
    return objects


def write_cluster(state: ClusterState, path: Path) -> None:
    """Writes ``state`` to ``path`` as a ``kind: List`` in JSON (``.json``) or YAML."""
    listed = {"apiVersion": "v1", "kind": "List", "items": manifests(state)}
    if path.suffix == ".json":
        path.write_text(json.dumps(listed), encoding="utf-8")
    else:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        path.write_text(yaml.dump(listed, Dumper=dumper, sort_keys=False), encoding="utf-8")


def _random_connection(rng: random.Random, state: ClusterState) -> Connection:
    source, destination = rng.choice(state.pods).ref, rng.choice(state.pods).ref
    port = rng.choice(PORTS)
    return Connection(source, destination, port.number, port.protocol)


CLI_PORTS = "80/TCP,443/TCP,53/UDP,5432/TCP"
"""The ports of issue 14's measurements and targets."""

TARGETS = {5000: (2.0, None), 20000: (10.0, 2.0), 150000: (90.0, 8.0)}
"""Issue 14's end-to-end targets by pods: seconds, GiB (None: no target given)."""


def matrix_child(size: int, seed: int) -> int:
    """Run in a child process: the matrix and ``-o summary`` counts of a synthetic cluster
    on :data:`CLI_PORTS`; prints ``classes seconds`` (the cluster's construction excluded)."""
    state = synthetic_cluster(size, seed)
    ports = [Port.parse(text) for text in CLI_PORTS.split(",")]
    started = time.perf_counter()
    result = matrix(state, ports)
    for number in range(len(ports)):
        result.allowed_count(number)
    print(len(result.classes), time.perf_counter() - started)
    return 0


def _measured(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB and standard output of ``command`` run as a child in
    this checkout (``os.wait4`` gives that one child's ``ru_maxrss``, in KiB on Linux)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=Path(__file__).parents[1])
        _, status, usage = os.wait4(child.pid, 0)
        took = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode:
            raise SystemExit(f"{' '.join(command)} failed ({child.returncode}): {err.read()}")
        return took, usage.ru_maxrss / 1024, out.read()


def growth(sizes: list[int], seed: int) -> None:
    """Prints how the matrix and the whole ``netprobe matrix`` process grow with pods (one
    policy per five pods), each figure from its own process.

    Run it from a small parent: Linux carries the parent's RSS high-water mark into a child
    it forks or vforks (``exec`` keeps the larger ``ru_maxrss``), so a parent that had held a
    cluster would inflate every child's figure."""
    print(
        f"\ngrowth at 1 policy per 5 pods, ports {CLI_PORTS}, each figure its own process"
        " (peak RSS = ru_maxrss of that process)"
    )
    print(
        f"{'pods':>6} {'ns':>5} {'policies':>8} {'classes':>7} {'YAML MB':>7} | {'matrix s':>8}"
        f" {'RSS MiB':>7} | {'e2e s':>6} {'RSS MiB':>7} {'growth':>6} | target"
    )
    here = Path(__file__).resolve()
    previous: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            path = Path(folder) / f"cluster-{size}.yaml"
            own = [sys.executable, str(here), "--seed", str(seed)]
            _measured([*own, "--write-child", str(size), str(path)])
            _, matrix_rss, out = _measured([*own, "--matrix-child", str(size)])
            classes, matrix_s = out.split()
            e2e = ["matrix", "-f", str(path), "--ports", CLI_PORTS, "-o", "summary"]
            e2e_s, e2e_rss, _ = _measured([sys.executable, "-m", "netprobe", *e2e])
            seconds, gib = TARGETS.get(size, (None, None))
            target = "-" if seconds is None else f"< {seconds:g} s"
            if gib is not None:
                target += f", < {gib:g} GiB"
            grown = "-"
            if previous is not None:
                grown = f"n^{math.log(e2e_s / previous[1]) / math.log(size / previous[0]):.2f}"
            previous = (size, e2e_s)
            print(
                f"{size:>6} {namespace_count(size):>5} {size // 5:>8} {classes:>7}"
                f" {path.stat().st_size / 1e6:>7.1f} | {float(matrix_s):>8.2f}"
                f" {matrix_rss:>7,.0f} | {e2e_s:>6.2f} {e2e_rss:>7,.0f} {grown:>6} | {target}"
            )
    print(
        "matrix s: matrix() and the summary counts in-process on a constructed cluster;"
        " e2e s: `netprobe matrix -f cluster.yaml -o summary`, process start to exit;"
        " growth: e2e time as a power of pods since the row above"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000,3000,4000,5000")
    parser.add_argument("--growth", default="5000,20000,50000,150000", help="pods; '' to skip")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the memory run")
    parser.add_argument("--matrix-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.matrix_child is not None:
        return matrix_child(args.matrix_child, args.seed)
    if args.write_child is not None:
        write_cluster(
            synthetic_cluster(int(args.write_child[0]), args.seed), Path(args.write_child[1])
        )
        return 0
    if args.growth:
        growth([int(text) for text in args.growth.split(",")], args.seed)
        print()
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
