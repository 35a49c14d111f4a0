"""``diff`` agrees with comparing two full matrices pod pair by pod pair, on seeded
synthetic clusters (the analyzer benchmark's generator) with one policy edited, deleted
or added."""

from __future__ import annotations

import dataclasses
import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

from netprobe.analyzer import evaluate, matrix
from netprobe.diff import ChangeKind, Diff, diff
from netprobe.diff.addresses import representatives
from netprobe.model import ClusterState, Connection, IPAddress, PodRef, PolicyType, Port


def _bench() -> ModuleType:
    path = Path(__file__).parent.parent.parent / "bench" / "analyzer.py"
    spec = importlib.util.spec_from_file_location("bench_analyzer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BENCH = _bench()
PORTS: tuple[Port, ...] = BENCH.PORTS

Cell = tuple[PodRef, PodRef, Port, ChangeKind]
AddressCell = tuple[PodRef, IPAddress, Port, ChangeKind, bool]
"""(pod, address, port, kind, whether the address is the source)."""


def changed(before: ClusterState, seed: int, mode: str) -> ClusterState:
    rng = random.Random(seed)
    policies = list(before.policies)
    names = sorted({pod.namespace for pod in before.pods})
    victim = rng.randrange(len(policies))
    if mode == "edit":
        fresh = BENCH._policy(rng, 10_000, names)
        policies[victim] = dataclasses.replace(fresh, ref=policies[victim].ref)
    elif mode == "delete":
        del policies[victim]
    else:
        policies.append(BENCH._policy(rng, 10_001, names))
    return before.replace(policies=tuple(policies))


def expand(result: Diff) -> set[Cell]:
    cells: set[Cell] = set()
    for change in result.changes:
        if change.address is not None:
            continue
        sources = [ref for group in change.sources.groups for ref in group.pods]
        destinations = [ref for group in change.destinations.groups for ref in group.pods]
        for source in sources:
            for destination in destinations:
                for port in change.ports if source != destination else ():
                    cell = (source, destination, port, change.kind)
                    assert cell not in cells, f"{cell} reported twice"
                    cells.add(cell)
        assert change.pairs == len(sources) * len(destinations) - len(
            set(sources) & set(destinations)
        )
    return cells


def brute_force(before: ClusterState, after: ClusterState) -> set[Cell]:
    old, new = matrix(before, PORTS), matrix(after, PORTS)
    cells: set[Cell] = set()
    for q, port in enumerate(PORTS):
        for s, source in enumerate(before.pods):
            for d, destination in enumerate(before.pods):
                was, now = old.allowed(s, d, q), new.allowed(s, d, q)
                if was != now:
                    kind = ChangeKind.OPENED if now else ChangeKind.CLOSED
                    cells.add((source.ref, destination.ref, port, kind))
    return cells


def expand_addresses(result: Diff) -> set[AddressCell]:
    cells: set[AddressCell] = set()
    for change in result.changes:
        if change.address is None:
            continue
        pods = change.destinations if change.from_address else change.sources
        assert change.pairs == pods.count
        for ref in (ref for group in pods.groups for ref in group.pods):
            for port in change.ports:
                cell = (ref, change.address, port, change.kind, change.from_address)
                assert cell not in cells, f"{cell} reported twice"
                cells.add(cell)
    return cells


def brute_force_addresses(before: ClusterState, after: ClusterState) -> set[AddressCell]:
    versions = [
        p
        for p in (*before.policies, *after.policies)
        if p not in set(before.policies) & set(after.policies)
    ]
    pod_ips = {ip for pod in before.pods for ip in pod.ips}
    cells: set[AddressCell] = set()
    for incoming in (False, True):
        direction = PolicyType.INGRESS if incoming else PolicyType.EGRESS
        for address in set(representatives(versions, direction)) - pod_ips:
            for pod in before.pods:
                for port in PORTS:
                    number, protocol = port.number, port.protocol
                    if incoming:
                        connection = Connection(address, pod.ref, number, protocol)
                    else:
                        connection = Connection(pod.ref, address, number, protocol)
                    was = evaluate(connection, before).allowed
                    now = evaluate(connection, after).allowed
                    if was != now:
                        kind = ChangeKind.OPENED if now else ChangeKind.CLOSED
                        cells.add((pod.ref, address, port, kind, incoming))
    return cells


@pytest.mark.parametrize("mode", ["edit", "delete", "add"])
@pytest.mark.parametrize("seed", range(4))
def test_diff_reports_exactly_the_flipped_cells(seed: int, mode: str) -> None:
    before = BENCH.synthetic_cluster(300, seed)
    after = changed(before, seed, mode)
    result = diff(before, after, PORTS)
    assert expand(result) == brute_force(before, after)


@pytest.mark.parametrize(
    ("seed", "mode"), [(0, "edit"), (0, "add"), (1, "delete"), (1, "add"), (3, "add")]
)
def test_diff_reports_exactly_the_flipped_address_connections(seed: int, mode: str) -> None:
    before = BENCH.synthetic_cluster(300, seed)
    after = changed(before, seed, mode)
    expected = brute_force_addresses(before, after)
    assert expected
    assert expand_addresses(diff(before, after, PORTS)) == expected


def test_the_seeds_above_do_flip_cells() -> None:
    flipped = [
        bool(brute_force(b := BENCH.synthetic_cluster(300, seed), changed(b, seed, mode)))
        for seed in range(4)
        for mode in ("edit", "delete", "add")
    ]
    assert sum(flipped) >= 8


def test_every_change_names_a_changed_policy_and_explains_its_example() -> None:
    before = BENCH.synthetic_cluster(200, 3)
    after = changed(before, 3, "edit")
    result = diff(before, after, PORTS)
    assert result.changes
    for change in result.changes:
        assert set(change.cause.policies) <= set(result.changed_policies)
        assert change.explanation
        word = "admits" if change.kind is ChangeKind.OPENED else "isolated"
        assert any(word in line for line in change.explanation)


def test_no_policy_change_means_no_matrix_work() -> None:
    before = BENCH.synthetic_cluster(100, 1)
    result = diff(before, before.replace(), PORTS)
    assert result.changes == () and result.changed_policies == ()
