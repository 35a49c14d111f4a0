"""Benchmark of ``netprobe diff`` on the analyzer benchmark's cluster with one policy changed.

Reuses the synthetic cluster of ``bench/analyzer.py`` (5,000 pods and 1,000 policies by
default, 4 ports) and times ``diff`` for three one-policy changes: a rule edited, a
namespace-wide default deny added, a policy deleted. It prints figures; it never asserts
(the target is under 10 seconds each).

    python bench/diff.py [--pods 5000] [--seed 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from analyzer import PORTS, synthetic_cluster

from netprobe.diff import ChangeKind, diff
from netprobe.model import (
    ClusterState,
    NetworkPolicy,
    PolicyPort,
    PolicyRef,
    PolicyType,
    Protocol,
    Rule,
)
from netprobe.selectors import LabelSelector


def _edited(state: ClusterState) -> tuple[str, ClusterState]:
    """The first policy with ingress rules gets its first rule's ports replaced by 80/TCP."""
    policies = list(state.policies)
    for number, policy in enumerate(policies):
        if policy.ingress:
            first = dataclasses.replace(policy.ingress[0], ports=(PolicyPort(Protocol.TCP, 80),))
            policies[number] = dataclasses.replace(policy, ingress=(first, *policy.ingress[1:]))
            return f"rule edited ({policy.ref} ingress[0] ports -> 80/TCP)", state.replace(
                policies=tuple(policies)
            )
    raise SystemExit("no policy with ingress rules")


def _deny_added(state: ClusterState) -> tuple[str, ClusterState]:
    namespace = state.pods[0].namespace
    deny = NetworkPolicy(
        PolicyRef(namespace, "bench-default-deny"),
        LabelSelector(),
        (PolicyType.INGRESS, PolicyType.EGRESS),
    )
    return f"default deny added in {namespace}", state.replace(policies=(*state.policies, deny))


def _deleted(state: ClusterState) -> tuple[str, ClusterState]:
    victim = next(p for p in state.policies if p.ingress or p.egress)
    rest = tuple(p for p in state.policies if p.ref != victim.ref)
    return f"policy deleted ({victim.ref})", state.replace(policies=rest)


def _allow_added(state: ClusterState) -> tuple[str, ClusterState]:
    namespace = state.pods[0].namespace
    allow = NetworkPolicy(
        PolicyRef(namespace, "bench-allow-all"),
        LabelSelector(),
        (PolicyType.INGRESS,),
        (Rule(),),
    )
    return f"allow-all added in {namespace}", state.replace(policies=(*state.policies, allow))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    before = synthetic_cluster(args.pods, args.seed)
    print(
        f"diff benchmark: {len(before.pods)} pods, {len(before.policies)} policies, "
        f"{len(PORTS)} ports (seed {args.seed}, Python {sys.version.split()[0]})"
    )
    print(f"{'change':<58} {'diff s':>7} {'rows':>5} {'opened':>10} {'closed':>10}")
    for make in (_edited, _deny_added, _deleted, _allow_added):
        label, after = make(before)
        started = time.perf_counter()
        result = diff(before, after, PORTS)
        elapsed = time.perf_counter() - started
        opened = result.connections(ChangeKind.OPENED)
        closed = result.connections(ChangeKind.CLOSED)
        print(
            f"{label[:58]:<58} {elapsed:>7.2f} {len(result.changes):>5} {opened:>10,} {closed:>10,}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
